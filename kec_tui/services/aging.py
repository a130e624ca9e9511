"""Aging: every account's balance aged by the due dates of what it owes, and the aged
trial balance that adds up to the ledger to the cent.

The rules (one place, used by the worklist and the late-fee run too):
- Every ledger entry dated on or before the day aged counts (`effective <= as_of`).
- A reversal is folded into the entry it reverses (same account): a returned payment
  cancels the payment (the bill it paid is owed again, aged from its own due date), a
  cancelled bill drops out. What is left of each entry is a charge (> 0) or a credit (< 0).
- A charge is due on its due date (bills carry one), else on the day it was posted.
- Credits (payments, credit adjustments, write-offs, transfers out) pay the oldest
  charge first (by due date, then entry). Equivalently the balance is what is left of
  the newest charges: that is how it is computed, in one statement, for every account.
- Buckets by days past due (as_of - due date): current (not yet past due: 0 or less),
  1-30, 31-60, 61-90, over 90. A credit balance is current (negative).

So each account's buckets add up to its balance, and the trial balance (the sum over
all accounts) to the ledger's sum. Set-based SQL (window functions: SQLite and
PostgreSQL alike); only accounts with a balance come back as rows.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from kec_tui import db
from kec_tui.services.operators import OperatorInfo, require

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
BUCKET_LABELS = ("Current", "1-30", "31-60", "61-90", "Over 90")


@dataclass(frozen=True)
class Aged:
    """Cents in each bucket."""

    current: int = 0
    days_1_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    over_90: int = 0

    @property
    def total(self) -> int:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    @property
    def past_due(self) -> int:
        return self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    def buckets(self) -> tuple[int, int, int, int, int]:
        return (self.current, self.days_1_30, self.days_31_60, self.days_61_90, self.over_90)

    def __add__(self, other: Aged) -> Aged:
        return Aged(*(a + b for a, b in zip(self.buckets(), other.buckets(), strict=True)))


@dataclass(frozen=True)
class AccountAging:
    account_id: int
    number: int
    name: str
    cycle: int
    status: str
    aged: Aged
    oldest_due: dt.date | None      # the due date of the oldest unpaid charge (None: nothing owed)
    as_of: dt.date

    @property
    def days_past_due(self) -> int:
        return 0 if self.oldest_due is None else max(0, (self.as_of - self.oldest_due).days)


@dataclass(frozen=True)
class TrialBalance:
    as_of: dt.date
    aged: Aged                      # the buckets over every account
    ledger_cents: int               # the ledger's own sum as of the day
    accounts: int                   # accounts with a balance
    past_due_accounts: int
    cycle: int | None = None

    @property
    def balances(self) -> bool:
        return self.aged.total == self.ledger_cents


def _limits(as_of: dt.date) -> tuple:
    """The due-date limits of the buckets: due >= as_of is current, >= as_of-30 is 1-30 ..."""
    return tuple(db.sql_date(as_of - dt.timedelta(days=n)) for n in (0, 30, 60, 90))


def _filter(cycle: int | None, account_id: int | None, alias: str = "l") -> tuple[str, tuple]:
    p = db.database.param
    if account_id is not None:
        return f' AND {alias}."account_id" = {p}', (account_id,)
    if cycle is None:
        return "", ()
    return (f' AND {alias}."account_id" IN (SELECT "id" FROM "account" WHERE "bill_cycle" = {p})', (cycle,))


_snap = threading.local()


@contextlib.contextmanager
def snapshot(as_of: dt.date, cycle: int | None = None) -> Iterator[None]:
    """Age once for several queries on this connection: inside, owed_sql(as_of, cycle) reads
    `bal` and `unpaid` from temporary tables filled once (the worklist asks three questions of them)."""
    if getattr(_snap, "key", None) is not None:
        yield                                   # already inside one
        return
    sql, params = owed_sql(as_of, cycle)
    ex = db.database.execute_sql
    for t in ("kec_snap_unpaid", "kec_snap_bal"):
        ex(f"DROP TABLE IF EXISTS {t}")
    ex(f"CREATE TEMPORARY TABLE kec_snap_bal AS {sql} SELECT a, b FROM bal", params)
    ex(f"CREATE TEMPORARY TABLE kec_snap_unpaid AS {sql} SELECT a, k, due, cents FROM unpaid", params)
    ex("CREATE INDEX kec_snap_unpaid_a ON kec_snap_unpaid (a)")
    _snap.key = (as_of, cycle)
    try:
        yield
    finally:
        _snap.key = None
        for t in ("kec_snap_unpaid", "kec_snap_bal"):
            with contextlib.suppress(Exception):    # cleanup: a failed transaction drops them itself
                ex(f"DROP TABLE IF EXISTS {t}")


def owed_sql(as_of: dt.date, cycle: int | None = None, account_id: int | None = None) -> tuple[str, tuple]:
    """CTEs `bal` (account, balance: every account with entries) and `unpaid` (account, due,
    cents: what is left of each charge, credits applied oldest first) as of the day; for the
    worklist and the late-fee run to build on. Returns (the WITH clause, its parameters)."""
    if account_id is None and getattr(_snap, "key", None) == (as_of, cycle):
        return ("WITH bal AS (SELECT a, b FROM kec_snap_bal), owed AS (SELECT a, b FROM bal WHERE b > 0), "
                "unpaid AS (SELECT a, k, due, cents FROM kec_snap_unpaid)"), ()
    p = db.database.param
    cyc, cyc_params = _filter(cycle, account_id)
    cyc_r, _ = _filter(cycle, account_id, "r")
    day = db.sql_date(as_of)
    sql = f"""
WITH bal AS (
  SELECT l."account_id" AS a, SUM(l."amount_cents") AS b
  FROM "ledger_entry" l WHERE l."effective" <= {p}{cyc}
  GROUP BY l."account_id"
),
owed AS (SELECT a, b FROM bal WHERE b > 0),
rev AS (
  SELECT r."reverses_id" AS t, r."account_id" AS a, SUM(r."amount_cents") AS s
  FROM "ledger_entry" r WHERE r."reverses_id" IS NOT NULL AND r."effective" <= {p}{cyc_r}
  GROUP BY r."reverses_id", r."account_id"
),
pos AS (
  SELECT e."account_id" AS a, e."id" AS k, COALESCE(e."due_date", e."effective") AS due,
         e."amount_cents" + COALESCE(rev.s, 0) AS amt
  FROM owed o JOIN "ledger_entry" e ON e."account_id" = o.a
  LEFT JOIN rev ON rev.t = e."id" AND rev.a = e."account_id"
  WHERE e."effective" <= {p} AND e."amount_cents" + COALESCE(rev.s, 0) > 0
    AND NOT (e."reverses_id" IS NOT NULL AND EXISTS (
      SELECT 1 FROM "ledger_entry" t
      WHERE t."id" = e."reverses_id" AND t."account_id" = e."account_id" AND t."effective" <= {p}))
),
newer AS (
  SELECT n.a, n.k, n.due, n.amt, o.b,
         SUM(n.amt) OVER (PARTITION BY n.a ORDER BY n.due DESC, n.k DESC ROWS UNBOUNDED PRECEDING) - n.amt AS after
  FROM pos n JOIN owed o ON o.a = n.a
),
unpaid AS (
  SELECT a, k, due, CASE WHEN b - after >= amt THEN amt ELSE b - after END AS cents
  FROM newer WHERE b - after > 0
)"""
    return sql, (day, *cyc_params, day, *cyc_params, day, day)


def _bucket_sums(alias: str = "u") -> tuple[str, int]:
    """SELECT expressions summing `cents` into the five buckets by `due` (4 parameters: _limits)."""
    p = db.database.param
    c, d = f"{alias}.cents", f"{alias}.due"
    return (f"SUM(CASE WHEN {d} >= {p} THEN {c} ELSE 0 END), "
            f"SUM(CASE WHEN {d} < {p} AND {d} >= {p} THEN {c} ELSE 0 END), "
            f"SUM(CASE WHEN {d} < {p} AND {d} >= {p} THEN {c} ELSE 0 END), "
            f"SUM(CASE WHEN {d} < {p} AND {d} >= {p} THEN {c} ELSE 0 END), "
            f"SUM(CASE WHEN {d} < {p} THEN {c} ELSE 0 END)"), 8


def _bucket_params(as_of: dt.date) -> tuple:
    d0, d30, d60, d90 = _limits(as_of)
    return (d0, d0, d30, d30, d60, d60, d90, d90)


def aged_rows(as_of: dt.date, cycle: int | None = None, *, past_due_only: bool = False) -> list[AccountAging]:
    """Every account with a balance (of the cycle, if given), aged; with `past_due_only`
    only those with something past due. Ordered by account number."""
    owed, params = owed_sql(as_of, cycle)
    sums, _ = _bucket_sums()
    having = f"HAVING MIN(u.due) < {db.database.param}" if past_due_only else ""
    rows = db.database.execute_sql(
        f"""{owed},
aged AS (SELECT u.a, {sums}, MIN(u.due) AS oldest FROM unpaid u GROUP BY u.a {having})
SELECT ac."id", ac."number", m."first_name", m."last_name", ac."bill_cycle", ac."status", bal.b,
       aged.*
FROM bal JOIN "account" ac ON ac."id" = bal.a JOIN "member" m ON m."id" = ac."member_id"
LEFT JOIN aged ON aged.a = bal.a
WHERE bal.b <> 0 {'AND aged.a IS NOT NULL' if past_due_only else ''}
ORDER BY ac."number"
""", (*params, *_bucket_params(as_of), *((db.sql_date(as_of),) if past_due_only else ()))).fetchall()
    out = []
    for aid, number, first, last, cyc, status, balance, _a, cur, b1, b2, b3, b4, oldest in rows:
        if balance < 0:
            aged = Aged(current=int(balance))
        else:
            aged = Aged(int(cur), int(b1), int(b2), int(b3), int(b4))
        out.append(AccountAging(aid, number, f"{first} {last}".strip(), cyc, status, aged,
                                db.as_date(oldest) if balance > 0 else None, as_of))
    return out


def account_aging(account_id: int, as_of: dt.date | None = None) -> Aged:
    """One account's balance aged (the account screen, the worklist's detail)."""
    as_of = as_of or dt.date.today()
    owed, params = owed_sql(as_of, account_id=account_id)
    p = db.database.param
    sums, _ = _bucket_sums()
    row = db.database.execute_sql(
        f"{owed} SELECT {sums}, (SELECT b FROM bal WHERE a = {p}) FROM unpaid u WHERE u.a = {p}",
        (*params, *_bucket_params(as_of), account_id, account_id)).fetchone()
    balance = row[5]
    if balance is None or balance <= 0:
        return Aged(current=int(balance or 0))
    return Aged(*(int(v or 0) for v in row[:5]))


@db.connected
def trial_balance(op: OperatorInfo | None, as_of: dt.date | None = None, cycle: int | None = None) -> TrialBalance:
    """The aged trial balance: the buckets summed over every account (in SQL, no row per
    account comes back), the credit balances in current, beside the ledger's own sum."""
    if op is not None:
        require(op, "account.view")
    as_of = as_of or dt.date.today()
    owed, params = owed_sql(as_of, cycle)
    sums, _ = _bucket_sums()
    p = db.database.param
    row = db.database.execute_sql(
        f"""{owed}
SELECT {sums},
       (SELECT COALESCE(SUM(b), 0) FROM bal WHERE b < 0),
       (SELECT COUNT(*) FROM bal WHERE b <> 0),
       (SELECT COUNT(DISTINCT a) FROM unpaid WHERE due < {p})
FROM unpaid u""", (*params, *_bucket_params(as_of), db.sql_date(as_of))).fetchone()
    cur, b1, b2, b3, b4, credit, n, late = (int(v or 0) for v in row)
    cyc, cyc_params = _filter(cycle, None)
    ledger = db.database.execute_sql(
        f'SELECT COALESCE(SUM(l."amount_cents"), 0) FROM "ledger_entry" l WHERE l."effective" <= {p}{cyc}',
        (db.sql_date(as_of), *cyc_params)).fetchone()[0]
    return TrialBalance(as_of, Aged(cur + credit, b1, b2, b3, b4), int(ledger), n, late, cycle)
