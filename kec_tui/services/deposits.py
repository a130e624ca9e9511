"""Deposits: billed when the credit rules call for one, in installments if agreed, interest if the
co-op pays it, refunded (credited to the account) after prompt payment, applied on the final bill.

The one rule for what is held: `Account.deposit_cents`. Each installment billed adds to it; the
review's refund, the final bill (apply_on_final, called by the closure) and a move (follow_move)
take it. The Deposit rows say why and when (a deposit billed before these rows, at a new
membership, is held since the account opened).

When the rules call for a deposit (`assess`), in the 12 months before the day:
  late_history        at least `deposit_late_bills` bills not paid by their due date (the worklist's
                      rule: on its due date the account still owed something due by then)
  returned_payments   at least `deposit_returned_payments` payments returned
  reconnect           a disconnection for non-payment (the account is disconnected, or a
                      disconnect order was completed)
The amount: `deposit_months` (2) x the account's average bill of those 12 months, rounded to the
dollar, or the location's (memberships.deposit_quote: the flat deposit without history); less
what is held already. Billed in 1 to `deposit_max_installments` monthly installments, the first
at once (due 20 days later), the rest by the deposit review on their days. "bankruptcy" (the
adequate assurance, bankruptcy.py) and "other" (with a note) are billed when the MSR says so.

The deposit review of a day (preview, then commit exactly once, run_claim.py):
  - bills the installments whose day has come;
  - refunds the deposit of an active account held `deposit_refund_months` (12) whose last 12
    months show no bill paid late and no payment returned, with nothing past due on the day: a
    credit on the account of the whole deposit held (and the interest due); the deposit held goes to 0;
  - credits a year's interest (`deposit_interest_percent`, simple, 0 by default) on each deposit
    held a further year.
Each step is guarded in the database (an installment's entry set once, the deposit held taken
only if it is still what the plan saw, the interest date moved only from what it was), so two
sessions or a second commit never post twice.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from peewee import IntegrityError, fn

from kec_tui import db, money
from kec_tui.services import aging, audit, credit_rules, due_dates, fees, memberships, orders, run_claim
from kec_tui.services.accounts import display_name
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError

__all__ = ["AlreadyCommitted", "RunBusy", "RunStateError", "Changed"]

REASONS = {
    "late_history": "Bills paid late",
    "returned_payments": "Payments returned",
    "reconnect": "Reconnect after disconnection for non-payment",
    "bankruptcy": "Adequate assurance (bankruptcy)",
    "other": "Other",
}
RULE_REASONS = ("late_history", "returned_payments", "reconnect")
DISCONNECT_KINDS = ("disconnect_nonpay", "remote_disconnect")
MAX_CENTS = 500_000                 # one deposit is at most $5,000.00
KIND = "deposit"                    # CreditRun.kind of the review


class Changed(RunStateError):
    """The review's work differs from the preview: preview again."""


@dataclass(frozen=True)
class History:
    late_bills: int
    returns: int
    disconnected: bool


@dataclass(frozen=True)
class Assessment:
    account_id: int
    number: int
    reasons: tuple[str, ...]        # keys of REASONS the rules call for (empty: none)
    history: History
    amount_cents: int               # the rule's deposit
    basis: str
    held_cents: int                 # held already
    billing_cents: int              # of deposits still being billed in installments, not yet billed

    @property
    def due_cents(self) -> int:
        """What a new deposit would be: the rule's amount less what is held or still to be billed."""
        return max(0, self.amount_cents - self.held_cents - self.billing_cents)

    def describe(self) -> str:
        if not self.reasons:
            return "The rules call for no deposit"
        why = "; ".join(REASONS[r] for r in self.reasons)
        return (f"Deposit called for ({why}): {money.fmt_dollars(self.amount_cents)} ({self.basis}), "
                f"held {money.fmt_dollars(self.held_cents)}, due {money.fmt_dollars(self.due_cents)}")


@dataclass(frozen=True)
class DepositInfo:
    id: int
    account_id: int
    number: int
    reason: str
    amount_cents: int
    installments: int
    billed_cents: int
    status: str
    billed_on: dt.date
    held_since: dt.date | None
    schedule: tuple[tuple[dt.date, int, str], ...]     # (bill on, cents, status) per installment


@dataclass(frozen=True)
class ReviewItem:
    kind: str                       # installment, interest, refund
    account_id: int
    number: int
    name: str
    cents: int                      # + billed, - credited
    text: str
    key: int                        # the installment / deposit row (0: a deposit held without a row)
    guard: str                      # what the row held when planned (the exactly-once check)


@dataclass(frozen=True)
class Review:
    run_id: int
    run_date: dt.date
    status: str
    items: list[ReviewItem]

    @property
    def billed_cents(self) -> int:
        return sum(i.cents for i in self.items if i.cents > 0)

    @property
    def credited_cents(self) -> int:
        return -sum(i.cents for i in self.items if i.cents < 0)


# ---- the rules ------------------------------------------------------------------------------------------

def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def late_bills(account_ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """Bills due after `start` and before `end` that were not paid by their due date, per account
    (the worklist's rule: on its due date the account still owed something due by then)."""
    p = db.database.param
    out: dict[int, int] = {}
    for part in _chunks(list(account_ids)):
        marks = ", ".join([p] * len(part))
        rows = db.database.execute_sql(f"""
WITH ev AS (
  SELECT l."account_id" AS a, l."kind" AS kind, COALESCE(l."due_date", l."effective") AS d, l."amount_cents" AS amt
  FROM "ledger_entry" l WHERE l."amount_cents" > 0 AND l."effective" <= {p} AND l."account_id" IN ({marks})
  UNION ALL
  SELECT l."account_id", l."kind", l."effective", l."amount_cents"
  FROM "ledger_entry" l WHERE l."amount_cents" < 0 AND l."effective" <= {p} AND l."account_id" IN ({marks})
),
run AS (SELECT a, kind, d, SUM(amt) OVER (PARTITION BY a ORDER BY d) AS owing FROM ev)
SELECT a, COUNT(*) FROM run WHERE kind = 'bill' AND d > {p} AND d < {p} AND owing > 0 GROUP BY a""",
                                       (db.sql_date(end), *part, db.sql_date(end), *part, db.sql_date(start),
                                        db.sql_date(end))).fetchall()
        out.update({a: int(n) for a, n in rows})
    return out


def returns(account_ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """Payments returned after `start`, up to `end`, per account."""
    R = db.ReturnedPayment
    out: dict[int, int] = {}
    for part in _chunks(list(account_ids)):
        for aid, n in (R.select(R.account, fn.COUNT(R.id))
                       .where(R.account.in_(part), R.returned_on > start, R.returned_on <= end)
                       .group_by(R.account).tuples()):
            out[aid] = int(n)
    return out


def history(account_id: int, as_of: dt.date) -> History:
    """The last 12 months of the account: bills paid late, payments returned, a disconnection for non-payment."""
    start = as_of - relativedelta(years=1)
    a = db.Account.get_by_id(account_id)
    O = db.ServiceOrder
    cut = O.select().where(O.account == account_id, O.kind.in_(DISCONNECT_KINDS), O.status == "completed",
                           O.completed_at > dt.datetime.combine(start, dt.time.min)).exists()
    return History(late_bills([account_id], start, as_of).get(account_id, 0),
                   returns([account_id], start, as_of).get(account_id, 0),
                   a.status == "disconnected" or cut)


def amount_rule(account_id: int, as_of: dt.date) -> tuple[int, str]:
    """`deposit_months` x the account's average bill of the last 12 months, rounded to the dollar;
    without bills, the location's rule (memberships.deposit_quote)."""
    L = db.LedgerEntry
    total, count = (L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0), fn.COUNT(L.id))
                    .where(L.account == account_id, L.kind == "bill",
                           L.effective > as_of - dt.timedelta(days=365), L.effective <= as_of).tuples().first())
    total, count = int(total or 0), int(count or 0)
    months = fees.schedule().deposit_months
    if count == 0 or total <= 0:
        q = memberships.deposit_quote(db.Account.get_by_id(account_id).location_id, as_of)
        return q.amount_cents, q.basis
    dollars = (months * total + 50 * count) // (100 * count)
    average = (total + count // 2) // count
    return dollars * 100, f"{months}x the average bill {money.fmt_dollars(average)} ({count} bills in 12 months)"


def _account(account_id: int) -> db.Account:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("No such account", "account")
    return a


def _billing_cents(account_id: int) -> int:
    """Installments of this account's deposits not yet billed."""
    I, D = db.DepositInstallment, db.Deposit
    return int(I.select(fn.COALESCE(fn.SUM(I.amount_cents), 0)).join(D, on=(I.deposit == D.id))
               .where(D.account == account_id, I.status == "pending").scalar() or 0)


@db.connected
def assess(account_id: int, as_of: dt.date | None = None) -> Assessment:
    """Whether the rules call for a deposit on the account, and how much."""
    as_of = as_of or dt.date.today()
    a = _account(account_id)
    h = history(account_id, as_of)
    r = credit_rules.rules()
    reasons = []
    if r.deposit_late_bills and h.late_bills >= r.deposit_late_bills:
        reasons.append("late_history")
    if r.deposit_returned_payments and h.returns >= r.deposit_returned_payments:
        reasons.append("returned_payments")
    if h.disconnected:
        reasons.append("reconnect")
    amount, basis = amount_rule(account_id, as_of)
    return Assessment(a.id, a.number, tuple(reasons), h, amount, basis, a.deposit_cents, _billing_cents(a.id))


@db.connected
def before_reconnect(account_id: int, order_kind: str, as_of: dt.date | None = None) -> str:
    """After an order is made: for a reconnect, the deposit the rules call for and that is neither held
    nor being billed, as the MSR is to ask for it before the crew goes out; else ""."""
    if order_kind not in orders.RECONNECT_KINDS:
        return ""
    a = assess(account_id, as_of)
    if not a.reasons or a.due_cents <= 0:
        return ""
    why = "; ".join(REASONS[r].lower() for r in a.reasons)
    return f"Ask for a deposit of {money.fmt_dollars(a.due_cents)} before the crew goes out ({why})"


# ---- billing a deposit ------------------------------------------------------------------------------------

def split(amount_cents: int, installments: int) -> list[int]:
    """Equal installments in cents, the odd cents on the first."""
    part, odd = divmod(amount_cents, installments)
    return [part + odd] + [part] * (installments - 1)


def _info(d: db.Deposit) -> DepositInfo:
    I = db.DepositInstallment
    sched = tuple((db.as_date(i.bill_on), i.amount_cents, i.status)
                  for i in I.select().where(I.deposit == d.id).order_by(I.seq))
    a = db.Account.get_by_id(d.account_id)
    return DepositInfo(d.id, a.id, a.number, d.reason, d.amount_cents, d.installments, d.billed_cents, d.status,
                       db.as_date(d.billed_on), db.as_date(d.held_since), sched)


def _bill_installment(op: OperatorInfo | None, inst: db.DepositInstallment, day: dt.date) -> int | None:
    """Bill one installment (in the caller's write transaction), once: None if it was billed meanwhile."""
    I, D, A = db.DepositInstallment, db.Deposit, db.Account
    n = I.update(status="billed").where(I.id == inst.id, I.status == "pending").execute()
    if n != 1:
        return None
    d = D.get_by_id(inst.deposit_id)
    of = f" (installment {inst.seq} of {d.installments})" if d.installments > 1 else ""
    entry = fees.post(op, d.account_id, "deposit", inst.amount_cents, f"Security deposit: {REASONS[d.reason]}{of}",
                      reference="DEPOSIT", effective=day, due_date=db.as_date(inst.due_date),
                      audit_action="deposit.bill")
    I.update(ledger_entry=entry).where(I.id == inst.id).execute()
    held = A.get_by_id(d.account_id).deposit_cents
    A.update(deposit_cents=A.deposit_cents + inst.amount_cents).where(A.id == d.account_id).execute()
    audit.record(op, "deposit.bill", "account", d.account_id, account_id=d.account_id, field="deposit_cents",
                 before=money.fmt(held), after=f"{money.fmt(held + inst.amount_cents)}{of}")
    billed = d.billed_cents + inst.amount_cents
    last = not I.select().where(I.deposit == d.id, I.status == "pending").exists()
    D.update(billed_cents=billed, **({"status": "held", "held_since": day} if last else {})).where(
        D.id == d.id).execute()
    return entry


@db.connected
def bill(op: OperatorInfo, account_id: int, reason: str, *, amount_cents: int | None = None, installments: int = 1,
         note: str = "", today: dt.date | None = None, due_date: dt.date | None = None) -> DepositInfo:
    """Bill a deposit on the account: the first installment now, the rest monthly (the review bills them).
    `amount_cents` None: what the rules call for less what is held. Refused when the rules do not
    call for the reason given (bankruptcy and other excepted), on a final or closed account, while
    another deposit is still being billed."""
    require(op, "deposit.bill")
    today = today or dt.date.today()
    reason = (reason or "").strip().lower()
    if reason not in REASONS:
        raise ValidationError(f"Reason: one of {', '.join(REASONS)}", "reason")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise ValidationError("Say why a deposit is asked (reason Other)", "note")
    if len(note) > 200:
        raise ValidationError("The note is at most 200 characters", "note")
    r = credit_rules.rules()
    if isinstance(installments, bool) or not isinstance(installments, int) or not \
            1 <= installments <= r.deposit_max_installments:
        raise ValidationError(f"Installments: 1 to {r.deposit_max_installments}", "installments")
    a = _account(account_id)
    if a.status in ("final", "closed"):
        raise ValidationError(f"Account {a.number} is {a.status}: no deposit is billed on it", "account")
    found = assess(a.id, today)
    if reason in RULE_REASONS and reason not in found.reasons:
        h = found.history
        raise ValidationError(
            f"The rules do not call for a deposit for {REASONS[reason].lower()} on account {a.number} "
            f"(12 months: {h.late_bills} bills late, {h.returns} returned payments"
            f"{', disconnected for non-payment' if h.disconnected else ''})", "reason")
    if found.billing_cents:
        raise ValidationError(f"Account {a.number} has a deposit still being billed in installments "
                              f"({money.fmt_dollars(found.billing_cents)} to come)", "account")
    if amount_cents is None:
        amount_cents = found.due_cents
        basis = found.basis
        if amount_cents <= 0:
            raise ValidationError(f"Account {a.number} holds {money.fmt_dollars(found.held_cents)}, the rule's "
                                  f"deposit ({found.basis}): nothing more is due", "amount")
    else:
        basis = "keyed"
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Amount: more than zero", "amount")
    if amount_cents > MAX_CENTS:
        raise ValidationError(f"Amount: at most {money.fmt_dollars(MAX_CENTS)}", "amount")
    if amount_cents < installments:
        raise ValidationError("Amount: at least a cent an installment", "installments")
    with db.write_txn():
        d = db.Deposit.create(account=a.id, reason=reason, basis=(basis + (f"; {note}" if note else ""))[:200],
                              amount_cents=amount_cents, installments=installments, billed_on=today,
                              interest_through=today, operator=op.id)
        for i, cents in enumerate(split(amount_cents, installments)):
            day = today + relativedelta(months=i)
            due = due_date if (i == 0 and due_date is not None) else due_dates.due_date(day)
            db.DepositInstallment.create(deposit=d.id, seq=i + 1, bill_on=day, due_date=due, amount_cents=cents)
        audit.record(op, "deposit.agree", "deposit", d.id, account_id=a.id, field=reason,
                     after=f"{money.fmt(amount_cents)} in {installments} installment(s) ({basis})"[:200])
        if note:
            db.Note.create(account=a.id, operator=op.id, text=f"Deposit: {note}")
        first = db.DepositInstallment.get(db.DepositInstallment.deposit == d.id, db.DepositInstallment.seq == 1)
        _bill_installment(op, first, today)
        return _info(db.Deposit.get_by_id(d.id))


@db.connected
def for_account(account_id: int) -> list[DepositInfo]:
    """The account's deposits, newest first."""
    D = db.Deposit
    return [_info(d) for d in D.select().where(D.account == account_id).order_by(D.id.desc())]


# ---- interest, the final bill and a move ---------------------------------------------------------------

def interest_cents(held_cents: int, start: dt.date, end: dt.date, percent: Decimal | None = None) -> int:
    """Simple interest on `held_cents` from `start` to `end` at `percent` a year (365 days), half-up."""
    percent = credit_rules.rules().deposit_interest_percent if percent is None else percent
    days = (end - start).days
    if held_cents <= 0 or days <= 0 or percent <= 0:
        return 0
    return int((Decimal(held_cents) * percent * days / (100 * 365)).quantize(Decimal(1), ROUND_HALF_UP))


def _open_deposits(account_id: int) -> list[db.Deposit]:
    D = db.Deposit
    return list(D.select().where(D.account == account_id, D.status.in_(("billing", "held"))).order_by(D.id))


def _credit_interest(op: OperatorInfo | None, account_id: int, held: int, day: dt.date) -> int:
    """Credit the interest due on the open deposits up to `day` (in the caller's transaction)."""
    total = 0
    for d in _open_deposits(account_id):
        since = db.as_date(d.interest_through) or db.as_date(d.billed_on)
        share = min(held, d.billed_cents)
        cents = interest_cents(share, since, day)
        n = db.Deposit.update(interest_through=day, interest_cents=d.interest_cents + cents).where(
            db.Deposit.id == d.id, db.Deposit.interest_through == d.interest_through).execute()
        if n == 1 and cents:
            fees.post(op, account_id, "deposit", -cents, f"Interest on deposit {since:%m/%d/%Y}-{day:%m/%d/%Y}",
                      reference="DEPOSIT INT", effective=day, audit_action="deposit.interest")
            total += cents
    return total


def apply_on_final(op: OperatorInfo, account: db.Account, day: dt.date) -> int:
    """The final bill takes the deposit held (in the closure's write transaction): interest due is
    credited, the deposit applied, installments not yet billed cancelled. Returns the deposit applied."""
    applied = db.Account.get_by_id(account.id).deposit_cents
    _credit_interest(op, account.id, applied, day)
    if applied:
        fees.post(op, account.id, "deposit", -applied, "Deposit applied to final bill", reference="DEPOSIT",
                  effective=day, audit_action="deposit.apply")
        db.Account.update(deposit_cents=0).where(db.Account.id == account.id).execute()
    D, I = db.Deposit, db.DepositInstallment
    for d in _open_deposits(account.id):
        I.update(status="cancelled").where(I.deposit == d.id, I.status == "pending").execute()
        D.update(status="applied", closed_on=day).where(D.id == d.id).execute()
    return applied


def follow_move(op: OperatorInfo, old: db.Account, new_id: int, new_number: int) -> int:
    """A move: the deposit held and its rows follow the member to the new account (in the move's
    transaction; the refund clock keeps running). Returns the deposit moved."""
    deposit = db.Account.get_by_id(old.id).deposit_cents
    if deposit:
        db.Account.update(deposit_cents=0).where(db.Account.id == old.id).execute()
        db.Account.update(deposit_cents=deposit).where(db.Account.id == new_id).execute()
        audit.record(op, "deposit.transfer", "account", old.id, account_id=old.id, field="deposit_cents",
                     before=money.fmt(deposit), after=f"0.00 (to account {new_number})")
        audit.record(op, "deposit.transfer", "account", new_id, account_id=new_id, field="deposit_cents",
                     before="0.00", after=f"{money.fmt(deposit)} (from account {old.number})")
    db.Deposit.update(account=new_id).where(db.Deposit.account == old.id,
                                            db.Deposit.status.in_(("billing", "held"))).execute()
    return deposit


# ---- the review: installments due, refunds after prompt payment, interest ------------------------------

def plan(as_of: dt.date) -> list[ReviewItem]:
    """What a review on the day does, account by account."""
    r = credit_rules.rules()
    A, M, D, I = db.Account, db.Member, db.Deposit, db.DepositInstallment
    items: list[ReviewItem] = []
    # Installments whose day has come.
    q = (I.select(I.id, I.seq, I.amount_cents, D.installments, A.id, A.number, M.first_name, M.last_name)
         .join(D, on=(I.deposit == D.id)).join(A, on=(D.account == A.id)).join(M, on=(A.member == M.id))
         .where(I.status == "pending", I.bill_on <= as_of, D.status == "billing",
                A.status.not_in(("final", "closed")))
         .order_by(A.number, I.seq).tuples())
    for iid, seq, cents, n, aid, number, first, last in q:
        items.append(ReviewItem("installment", aid, number, display_name(first, last), cents,
                                f"Deposit installment {seq} of {n}", iid, "pending"))
    # Refunds: an active account holding a deposit, prompt for the last `deposit_refund_months`.
    start = as_of - relativedelta(months=r.deposit_refund_months)
    holders = list(A.select(A.id, A.number, A.deposit_cents, A.opened, M.first_name, M.last_name)
                   .join(M, on=(A.member == M.id))
                   .where(A.deposit_cents > 0, A.status == "active", A.bankruptcy == False)   # noqa: E712
                   .order_by(A.number).tuples())
    ids_set = {h[0] for h in holders}
    since: dict[int, dt.date | None] = {}
    billing: set[int] = set()
    for aid, status, held_since, billed_on in D.select(D.account, D.status, D.held_since, D.billed_on).where(
            D.status.in_(("billing", "held"))).tuples():
        if aid not in ids_set:
            continue
        if status == "billing":
            billing.add(aid)
        day = db.as_date(held_since) or db.as_date(billed_on)
        since[aid] = max(since.get(aid) or day, day)
    candidates = [h for h in holders if h[0] not in billing
                  and (since.get(h[0]) or db.as_date(h[3])) <= start]
    cids = [h[0] for h in candidates]
    late = late_bills(cids, start, as_of)
    returned = returns(cids, start, as_of)
    prompt = [h for h in candidates if not late.get(h[0]) and not returned.get(h[0])]
    owing = _past_due([h[0] for h in prompt], as_of)
    refunded = set()
    for aid, number, held, _opened, first, last in prompt:
        if aid in owing:
            continue
        name = display_name(first, last)
        for d in _open_deposits(aid):
            cents = interest_cents(min(held, d.billed_cents), db.as_date(d.interest_through), as_of)
            if cents:
                items.append(ReviewItem("interest", aid, number, name, -cents,
                                        f"Interest on deposit since {db.as_date(d.interest_through):%m/%d/%Y}",
                                        d.id, f"{db.as_date(d.interest_through)}|{as_of}"))
        items.append(ReviewItem("refund", aid, number, name, -held,
                                f"Deposit refunded: {r.deposit_refund_months} months of prompt payment", 0, str(held)))
        refunded.add(aid)
    # A year's interest on the other deposits held.
    if r.deposit_interest_percent > 0:
        q = (D.select(D.id, D.billed_cents, D.interest_through, A.id, A.number, A.deposit_cents, M.first_name,
                      M.last_name)
             .join(A, on=(D.account == A.id)).join(M, on=(A.member == M.id))
             .where(D.status == "held", A.deposit_cents > 0, A.status.not_in(("final", "closed")))
             .order_by(A.number).tuples())
        for did, billed, through, aid, number, held, first, last in q:
            through = db.as_date(through)
            if aid in refunded or through is None or through + relativedelta(years=1) > as_of:
                continue
            end = through + relativedelta(years=1)
            cents = interest_cents(min(held, billed), through, end)
            if cents:
                items.append(ReviewItem("interest", aid, number, display_name(first, last), -cents,
                                        f"Interest on deposit {through:%m/%d/%Y}-{end:%m/%d/%Y}", did,
                                        f"{through}|{end}"))
    return items


def _past_due(account_ids: list[int], as_of: dt.date) -> set[int]:
    """Those of the accounts with something past due on the day (aging.py's rules)."""
    if len(account_ids) > 200:
        wanted = set(account_ids)
        return {r.account_id for r in aging.aged_rows(as_of, past_due_only=True) if r.account_id in wanted}
    return {aid for aid in account_ids if aging.account_aging(aid, as_of).past_due > 0}


def _run_row(run_date: dt.date) -> db.CreditRun | None:
    R = db.CreditRun
    return R.get_or_none(R.kind == KIND, R.run_date == run_date)


@db.connected
def preview(op: OperatorInfo, run_date: dt.date | None = None, *, today: dt.date | None = None) -> Review:
    """What the review of the day would do, recorded as its preview (again: replaced, until committed)."""
    require(op, "deposit.bill")
    today = today or dt.date.today()
    run_date = run_date or today
    if run_date > today:
        raise ValidationError(f"The deposit review is for today or an earlier day, not {run_date:%m/%d/%Y}",
                              "run_date")
    items = plan(run_date)
    total = sum(i.cents for i in items)
    R = db.CreditRun
    with db.write_txn():
        run = _run_row(run_date)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(kind=KIND, run_date=run_date, created_by=op.id, preview_count=len(items),
                                      preview_total_cents=total).execute()
            except IntegrityError:
                raise RunBusy(f"The deposit review of {run_date:%m/%d/%Y} was just made by another session: "
                              "preview again") from None
        else:
            run_id = run.id
            if run.status != "previewed":
                raise (AlreadyCommitted if run.status == "committed" else RunBusy)(
                    f"The deposit review of {run_date:%m/%d/%Y} is {run.status}"
                    + (f" ({run.item_count} items)" if run.status == "committed" else ""))
            R.update(preview_count=len(items), preview_total_cents=total).where(R.id == run_id).execute()
        audit.record(op, "deposit.review.preview", "credit_run", run_id, field=f"{run_date:%m/%d/%Y}",
                     after=f"{len(items)} items {money.fmt(total)}")
    return Review(run_id, run_date, "previewed", items)


@db.connected
def commit(op: OperatorInfo, run_id: int, *, takeover_after: dt.timedelta = dt.timedelta(seconds=60)) -> Review:
    """Do the previewed review, exactly once; refused (Changed) if the work differs from the preview."""
    require(op, "deposit.bill")
    R = db.CreditRun
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("previewed",), takeover_after)
        if run is None or run.kind != KIND:
            raise NotFound("No such deposit review")
        what = f"The deposit review of {db.as_date(run.run_date):%m/%d/%Y}"
        if not claimed:
            if run.status == "committed":
                raise AlreadyCommitted(f"{what} is already committed ({run.item_count} items)")
            raise RunBusy(f"{what} is being committed by another session")
    run_date = db.as_date(run.run_date)
    items = plan(run_date)
    if (len(items), sum(i.cents for i in items)) != (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(R, run_id, token)
            audit.record(op, "deposit.review.refused", "credit_run", run_id, after="differs from the preview")
        raise Changed(f"{what}: bills, payments or deposits changed since the preview: preview again")
    done = []
    with db.write_txn():
        if not run_claim.hold(R, run_id, token):
            raise RunBusy(f"{what}: another session took the review over")
        for item in items:
            if _do(op, item, run_date):
                done.append(item)
        if not run_claim.finish(R, run_id, token, item_count=len(done), total_cents=sum(i.cents for i in done)):
            raise RunBusy(f"{what}: another session took the review over")
        audit.record(op, "deposit.review.commit", "credit_run", run_id, before="previewed",
                     after=f"committed {len(done)} items {money.fmt(sum(i.cents for i in done))}")
    return Review(run_id, run_date, "committed", done)


def _do(op: OperatorInfo, item: ReviewItem, day: dt.date) -> bool:
    """One item of the review, guarded: False if it was done meanwhile."""
    A, D = db.Account, db.Deposit
    if item.kind == "installment":
        return _bill_installment(op, db.DepositInstallment.get_by_id(item.key), day) is not None
    if item.kind == "interest":
        d = D.get_by_id(item.key)
        through, end = (dt.date.fromisoformat(x) for x in item.guard.split("|"))
        n = D.update(interest_through=end, interest_cents=d.interest_cents - item.cents).where(
            D.id == d.id, D.interest_through == through).execute()
        if n != 1:
            return False
        fees.post(op, item.account_id, "deposit", item.cents, item.text, reference="DEPOSIT INT", effective=day,
                  audit_action="deposit.interest")
        return True
    held = int(item.guard)
    n = A.update(deposit_cents=0).where(A.id == item.account_id, A.deposit_cents == held).execute()
    if n != 1:
        return False
    fees.post(op, item.account_id, "deposit", -held, item.text, reference="DEPOSIT", effective=day,
              audit_action="deposit.refund")
    audit.record(op, "deposit.refund", "account", item.account_id, account_id=item.account_id,
                 field="deposit_cents", before=money.fmt(held), after="0.00")
    D.update(status="refunded", closed_on=day).where(D.account == item.account_id,
                                                     D.status.in_(("billing", "held"))).execute()
    return True

