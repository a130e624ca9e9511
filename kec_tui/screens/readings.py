"""Heads-down meter reading entry: a bill cycle's meters one at a time, in route order.

One EntryForm (ReadingForm) owns the cycle and reading fields and handles every key
itself, in order (DESIGN.md, type-ahead). Key the cycle and Enter: its first meter comes
up with the account, name, address and last reading. Key the reading and Enter: it is
saved (``readings.key_reading``, committed before the form clears) and the next meter
comes up, the cursor staying in the reading field.

A reading the service refuses (lower than the last: a rollover or a mis-read; no use on an
active account; far above or below; a meter that is not the account's; letters) locks the
form: the keys typed after it are held, counted and not used; Esc (Reset) clears the
reading to key it again. When every exception may be acknowledged the accept key saves it
(a lower reading as a rollover); the re-read key queues it and makes a meter re-read
service order, and the next meter comes up.
"""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Header, Static

from kec_tui.keymap import bind, keys_text
from kec_tui.services import readings
from kec_tui.services.errors import ServiceError
from kec_tui.textual_internals import CachedBindingChainScreen
from kec_tui.widgets.entry_form import QUIET_KEYS, EntryForm, FieldSpec, Record, SubmitResult


def acknowledgement(refused: readings.ReadingRefused) -> tuple[str, ...] | None:
    """The ack that saves a refused reading (a lower one as a rollover), or None when one of
    its exceptions may not be acknowledged (a meter not on the account)."""
    ack = tuple("rollover" if c == "lower" else c for c in refused.codes)
    return ack if all(c in readings.ACKABLE for c in ack) else None


class ReadingForm(EntryForm):
    """The reading form: keeps the cycle between meters, and holds a refused reading for the
    accept and re-read keys. The screen provides ``accept_held`` and ``reread_held``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The 5250 keys stay out of the Footer (F1 lists them), so the reading keys fit at 80 columns.
        *QUIET_KEYS,
        bind("readings.accept", "accept", "Accept"),
        bind("readings.reread", "reread", "Re-read order"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.held: tuple[readings.ReadingRefused, Record] | None = None
        self.cycle: str = ""   # the cycle chosen: kept by every reset, the cursor in the reading

    def reset(self) -> None:
        super().reset()
        if self.cycle:
            self._store("cycle", self.cycle)
            self._go(self._by_name["reading"])

    def _unlock(self) -> None:
        self.held = None
        super()._unlock()

    def _footer_state(self) -> object:
        return self.locked, self.held is not None

    def _allowed_while_locked(self, action: str | None) -> bool:
        return action in ("accept", "reread") and self.held is not None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("accept", "reread"):
            return self.held is not None
        return super().check_action(action, parameters)

    def action_accept(self) -> None:
        self._deal(self.screen.accept_held)

    def action_reread(self) -> None:
        self._deal(self.screen.reread_held)

    def hold_key(self) -> None:
        """A screen key typed while a refusal locks the form: held and counted like the form's own."""
        self._hold()
        self._redraw()

    def _deal(self, how) -> None:
        """Run the screen's way with the held reading: it is saved or sent to be re-read (the lock
        lifts, the next meter comes up), or refused again (the lock stays, with its message).
        With nothing held (the key typed when no reading was refused) it does nothing."""
        if self.held is None:
            return
        refused, record = self.held
        self._unlock()
        result = how(refused, record)
        if result is not None:
            self.show_error(result.field, result.message)
            return
        self.error = None
        self.reset()


class ReadingEntryScreen(CachedBindingChainScreen):
    """Meter readings of a bill cycle, keyed in route order; each saved on Enter."""

    AUTO_FOCUS = "#form"
    HELP = ("Key the bill cycle and Enter: its meters come up one at a time in route order, with the account, "
            "member, service address and last reading. Key the reading and Enter: it is saved and the next "
            "meter comes up. {entry_form.field_back} goes back to the cycle.\n"
            "An error locks the keyboard: the keys typed after it are held, counted and not used. "
            "{entry_form.clear_record} (Reset) clears the reading to key it again.\n"
            "A reading lower than the last, no use on an active account, or use far above or below the usual "
            "locks the same way: {readings.accept} saves it as keyed (a lower reading as a meter rollover), "
            "{readings.reread} sends the meter to be read again (a service order) and the next meter comes up.\n"
            "{readings.queue} opens the exceptions queue: readings refused here or in an AMI import, to accept, "
            "correct or send to be read again, and the AMI/handheld file import.\n"
            "{readings.back} leaves.\n"
            "Practice: kec-tui train --role billing --walkthrough readings (Key a reading route) on the "
            "practice database.")
    BINDINGS = [bind("readings.back", "back", "Back"), bind("readings.queue", "queue", "Exceptions")]
    DEFAULT_CSS = """
    ReadingEntryScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    ReadingEntryScreen #meter { height: auto; padding: 0 1; }
    ReadingEntryScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    ReadingEntryScreen ReadingForm { border-top: solid $primary; }
    """

    def __init__(self, cycle: int | None = None) -> None:
        super().__init__()
        self.cycle = cycle
        self.route: list[readings.RouteMeter] = []
        self.index = 0
        self.saved = 0
        self._held_ack: tuple[str, ...] = ()  # what was accepted of the held reading (rollover, then high)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="meter")
        yield Static("", id="message")
        fields = [
            FieldSpec("cycle", "Cycle", "digits", 2, mandatory_entry=True, validate=self._check_cycle, dup=False),
            FieldSpec("reading", "Reading", "digits", 9, mandatory_entry=True, dup=False),
        ]
        yield ReadingForm(fields, on_submit=self._submit, id="form")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if self.cycle is not None:
            message = self._check_cycle(str(self.cycle), {})
            if message:
                self.form.show_error("cycle", message)
            else:
                self.form.reset()
        self.show_meter()

    @property
    def form(self) -> ReadingForm:
        return self.query_one("#form", ReadingForm)

    @property
    def meter(self) -> readings.RouteMeter | None:
        return self.route[self.index] if self.index < len(self.route) else None

    def _check_cycle(self, text: str, record: Record) -> str | None:
        """Cycle Field Exit: load the cycle's route; the cursor stays in the reading from now on."""
        try:
            route = readings.route(int(text))
        except ServiceError as e:
            return e.message
        if not route:
            return f"No meters to read in cycle {int(text)}"
        self.cycle, self.route, self.index = int(text), route, 0
        self.form.cycle = str(self.cycle)
        self.show_meter()
        return None

    def show_meter(self) -> None:
        done = self.index if self.route else 0
        title = "Meter readings"
        if self.cycle is not None and self.route:
            title += f"  cycle {self.cycle}  meter {min(done + 1, len(self.route))} of {len(self.route)}"
            title += f"  {self.saved} saved"
        self.query_one("#title", Static).update(title)
        m = self.meter
        text = Text()
        if m is not None:
            text.append(f"Meter {m.meter_no}", style="bold")
            text.append(f"   account {m.account_number}   {m.name}\n{m.address}\n")
            last = (f"{m.last_reading:,} on {m.last_date:%m/%d/%Y}" if m.last_reading is not None
                    else "none (first reading)")
            text.append(f"Last reading {last}")
        elif self.route:
            text.append(f"Cycle {self.cycle} is done: every meter on the route was read.", style="bold")
        else:
            text.append("Key the bill cycle to read.")
        self.query_one("#meter", Static).update(text)

    def message(self, text: str) -> None:
        self.query_one("#message", Static).update(Text(text))

    # -- saving ---------------------------------------------------------------------------
    def _save(self, record: Record, ack: tuple[str, ...] = ()) -> SubmitResult | None:
        m = self.meter
        if m is None:
            return SubmitResult("reading", f"Cycle {self.cycle} is done: no meter left to read")
        try:
            result = readings.key_reading(self.app.operator, m.meter_no, record["reading"],
                                          account_number=m.account_number, ack=ack)
        except readings.ReadingRefused as e:
            self._held_ack = ack
            self.form.held = (e, dict(record))
            keys = [f"{keys_text('readings.accept')} accepts"] if acknowledgement(e) is not None else []
            keys.append(f"{keys_text('readings.reread')} re-read order")
            return SubmitResult("reading", f"{e.message}. {', '.join(keys)}")
        except ServiceError as e:
            return SubmitResult("reading", e.message)
        self.saved += 1
        self.message(f"Saved meter {result.meter_no}: {result.reading:,} ({result.kwh:,} kWh)"
                     + (f", {', '.join(result.acknowledged)} accepted" if result.acknowledged else ""))
        self.index += 1
        self.show_meter()
        return None

    def _submit(self, record: Record) -> SubmitResult | None:
        return self._save(record)

    def accept_held(self, refused: readings.ReadingRefused, record: Record) -> SubmitResult | None:
        """Save the held reading with its exceptions acknowledged (a lower reading as a rollover)."""
        ack = acknowledgement(refused)
        if ack is None:
            self.form.held = (refused, record)
            return SubmitResult("reading", f"{refused.message}: it cannot be accepted. "
                                           f"{keys_text('readings.reread')} re-read order")
        return self._save(record, self._held_ack + ack)

    def reread_held(self, refused: readings.ReadingRefused, record: Record) -> SubmitResult | None:
        """The held reading goes to the exceptions queue and becomes a re-read service order."""
        m = self.meter
        try:
            queued = readings.queue_refused(self.app.operator, m.meter_no, record["reading"], refused)
            order_no = readings.reread_order(self.app.operator, queued)
        except ServiceError as e:
            return SubmitResult("reading", e.message)
        self.message(f"Meter {m.meter_no}: reading {record['reading']} sent to be read again, order {order_no}")
        self.index += 1
        self.show_meter()
        return None

    def action_queue(self) -> None:
        """The exceptions queue; typed after a refusal it is held like the keys of the form."""
        if self.form.locked:
            self.form.hold_key()
        else:
            self.app.open("reading_exceptions")

    def action_back(self) -> None:
        self.dismiss()
