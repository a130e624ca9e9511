"""The keystroke counter of a session: keys, pastes, corrections and active time, in memory.

The App feeds it every key and paste it receives (``observe``: a few additions,
no database work) and hands what it counted to ``services.keystats.add_counts``
about once a minute and on exit (``flush``). It lives with the App, not in the
services, because it reads Textual events and the focused widget; the table and
the supervisors' report are the service's (kec_tui/services/keystats.py).

* keys: every key event the application received (a scanner's digits too);
  a paste counts once in ``pastes`` and its length in ``pasted_chars``.
* corrections: Backspace and Delete anywhere; Erase Input and Field Back
  (by their keys in the operator's keymap) when a heads-down entry form has
  the focus.
* active time: the sum of the gaps between consecutive keys (or pastes) that
  are shorter than ``IDLE_GAP`` (60 s); a longer gap is a pause, not work.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from kec_tui.keymap import load
from kec_tui.services.errors import first_line
from kec_tui.services.keystats import Counts, add_counts
from kec_tui.widgets.entry_form import EntryForm

IDLE_GAP = 60.0                 # seconds: a longer gap between keys is not active time
FLUSH_SECONDS = 60              # the application adds its counts to the table this often
ALWAYS_CORRECTIONS = frozenset({"backspace", "delete", "ctrl+h"})
FORM_CORRECTION_IDS = ("entry_form.erase_input", "entry_form.field_back")


def correction_keys(keymap: dict[str, str] | None) -> frozenset[str]:
    """The keys of Erase Input and Field Back in this keymap (ids -> "key,key")."""
    keymap = keymap or load()
    keys: set[str] = set()
    for binding_id in FORM_CORRECTION_IDS:
        keys.update(k.strip() for k in keymap.get(binding_id, "").split(",") if k.strip())
    return frozenset(keys)


class KeyCounter:
    """In-memory counts of one session's operator, by day; see the module docstring.

    ``clock`` (monotonic seconds) and ``today`` are for tests.
    """

    def __init__(self, operator_id: int | None, keymap: dict[str, str] | None = None, *,
                 clock: Callable[[], float] = time.monotonic, today: Callable[[], dt.date] = dt.date.today):
        self.operator_id = operator_id
        self.form_corrections = correction_keys(keymap)
        self._clock = clock
        self._today = today
        self._last: float | None = None
        self._pending: dict[dt.date, Counts] = {}
        self._lock = threading.Lock()
        self.flushed = 0                      # flushes that wrote something (for tests and the screen)
        self.last_error = ""

    # -- counting (the application's event handler; no database work) --------------------------------
    def observe(self, event, focused=None) -> None:
        """A Textual Key or Paste event as the App received it."""
        key = getattr(event, "key", None)
        if key is not None:
            self.key(key, correction=key in ALWAYS_CORRECTIONS
                     or (key in self.form_corrections and isinstance(focused, EntryForm)))
            return
        text = getattr(event, "text", None)
        if text is not None:
            self.paste(text)

    def key(self, name: str, *, correction: bool = False) -> None:
        c = self._tick()
        c.keys += 1
        if correction:
            c.corrections += 1

    def paste(self, text: str) -> None:
        c = self._tick()
        c.pastes += 1
        c.pasted_chars += len(text)

    def _tick(self) -> Counts:
        now = self._clock()
        day = self._today()
        with self._lock:
            c = self._pending.get(day)
            if c is None:
                c = self._pending[day] = Counts()
            if self._last is not None:
                gap = now - self._last
                if 0 <= gap < IDLE_GAP:
                    c.active_ms += int(gap * 1000)
            self._last = now
            return c

    def pending(self) -> dict[dt.date, Counts]:
        """A copy of what is counted and not yet written."""
        with self._lock:
            return {d: Counts(**vars(c)) for d, c in self._pending.items()}

    # -- writing --------------------------------------------------------------------------------------
    def take(self) -> dict[dt.date, Counts]:
        """What is counted, leaving nothing pending (write it, or ``restore`` it)."""
        with self._lock:
            taken = {d: c for d, c in self._pending.items() if c}
            self._pending = {}
            return taken

    def restore(self, taken: dict[dt.date, Counts]) -> None:
        """Put back counts whose write failed: the next flush tries again."""
        with self._lock:
            for day, c in taken.items():
                self._pending.setdefault(day, Counts()).add(c)

    def flush(self, run: Callable[[Callable[[], None]], object] | None = None) -> int:
        """Add the pending counts to the table. ``run`` runs the write elsewhere (a thread
        worker: it then opens its own connection); without it the write happens here, on
        the caller's connection. A failed write keeps the counts for the next flush and is
        never raised (it must not disturb the work on screen). Returns the days taken."""
        if self.operator_id is None:
            return 0
        taken = self.take()
        if not taken:
            return 0

        def write() -> None:
            try:
                add_counts(self.operator_id, taken, own_connection=run is not None)
                self.flushed += 1
                self.last_error = ""
            except Exception as exc:  # noqa: BLE001 - keep the counts, try again next time
                self.last_error = first_line(exc)
                self.restore(taken)

        if run is None:
            write()
        else:
            run(write)
        return len(taken)
