"""Damage claims (services/damage_claims.py): the list of claims with their aging (back-office menu),
a new claim, and one claim: its cost lines, the invoice (a PDF, the path shown), payments, a
settlement, reduction or write-off a supervisor signs in for, a member's claim decided, letters.
Each form is a FormDialog over one StepForm: keys typed ahead land in their fields, a refused
field locks the form and holds them."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import damage_claims as dc, reports
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn
from kec_tui.widgets.tables import fill_width


def _failed(e: Exception) -> str:
    return e.message if isinstance(e, ServiceError) else f"The database did not answer: {first_line(e)}"


def _amount(value: str, record: Record) -> str | None:
    try:
        cents = money.parse(value)
    except money.MoneyError as e:
        return str(e)
    return None if cents > 0 else "Amount: more than zero"


def claims_dir(app) -> str:
    return str(reports.reports_dir(app.settings) / "claims")


class DamageClaimsScreen(Screen):
    """Every open damage claim, newest first, with the aging of what is billed."""

    HELP = ("Damage claims. Against a third party (co-op): someone damaged the co-op's pole, transformer, line or "
            "meter; the co-op bills them or their insurer for the repair. Member: a member claims the co-op damaged "
            "their property (a surge). Each row: the claim number, the incident date, what was damaged, the "
            "status, the balance, the days since the invoice and the party (member: a member's claim). Above, the "
            "balances by age (days since the invoice). Enter opens the highlighted claim; {claims.new} opens a "
            "claim against a third party, {claims.member} a member's claim; {claims.all} shows the closed and "
            "written-off claims too (again: only the open ones). {claims.back} goes back.")
    BINDINGS = [
        bind("claims.back", "back", "Back"),
        bind("claims.new", "new('against')", "New claim"),
        bind("claims.member", "new('member')", "Member claim"),
        bind("claims.all", "toggle_all", "All/open"),
    ]
    DEFAULT_CSS = """
    DamageClaimsScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    DamageClaimsScreen #aging { height: auto; padding: 0 1; }
    DamageClaimsScreen DataTable { height: 1fr; }
    DamageClaimsScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self, today: dt.date | None = None) -> None:
        super().__init__()
        self.today = today or dt.date.today()
        self.items: list[dc.Claim] = []
        self.all = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Damage claims", id="title")
        yield Static("", id="aging")
        yield DataTable(id="claims", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width in (("Claim", 5), ("Incident", 8), ("Damaged", 11), ("Status", 11), ("Balance", 10),
                             ("Age", 3), ("Party", 16)):
            t.add_column(label, width=width, key=label.lower())
        self.load()
        t.focus()

    def load(self) -> None:
        self.items = dc.claims(include_closed=self.all)
        t = self.query_one(DataTable)
        t.clear()
        for c in self.items:
            age = c.age_days(self.today)
            t.add_row(str(c.claim_no), f"{c.incident_on:%m/%d/%y}", c.damaged, dc.STATUS_LABELS[c.status],
                      Text(money.fmt(c.balance_cents), justify="right"),
                      Text("" if age is None or c.balance_cents == 0 else str(age), justify="right"),
                      c.party_name if c.direction == "against" else f"member {c.party_name}", key=str(c.id))
        fill_width(t, "party", self.size.width, minimum=10)
        totals = dc.aging(self.today).totals
        self.query_one("#aging", Static).update(Text(
            "Days since invoice: " + "  ".join(f"{b} {money.fmt_dollars(c)}" for b, c in totals.items())))
        self.query_one("#title", Static).update(
            f"Damage claims: {len(self.items)} {'in all' if self.all else 'open'}")

    def on_resize(self) -> None:
        fill_width(self.query_one(DataTable), "party", self.size.width, minimum=10)

    @property
    def item(self) -> dc.Claim | None:
        t = self.query_one(DataTable)
        return self.items[t.cursor_row] if self.items and 0 <= t.cursor_row < len(self.items) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.item is not None:
            self.app.open("damage_claim", self.item.id, callback=lambda _: self.load())

    def action_new(self, direction: str) -> None:
        def done(claim: dc.Claim | None) -> None:
            if claim is not None:
                self.load()
                self.app.open("damage_claim", claim.id, callback=lambda _: self.load())
        self.app.open("damage_claim_new", direction, callback=done)

    def action_toggle_all(self) -> None:
        self.all = not self.all
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)


def _phone(value: str, record: Record) -> str | None:
    return None if not value or len(value) == 10 else "Phone: 10 digits (area code first)"


PARTY = ("description", "party_name", "party_address", "party_phone", "insurer", "insurer_claim_no",
         "adjuster_name", "adjuster_phone")


def party_fields(member: bool) -> list[FieldSpec]:
    """What happened, the party (a member's claim: the member) and their insurer: a new claim's and a change's."""
    return [
        FieldSpec("description", "What happened", "text", 48),
        FieldSpec("party_name", "Member" if member else "Responsible party", "text", 40, mandatory_entry=True),
        FieldSpec("party_address", "Address", "text", 48),
        FieldSpec("party_phone", "Phone", "digits", 10, validate=_phone),
        FieldSpec("insurer", "Insurer", "text", 40),
        FieldSpec("insurer_claim_no", "Insurer's claim no.", "text", 20),
        FieldSpec("adjuster_name", "Adjuster", "text", 40),
        FieldSpec("adjuster_phone", "Adjuster phone", "digits", 10, validate=_phone),
    ]


class NewClaimDialog(FormDialog["dc.Claim | None"]):
    """A new claim: the incident, the party (or claimant) and their insurer."""

    HELP = ("A new damage claim. The incident date (MM/DD/YYYY), where it happened, what was damaged (space cycles, "
            "the first letter selects), the responsible party (a member's claim: the member), their address and phone, "
            "their insurer, the insurer's claim number and the adjuster's name and phone; a member's claim also "
            "the member's account number (if the claim is about one) and the amount claimed. Enter on the last field "
            "opens the claim. {entry_form.clear_record} leaves.")
    FIELD_OF = {"incident_on": "incident_on", "place": "place", "damaged": "damaged", "party_name": "party_name",
                "party_address": "party_address", "party_phone": "party_phone", "insurer": "insurer",
                "insurer_claim_no": "insurer_claim_no", "adjuster_name": "adjuster_name",
                "adjuster_phone": "adjuster_phone", "description": "description", "claimed_cents": "claimed",
                "account_number": "account"}

    def __init__(self, direction: str = "against") -> None:
        super().__init__()
        self.direction = direction

    def title_text(self) -> str:
        return "New claim against a third party" if self.direction == "against" else "New member's claim"

    def make_form(self) -> StepForm:
        member = self.direction == "member"
        fields = [
            FieldSpec("incident_on", "Incident date", "date", 10, mandatory_entry=True, validate=self._date),
            FieldSpec("place", "Place", "text", 48, mandatory_entry=True),
            FieldSpec("damaged", "Damaged", "choice", 11, choices=dc.MEMBER_DAMAGED if member else dc.DAMAGED),
            *party_fields(member),
        ]
        if member:
            fields.append(FieldSpec("account", "Account no. (if any)", "digits", 10))
            fields.append(FieldSpec("claimed", "Amount claimed", "money", 10, mandatory_entry=True,
                                    validate=_amount))
        fields = [replace(f, dup=False) for f in fields]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self._open, id="form")

    @staticmethod
    def _date(value: str, record: Record) -> str | None:
        try:
            day = parse_date(value)
        except ValueError:
            return "Incident date: MM/DD/YYYY"
        return "The incident date is in the future" if day > dt.date.today() else None

    def _open(self, record: Record) -> SubmitResult | None:
        try:
            claim = dc.open_claim(
                self.app.operator, direction=self.direction, incident_on=parse_date(record["incident_on"]),
                place=record["place"], damaged=record["damaged"], description=record["description"],
                party_name=record["party_name"], party_address=record["party_address"],
                party_phone=record["party_phone"], insurer=record["insurer"],
                insurer_claim_no=record["insurer_claim_no"], adjuster_name=record["adjuster_name"],
                adjuster_phone=record["adjuster_phone"],
                account_number=int(record["account"]) if record.get("account") else None,
                claimed_cents=money.parse(record["claimed"]) if self.direction == "member" else 0)
        except Exception as e:  # noqa: BLE001 - a refusal or a database that does not answer: a message
            return SubmitResult(self.FIELD_OF.get(getattr(e, "field", None) or ""), _failed(e))
        self.dismiss(claim)
        return None


class ClaimScreen(Screen):
    """One claim: the incident, the party and insurer, the cost lines and totals, what was paid."""

    HELP = ("One damage claim. Above: the incident, the party and their insurer and adjuster, the status and the "
            "days since the invoice. The cost lines (labor hours x rate, materials, equipment hours x rate), the "
            "direct cost, the overhead percentage and the total; then what was paid, reduced, written off and the "
            "balance; below, the payments, settlements and letters. {claim.line} adds a cost line (before the "
            "invoice); {claim.invoice} writes the invoice (a PDF: its path is shown) and the claim starts aging; "
            "{claim.payment} records a payment (a partial one is fine, never more than the balance); "
            "{claim.settle} settles the claim for an amount in all, or decides a member's claim (a supervisor "
            "signs in); {claim.reduce} takes an amount off (a supervisor signs in); {claim.write_off} writes off "
            "the balance (a supervisor signs in); {claim.letter} sends a letter from a template (a reminder, the "
            "decision); {claim.remove_line} removes the highlighted cost line (before the invoice; Y confirms); "
            "{claim.negotiate} marks an invoiced claim negotiating (what is disputed); {claim.party} changes the "
            "party's or insurer's details (a new address, the insurer's claim number, another adjuster); the print key "
            "prints the invoice. "
            "{claim.back} goes back.")
    BINDINGS = [
        bind("claim.back", "back", "Back"),
        bind("claim.line", "line", "Cost line"),
        bind("claim.invoice", "invoice", "Invoice"),
        bind("claim.payment", "money('payment')", "Payment"),
        bind("claim.settle", "money('settle')", "Settle/decide"),
        bind("claim.reduce", "money('reduce')", "Reduce"),
        bind("claim.write_off", "money('write_off')", "Write off"),
        bind("claim.letter", "letter", "Letter"),
        bind("claim.negotiate", "negotiate", "Negotiating"),
        bind("claim.remove_line", "remove_line", "Remove line"),
        bind("claim.party", "party", "Party/insurer"),
    ]
    DEFAULT_CSS = """
    ClaimScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    ClaimScreen #about { height: auto; padding: 0 1; }
    ClaimScreen #lines { height: auto; max-height: 8; }
    ClaimScreen #totals { height: auto; padding: 0 1; }
    ClaimScreen #message { height: auto; padding: 0 1; }
    ClaimScreen #history { height: 1fr; }
    """

    def __init__(self, claim_id: int, today: dt.date | None = None) -> None:
        super().__init__()
        self.claim_id = claim_id
        self.today = today or dt.date.today()
        self.claim = dc.get(claim_id)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="about")
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="totals")
        yield Static("", id="message")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        lines = self.query_one("#lines", DataTable)
        for label, width in (("Kind", 9), ("Quantity", 8), ("Rate", 10), ("Amount", 10), ("Description", 30)):
            lines.add_column(label, width=width, key=label.lower())
        hist = self.query_one("#history", DataTable)
        for label, width in (("Date", 10), ("What", 10), ("Amount", 10), ("By", 10), ("Note", 30)):
            hist.add_column(label, width=width, key=label.lower())
        self.query_one("#message").display = False
        self.load()
        lines.focus()

    def load(self) -> None:
        c = self.claim = dc.get(self.claim_id)
        age = c.age_days(self.today)
        self.query_one("#title", Static).update(Text(
            f"Claim {c.claim_no}  {'against ' + c.party_name if c.direction == 'against' else 'by ' + c.party_name}"
            f"  [{dc.STATUS_LABELS[c.status]}]" + (f"  {age} days since the invoice" if age is not None else "")))
        insurer = " ".join(x for x in (c.insurer, c.insurer_claim_no and f"claim {c.insurer_claim_no}",
                                       c.adjuster_name and f"adjuster {c.adjuster_name}",
                                       c.adjuster_phone and f"{c.adjuster_phone[:3]}-{c.adjuster_phone[3:6]}-"
                                                            f"{c.adjuster_phone[6:]}") if x)
        self.query_one("#about", Static).update(Text(
            f"{c.incident_on:%m/%d/%Y} {c.damaged} at {c.place}" + (f": {c.description}" if c.description else "")
            + f"\nInsurer: {insurer or 'none'}"))
        lines = self.query_one("#lines", DataTable)
        lines.clear()
        for ln in c.lines:
            lines.add_row(ln.kind, Text(f"{ln.quantity}", justify="right"), Text(money.fmt(ln.rate_cents),
                                                                                  justify="right"),
                          Text(money.fmt(ln.amount_cents), justify="right"), ln.description)
        if c.direction == "against":
            figures = (f"Direct {money.fmt_dollars(c.direct_cents)}  overhead {c.overhead_percent.normalize():f}% "
                       f"{money.fmt_dollars(c.overhead_cents)}  total {money.fmt_dollars(c.total_cents)}")
        else:
            figures = (f"Claimed {money.fmt_dollars(c.claimed_cents)}  approved "
                       f"{money.fmt_dollars(c.approved_cents)}")
        self.query_one("#totals", Static).update(Text(
            f"{figures}\nPaid {money.fmt_dollars(c.paid_cents)}  reduced {money.fmt_dollars(c.reduced_cents)}  "
            f"written off {money.fmt_dollars(c.written_off_cents)}  balance {money.fmt_dollars(c.balance_cents)}",
            style="bold"))
        hist = self.query_one("#history", DataTable)
        hist.clear()
        for t in c.transactions:
            hist.add_row(f"{t.on:%m/%d/%Y}", t.kind.replace("_", " "), Text(money.fmt(t.amount_cents),
                                                                             justify="right"),
                         t.approver or t.operator, " ".join(x for x in (t.reference, t.note) if x))
        for ln in c.letters:
            hist.add_row(f"{ln.created_at:%m/%d/%Y}", "letter", "", "", ln.title)
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        fill_width(self.query_one("#lines", DataTable), "description", self.size.width, minimum=10)
        fill_width(self.query_one("#history", DataTable), "note", self.size.width, minimum=10)

    def say(self, text: str, error: bool = False) -> None:
        box = self.query_one("#message", Static)
        box.update(Text(text, style="bold red" if error else "bold green"))
        box.display = True

    def _after(self, what: str):
        def done(result) -> None:
            if result is not None:
                self.load()
                self.say(what if isinstance(what, str) else what(result))
        return done

    def action_line(self) -> None:
        if self.claim.direction != "against" or self.claim.status != "open":
            self.say("Cost lines are added to a claim against a third party before its invoice", error=True)
            return
        self.app.open("damage_claim_line", self.claim_id, callback=self._after("Cost line added"))

    def action_invoice(self) -> None:
        try:
            c = dc.invoice(self.app.operator, self.claim_id, directory=claims_dir(self.app))
        except ServiceError as e:
            self.say(e.message, error=True)
            return
        self.load()
        self.say(f"Invoiced {money.fmt_dollars(c.total_cents)}: {c.invoice_path}")

    def action_money(self, kind: str) -> None:
        if kind == "settle" and self.claim.direction == "member":
            kind = "decide"
        self.app.open("damage_claim_money", self.claim_id, kind,
                      callback=self._after(lambda c: f"{ClaimMoneyDialog.TITLES[kind]}: balance "
                                                     f"{money.fmt_dollars(c.balance_cents)} "
                                                     f"[{dc.STATUS_LABELS[c.status]}]"))

    def action_remove_line(self) -> None:
        from kec_tui.widgets.dialogs import AskScreen

        table = self.query_one("#lines", DataTable)
        c = self.claim
        if not c.lines or c.status != "open" or not 0 <= table.cursor_row < len(c.lines):
            self.say("Only a cost line of a claim not yet invoiced is removed", error=True)
            return
        line = c.lines[table.cursor_row]

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                dc.remove_line(self.app.operator, self.claim_id, line.id)
            except ServiceError as e:
                self.say(e.message, error=True)
                return
            self.load()
            self.say(f"Cost line removed: {line.description}")
        self.app.push_screen(AskScreen(f"Remove the cost line {line.description}?",
                                       f"{line.kind} {line.quantity} x {money.fmt(line.rate_cents)} = "
                                       f"{money.fmt(line.amount_cents)}"), done)

    def pdf_to_print(self):
        """The print key (app.print): the claim's invoice PDF, as written."""
        if not self.claim.invoice_path:
            raise ServiceError(f"Claim {self.claim.claim_no} has no invoice yet: {keys_text('claim.invoice')} "
                               "writes it")
        return Path(self.claim.invoice_path)

    def action_negotiate(self) -> None:
        from kec_tui.widgets.prompt import reason_prompt

        if self.claim.status != "invoiced":
            self.say(f"Claim {self.claim.claim_no} is {dc.STATUS_LABELS[self.claim.status]}: only an invoiced claim "
                     "goes to negotiating", error=True)
            return

        def done(note: str | None) -> None:
            if note is None:
                return
            try:
                dc.negotiate(self.app.operator, self.claim_id, note)
            except ServiceError as e:
                self.say(e.message, error=True)
                return
            self.load()
            self.say(f"Claim {self.claim.claim_no} is negotiating")
        self.app.push_screen(reason_prompt("Negotiating", "What does the insurer or party dispute?"), done)

    def action_party(self) -> None:
        self.app.open("damage_claim_party", self.claim_id,
                      callback=self._after("The party and insurer saved"))

    def action_letter(self) -> None:
        self.app.open("damage_claim_letter", self.claim_id,
                      callback=self._after(lambda row: f"Letter sent: {row.pdf_path}"))

    def action_back(self) -> None:
        self.dismiss(None)


class PartyDialog(FormDialog["dc.Claim | None"]):
    """The party and insurer of a claim as they are, to change what changed."""

    HELP = ("The party and insurer of the claim as recorded: what happened, the party (a member's claim: the "
            "member), their address and phone, the insurer, the insurer's claim number, the adjuster and their "
            "phone. Change what changed (a new address, the insurer's claim number, another adjuster); Enter moves "
            "on, Enter on the last field saves the changes (each audited, before and after). "
            "{entry_form.clear_record} leaves without saving.")

    def __init__(self, claim_id: int) -> None:
        super().__init__()
        self.claim = dc.get(claim_id)

    def title_text(self) -> str:
        return f"Claim {self.claim.claim_no}: the party and insurer"

    def make_form(self) -> StepForm:
        fields = [replace(f, dup=False) for f in party_fields(self.claim.direction == "member")]
        return StepForm(fields, steps=dict.fromkeys(PARTY, ""), on_submit=self._save, id="form")

    def on_mount(self) -> None:
        for name in PARTY:
            self.form.set_value(name, getattr(self.claim, name))
        super().on_mount()

    def _save(self, record: Record) -> SubmitResult | None:
        changes = {k: record[k] for k in PARTY if record[k] != getattr(self.claim, k)}
        if not changes:
            self.app.notify("Nothing changed")
            self.dismiss(None)
            return None
        try:
            claim = dc.update_party(self.app.operator, self.claim.id, **changes)
        except Exception as e:  # noqa: BLE001 - a refusal or a database that does not answer: a message
            field = getattr(e, "field", None)
            return SubmitResult(field if field in PARTY else None, _failed(e))
        self.dismiss(claim)
        return None


class CostLineDialog(FormDialog["dc.Claim | None"]):
    """A cost line: labor (hours x rate), material (quantity x unit cost), equipment (hours x rate)."""

    HELP = ("A cost line from operations' work order. Kind (space cycles, first letter selects: labor, material, "
            "equipment), what it is (the crew, the part, the truck), the quantity (hours for labor and equipment, "
            "units for material; two decimals) and the rate (per hour or per unit). Enter on the last field adds "
            "it: amount = quantity x rate. {entry_form.clear_record} leaves.")

    def __init__(self, claim_id: int) -> None:
        super().__init__()
        self.claim_id = claim_id

    def title_text(self) -> str:
        return "Add a cost line"

    def make_form(self) -> StepForm:
        fields = [FieldSpec("kind", "Kind", "choice", 9, choices=dc.KINDS, dup=False),
                  FieldSpec("description", "Description", "text", 48, mandatory_entry=True, dup=False),
                  FieldSpec("quantity", "Hours / quantity", "text", 9, mandatory_entry=True, validate=self._qty,
                            dup=False),
                  FieldSpec("rate", "Rate", "money", 10, mandatory_entry=True, validate=_amount, dup=False)]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self._add, id="form")

    @staticmethod
    def _qty(value: str, record: Record) -> str | None:
        try:
            q = Decimal(value.strip())
        except InvalidOperation:
            return "Quantity: a number (6.5)"
        return None if q > 0 else "Quantity: more than zero"

    def _add(self, record: Record) -> SubmitResult | None:
        try:
            c = dc.add_line(self.app.operator, self.claim_id, record["kind"], record["description"],
                            Decimal(record["quantity"].strip()), money.parse(record["rate"]))
        except Exception as e:  # noqa: BLE001
            field = {"description": "description", "quantity": "quantity", "rate_cents": "rate"}.get(
                getattr(e, "field", None) or "", "kind")
            return SubmitResult(field, _failed(e))
        self.dismiss(c)
        return None


class ClaimMoneyDialog(FormDialog["dc.Claim | None"]):
    """Money on a claim: a payment; a settlement, reduction, write-off or a member's claim decided, each
    with a supervisor signing in."""

    TITLES = {"payment": "Payment", "settle": "Settlement", "reduce": "Reduction", "write_off": "Write-off",
              "decide": "Decision"}
    HELP = ("Payment: the amount (never more than the balance; a partial payment is fine), the check or reference "
            "and a note. Settlement: the amount the claim is settled for in all (what was paid counts toward it). "
            "Reduction: the amount taken off and why. Write-off: why the balance will not be paid. Decision (a "
            "member's claim): the amount the co-op pays, 0 to deny, and why. Settlements, reductions, write-offs "
            "and decisions need a supervisor's name and password. Enter on the last field records it, once. "
            "{entry_form.clear_record} leaves without recording.")
    DEFAULT_CSS = "ClaimMoneyDialog #about { padding: 0 1; height: auto; }"

    def __init__(self, claim_id: int, kind: str) -> None:
        super().__init__()
        self.claim_id, self.kind = claim_id, kind
        self.claim = dc.get(claim_id)
        self.sign_in = SupervisorSignIn(
            dc.APPROVE, lambda who: f"Only a supervisor approves a {kind.replace('_', '-')}; {who.username} "
                                    f"({who.role}) may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return f"{self.TITLES[self.kind]} on claim {self.claim.claim_no}"

    def compose_about(self) -> ComposeResult:
        c = self.claim
        yield Static(Text(f"{c.party_name}: total {money.fmt_dollars(c.total_cents)}, paid "
                          f"{money.fmt_dollars(c.paid_cents)}, balance {money.fmt_dollars(c.balance_cents)}"
                          + (f", claimed {money.fmt_dollars(c.claimed_cents)}" if c.direction == "member" else ""),
                          style="bold"), id="about")

    def make_form(self) -> StepForm:
        fields = []
        if self.kind == "payment":
            fields.append(FieldSpec("amount", "Amount", "money", 10, mandatory_entry=True, validate=self._payment))
            fields.append(FieldSpec("reference", "Check / reference", "text", 20))
        elif self.kind in ("settle", "reduce", "decide"):
            label = {"settle": "Settled for (in all)", "reduce": "Amount off", "decide": "Amount approved"}[self.kind]
            fields.append(FieldSpec("amount", label, "money", 10, mandatory_entry=True, validate=self._other))
        fields.append(FieldSpec("note", "Note" if self.kind == "payment" else "Why", "text", 48,
                                mandatory_entry=self.kind != "payment"))
        secret: tuple[str, ...] = ()
        if self.kind != "payment":
            fields += self.sign_in.fields()
            secret = (SupervisorSignIn.PASSWORD,)
        fields = [replace(f, dup=False) for f in fields]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), secret=secret,
                        on_submit=self._post, id="form")

    def _payment(self, value: str, record: Record) -> str | None:
        bad = _amount(value, record)
        if bad:
            return bad
        cents = money.parse(value)
        if cents > self.claim.balance_cents:
            return (f"Payment {money.fmt_dollars(cents)} is more than the balance, "
                    f"{money.fmt_dollars(self.claim.balance_cents)}")
        return None

    def _other(self, value: str, record: Record) -> str | None:
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return str(e)
        if cents < 0 or (cents == 0 and self.kind == "reduce"):
            return "Amount: more than zero"
        return None

    def _post(self, record: Record) -> SubmitResult | None:
        op, cid = self.app.operator, self.claim_id
        approver = self.sign_in.who
        try:
            if self.kind == "payment":
                c = dc.pay(op, cid, money.parse(record["amount"]), reference=record["reference"],
                           note=record["note"])
            elif approver is None:
                return SubmitResult(SupervisorSignIn.USER, "A supervisor must sign in to approve it")
            elif self.kind == "settle":
                c = dc.settle(op, approver, cid, money.parse(record["amount"]), record["note"])
            elif self.kind == "reduce":
                c = dc.reduce(op, approver, cid, money.parse(record["amount"]), record["note"])
            elif self.kind == "decide":
                c = dc.decide(op, approver, cid, money.parse(record["amount"]), record["note"])
            else:
                c = dc.write_off(op, approver, cid, record["note"])
        except Exception as e:  # noqa: BLE001
            field = getattr(e, "field", None)
            return SubmitResult(field if field in record else "note" if "note" in record else None, _failed(e))
        self.dismiss(c)
        return None


class ClaimLetterDialog(FormDialog["dc.LetterRow | None"]):
    """A letter on the claim from a template."""

    HELP = ("A letter on the claim from the co-op's template (space cycles, the first letter selects): "
            "claim_reminder (what is still due), claim_decision (a member's claim: what the co-op pays or that "
            "it is denied), claim_invoice (the invoice again). Enter writes the PDF and logs it on the claim. "
            "{entry_form.clear_record} leaves.")

    def __init__(self, claim_id: int) -> None:
        super().__init__()
        self.claim_id = claim_id
        self.direction = dc.get(claim_id).direction

    def title_text(self) -> str:
        return "Send a letter"

    def make_form(self) -> StepForm:
        order = ("claim_decision",) if self.direction == "member" else ("claim_reminder", "claim_invoice")
        fields = [FieldSpec("template", "Template", "choice", 14, choices=order, dup=False)]
        return StepForm(fields, steps={"template": ""}, on_submit=self._send, id="form")

    def _send(self, record: Record) -> SubmitResult | None:
        try:
            row = dc.send_letter(self.app.operator, self.claim_id, record["template"],
                                 directory=claims_dir(self.app))
        except Exception as e:  # noqa: BLE001
            return SubmitResult("template", _failed(e))
        self.dismiss(row)
        return None
