"""The late-fee run: after the due date plus grace, a fee on each bill still unpaid, once per
bill; previewed, then committed exactly once.

Which bills: a bill (a ledger charge of kind bill with a due date) is charged by the first
run dated after its due date + `late_fee_grace_days` (the fee schedule, fees.py), when that
run finds part of it still unpaid (aging.py's rules: credits pay the oldest charge first) and
the account is not in bankruptcy, not closed and not held for fees (collection_holds.FEE_HOLDS:
a kept payment arrangement, a pending energy-assistance pledge). "First run": a run charges the bills whose
due date + grace fell since the day of the last committed run (the first run ever looks back
FIRST_RUN_DAYS). A bill is charged once: its LateFee row is unique on the bill (the
database's guard); a fee posted before late-fee runs existed (reference LATE, within a month
after the due date: a conversion, the demo) counts as its fee too.

How much: `late_fee_percent` (1.5%) of the past-due amount, at least `late_fee_minimum_cents`
($2), half-up to the cent (fees.late_fee_cents). The past-due amount of a bill is what the
account still owes of it and of the charges due before it, late fees left out (no fee on a fee).

Exactly once: the run is a row unique on its day. Preview records the fees' count and total;
commit claims the run (run_claim.py, as the billing run does), plans again and refuses if the
fees differ from the preview (a payment came in: preview again), writes the fees in chunks
that each skip the bills already charged, and marks the run committed. Two sessions committing
at once: one commits, the other is told; a commit killed midway is run again and finishes.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from peewee import IntegrityError, fn

from kec_tui import db, money
from kec_tui.services import aging, audit, collection_holds, fees, run_claim
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError

FIRST_RUN_DAYS = 31         # the first run ever charges the bills past due + grace within this many days
LEGACY_WINDOW_DAYS = 31     # a LATE fee posted this many days after a bill's due date or less was its fee
CHUNK = 2000


class Changed(RunStateError):
    """The fees differ from the preview: preview again."""


@dataclass(frozen=True)
class PlannedFee:
    account_id: int
    number: int
    name: str
    bill_entry_id: int
    bill_due: dt.date
    basis_cents: int            # the past-due amount
    fee_cents: int


@dataclass(frozen=True)
class RunInfo:
    id: int
    run_date: dt.date
    status: str
    preview_count: int
    preview_total_cents: int
    fee_count: int
    total_cents: int


@dataclass(frozen=True)
class Register:
    run: RunInfo
    fees: list[PlannedFee]
    since: dt.date              # bills past due + grace from this day (the last run's day) ...
    grace_days: int

    @property
    def total_cents(self) -> int:
        return sum(f.fee_cents for f in self.fees)


def _info(r: db.LateFeeRun) -> RunInfo:
    return RunInfo(r.id, db.as_date(r.run_date), r.status, r.preview_count, r.preview_total_cents, r.fee_count,
                   r.total_cents)


def last_run_date(before: dt.date | None = None) -> dt.date | None:
    """The day of the last committed run (before `before`, if given)."""
    R = db.LateFeeRun
    q = R.select(fn.MAX(R.run_date)).where(R.status == "committed")
    if before is not None:
        q = q.where(R.run_date < before)
    d = q.scalar()
    return db.as_date(d) if d is not None else None


def plan(run_date: dt.date, *, cycle: int | None = None, sched: fees.FeeSchedule | None = None,
         since: dt.date | None = None) -> list[PlannedFee]:
    """The fees a run on `run_date` charges (of one cycle, if given), the oldest bill first;
    bills already charged are left out. Set-based: one statement for all accounts."""
    sched = sched or fees.schedule()
    grace = dt.timedelta(days=sched.late_fee_grace_days)
    if since is None:
        since = last_run_date(run_date) or run_date - dt.timedelta(days=FIRST_RUN_DAYS)
    owed, params = aging.owed_sql(run_date, cycle)
    p = db.database.param
    plus = (f"date(b.\"due_date\", '+{LEGACY_WINDOW_DAYS} days')" if not db.is_postgres()
            else f"b.\"due_date\" + {LEGACY_WINDOW_DAYS}")
    rows = db.database.execute_sql(f"""{owed},
past AS (
  SELECT u.a, u.k, f."kind" AS kind,
         SUM(CASE WHEN f."kind" = 'fee' AND f."reference" LIKE {p} THEN 0 ELSE u.cents END)
           OVER (PARTITION BY u.a ORDER BY u.due) AS basis
  FROM unpaid u JOIN "ledger_entry" f ON f."id" = u.k
)
SELECT b."id", b."account_id", ac."number", m."first_name", m."last_name", b."due_date", x.basis
FROM past x
JOIN "ledger_entry" b ON b."id" = x.k
JOIN "account" ac ON ac."id" = b."account_id"
JOIN "member" m ON m."id" = ac."member_id"
WHERE x.kind = 'bill' AND b."due_date" IS NOT NULL AND b."due_date" >= {p} AND b."due_date" < {p}
  AND ac."bankruptcy" = {p} AND ac."status" <> 'closed'
  AND NOT EXISTS (SELECT 1 FROM "late_fee" lf WHERE lf."bill_entry_id" = b."id")
  AND NOT EXISTS (SELECT 1 FROM "ledger_entry" lg
                  WHERE lg."account_id" = b."account_id" AND lg."kind" = 'fee' AND lg."reference" = 'LATE'
                    AND lg."effective" > b."due_date" AND lg."effective" <= {plus})
ORDER BY b."due_date", b."id"
""", (*params, "LATE%", db.sql_date(since - grace), db.sql_date(run_date - grace), False)).fetchall()
    out = []
    for bill_id, aid, number, first, last, due, basis in rows:
        basis = int(basis or 0)
        out.append(PlannedFee(aid, number, f"{first} {last}".strip(), bill_id, db.as_date(due), basis,
                              fees.late_fee_cents(basis, sched)))
    # No fee where collection is held for fees: a kept payment arrangement, a pending pledge.
    held = collection_holds.holds(sorted({f.account_id for f in out}), run_date)
    return [f for f in out if not held.get(f.account_id, set()) & collection_holds.FEE_HOLDS]


def _check_day(run_date: dt.date, today: dt.date | None) -> None:
    today = today or dt.date.today()
    if run_date > today:
        raise ValidationError(f"A late-fee run is for today or an earlier day, not {run_date:%m/%d/%Y}", "run_date")
    last = last_run_date()
    if last is not None and run_date < last:
        raise ValidationError(f"Late fees were run on {last:%m/%d/%Y}: a run is for that day or a later one",
                              "run_date")


@db.connected
def preview(op: OperatorInfo, run_date: dt.date | None = None, *, today: dt.date | None = None) -> Register:
    """The fees a run on the day would charge, recorded as the run's preview (a new preview of a
    run not yet committed replaces the old one)."""
    require(op, "collections.act")
    run_date = run_date or dt.date.today()
    _check_day(run_date, today)
    since = last_run_date(run_date) or run_date - dt.timedelta(days=FIRST_RUN_DAYS)
    planned = plan(run_date, since=since)
    total = sum(f.fee_cents for f in planned)
    R = db.LateFeeRun
    with db.write_txn():
        run = R.get_or_none(R.run_date == run_date)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(run_date=run_date, created_by=op.id, preview_count=len(planned),
                                      preview_total_cents=total).execute()
            except IntegrityError:
                raise RunBusy(f"The late-fee run of {run_date:%m/%d/%Y} was just made by another session: "
                              "preview again") from None
        else:
            run_id = run.id
            if run.status in ("committing", "committed"):
                raise (AlreadyCommitted if run.status == "committed" else RunBusy)(
                    f"The late-fee run of {run_date:%m/%d/%Y} is {run.status}"
                    + (f" ({run.fee_count} fees, {money.fmt_dollars(run.total_cents)})"
                       if run.status == "committed" else ": it cannot be previewed again"))
            n = (R.update(preview_count=len(planned), preview_total_cents=total)
                 .where(R.id == run_id, R.status == "previewed").execute())
            if n != 1:
                raise RunBusy(f"The late-fee run of {run_date:%m/%d/%Y} changed meanwhile: preview again")
        audit.record(op, "late_fees.preview", "late_fee_run", run_id, field=f"{run_date:%m/%d/%Y}",
                     after=f"{len(planned)} fees {money.fmt(total)}")
    return Register(_info(R.get_by_id(run_id)), planned, since, fees.schedule().late_fee_grace_days)


def _after_chunk(run_id: int, written: int) -> None:
    """Test seam: called after each committed chunk."""


@db.connected
def commit(op: OperatorInfo, run_id: int, *, takeover_after: dt.timedelta = dt.timedelta(seconds=60),
           chunk: int = CHUNK) -> RunInfo:
    """Charge the previewed fees, exactly once (see the module's doc)."""
    require(op, "collections.act")
    R, LF = db.LateFeeRun, db.LateFee
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("previewed",), takeover_after)
        if run is None:
            raise NotFound("No such late-fee run")
        what = f"The late-fee run of {db.as_date(run.run_date):%m/%d/%Y}"
        if not claimed:
            if run.status == "committed":
                raise AlreadyCommitted(f"{what} is already committed ({run.fee_count} fees, "
                                       f"{money.fmt_dollars(run.total_cents)})")
            raise RunBusy(f"{what} is being committed by another session (last step {run.heartbeat_at:%H:%M:%S})")
        audit.record(op, "late_fees.commit.start", "late_fee_run", run_id, after=f"claim {token[:8]}")
    run_date = db.as_date(run.run_date)
    since = last_run_date(run_date) or run_date - dt.timedelta(days=FIRST_RUN_DAYS)
    planned = plan(run_date, since=since)
    have_count, have_total = LF.select(fn.COUNT(LF.id), fn.COALESCE(fn.SUM(LF.amount_cents), 0)).where(
        LF.run == run_id).tuples()[0]
    if (have_count + len(planned), int(have_total) + sum(f.fee_cents for f in planned)) != \
            (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(R, run_id, token)
            audit.record(op, "late_fees.commit.refused", "late_fee_run", run_id,
                         after="the fees differ from the preview")
        raise Changed(f"{what}: payments or bills changed since the preview ({run.preview_count} fees "
                      f"{money.fmt_dollars(run.preview_total_cents)}); preview again")
    written = 0
    for i in range(0, len(planned), chunk):
        written += _write_chunk(op, run, token, planned[i:i + chunk])
        _after_chunk(run_id, written)
    with db.write_txn():
        count, total = LF.select(fn.COUNT(LF.id), fn.COALESCE(fn.SUM(LF.amount_cents), 0)).where(
            LF.run == run_id).tuples()[0]
        if not run_claim.finish(R, run_id, token, fee_count=count, total_cents=int(total)):
            raise RunBusy(f"{what}: another session took the run over; it finishes it")
        audit.record(op, "late_fees.commit", "late_fee_run", run_id, before="previewed",
                     after=f"committed {count} fees {money.fmt(int(total))}")
    return _info(R.get_by_id(run_id))


def _write_chunk(op: OperatorInfo, run: db.LateFeeRun, token: str, planned: list[PlannedFee]) -> int:
    """One transaction: the fees of these bills not yet charged, each a ledger entry, a LateFee
    row (unique on the bill) and an audit row on the account."""
    R, LF = db.LateFeeRun, db.LateFee
    run_date = db.as_date(run.run_date)
    pct = fees.schedule().late_fee_percent
    try:
        with db.write_txn():
            if not run_claim.hold(R, run.id, token):
                raise RunBusy(f"The late-fee run of {run_date:%m/%d/%Y}: another session took the run over")
            ids = [f.bill_entry_id for f in planned]
            done = {b for (b,) in LF.select(LF.bill_entry).where(LF.bill_entry.in_(ids)).tuples()}
            todo = [f for f in planned if f.bill_entry_id not in done]
            now = db.now()
            fee_rows, audit_rows = [], []
            texts = {f.bill_entry_id: f"Late fee {pct}% of past-due {money.fmt(f.basis_cents)} "
                                      f"(bill due {f.bill_due:%m/%d/%Y})"[:120] for f in todo}
            refs = {f.bill_entry_id: f"LATE {f.bill_entry_id}" for f in todo}
            sql, p = db.database.execute_sql, db.database.param
            before = sql('SELECT MAX("id") FROM "ledger_entry"').fetchone()[0] or 0
            cols = ("account_id", "posted_at", "effective", "kind", "amount_cents", "description", "reference",
                    "operator_id")
            db.database.cursor().executemany(
                f'INSERT INTO "ledger_entry" ({", ".join(cols)}) VALUES ({", ".join([p] * len(cols))})',
                [(f.account_id, now, run_date, "fee", f.fee_cents, texts[f.bill_entry_id], refs[f.bill_entry_id],
                  op.id) for f in todo])
            entry_of = {ref: i for i, ref in sql(
                f'SELECT "id", "reference" FROM "ledger_entry" WHERE "id" > {p} AND "kind" = {p} '
                f'AND "reference" LIKE {p}', (before, "fee", "LATE %")).fetchall()}
            for f in todo:
                entry = entry_of[refs[f.bill_entry_id]]
                fee_rows.append({"bill_entry": f.bill_entry_id, "account": f.account_id, "run": run.id,
                                 "fee_entry": entry, "basis_cents": f.basis_cents, "amount_cents": f.fee_cents,
                                 "created_at": now})
                audit_rows.append({"operator": op.id, "action": "ledger.fee", "entity": "ledger", "entity_id": entry,
                                   "account": f.account_id, "field": "late fee", "at": now,
                                   "after": f"{money.fmt(f.fee_cents)} {texts[f.bill_entry_id]}"[:200]})
            if fee_rows:
                LF.insert_many(fee_rows).execute()
                db.AuditLog.insert_many(audit_rows).execute()
            run_claim.beat(R, run.id)
    except IntegrityError:
        raise RunBusy(f"The late-fee run of {run_date:%m/%d/%Y}: another run charged some of these bills meanwhile; "
                      "nothing of this step was written: preview again") from None
    return len(todo)


@db.connected
def get_run(run_id: int) -> RunInfo:
    r = db.LateFeeRun.get_or_none(db.LateFeeRun.id == run_id)
    if r is None:
        raise NotFound("No such late-fee run")
    return _info(r)


def pending(as_of: dt.date, cycle: int | None = None) -> dict[int, dt.date]:
    """Accounts (of the cycle) with a bill a run on `as_of` would charge: account -> that day (the
    worklist's next action)."""
    return {f.account_id: as_of for f in plan(as_of, cycle=cycle)}
