"""Charges and fees in one place: the fee schedule (from the settings), business
hours, the simple rate used for final bills, and posting a charge to the ledger.

Integer cents throughout; percentages are Decimal from text, never float.

The schedule comes from `config.Settings` (reconnect fees, late fee, returned
payment fee, `membership_fee_cents`, `trip_fee_cents`, `deposit_flat_cents`,
`deposit_months`, `holidays`: dates that count as after hours; the settings
check their types). The application calls `configure(settings)` once at
start; until then the built-in defaults apply.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kec_tui import config, db, money
from kec_tui.services import audit
from kec_tui.services.operators import OperatorInfo

# Class -> (monthly base charge cents, energy in mills per kWh): the demo co-op's
# schedule (kec_tui/demo), street lights added. Final bills only; the
# billing run owns the real rate schedules.
RATES: dict[str, tuple[int, int]] = {
    "RES": (2500, 98),
    "SGS": (3500, 102),
    "LGS": (9500, 71),
    "IRR": (3000, 85),
    "SL": (1200, 0),
}
DUE_DAYS = 20
BILLING_DAYS = 30                       # the base charge is for this many days; a final bill prorates it
BUSINESS_OPEN = dt.time(8, 0)
BUSINESS_CLOSE = dt.time(17, 0)         # 17:00 itself is after hours
MEMBERSHIP_FEE_CENTS = 500
TRIP_FEE_CENTS = 2500
DEPOSIT_FLAT_CENTS = 20000
DEPOSIT_MONTHS = 2                      # the deposit is this many average monthly bills


@dataclass(frozen=True)
class FeeSchedule:
    reconnect_cents: int = 4000
    reconnect_after_hours_cents: int = 16000
    trip_cents: int = TRIP_FEE_CENTS
    membership_cents: int = MEMBERSHIP_FEE_CENTS
    deposit_flat_cents: int = DEPOSIT_FLAT_CENTS
    deposit_months: int = DEPOSIT_MONTHS
    late_fee_percent: Decimal = Decimal("1.5")
    late_fee_minimum_cents: int = 200
    late_fee_grace_days: int = 0
    returned_payment_cents: int = 2500
    holidays: frozenset[dt.date] = frozenset()


def schedule_from(settings: config.Settings) -> FeeSchedule:
    return FeeSchedule(
        reconnect_cents=settings.reconnect_fee_cents,
        reconnect_after_hours_cents=settings.reconnect_after_hours_fee_cents,
        trip_cents=settings.trip_fee_cents,
        membership_cents=settings.membership_fee_cents,
        deposit_flat_cents=settings.deposit_flat_cents,
        deposit_months=settings.deposit_months,
        late_fee_percent=Decimal(str(settings.late_fee_percent)),
        late_fee_minimum_cents=settings.late_fee_minimum_cents,
        late_fee_grace_days=settings.late_fee_grace_days,
        returned_payment_cents=settings.returned_payment_fee_cents,
        holidays=frozenset(settings.holidays),
    )


_current = schedule_from(config.Settings())


def configure(settings: config.Settings) -> FeeSchedule:
    """Take the fee schedule from the settings (the application calls this at start)."""
    global _current
    _current = schedule_from(settings)
    return _current


def schedule() -> FeeSchedule:
    return _current


# ---- business hours and the fees that depend on them ------------------------------

def is_business_hours(when: dt.datetime, sched: FeeSchedule | None = None) -> bool:
    """Monday-Friday 8:00 to 17:00 local time, holidays excluded."""
    sched = sched or _current
    if when.weekday() >= 5 or when.date() in sched.holidays:
        return False
    return BUSINESS_OPEN <= when.time() < BUSINESS_CLOSE


def reconnect_fee(when: dt.datetime, sched: FeeSchedule | None = None) -> tuple[int, str]:
    """(cents, description) of the reconnect fee for work completed at `when`."""
    sched = sched or _current
    if is_business_hours(when, sched):
        return sched.reconnect_cents, "Reconnect fee (business hours)"
    return sched.reconnect_after_hours_cents, "Reconnect fee (after hours)"


def late_fee_cents(past_due_cents: int, sched: FeeSchedule | None = None) -> int:
    """1.5% of the past-due balance, half-up to the cent, at least the minimum."""
    sched = sched or _current
    if past_due_cents <= 0:
        return 0
    pct = (Decimal(past_due_cents) * sched.late_fee_percent / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return max(sched.late_fee_minimum_cents, int(pct))


# ---- the final bill -----------------------------------------------------------------

def bill_cents(rate_class: str, kwh: int, days: int = BILLING_DAYS) -> int:
    """Base charge prorated over `days` (at most a whole month) + energy at the class
    rate, each rounded half up to the cent, integers only."""
    if rate_class not in RATES:
        raise ValueError(f"No rate for class {rate_class}")
    base, mills = RATES[rate_class]
    days = max(0, min(days, BILLING_DAYS))
    prorated = (base * days * 2 + BILLING_DAYS) // (BILLING_DAYS * 2)
    return prorated + (kwh * mills + 5) // 10


# ---- posting ----------------------------------------------------------------------------

def post(op: OperatorInfo | None, account_id: int, kind: str, amount_cents: int, description: str, *,
         reference: str = "", effective: dt.date | None = None, due_date: dt.date | None = None,
         audit_action: str | None = None) -> int:
    """Append one ledger entry (in the caller's transaction) and audit it; returns its id."""
    if kind not in db.LEDGER_KINDS:
        raise ValueError(f"Unknown ledger kind {kind}")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValueError("Ledger amounts are whole cents")
    entry_id = db.LedgerEntry.insert(
        account=account_id, effective=effective or dt.date.today(), kind=kind, amount_cents=amount_cents,
        description=description[:120], reference=reference[:40], due_date=due_date,
        operator=op.id if op else None).execute()
    audit.record(op, audit_action or f"ledger.{kind}", "ledger", entry_id, account_id=account_id,
                 field=kind, after=f"{money.fmt(amount_cents)} {description}"[:200])
    return entry_id
