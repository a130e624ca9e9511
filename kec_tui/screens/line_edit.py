"""Change a keyed line of a batch (account, amount, check no.): checked like a new line, audited."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from kec_tui import money
from kec_tui.services import batches
from kec_tui.services.batches import LineInfo
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.payment_form import PaymentDialog, PaymentForm, check_amount_text
from kec_tui.widgets.payment_text import account_info_line, cents_text


class LineEditScreen(PaymentDialog[LineInfo | None]):
    """Change a keyed line (account, amount, check no.): audited."""

    HELP = ("The line's account, amount and check number, as keyed. Change what is wrong and press Enter "
            "through the fields (or {batch_entry.record_advance} to save at once): the change is checked like a "
            "new line and kept in "
            "the audit log with the before and after. A warning stops it: {batch_entry.accept} accepts it. "
            "{entry_form.clear_record} cancels.")
    def __init__(self, line: LineInfo, tenkey: bool = False) -> None:
        super().__init__()
        self.line = line
        self.tenkey = tenkey
        self._info: batches.EntryAccount | None = None

    def compose(self) -> ComposeResult:
        fields = [
            FieldSpec("account", "Account", "digits", 10, mandatory_entry=True, validate=self._check_account,
                      dup=False),
            FieldSpec("amount", "Amount", "money", 9, mandatory_entry=True, validate=check_amount_text),
            FieldSpec("check_no", "Check no", "digits", 10),
        ]
        with Vertical():
            yield Label(f"Line {self.line.seq}: change and Enter, Esc cancels", id="title")
            yield PaymentForm(fields, on_submit=self._save, on_escape=self._cancel, after_exit=self._after_exit,
                              tenkey=self.tenkey)

    def on_mount(self) -> None:
        form = self.query_one(PaymentForm)
        ln = self.line
        form.set_value("account", str(ln.account_number or ln.account_text))
        form.set_value("amount", cents_text(ln.amount_cents))
        if ln.check_no.isdigit():
            form.set_value("check_no", ln.check_no)
        form.focus_field("account")
        form.set_info(f"{ln.name}  {money.fmt_dollars(ln.amount_cents)}  was keyed by {ln.operator}")
        form.focus()

    def _check_account(self, text: str, record: Record) -> str | None:
        try:
            self._info = batches.account_info_for_entry(text)
        except ServiceError as e:
            return e.message
        return None

    def _after_exit(self, name: str, record: Record) -> str | None:
        if name == "account" and self._info is not None:
            self.query_one(PaymentForm).set_info(account_info_line(self._info))
        return None

    def _save(self, record: Record) -> SubmitResult | None:
        form = self.query_one(PaymentForm)
        ack, reason = form.acknowledgement(record)
        try:
            line = batches.update_line(self.app.operator, self.line.id, account_text=record["account"],
                                       amount_cents=money.parse(record["amount"]), check_no=record["check_no"],
                                       ack=ack, reason=reason)
        except ServiceError as e:
            return form.refused(e, record)
        self.dismiss(line)
        return None

    def _cancel(self) -> None:
        self.dismiss(None)
