"""Credit forms on an account: bill a deposit (services/deposits.py), write the account off with a
supervisor (write_offs.py), record a bankruptcy case or close it (bankruptcy.py), and record a
collection agency's payment or a recovery after the write-off. Each is a FormDialog over one
StepForm: keys typed ahead land in their fields, a refused field locks the form and holds them."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui import money
from kec_tui.services import bankruptcy, credit_rules, deposits, write_offs
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn
from kec_tui.widgets.validators import required

# The deposit form's reason codes (first letter selects) -> deposits.REASONS
REASON_CODES = {"late": "late_history", "returned": "returned_payments", "reconnect": "reconnect", "other": "other"}


def _money(value: str, record: Record) -> str | None:
    try:
        cents = money.parse(value)
    except money.MoneyError as e:
        return str(e)
    return None if cents > 0 else "Amount: more than zero"


def _failed(e: Exception) -> str:
    return e.message if isinstance(e, ServiceError) else f"The database did not answer: {first_line(e)}"


class CreditForm(FormDialog):
    """A credit form on one account: the StepForm of `fields()`, `post(record)` on the last Enter."""

    FIELD_OF: dict[str, str] = {}

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id

    def fields(self) -> list[FieldSpec]:
        raise NotImplementedError

    def applies(self, name: str, record: Record) -> bool:
        return True

    def secret(self) -> tuple[str, ...]:
        return ()

    def make_form(self) -> StepForm:
        fields = self.fields()
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), applies=self.applies,
                        secret=self.secret(), on_submit=self._submit, id="form")

    def _submit(self, record: Record) -> SubmitResult | None:
        try:
            done = self.post(record)
        except Exception as e:  # noqa: BLE001 - a refusal or a database that does not answer: a message
            field = self.FIELD_OF.get(getattr(e, "field", None) or "")
            return SubmitResult(field, _failed(e))
        self.dismiss(done)
        return None

    def post(self, record: Record):
        raise NotImplementedError


# ---- deposit ----------------------------------------------------------------------------------------------

class DepositScreen(CreditForm):
    """Bill a deposit: the reason the rules call for, the amount (the rule's), installments, a note."""

    HELP = ("Bill a security deposit on the account. Above: whether the rules call for one (bills paid late "
            "or payments returned in 12 months, a disconnection for non-payment) and the rule's amount (2x "
            "the average bill less what is held). Reason (first letter: L late payments, R returned payments, "
            "C reconnect after a disconnection, O other with a note; a reason the rules do not call for is "
            "refused), the amount (Enter takes the rule's), installments (1 to the most allowed: the first is "
            "billed now, the rest a month apart by the deposit review) and a note. Enter on the last field bills "
            "it, once. {entry_form.clear_record} leaves without billing.")
    FIELD_OF = {"reason": "reason", "amount": "amount", "installments": "installments", "note": "note",
                "account": "reason"}
    DEFAULT_CSS = "DepositScreen #about { padding: 0 1; height: auto; }"

    def __init__(self, account_id: int) -> None:
        super().__init__(account_id)
        self.found = deposits.assess(account_id)
        self.max_installments = credit_rules.rules().deposit_max_installments

    def title_text(self) -> str:
        return f"Deposit on account {self.found.number}"

    def compose_about(self) -> ComposeResult:
        f = self.found
        h = f.history
        yield Static(Text(f"12 months: {h.late_bills} bills late, {h.returns} payments returned"
                          + (", disconnected for non-payment" if h.disconnected else "") + "\n" + f.describe()),
                     id="about")

    def fields(self) -> list[FieldSpec]:
        called = [code for code, r in REASON_CODES.items() if r in self.found.reasons]
        return [
            FieldSpec("reason", "Reason", "choice", 9, mandatory_entry=True, choices=tuple(REASON_CODES),
                      default=lambda r: called[0] if called else "other", validate=self._reason),
            FieldSpec("amount", "Amount", "money", 10, mandatory_entry=True, validate=_money,
                      default=lambda r: money.fmt(self.found.due_cents) if self.found.due_cents else ""),
            FieldSpec("installments", f"Installments (1-{self.max_installments})", "digits", 1,
                      default=lambda r: "1", validate=self._installments),
            FieldSpec("note", "Note", "text", 48, validate=self._note),
        ]

    def _reason(self, value: str, record: Record) -> str | None:
        reason = REASON_CODES.get(value)
        if reason in deposits.RULE_REASONS and reason not in self.found.reasons:
            return (f"The rules do not call for a deposit for {deposits.REASONS[reason].lower()} "
                    f"on this account (O other, with a note, if the co-op asks one anyway)")
        return None

    def _installments(self, value: str, record: Record) -> str | None:
        if not value.isdigit() or not 1 <= int(value) <= self.max_installments:
            return f"Installments: 1 to {self.max_installments}"
        return None

    @staticmethod
    def _note(value: str, record: Record) -> str | None:
        if record["reason"] == "other" and not value.strip():
            return "Note: say why a deposit is asked (reason Other)"
        return None

    def post(self, record: Record) -> deposits.DepositInfo:
        return deposits.bill(self.app.operator, self.account_id, REASON_CODES[record["reason"]],
                             amount_cents=money.parse(record["amount"]), installments=int(record["installments"]),
                             note=record["note"])


# ---- write-off ---------------------------------------------------------------------------------------------

class WriteOffScreen(CreditForm):
    """Write the final account's balance off as bad debt: a note, a supervisor's approval."""

    HELP = ("Write off a final account's unpaid balance as bad debt: a writeoff entry on the ledger, the account "
            "closed, and the member found by the bad-debt audit of any later application. Only a final account "
            "is written off: an account in service (active, pending, disconnected) is refused at the first "
            "field, and the keys typed after it are held. Key a note, then (unless you are a supervisor) a "
            "supervisor signs in with name and password to approve it. Enter on the last field writes it off, "
            "once. {entry_form.clear_record} leaves.")
    FIELD_OF = {"note": "note", "account": "note", "supervisor": SupervisorSignIn.USER}
    DEFAULT_CSS = "WriteOffScreen #about { padding: 0 1; height: auto; }"

    def __init__(self, account_id: int) -> None:
        super().__init__(account_id)
        self.credit = write_offs.account_credit(account_id)
        self.sign_in = SupervisorSignIn(
            "writeoff", lambda who: f"Only a supervisor may approve a write-off; {who.username} ({who.role}) may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return f"Write off account {self.credit.number}"

    def compose_about(self) -> ComposeResult:
        c = self.credit
        yield Static(Text(f"{c.number}  {c.name}  [{c.status}]  balance {money.fmt_dollars(c.balance_cents)}\n"
                          "A supervisor approves the write-off"), id="about")

    def fields(self) -> list[FieldSpec]:
        return [FieldSpec("note", "Note", "text", 48, validate=self._can), *self.sign_in.fields()]

    def secret(self) -> tuple[str, ...]:
        return (SupervisorSignIn.PASSWORD,)

    def needs_supervisor(self) -> bool:
        return not self.app.operator.can("writeoff")

    def applies(self, name: str, record: Record) -> bool:
        if name in (SupervisorSignIn.USER, SupervisorSignIn.PASSWORD):
            return self.needs_supervisor()
        return True

    def _can(self, value: str, record: Record) -> str | None:
        return write_offs.refusal(self.account_id)

    def post(self, record: Record) -> write_offs.WriteOffInfo:
        who = self.sign_in.who if self.needs_supervisor() else None
        if self.needs_supervisor() and who is None:
            raise ServiceError("A supervisor must sign in to approve the write-off", "supervisor")
        return write_offs.write_off_account(self.app.operator, self.account_id, supervisor=who, note=record["note"])


# ---- agency payment / recovery ------------------------------------------------------------------------------

class AgencyPaymentScreen(CreditForm):
    """What the collection agency collected (recorded net of its commission), or a member's own payment
    after the write-off (a recovery)."""

    HELP = ("Record money collected on a final account. From (first letter): A the collection agency (key what "
            "it collected from the member; its commission is kept back, the account is credited the payment "
            "remitted and the commission) or M the member paying the co-op after the write-off (a recovery). "
            "Then the amount and a reference (check number). More than is left to collect is refused. Enter on "
            "the last field records it, once. {entry_form.clear_record} leaves.")
    FIELD_OF = {"amount": "amount", "account": "source"}
    DEFAULT_CSS = "AgencyPaymentScreen #about { padding: 0 1; height: auto; }"

    def __init__(self, account_id: int) -> None:
        super().__init__(account_id)
        self.credit = write_offs.account_credit(account_id)

    def title_text(self) -> str:
        return f"Collected on account {self.credit.number}"

    def compose_about(self) -> ComposeResult:
        c = self.credit
        r = c.referral
        agency = "Not with a collection agency"
        if r:
            left = money.fmt_dollars(r.amount_cents - r.collected_cents)
            agency = f"With {r.agency} since {r.referred_on:%m/%d/%Y}: {left} left, commission {c.commission_percent}%"
        yield Static(Text(f"{c.number}  {c.name}  [{c.status}]  balance {money.fmt_dollars(c.balance_cents)}, "
                          f"written off {money.fmt_dollars(c.written_off_cents)}\n{agency}"), id="about")

    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec("source", "From", "choice", 6, mandatory_entry=True, choices=("agency", "member"),
                      default=lambda r: "agency" if self.credit.referral else "member", validate=self._source),
            FieldSpec("amount", "Amount collected", "money", 10, mandatory_entry=True, validate=self._amount),
            FieldSpec("reference", "Reference", "text", 20),
        ]

    def _source(self, value: str, record: Record) -> str | None:
        if value == "agency" and self.credit.referral is None:
            return "The account is not with a collection agency"
        if value == "member" and not self.credit.written_off_cents:
            return "Nothing is written off on this account: a member's payment is keyed in a batch"
        return None

    def _amount(self, value: str, record: Record) -> str | None:
        bad = _money(value, record)
        if bad:
            return bad
        cents = money.parse(value)
        c = self.credit
        left = (c.referral.amount_cents - c.referral.collected_cents) if record["source"] == "agency" and c.referral \
            else c.written_off_cents
        if cents > left:
            return f"Amount: at most {money.fmt_dollars(left)} is left to collect"
        return None

    def post(self, record: Record):
        cents = money.parse(record["amount"])
        if record["source"] == "agency":
            return write_offs.agency_payment(self.app.operator, self.account_id, cents, reference=record["reference"])
        write_offs.recover(self.app.operator, self.account_id, cents, reference=record["reference"])
        return write_offs.AgencyPayment(self.account_id, self.credit.number, cents, 0, cents, cents)


# ---- bankruptcy ---------------------------------------------------------------------------------------------

def _filed(value: str, record: Record) -> str | None:
    try:
        day = parse_date(value)
    except ValueError:
        return f"{value}: not a date (MM/DD/YYYY)"
    if day > dt.date.today():
        return f"Filing date {day:%m/%d/%Y} is after today"
    return None


class BankruptcyScreen(CreditForm):
    """Record a bankruptcy case: chapter, case number, filing date, court, the adequate assurance asked."""

    HELP = ("Record the member's bankruptcy from the court's notice: chapter (7, 11, 12 or 13; space cycles), the "
            "case number, the filing date, the court, and whether to ask the adequate-assurance deposit (Y: "
            "billed now, due 20 days after the filing; not furnished by then, service may be discontinued). "
            "Recorded, collection stops (no late fees, notices or disconnects), the balance owed at the filing is "
            "set apart from later charges. Enter on the last field records it. {entry_form.clear_record} leaves.")
    FIELD_OF = {"chapter": "chapter", "case_no": "case_no", "filed_on": "filed_on", "court": "court",
                "account": "case_no"}
    DEFAULT_CSS = "BankruptcyScreen #about { padding: 0 1; height: auto; }"

    def __init__(self, account_id: int, number: int, name: str) -> None:
        super().__init__(account_id)
        self.number, self.member_name = number, name

    def title_text(self) -> str:
        return f"Bankruptcy: account {self.number}"

    def compose_about(self) -> ComposeResult:
        days = credit_rules.rules().bankruptcy_assurance_days
        yield Static(Text(f"{self.number}  {self.member_name}\n11 U.S.C. 366: adequate assurance due {days} days after "
                          "the filing"), id="about")

    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec("chapter", "Chapter", "choice", 2, mandatory_entry=True,
                      choices=tuple(str(c) for c in bankruptcy.CHAPTERS), default=lambda r: "7"),
            FieldSpec("case_no", "Case number", "text", 24, mandatory_entry=True, validate=self._case_no),
            FieldSpec("filed_on", "Filing date", "date", 10, mandatory_entry=True, validate=_filed),
            FieldSpec("court", "Court", "text", 40, default=lambda r: "D. Idaho", validate=required("Court")),
            FieldSpec("assurance", "Ask adequate assurance", "choice", 3, choices=("yes", "no"),
                      default=lambda r: "yes"),
        ]

    @staticmethod
    def _case_no(value: str, record: Record) -> str | None:
        if not bankruptcy.CASE_NO.fullmatch(value.strip()):
            return "Case number: 3-24 letters, digits, - or : (as on the notice, e.g. 25-20417)"
        return None

    def post(self, record: Record) -> bankruptcy.CaseInfo:
        return bankruptcy.record_case(self.app.operator, self.account_id, int(record["chapter"]), record["case_no"],
                                      parse_date(record["filed_on"]), record["court"],
                                      assurance_deposit=record["assurance"] == "yes")


class BankruptcyCloseScreen(CreditForm):
    """Close the open case: discharged (the pre-petition balance written off) or dismissed (back in collection)."""

    HELP = ("Close the account's open bankruptcy case from the court's order: discharged (the balance set "
            "apart at the filing is written off) or dismissed (D once, D again or space cycles: the balance comes "
            "back to the account, past due, and collection resumes), and the day of the order (Enter takes today). "
            "Enter on the last field closes the case. {entry_form.clear_record} leaves.")
    FIELD_OF = {"outcome": "outcome", "on": "on"}
    DEFAULT_CSS = "BankruptcyCloseScreen #about { padding: 0 1; height: auto; }"

    def __init__(self, account_id: int, case: bankruptcy.CaseInfo) -> None:
        super().__init__(account_id)
        self.case = case

    def title_text(self) -> str:
        return f"Close bankruptcy {self.case.case_no}: account {self.case.number}"

    def compose_about(self) -> ComposeResult:
        c = self.case
        yield Static(Text(f"Chapter {c.chapter}, {c.court}, filed {c.filed_on:%m/%d/%Y}: pre-petition balance "
                          f"{money.fmt_dollars(c.pre_petition_cents)} set apart\n{c.assurance.describe()}"),
                     id="about")

    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec("outcome", "Outcome", "choice", 10, mandatory_entry=True, choices=bankruptcy.OUTCOME_NAMES),
            FieldSpec("on", "Order date", "date", 10, default=lambda r: f"{dt.date.today():%m/%d/%Y}",
                      validate=self._on),
        ]

    def _on(self, value: str, record: Record) -> str | None:
        try:
            day = parse_date(value)
        except ValueError:
            return f"{value}: not a date (MM/DD/YYYY)"
        if day > dt.date.today() or day < self.case.filed_on:
            return f"Order date: between the filing {self.case.filed_on:%m/%d/%Y} and today"
        return None

    def post(self, record: Record) -> bankruptcy.CaseInfo:
        return bankruptcy.close_case(self.app.operator, self.case.id, record["outcome"], on=parse_date(record["on"]))
