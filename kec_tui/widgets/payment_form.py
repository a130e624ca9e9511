"""PaymentForm: the EntryForm of payment lines (batch entry, line edit, lockbox exceptions, batch tape).

A line the service refused for its warnings (final/closed account, cash only, far above
the balance, a duplicate stub) is held by the EntryForm's lock like any refusal: every
key typed after it is held and counted, so Enter can never acknowledge a warning nobody
has read and the next stub's digits never slip into the held line. Only F8 (accept: the
screen records the acknowledgement and the line is written) and Reset (Esc) run.
"""
from __future__ import annotations

from typing import Callable, ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message

from kec_tui.keymap import bind, keys_text
from kec_tui.services.batches import LineWarning
from kec_tui.widgets.entry_form import EntryForm, Record, SubmitResult

WARNING_SHORT = {
    "closed_account": "Closed account!",
    "cash_only": "CASH ONLY!",
    "overpayment": "Far above due!",
    "duplicate": "Duplicate?",
}
ACCOUNT_WARNINGS = ("closed_account", "cash_only")


def warning_field(warnings: list[LineWarning]) -> str:
    return "account" if all(w.code in ACCOUNT_WARNINGS for w in warnings) else "amount"


def warning_message(warnings: list[LineWarning]) -> str:
    """The short message at the field (the lock adds "Esc to go on"); the warning bar gives the details."""
    short = "; ".join(WARNING_SHORT.get(w.code, w.code) for w in warnings)
    return f"{short} {keys_text('batch_entry.accept')} accepts"


class PaymentForm(EntryForm):
    """EntryForm for payments: the warning hold (F8 accepts) and Record Advance.

    ``hold(warnings, record)`` is called by the screen's on_submit when the service
    refused a line for its warnings; the SubmitResult it returns locks the form.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("batch_entry.accept", "accept_warning", "Accept"),
        bind("batch_entry.record_advance", "record_advance", "Write line", show=False),
    ]
    LOCK_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    """Actions of the form that still run while it is locked (besides F8 on a warning and Reset)."""

    class HoldChanged(Message):
        """The warning hold started, held a key or ended (the screen's warning bar follows it)."""

    def __init__(self, fields, *, on_submit=None, on_accept: Callable[[list[LineWarning], Record], None]
                 | None = None, on_escape: Callable[[], None] | None = None, **kwargs) -> None:
        self.commits = 0

        def counted(record: Record) -> SubmitResult | None:
            result = on_submit(record) if on_submit is not None else None
            if result is None:
                self.commits += 1
            return result

        super().__init__(fields, on_submit=counted, **kwargs)
        self._on_accept = on_accept
        self._on_escape = on_escape
        self.held: tuple[list[LineWarning], Record] | None = None
        self._hold_shown = False  # the screen was last told of a hold (HoldChanged)
        self.accept_after = 0.0
        """Keys read from the terminal before this time (the screen opening) are refused, see _on_key."""
        self.early = 0

    # -- the warning hold: a lock that F8 may lift by writing the line -------------------
    def hold(self, warnings: list[LineWarning], record: Record) -> None:
        self.held = (list(warnings), dict(record))

    def submit_held(self) -> None:
        """Write the held line (the screen has recorded the acknowledgement)."""
        self.held = None
        self._unlock()
        self._submit()
        self._redraw()

    def _unlock(self) -> None:
        self.held = None
        super()._unlock()

    def _lock_changed(self) -> None:
        super()._lock_changed()
        if self.held is not None or self._hold_shown:  # a plain refusal is shown at the field only
            self._hold_shown = self.held is not None
            self.post_message(self.HoldChanged())

    def _footer_state(self) -> object:
        return self.locked, self.held is not None  # F8 (accept) shows only while a warning holds

    def _allowed_while_locked(self, action: str | None) -> bool:
        return (action == "accept_warning" and self.held is not None) or action in self.LOCK_ACTIONS

    def _on_key(self, event: events.Key) -> None:
        if event.time < self.accept_after and self._ours(event):
            # Typed before this screen opened (a remote MSR's burst across a screen change): the keys
            # before it went to the screen underneath, so these are the tail of a stub. Not used.
            self.early += 1
            self.error = (f"{self.early} key{'s' * (self.early != 1)} typed before this screen opened "
                          f"{'were' if self.early != 1 else 'was'} not used: key that stub again")
            event.stop()
            event.prevent_default()
            self._redraw()
            return
        super()._on_key(event)

    def _ours(self, event: events.Key) -> bool:
        return event.key in self._key_actions() or event.is_printable or event.key in self._EDIT_KEYS

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "accept_warning":
            return self.held is not None  # in the Footer only while a warning holds the line
        return super().check_action(action, parameters)

    # -- actions ----------------------------------------------------------------------
    def action_accept_warning(self) -> None:
        if self.held is None:
            self._fail("No warning to accept")
            return
        warnings, record = self.held
        if self._on_accept is not None:
            self._on_accept(warnings, record)

    def clear_record(self) -> None:
        if self._on_escape is not None:
            self._on_escape()
            return
        super().clear_record()

    def action_record_advance(self) -> None:
        """Write the record from any field: Field Exit through the rest (defaults apply)."""
        commits = self.commits
        for _ in range(len(self.fields) + 1):
            self.action_field_exit()
            if self.locked or self.commits != commits:
                return


class BatchPaymentForm(PaymentForm):
    """The entry screen's form: adds Lines, Find and the check-number switch, run in key order.

    Its screen provides ``focus_lines``, ``toggle_check_no`` and ``show_header``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The 5250 keys every operator knows stay out of the Footer here (F1 lists them), so the
        # batch keys fit at 80 columns. Same ids: a keymap still rebinds them.
        bind("entry_form.field_exit", "field_exit", "Field Exit", show=False),
        bind("entry_form.field_back", "field_back", "Field Back", show=False),
        bind("entry_form.field_minus", "field_minus", "Field-", show=False),
        bind("entry_form.clear_record", "clear_record", "Clear", show=False),
        bind("batch_entry.lines", "lines", "Lines"),
        bind("batch_entry.check_no", "toggle_check_no", "Check no.", show=False),
    ]
    LOCK_ACTIONS = PaymentForm.LOCK_ACTIONS | {"lines"}

    def action_lines(self) -> None:
        self.screen.focus_lines()

    def action_toggle_check_no(self) -> None:
        self.screen.toggle_check_no()

    def action_toggle_tenkey(self) -> None:
        super().action_toggle_tenkey()
        self.screen.show_header()
