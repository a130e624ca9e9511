"""Due dates on business days: 20 days after the bill date, moved to the next day that
is neither a weekend nor a holiday (US and Idaho holidays from the `holidays` package,
plus the co-op's own closed days from the fee schedule's `holidays` setting)."""
from __future__ import annotations

import datetime as dt
import functools

import holidays

from kec_tui.services import fees

DUE_DAYS = fees.DUE_DAYS


@functools.lru_cache(maxsize=64)
def _public(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", subdiv="ID", years=year))


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _public(day.year) and day not in fees.schedule().holidays


def next_business_day(day: dt.date) -> dt.date:
    """`day` itself when it is a business day, else the next one."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def due_date(bill_date: dt.date, days: int = DUE_DAYS) -> dt.date:
    return next_business_day(bill_date + dt.timedelta(days=days))
