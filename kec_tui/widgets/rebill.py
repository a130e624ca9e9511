"""Rebill a bill: cancel it (its charge reversed) and bill its period again, with corrected kWh
and a reason. One dialog for the account's bills (Ctrl+E) and the billing register."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui.services import bill_inquiry, billing_run
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.validators import required


class RebillDialog(FormDialog[billing_run.BillInfo | None]):
    """Dismissed with the new bill, or None when left as it was."""

    HELP = ("Bill the period again: key the corrected kWh (Enter keeps the billed kWh) and why. Enter on the "
            "reason cancels the bill (its charge reversed) and bills the period again at the rates of the period; "
            "both are kept in the audit log with the reason. {entry_form.clear_record} leaves the bill as it is.")
    DEFAULT_CSS = """
    RebillDialog > Vertical { border: round $warning; }
    RebillDialog #what { padding: 0 1; height: auto; }
    """

    def __init__(self, bill_id: int, kwh: int, title: str, about: str) -> None:
        super().__init__()
        self.bill_id = bill_id
        self.kwh = kwh
        self.title = title
        self.about = about

    def title_text(self) -> str:
        return self.title

    def compose_about(self) -> ComposeResult:
        yield Static(Text(self.about), id="what")

    def make_form(self) -> StepForm:
        fields = [FieldSpec("kwh", "Corrected kWh", "digits", 8, default=lambda r: str(self.kwh), dup=False),
                  FieldSpec("reason", "Reason", "text", 56, validate=required("The reason"), dup=False)]
        form = StepForm(fields, steps=dict.fromkeys(("kwh", "reason"), ""), on_submit=self.rebill, id="form")
        form.closes_on_submit = True
        return form

    def rebill(self, record: Record) -> SubmitResult | None:
        try:
            new = billing_run.rebill(self.app.operator, self.bill_id, record["reason"],
                                     kwh=bill_inquiry.parse_kwh(record["kwh"] or str(self.kwh)))
        except ServiceError as e:
            return SubmitResult("kwh" if e.field == "kwh" else "reason", e.message)
        self.dismiss(new)
        return None
