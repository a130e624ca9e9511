"""Energy services on an account: this year against last year month by month (kWh from the readings,
dollars from the bills), average use and cost per day, tips chosen by the usage pattern, the high-bill
inquiry checklist and what it found, and referrals to the energy services consultant (a queue).

The months are the readings' months (a reading on 03/04 is March's use); a month with no reading
has no kWh. Twelve months end with the month of the latest reading.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from kec_tui import db, money
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require

# The high-bill checklist: what the MSR looks at with the member, in this order.
CHECKLIST = {
    "days": "More days in the billing period than usual",
    "estimated": "The bill was estimated (no reading)",
    "weather": "Colder or hotter weather than a year ago",
    "appliance": "A new appliance, heater, hot tub, shop or EV charger",
    "household": "More people at home (guests, a new baby, working from home)",
    "rate": "A rate or power cost adjustment change",
    "leak": "A well pump or water heater running on (a leak)",
}
WINTER, SUMMER = (12, 1, 2), (6, 7, 8)
TIPS = {
    "winter": ("Electric heat drives your bills: set the thermostat to 68 F, 60 F at night and away; a heat pump "
               "uses a third of the power of baseboard heat.",
               "Seal the drafts: weatherstrip doors and windows, insulate the attic (Kootenai Electric rebates "
               "insulation and heat pumps)."),
    "summer": ("Cooling drives your bills: 78 F when home, higher when away; shade the west windows; clean the "
               "AC filter each month.",
               "An irrigation or well pump: check for leaks and run it at night."),
    "flat": ("Your use is much the same all year: the water heater (set it to 120 F, wrap it), a second "
             "refrigerator or freezer, a hot tub or stock tank heater run year round.",
             "Unplug what stays on: an old freezer in the garage can cost $10-$15 a month."),
    "rising": ("Your use is higher than a year ago in most months: what changed at home? A new appliance, "
               "more people, a heater in the shop?",),
    "low": ("Your use is below the co-op's average: LED bulbs and smart power strips keep it there.",),
}
AVERAGE_MONTH_KWH = 1000            # a typical residential member's month, for "low"
REFERRAL_STATUSES = ("open", "scheduled", "done")


@dataclass(frozen=True)
class Month:
    month: dt.date                  # the first of the month
    kwh: int | None
    kwh_year_ago: int | None
    cents: int | None
    cents_year_ago: int | None


@dataclass(frozen=True)
class Usage:
    account_id: int
    months: list[Month]             # 12, oldest first
    days: int                       # days of readings in the 12 months
    kwh: int                        # their kWh
    cents: int                      # the bills of those 12 months
    pattern: str                    # winter, summer, flat, rising, low, none
    tips: tuple[str, ...]

    @property
    def kwh_per_day(self) -> Decimal | None:
        return (Decimal(self.kwh) / self.days).quantize(Decimal("0.1"), ROUND_HALF_UP) if self.days else None

    @property
    def cents_per_day(self) -> int | None:
        return int((Decimal(self.cents) / self.days).quantize(Decimal(1), ROUND_HALF_UP)) if self.days else None


def _first(day: dt.date) -> dt.date:
    return day.replace(day=1)


@db.connected
def usage(account_id: int, today: dt.date | None = None) -> Usage:
    """The account's last 12 months against the 12 before (kWh and dollars), per day, pattern and tips."""
    if db.Account.get_or_none(db.Account.id == account_id) is None:
        raise NotFound("No such account")
    R, L = db.Reading, db.LedgerEntry
    last = R.select(R.read_date).where(R.account == account_id, R.read_date <= (today or dt.date.today())) \
        .order_by(R.read_date.desc()).scalar()
    if last is None:
        return Usage(account_id, [], 0, 0, 0, "none", ())
    end = _first(db.as_date(last))
    start = end - relativedelta(months=23)
    kwh: dict[dt.date, int] = {}
    reads = [(db.as_date(d), k) for d, k in R.select(R.read_date, R.kwh).where(
        R.account == account_id, R.read_date >= start, R.read_date < end + relativedelta(months=1),
        R.source != "estimated_void").order_by(R.read_date).tuples()]
    for d, k in reads:
        kwh[_first(d)] = kwh.get(_first(d), 0) + k
    cents: dict[dt.date, int] = {}
    for d, c in L.select(L.effective, L.amount_cents).where(
            L.account == account_id, L.kind == "bill", L.effective >= start,
            L.effective < end + relativedelta(months=1)).tuples():
        m = _first(db.as_date(d))
        cents[m] = cents.get(m, 0) + c
    months = []
    for i in range(11, -1, -1):
        m = end - relativedelta(months=i)
        ago = m - relativedelta(years=1)
        months.append(Month(m, kwh.get(m), kwh.get(ago), cents.get(m), cents.get(ago)))
    year_reads = [(d, k) for d, k in reads if d >= end - relativedelta(months=11)]
    total_kwh = sum(k for _, k in year_reads)
    # the days the year's reads cover: from the reading before the first of them
    before = [d for d, _ in reads if d < end - relativedelta(months=11)]
    first_day = before[-1] if before else (year_reads[0][0] - dt.timedelta(days=30) if year_reads else end)
    days = (year_reads[-1][0] - first_day).days if year_reads else 0
    total_cents = sum(m.cents or 0 for m in months)
    pattern = _pattern(months)
    return Usage(account_id, months, days, total_kwh, total_cents, pattern, tips_for(pattern))


def _pattern(months: list[Month]) -> str:
    used = [m for m in months if m.kwh is not None]
    if len(used) < 6:
        return "none"
    avg = sum(m.kwh for m in used) / len(used)
    winter = [m.kwh for m in used if m.month.month in WINTER]
    summer = [m.kwh for m in used if m.month.month in SUMMER]
    compared = [m for m in used if m.kwh_year_ago]
    if compared and sum(m.kwh > m.kwh_year_ago * 1.15 for m in compared) > len(compared) * 2 / 3:
        return "rising"
    if winter and sum(winter) / len(winter) > avg * 1.3:
        return "winter"
    if summer and sum(summer) / len(summer) > avg * 1.3:
        return "summer"
    if avg < AVERAGE_MONTH_KWH * 0.6:
        return "low"
    return "flat"


def tips_for(pattern: str) -> tuple[str, ...]:
    return TIPS.get(pattern, ())


# ---- the high-bill inquiry ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    item: str
    found: bool
    why: str


@db.connected
def suggestions(account_id: int) -> list[Suggestion]:
    """What the records say for each checklist item about the latest bill (the MSR confirms with the member)."""
    B = db.Bill
    bills = list(B.select().where(B.account == account_id, B.status == "billed").order_by(B.bill_date.desc())
                 .limit(13))
    out = {k: Suggestion(k, False, "") for k in CHECKLIST}
    if bills:
        b = bills[0]
        days = (db.as_date(b.period_end) - db.as_date(b.period_start)).days
        others = [(db.as_date(x.period_end) - db.as_date(x.period_start)).days for x in bills[1:]]
        usual = sorted(others)[len(others) // 2] if others else None
        if usual and days > usual + 2:
            out["days"] = Suggestion("days", True, f"{days} days against the usual {usual}")
        if b.estimated:
            out["estimated"] = Suggestion("estimated", True, "the last bill was estimated: ask for a meter read")
        ago = [x for x in bills if abs((db.as_date(x.bill_date) - db.as_date(b.bill_date)).days - 365) <= 20]
        if ago and b.schedule != ago[0].schedule:
            out["rate"] = Suggestion("rate", True, f"schedule {ago[0].schedule} a year ago, {b.schedule} now")
    return list(out.values())


@dataclass(frozen=True)
class InquiryInfo:
    id: int
    at: dt.datetime
    found: tuple[str, ...]
    note: str
    operator: str


@db.connected
def record_inquiry(op: OperatorInfo, account_id: int, found: dict[str, bool], note: str = "") -> InquiryInfo:
    """The checklist as gone through with the member: what was found, a note; kept on the account."""
    require(op, "account.view")
    unknown = set(found) - set(CHECKLIST)
    if unknown:
        raise ValidationError(f"Not on the checklist: {', '.join(sorted(unknown))}", "found")
    note = (note or "").strip()
    card_numbers.refuse(note, "note")
    if len(note) > 200:
        raise ValidationError("The note is at most 200 characters", "note")
    if db.Account.get_or_none(db.Account.id == account_id) is None:
        raise NotFound("No such account")
    yes = tuple(k for k in CHECKLIST if found.get(k))
    with db.write_txn():
        i = db.HighBillInquiry.create(account=account_id, operator=op.id, found=",".join(yes), note=note)
        words = "; ".join(CHECKLIST[k] for k in yes) or "nothing on the checklist"
        db.Note.create(account=account_id, operator=op.id,
                       text=f"High-bill inquiry: found {words}." + (f" {note}" if note else ""))
        audit.record(op, "energy.inquiry", "high_bill_inquiry", i.id, account_id=account_id,
                     after=",".join(yes)[:200])
    return InquiryInfo(i.id, i.at, yes, note, op.username)


@db.connected
def inquiries(account_id: int) -> list[InquiryInfo]:
    H = db.HighBillInquiry
    return [InquiryInfo(i.id, i.at, tuple(x for x in i.found.split(",") if x), i.note,
                        i.operator.username if i.operator else "")
            for i in H.select().where(H.account == account_id).order_by(H.id.desc())]


# ---- referrals to the energy services consultant ----------------------------------------------------------

@dataclass(frozen=True)
class Referral:
    id: int
    account_id: int
    account_number: int
    name: str
    phone: str
    reason: str
    home_audit: bool
    status: str
    created_at: dt.datetime
    outcome: str


@db.connected
def refer(op: OperatorInfo, account_id: int, reason: str, *, home_audit: bool = False, phone: str = "") -> Referral:
    """Refer the member to the energy services consultant (a home energy audit if requested)."""
    require(op, "account.view")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the member is referred (high bills, heat pump questions ...)", "reason")
    card_numbers.refuse(reason, "reason")
    digits = "".join(c for c in phone or "" if c.isdigit())
    if digits and len(digits) != 10:
        raise ValidationError("Phone: 10 digits (area code first), or empty", "phone")
    acct = db.Account.get_or_none(db.Account.id == account_id)
    if acct is None:
        raise NotFound("No such account")
    with db.write_txn():
        open_one = db.EnergyReferral.get_or_none(db.EnergyReferral.account == account_id,
                                                 db.EnergyReferral.status != "done")
        if open_one is not None:
            raise ValidationError(f"Account {acct.number} is already referred ({open_one.status} since "
                                  f"{open_one.created_at:%m/%d/%Y})", "reason")
        r = db.EnergyReferral.create(account=account_id, operator=op.id, reason=reason[:200], home_audit=home_audit,
                                     phone=digits)
        audit.record(op, "energy.refer", "energy_referral", r.id, account_id=account_id,
                     after=("home audit; " if home_audit else "") + reason[:150])
    return _referral(r)


def _referral(r: db.EnergyReferral) -> Referral:
    a = r.account
    m = a.member
    return Referral(r.id, a.id, a.number, f"{m.first_name} {m.last_name}".strip(),
                    r.phone or m.phone_mobile or m.phone_home, r.reason, r.home_audit, r.status, r.created_at,
                    r.outcome)


@db.connected
def referrals(status: str | None = "open") -> list[Referral]:
    """The consultant's queue: open referrals (or all not done: status None), oldest first."""
    E = db.EnergyReferral
    q = E.select().order_by(E.id)
    q = q.where(E.status != "done") if status is None else q.where(E.status == status)
    return [_referral(r) for r in q]


@db.connected
def update_referral(op: OperatorInfo, referral_id: int, status: str, outcome: str = "") -> Referral:
    """The consultant schedules the visit or closes the referral with what was done."""
    require(op, "account.view")
    if status not in REFERRAL_STATUSES:
        raise ValidationError(f"Status: one of {', '.join(REFERRAL_STATUSES)}", "status")
    outcome = (outcome or "").strip()
    card_numbers.refuse(outcome, "outcome")
    if status == "done" and not outcome:
        raise ValidationError("Say what was done (audit made, tips given, rebate applied ...)", "outcome")
    E = db.EnergyReferral
    with db.write_txn():
        r = E.get_or_none(E.id == referral_id)
        if r is None:
            raise NotFound("No such referral")
        if r.status == "done":
            raise ValidationError("That referral is done", "status")
        E.update(status=status, outcome=outcome[:200]).where(E.id == referral_id).execute()
        audit.record(op, "energy.referral", "energy_referral", referral_id, account_id=r.account_id,
                     before=r.status, after=f"{status} {outcome}"[:200])
        return _referral(E.get_by_id(referral_id))


def money_or_blank(cents: int | None) -> str:
    return money.fmt(cents) if cents is not None else ""
