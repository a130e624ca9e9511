"""New membership and account: the applicant, the service location, the bad-debt audit
(acknowledge, supervisor override), landlord, deposit and membership fee, in one guided form.

The whole flow is ONE focused widget (StepForm, an EntryForm drawn a step at a
time), so keys typed ahead land in their fields however fast they come: each
Field Exit decides the next field synchronously (the location search, the
bad-debt audit, the supervisor's sign-in are indexed look-ups), before the next
key is handled. Fields that do not apply (a supervisor's sign-in when there is
no hit, the landlord of an owner-occupied home) are skipped both ways.

The tax ID is keyed in full, handed to the service (which keeps the last 4 and
a keyed hash) and never drawn again once the cursor leaves it: ***-**-1234.

"""
from __future__ import annotations

import datetime as dt

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on

from kec_tui.money import fmt_dollars
from kec_tui.services import contacts, fees, memberships as ms
from kec_tui.services.errors import ServiceError
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.dialogs import ResultScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.guided_screen import GuidedScreen
from kec_tui.widgets.location_picker import LOCATION_HINT, NEW, NEW_LOCATION_FIELDS, LocationPicker, location_fields
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn
from kec_tui.widgets.validators import check_contact, must_be_yes, next_business_day, not_past, required


def mask_tax_id(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    return f"***-**-{digits[-4:]}" if len(digits) >= 4 else "*" * len(raw)


def audit_table(found: ms.BadDebtAudit, limit: int = 6) -> Table:
    t = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    t.add_column("Account", no_wrap=True)
    t.add_column("Name, service address", no_wrap=True, overflow="ellipsis", ratio=1)
    t.add_column("Status", no_wrap=True)
    t.add_column("Matched by", overflow="fold")
    t.add_column("Unpaid", justify="right", no_wrap=True)
    t.add_column("Wr. off", justify="right", no_wrap=True)
    for h in found.hits[:limit]:
        style = "bold red" if h.blocking else ("yellow" if h.owed_cents else "")
        t.add_row(Text(str(h.account_number), style=style), f"{h.name}, {h.service_address}",
                  h.status + (f" {h.closed:%m/%y}" if h.closed else ""),
                  ", ".join(ms.CRITERIA_LABELS[c] for c in h.matched),
                  Text(fmt_dollars(h.unpaid_final_cents) if h.unpaid_final_cents else "-", style=style),
                  Text(fmt_dollars(h.written_off_cents) if h.written_off_cents else "-", style=style))
    if len(found.hits) > limit:
        t.add_row("...", f"{len(found.hits) - limit} more", "", "", "", "")
    return t


def audit_headline(found: ms.BadDebtAudit, supervisor_here: bool) -> Text:
    """One or two lines on what the audit found and what it asks of the MSR."""
    if not found.hits:
        return Text("Bad-debt audit: no earlier membership matches", style="green")
    back = returning_line(found)
    if not found.owing:
        return Text.assemble((f"Bad-debt audit: {found.none_owes()}", "green"), back)
    owing = len(found.owing)
    head = Text(f"Bad-debt audit: {owing} earlier account{'s' * (owing != 1)} owe{'s' * (owing == 1)} "
                f"{fmt_dollars(found.owed_cents)}. ", style="bold red" if found.blocking else "bold yellow")
    if found.blocking:
        head.append("Matched strongly: acknowledge (Y), then a supervisor overrides with a reason"
                    + ("." if supervisor_here else " (signing in here)."))
    else:
        head.append("Weak match (name, birth date or last 4 only): acknowledge it (Y) to continue.")
    head.append_text(back)
    return head


def returning_line(found: ms.BadDebtAudit) -> Text:
    """A returning member (same tax ID and birth date): the account is theirs, no second membership."""
    back = found.returning
    if back is None:
        return Text("")
    return Text(f"\nReturning member #{back.member_no} ({back.name}, same tax ID and birth date): the account "
                f"opens under that membership, no membership fee.", style="bold")


# ---- the new membership screen ----------------------------------------------------------------

ACK_STEP = "Bad-debt audit"
WAIVE = ("no", "good credit", "other reason")

STEPS = {
    **dict.fromkeys(("first_name", "last_name", "tax_id", "birth_date", "phone_home", "phone_mobile",
                     "phone_work", "email"), "Applicant"),
    **dict.fromkeys(("mail_street", "mail_city", "mail_state", "mail_zip", "preferred", "prior"), "Mailing address"),
    **dict.fromkeys(("location", *NEW_LOCATION_FIELDS), "Service location"),
    **dict.fromkeys(("ack", "sup_user", "sup_password", "override_reason"), ACK_STEP),
    **dict.fromkeys(("rental", "owner_name", "owner_phone"), "Rental"),
    **dict.fromkeys(("rate", "waive", "waiver_reason", "connect_due", "notes", "confirm"), "Deposit, fee and connect"),
}

# Service error field -> this form's field.
FIELD_OF = {"first_name": "first_name", "last_name": "last_name", "tax_id": "tax_id", "birth_date": "birth_date",
            "phone_home": "phone_home", "phone_mobile": "phone_mobile", "phone_work": "phone_work",
            "email": "email", "mail_street": "mail_street", "mail_city": "mail_city", "mail_state": "mail_state",
            "mail_zip": "mail_zip", "preferred_contact": "preferred", "prior_addresses": "prior",
            "location": "location", "owner_name": "owner_name", "bad_debt": "ack",
            "override_reason": "override_reason", "deposit_waiver": "waiver_reason", "connect_due": "connect_due",
            "rate_class": "rate", "notes": "notes", **{f: f for f in NEW_LOCATION_FIELDS}}


def _birth_date(value: str, record: Record) -> str | None:
    if not value:
        return None
    born, today = parse_date(value), dt.date.today()
    if born < dt.date(1900, 1, 1) or born > today:
        return "Date of birth: not a plausible date"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < ms.MIN_AGE:
        return f"The applicant must be {ms.MIN_AGE} or older"
    return None


def _tax_id(value: str, record: Record) -> str | None:
    try:
        ms.clean_tax_id(value)
    except ServiceError as e:
        return e.message
    return None


def _last_phone(value: str, record: Record) -> str | None:
    message = check_contact("phone_work")(value, record)
    if message:
        return message
    if not any(record[p].strip() for p in ("phone_home", "phone_mobile", "phone_work")):
        return "At least one phone number is required"
    return None


def _mail(field: str, label: str):
    def validate(value: str, record: Record) -> str | None:
        return check_contact(field, label)(value, record) if record["mail_street"].strip() else None
    return validate


class NewMembershipScreen(GuidedScreen):
    """New membership and account: applicant, location, bad-debt audit, deposit, connect."""

    HELP = ("One guided form, step by step: the applicant (the tax ID is keyed in full and shown only as "
            "***-**-1234 once you leave it; keying over it replaces it), the mailing address (blank street: "
            "mail goes to the service address) and a prior address for the bad-debt audit, the service location "
            "(a location no., street words, or NEW), then the bad-debt audit of earlier memberships. A hit that "
            "owes must be acknowledged (Y); a strong one (tax ID, phone, address or two criteria) also needs a "
            "supervisor's override with a reason: a supervisor signs in here with name and password, or opens "
            "the account signed in as themselves. Then landlord / owner for a rental, the deposit (rule and amount "
            "shown; waive for good credit or with a reason) and the membership fee, the connect date. Y on the "
            "last field opens the account, bills the deposit and fee and creates the connect order. Enter / Tab "
            "moves on, Up goes back, {entry_form.erase_input} erases a field; choices: space cycles or key the "
            "first letter. "
            "{entry_form.clear_record} leaves (asks first).")
    def __init__(self) -> None:
        super().__init__()
        self.picker = LocationPicker()
        self.audit: ms.BadDebtAudit | None = None
        self.audit_key: tuple | None = None
        self.sign_in = SupervisorSignIn(
            "bad_debt.override",
            lambda who: f"Only a supervisor may override a bad-debt hit; {who.username} ({who.role}) may not",
            refused="Supervisor sign-in refused: check the name and password (no password set? the supervisor "
                    "can open the account signed in as themselves)",
            clear=lambda name: self.form.set_value(name, ""))

    @property
    def supervisor(self) -> OperatorInfo | None:
        return self.sign_in.who

    def fields(self) -> list[FieldSpec]:
        state = lambda r: "ID"  # noqa: E731
        return [
            FieldSpec("first_name", "First name", "text", 40),
            FieldSpec("last_name", "Last name / business", "text", 50, validate=required("Last name")),
            FieldSpec("tax_id", "Tax ID (SSN / EIN)", "text", 11, validate=_tax_id),
            FieldSpec("birth_date", "Date of birth", "date", 10, validate=_birth_date),
            FieldSpec("phone_home", "Home phone", "text", 14, validate=check_contact("phone_home")),
            FieldSpec("phone_mobile", "Mobile phone", "text", 14, validate=check_contact("phone_mobile")),
            FieldSpec("phone_work", "Work phone", "text", 14, validate=_last_phone),
            FieldSpec("email", "E-mail", "text", 50, validate=check_contact("email")),
            FieldSpec("mail_street", "Mailing street", "text", 50),
            FieldSpec("mail_city", "City", "text", 30, validate=_mail("mail_city", "City")),
            FieldSpec("mail_state", "State", "text", 2, validate=_mail("mail_state", "State"), default=state),
            FieldSpec("mail_zip", "ZIP", "text", 10, validate=_mail("mail_zip", "ZIP")),
            FieldSpec("preferred", "Preferred contact", "choice", 6, choices=contacts.PREFERRED,
                      default=lambda r: "phone"),
            FieldSpec("prior", "Prior address", "text", 50),
            *location_fields(self._pick_location),
            FieldSpec("ack", "Hit acknowledged (Y)", "choice", 3, choices=("yes",),
                      validate=must_be_yes("Tell the member about the balance owed, then key Y")),
            *self.sign_in.fields(),
            FieldSpec("override_reason", "Override reason", "text", 50, validate=required("Override reason")),
            FieldSpec("rental", "Rental (landlord)", "choice", 3, choices=("no", "yes"),
                      default=lambda r: "yes" if self.picker.chosen and self.picker.chosen.owner else "no"),
            FieldSpec("owner_name", "Owner / landlord", "text", 40, validate=required("Owner / landlord")),
            FieldSpec("owner_phone", "Owner phone", "text", 14, validate=check_contact("phone_home", "Owner phone")),
            FieldSpec("rate", "Rate class", "choice", 3, choices=ms.RATE_CLASSES, default=lambda r: "RES"),
            FieldSpec("waive", "Waive deposit", "choice", 12, choices=WAIVE, default=lambda r: "no"),
            FieldSpec("waiver_reason", "Waiver reason", "text", 50, validate=required("Waiver reason")),
            FieldSpec("connect_due", "Connect due", "date", 10, default=lambda r: next_business_day(),
                      validate=not_past("Connect due")),
            FieldSpec("notes", "Notes", "text", 50),
            FieldSpec("confirm", "Open the account (Y)", "choice", 3, choices=("yes",),
                      validate=must_be_yes("Key Y to open the account, Up to change something, Esc to leave")),
        ]

    def make_form(self) -> StepForm:
        return StepForm(self.fields(), steps=STEPS, applies=self.applies, masked={"tax_id": mask_tax_id},
                        secret=("sup_password",), on_submit=self.open_account, after_exit=self.after_exit,
                        on_move=lambda name: self.show_panel(), id="form")

    # -- what applies
    def applies(self, name: str, record: Record) -> bool:
        if name in ("mail_city", "mail_state", "mail_zip"):
            return bool(record["mail_street"].strip())
        if name in NEW_LOCATION_FIELDS:
            return record["location"].strip().lower() == NEW
        if name == "ack":
            return bool(self.audit and self.audit.owing)
        if name in ("sup_user", "sup_password"):
            return bool(self.audit and self.audit.blocking) and not self.app.operator.can("bad_debt.override")
        if name == "override_reason":
            return bool(self.audit and self.audit.blocking)
        if name in ("owner_name", "owner_phone"):
            return record["rental"] == "yes"
        if name == "waiver_reason":
            return record["waive"] == "other reason"
        return True

    # -- the look-ups that decide the next field
    def _pick_location(self, value: str, record: Record) -> str | None:
        message = self.picker.pick(value)
        self.show_panel("Service location")
        return message

    def after_exit(self, name: str, record: Record) -> str | None:
        if name == ("new_map" if self.picker.new else "location"):
            return self.run_audit(record)
        return None

    def run_audit(self, record: Record) -> str | None:
        location_id = self.picker.chosen.id if self.picker.chosen else None
        found = ms.audit_applicant(self.applicant(record), location_id)
        key = tuple((h.account_id, h.owed_cents) for h in found.hits)
        if key != self.audit_key:          # a different audit: acknowledge it afresh
            self.audit_key = key
            record["ack"] = ""
            self.sign_in.forget()
        self.audit = found
        if not found.owing:
            self.app.notify(found.summary(), title="Bad-debt audit", timeout=6)
        return "ack" if found.owing else "rental"

    # -- the record as the service wants it
    def applicant(self, record: Record) -> ms.Applicant:
        return ms.Applicant(
            first_name=record["first_name"], last_name=record["last_name"], tax_id=record["tax_id"],
            birth_date=parse_date(record["birth_date"]) if record["birth_date"] else None,
            phone_home=record["phone_home"], phone_mobile=record["phone_mobile"], phone_work=record["phone_work"],
            email=record["email"], mail_street=record["mail_street"], mail_city=record["mail_city"],
            mail_state=record["mail_state"] or "ID", mail_zip=record["mail_zip"],
            preferred_contact=record["preferred"] or "phone",
            prior_addresses=(record["prior"].strip(),) if record["prior"].strip() else ())

    def deposit(self) -> ms.DepositQuote:
        if self.picker.chosen is not None and not self.picker.new:
            return ms.deposit_quote(self.picker.chosen.id)
        flat = fees.schedule().deposit_flat_cents
        return ms.DepositQuote(flat, f"flat {fmt_dollars(flat)}: a new location, no billing history")

    def open_account(self, record: Record) -> SubmitResult | None:
        op = self.app.operator
        owner = ms.Landlord(record["owner_name"], record["owner_phone"]) if record["rental"] == "yes" else None
        override = None
        if self.audit and self.audit.blocking:
            sup = op if op.can("bad_debt.override") else self.supervisor
            if sup is None:
                return SubmitResult("sup_user", "A supervisor must sign in to override the hit")
            override = ms.Override(sup, record["override_reason"])
        try:
            loc = self.picker.add_new(op, record, owner) if self.picker.new else self.picker.chosen
            if loc is None:
                return SubmitResult("location", LOCATION_HINT)
            result = ms.open_account(
                op, loc.id, self.applicant(record), rate_class=record["rate"] or "RES", landlord=owner,
                good_credit=record["waive"] == "good credit",
                deposit_waiver=record["waiver_reason"] if record["waive"] == "other reason" else "",
                acknowledged=record["ack"] == "yes", override=override,
                connect_due=parse_date(record["connect_due"]) if record["connect_due"] else None,
                notes=record["notes"])
        except ms.BadDebtHold as e:
            self.audit = e.audit
            self.audit_key = tuple((h.account_id, h.owed_cents) for h in e.audit.hits)
            target = "ack" if record["ack"] != "yes" else ("override_reason" if self.applies("sup_user", record)
                                                           is False else "sup_user")
            return SubmitResult(target, e.message)
        except ServiceError as e:
            if e.field == "override":
                return SubmitResult("sup_user" if self.applies("sup_user", record) else "override_reason", e.message)
            return SubmitResult(FIELD_OF.get(e.field or "", None), e.message)
        self.done = True
        self.app.push_screen(ResultScreen("New membership and account opened", result_lines(result)),
                             lambda _: self.finish(result.account_id))
        return None

    @on(StepForm.Submitted)
    def forget(self, event: StepForm.Submitted) -> None:
        event.form.previous = None          # nothing of the applicant (tax ID!) is kept for Dup

    def finish(self, account_id: int) -> None:
        """The new account, in place of this form."""
        self.app.leave(self)
        self.app.open_account(account_id)

    # -- the panel under the form
    def show_panel(self, step: str | None = None) -> None:
        form = self.form
        step = step or form.step
        form.set_info({"Mailing address": "Blank mailing street: mail goes to the service address",
                       "Service location": LOCATION_HINT}.get(step, ""))
        if step in ("Applicant", "Mailing address"):
            self.update_panel(Text("The name, tax ID, date of birth, phones and prior address are searched among "
                              "earlier memberships (the bad-debt audit) once the location is keyed.", style="dim"))
        elif step == "Service location":
            self.update_panel(self.picker.table() if self.picker.matches else self.picker.describe())
        elif step == ACK_STEP:
            self.update_panel(self.audit_view())
        elif step == "Rental":
            found = self.audit
            head = audit_headline(found, True) if found is not None else Text("")
            owner = self.picker.chosen.owner if self.picker.chosen else ""
            self.update_panel(Group(Text.assemble(("Owner on file: ", "dim"), owner) if owner else
                               Text("No owner on file for this location: key the landlord for a rental.",
                                    style="dim"), head))
        else:
            self.show_deposit(form.values)

    def audit_view(self):
        found = self.audit
        if found is None:
            return Text("")
        head = audit_headline(found, self.app.operator.can("bad_debt.override"))
        return Group(head, audit_table(found)) if found.hits else head

    def show_deposit(self, record: Record) -> None:
        quote = self.deposit()
        fee = 0 if self.audit and self.audit.returning else fees.schedule().membership_cents
        waive = record["waive"]
        t = Text()
        t.append("Deposit        ", style="dim")
        if waive == "no" or not waive:
            t.append(f"{fmt_dollars(quote.amount_cents)}  ({quote.basis})\n")
        else:
            t.append(f"waived ({waive if waive == 'good credit' else 'reason below'}); the rule says "
                     f"{fmt_dollars(quote.amount_cents)} ({quote.basis})\n")
        t.append("Membership fee ", style="dim")
        t.append(f"{fmt_dollars(fee)}" + (" (returning member)" if fee == 0 and self.audit and self.audit.returning
                                         else "") + "\n")
        billed = fee + (quote.amount_cents if waive in ("no", "") else 0)
        t.append("Billed now     ", style="dim")
        t.append(f"{fmt_dollars(billed)}, due in {fees.DUE_DAYS} days\n", style="bold")
        loc = self.picker.chosen
        where = (record["new_street"] + ", " + record["new_city"]) if self.picker.new else (loc.address if loc else "")
        t.append("Service        ", style="dim")
        t.append(f"{where}\n")
        if self.audit is not None:
            t.append("Bad-debt audit ", style="dim")
            t.append(audit_outcome(self.audit, record["ack"] == "yes", record["override_reason"]) + "\n")
        t.append("A connect order is created for the due date; the account is pending until it is completed.",
                 style="dim")
        self.update_panel(t)

    def leave_question(self) -> str:
        return "Leave without opening the account? What was keyed is dropped."


def audit_outcome(found: ms.BadDebtAudit, acknowledged: bool, override_reason: str = "",
                  overridden_by: str = "") -> str:
    if not found.hits:
        return "no earlier membership matches"
    if not found.owing:
        return found.none_owes()
    n = len(found.owing)
    text = f"{n} earlier account{'s' * (n != 1)} owe{'s' * (n == 1)} {fmt_dollars(found.owed_cents)}"
    if acknowledged:
        text += ", acknowledged"
    if found.blocking and (override_reason or overridden_by):
        text += f", overridden{' by ' + overridden_by if overridden_by else ''}: {override_reason}".rstrip(": ")
    return text


def result_lines(r: ms.OpenedAccount) -> list[Text]:
    lines = [Text.assemble(("Account   ", "dim"), (f"{r.account_number}", "bold"),
                           "  pending until the connect is completed"),
             Text.assemble(("Member    ", "dim"), f"#{r.member_no}" + ("  new member" if r.new_member else
                                                                        "  returning: same membership")),
             Text.assemble(("Deposit   ", "dim"), f"{fmt_dollars(r.deposit_cents)} billed ({r.deposit_basis})"
                           if r.deposit_cents else r.deposit_basis),
             Text.assemble(("Fee       ", "dim"), f"membership {fmt_dollars(r.membership_fee_cents)}"),
             Text.assemble(("Connect   ", "dim"), f"order {r.connect_order_no} created")]
    lines.append(Text.assemble(("Bad debt  ", "dim"), audit_outcome(r.audit, bool(r.audit.owing), "",
                                                                     r.overridden_by)))
    return lines
