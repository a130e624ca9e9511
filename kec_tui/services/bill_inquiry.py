"""Bill inquiries: a member asks about a bill. The account's bills, one bill explained line by
line in plain words, the bill compared with the month before and the same month last year
(and why it differs), the bill calculator ("what would my bill be"), and a statement PDF of
one bill written to a file.

Every figure comes from the stored bill (its lines as billed), the readings and the ledger;
the words are here, so a screen, a test and a letter say the same thing.

The periods compared are the meter's read periods: a period ends at a reading and starts
at the reading before it. Its amount is the bill of that period when there is one (a bill
made by the billing run), else the ledger's bill charge posted within a read window after
the reading (history from before the billing run, or a final bill); none found: unknown.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from kec_tui import db, money
from kec_tui.services import bill_calc, billing_run, rates, statements
from kec_tui.services.errors import NotFound, ValidationError

READ_TO_BILL_DAYS = 35      # a ledger bill charge this many days after a reading is that reading's bill
SAME_MONTH_SLACK = 15       # "the same month last year": a reading within this many days of a year before


# ---- the account's bills ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BillRow:
    id: int
    kind: str                  # regular, first, final, rebill
    status: str                # billed, cancelled
    bill_date: dt.date
    due_date: dt.date
    period_start: dt.date
    period_end: dt.date
    kwh: int
    total_cents: int           # the bill's charges
    charged_cents: int         # what the ledger was charged (a budget-billed member's budget amount)
    estimated: bool
    budget: str
    schedule: str

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days

    @property
    def flags(self) -> str:
        """Estimated, budget, cancelled, rebill, first, final: the short words a list shows."""
        out = []
        if self.status == "cancelled":
            out.append("cancelled")
        if self.estimated:
            out.append("estimated")
        if self.budget:
            out.append(f"budget {self.budget}" if self.budget == "trueup" else "budget")
        if self.kind != "regular":
            out.append(self.kind)
        return ", ".join(out)


@db.connected
def bills(account_id: int, limit: int = 120) -> list[BillRow]:
    """The account's bills, newest first (cancelled ones too, marked)."""
    B = db.Bill
    rows = (B.select(B.id, B.kind, B.status, B.bill_date, B.due_date, B.period_start, B.period_end, B.kwh,
                     B.total_cents, B.charged_cents, B.estimated, B.budget, B.schedule)
            .where(B.account == account_id).order_by(B.bill_date.desc(), B.id.desc()).limit(limit).tuples())
    d = db.as_date
    return [BillRow(i, k, s, d(bd), d(dd), d(ps), d(pe), kwh, int(t), int(c), bool(e), bu, sc)
            for i, k, s, bd, dd, ps, pe, kwh, t, c, e, bu, sc in rows]


@db.connected
def no_bills_message(account_id: int) -> str:
    """What to tell the member when the account has no bill to explain or print."""
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("That account no longer exists", "account")
    LE = db.LedgerEntry
    last = (LE.select(LE.effective, LE.amount_cents, LE.description)
            .where(LE.account == a.id, LE.kind == "bill").order_by(LE.id.desc()).first())
    if a.status in ("closed", "final"):
        what = "closed" if a.status == "closed" else "final-billed"
        text = f"Account {a.number} is {what} and has no statement on file to print"
        if last is not None:
            text += (f"; its last bill is on the ledger: {db.as_date(last.effective):%m/%d/%Y} "
                     f"{money.fmt_dollars(last.amount_cents)} ({last.description})")
        return text + "."
    if last is not None:
        return (f"Account {a.number} has no bill from the billing run yet; its bills so far are charges on "
                f"the ledger (the last {db.as_date(last.effective):%m/%d/%Y}, {money.fmt_dollars(last.amount_cents)}).")
    return f"Account {a.number} has not been billed yet."


# ---- a bill in plain words ---------------------------------------------------------------------------------

MEANING = {
    "customer": "It is the fixed monthly charge for being connected to the co-op's lines, whatever you use.",
    "lamp": "It is the flat monthly price of a security light, its power included.",
    "energy": "It is the electricity you used.",
    "demand": "It pays for the capacity the co-op keeps ready for your highest use in the month.",
    "pca": "It passes on to members what the co-op's wholesale power costs above or below the base rates.",
    "minimum": "It brings the bill up to the schedule's minimum monthly bill.",
    "netmeter": "It credits the power your system sent to the co-op's lines.",
    "fee": "It is the city's franchise fee on the charges above, which the co-op collects for the city.",
}


def rate_words(rate: str) -> str:
    """A bill line's rate as a member reads it: "$0.091230/kWh" -> "$0.091230 per kWh",
    "$27.00/mo, 15 of 30 days" -> "$27.00 a month, for 15 of the 30 days"."""
    text = rate.strip()
    text = re.sub(r", (\d+) of (\d+) days$", r", for \1 of the \2 days", text)
    text = re.sub(r", (\d+) days$", r", for \1 days", text)
    for short, words in (("/kWh", " per kWh"), ("/kW", " per kW"), ("/mo", " a month"),
                         ("/lamp", " per lamp a month")):
        text = text.replace(short, words)
    return text


def line_words(line: bill_calc.Line, meaning: bool = True) -> str:
    """One charge line of a bill in plain words, with what the charge is (`meaning`)."""
    amount = money.fmt_dollars(line.amount_cents)
    rate = rate_words(line.rate)
    meaning = MEANING.get(line.code, "") if meaning else ""
    if line.code == "customer":
        part = "" if line.quantity == "1 mo" else f" ({line.quantity.replace(' mo', '')} of a month)"
        text = f"{line.description}: {rate}{part} = {amount}"
    elif line.code == "minimum":
        text = f"{line.description}: {amount} up to the {line.rate}"
    elif line.code == "fee":
        text = f"{line.description}: {line.rate} of {line.quantity} = {amount}"
    elif line.code == "netmeter":
        text = f"{line.description}: {line.quantity} at {rate} = {amount} (a credit)"
    else:
        text = f"{line.description}: {line.quantity} at {rate} = {amount}"
    return f"{text}. {meaning}" if meaning else f"{text}."


@db.connected
def explain(bill_id: int) -> list[str]:
    """The bill line by line in plain words: period and days, readings and kWh (estimated or
    not), each charge with its rate, quantity and amount, the total and what was charged."""
    b = billing_run.get_bill(bill_id)
    vs = rates.all_versions().get(b.schedule) or []
    name = vs[-1].name if vs else b.schedule
    out = [f"Bill of {b.bill_date:%m/%d/%Y} for account {b.account_number}, rate schedule {b.schedule} ({name})."]
    if b.status == "cancelled":
        reason = db.Bill.select(db.Bill.cancel_reason).where(db.Bill.id == b.id).scalar() or ""
        out.append(f"This bill was cancelled ({reason}): its charge was reversed on the ledger."
                   if reason else "This bill was cancelled: its charge was reversed on the ledger.")
    if b.kind == "rebill":
        replaced = db.Bill.select(db.Bill.replaces).where(db.Bill.id == b.id).scalar()
        day = db.Bill.select(db.Bill.bill_date).where(db.Bill.id == replaced).scalar() if replaced else None
        what = f"the bill of {db.as_date(day):%m/%d/%Y}" if day else "an earlier bill"
        out.append(f"It bills the period again in place of {what}, which was cancelled.")
    out.append(f"Service from {b.period_start:%m/%d/%Y} to {b.period_end:%m/%d/%Y}: "
               f"{(b.period_end - b.period_start).days} days.")
    if b.estimated:
        out.append(f"The meter was not read this month: {b.kwh:,} kWh is an estimate from your recent use. "
                   f"The next actual reading corrects it.")
    elif b.prev_reading is not None and b.reading is not None:
        mult = _multiplier(b.account_id)
        times = f", times the meter's multiplier {mult}" if mult != 1 else ""
        by_reads = (b.reading - b.prev_reading) * mult
        if b.kind == "rebill" and by_reads != b.kwh:
            out.append(f"The meter read {b.prev_reading:,} at the start and {b.reading:,} at the end; the bill "
                       f"was made again for {b.kwh:,} kWh (corrected).")
        else:
            out.append(f"The meter read {b.prev_reading:,} at the start and {b.reading:,} at the end: "
                       f"{b.kwh:,} kWh used{times}.")
    else:
        out.append(f"{b.kwh:,} kWh used (the first reading of the meter starts the count).")
    if b.demand_kw is not None:
        out.append(f"Your highest demand in the period was {b.demand_kw} kW.")
    if b.reverse_kwh:
        out.append(f"Your system sent {b.reverse_kwh:,} kWh to the co-op's lines.")
    out.append("The charges:")
    out += ["  " + line_words(ln) for ln in b.lines]
    out.append(f"Total charges: {money.fmt_dollars(b.total_cents)}, due {b.due_date:%m/%d/%Y}.")
    if b.budget == "levelized":
        out.append(f"You are on budget billing: {money.fmt_dollars(b.charged_cents)} was charged this month; the "
                   f"difference from the charges is settled once a year.")
    elif b.budget == "trueup":
        out.append(f"Budget billing true-up: {money.fmt_dollars(b.charged_cents)} was charged, the charges plus "
                   f"{money.fmt_dollars(b.charged_cents - b.total_cents)} settled for the year.")
    return out


def _multiplier(account_id: int) -> int:
    meter = db.Account.select(db.Account.meter).where(db.Account.id == account_id).scalar()
    m = db.Meter.get_or_none(db.Meter.id == meter) if meter else None
    return (m.multiplier or 1) if m else 1


# ---- compare with the month before and the same month last year --------------------------------------------

@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date | None
    end: dt.date
    kwh: int
    amount_cents: int | None      # None: no bill of that period on file
    estimated: bool

    @property
    def days(self) -> int | None:
        return (self.end - self.start).days if self.start else None

    @property
    def per_day(self) -> Decimal | None:
        d = self.days
        if not d:
            return None
        return (Decimal(self.kwh) / d).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Comparison:
    bill_id: int
    this: Period
    previous: Period | None
    last_year: Period | None
    previous_why: tuple[str, ...]     # plain sentences: how and why this bill differs
    last_year_why: tuple[str, ...]

    def lines(self) -> list[str]:
        """The comparison as text lines: a small table, then the sentences."""
        out = [f"{'Month':<22}{'Period':<18}{'Days':>5}{'kWh':>8}{'kWh/day':>8}{'Amount':>12}"]
        for p in (self.this, self.previous, self.last_year):
            if p is None:
                continue
            span = f"{p.start:%m/%d/%y}-{p.end:%m/%d/%y}" if p.start else f"to {p.end:%m/%d/%y}"
            amount = money.fmt_dollars(p.amount_cents) if p.amount_cents is not None else "not on file"
            est = " est." if p.estimated else ""
            out.append(f"{p.label:<22}{span:<18}{p.days if p.days is not None else '-':>5}{p.kwh:>8,}"
                       f"{str(p.per_day) if p.per_day is not None else '-':>8}{amount:>12}{est}")
        out.append("")
        if self.previous is None:
            out.append("No earlier month on file to compare with.")
        out += list(self.previous_why)
        if self.last_year is None:
            out.append("No reading from the same month last year to compare with.")
        elif self.last_year_why:
            out += [""] + list(self.last_year_why)
        return out


def _reading_periods(account_id: int, upto: dt.date) -> list[tuple[dt.date | None, dt.date, int, bool]]:
    """(start, end, kWh, estimated) of each read period ending on or before `upto`, oldest first."""
    R = db.Reading
    rows = [(db.as_date(d), kwh, src) for d, kwh, src in
            R.select(R.read_date, R.kwh, R.source).where(R.account == account_id, R.read_date <= upto)
            .order_by(R.read_date, R.id).tuples()]
    out = []
    prev = None
    for day, kwh, src in rows:
        if prev is not None and day == prev:
            continue                       # a second reading the same day adds no period
        out.append((prev, day, kwh or 0, src == "estimated"))
        prev = day
    return out


def _period_amount(account_id: int, end: dt.date) -> int | None:
    """The charges of the read period ending `end`: its bill, else the ledger's bill charge after it."""
    B = db.Bill
    row = (B.select(B.total_cents).where(B.account == account_id, B.period_end == end, B.status == "billed")
           .order_by(B.id.desc()).first())
    if row is not None:
        return int(row.total_cents)
    LE = db.LedgerEntry
    entry = (LE.select(LE.amount_cents).where(
        LE.account == account_id, LE.kind == "bill", LE.effective >= end,
        LE.effective <= end + dt.timedelta(days=READ_TO_BILL_DAYS)).order_by(LE.effective, LE.id).first())
    return int(entry.amount_cents) if entry is not None else None


def _word(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def differences(this: Period, other: Period, name: str, *, rate_note: str = "") -> list[str]:
    """Plain sentences: how this period's bill differs from `other` ("last month's") and why:
    more or fewer days, more or less use (and per day), a rate change, an estimate."""
    out: list[str] = []
    if this.amount_cents is not None and other.amount_cents is not None:
        diff = this.amount_cents - other.amount_cents
        if diff:
            out.append(f"This bill is {money.fmt_dollars(abs(diff))} {'more' if diff > 0 else 'less'} than "
                       f"{name} ({money.fmt_dollars(this.amount_cents)} against "
                       f"{money.fmt_dollars(other.amount_cents)}).")
        else:
            out.append(f"This bill is the same amount as {name} ({money.fmt_dollars(this.amount_cents)}).")
    dk = this.kwh - other.kwh
    use = (f"You used {_word(abs(dk), 'kWh', 'kWh')} {'more' if dk > 0 else 'less'} ({this.kwh:,} against "
           f"{other.kwh:,} kWh)" if dk else f"You used the same {this.kwh:,} kWh")
    dd = (this.days or 0) - (other.days or 0) if this.days and other.days else 0
    if dd:
        use += (f", over {_word(abs(dd), 'day', 'days')} {'more' if dd > 0 else 'fewer'} "
                f"({this.days} against {other.days})")
    elif this.days and other.days:
        use += f", over the same {this.days} days"
    out.append(use + ".")
    if this.per_day is not None and other.per_day is not None and (dk or dd):
        a, b = this.per_day, other.per_day
        if b and abs(a - b) <= b * Decimal("0.05"):
            out.append(f"Per day you used about the same ({a} against {b} kWh a day): "
                       + ("the longer period explains the difference." if dd > 0 and dk > 0 else
                          "the shorter period explains the difference." if dd < 0 and dk < 0 else
                          "your use did not really change."))
        else:
            out.append(f"Per day you used {'more' if a > b else 'less'}: {a} against {b} kWh a day.")
    if rate_note:
        out.append(rate_note)
    if this.estimated:
        out.append("This bill is estimated (the meter was not read): the next actual reading corrects it.")
    if other.estimated:
        out.append(f"{name[0].upper()}{name[1:]} was estimated: this bill's reading corrected the estimate.")
    return out


@db.connected
def compare(bill_id: int) -> Comparison:
    """The bill against the month before and the same month last year: kWh, days, kWh a day,
    amount, and plain sentences of why it differs."""
    b = billing_run.get_bill(bill_id)
    this = Period("This bill", b.period_start, b.period_end, b.kwh, b.total_cents, b.estimated)
    periods = _reading_periods(b.account_id, b.period_start)
    previous = None
    before = [p for p in periods if p[1] <= b.period_start]
    if before:
        start, end, kwh, est = before[-1]
        previous = Period("Month before", start, end, kwh, _period_amount(b.account_id, end), est)
    year_ago = b.period_end - dt.timedelta(days=365)
    near = [p for p in periods if abs((p[1] - year_ago).days) <= SAME_MONTH_SLACK]
    last_year = None
    if near:
        start, end, kwh, est = min(near, key=lambda p: abs((p[1] - year_ago).days))
        last_year = Period("Same month last year", start, end, kwh, _period_amount(b.account_id, end), est)
    city = _city(b.account_id)
    prev_why = tuple(differences(this, previous, "last month's bill", rate_note=_rate_note(b, previous, city))
                     ) if previous else ()
    year_why = tuple(differences(this, last_year, "the same month last year",
                                 rate_note=_rate_note(b, last_year, city))) if last_year else ()
    return Comparison(b.id, this, previous, last_year, prev_why, year_why)


def _city(account_id: int) -> str:
    loc = db.Account.select(db.Account.location).where(db.Account.id == account_id).scalar()
    return db.ServiceLocation.select(db.ServiceLocation.city).where(db.ServiceLocation.id == loc).scalar() or ""


def _rate_note(b: billing_run.BillInfo, other: Period, city: str) -> str:
    """When the rates of the bill differ from those in force at the start of `other`: the
    date they changed and what this bill would have been at the earlier rates."""
    if other.start is None:
        return ""
    try:
        then = rates.versions_for(b.schedule, other.start, other.start)[0]
        now = rates.versions_for(b.schedule, b.period_start, b.period_end)
    except NotFound:
        return ""
    changed = [v for v in now if v.effective > then.effective]
    if not changed and now[0].effective == then.effective:
        return ""
    at_then = bill_calc.calculate([then], b.period_start, b.period_end, b.kwh, demand_kw=b.demand_kw,
                                  reverse_kwh=b.reverse_kwh, city=city).total_cents
    when = max(v.effective for v in now)
    if at_then == b.total_cents:
        return f"Rates changed on {when:%m/%d/%Y}, but not in a way that changes this bill."
    return (f"Rates changed on {when:%m/%d/%Y}: at the rates of {other.start:%m/%d/%Y} this bill would be "
            f"{money.fmt_dollars(at_then)} ({money.fmt_dollars(abs(b.total_cents - at_then))} "
            f"{'less' if b.total_cents > at_then else 'more'}).")


# ---- the bill calculator --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    code: str
    name: str


@db.connected
def schedules() -> list[Schedule]:
    """The rate schedules a bill can be worked on, with their names (the newest version's)."""
    rates.ensure_loaded()
    return [Schedule(code, vs[-1].name) for code, vs in sorted(rates.all_versions().items())]


@db.connected
def account_schedule(account_id: int) -> tuple[str, str]:
    """(schedule code, city) of the account: the calculator's defaults."""
    rates.ensure_loaded()
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("That account no longer exists", "account")
    try:
        code = rates.schedule_for_class(a.rate_class)
    except NotFound:
        code = ""
    return code, _city(account_id)


def parse_kwh(text: str) -> int:
    """kWh as keyed: a whole number, 0 or more (commas allowed)."""
    raw = (text or "").strip().replace(",", "")
    if not raw.isdigit() or not raw.isascii():
        raise ValidationError(f"kWh is a whole number, 0 or more, not {text.strip()[:12]!r}", "kwh")
    value = int(raw)
    if value > 99_999_999:
        raise ValidationError("kWh: at most 99,999,999", "kwh")
    return value


@db.connected
def calculate(schedule: str, kwh: int | str, *, city: str = "", on: dt.date | None = None,
              days: int = bill_calc.MONTH_DAYS, demand_kw: Decimal | None = None,
              lamps: int = 1) -> bill_calc.BillCalc:
    """The bill calculator: a month of `kwh` on `schedule` at the rates in force `on` (today)."""
    rates.ensure_loaded()
    code = (schedule or "").strip().upper()
    if not code:
        raise ValidationError("Pick a rate schedule", "schedule")
    if code not in rates.all_versions():
        raise ValidationError(f"No rate schedule {code} (schedules: {', '.join(sorted(rates.all_versions()))})",
                              "schedule")
    kwh = parse_kwh(kwh) if isinstance(kwh, str) else kwh
    try:
        return bill_calc.what_if(code, kwh, on=on, days=days, demand_kw=demand_kw, city=city, lamps=lamps)
    except NotFound as e:
        raise ValidationError(e.message, "schedule") from e


def calculation_lines(calc: bill_calc.BillCalc) -> list[str]:
    """The calculator's answer in plain words."""
    out = [f"The bill would be {money.fmt_dollars(calc.total_cents)}: {calc.kwh:,} kWh on schedule "
           f"{calc.schedule}, a {calc.days}-day month read {calc.period_end:%m/%d/%Y}, at the rates then."]
    out += ["  " + line_words(ln, meaning=False) for ln in calc.lines]
    return out


# ---- a statement of one bill -------------------------------------------------------------------------------

@db.connected
def write_statement(bill_id: int, out_dir: Path | str) -> Path:
    """The statement PDF of one bill, written to `out_dir`; its path. A bill of a closed account
    is printed as a copy (the member asked for it; the cycle's mailing skips closed accounts);
    a cancelled bill has none (its rebill has one)."""
    pdf = statements.statement_pdf(bill_id, copy=True)
    b = billing_run.get_bill(bill_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"statement-{b.account_number}-{b.bill_date:%Y%m%d}-bill{b.id}.pdf"
    path.write_bytes(pdf)
    return path
