"""PaymentForm: the EntryForm of payment lines (batch entry, line edit, lockbox exceptions, batch tape).

A line the service refused for its warnings (final/closed account, cash only, far above
the balance, a duplicate stub) is held by the EntryForm's lock like any refusal: every
key typed after it is held and counted, so Enter can never acknowledge a warning nobody
has read and the next stub's digits never slip into the held line. Only F8 (accept: the
form records the acknowledgement, asking a reason when one is needed, and the line is
written) and Reset (Esc) run. The form keeps that state, once for every screen that
writes payment lines (batch entry, line edit, lockbox exceptions):

    ack, reason = form.acknowledgement(record)
    try:
        line = batches.key_line(..., ack=ack, reason=reason)
    except ServiceError as e:
        return form.refused(e, record)
"""
from __future__ import annotations

from typing import Callable, ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.screen import ScreenResultType

from kec_tui.keymap import bind, keys_text
from kec_tui.services import batches
from kec_tui.services.batches import LineWarning, LineWarningsError
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.entry_form import EntryForm, Record, SubmitResult
from kec_tui.widgets.prompt import reason_prompt

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

    The screen's on_submit writes the record with ``acknowledgement(record)`` and hands a
    refusal to ``refused(error, record)``: a line refused for its warnings is held, and
    the SubmitResult returned locks the form.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("batch_entry.accept", "accept_warning", "Accept"),
        bind("batch_entry.record_advance", "record_advance", "Write line", show=False),
    ]
    LOCK_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    """Actions of the form that still run while it is locked (besides F8 on a warning and Reset)."""

    class HoldChanged(Message):
        """The warning hold started, held a key or ended (the screen's warning bar follows it)."""

    def __init__(self, fields, *, on_submit=None, on_escape: Callable[[], None] | None = None, **kwargs) -> None:
        self.commits = 0

        def counted(record: Record) -> SubmitResult | None:
            result = on_submit(record) if on_submit is not None else None
            if result is None:
                self.commits += 1
            return result

        super().__init__(fields, on_submit=counted, **kwargs)
        self._on_escape = on_escape
        self.held: tuple[list[LineWarning], Record] | None = None
        self._hold_shown = False  # the screen was last told of a hold (HoldChanged)
        self._accepted: tuple[Record, tuple[str, ...], str] | None = None
        self.accept_after = 0.0
        """Keys read from the terminal before this time (the screen opening) are refused, see _on_key."""
        self.early = 0

    # -- the warning hold: a lock that F8 may lift by writing the line -------------------
    def acknowledgement(self, record: Record) -> tuple[tuple[str, ...], str]:
        """The warning codes F8 accepted for this very record and the reason given, taken once
        (nothing for any other record)."""
        accepted, self._accepted = self._accepted, None
        if accepted is not None and accepted[0] == record:
            return accepted[1], accepted[2]
        return (), ""

    def refused(self, error: ServiceError, record: Record, field: str | None = None) -> SubmitResult:
        """The SubmitResult for a record the service refused (at `field`, else where the error
        says): a line refused for its warnings is held until F8 accepts it or Esc resets."""
        if isinstance(error, LineWarningsError):
            self.hold(error.warnings, record)
            return SubmitResult(field or warning_field(error.warnings), warning_message(error.warnings))
        return SubmitResult(field or (error.field if error.field in record else None), error.message)

    def hold(self, warnings: list[LineWarning], record: Record) -> None:
        self.held = (list(warnings), dict(record))

    def submit_held(self) -> None:
        """Write the held line (its acknowledgement is recorded)."""
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
        codes = tuple(w.code for w in warnings)
        if not any(w.needs_reason for w in warnings):
            self._accept(record, codes, "")
            return
        details = "\n".join(w.message for w in warnings)

        def done(reason: str | None) -> None:
            self.focus()
            if not reason:
                self.error = (f"Not accepted: {keys_text('batch_entry.accept')} to accept with a reason, "
                              f"{keys_text('entry_form.clear_record')} to change the line")
                self.refresh()
                return
            self._accept(record, codes, reason)

        self.app.push_screen(reason_prompt("Accept to unapplied cash", details,
                                           placeholder="Why (e.g. member moved: refund to new address)"), done)

    def _accept(self, record: Record, codes: tuple[str, ...], reason: str) -> None:
        """Write the held line with its acknowledgement (what ``acknowledgement`` hands the screen)."""
        self._accepted = (record, codes, reason)
        self.submit_held()

    def clear_record(self) -> None:
        if self._on_escape is not None:
            self._on_escape()
            return
        super().clear_record()

    def clears_in_place(self) -> bool:
        return self._on_escape is None   # a dialog's form leaves the dialog on Esc

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


class PaymentDialog(Dialog[ScreenResultType]):
    """A payment form framed in the middle of the screen, under a #title (a line changed, an
    exception applied, the batch tape)."""

    DEFAULT_CSS = """
    PaymentDialog { align: center middle; }
    PaymentDialog > Vertical { width: 76; max-width: 100%; height: auto; border: round $primary;
        background: $panel; }
    PaymentDialog #title { padding: 0 1; text-style: bold; }
    """


def check_amount_text(text: str, record: Record) -> str | None:
    """The amount field's validator: an amount of one payment, in range."""
    try:
        batches.amount_from_text(text)
    except ServiceError as e:
        return e.message
    return None
