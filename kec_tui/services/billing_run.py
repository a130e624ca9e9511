"""The billing run of one cycle for one period: preview (the billing register), approval
by a supervisor, commit (one bill per account with its lines and one ledger charge),
exactly once; and cancel/rebill of a bill.

Exactly once: the run is a row unique on (cycle, period). Commit claims it with a
guarded UPDATE (approved -> committing, with this session's token: run_claim.py), so a second session
is told it is being committed; the bills are written in chunks, each in one transaction
that first skips the accounts already billed in this run (unique on run, account), so a
commit killed midway is run again and finishes what is missing, never billing twice.
A claim whose committer stopped beating (no chunk for `takeover_after`) may be taken over.

Which reading is billed: the latest reading of the account dated in the read window
before the bill date and after its last bill; the period runs from the reading before it.
No reading: an estimate (the average use of the last months), billed and marked
estimated, and an estimated reading is stored so the next actual read bills the rest.

What is billed is what was approved: the commit plans the cycle again and refuses when the
count or total differ from the approved register; in the process that previewed it, it bills
the previewed plan instead when nothing the plan read has changed since (_Inputs).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import JOIN, Case, fn

from kec_tui import config, db, money
from kec_tui.services import audit, bill_calc, card_numbers, due_dates, rates, readings, run_claim
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError  # noqa: F401 - re-exported

BILLED_STATUSES = ("active", "disconnected", "final")
SAME_PERIOD_DAYS = 15   # a bill this many days or fewer before a period's bill date is that period's


@dataclass(frozen=True)
class RunSettings:
    cycle_days: dict[int, int] = field(default_factory=lambda: {1: 3, 2: 10, 3: 17, 4: 24})  # cycle -> bill day
    read_window_days: int = 35  # a reading this many days before the bill date or less is this period's
    estimate_months: int = 3  # an estimate is the average of this many months' use
    review_limit_cents: int = 250_000  # a bill over this is listed for review
    budget_settlement_month: int = 8  # budget billing: the month of the true-up
    chunk: int = 5000  # accounts per commit transaction


def settings_from(s: config.Settings) -> RunSettings:
    return RunSettings(
        cycle_days={int(k): v for k, v in s.bill_cycle_days.items()} or RunSettings().cycle_days,
        read_window_days=s.read_window_days,
        estimate_months=s.estimate_months,
        review_limit_cents=s.bill_review_limit_cents,
        budget_settlement_month=s.budget_settlement_month,
    )


_settings = RunSettings()


def configure(s: config.Settings) -> RunSettings:
    global _settings
    _settings = settings_from(s)
    return _settings


class NotApproved(RunStateError):
    pass


# ---- what the register shows --------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedBill:
    account_id: int
    account_number: int
    name: str
    city: str
    schedule: str
    kind: str  # regular, first, final
    period_start: dt.date
    period_end: dt.date
    prev_reading: int | None
    reading: int | None
    reading_id: int | None  # None: estimated
    meter_id: int | None
    multiplier: int
    kwh: int
    demand_kw: Decimal | None
    reverse_kwh: int
    estimated: bool
    lines: tuple[bill_calc.Line, ...]
    total_cents: int  # the bill's charges
    exceptions: tuple[str, ...]  # no_reading, estimated, high, low, zero, first, final, over_limit, budget, trueup
    charged_cents: int = 0  # what the ledger is charged: the total, or the budget amount
    budget: str = ""  # levelized, trueup


@dataclass(frozen=True)
class RunInfo:
    id: int
    cycle: int
    period: str
    bill_date: dt.date
    due_date: dt.date
    status: str
    preview_count: int
    preview_total_cents: int
    approved_by: str
    bill_count: int
    total_cents: int


@dataclass(frozen=True)
class Register:
    run: RunInfo
    bills: list[PlannedBill]
    not_billed: list[tuple[int, str]]  # (account number, why): no rates, no reading and no history ...

    @property
    def total_cents(self) -> int:
        """What the run charges (budget accounts their budget amount)."""
        return sum(b.charged_cents for b in self.bills)

    def with_exception(self, code: str) -> list[PlannedBill]:
        return [b for b in self.bills if code in b.exceptions]


def _run_info(r: db.BillingRun) -> RunInfo:
    approver = db.Operator.get_by_id(r.approved_by_id).username if r.approved_by_id else ""
    return RunInfo(
        r.id,
        r.cycle,
        r.period,
        r.bill_date,
        r.due_date,
        r.status,
        r.preview_count,
        r.preview_total_cents,
        approver,
        r.bill_count,
        r.total_cents,
    )


def parse_period(period: str) -> tuple[int, int]:
    text = str(period).strip()
    try:
        year, month = (int(p) for p in text.split("-"))
        dt.date(year, month, 1)
    except ValueError as exc:
        raise ValidationError(f"A period is YYYY-MM, not {text[:10]!r}", "period") from exc
    return year, month


def bill_date_of(cycle: int, period: str, settings: RunSettings | None = None) -> dt.date:
    settings = settings or _settings
    if cycle not in settings.cycle_days:
        raise ValidationError(
            f"No bill cycle {cycle} (cycles: {', '.join(map(str, sorted(settings.cycle_days)))})", "cycle"
        )
    year, month = parse_period(period)
    return dt.date(year, month, settings.cycle_days[cycle])


# ---- planning the bills (preview and commit share this) -----------------------------------------------


def _rows(query) -> list[tuple]:
    """A query's raw rows (no per-value conversion: the run reads tens of thousands)."""
    sql, params = query.sql()
    return db.database.execute_sql(sql, params).fetchall()


# Bills' lines and totals, by everything they depend on (bill_calc.period_key: a whole month on
# one version does not depend on its dates, so most of a cycle shares a few thousand): a commit
# in the process that previewed finds them here too. Dropped when the rate versions are reloaded.
_calcs: dict[tuple, tuple[tuple[bill_calc.Line, ...], int]] = {}
_calcs_for: list = [None]


def _calculate(by_code, vs, period_key, start, end, kwh, demand_kw, reverse, city) -> tuple[tuple, int]:
    """(lines, total cents) of a bill of the period (period_key: bill_calc.period_key(vs, start, end))."""
    if _calcs_for[0] is not by_code or len(_calcs) > 500_000:
        _calcs.clear()
        _calcs_for[0] = by_code
    key = (period_key, kwh, demand_kw, reverse, city)
    got = _calcs.get(key)
    if got is None:
        fee_city = city if vs[-1].fee_percent(city) else ""
        fee_key = (period_key, kwh, demand_kw, reverse, fee_city)     # cities without a fee share bills
        got = _calcs.get(fee_key)
        if got is None:
            calc = bill_calc.calculate(vs, start, end, kwh, demand_kw=demand_kw, reverse_kwh=reverse, city=fee_city)
            got = _calcs[fee_key] = (calc.lines, calc.total_cents)
        _calcs[key] = got
    return got


@dataclass(frozen=True)
class _Inputs:
    """What a plan reads that can change, in a form that is cheap to read again. The commit reads
    it again and, when it is as the preview found it, bills the plan the supervisor approved
    instead of planning the cycle a second time (a fifth of a commit's time at 30,000 accounts).
    Compared whole (==): the database by identity, the rest by value."""

    database: object
    versions: dict
    settings: RunSettings
    bill_date: dt.date
    in_place_changes: int    # to readings and ledger entries (db.CHANGE_COUNTED); else they are only
    newest_reading: int      # added, and a new one has a higher id
    newest_bill_entry: int
    accounts: list           # the cycle's accounts as billed: names, cities, meters, rate classes, budget
    budget: dict


def _in_cycle(cycle: int, bill_date: dt.date):
    """The condition on accounts for a cycle's bills."""
    A = db.Account
    return (A.bill_cycle == cycle) & A.status.in_(BILLED_STATUSES) & (A.opened <= bill_date)


def _read_inputs(cycle: int, period: str, settings: RunSettings) -> _Inputs:
    A, L, M, S = db.Account, db.LedgerEntry, db.Member, db.ServiceLocation
    bill_date = bill_date_of(cycle, period, settings)
    rates.ensure_loaded()
    # these first: a reading or bill changed while the rest is read makes the next look differ
    in_place_changes = db.in_place_changes()
    newest_reading = db.Reading.select(fn.MAX(db.Reading.id)).scalar() or 0
    newest_bill_entry = L.select(L.id).where(L.kind == "bill").order_by(L.id.desc()).limit(1).scalar() or 0
    accounts = _rows(
        A.select(
            A.id,
            A.number,
            A.rate_class,
            A.status,
            A.opened,
            A.meter,
            M.first_name,
            M.last_name,
            S.city,
            db.Meter.multiplier,
            A.budget_billing,
        )
        .join(M, on=(A.member == M.id))
        .switch(A)
        .join(S, on=(A.location == S.id))
        .switch(A)
        .join(db.Meter, JOIN.LEFT_OUTER, on=(A.meter == db.Meter.id))
        .where(_in_cycle(cycle, bill_date))
        .order_by(A.id)
    )
    window_start = bill_date - dt.timedelta(days=settings.read_window_days)
    budget = (
        _budget_facts(A.select(A.id).where(_in_cycle(cycle, bill_date)), bill_date, window_start, settings)
        if any(r[10] for r in accounts)
        else {}
    )
    return _Inputs(
        db.database.obj,
        rates.all_versions(),
        settings,
        bill_date,
        in_place_changes,
        newest_reading,
        newest_bill_entry,
        accounts,
        budget,
    )


def plan(
    cycle: int,
    period: str,
    *,
    run_id: int | None = None,
    settings: RunSettings | None = None,
    usage_checks: bool = True,
    inputs: _Inputs | None = None,
) -> tuple[list[PlannedBill], list[tuple[int, str]]]:
    """The bills of the cycle for the period, computed from the readings and the rates;
    accounts already billed in `run_id` are left out. Bulk queries: a handful for the cycle.
    Without `usage_checks` the high/low exceptions are not looked for (a commit needs
    the bills, not the register's review list). `inputs`: _read_inputs of the cycle, when
    the caller has read them already."""
    settings = settings or _settings
    bill_date = bill_date_of(cycle, period, settings)
    window_start = bill_date - dt.timedelta(days=settings.read_window_days)
    L, R = db.LedgerEntry, db.Reading
    inputs = inputs or _read_inputs(cycle, period, settings)
    by_code, accounts = inputs.versions, inputs.accounts
    class_code: dict[str, str] = {}
    for code, vs in by_code.items():
        for k in vs[-1].classes:
            class_code[k] = code
    cyc = db.Account.select(db.Account.id).where(_in_cycle(cycle, bill_date))
    done: set[int] = set()
    if run_id is not None:
        done = {a for (a,) in _rows(db.Bill.select(db.Bill.account).where(db.Bill.run == run_id))}
    # The last bill: among the recent ones (an index range per account); an account with none
    # recent is asked once more whether it was ever billed (a first bill or not). A bill is a
    # ledger charge, or a bill of the former system (converted: a Bill row with no run and no
    # charge); a rebill is not (it bills an old period again, no reading of its own).
    B = db.Bill
    recent_bills = bill_date - dt.timedelta(days=2 * settings.read_window_days)

    last_bill: dict[int, object] = {}

    def find_last_bills(accounts, since: bool) -> None:
        when = (L.effective > recent_bills) if since else (L.effective <= recent_bills)
        bill_when = (B.bill_date > recent_bills) if since else (B.bill_date <= recent_bills)
        charged = (L.select(L.account, fn.MAX(L.effective))
                   .where(L.account.in_(accounts), when, L.kind == "bill", ~L.reference.startswith("Rebill"))
                   .group_by(L.account))
        converted = (B.select(B.account, fn.MAX(B.bill_date))
                     .where(B.account.in_(accounts), bill_when, B.run.is_null(), B.ledger_entry.is_null(),
                            B.status == "billed")
                     .group_by(B.account))
        for a, d in _rows(charged) + _rows(converted):
            if a not in last_bill or d > last_bill[a]:
                last_bill[a] = d

    find_last_bills(cyc, True)
    missing = [r[0] for r in accounts if r[0] not in last_bill and r[0] not in done]
    for i in range(0, len(missing), 500):  # an index range per account, never the cycle's whole history
        find_last_bills(missing[i : i + 500], False)
    # A bill dated less than half a month before this period's bill date, or after it, is this
    # period's (or a later one's): made outside a run (the demo's, the former system's), it is not
    # made again.
    billed_since = bill_date - dt.timedelta(days=SAME_PERIOD_DAYS)
    billed_since_raw = db.sql_date(billed_since)
    billed_already = f"billed already this period: a bill dated {billed_since:%m/%d/%Y} or later"
    recent: dict[int, list[tuple]] = defaultdict(list)
    for row in _rows(
        R.select(R.account, R.id, R.read_date, R.reading, R.kwh, R.demand_kw, R.reverse_kwh, R.meter)
        .where(
            R.account.in_(cyc),
            R.read_date > bill_date - dt.timedelta(days=2 * settings.read_window_days),
            R.read_date <= bill_date,
        )
        .order_by(R.account, R.read_date, R.id)
    ):
        recent[row[0]].append(row)
    window_raw = db.sql_date(window_start)   # compared as the rows come (ISO text on SQLite): tens of thousands
    year_ago = bill_date - dt.timedelta(days=365)
    hist_avg: dict = {}
    last_year: dict = {}
    if usage_checks:
        # One pass over each account's year of readings: the average of the last 12 months and
        # the most in the same month last year (two queries sought every account's index twice).
        around = (year_ago - dt.timedelta(days=15), year_ago + dt.timedelta(days=15))
        for aid, avg, most in _rows(
            R.select(
                R.account,
                fn.AVG(Case(None, [((R.read_date > year_ago) & (R.read_date <= window_start), R.kwh)], None)),
                fn.MAX(Case(None, [(R.read_date.between(*around), R.kwh)], None)),
            )
            .where(
                R.account.in_(cyc),
                R.read_date >= min(around[0], year_ago),
                R.read_date <= max(window_start, around[1]),
                R.source != "estimated",
            )
            .group_by(R.account)
        ):
            if avg is not None:
                hist_avg[aid] = avg
            if most is not None:
                last_year[aid] = most
    budget = inputs.budget
    planned: list[PlannedBill] = []
    skipped: list[tuple[int, str]] = []
    versions_cache: dict[tuple, tuple] = {}
    day = functools.lru_cache(maxsize=None)(db.as_date)    # a cycle's reads fall on a few dozen days
    limit = settings.review_limit_cents
    for aid, number, rate_class, status, opened, meter_id, first, last, city, multiplier, on_budget in accounts:
        if aid in done:
            continue
        billed_to = last_bill.get(aid)
        rows = recent.get(aid, ())
        fresh = [r for r in rows if r[2] > window_raw and (billed_to is None or r[2] > billed_to) and r[7] == meter_id]
        exceptions: list[str] = []
        if status == "final" and not fresh:
            continue  # closed out, nothing read since: its final bill is made
        if billed_to is not None and billed_to >= billed_since_raw:
            skipped.append((number, billed_already))
            continue
        code = class_code.get(rate_class)
        if code is None:
            skipped.append((number, f"no rate schedule bills rate class {rate_class}"))
            continue
        if fresh:
            cur = fresh[-1]
            before = [r for r in rows if (r[2], r[1]) < (fresh[0][2], fresh[0][1])]
            reading_id, end, reading, kwh, demand, reverse = cur[1], day(cur[2]), cur[3], cur[4], cur[5], cur[6]
            if len(fresh) > 1:      # read more than once since the last bill (a check read, keyed twice):
                kwh = sum(r[4] for r in fresh)              # each reading's kWh is its use since the one before
                reverse = sum(r[6] or 0 for r in fresh)
                demands = [r[5] for r in fresh if r[5] is not None]
                demand = max(demands, key=lambda d: Decimal(str(d))) if demands else None
            prev_reading = before[-1][3] if before else None
            start = day(before[-1][2]) if before else None
            estimated = False
        else:
            est = _estimate(aid, meter_id, bill_date, settings)
            if est is None:
                skipped.append((number, "no reading this period and no use to estimate from"))
                continue
            prev_reading, start, kwh = est
            end = bill_date - dt.timedelta(days=2)
            reading = None if prev_reading is None else prev_reading + kwh // max(multiplier or 1, 1)
            reading_id, demand, reverse, estimated = None, None, 0, True
            exceptions += ["no_reading", "estimated"]
        if start is None or start >= end:
            opened = db.as_date(opened)
            start = max(opened, end - dt.timedelta(days=30)) if opened < end else end - dt.timedelta(days=1)
        kind = "final" if status == "final" else ("first" if billed_to is None else "regular")
        if kind != "regular":
            exceptions.append(kind)
        if not estimated:
            if kwh == 0 and status == "active":
                exceptions.append("zero")
            avg = hist_avg.get(aid)
            if avg or last_year.get(aid):
                exceptions += [
                    i.code
                    for i in readings.usage_issues(kwh, last_year.get(aid), int(avg) if avg is not None else None)
                ]
        key = (code, start, end)
        got = versions_cache.get(key)
        if got is None:
            try:
                vs = rates.versions_for(code, start, end, by_code)
            except NotFound as exc:
                skipped.append((number, exc.message))
                continue
            got = versions_cache[key] = (vs, bill_calc.period_key(vs, start, end))
        vs, period_key = got
        demand_kw = Decimal(str(demand)) if demand is not None else None
        lines, total = _calculate(by_code, vs, period_key, start, end, kwh, demand_kw, reverse or 0, city)
        if total > limit:
            exceptions.append("over_limit")
        charged, plan_kind = total, ""
        if on_budget and kind != "final" and aid in budget:
            avg_kwh, deferred = budget[aid]
            if bill_date.month == settings.budget_settlement_month:
                charged, plan_kind = total + deferred, "trueup"
            else:
                level = _calculate(by_code, vs, period_key, start, end, avg_kwh, None, 0, city)[1]
                charged, plan_kind = (level + 50) // 100 * 100, "levelized"  # to the whole dollar
            exceptions.append("trueup" if plan_kind == "trueup" else "budget")
        planned.append(
            PlannedBill(
                aid,
                number,
                f"{first} {last}".strip(),
                city,
                code,
                kind,
                start,
                end,
                prev_reading,
                reading,
                reading_id,
                meter_id,
                multiplier or 1,
                kwh,
                demand_kw,
                reverse or 0,
                estimated,
                lines,
                total,
                tuple(exceptions),
                charged,
                plan_kind,
            )
        )
    return planned, skipped


def _budget_facts(cyc, bill_date: dt.date, window_start: dt.date, settings: RunSettings) -> dict[int, tuple[int, int]]:
    """Budget-billed accounts of the cycle: (average kWh of the last 12 months, the difference
    between their bills and what was charged since the last true-up)."""
    A, R, B = db.Account, db.Reading, db.Bill
    on = A.select(A.id).where(A.id.in_(cyc), A.budget_billing == True)  # noqa: E712
    year_ago = bill_date - dt.timedelta(days=365)
    avg = dict(
        _rows(
            R.select(R.account, fn.AVG(R.kwh))
            .where(R.account.in_(on), R.read_date > year_ago, R.read_date <= window_start, R.source != "estimated")
            .group_by(R.account)
        )
    )
    deferred: dict[int, int] = {}
    for aid, budget, total, charged in _rows(
        B.select(B.account, B.budget, B.total_cents, B.charged_cents)
        .where(B.account.in_(on), B.status == "billed")
        .order_by(B.account, B.bill_date, B.id)
    ):
        deferred[aid] = 0 if budget == "trueup" else deferred.get(aid, 0) + total - charged
    return {aid: (int(Decimal(str(v)).quantize(Decimal(1))), deferred.get(aid, 0)) for aid, v in avg.items()}


def _estimate(
    account_id: int, meter_id: int | None, bill_date: dt.date, settings: RunSettings
) -> tuple[int | None, dt.date | None, int] | None:
    """(last reading, its date, estimated kWh): the average actual use of the last months."""
    R = db.Reading
    since = bill_date - dt.timedelta(days=31 * settings.estimate_months + settings.read_window_days)
    uses = [
        k
        for (k,) in R.select(R.kwh)
        .where(R.account == account_id, R.read_date > since, R.source != "estimated")
        .tuples()
    ]
    last = (
        R.select(R.reading, R.read_date)
        .where(R.account == account_id, R.meter == meter_id)
        .order_by(R.read_date.desc(), R.id.desc())
        .tuples()
        .first()
    )
    if not uses:
        return None
    kwh = int((Decimal(sum(uses)) / len(uses)).quantize(Decimal(1)))
    return (last[0], last[1], kwh) if last else (None, None, kwh)


# ---- preview, approval --------------------------------------------------------------------------------


@db.connected
def preview(op: OperatorInfo, cycle: int, period: str) -> Register:
    """The billing register of the cycle and period, recorded as the run's preview (a new
    preview of a run not yet committed replaces the old one and needs approval again)."""
    require(op, "billing.run")
    bill_date = bill_date_of(cycle, period)
    rates.ensure_loaded(op)
    inputs = _read_inputs(cycle, period, _settings)
    bills, skipped = plan(cycle, period, inputs=inputs)
    total = sum(b.charged_cents for b in bills)
    BR = db.BillingRun
    with db.write_txn():
        run = BR.get_or_none(BR.cycle == cycle, BR.period == period)
        if run is None:
            run_id = BR.insert(
                cycle=cycle,
                period=period,
                bill_date=bill_date,
                due_date=due_dates.due_date(bill_date),
                created_by=op.id,
                preview_count=len(bills),
                preview_total_cents=total,
            ).execute()
        else:
            run_id = run.id
            if run.status in ("committing", "committed"):
                raise (AlreadyCommitted if run.status == "committed" else RunBusy)(
                    f"Cycle {cycle} {period} is {run.status}: it cannot be previewed again"
                )
            n = (
                BR.update(
                    status="previewed",
                    approved_by=None,
                    approved_at=None,
                    preview_count=len(bills),
                    preview_total_cents=total,
                )
                .where(BR.id == run_id, BR.status.in_(("previewed", "approved")))
                .execute()
            )
            if n != 1:
                raise RunBusy(f"Cycle {cycle} {period} changed meanwhile: preview again")
        audit.record(
            op,
            "billing.preview",
            "billing_run",
            run_id,
            field=f"cycle {cycle} {period}",
            after=f"{len(bills)} bills {money.fmt(total)}; {len(skipped)} not billed",
        )
    _previewed.clear()
    _previewed[run_id] = (inputs, bills)
    return Register(_run_info(BR.get_by_id(run_id)), bills, skipped)


# The last preview's plan in this process (one run), for its commit: see _Inputs.
_previewed: dict[int, tuple[_Inputs, list[PlannedBill]]] = {}


def _bills_to_commit(run: db.BillingRun) -> list[PlannedBill]:
    """The bills the run has still to write: the previewed plan when nothing it read has changed
    since, else the cycle planned again."""
    now = _read_inputs(run.cycle, run.period, _settings)
    previewed = _previewed.pop(run.id, None)
    if previewed is not None and previewed[0] == now:
        done = {a for (a,) in _rows(db.Bill.select(db.Bill.account).where(db.Bill.run == run.id))}
        return [b for b in previewed[1] if b.account_id not in done]
    return plan(run.cycle, run.period, run_id=run.id, usage_checks=False, inputs=now)[0]


@db.connected
def approve(op: OperatorInfo, run_id: int) -> RunInfo:
    """A supervisor approves the previewed register (guarded: previewed -> approved)."""
    if op is None or not op.can("billing.approve"):
        raise PermissionDenied(
            "Only a supervisor approves a billing run" + (f" ({op.username} is {op.role})" if op else "")
        )
    BR = db.BillingRun
    with db.write_txn():
        n = (
            BR.update(status="approved", approved_by=op.id, approved_at=db.now())
            .where(BR.id == run_id, BR.status == "previewed")
            .execute()
        )
        run = BR.get_or_none(BR.id == run_id)
        if run is None:
            raise NotFound("No such billing run")
        if n != 1:
            raise RunStateError(f"Cycle {run.cycle} {run.period} is {run.status}: only a previewed run is approved")
        audit.record(
            op,
            "billing.approve",
            "billing_run",
            run_id,
            field=f"cycle {run.cycle} {run.period}",
            before="previewed",
            after=f"approved {run.preview_count} bills {money.fmt(run.preview_total_cents)}",
        )
    return _run_info(run)


# ---- commit --------------------------------------------------------------------------------------------


def _after_chunk(run_id: int, written: int) -> None:
    """Test seam: called after each committed chunk."""


@db.connected
def commit(
    op: OperatorInfo, run_id: int, *, takeover_after: dt.timedelta = dt.timedelta(seconds=60), chunk: int | None = None
) -> RunInfo:
    """Write the approved run's bills, exactly once (see the module's doc)."""
    require(op, "billing.run")
    BR = db.BillingRun
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(BR, run_id, token, op.id, ("approved",), takeover_after)
        if run is None:
            raise NotFound("No such billing run")
        if not claimed:
            what = f"Cycle {run.cycle} {run.period}"
            if run.status == "committed":
                raise AlreadyCommitted(
                    f"{what} is already billed ({run.bill_count:,} bills, {money.fmt_dollars(run.total_cents)})"
                )
            if run.status == "committing":
                raise RunBusy(f"{what} is being committed by another session (last step {run.heartbeat_at:%H:%M:%S})")
            raise NotApproved(f"{what} is not approved: a supervisor approves the register first")
        audit.record(
            op,
            "billing.commit.start",
            "billing_run",
            run_id,
            field=f"cycle {run.cycle} {run.period}",
            after=f"claim {token[:8]}",
        )
    bills = _bills_to_commit(run)
    B = db.Bill
    have_count, have_total = (
        B.select(fn.COUNT(B.id), fn.COALESCE(fn.SUM(B.charged_cents), 0)).where(B.run == run_id).tuples()[0]
    )
    planned = (have_count + len(bills), int(have_total) + sum(b.charged_cents for b in bills))
    if planned != (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(BR, run_id, token, approved_by=None, approved_at=None)
            audit.record(
                op,
                "billing.commit.refused",
                "billing_run",
                run_id,
                field=f"cycle {run.cycle} {run.period}",
                after="the bills differ from the approved register",
            )
        raise NotApproved(
            f"Cycle {run.cycle} {run.period}: readings or rates changed since the register was "
            f"approved ({run.preview_count} bills {money.fmt(run.preview_total_cents)}); "
            f"preview and approve again"
        )
    size = chunk or _settings.chunk
    written = 0
    for i in range(0, len(bills), size):
        written += _write_chunk(op, run, token, bills[i : i + size])
        _after_chunk(run_id, written)
    with db.write_txn():
        count, total = (
            B.select(fn.COUNT(B.id), fn.COALESCE(fn.SUM(B.charged_cents), 0)).where(B.run == run_id).tuples()[0]
        )
        if not run_claim.finish(BR, run_id, token, bill_count=count, total_cents=int(total)):
            raise RunBusy(f"Cycle {run.cycle} {run.period}: another session took the run over; it finishes it")
        audit.record(
            op,
            "billing.commit",
            "billing_run",
            run_id,
            field=f"cycle {run.cycle} {run.period}",
            before="approved",
            after=f"committed {count} bills {money.fmt(int(total))}",
        )
    return _run_info(BR.get_by_id(run_id))


def _insert(model, fields, rows) -> None:
    if not rows:
        return
    cols = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([db.database.param] * len(fields))
    db.database.cursor().executemany(f'INSERT INTO "{model._meta.table_name}" ({cols}) VALUES ({marks})', rows)


def _ledger_text(b: PlannedBill, what: str) -> str:
    est = " (estimated)" if b.estimated else ""
    if b.budget == "levelized":
        text = f"Budget billing (actual {money.fmt(b.total_cents)}, {b.kwh:,} kWh{est})"
    elif b.budget == "trueup":
        text = (
            f"Budget true-up (actual {money.fmt(b.total_cents)} + settled {money.fmt(b.charged_cents - b.total_cents)})"
        )
    else:
        text = f"Electric service {b.kwh:,} kWh{est}"
    return (text + what)[:120]


def _write_chunk(op: OperatorInfo, run: db.BillingRun, token: str, bills: list[PlannedBill]) -> int:
    """One transaction: the bills of these accounts (ascending ids) not yet written in this run.
    Raw statements: a run writes hundreds of thousands of rows."""
    B, L, LE, R = db.Bill, db.BillLine, db.LedgerEntry, db.Reading
    BR = db.BillingRun
    p = db.database.param
    sql = db.database.execute_sql
    with db.write_txn():
        if not run_claim.hold(BR, run.id, token):
            raise RunBusy(f"Cycle {run.cycle} {run.period}: another session took the run over")
        low, high = bills[0].account_id, bills[-1].account_id
        in_run = f'SELECT "account_id", "id" FROM "bill" WHERE "run_id" = {p} AND "account_id" BETWEEN {p} AND {p}'
        done = {a for a, _ in sql(in_run, (run.id, low, high)).fetchall()}
        todo = [b for b in bills if b.account_id not in done]
        if not todo:
            return 0
        now = db.now()
        reading_ids: dict[int, int | None] = {}
        for b in todo:
            reading_ids[b.account_id] = b.reading_id
            if b.estimated and b.reading is not None:
                reading_ids[b.account_id] = R.insert(
                    account=b.account_id,
                    meter=b.meter_id,
                    read_date=b.period_end,
                    reading=b.reading,
                    kwh=b.kwh,
                    source="estimated",
                ).execute()
        before = sql('SELECT MAX("id") FROM "ledger_entry"').fetchone()[0] or 0
        what = f", cycle {run.cycle} {run.period}"
        ref = f"Billing run {run.id}"
        _insert(
            LE,
            (
                LE.account,
                LE.posted_at,
                LE.effective,
                LE.kind,
                LE.amount_cents,
                LE.description,
                LE.reference,
                LE.due_date,
                LE.operator,
            ),
            [
                (
                    b.account_id,
                    now,
                    run.bill_date,
                    "bill",
                    b.charged_cents,
                    _ledger_text(b, what),
                    ref,
                    run.due_date,
                    op.id,
                )
                for b in todo
            ],
        )
        # this chunk's entries: the new ones of this run (one per account: the chunk's accounts are new to it)
        entry = {
            a: i
            for i, a in sql(
                f'SELECT "id", "account_id" FROM "ledger_entry" WHERE "id" > {p} '
                f'AND "kind" = {p} AND "reference" = {p}',
                (before, "bill", ref),
            ).fetchall()
        }
        if not all(b.account_id in entry for b in todo):
            raise ServiceError(f"Cycle {run.cycle} {run.period}: a bill's ledger charge went missing; nothing written")
        _insert(
            B,
            (
                B.run,
                B.account,
                B.kind,
                B.bill_date,
                B.due_date,
                B.period_start,
                B.period_end,
                B.schedule,
                B.kwh,
                B.demand_kw,
                B.reverse_kwh,
                B.prev_reading,
                B.reading,
                B.reading_row,
                B.estimated,
                B.total_cents,
                B.status,
                B.operator,
                B.created_at,
                B.cancel_reason,
                B.ledger_entry,
                B.charged_cents,
                B.budget,
            ),
            [
                (
                    run.id,
                    b.account_id,
                    b.kind,
                    run.bill_date,
                    run.due_date,
                    b.period_start,
                    b.period_end,
                    b.schedule,
                    b.kwh,
                    str(b.demand_kw) if b.demand_kw is not None else None,
                    b.reverse_kwh,
                    b.prev_reading,
                    b.reading,
                    reading_ids[b.account_id],
                    b.estimated,
                    b.total_cents,
                    "billed",
                    op.id,
                    now,
                    "",
                    entry[b.account_id],
                    b.charged_cents,
                    b.budget,
                )
                for b in todo
            ],
        )
        bill_id = {a: i for a, i in sql(in_run, (run.id, low, high)).fetchall() if a not in done}
        _insert(
            L,
            (L.bill, L.seq, L.code, L.description, L.quantity, L.rate, L.amount_cents),
            [
                (bill_id[b.account_id], i, ln.code, ln.description, ln.quantity, ln.rate, ln.amount_cents)
                for b in todo
                for i, ln in enumerate(b.lines, start=1)
            ],
        )
        run_claim.beat(BR, run.id)
    return len(todo)


# ---- one bill: read back, cancel, rebill ------------------------------------------------------------------


@dataclass(frozen=True)
class BillInfo:
    id: int
    account_id: int
    account_number: int
    run_id: int | None
    kind: str
    status: str
    bill_date: dt.date
    due_date: dt.date
    period_start: dt.date
    period_end: dt.date
    schedule: str
    prev_reading: int | None
    reading: int | None
    kwh: int
    demand_kw: Decimal | None
    reverse_kwh: int
    estimated: bool
    total_cents: int
    ledger_entry_id: int | None
    lines: tuple[bill_calc.Line, ...]
    charged_cents: int = 0
    budget: str = ""


@db.connected
def get_bill(bill_id: int) -> BillInfo:
    b = db.Bill.get_or_none(db.Bill.id == bill_id)
    if b is None:
        raise NotFound("No such bill")
    L = db.BillLine
    lines = tuple(
        bill_calc.Line(c, d, q, r, a)
        for c, d, q, r, a in L.select(L.code, L.description, L.quantity, L.rate, L.amount_cents)
        .where(L.bill == bill_id)
        .order_by(L.seq)
        .tuples()
    )
    number = db.Account.select(db.Account.number).where(db.Account.id == b.account_id).scalar()
    return BillInfo(
        b.id,
        b.account_id,
        number,
        b.run_id,
        b.kind,
        b.status,
        b.bill_date,
        b.due_date,
        b.period_start,
        b.period_end,
        b.schedule,
        b.prev_reading,
        b.reading,
        b.kwh,
        Decimal(str(b.demand_kw)) if b.demand_kw is not None else None,
        b.reverse_kwh,
        b.estimated,
        b.total_cents,
        b.ledger_entry_id,
        lines,
        b.charged_cents,
        b.budget,
    )


@db.connected
def bills_of_run(run_id: int) -> list[int]:
    return [i for (i,) in db.Bill.select(db.Bill.id).where(db.Bill.run == run_id).order_by(db.Bill.id).tuples()]


def _cancel(op: OperatorInfo, b: db.Bill, reason: str) -> None:
    n = (
        db.Bill.update(status="cancelled", cancel_reason=reason[:200])
        .where(db.Bill.id == b.id, db.Bill.status == "billed")
        .execute()
    )
    if n != 1:
        raise RunStateError(f"Bill {b.id} is already cancelled")
    if b.ledger_entry_id:
        db.LedgerEntry.insert(
            account=b.account_id,
            effective=dt.date.today(),
            kind="reversal",
            amount_cents=-b.charged_cents,
            description=f"Bill of {b.bill_date:%m/%d/%Y} cancelled"[:120],
            reference=f"Bill {b.id} cancelled"[:40],
            operator=op.id,
            reverses=b.ledger_entry_id,
        ).execute()
    audit.record(
        op,
        "bill.cancel",
        "bill",
        b.id,
        account_id=b.account_id,
        field="status",
        before=f"billed {money.fmt(b.charged_cents)}",
        after=f"cancelled: {reason}"[:200],
    )


def _locked_bill(bill_id: int) -> db.Bill:
    """The bill, locked for the change in the caller's write transaction."""
    b = db.locked(db.Bill, bill_id)
    if b is None:
        raise NotFound("No such bill")
    return b


@db.connected
def cancel_bill(op: OperatorInfo, bill_id: int, reason: str) -> BillInfo:
    """Cancel a bill: its charge reversed by a new ledger entry, audited with the reason."""
    require(op, "billing.adjust")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the bill is cancelled", "reason")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        b = _locked_bill(bill_id)
        _cancel(op, b, reason)
    return get_bill(bill_id)


@db.connected
def rebill(
    op: OperatorInfo,
    bill_id: int,
    reason: str,
    *,
    kwh: int | None = None,
    demand_kw: Decimal | None = None,
    reverse_kwh: int | None = None,
) -> BillInfo:
    """Cancel a bill and bill the period again (with corrected kWh, demand or reverse kWh):
    a new bill that names the one it replaces, a reversal and a new charge, audited."""
    require(op, "billing.adjust")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the bill is made again", "reason")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        b = _locked_bill(bill_id)
        account = db.Account.get_by_id(b.account_id)
        city = db.ServiceLocation.get_by_id(account.location_id).city
        _cancel(op, b, reason)
        kwh = b.kwh if kwh is None else kwh
        demand = (
            demand_kw if demand_kw is not None else (Decimal(str(b.demand_kw)) if b.demand_kw is not None else None)
        )
        reverse = b.reverse_kwh if reverse_kwh is None else reverse_kwh
        vs = rates.versions_for(b.schedule, b.period_start, b.period_end)
        calc = bill_calc.calculate(
            vs, b.period_start, b.period_end, kwh, demand_kw=demand, reverse_kwh=reverse, city=city
        )
        today = dt.date.today()
        due = due_dates.due_date(today)
        entry = db.LedgerEntry.insert(
            account=b.account_id,
            effective=today,
            kind="bill",
            amount_cents=calc.total_cents,
            description=f"Rebill {b.period_start:%m/%d}-{b.period_end:%m/%d/%Y} {kwh:,} kWh"[:120],
            reference=f"Rebill of bill {b.id}"[:40],
            due_date=due,
            operator=op.id,
        ).execute()
        new_id = db.Bill.insert(
            run=None,
            account=b.account_id,
            kind="rebill",
            bill_date=today,
            due_date=due,
            period_start=b.period_start,
            period_end=b.period_end,
            schedule=b.schedule,
            kwh=kwh,
            demand_kw=demand,
            reverse_kwh=reverse,
            prev_reading=b.prev_reading,
            reading=b.reading,
            reading_row=b.reading_row_id,
            estimated=False,
            total_cents=calc.total_cents,
            charged_cents=calc.total_cents,
            ledger_entry=entry,
            replaces=b.id,
            operator=op.id,
        ).execute()
        _insert(
            db.BillLine,
            (
                db.BillLine.bill,
                db.BillLine.seq,
                db.BillLine.code,
                db.BillLine.description,
                db.BillLine.quantity,
                db.BillLine.rate,
                db.BillLine.amount_cents,
            ),
            [
                (new_id, i, ln.code, ln.description[:120], ln.quantity[:30], ln.rate[:30], ln.amount_cents)
                for i, ln in enumerate(calc.lines, start=1)
            ],
        )
        audit.record(
            op,
            "bill.rebill",
            "bill",
            new_id,
            account_id=b.account_id,
            field="total",
            before=f"bill {b.id} {money.fmt(b.total_cents)} ({b.kwh:,} kWh)",
            after=f"{money.fmt(calc.total_cents)} ({kwh:,} kWh): {reason}"[:200],
        )
    return get_bill(new_id)


@db.connected
def get_run(run_id: int) -> RunInfo:
    r = db.BillingRun.get_or_none(db.BillingRun.id == run_id)
    if r is None:
        raise NotFound("No such billing run")
    return _run_info(r)
