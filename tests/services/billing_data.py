"""A small billing cycle for service tests: accounts with reading history, the test
rate file loaded (tests/services/rate_file.py). The period billed is 2025-05 on cycle 1
(bill date 05/03/2025); the previous bill was 04/03 for the read of 04/01."""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.services import rates
from tests import factories
from tests.services.rate_file import RATES

PERIOD = "2025-05"
BILL_DATE = dt.date(2025, 5, 3)
LAST_READ = dt.date(2025, 4, 1)
THIS_READ = dt.date(2025, 5, 1)


def load_rates() -> None:
    rates.load_text(None, RATES)


def account(*, kwh: int | None = 800, history: int = 900, months: int = 13, city: str = "Athol",
            rate_class: str = "RES", cycle: int = 1, demand_kw=None, status: str = "active",
            last_bill_cents: int = 10000, paid: bool = True, **kw) -> db.Account:
    """An account read monthly for `months` months up to 04/01 (`history` kWh each, billed),
    and read on 05/01 for `kwh` (None: not read this month)."""
    a = factories.account(city=city, rate_class=rate_class, bill_cycle=cycle, status=status, **kw)
    reading = 10000
    for k in range(months, 0, -1):
        day = _months_before(LAST_READ, k - 1)
        reading += history
        db.Reading.create(account=a, meter=a.meter, read_date=day, reading=reading, kwh=history, source="keyed")
    db.LedgerEntry.create(account=a, effective=dt.date(2025, 4, 3), kind="bill", amount_cents=last_bill_cents,
                          description="Electric service", due_date=dt.date(2025, 4, 23))
    if paid:
        db.LedgerEntry.create(account=a, effective=dt.date(2025, 4, 20), kind="payment", amount_cents=-last_bill_cents,
                              description="Payment", reference="chk 1")
    if kwh is not None:
        db.Reading.create(account=a, meter=a.meter, read_date=THIS_READ, reading=reading + kwh // a.meter.multiplier,
                          kwh=kwh, demand_kw=demand_kw, source="keyed")
    return a


def _months_before(day: dt.date, k: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - k, 12)
    return dt.date(y, m + 1, day.day)


def cycle(n: int, **kw) -> list[db.Account]:
    return [account(kwh=700 + 10 * i, **kw) for i in range(n)]


def read_cycle(cycle: int, read_date: dt.date, *, look_back_days: int = 70) -> int:
    """Read every active or disconnected meter of the cycle on `read_date` (as a handheld
    route would): the last reading plus the same use as last time. Returns how many."""
    A, R = db.Account, db.Reading
    accts = {aid: (meter, mult or 1) for aid, meter, mult in
             A.select(A.id, A.meter, db.Meter.multiplier).join(db.Meter, on=(A.meter == db.Meter.id))
             .where(A.bill_cycle == cycle, A.status.in_(("active", "disconnected"))).tuples()}
    last: dict[int, tuple[int, int]] = {}
    for aid, reading, kwh in (R.select(R.account, R.reading, R.kwh)
                              .where(R.account.in_(list(accts)) if len(accts) < 900 else R.account.in_(
                                  A.select(A.id).where(A.bill_cycle == cycle)),
                                     R.read_date > read_date - dt.timedelta(days=look_back_days),
                                     R.read_date < read_date)
                              .order_by(R.account, R.read_date, R.id).tuples()):
        last[aid] = (reading, kwh)
    rows = []
    for aid, (meter, mult) in accts.items():
        reading, kwh = last.get(aid, (0, 0))
        kwh = max(kwh, mult)
        rows.append({"account": aid, "meter": meter, "read_date": read_date, "reading": reading + kwh // mult,
                     "kwh": (kwh // mult) * mult, "source": "ami"})
    with db.database.atomic():
        for i in range(0, len(rows), 500):
            R.insert_many(rows[i:i + 500]).execute()
    return len(rows)
