"""Bills over two years for the usage report's tests: a small cycle 1 (RES, SGS, LGS) and cycle 2
(RES) billed by the real billing run for May 2025 and again for May 2026."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kec_tui import db
from kec_tui.services import billing_run
from tests.services import billing_data as data

NOW, AGO = "2026-05", "2025-05"


def run(biller, boss, cycle: int, period: str) -> None:
    reg = billing_run.preview(biller, cycle, period)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(biller, reg.run.id)


def billed_coop(biller, boss) -> list[db.Account]:
    data.load_rates()
    accts = [data.account(kwh=700 + 10 * i) for i in range(4)]
    accts += [data.account(kwh=2500, history=2400, rate_class="SGS")]
    accts += [data.account(kwh=40000, history=30000, rate_class="LGS", demand_kw=Decimal("45.5"))]
    accts += [data.account(kwh=650, cycle=2), data.account(kwh=1200, cycle=2)]
    for c in (1, 2):
        run(biller, boss, c, AGO)
    for i, a in enumerate(accts):
        last = db.Reading.select().where(db.Reading.account == a).order_by(db.Reading.read_date.desc()).first()
        use = last.kwh + 50 * (i % 3) - 40
        db.Reading.create(account=a, meter=a.meter, read_date=dt.date(2026, 5, 1), reading=last.reading + use,
                          kwh=use, demand_kw=last.demand_kw, source="keyed")
    for c in (1, 2):
        run(biller, boss, c, NOW)
    return accts
