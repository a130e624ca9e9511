"""Energy assistance (services/assistance.py): an application helped and a pledge on the account, and an
agency's check keyed as a batch of its members and matched to their pledges."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind
from kec_tui.money import fmt, fmt_dollars
from kec_tui.services import accounts, assistance, reports
from kec_tui.services.assistance import MatchReport, PaymentInfo
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.entry_form import QUIET_KEYS, EntryForm, FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width

PLEDGE_FIELDS = {"agency": "agency", "amount": "amount", "pledged_on": "pledged_on", "expires_on": "expires_on",
                 "reference": "reference", "check_no": "check_no", "count": "count", "received_on": "received_on"}


def _date(value: str) -> str | None:
    try:
        parse_date(value)
    except ValueError:
        return f"{value}: not a date (MM/DD/YYYY)"
    return None


def _amount(value: str, record: Record) -> str | None:
    try:
        cents = money.parse(value)
    except money.MoneyError as e:
        return str(e)
    return None if cents > 0 else "The amount must be more than zero"


class _AgencyField:
    """The agency code, checked against the agencies on file."""

    def __init__(self) -> None:
        self.agencies = assistance.agencies()
        self.codes = {a.code for a in self.agencies}

    def check(self, value: str, record: Record) -> str | None:
        code = value.strip().upper()
        if not code:
            return "A pledge needs the agency that made it (its code, below)"
        if code not in self.codes:
            return f"No agency {code} (agencies: {', '.join(sorted(self.codes)) or 'none on file'})"
        return None

    def legend(self) -> Text:
        if not self.agencies:
            return Text("No agencies on file", style="bold red")
        return Text("Agencies: " + ", ".join(f"{a.code} {a.name}" for a in self.agencies), style="dim")


class _AgencyForm(FormDialog):
    """A form on the account naming an agency: the account above it, the agencies on file below."""

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.agency = _AgencyField()

    def about(self) -> str:
        """A line under the account's (none: "")."""
        return ""

    def compose_about(self) -> ComposeResult:
        v = self.view
        extra = self.about()
        yield Static(Text(f"{v.number}  {v.name}  balance {fmt_dollars(v.balance_cents)}, past due "
                          f"{fmt_dollars(v.past_due_cents)}" + (f"\n{extra}" if extra else "")), id="who")

    def compose_below(self) -> ComposeResult:
        yield Static(self.agency.legend(), id="agencies")


class PledgeScreen(_AgencyForm):
    """Record an energy-assistance pledge: agency, amount, date, expiry, the agency's reference."""

    HELP = ("The agency's code (listed below: LIHEAP through the community action agency, churches, local funds; "
            "required), the amount pledged, the day of the pledge (Enter: today), when it expires (Enter: the "
            "hold days after) and the agency's case or voucher number. Enter on the last field records it "
            "(audited, a note on the account): while pending it holds disconnection for the hold days shown "
            "and keeps late fees off. The agency's check is matched to it later (agency payment). "
            "{entry_form.clear_record} leaves without recording.")
    DEFAULT_CSS = """
    PledgeScreen #who { padding: 0 1; height: auto; }
    PledgeScreen #agencies { padding: 0 1; height: auto; }
    """

    def title_text(self) -> str:
        return f"Energy assistance pledge, account {self.view.number}"

    def about(self) -> str:
        return f"A pending pledge holds disconnection {assistance.hold_days()} days"

    def make_form(self) -> StepForm:
        today = dt.date.today()
        fields = [
            FieldSpec("agency", "Agency", "text", 12, validate=self.agency.check),
            FieldSpec("amount", "Amount pledged", "money", 10, mandatory_entry=True, validate=_amount),
            FieldSpec("pledged_on", "Pledge date", "date", 10, validate=self._pledged,
                      default=lambda r: f"{today:%m/%d/%Y}"),
            FieldSpec("expires_on", "Expires", "date", 10, validate=self._expires, default=self._expiry),
            FieldSpec("reference", "Agency ref.", "text", assistance.MAX_REFERENCE),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.record, id="form")

    @staticmethod
    def _pledged(value: str, record: Record) -> str | None:
        bad = _date(value)
        if bad is None and parse_date(value) > dt.date.today():
            return "The pledge date is today or earlier"
        return bad

    @staticmethod
    def _expiry(record: Record) -> str:
        day = parse_date(record["pledged_on"]) + dt.timedelta(days=assistance.hold_days())
        return f"{day:%m/%d/%Y}"

    @staticmethod
    def _expires(value: str, record: Record) -> str | None:
        bad = _date(value)
        if bad is None and parse_date(value) < parse_date(record["pledged_on"]):
            return "A pledge expires on or after the day it was made"
        return bad

    def record(self, record: Record) -> SubmitResult | None:
        try:
            done = assistance.pledge(self.app.operator, self.account_id, record["agency"],
                                     money.parse(record["amount"]), pledged_on=parse_date(record["pledged_on"]),
                                     expires_on=parse_date(record["expires_on"]), reference=record["reference"])
        except ServiceError as e:
            return SubmitResult(PLEDGE_FIELDS.get(e.field or ""), e.message)
        self.dismiss(done)
        return None


class ApplicationScreen(_AgencyForm):
    """Record an application for energy assistance the MSR helped the member with."""

    HELP = ("An application for energy assistance the MSR helped the member with: the agency's code (listed below), "
            "the day it was made (Enter: today) and a note (what was applied for, what the agency still needs). "
            "Enter on the last field records it (audited, a note on the account). When the agency commits money it "
            "sends a pledge: record that from the account's menu. {entry_form.clear_record} leaves without recording.")
    DEFAULT_CSS = """
    ApplicationScreen #who { padding: 0 1; height: auto; }
    ApplicationScreen #agencies { padding: 0 1; height: auto; }
    """

    def title_text(self) -> str:
        return f"Energy assistance application, account {self.view.number}"

    def make_form(self) -> StepForm:
        today = dt.date.today()
        fields = [
            FieldSpec("agency", "Agency", "text", 12, validate=self.agency.check),
            FieldSpec("applied_on", "Applied on", "date", 10, validate=self._applied,
                      default=lambda r: f"{today:%m/%d/%Y}"),
            FieldSpec("note", "Note", "text", 60),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.record, id="form")

    @staticmethod
    def _applied(value: str, record: Record) -> str | None:
        bad = _date(value)
        if bad is None and parse_date(value) > dt.date.today():
            return "The application date is today or earlier"
        return bad

    def record(self, record: Record) -> SubmitResult | None:
        try:
            done = assistance.record_application(self.app.operator, self.account_id, record["agency"].strip().upper(),
                                                 parse_date(record["applied_on"]), record["note"])
        except ServiceError as e:
            return SubmitResult({"agency": "agency", "note": "note"}.get(e.field or "", "agency"), e.message)
        self.dismiss(done)
        return None


class AgencyCheckScreen(FormDialog[PaymentInfo | None]):
    """Open an agency's check for keying: agency, check number, amount, members on its list, date."""

    HELP = ("An agency's check paying many pledges: the agency's code, the check number, the check amount (the "
            "control total), how many members its list names (the control count) and the day received (Enter: "
            "today). Enter on the last field opens it as a payment batch and its members are keyed next; a "
            "check already keyed and not posted opens again where it was left. {entry_form.clear_record} leaves.")
    DEFAULT_CSS = "AgencyCheckScreen #agencies { padding: 0 1; height: auto; }"

    def __init__(self) -> None:
        super().__init__()
        self.agency = _AgencyField()

    def title_text(self) -> str:
        return "Agency payment: the check"

    def compose_below(self) -> ComposeResult:
        yield Static(self.agency.legend(), id="agencies")

    def make_form(self) -> StepForm:
        today = dt.date.today()

        def agency(value: str, record: Record) -> str | None:
            bad = self.agency.check(value, record)
            return bad.replace("A pledge needs the agency that made it", "The agency that sent the check") \
                if bad else None

        fields = [
            FieldSpec("agency", "Agency", "text", 12, validate=agency),
            FieldSpec("check_no", "Check no.", "text", 20, mandatory_entry=True),
            FieldSpec("amount", "Check amount", "money", 12, mandatory_entry=True, validate=_amount),
            FieldSpec("count", "Members listed", "digits", 4, mandatory_entry=True,
                      validate=lambda v, r: None if int(v) > 0 else "At least one member"),
            FieldSpec("received_on", "Received", "date", 10, validate=lambda v, r: _date(v),
                      default=lambda r: f"{today:%m/%d/%Y}"),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.open_check,
                        id="form")

    def open_check(self, record: Record) -> SubmitResult | None:
        try:
            found = assistance.find_payment(record["agency"], record["check_no"])
            if found is not None and found.status == "open":
                done = found
            else:
                done = assistance.open_payment(self.app.operator, record["agency"], record["check_no"],
                                               money.parse(record["amount"]), int(record["count"]),
                                               parse_date(record["received_on"]))
        except ServiceError as e:
            return SubmitResult(PLEDGE_FIELDS.get(e.field or ""), e.message)
        self.dismiss(done)
        self.app.open("assistance_payment", done)
        return None


class AgencyPaymentScreen(Screen):
    """The members of an agency's check, keyed heads-down; posted and matched to the pledges."""

    AUTO_FOCUS = "#lines-form"
    HELP = ("The agency's list, one member a line: the account number and Enter (the member's pending pledge of "
            "this agency comes up as the amount), then the amount paid and Enter: the line is saved. A refused "
            "line locks the form; {entry_form.clear_record} (Reset) clears it. {agency_payment.post} posts the "
            "check once its lines add up to the check (count and amount) and matches each line to the "
            "member's pledge: paid, short or over; a line for a member without a pledge and the agency's "
            "pledges the check did not pay are listed, and written to the reports folder (CSV and PDF). "
            "{entry_form.clear_record} clears a line keyed halfway; on an empty line it (or {agency_payment.back}) "
            "leaves: the lines keyed stay, and keying the same check again goes on where it was left.")
    BINDINGS = [
        bind("agency_payment.post", "post", "Post and match"),
        bind("agency_payment.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    AgencyPaymentScreen #summary { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    AgencyPaymentScreen DataTable { height: 1fr; }
    """

    def __init__(self, payment: PaymentInfo) -> None:
        super().__init__()
        self.payment = payment
        self.keyed: list[tuple[int, str, int, int]] = []      # account, name, pledge, paid
        self.report: MatchReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="summary")
        yield LinesForm((FieldSpec("account", "Account", "digits", 10, mandatory_entry=True,
                                   validate=self._account, dup=False),
                         FieldSpec("amount", "Amount paid", "money", 10, mandatory_entry=True, validate=_amount,
                                   default=self._pledge_default, dup=False)),
                        on_submit=self.key, id="lines-form")
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width, key in (("Account", 10, "number"), ("Name", 20, "name"), ("Pledge", 10, "pledge"),
                                  ("Paid", 10, "paid"), ("Result", 12, "result")):
            t.add_column(label, width=width, key=key)
        for line in assistance.payment_lines(self.payment.id):
            self.keyed.append(line)
        self.show_lines()

    def on_resize(self) -> None:
        fill_width(self.query_one(DataTable), "name", self.size.width, minimum=10, ids=("number",))

    def summary(self) -> str:
        p = self.payment
        paid = sum(k[3] for k in self.keyed)
        return (f"{p.agency} check {p.check_no} {fmt_dollars(p.amount_cents)}: {len(self.keyed)} of {p.count} keyed, "
                f"{fmt_dollars(paid)}, to key {fmt(p.amount_cents - paid)}")

    def show_lines(self) -> None:
        t = self.query_one(DataTable)
        t.clear()
        if self.report is not None:
            for m in self.report.matches:
                t.add_row(str(m.account_number), m.name, Text(fmt(m.pledge_cents), justify="right"),
                          Text(fmt(m.paid_cents), justify="right"),
                          Text(m.result, style="bold red" if m.result in ("short", "over", "no pledge") else ""))
            self.query_one("#summary", Static).update(self.report_summary())
            return
        for number, name, pledge, paid in self.keyed:
            t.add_row(str(number), name, Text(fmt(pledge) if pledge else "none", justify="right"),
                      Text(fmt(paid), justify="right"), "")
        self.query_one("#summary", Static).update(self.summary())

    def report_summary(self) -> str:
        r = self.report
        parts = [f"{len(r.of(k))} {k}" for k in ("paid", "short", "over", "no pledge", "not paid") if r.of(k)]
        return f"Posted {r.payment.agency} check {r.payment.check_no} (batch {r.payment.batch_number}): " + \
            ", ".join(parts)

    # -- the lines
    def _account(self, value: str, record: Record) -> str | None:
        try:
            self.pledge = assistance.pledge_due(self.payment.id, value)
        except ServiceError as e:
            return e.message
        return None

    pledge: tuple[int, str, int] | None = None

    def _pledge_default(self, record: Record) -> str:
        return f"{money.to_decimal(self.pledge[2]):.2f}" if self.pledge else ""

    def key(self, record: Record) -> SubmitResult | None:
        if self.report is not None:
            return SubmitResult(None, "This check is posted")
        try:
            line = assistance.key_line(self.app.operator, self.payment.id, record["account"],
                                       money.parse(record["amount"]))
        except ServiceError as e:
            return SubmitResult("account" if e.field == "account" else "amount", e.message)
        self.keyed.append((line.account_number, line.name, self.pledge[2] if self.pledge else 0, line.amount_cents))
        self.pledge = None
        self.show_lines()
        return None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "post" and self.is_mounted and self.query_one(LinesForm).locked:
            return None
        return True

    def action_post(self) -> None:
        if self.report is not None:
            return
        try:
            self.report = assistance.post_payment(self.app.operator, self.payment.id)
        except ServiceError as e:
            self.notify(e.message, severity="warning", timeout=10)
            return
        except Exception as e:  # noqa: BLE001 - a database that does not answer is a message
            self.notify(f"The database did not answer: {first_line(e)}", severity="error")
            return
        self.show_lines()
        try:
            _csv, pdf = assistance.write_report(self.report, reports.reports_dir(self.app.settings))
            self.notify(f"{self.report_summary()}. Report: {pdf}", timeout=10)
        except ServiceError as e:
            self.notify(f"{self.report_summary()}. The report was not written: {e.message}", severity="warning",
                        timeout=10)

    def action_back(self) -> None:
        self.app.leave(self)

    def action_cancel(self) -> None:
        self.app.leave(self)


class LinesForm(EntryForm):
    """The agency list's lines: the 5250 keys out of the Footer, so the screen's keys fit. Esc clears
    a line keyed halfway; on an empty line it leaves (the lines saved stay with the check)."""

    BINDINGS = [*QUIET_KEYS, bind("entry_form.clear_record", "clear_record", "Clear / Back", show=False)]

    def clear_record(self) -> None:
        if any(self.values.values()):
            self.reset()
        else:
            self.screen.action_cancel()
