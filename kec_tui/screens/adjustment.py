"""An adjustment to the account: a credit or a debit (a charge) with a reason code and a note, one ledger
entry (services/adjustments.py); above the limit a supervisor signs in on the spot."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui import money
from kec_tui.services import accounts, adjustments
from kec_tui.services.adjustments import AdjustmentInfo
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn

KINDS = ("credit", "debit")                  # C or D: a credit lowers the balance, a debit charges
FIELD_OF = {"amount": "amount", "reason": "reason", "note": "note"}


def signed_cents(record: Record) -> int:
    """The amount keyed as cents, negative for a credit."""
    cents = money.parse(record["amount"])
    return -cents if record["kind"] == "credit" else cents


class AdjustmentScreen(FormDialog[AdjustmentInfo | None]):
    """Adjust the account: credit or debit, amount, reason code, note, a supervisor over the limit."""

    HELP = ("Credit or debit (C credit lowers the balance, D debit charges it; space cycles), the amount, "
            "the reason code (its first letter: M meter error, B billing error, C courtesy, A energy assistance, "
            "L late fee waived, R rate correction, O other), and a note (required for Other). Above the limit "
            "shown a supervisor signs in here with name and password. Enter on the last field posts the "
            "adjustment to the ledger, once; it is listed on the next statement. {entry_form.clear_record} "
            "leaves without posting.")
    DEFAULT_CSS = """
    AdjustmentScreen #who { padding: 0 1; height: auto; }
    AdjustmentScreen #reasons { padding: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.sign_in = SupervisorSignIn(
            "billing.approve",
            lambda who: f"Only a supervisor may approve an adjustment over the limit; {who.username} ({who.role}) "
                        f"may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return f"Adjust account {self.view.number}"

    def compose_about(self) -> ComposeResult:
        v = self.view
        yield Static(Text(f"{v.number}  {v.name}  [{v.status}]  balance {money.fmt_dollars(v.balance_cents)}\n"
                          f"Over {money.fmt_dollars(adjustments.limit_cents())} a supervisor signs in"), id="who")

    def compose_below(self) -> ComposeResult:
        yield Static(Text("Reasons: " + ", ".join(f"{code} {label}" for code, label in adjustments.REASONS.items())),
                     id="reasons")

    def make_form(self) -> StepForm:
        fields = [
            FieldSpec("kind", "Credit or debit", "choice", 6, choices=KINDS, default=lambda r: "credit"),
            FieldSpec("amount", "Amount", "money", 10, mandatory_entry=True, validate=self._amount),
            FieldSpec("reason", "Reason code", "choice", 8, mandatory_entry=True, choices=tuple(adjustments.REASONS)),
            FieldSpec("note", "Note", "text", 48, validate=self._note),
            *self.sign_in.fields(),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), applies=self.applies,
                        secret=(SupervisorSignIn.PASSWORD,), on_submit=self.post, id="form")

    def needs_supervisor(self, record: Record) -> bool:
        try:
            cents = signed_cents(record)
        except (money.MoneyError, ValueError):
            return False
        return adjustments.needs_approval(self.app.operator, cents)

    def applies(self, name: str, record: Record) -> bool:
        if name in (SupervisorSignIn.USER, SupervisorSignIn.PASSWORD):
            return self.needs_supervisor(record)
        return True

    @staticmethod
    def _amount(value: str, record: Record) -> str | None:
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return str(e)
        if cents <= 0:
            return "Amount: more than zero (credit or debit is chosen above)"
        if cents > adjustments.MAX_CENTS:
            return f"Amount: at most {money.fmt_dollars(adjustments.MAX_CENTS)}"
        return None

    @staticmethod
    def _note(value: str, record: Record) -> str | None:
        if record["reason"] == "OTHER" and not value.strip():
            return "Note: say what the adjustment is for (reason Other)"
        return None

    def post(self, record: Record) -> SubmitResult | None:
        approver = self.sign_in.who if self.needs_supervisor(record) else None
        if self.needs_supervisor(record) and approver is None:
            return SubmitResult(SupervisorSignIn.USER, "A supervisor must sign in for an amount over the limit")
        try:
            done = adjustments.adjust(self.app.operator, self.view.number, record["reason"], signed_cents(record),
                                      record["note"], approver=approver)
        except ServiceError as e:
            field = FIELD_OF.get(e.field or "")
            if field is None and self.needs_supervisor(record):
                field = SupervisorSignIn.USER
            return SubmitResult(field, e.message)
        self.dismiss(done)
        return None
