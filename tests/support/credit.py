"""Ledger helpers for the credit tests (deposits, write-offs and agencies, bankruptcy)."""
from __future__ import annotations

import datetime as dt

from kec_tui import db


def entry(acct, kind: str, cents: int, day: dt.date, *, due: dt.date | None = None, ref: str = "") -> int:
    return db.LedgerEntry.insert(account=acct.id, effective=day, kind=kind, amount_cents=cents, reference=ref,
                                 description=kind, due_date=due).execute()


def bill(acct, cents: int, day: dt.date) -> int:
    """A bill dated `day`, due 20 days later."""
    return entry(acct, "bill", cents, day, due=day + dt.timedelta(days=20))


def pay(acct, cents: int, day: dt.date) -> int:
    return entry(acct, "payment", -cents, day, ref="chk")


def ledger(acct, *kinds: str) -> list[tuple[str, int, str]]:
    L = db.LedgerEntry
    q = L.select(L.kind, L.amount_cents, L.reference).where(L.account == acct.id)
    if kinds:
        q = q.where(L.kind.in_(kinds))
    return list(q.order_by(L.id).tuples())


def balance(acct) -> int:
    L = db.LedgerEntry
    return int(L.select(db.pw.fn.COALESCE(db.pw.fn.SUM(L.amount_cents), 0)).where(L.account == acct.id).scalar())


def prompt_year(acct, start: dt.date, months: int = 13, cents: int = 10_000) -> None:
    """A bill a month from `start`, each paid 10 days after its bill date (before it is due)."""
    from dateutil.relativedelta import relativedelta

    for i in range(months):
        day = start + relativedelta(months=i)
        bill(acct, cents, day)
        pay(acct, cents, day + dt.timedelta(days=10))
