"""Damage claims, both ways.

"against": a third party damaged the co-op's property (a car took out a pole, an excavator cut a line).
The claim records the incident (date, place, what was damaged), the responsible party and their insurer
(claim number, adjuster), the cost lines from operations (labor hours x rate, materials, equipment hours
x rate) and the overhead percentage (setting damage_claim_overhead_percent, kept on the claim when it
is opened), then the invoice (a PDF), payments and partial payments (never more than the balance),
reductions and settlements a supervisor approves, and the write-off of what will not be paid.

"member": a member claims the co-op damaged their property (a surge burned out a furnace board). The
claim records what is claimed; a supervisor decides the amount the co-op pays (0: denied) and the
payments to the member are recorded the same way.

Totals, in integer cents: direct = sum of the lines (each line quantity x rate, rounded half up to the
cent); overhead = direct x percent / 100 rounded half up; total = direct + overhead. The balance is
what is owed (the invoice, or the approved amount) less payments, reductions, the settlement's
reduction and a write-off. Statuses: open -> invoiced -> negotiating -> settled / written_off -> closed
(a paid-up balance closes the claim). Aging: days since the invoice, in buckets. Every change audited;
every free-text field refuses a card number. Correspondence comes from the letter templates
(letters.py: the co-op's own in its letters directory first, else the shipped claim_*.txt.j2; Jinja2,
strict), written as a PDF and logged on the claim.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

DIRECTIONS = ("against", "member")
DAMAGED = ("pole", "transformer", "line", "meter", "other")
MEMBER_DAMAGED = ("appliance", "electronics", "wiring", "food", "other")
KINDS = ("labor", "material", "equipment")
STATUSES = ("open", "invoiced", "negotiating", "settled", "written_off", "closed")
STATUS_LABELS = {"open": "open", "invoiced": "invoiced", "negotiating": "negotiating", "settled": "settled",
                 "written_off": "written off", "closed": "closed"}
AGING_BUCKETS = ("0-30", "31-60", "61-90", "Over 90")
HANDLE, APPROVE = "claims.handle", "claims.approve"
TEMPLATES = ("claim_invoice", "claim_reminder", "claim_decision")
FIRST_CLAIM_NO = 26001


@dataclass(frozen=True)
class Rules:
    overhead_percent: Decimal = Decimal("15")


_rules = Rules()


def rules_from(s: config.Settings) -> Rules:
    return Rules(Decimal(str(s.damage_claim_overhead_percent)))


def configure(s: config.Settings) -> Rules:
    global _rules
    _rules = rules_from(s)
    return _rules


def rules() -> Rules:
    return _rules


# ---- figures ---------------------------------------------------------------------------------------------

def line_amount(quantity: Decimal, rate_cents: int) -> int:
    """quantity x rate, half up to the cent."""
    return int((Decimal(quantity) * rate_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def overhead(direct_cents: int, percent: Decimal) -> int:
    return int((Decimal(direct_cents) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Line:
    id: int
    kind: str
    description: str
    quantity: Decimal
    rate_cents: int
    amount_cents: int


@dataclass(frozen=True)
class Txn:
    id: int
    kind: str
    amount_cents: int
    on: dt.date
    reference: str
    note: str
    approver: str
    operator: str


@dataclass(frozen=True)
class LetterRow:
    id: int
    template: str
    title: str
    pdf_path: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Claim:
    id: int
    claim_no: int
    direction: str
    incident_on: dt.date
    place: str
    damaged: str
    description: str
    party_name: str
    party_address: str
    party_phone: str
    insurer: str
    insurer_claim_no: str
    adjuster_name: str
    adjuster_phone: str
    account_id: int | None
    overhead_percent: Decimal
    claimed_cents: int
    approved_cents: int
    status: str
    invoiced_on: dt.date | None
    invoice_path: str
    lines: tuple[Line, ...]
    transactions: tuple[Txn, ...]
    letters: tuple[LetterRow, ...]

    @property
    def direct_cents(self) -> int:
        return sum(ln.amount_cents for ln in self.lines)

    @property
    def overhead_cents(self) -> int:
        return overhead(self.direct_cents, self.overhead_percent)

    @property
    def total_cents(self) -> int:
        """What the claim is for: the lines and overhead (against), the approved amount (member)."""
        return self.direct_cents + self.overhead_cents if self.direction == "against" else self.approved_cents

    def _sum(self, *kinds: str) -> int:
        return sum(t.amount_cents for t in self.transactions if t.kind in kinds)

    @property
    def paid_cents(self) -> int:
        return self._sum("payment")

    @property
    def reduced_cents(self) -> int:
        return self._sum("reduction", "settlement")

    @property
    def written_off_cents(self) -> int:
        return self._sum("write_off")

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents - self.reduced_cents - self.written_off_cents

    def age_days(self, as_of: dt.date) -> int | None:
        return (as_of - self.invoiced_on).days if self.invoiced_on else None


def _claims(rows: list[db.DamageClaim]) -> list[Claim]:
    """The claims of these rows with their lines, money and letters: four queries for any number of claims
    (in chunks of 900 ids, under SQLite's limit of bound parameters)."""
    ids = [r.id for r in rows]
    lines: dict[int, list[Line]] = {i: [] for i in ids}
    txns: dict[int, list[Txn]] = {i: [] for i in ids}
    letters: dict[int, list[LetterRow]] = {i: [] for i in ids}
    names = {i: u for i, u in db.Operator.select(db.Operator.id, db.Operator.username).tuples()}
    L, T, W = db.ClaimCostLine, db.ClaimTransaction, db.ClaimLetter
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        for r in L.select().where(L.claim.in_(part)).order_by(L.id):
            lines[r.claim_id].append(Line(r.id, r.kind, r.description, Decimal(r.quantity), r.rate_cents,
                                          r.amount_cents))
        for r in T.select().where(T.claim.in_(part)).order_by(T.id):
            txns[r.claim_id].append(Txn(r.id, r.kind, r.amount_cents, r.on, r.reference, r.note,
                                        names.get(r.approver_id, ""), names.get(r.operator_id, "")))
        for r in W.select(W.id, W.claim, W.template, W.title, W.pdf_path, W.created_at).where(
                W.claim.in_(part)).order_by(W.id):
            letters[r.claim_id].append(LetterRow(r.id, r.template, r.title, r.pdf_path, r.created_at))
    return [Claim(row.id, row.claim_no, row.direction, row.incident_on, row.place, row.damaged, row.description,
                  row.party_name, row.party_address, row.party_phone, row.insurer, row.insurer_claim_no,
                  row.adjuster_name, row.adjuster_phone, row.account_id, Decimal(row.overhead_percent),
                  row.claimed_cents, row.approved_cents, row.status, row.invoiced_on, row.invoice_path,
                  tuple(lines[row.id]), tuple(txns[row.id]), tuple(letters[row.id])) for row in rows]


def _claim(row: db.DamageClaim) -> Claim:
    return _claims([row])[0]


@db.connected
def get(claim_id: int) -> Claim:
    row = db.DamageClaim.get_or_none(db.DamageClaim.id == claim_id)
    if row is None:
        raise NotFound(f"No damage claim {claim_id}")
    return _claim(row)


@db.connected
def by_number(claim_no: int) -> Claim:
    row = db.DamageClaim.get_or_none(db.DamageClaim.claim_no == claim_no)
    if row is None:
        raise NotFound(f"No damage claim number {claim_no}")
    return _claim(row)


@db.connected
def claims(status: str | None = None, *, include_closed: bool = False) -> list[Claim]:
    """The claims, newest first (closed ones only when asked)."""
    C = db.DamageClaim
    q = C.select()
    if status:
        q = q.where(C.status == status)
    elif not include_closed:
        q = q.where(C.status.not_in(("closed", "written_off")))
    return _claims(list(q.order_by(C.id.desc())))


# ---- opening a claim ---------------------------------------------------------------------------------------

def _phone(value: str, field: str, label: str) -> str:
    digits = "".join(ch for ch in (value or "") if ch.isdigit())
    if digits and len(digits) != 10:
        raise ValidationError(f"{label}: 10 digits (area code first)", field)
    return digits


def _text(fields: dict[str, str], limits: dict[str, int]) -> dict[str, str]:
    out = {k: (v or "").strip() for k, v in fields.items()}
    card_numbers.refuse_all(out)
    for k, v in out.items():
        if len(v) > limits[k]:
            raise ValidationError(f"{k.replace('_', ' ').capitalize()}: at most {limits[k]} characters", k)
    return out


TEXT_LIMITS = {"place": 120, "description": 200, "party_name": 80, "party_address": 120, "insurer": 80,
               "insurer_claim_no": 40, "adjuster_name": 80}


@db.connected
def open_claim(op: OperatorInfo, *, incident_on: dt.date, place: str, damaged: str, party_name: str,
               direction: str = "against", description: str = "", party_address: str = "", party_phone: str = "",
               insurer: str = "", insurer_claim_no: str = "", adjuster_name: str = "", adjuster_phone: str = "",
               account_id: int | None = None, account_number: int | None = None, claimed_cents: int = 0,
               today: dt.date | None = None) -> Claim:
    """A new claim (status open) with the overhead percentage of the settings; a member's claim may name
    the member's account (by id, or by its number as keyed)."""
    require(op, HANDLE)
    if account_number is not None:
        acct = db.Account.get_or_none(db.Account.number == account_number)
        if acct is None:
            raise ValidationError(f"No account {account_number}", "account_number")
        account_id = acct.id
    today = today or dt.date.today()
    if direction not in DIRECTIONS:
        raise ValidationError(f"Direction: {' or '.join(DIRECTIONS)}", "direction")
    allowed = DAMAGED if direction == "against" else MEMBER_DAMAGED
    if damaged not in allowed:
        raise ValidationError(f"What was damaged: one of {', '.join(allowed)}", "damaged")
    text = _text({"place": place, "description": description, "party_name": party_name,
                  "party_address": party_address, "insurer": insurer, "insurer_claim_no": insurer_claim_no,
                  "adjuster_name": adjuster_name}, TEXT_LIMITS)
    if not text["place"]:
        raise ValidationError("Where did it happen? Key the place", "place")
    if not text["party_name"]:
        raise ValidationError("Key the responsible party" if direction == "against" else "Key the claimant",
                              "party_name")
    if incident_on > today:
        raise ValidationError("The incident date is in the future", "incident_on")
    phone = _phone(party_phone, "party_phone", "Phone")
    adj_phone = _phone(adjuster_phone, "adjuster_phone", "Adjuster phone")
    if direction == "member":
        if claimed_cents <= 0:
            raise ValidationError("Amount claimed: more than zero", "claimed_cents")
        if account_id is not None and db.Account.get_or_none(db.Account.id == account_id) is None:
            raise NotFound("That account no longer exists")
    elif claimed_cents:
        raise ValidationError("A claim against a third party is billed from its cost lines", "claimed_cents")
    with db.write_txn():
        row = db.DamageClaim.create(claim_no=db.next_number(db.DamageClaim.claim_no), direction=direction,
                                    incident_on=incident_on, damaged=damaged, party_phone=phone,
                                    adjuster_phone=adj_phone, account=account_id,
                                    overhead_percent=_rules.overhead_percent if direction == "against" else 0,
                                    claimed_cents=claimed_cents, operator=op.id, **text)
        audit.record(op, "claim.open", "damage_claim", row.id, account_id=account_id, field=direction,
                     after=f"claim {row.claim_no} {damaged} {incident_on:%m/%d/%Y} {text['party_name']}"[:200])
    return get(row.id)


@db.connected
def update_party(op: OperatorInfo, claim_id: int, **changes: str) -> Claim:
    """Change the party's or insurer's details (address, phone, insurer, claim number, adjuster)."""
    require(op, HANDLE)
    allowed = {"party_name", "party_address", "party_phone", "insurer", "insurer_claim_no", "adjuster_name",
               "adjuster_phone", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}", sorted(unknown)[0])
    text = _text({k: v for k, v in changes.items() if not k.endswith("phone")},
                 {k: TEXT_LIMITS[k] for k in changes if not k.endswith("phone")})
    if "party_name" in text and not text["party_name"]:
        raise ValidationError("The party's name (a member's claim: the member's) is required", "party_name")
    for k in ("party_phone", "adjuster_phone"):
        if k in changes:
            text[k] = _phone(changes[k], k, "Phone" if k == "party_phone" else "Adjuster phone")
    with db.write_txn():
        row = db.locked(db.DamageClaim, claim_id)
        if row is None:
            raise NotFound(f"No damage claim {claim_id}")
        for k, v in text.items():
            before = getattr(row, k)
            if before != v:
                audit.record(op, "claim.update", "damage_claim", claim_id, account_id=row.account_id, field=k,
                             before=str(before)[:200], after=v[:200])
        if text:
            db.DamageClaim.update(**text).where(db.DamageClaim.id == claim_id).execute()
    return get(claim_id)


# ---- cost lines ---------------------------------------------------------------------------------------------

def _open_row(claim_id: int) -> db.DamageClaim:
    row = db.locked(db.DamageClaim, claim_id)
    if row is None:
        raise NotFound(f"No damage claim {claim_id}")
    return row


@db.connected
def add_line(op: OperatorInfo, claim_id: int, kind: str, description: str, quantity, rate_cents: int) -> Claim:
    """A cost line (labor: hours x hourly rate; material: quantity x unit cost; equipment: hours x rate),
    only while the claim is open (not yet invoiced)."""
    require(op, HANDLE)
    if kind not in KINDS:
        raise ValidationError(f"Cost line: one of {', '.join(KINDS)}", "kind")
    description = (description or "").strip()
    card_numbers.refuse(description, "description", "Cost line description")
    if not description:
        raise ValidationError("Describe the cost line", "description")
    if len(description) > 80:
        raise ValidationError("Cost line description: at most 80 characters", "description")
    try:
        qty = Decimal(str(quantity)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValidationError(f"Quantity: a number, not {quantity!r}", "quantity") from None
    if qty <= 0 or qty >= Decimal("100000000"):
        raise ValidationError("Quantity: more than zero", "quantity")
    if rate_cents <= 0:
        raise ValidationError("Rate: more than zero", "rate_cents")
    amount = line_amount(qty, rate_cents)
    with db.write_txn():
        row = _open_row(claim_id)
        if row.direction != "against":
            raise ValidationError("A member's claim has no cost lines: the co-op decides an amount", "kind")
        if row.status != "open":
            raise ValidationError(f"Claim {row.claim_no} is {STATUS_LABELS[row.status]}: cost lines are added "
                                  "before the invoice", "kind")
        line = db.ClaimCostLine.create(claim=claim_id, kind=kind, description=description, quantity=qty,
                                       rate_cents=rate_cents, amount_cents=amount, operator=op.id)
        audit.record(op, "claim.line", "damage_claim", claim_id, account_id=row.account_id, field=kind,
                     after=f"line {line.id} {description} {qty} x {money.fmt(rate_cents)} = {money.fmt(amount)}"[:200])
    return get(claim_id)


@db.connected
def remove_line(op: OperatorInfo, claim_id: int, line_id: int) -> Claim:
    require(op, HANDLE)
    with db.write_txn():
        row = _open_row(claim_id)
        if row.status != "open":
            raise ValidationError(f"Claim {row.claim_no} is invoiced: its lines stay as billed", "kind")
        line = db.ClaimCostLine.get_or_none(db.ClaimCostLine.id == line_id, db.ClaimCostLine.claim == claim_id)
        if line is None:
            raise NotFound(f"No cost line {line_id} on claim {row.claim_no}")
        line.delete_instance()
        audit.record(op, "claim.line_remove", "damage_claim", claim_id, account_id=row.account_id, field=line.kind,
                     before=f"{line.description} {money.fmt(line.amount_cents)}"[:200])
    return get(claim_id)


# ---- the invoice and letters --------------------------------------------------------------------------------

def fields(c: Claim, today: dt.date) -> dict:
    """What a claim's letter may name."""
    from kec_tui.services import letters

    return {"coop": letters.COOP_NAME, "coop_phone": letters.COOP_PHONE, "coop_address": letters.COOP_ADDRESS,
            "today": f"{today:%B} {today.day}, {today.year}", "claim_no": str(c.claim_no),
            "incident_on": f"{c.incident_on:%m/%d/%Y}", "place": c.place, "damaged": c.damaged,
            "description": c.description, "party_name": c.party_name, "party_address": c.party_address,
            "insurer": c.insurer, "insurer_claim_no": c.insurer_claim_no, "adjuster_name": c.adjuster_name,
            "lines": [{"kind": ln.kind, "description": ln.description, "quantity": f"{ln.quantity}",
                       "rate": money.fmt(ln.rate_cents), "amount": money.fmt(ln.amount_cents)} for ln in c.lines],
            "direct": money.fmt_dollars(c.direct_cents), "overhead_percent": f"{c.overhead_percent.normalize():f}",
            "overhead": money.fmt_dollars(c.overhead_cents), "total": money.fmt_dollars(c.total_cents),
            "paid": money.fmt_dollars(c.paid_cents), "balance": money.fmt_dollars(c.balance_cents),
            "claimed": money.fmt_dollars(c.claimed_cents), "approved": money.fmt_dollars(c.approved_cents),
            "invoiced_on": f"{c.invoiced_on:%m/%d/%Y}" if c.invoiced_on else ""}


def render(template: str, c: Claim, today: dt.date) -> tuple[str, str]:
    """(title, text) of the claim's letter; ValidationError for an unknown template or field."""
    from kec_tui.services import letters

    if template not in TEMPLATES:
        raise ValidationError(f"No claim letter {template!r} (one of {', '.join(TEMPLATES)})", "template")
    r = letters.render(template, fields(c, today))
    return r.title, r.text


def sample_fields() -> dict:
    """A claim's letter fields for a made-up claim: `kec-tui letters --check` renders the co-op's edits with them."""
    day = dt.date(2026, 1, 15)
    lines = (Line(0, "labor", "Lineman, 4 hours", Decimal("4"), 9_500, 38_000),
             Line(0, "material", "Pole, 40 ft class 3", Decimal("1"), 112_000, 112_000))
    c = Claim(id=0, claim_no=FIRST_CLAIM_NO, direction="against", incident_on=dt.date(2026, 1, 2),
              place="Pole 1147, Hwy 95 at Dakota Ave", damaged="Pole", description="A pickup struck the pole",
              party_name="Sam Driver", party_address="12 Elm St, Hayden, ID 83835", party_phone="",
              insurer="Northwest Mutual", insurer_claim_no="NM-55123", adjuster_name="Lee Adjuster",
              adjuster_phone="", account_id=None, overhead_percent=Decimal("15"), claimed_cents=0, approved_cents=0,
              status="invoiced", invoiced_on=day, invoice_path="", lines=lines, transactions=(), letters=())
    return fields(c, day)


def _write(path: Path, title: str, text: str) -> Path:
    """The letter as a PDF in Courier (reports.text_pdf), so the invoice's columns line up."""
    from kec_tui.services import reports

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(reports.text_pdf(text, font_size=10, lines_per_page=58))
    except OSError as exc:
        raise ServiceError(f"Cannot write to {path.parent}: {exc.strerror or exc}") from exc
    return path


def output_dir(directory: str | Path | None) -> Path:
    if directory:
        return Path(directory).expanduser()
    from kec_tui.services import letters

    return letters.places().output.parent / "claims"


@db.connected
def invoice(op: OperatorInfo, claim_id: int, *, today: dt.date | None = None,
            directory: str | Path | None = None) -> Claim:
    """Bill the responsible party: the invoice PDF (the lines, overhead and total) written and logged as
    the claim's first letter; the claim is invoiced and ages from today. A claim is invoiced once."""
    require(op, HANDLE)
    today = today or dt.date.today()
    with db.write_txn():
        row = _open_row(claim_id)
        if row.direction != "against":
            raise ValidationError("A member's claim is not invoiced: the co-op decides and pays", "claim")
        if row.status != "open":
            raise ValidationError(f"Claim {row.claim_no} is already {STATUS_LABELS[row.status]}", "claim")
        c = _claim(row)
        if not c.lines:
            raise ValidationError(f"Claim {row.claim_no} has no cost lines to bill", "claim")
        title, text = render("claim_invoice", c, today)
        path = _write(output_dir(directory) / f"claim-{row.claim_no}-invoice.pdf", title, text)
        db.DamageClaim.update(status="invoiced", invoiced_on=today, invoice_cents=c.total_cents,
                              invoice_path=str(path)).where(db.DamageClaim.id == claim_id).execute()
        db.ClaimLetter.create(claim=claim_id, template="claim_invoice", title=title, text=text, pdf_path=str(path),
                              operator=op.id)
        audit.record(op, "claim.invoice", "damage_claim", claim_id, account_id=row.account_id, field="status",
                     before="open", after=f"invoiced {money.fmt_dollars(c.total_cents)} {path.name}")
    return get(claim_id)


@db.connected
def send_letter(op: OperatorInfo, claim_id: int, template: str, *, today: dt.date | None = None,
                directory: str | Path | None = None) -> LetterRow:
    """A letter on the claim from a template (a reminder, the decision on a member's claim), logged."""
    require(op, HANDLE)
    today = today or dt.date.today()
    with db.write_txn():
        row = _open_row(claim_id)
        title, text = render(template, _claim(row), today)
        n = row.letters.count() + 1
        path = _write(output_dir(directory) / f"claim-{row.claim_no}-{n}-{template}.pdf", title, text)
        letter = db.ClaimLetter.create(claim=claim_id, template=template, title=title, text=text,
                                       pdf_path=str(path), operator=op.id)
        audit.record(op, "claim.letter", "damage_claim", claim_id, account_id=row.account_id, field=template,
                     after=f"{title} {path.name}"[:200])
    return LetterRow(letter.id, template, title, str(path), letter.created_at)


# ---- money ------------------------------------------------------------------------------------------------

def _supervisor(approver: OperatorInfo | None, what: str) -> None:
    if approver is None:
        raise PermissionDenied(f"A supervisor signs in to approve {what}")
    if not approver.can(APPROVE):
        raise PermissionDenied(f"Only a supervisor approves {what}; {approver.username} ({approver.role}) may not")


def _note(note: str, reference: str = "") -> tuple[str, str]:
    note, reference = (note or "").strip(), (reference or "").strip()
    card_numbers.refuse(note, "note", "Note")
    card_numbers.refuse(reference, "reference", "Reference")
    if len(note) > 200:
        raise ValidationError("Note: at most 200 characters", "note")
    if len(reference) > 40:
        raise ValidationError("Reference: at most 40 characters", "reference")
    return note, reference


def _amount(cents: int, label: str = "Amount") -> None:
    if not isinstance(cents, int) or isinstance(cents, bool) or cents <= 0:
        raise ValidationError(f"{label}: more than zero", "amount")


def _billable(row: db.DamageClaim) -> Claim:
    c = _claim(row)
    if row.direction == "against" and row.status == "open":
        raise ValidationError(f"Claim {row.claim_no} is not invoiced yet: invoice it first", "amount")
    if row.direction == "member" and row.status == "open":
        raise ValidationError(f"Claim {row.claim_no} is not decided yet: a supervisor decides it first", "amount")
    if row.status in ("written_off", "closed"):
        raise ValidationError(f"Claim {row.claim_no} is {STATUS_LABELS[row.status]}", "amount")
    return c


def _after(row: db.DamageClaim, c: Claim, moved: int, settled: bool = False) -> str:
    """The status once `moved` more cents came off the balance."""
    if c.balance_cents - moved == 0:
        return "closed"
    if settled:
        return "settled"
    return row.status


def _txn(op, row, kind, cents, on, reference="", note="", approver=None, status=None) -> None:
    db.ClaimTransaction.create(claim=row.id, kind=kind, amount_cents=cents, on=on, reference=reference, note=note,
                               approver=approver.id if approver else None, operator=op.id)
    if status and status != row.status:
        db.DamageClaim.update(status=status).where(db.DamageClaim.id == row.id).execute()
    audit.record(op, f"claim.{kind}", "damage_claim", row.id, account_id=row.account_id, field="status",
                 before=row.status, after=(f"{kind} {money.fmt_dollars(cents)}"
                                           + (f" approved by {approver.username}" if approver else "")
                                           + (f" {reference}" if reference else "") + f" -> {status or row.status}"
                                           )[:200])


@db.connected
def pay(op: OperatorInfo, claim_id: int, amount_cents: int, *, reference: str = "", note: str = "",
        on: dt.date | None = None) -> Claim:
    """A payment on the claim (from the party or their insurer; on a member's claim, the co-op's payment
    to the member). Partial payments are fine; more than the balance is refused and nothing is written.
    A balance paid to zero closes the claim."""
    require(op, HANDLE)
    _amount(amount_cents, "Payment")
    note, reference = _note(note, reference)
    on = on or dt.date.today()
    with db.write_txn():
        row = _open_row(claim_id)
        c = _billable(row)
        if amount_cents > c.balance_cents:
            raise ValidationError(f"Payment {money.fmt_dollars(amount_cents)} is more than the balance of claim "
                                  f"{row.claim_no}, {money.fmt_dollars(c.balance_cents)}: nothing was posted",
                                  "amount")
        _txn(op, row, "payment", amount_cents, on, reference, note, status=_after(row, c, amount_cents))
    return get(claim_id)


@db.connected
def reduce(op: OperatorInfo, approver: OperatorInfo | None, claim_id: int, amount_cents: int, note: str, *,
           on: dt.date | None = None) -> Claim:
    """Take an amount off what the party owes (a disputed line, a goodwill reduction): a supervisor
    approves; the claim is then negotiating."""
    require(op, HANDLE)
    _supervisor(approver, "a reduction")
    _amount(amount_cents, "Reduction")
    note, _ = _note(note)
    if not note:
        raise ValidationError("Why is the claim reduced? Key a note", "note")
    on = on or dt.date.today()
    with db.write_txn():
        row = _open_row(claim_id)
        if row.direction != "against":
            raise ValidationError("A member's claim is decided, not reduced", "amount")
        c = _billable(row)
        if amount_cents > c.balance_cents:
            raise ValidationError(f"Reduction {money.fmt_dollars(amount_cents)} is more than the balance, "
                                  f"{money.fmt_dollars(c.balance_cents)}", "amount")
        status = "closed" if amount_cents == c.balance_cents else "settled" if row.status == "settled" else \
            "negotiating"
        _txn(op, row, "reduction", amount_cents, on, note=note, approver=approver, status=status)
    return get(claim_id)


@db.connected
def negotiate(op: OperatorInfo, claim_id: int, note: str = "") -> Claim:
    """Mark an invoiced claim as negotiating (the insurer disputes it)."""
    require(op, HANDLE)
    note, _ = _note(note)
    with db.write_txn():
        row = _open_row(claim_id)
        if row.status != "invoiced":
            raise ValidationError(f"Claim {row.claim_no} is {STATUS_LABELS[row.status]}, not invoiced", "status")
        db.DamageClaim.update(status="negotiating").where(db.DamageClaim.id == claim_id).execute()
        audit.record(op, "claim.negotiate", "damage_claim", claim_id, account_id=row.account_id, field="status",
                     before=row.status, after=f"negotiating {note}".strip()[:200])
    return get(claim_id)


@db.connected
def settle(op: OperatorInfo, approver: OperatorInfo | None, claim_id: int, settled_cents: int, note: str = "", *,
           on: dt.date | None = None) -> Claim:
    """Settle the claim for `settled_cents` in all (what was paid counts toward it): the difference from
    the total comes off the balance; a supervisor approves (refused without one, nothing written)."""
    require(op, HANDLE)
    _supervisor(approver, "a settlement")
    note, _ = _note(note)
    on = on or dt.date.today()
    if not isinstance(settled_cents, int) or settled_cents < 0:
        raise ValidationError("Settlement: 0 or more", "amount")
    with db.write_txn():
        row = _open_row(claim_id)
        if row.direction != "against":
            raise ValidationError("A member's claim is decided, not settled", "amount")
        c = _billable(row)
        owed = c.total_cents - c.reduced_cents - c.written_off_cents
        if settled_cents < c.paid_cents:
            raise ValidationError(f"Settlement: at least what was paid, {money.fmt_dollars(c.paid_cents)}", "amount")
        if settled_cents > owed:
            raise ValidationError(f"Settlement: at most what is owed, {money.fmt_dollars(owed)}", "amount")
        cut = owed - settled_cents
        status = "closed" if c.balance_cents - cut == 0 else "settled"
        _txn(op, row, "settlement", cut, on, reference=money.fmt(settled_cents), note=note, approver=approver,
             status=status)
    return get(claim_id)


@db.connected
def write_off(op: OperatorInfo, approver: OperatorInfo | None, claim_id: int, note: str, *,
              on: dt.date | None = None) -> Claim:
    """Write off the balance that will not be paid (the party cannot be found, no insurance): a
    supervisor approves; the claim is written off."""
    require(op, HANDLE)
    _supervisor(approver, "a write-off")
    note, _ = _note(note)
    if not note:
        raise ValidationError("Why is the claim written off? Key a note", "note")
    on = on or dt.date.today()
    with db.write_txn():
        row = _open_row(claim_id)
        c = _billable(row)
        if c.balance_cents <= 0:
            raise ValidationError(f"Claim {row.claim_no} has no balance to write off", "amount")
        _txn(op, row, "write_off", c.balance_cents, on, note=note, approver=approver, status="written_off")
    return get(claim_id)


@db.connected
def decide(op: OperatorInfo, approver: OperatorInfo | None, claim_id: int, approved_cents: int, note: str, *,
           on: dt.date | None = None) -> Claim:
    """The co-op's decision on a member's claim: the amount it pays (0 denies it, closing the claim);
    a supervisor approves."""
    require(op, HANDLE)
    _supervisor(approver, "the decision on a member's claim")
    note, _ = _note(note)
    if not note:
        raise ValidationError("Key the reason for the decision", "note")
    with db.write_txn():
        row = _open_row(claim_id)
        if row.direction != "member":
            raise ValidationError("Only a member's claim is decided", "amount")
        if row.status != "open":
            raise ValidationError(f"Claim {row.claim_no} is already decided", "amount")
        if not isinstance(approved_cents, int) or not 0 <= approved_cents <= row.claimed_cents:
            raise ValidationError(f"Amount approved: 0 to the amount claimed, {money.fmt_dollars(row.claimed_cents)}",
                                  "amount")
        status = "settled" if approved_cents else "closed"
        db.DamageClaim.update(approved_cents=approved_cents, status=status).where(
            db.DamageClaim.id == claim_id).execute()
        audit.record(op, "claim.decide", "damage_claim", claim_id, account_id=row.account_id, field="status",
                     before="open", after=(f"{'approved' if approved_cents else 'denied'} "
                                           f"{money.fmt_dollars(approved_cents)} by {approver.username}: {note}")[:200])
    return get(claim_id)


# ---- aging --------------------------------------------------------------------------------------------------

def bucket(days: int) -> str:
    return "0-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "Over 90"


@dataclass(frozen=True)
class Aging:
    as_of: dt.date
    rows: tuple[tuple[Claim, int, str], ...]       # claim, days since invoice, bucket

    @property
    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(AGING_BUCKETS, 0)
        for c, _, b in self.rows:
            out[b] += c.balance_cents
        return out


@db.connected
def aging(as_of: dt.date | None = None) -> Aging:
    """The invoiced claims against third parties with a balance: days since the invoice and the bucket."""
    as_of = as_of or dt.date.today()
    C = db.DamageClaim
    rows = []
    for c in _claims(list(C.select().where(C.direction == "against", C.invoiced_on.is_null(False),
                                           C.status.in_(("invoiced", "negotiating", "settled")))
                          .order_by(C.invoiced_on, C.id))):
        if c.balance_cents > 0:
            days = c.age_days(as_of) or 0
            rows.append((c, days, bucket(days)))
    return Aging(as_of, tuple(rows))


@db.connected
def opened_by(op: OperatorInfo, since: dt.datetime) -> list[Claim]:
    """The claims this operator opened since then, newest first (training checks what was keyed)."""
    C = db.DamageClaim
    return _claims(list(C.select().where(C.operator == op.id, C.created_at >= since).order_by(C.id.desc())))
