"""A payment arrangement on the account (services/arrangements.py): the amount, a down payment,
installments on the next bills or on set dates, a note; over the limit per 12 months a supervisor
signs in on the form. Enter on the last field agrees it and prints the agreement (PDF)."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui import money
from kec_tui.services import accounts, arrangements, reports
from kec_tui.services.arrangements import ArrangementInfo
from kec_tui.services.errors import ServiceError, ValidationError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn

MODES = ("bills", "dates")
FIELD_OF = {"total": "total", "down": "down", "installments": "installments", "mode": "mode",
            "first_due": "first_due", "note": "note"}


def _cents(text: str) -> int:
    return money.parse(text) if text else 0


class ArrangementScreen(FormDialog[ArrangementInfo | None]):
    """Agree a payment arrangement: amount, down payment, installments, bills or dates, a note."""

    HELP = ("The amount arranged (Enter takes the balance), the down payment (due today; Enter: none), how many "
            "installments (at most the limit shown: longer is refused), whether they are added to the next bills "
            "(B) or due on set dates (D: the first date, then monthly; space cycles), and a note. Over the limit "
            "of arrangements in 12 months a supervisor signs in here with name and password. Enter on the last "
            "field agrees the arrangement (audited, a note on the account) and prints the agreement to the "
            "reports folder. Kept, it holds late fees and notices; an installment or a new bill unpaid past the "
            "grace breaks it and notices resume. {entry_form.clear_record} leaves without agreeing.")
    DEFAULT_CSS = """
    ArrangementScreen #who { padding: 0 1; height: auto; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.today = dt.date.today()
        self.made_12m = arrangements.count_12m(account_id, self.today)
        self.sign_in = SupervisorSignIn(
            "arrangement.approve",
            lambda who: f"Only a supervisor may approve an arrangement over the limit; {who.username} ({who.role}) "
                        f"may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return f"Payment arrangement, account {self.view.number}"

    def compose_about(self) -> ComposeResult:
        v, p = self.view, arrangements.policy()
        yield Static(Text(f"{v.number}  {v.name}  balance {money.fmt_dollars(v.balance_cents)}, past due "
                          f"{money.fmt_dollars(v.past_due_cents)}\nAt most {p.max_months} installments; "
                          f"{self.made_12m} of {p.limit_12m} arrangements in 12 months"
                          + ("  (a supervisor signs)" if self.over_limit else "")), id="who")

    @property
    def over_limit(self) -> bool:
        return arrangements.needs_supervisor(self.app.operator, self.account_id, self.today)

    def make_form(self) -> StepForm:
        balance = max(self.view.balance_cents, 0)
        fields = [
            FieldSpec("total", "Amount arranged", "money", 10, validate=self._total,
                      default=lambda r: f"{money.to_decimal(balance):.2f}"),
            FieldSpec("down", "Down payment", "money", 10, validate=self._down, default=lambda r: "0.00"),
            FieldSpec("installments", "Installments", "digits", 2, mandatory_entry=True, validate=self._installments),
            FieldSpec("mode", "Added to", "choice", 6, choices=MODES, default=lambda r: "bills"),
            FieldSpec("first_due", "First due", "date", 10, validate=self._first_due),
            FieldSpec("note", "Note", "text", 48),
            *self.sign_in.fields(),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), applies=self.applies,
                        secret=(SupervisorSignIn.PASSWORD,), on_submit=self.agree, id="form")

    def applies(self, name: str, record: Record) -> bool:
        if name == "first_due":
            return record.get("mode") == "dates"
        if name in (SupervisorSignIn.USER, SupervisorSignIn.PASSWORD):
            return self.over_limit
        return True

    # -- each field checked on Field Exit by the service's own rules (check_terms), the later fields
    # taken as not keyed yet
    def _check(self, field: str, total: str, down: str = "", n: str = "", mode: str = "bills",
               first_due: dt.date | None = None) -> str | None:
        try:
            arrangements.check_terms(_cents(total), _cents(down), int(n) if n else 1, mode, self.today, first_due,
                                     max(self.view.balance_cents, 0))
        except money.MoneyError as e:
            return str(e)
        except ValidationError as e:
            return e.message if e.field == field else None
        return None

    def _total(self, value: str, record: Record) -> str | None:
        return self._check("total", value)

    def _down(self, value: str, record: Record) -> str | None:
        return self._check("down", record["total"], value)

    def _installments(self, value: str, record: Record) -> str | None:
        return self._check("installments", record["total"], record["down"], value)

    def _first_due(self, value: str, record: Record) -> str | None:
        if not value:
            return "First due: the first installment's date (MM/DD/YYYY)"
        try:
            day = parse_date(value)
        except ValueError:
            return f"{value}: not a date (MM/DD/YYYY)"
        return self._check("first_due", record["total"], record["down"], record["installments"], "dates", day)

    def agree(self, record: Record) -> SubmitResult | None:
        approver = self.sign_in.who if self.over_limit else None
        if self.over_limit and approver is None:
            return SubmitResult(SupervisorSignIn.USER, "A supervisor must sign in: over the limit in 12 months")
        try:
            first = parse_date(record["first_due"]) if record["mode"] == "dates" else None
            done = arrangements.make(self.app.operator, self.account_id, total_cents=_cents(record["total"]),
                                     down_cents=_cents(record["down"]), installments=int(record["installments"]),
                                     mode=record["mode"], first_due=first, note=record["note"], approver=approver,
                                     on=self.today)
        except ServiceError as e:
            field = FIELD_OF.get(e.field or "")
            if field is None and self.over_limit:
                field = SupervisorSignIn.USER
            return SubmitResult(field, e.message)
        try:
            path = arrangements.write_agreement(done.id, reports.reports_dir(self.app.settings))
            self.app.notify(f"Agreement printed: {path}", timeout=8)
        except ServiceError as e:
            self.app.notify(f"Arrangement agreed, but the agreement was not printed: {e.message}",
                            severity="warning", timeout=10)
        self.dismiss(done)
        return None
