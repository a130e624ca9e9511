"""Helpers of the notice tests (services and screens): bills on the ledger, a notice as a run made it."""
from __future__ import annotations

import datetime as dt

from kec_tui import db


def entry(acct, kind: str, cents: int, effective: dt.date, due: dt.date | None = None) -> int:
    return db.LedgerEntry.insert(account=acct.id if hasattr(acct, "id") else acct, effective=effective, kind=kind,
                                 amount_cents=cents, due_date=due).execute()


def bill(acct, cents: int, due: dt.date, paid_on: dt.date | None = None, paid: int | None = None) -> None:
    entry(acct, "bill", cents, due - dt.timedelta(days=20), due=due)
    if paid_on:
        entry(acct, "payment", -(paid if paid is not None else cents), paid_on)


def pay(acct, cents: int, on: dt.date) -> None:
    entry(acct, "payment", -cents, on)


def notice(acct, notice_date: dt.date, past_due_cents: int = 10_000, disconnect_from: dt.date | None = None,
           expires: dt.date | None = None, status: str = "sent") -> db.DisconnectNotice:
    """A notice row as a committed run of that day leaves it (no letter)."""
    run, _ = db.NoticeRun.get_or_create(run_date=notice_date, defaults={"status": "committed"})
    return db.DisconnectNotice.create(run=run.id, account=acct.id, notice_date=notice_date,
                                      past_due_cents=past_due_cents,
                                      disconnect_from=disconnect_from or notice_date + dt.timedelta(days=7),
                                      expires=expires or notice_date + dt.timedelta(days=21), status=status)
