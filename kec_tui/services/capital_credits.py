"""Capital credits: a year's margins allocated to the members who paid them, and paid back.

Allocation (DOMAIN.md): the factor is the year's margin / the year's patronage revenue; each
member's share is their revenue (the bills of all their accounts that year, cancelled bills left
out) times the factor, rounded so the shares add up to the margin to the cent: every member gets
the whole cents of their share, and the cents left over go one each to the largest remainders
(ties: the lower member number). Integer arithmetic only.

Retirement pays credits back:
- a general retirement run: chosen years (oldest first on the screen), all of each year or a
  percentage; an active member (an account in service) gets a bill credit, an inactive member a
  check when the total reaches the minimum, else nothing is retired and the credits wait for the
  next retirement;
- early and estate retirement of one member: the present value of the credits at the discount
  rate over the years left in the rotation (KEC: 6.31 %/yr); an estate is paid to the heirs, with
  the paperwork recorded; a supervisor approves each;
- a check not cashed after `unclaimed_days` is unclaimed: the report for the state's
  unclaimed-property program lists it (and marks it, once).

Every run is previewed, approved by a supervisor, committed exactly once (run_claim.py: the run
row unique on its key, chunks that skip what is written) and audited.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from peewee import IntegrityError, fn

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers, reports, run_claim
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError

ACTIVE_STATUSES = ("active", "disconnected")    # a member with such an account is active: a bill credit
CHUNK = 5000                                    # members paid per transaction
ALLOCATION_CHUNK = 50_000                       # allocation rows per transaction
FIRST_YEAR = 1937                               # the co-op's first margins (Kootenai Electric, 1937)


@dataclass(frozen=True)
class Rules:
    rotation_years: int = 28
    discount_percent: Decimal = Decimal("6.31")
    minimum_check_cents: int = 1000
    unclaimed_days: int = 1095


def rules_from(s: config.Settings) -> Rules:
    return Rules(s.capital_credit_rotation_years, Decimal(str(s.capital_credit_discount_percent)),
                 s.capital_credit_minimum_check_cents, s.capital_credit_unclaimed_days)


_rules = Rules()


def rules() -> Rules:
    return _rules


def configure(s: config.Settings) -> Rules:
    global _rules
    _rules = rules_from(s)
    return _rules


class Changed(RunStateError):
    """The run's figures differ from its approved preview: preview again."""


# ---- allocation -------------------------------------------------------------------------------------------

def allocate(margin_cents: int, revenue: dict[int, int]) -> dict[int, int]:
    """`margin_cents` shared out in proportion to `revenue` (member -> cents), largest remainder:
    the shares add up to the margin exactly. Members with no revenue get nothing."""
    if margin_cents <= 0:
        raise ValidationError("An allocation needs a margin above zero", "margin")
    paying = {m: r for m, r in revenue.items() if r > 0}
    total = sum(paying.values())
    if total <= 0:
        raise ValidationError("No member paid revenue that year: nothing to allocate by", "year")
    share: dict[int, int] = {}
    rest = []
    for member, r in paying.items():
        whole, left = divmod(margin_cents * r, total)
        share[member] = whole
        rest.append((-left, member))
    short = margin_cents - sum(share.values())          # fewer than len(paying) cents
    rest.sort()
    for _, member in rest[:short]:
        share[member] += 1
    return share


def revenue(year: int) -> dict[int, int]:
    """Each member's patronage revenue of the year: the bills of all their accounts dated that year,
    less the bills since cancelled (member id -> cents).

    Summed by account first, walking the (account, effective) index in its order (no sort, and a
    ledger of many years is read only where the year is), then by member; the few bills reversed
    are summed apart and taken off. A million accounts' year: 7 s, against 32 s for one query
    that tested each bill for a reversal."""
    p = db.database.param
    span = (db.sql_date(dt.date(year, 1, 1)), db.sql_date(dt.date(year + 1, 1, 1)))
    hint = "" if db.is_postgres() else " INDEXED BY ledger_entry_account_id_effective"
    out: dict[int, int] = {}
    for member, cents in db.database.execute_sql(f"""
SELECT a."member_id", s.total FROM (
    SELECT "account_id", SUM("amount_cents") AS total FROM "ledger_entry"{hint}
    WHERE "kind" = 'bill' AND "effective" >= {p} AND "effective" < {p} GROUP BY "account_id") s
JOIN "account" a ON a."id" = s."account_id\"""", span):
        out[member] = out.get(member, 0) + int(cents)
    for member, cents in db.database.execute_sql(f"""
SELECT a."member_id", SUM(l."amount_cents") FROM "ledger_entry" l JOIN "account" a ON a."id" = l."account_id"
WHERE l."kind" = 'bill' AND l."effective" >= {p} AND l."effective" < {p}
  AND l."id" IN (SELECT "reverses_id" FROM "ledger_entry" WHERE "reverses_id" IS NOT NULL)
GROUP BY a."member_id\"""", span):
        out[member] = out.get(member, 0) - int(cents)
    return {m: c for m, c in out.items() if c}


@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str                   # allocation, retirement
    key: str
    label: str
    status: str                 # previewed, approved, committing, committed
    preview_count: int
    preview_total_cents: int
    approved_by: str
    count: int
    total_cents: int


@dataclass(frozen=True)
class Allocation:
    run: RunInfo
    year: int
    margin_cents: int
    revenue_cents: int
    factor: Decimal             # margin / revenue, for the notice (the shares are exact, not factor x revenue)
    shares: dict[int, int]      # member id -> cents


def _info(r: db.CapitalCreditRun) -> RunInfo:
    who = db.Operator.get_or_none(db.Operator.id == r.approved_by_id) if r.approved_by_id else None
    return RunInfo(r.id, r.kind, r.key, r.label, r.status, r.preview_count, r.preview_total_cents,
                   who.username if who else "", r.item_count, r.total_cents)


def _record_preview(op: OperatorInfo, kind: str, key: str, label: str, params: str, count: int, total: int) -> int:
    """The run row of `key` holding this preview (a new preview of a run not committed replaces the old one
    and needs approval again)."""
    R = db.CapitalCreditRun
    with db.write_txn():
        run = R.get_or_none(R.key == key)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(kind=kind, key=key, label=label, params=params, created_by=op.id,
                                      preview_count=count, preview_total_cents=total).execute()
            except IntegrityError:
                raise RunBusy(f"{label} was just previewed by another session: preview again") from None
        else:
            run_id = run.id
            if run.status in ("committing", "committed"):
                raise (AlreadyCommitted if run.status == "committed" else RunBusy)(
                    f"{label} is {run.status}" + (f" ({run.item_count:,} members, "
                                                  f"{money.fmt_dollars(run.total_cents)})"
                                                  if run.status == "committed" else ""))
            n = (R.update(status="previewed", label=label, params=params, preview_count=count,
                          preview_total_cents=total, approved_by=None, approved_at=None)
                 .where(R.id == run_id, R.status.in_(("previewed", "approved"))).execute())
            if n != 1:
                raise RunBusy(f"{label} changed meanwhile: preview again")
        audit.record(op, f"capcredit.{kind}.preview", "capital_credit_run", run_id, field=label[:40],
                     after=f"{count:,} members {money.fmt(total)}")
    return run_id


@db.connected
def preview_allocation(op: OperatorInfo, year: int, margin_cents: int, *, today: dt.date | None = None) -> Allocation:
    """The allocation of the year's margin, recorded as the year's run (to be approved, then committed)."""
    require(op, "capital_credits.run")
    today = today or dt.date.today()
    if not FIRST_YEAR <= year < today.year:
        raise ValidationError(f"Allocate a year that has ended ({FIRST_YEAR}-{today.year - 1})", "year")
    rev = revenue(year)
    shares = allocate(margin_cents, rev)
    total_rev = sum(r for r in rev.values() if r > 0)
    run_id = _record_preview(op, "allocation", f"allocation {year}", f"Allocation of {year}",
                             f"{margin_cents}", len(shares), margin_cents)
    return Allocation(_info(db.CapitalCreditRun.get_by_id(run_id)), year, margin_cents, total_rev,
                      (Decimal(margin_cents) / total_rev).quantize(Decimal("0.000001")), shares)


@db.connected
def approve(op: OperatorInfo, run_id: int) -> RunInfo:
    """A supervisor approves the previewed run (previewed -> approved)."""
    if op is None or not op.can("capital_credits.approve"):
        raise PermissionDenied("Only a supervisor approves a capital credit run"
                               + (f" ({op.username} is {op.role})" if op else ""))
    R = db.CapitalCreditRun
    with db.write_txn():
        n = R.update(status="approved", approved_by=op.id, approved_at=db.now()).where(
            R.id == run_id, R.status == "previewed").execute()
        run = R.get_or_none(R.id == run_id)
        if run is None:
            raise NotFound("No such capital credit run")
        if n != 1:
            raise RunStateError(f"{run.label} is {run.status}: only a previewed run is approved")
        audit.record(op, f"capcredit.{run.kind}.approve", "capital_credit_run", run_id, field=run.label[:40],
                     before="previewed", after=f"approved {run.preview_count:,} members "
                                               f"{money.fmt(run.preview_total_cents)}")
    return _info(run)


def _claim(op: OperatorInfo, run_id: int, kind: str, takeover_after: dt.timedelta) -> tuple[db.CapitalCreditRun, str]:
    R = db.CapitalCreditRun
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("approved",), takeover_after)
        if run is None or run.kind != kind:
            raise NotFound(f"No such {kind} run")
        if not claimed:
            if run.status == "committed":
                raise AlreadyCommitted(f"{run.label} is already committed ({run.item_count:,} members, "
                                       f"{money.fmt_dollars(run.total_cents)})")
            if run.status == "committing":
                raise RunBusy(f"{run.label} is being committed by another session")
            raise RunStateError(f"{run.label} is not approved: a supervisor approves the preview first")
        audit.record(op, f"capcredit.{kind}.commit.start", "capital_credit_run", run_id,
                     after=f"claim {token[:8]}")
    return run, token


def _refuse_changed(op: OperatorInfo, run: db.CapitalCreditRun, token: str) -> None:
    R = db.CapitalCreditRun
    with db.write_txn():
        run_claim.release(R, run.id, token, approved_by=None, approved_at=None)
        audit.record(op, f"capcredit.{run.kind}.commit.refused", "capital_credit_run", run.id,
                     after="the figures differ from the approved preview")
    raise Changed(f"{run.label}: the figures changed since the preview was approved ({run.preview_count:,} members "
                  f"{money.fmt_dollars(run.preview_total_cents)}); preview and approve again")


def _finish(op: OperatorInfo, run: db.CapitalCreditRun, token: str, count: int, total: int) -> RunInfo:
    R = db.CapitalCreditRun
    with db.write_txn():
        if not run_claim.finish(R, run.id, token, item_count=count, total_cents=total):
            raise RunBusy(f"{run.label}: another session took the run over; it finishes it")
        audit.record(op, f"capcredit.{run.kind}.commit", "capital_credit_run", run.id, field=run.label[:40],
                     before="approved", after=f"committed {count:,} members {money.fmt(total)}")
    return _info(R.get_by_id(run.id))


def _after_chunk(run_id: int, written: int) -> None:
    """Test seam: called after each committed chunk."""


@db.connected
def commit_allocation(op: OperatorInfo, run_id: int, *,
                      takeover_after: dt.timedelta = dt.timedelta(seconds=60)) -> RunInfo:
    """Write the approved allocation, exactly once: one CapitalCredit row per member and year (unique)."""
    require(op, "capital_credits.run")
    run, token = _claim(op, run_id, "allocation", takeover_after)
    year = int(run.key.split()[-1])
    CC = db.CapitalCredit
    shares = allocate(int(run.params), revenue(year))
    if (len(shares), sum(shares.values())) != (run.preview_count, run.preview_total_cents):
        _refuse_changed(op, run, token)
    members = sorted(shares)
    written = 0
    p = db.database.param
    for i in range(0, len(members), ALLOCATION_CHUNK):
        part = members[i:i + ALLOCATION_CHUNK]
        with db.write_txn():
            if not run_claim.hold(db.CapitalCreditRun, run.id, token):
                raise RunBusy(f"{run.label}: another session took the run over")
            done = {m for (m,) in CC.select(CC.member).where(CC.year == year, CC.member.between(part[0], part[-1]))
                    .tuples()}
            rows = [(m, year, shares[m], 0, run.id) for m in part if m not in done]
            db.database.cursor().executemany(       # raw: an allocation writes a row per member
                f'INSERT INTO "capital_credit" ("member_id", "year", "allocated_cents", "retired_cents", "run_id") '
                f'VALUES ({p}, {p}, {p}, {p}, {p})', rows)
            run_claim.beat(db.CapitalCreditRun, run.id)
        written += len(rows)
        _after_chunk(run.id, written)
    count, total = CC.select(fn.COUNT(CC.id), fn.COALESCE(fn.SUM(CC.allocated_cents), 0)).where(
        CC.year == year).tuples()[0]
    return _finish(op, run, token, count, int(total))


# ---- a member's statement ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class YearLine:
    year: int
    allocated_cents: int
    retired_cents: int

    @property
    def balance_cents(self) -> int:
        return self.allocated_cents - self.retired_cents


@dataclass(frozen=True)
class Payment:
    on: dt.date
    kind: str                   # general, early, estate
    face_cents: int             # credits retired
    paid_cents: int             # paid (early and estate: their present value)
    method: str                 # credit, check
    check_no: int | None
    status: str                 # paid, issued, cashed, unclaimed
    payee: str


@dataclass(frozen=True)
class Statement:
    member_id: int
    member_no: int
    name: str
    active: bool
    years: list[YearLine]
    payments: list[Payment]

    @property
    def allocated_cents(self) -> int:
        return sum(y.allocated_cents for y in self.years)

    @property
    def retired_cents(self) -> int:
        return sum(y.retired_cents for y in self.years)

    @property
    def balance_cents(self) -> int:
        return self.allocated_cents - self.retired_cents


def _active(member_ids: list[int]) -> set[int]:
    A = db.Account
    out: set[int] = set()
    for i in range(0, len(member_ids), 900):
        out |= {m for (m,) in A.select(A.member).where(A.member.in_(member_ids[i:i + 900]),
                                                       A.status.in_(ACTIVE_STATUSES)).distinct().tuples()}
    return out


@db.connected
def statement(op: OperatorInfo | None, member_id: int) -> Statement:
    """The member's capital credits by year (allocated, retired, balance) and what was paid them."""
    if op is not None:
        require(op, "account.view")
    m = db.Member.get_or_none(db.Member.id == member_id)
    if m is None:
        raise NotFound("No such member")
    CC, CR = db.CapitalCredit, db.CapitalRetirement
    years = [YearLine(y, a, r) for y, a, r in CC.select(CC.year, CC.allocated_cents, CC.retired_cents)
             .where(CC.member == member_id).order_by(CC.year).tuples()]
    pays: dict[tuple, list] = {}
    for on, kind, face, paid, method, check_no, status, payee in (
            CR.select(CR.paid_on, CR.kind, CR.face_cents, CR.paid_cents, CR.method, CR.check_no, CR.status, CR.payee)
            .where(CR.member == member_id).order_by(CR.paid_on, CR.id).tuples()):
        key = (db.as_date(on), kind, method, check_no, status, payee)
        got = pays.setdefault(key, [0, 0])
        got[0] += face
        got[1] += paid
    payments = [Payment(k[0], k[1], f, p, k[2], k[3], k[4], k[5]) for k, (f, p) in pays.items()]
    return Statement(m.id, m.member_no, f"{m.first_name} {m.last_name}".strip(), bool(_active([m.id])), years,
                     payments)


@db.connected
def member_of_account(account_id: int) -> int:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("No such account")
    return a.member_id


# ---- retirement: general --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedPayment:
    member_id: int
    member_no: int
    name: str
    method: str                 # credit (to account_id), check, held (below the minimum: not retired now)
    account_id: int | None
    by_year: tuple[tuple[int, int], ...]    # (year, cents retired)

    @property
    def cents(self) -> int:
        return sum(c for _, c in self.by_year)


@dataclass(frozen=True)
class Retirement:
    run: RunInfo
    years: tuple[int, ...]
    percent: Decimal
    payments: list[PlannedPayment]      # credits and checks
    held: list[PlannedPayment]          # inactive members under the minimum check

    @property
    def credit_cents(self) -> int:
        return sum(p.cents for p in self.payments if p.method == "credit")

    @property
    def check_cents(self) -> int:
        return sum(p.cents for p in self.payments if p.method == "check")


def oldest_years(count: int) -> list[int]:
    """The `count` oldest years with credits left to retire (a general retirement pays these first)."""
    CC = db.CapitalCredit
    return [y for (y,) in CC.select(CC.year).where(CC.allocated_cents > CC.retired_cents).group_by(CC.year)
            .order_by(CC.year).limit(count).tuples()]


def _check_years(years, percent) -> tuple[tuple[int, ...], Decimal]:
    years = tuple(sorted({int(y) for y in years}))
    if not years:
        raise ValidationError("Choose the years to retire", "years")
    try:
        percent = Decimal(str(percent))
    except Exception:  # noqa: BLE001 - decimal's own errors
        raise ValidationError("The percentage is a number, e.g. 100 or 12.5", "percent") from None
    if not Decimal(0) < percent <= 100:
        raise ValidationError("The percentage is above 0 and at most 100", "percent")
    return years, percent


def plan_retirement(years, percent, rules: Rules | None = None) -> tuple[list[PlannedPayment], list[PlannedPayment]]:
    """(payments, held) of a general retirement of `percent` % of each of `years`' allocations
    (never more than the balance left); member order."""
    rules = rules or _rules
    years, percent = _check_years(years, percent)
    CC, M = db.CapitalCredit, db.Member
    per: dict[int, list[tuple[int, int]]] = {}
    for member, year, allocated, retired in (CC.select(CC.member, CC.year, CC.allocated_cents, CC.retired_cents)
                                             .where(CC.year.in_(years), CC.allocated_cents > CC.retired_cents)
                                             .order_by(CC.member, CC.year).tuples()):
        cents = min(allocated - retired, int((Decimal(allocated) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP)))
        if cents > 0:
            per.setdefault(member, []).append((year, cents))
    ids = sorted(per)
    credit_to: dict[int, int] = {}
    A = db.Account
    for i in range(0, len(ids), 900):
        for member, account in (A.select(A.member, fn.MIN(A.id)).where(A.member.in_(ids[i:i + 900]),
                                                                       A.status.in_(ACTIVE_STATUSES))
                                .group_by(A.member).tuples()):
            credit_to[member] = account
    names: dict[int, tuple[int, str]] = {}
    for i in range(0, len(ids), 900):
        for mid, no, first, last in M.select(M.id, M.member_no, M.first_name, M.last_name).where(
                M.id.in_(ids[i:i + 900])).tuples():
            names[mid] = (no, f"{first} {last}".strip())
    payments, held = [], []
    for member in ids:
        no, name = names[member]
        by_year = tuple(per[member])
        if member in credit_to:
            payments.append(PlannedPayment(member, no, name, "credit", credit_to[member], by_year))
        elif sum(c for _, c in by_year) >= rules.minimum_check_cents:
            payments.append(PlannedPayment(member, no, name, "check", None, by_year))
        else:
            held.append(PlannedPayment(member, no, name, "held", None, by_year))
    return payments, held


def _retirement_key(on: dt.date, years: tuple[int, ...], percent: Decimal) -> tuple[str, str]:
    ys = ",".join(map(str, years))
    return f"retirement {on.isoformat()}", f"Retirement of {on:%m/%d/%Y}: {percent.normalize():f}% of {ys}"


@db.connected
def preview_retirement(op: OperatorInfo, years, percent="100", on: dt.date | None = None) -> Retirement:
    """A general retirement paid on the day, recorded as that day's run (one a day)."""
    require(op, "capital_credits.run")
    on = on or dt.date.today()
    years, percent = _check_years(years, percent)
    payments, held = plan_retirement(years, percent)
    if not payments:
        raise ValidationError("Nothing to retire in those years" + (" (every member is under the minimum check)"
                                                                     if held else ""), "years")
    key, label = _retirement_key(on, years, percent)
    params = f"{','.join(map(str, years))};{percent}"
    run_id = _record_preview(op, "retirement", key, label, params, len(payments), sum(p.cents for p in payments))
    return Retirement(_info(db.CapitalCreditRun.get_by_id(run_id)), years, percent, payments, held)


def _next_check_no() -> int:
    CR = db.CapitalRetirement
    last = CR.select(fn.MAX(CR.check_no)).scalar()
    return (last or 100000) + 1


@db.connected
def commit_retirement(op: OperatorInfo, run_id: int, *,
                      takeover_after: dt.timedelta = dt.timedelta(seconds=60)) -> RunInfo:
    """Pay the approved retirement exactly once: bill credits to active members' accounts, checks to
    inactive members; each member's years retired (unique per run, member and year)."""
    require(op, "capital_credits.run")
    run, token = _claim(op, run_id, "retirement", takeover_after)
    ys, pct = run.params.split(";")
    payments, _ = plan_retirement([int(y) for y in ys.split(",")], pct)
    CR = db.CapitalRetirement
    have = CR.select(fn.COUNT(fn.DISTINCT(CR.member)), fn.COALESCE(fn.SUM(CR.face_cents), 0)).where(
        CR.run == run.id).tuples()[0]
    if (have[0] + len(payments), int(have[1]) + sum(p.cents for p in payments)) != \
            (run.preview_count, run.preview_total_cents):
        _refuse_changed(op, run, token)
    on = dt.date.fromisoformat(run.key.split()[-1])
    written = 0
    for i in range(0, len(payments), CHUNK):
        with db.write_txn():
            if not run_claim.hold(db.CapitalCreditRun, run.id, token):
                raise RunBusy(f"{run.label}: another session took the run over")
            part = payments[i:i + CHUNK]
            done = {m for (m,) in CR.select(CR.member).where(CR.run == run.id,
                                                             CR.member.in_([p.member_id for p in part])).tuples()}
            todo = [p for p in part if p.member_id not in done]
            check_no = _next_check_no()
            for p in todo:
                _pay(op, p, on, "general", run.id, check_no if p.method == "check" else None, p.name, face=None)
                if p.method == "check":
                    check_no += 1
            run_claim.beat(db.CapitalCreditRun, run.id)
        written += len(todo)
        _after_chunk(run.id, written)
    count, total = CR.select(fn.COUNT(fn.DISTINCT(CR.member)), fn.COALESCE(fn.SUM(CR.face_cents), 0)).where(
        CR.run == run.id).tuples()[0]
    return _finish(op, run, token, count, int(total))


def _pay(op: OperatorInfo, p: PlannedPayment, on: dt.date, kind: str, run_id: int | None, check_no: int | None,
         payee: str, *, face=None, paid_by_year: dict[int, int] | None = None, heirs: str = "",
         paperwork: str = "") -> int:
    """In the caller's transaction: retire each year of `p` (guarded against going below zero), the
    bill credit or the check; returns the amount paid."""
    CC, CR = db.CapitalCredit, db.CapitalRetirement
    entry = None
    paid_total = sum((paid_by_year or dict(p.by_year)).values())
    if p.method == "credit":
        entry = db.LedgerEntry.insert(
            account=p.account_id, effective=on, kind="capcredit", amount_cents=-paid_total,
            description=f"Capital credit retirement ({', '.join(str(y) for y, _ in p.by_year)})"[:120],
            reference=f"CAPCR run {run_id}" if run_id else f"CAPCR {kind}", operator=op.id).execute()
    for year, cents in p.by_year:
        n = (CC.update(retired_cents=CC.retired_cents + cents)
             .where(CC.member == p.member_id, CC.year == year, CC.allocated_cents - CC.retired_cents >= cents)
             .execute())
        if n != 1:
            raise ValidationError(f"Member {p.member_no}: retiring {money.fmt_dollars(cents)} of {year} is above "
                                  "the allocated balance left", "amount")
        paid = (paid_by_year or {}).get(year, cents)
        CR.insert(run=run_id, member=p.member_id, year=year, kind=kind, face_cents=cents, paid_cents=paid,
                  method=p.method, account=p.account_id, ledger_entry=entry, check_no=check_no,
                  status="paid" if p.method == "credit" else "issued", paid_on=on, payee=payee[:80],
                  heirs=heirs, paperwork=paperwork, created_by=op.id).execute()
    audit.record(op, f"capcredit.{kind}", "member", p.member_id,
                 account_id=p.account_id, field=", ".join(str(y) for y, _ in p.by_year)[:40],
                 after=(f"{money.fmt(paid_total)} by {'bill credit' if p.method == 'credit' else f'check {check_no}'}"
                        f" to {payee}")[:200])
    return paid_total


# ---- retirement: early and estate ---------------------------------------------------------------------------

def present_value(cents: int, years_left: int, percent: Decimal) -> int:
    """`cents` due in `years_left` years, discounted at `percent` a year, half up to the cent."""
    if years_left <= 0:
        return cents
    factor = (1 + percent / 100) ** years_left
    return int((Decimal(cents) / factor).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True)
class Quote:
    member_id: int
    on: dt.date
    by_year: tuple[tuple[int, int, int, int], ...]     # (year, balance, years left, present value)

    @property
    def face_cents(self) -> int:
        return sum(b for _, b, _, _ in self.by_year)

    @property
    def paid_cents(self) -> int:
        return sum(v for _, _, _, v in self.by_year)


@db.connected
def quote(member_id: int, on: dt.date | None = None, rules: Rules | None = None) -> Quote:
    """The present value today of each year's balance, paid in the rotation (year + rotation_years)."""
    rules = rules or _rules
    on = on or dt.date.today()
    CC = db.CapitalCredit
    rows = []
    for year, allocated, retired in (CC.select(CC.year, CC.allocated_cents, CC.retired_cents)
                                     .where(CC.member == member_id, CC.allocated_cents > CC.retired_cents)
                                     .order_by(CC.year).tuples()):
        left = max(0, year + rules.rotation_years - on.year)
        bal = allocated - retired
        rows.append((year, bal, left, present_value(bal, left, rules.discount_percent)))
    return Quote(member_id, on, tuple(rows))


def _supervisor(approver: OperatorInfo | None) -> None:
    if approver is None or not approver.can("capital_credits.approve"):
        raise PermissionDenied("A supervisor approves an early or estate retirement")


@db.connected
def retire_early(op: OperatorInfo, approver: OperatorInfo | None, member_id: int, *,
                 amount_cents: int | None = None, on: dt.date | None = None) -> int:
    """Retire a member's credits early at their present value (all of them, or `amount_cents` of the
    oldest years first); a supervisor approves. Returns the amount paid (a bill credit to an active
    member, else a check)."""
    return _retire_one(op, approver, member_id, "early", amount_cents, on, "", "")


@db.connected
def retire_estate(op: OperatorInfo, approver: OperatorInfo | None, member_id: int, *, heirs: str, paperwork: str,
                  on: dt.date | None = None) -> int:
    """Pay a deceased member's credits to the heirs at their present value, by check; the heirs and the
    paperwork (death certificate, letters testamentary...) are recorded. A supervisor approves."""
    heirs, paperwork = (heirs or "").strip(), (paperwork or "").strip()
    card_numbers.refuse_all({"heirs": heirs, "paperwork": paperwork})
    if not heirs:
        raise ValidationError("Name the heirs (or the estate's representative) the check is made to", "heirs")
    if not paperwork:
        raise ValidationError("Record the paperwork received (death certificate, letters testamentary ...)",
                              "paperwork")
    return _retire_one(op, approver, member_id, "estate", None, on, heirs[:200], paperwork[:200])


def _retire_one(op, approver, member_id, kind, amount_cents, on, heirs, paperwork) -> int:
    require(op, "capital_credits.run")
    _supervisor(approver)
    on = on or dt.date.today()
    m = db.Member.get_or_none(db.Member.id == member_id)
    if m is None:
        raise NotFound("No such member")
    with db.write_txn():
        q = quote(member_id, on)
        if not q.by_year:
            raise ValidationError(f"Member {m.member_no} has no capital credits left to retire", "amount")
        if amount_cents is not None:
            if amount_cents <= 0:
                raise ValidationError("The amount to retire is above zero", "amount")
            if amount_cents > q.face_cents:
                raise ValidationError(f"{money.fmt_dollars(amount_cents)} is above the allocated balance "
                                      f"({money.fmt_dollars(q.face_cents)})", "amount")
        left = q.face_cents if amount_cents is None else amount_cents
        rules, by_year, paid = _rules, [], {}
        for year, bal, years_left, _ in q.by_year:
            take = min(bal, left)
            if take <= 0:
                break
            by_year.append((year, take))
            paid[year] = present_value(take, years_left, rules.discount_percent)
            left -= take
        account = None
        if kind == "early":
            active = db.Account.select(fn.MIN(db.Account.id)).where(db.Account.member == member_id,
                                                                    db.Account.status.in_(ACTIVE_STATUSES)).scalar()
            account = active
        name = f"{m.first_name} {m.last_name}".strip()
        method = "credit" if account else "check"
        p = PlannedPayment(m.id, m.member_no, name, method, account, tuple(by_year))
        payee = heirs or name
        total = _pay(op, p, on, kind, None, _next_check_no() if method == "check" else None, payee,
                     paid_by_year=paid, heirs=heirs, paperwork=paperwork)
        audit.record(approver, f"capcredit.{kind}.approve", "member", m.id, account_id=account,
                     after=f"{money.fmt(sum(c for _, c in by_year))} face, {money.fmt(total)} paid")
    return total


# ---- checks: cashed, unclaimed -----------------------------------------------------------------------------

@db.connected
def record_cashed(op: OperatorInfo, check_no: int, on: dt.date | None = None) -> None:
    """The bank cleared the check."""
    require(op, "capital_credits.run")
    CR = db.CapitalRetirement
    with db.write_txn():
        n = CR.update(status="cashed", cashed_on=on or dt.date.today()).where(
            CR.check_no == check_no, CR.status.in_(("issued", "unclaimed"))).execute()
        if n == 0:
            if CR.get_or_none(CR.check_no == check_no) is None:
                raise NotFound(f"No capital credit check {check_no}")
            raise ValidationError(f"Check {check_no} is already recorded as cashed", "check_no")
        audit.record(op, "capcredit.cashed", "capital_credit_check", check_no, after=f"cashed {on}")


@dataclass(frozen=True)
class Unclaimed:
    check_no: int
    member_no: int
    payee: str
    issued_on: dt.date
    cents: int
    last_address: str


@db.connected
def unclaimed(on: dt.date | None = None, rules: Rules | None = None) -> list[Unclaimed]:
    """Checks issued `unclaimed_days` ago or more and not cashed: the state's unclaimed property."""
    rules = rules or _rules
    on = on or dt.date.today()
    CR, M = db.CapitalRetirement, db.Member
    cutoff = on - dt.timedelta(days=rules.unclaimed_days)
    rows = (CR.select(CR.check_no, M.member_no, CR.payee, CR.paid_on, fn.SUM(CR.paid_cents), M.mail_street,
                      M.mail_city, M.mail_state, M.mail_zip)
            .join(M, on=(CR.member == M.id))
            .where(CR.method == "check", CR.status.in_(("issued", "unclaimed")), CR.paid_on <= cutoff)
            .group_by(CR.check_no, M.member_no, CR.payee, CR.paid_on, M.mail_street, M.mail_city, M.mail_state,
                      M.mail_zip)
            .order_by(CR.check_no).tuples())
    return [Unclaimed(no, mno, payee, db.as_date(d), int(c), f"{st}, {city} {state} {z}")
            for no, mno, payee, d, c, st, city, state, z in rows]


@db.connected
def unclaimed_report(op: OperatorInfo, directory, on: dt.date | None = None) -> tuple[list[Unclaimed], tuple]:
    """Write the unclaimed-property report (CSV and PDF) and mark its checks unclaimed (audited)."""
    require(op, "capital_credits.run")
    on = on or dt.date.today()
    items = unclaimed(on)
    if not items:
        raise ValidationError(f"No capital credit check is unclaimed on {on:%m/%d/%Y}", "on")
    lines = ["check_no,member_no,payee,issued_on,amount,last_address"]
    text = [f"Unclaimed capital credit checks as of {on:%m/%d/%Y}", "",
            f"{'Check':>7}  {'Member':>7}  {'Issued':10}  {'Amount':>10}  Payee / last address"]
    for u in items:
        lines.append(",".join([str(u.check_no), str(u.member_no), _csv(u.payee), u.issued_on.isoformat(),
                               money.fmt(u.cents).replace(",", ""), _csv(u.last_address)]))
        text.append(f"{u.check_no:>7}  {u.member_no:>7}  {u.issued_on:%m/%d/%Y}  {money.fmt(u.cents):>10}  "
                    f"{u.payee} / {u.last_address}")
    total = sum(u.cents for u in items)
    text += ["", f"{len(items)} checks, {money.fmt_dollars(total)}"]
    paths = reports.write_csv_pdf(directory, f"unclaimed-capital-credits-{on:%Y%m%d}", "\n".join(lines) + "\n",
                                  reports.text_pdf("\n".join(text)), "the unclaimed-property report")
    CR = db.CapitalRetirement
    with db.write_txn():
        CR.update(status="unclaimed").where(CR.check_no.in_([u.check_no for u in items]),
                                            CR.status == "issued").execute()
        audit.record(op, "capcredit.unclaimed", "capital_credit_check", None, field=f"{on:%m/%d/%Y}",
                     after=f"{len(items)} checks {money.fmt(total)} reported")
    return items, paths


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


@db.connected
def get_run(run_id: int) -> RunInfo:
    r = db.CapitalCreditRun.get_or_none(db.CapitalCreditRun.id == run_id)
    if r is None:
        raise NotFound("No such capital credit run")
    return _info(r)



@db.connected
def runs(limit: int = 50) -> list[RunInfo]:
    """The latest capital credit runs, newest first."""
    R = db.CapitalCreditRun
    return [_info(r) for r in R.select().order_by(R.id.desc()).limit(limit)]


def parse_years(text: str) -> list[int]:
    """Years as keyed: "1998", "1998-2000", "1998,2001" (or any mix)."""
    years: set[int] = set()
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or len(low) != 4 or (high and len(high) != 4):
            raise ValidationError("Years as YYYY, YYYY-YYYY or YYYY,YYYY", "years")
        a, b = int(low), int(high or low)
        if b < a or b - a > 100:
            raise ValidationError(f"{part}: a range from the older year to the newer", "years")
        years.update(range(a, b + 1))
    if not years:
        raise ValidationError("Key the years to retire (the oldest first: "
                              f"{', '.join(map(str, oldest_years(3))) or 'none have credits left'})", "years")
    return sorted(years)
