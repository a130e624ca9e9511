"""Credit and collections: the delinquency worklist of a bill cycle.

Who is past due (aging.py's rules: credits pay the oldest charge first), how much and how
long, their payment history (bills paid late in the last 12 months, payments returned),
the account's flags and the next action due. A handful of set-based queries for a whole
cycle, never one per account.

Late: a bill due in the 12 months before the day is late when, on its due date, the
account still owed something due by then (the charges due on or before it, less the
credits posted on or before it), as the ledger stands.

The next action, the first that applies:
  bankruptcy                   -> hold: no collection
  an open disconnect order     -> that order, on its due date
  disconnected                 -> reconnect when paid
  a disconnect notice pending  -> (notices.py; unless a medical certificate or winter protection holds it)
                                  the final contact call, due the day before the disconnection may be;
                                  once logged, the disconnect order from that day
  final or closed              -> collect the final bill; write-off review once the final bill is
                                  `write_off_after_days` old (the day the write-off list takes it)
  up to NOTICE_AFTER_DAYS      -> the late fee, when the next late-fee run charges one (late_fees.py);
                                  else a disconnect notice if still unpaid, on that day
  a medical certificate        -> no disconnection until it runs out
  winter protection (Dec-Feb)  -> offer a payment arrangement
  otherwise                    -> a disconnect notice (7 days), now

A kept payment arrangement (arrangements.py) is the next action itself ("no notice while it is
kept"), after a disconnect order and a disconnection; a pending energy-assistance pledge
(assistance.py) holds a disconnect notice once the account is past NOTICE_AFTER_DAYS.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from peewee import fn

from kec_tui import config, db
from kec_tui.services import aging, arrangements, assistance, billing_run, credit_rules, late_fees, notices, write_offs
from kec_tui.services.aging import Aged
from kec_tui.services.operators import OperatorInfo, require

NOTICE_AFTER_DAYS = 30          # past due longer than this (a second bill unpaid): a disconnect notice
DISCONNECT_KINDS = ("disconnect_nonpay", "remote_disconnect")
FLAG_NAMES = {
    "bankruptcy": "Bankruptcy", "medical": "Medical certificate", "winter": "Winter protection",
    "landlord": "Landlord", "cash_only": "Cash only", "collections": "In collections", "budget": "Budget billing",
    "arrangement": "Payment arrangement kept", "pledge": "Assistance pledge pending",
}


@dataclass(frozen=True)
class NextAction:
    what: str
    on: dt.date | None = None       # due on this day (None: nothing to do on a date)
    short: str = field(default="", compare=False)     # for a narrow list

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.what)


@dataclass(frozen=True)
class WorkItem:
    account_id: int
    number: int
    name: str
    phone: str
    cycle: int
    status: str
    aged: Aged
    oldest_due: dt.date
    days_past_due: int
    late_12m: int                   # bills paid late (or not at all) in the last 12 months
    returns_12m: int                # payments returned in the last 12 months
    last_payment: dt.date | None
    flags: tuple[str, ...]          # keys of FLAG_NAMES
    next_action: NextAction
    notice_id: int | None = None    # the pending disconnect notice (notices.py), if any

    @property
    def past_due_cents(self) -> int:
        return self.aged.past_due


@dataclass(frozen=True)
class Worklist:
    cycle: int | None
    as_of: dt.date
    items: list[WorkItem]
    past_due_cents: int
    balance_cents: int              # the past-due accounts' whole balances (current part included)


def in_winter(day: dt.date) -> bool:
    return day.month in (12, 1, 2)


def cycles(settings: config.Settings) -> list[int]:
    """The bill cycles of the settings (the billing run's)."""
    return sorted(billing_run.settings_from(settings).cycle_days)


def late_counts(as_of: dt.date, cycle: int | None = None) -> dict[int, int]:
    """Bills due in the 12 months before `as_of` that were not paid by their due date, per
    past-due account (of the cycle): one window over their ledger."""
    owed, params = aging.owed_sql(as_of, cycle)
    p = db.database.param
    year_ago = as_of - relativedelta(years=1)
    rows = db.database.execute_sql(f"""{owed},
pd AS (SELECT DISTINCT a FROM unpaid WHERE due < {p}),
ev AS (
  SELECT l."account_id" AS a, l."kind" AS kind, COALESCE(l."due_date", l."effective") AS d, l."amount_cents" AS amt
  FROM "ledger_entry" l WHERE l."amount_cents" > 0 AND l."effective" <= {p} AND l."account_id" IN (SELECT a FROM pd)
  UNION ALL
  SELECT l."account_id", l."kind", l."effective", l."amount_cents"
  FROM "ledger_entry" l WHERE l."amount_cents" < 0 AND l."effective" <= {p} AND l."account_id" IN (SELECT a FROM pd)
),
run AS (SELECT a, kind, d, amt, SUM(amt) OVER (PARTITION BY a ORDER BY d) AS owing FROM ev)
SELECT a, COUNT(*) FROM run
WHERE kind = 'bill' AND d > {p} AND d < {p} AND owing > 0
GROUP BY a""", (*params, *[db.sql_date(d) for d in (as_of, as_of, as_of, year_ago, as_of)])).fetchall()
    return {a: int(n) for a, n in rows}


def next_action(status: str, flags: tuple[str, ...], oldest_due: dt.date, days_past_due: int, as_of: dt.date, *,
                order: tuple[int, dt.date | None] | None = None, medical_until: dt.date | None = None,
                late_fee_on: dt.date | None = None,
                notice: tuple[int, str, dt.date, dt.date, bool] | None = None,
                final_bill_on: dt.date | None = None) -> NextAction:
    """The next step for a past-due account (the ladder in the module's doc); `notice` is the
    account's pending notice (notices.live_notices); `final_bill_on` a final account's last bill
    (write_offs.final_bill_days), from which its write-off review is counted as the write-off list counts it."""
    if "bankruptcy" in flags:
        return NextAction("Hold: bankruptcy, no collection", short="Hold (BK)")
    if order is not None:
        return NextAction(f"Disconnect order {order[0]}", order[1], "Disc. order")
    if status == "disconnected":
        return NextAction("Reconnect when paid", short="Reconnect")
    if "arrangement" in flags:          # kept: no fee, no notice (collection_holds); broken: the ladder below
        return NextAction("Arrangement kept: no notice while it is kept", short="Arrangement")
    if "pledge" in flags and days_past_due > NOTICE_AFTER_DAYS:
        return NextAction("Pledge pending: disconnection held", short="Pledge hold")
    if status in ("final", "closed"):
        review = (final_bill_on or oldest_due) + dt.timedelta(days=credit_rules.rules().write_off_after_days)
        if as_of >= review:
            return NextAction("Write-off review", as_of, "Write-off")
        return NextAction("Collect the final bill", review, "Final bill")
    protected = "medical" in flags or ("winter" in flags and in_winter(as_of))
    if notice is not None and notice[1] == "sent" and not protected:
        _nid, _status, first, until, called = notice
        if not called:
            return NextAction(f"Final contact call (disconnect from {first:%m/%d}, notice good to {until:%m/%d})",
                              max(as_of, first - dt.timedelta(days=1)), "Final call")
        return NextAction(f"Disconnect order (notice good to {until:%m/%d/%Y})", max(as_of, first), "Order disc.")
    if days_past_due <= NOTICE_AFTER_DAYS:
        if late_fee_on is not None:
            return NextAction("Late fee", late_fee_on)
        return NextAction("Disconnect notice if unpaid", oldest_due + dt.timedelta(days=NOTICE_AFTER_DAYS + 1),
                          "Notice if unpaid")
    if "medical" in flags:
        return NextAction("Medical certificate: no disconnection", medical_until, "Medical hold")
    if "winter" in flags and in_winter(as_of):
        return NextAction("Winter protection: offer an arrangement", as_of, "Winter: arrange")
    return NextAction("Disconnect notice (7 days)", as_of, "Notice (7 days)")


@db.connected
def worklist(op: OperatorInfo | None, cycle: int | None = None, as_of: dt.date | None = None) -> Worklist:
    """The past-due accounts of the cycle (all cycles: None), the longest past due first."""
    if op is not None:
        require(op, "account.view")
    as_of = as_of or dt.date.today()
    with db.database.atomic(), aging.snapshot(as_of, cycle):      # aged once for the three questions
        aged = aging.aged_rows(as_of, cycle, past_due_only=True)
        if not aged:
            return Worklist(cycle, as_of, [], 0, 0)
        late = late_counts(as_of, cycle)
        fee_due = late_fees.pending(as_of, cycle)
    facts = _account_facts([r.account_id for r in aged], as_of)
    finals = write_offs.final_bill_days([r.account_id for r in aged if r.status in write_offs.FINAL])
    pending = notices.live_notices([r.account_id for r in aged], as_of)
    items = []
    for r in aged:
        f = facts[r.account_id]
        flags = tuple(k for k in FLAG_NAMES if f["flags"].get(k))
        action = next_action(r.status, flags, r.oldest_due, r.days_past_due, as_of, order=f["order"],
                             medical_until=f["medical_until"], late_fee_on=fee_due.get(r.account_id),
                             notice=pending.get(r.account_id), final_bill_on=finals.get(r.account_id))
        items.append(WorkItem(r.account_id, r.number, r.name, f["phone"], r.cycle, r.status, r.aged, r.oldest_due,
                              r.days_past_due, late.get(r.account_id, 0), f["returns"], f["last_payment"], flags,
                              action, (pending.get(r.account_id) or (None,))[0]))
    items.sort(key=lambda i: (-i.days_past_due, -i.past_due_cents, i.number))
    return Worklist(cycle, as_of, items, sum(i.past_due_cents for i in items), sum(i.aged.total for i in items))


def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _account_facts(ids: list[int], as_of: dt.date) -> dict[int, dict]:
    """Flags, phone, returns in 12 months, last payment and open disconnect order of these accounts."""
    A, M, R, L, O = db.Account, db.Member, db.ReturnedPayment, db.LedgerEntry, db.ServiceOrder
    out: dict[int, dict] = {}
    year_ago = as_of - relativedelta(years=1)
    for part in _chunks(ids):
        q = (A.select(A.id, A.bankruptcy, A.medical_cert_until, A.winter_protection_until, A.landlord,
                      A.cash_only_until, A.collections, A.budget_billing, M.phone_mobile, M.phone_home)
             .join(M, on=(A.member == M.id)).where(A.id.in_(part)).tuples())
        for aid, bk, med, winter, landlord, cash, coll, budget, mobile, home in q:
            med, winter, cash = db.as_date(med), db.as_date(winter), db.as_date(cash)
            out[aid] = {
                "flags": {"bankruptcy": bk, "medical": med is not None and med >= as_of,
                          "winter": winter is not None and winter >= as_of, "landlord": landlord,
                          "cash_only": cash is not None and cash >= as_of, "collections": coll, "budget": budget,
                          "arrangement": False, "pledge": False},
                "medical_until": med, "phone": mobile or home or "", "returns": 0, "last_payment": None,
                "order": None}
        for aid in arrangements.kept_accounts(part, as_of):
            out[aid]["flags"]["arrangement"] = True
        for aid in assistance.holding_accounts(part, as_of):
            out[aid]["flags"]["pledge"] = True
        for aid, n in (R.select(R.account, fn.COUNT(R.id))
                       .where(R.account.in_(part), R.returned_on > year_ago, R.returned_on <= as_of)
                       .group_by(R.account).tuples()):
            out[aid]["returns"] = int(n)
        for aid, last in (L.select(L.account, fn.MAX(L.effective))
                          .where(L.account.in_(part), L.kind == "payment", L.effective <= as_of)
                          .group_by(L.account).tuples()):
            out[aid]["last_payment"] = db.as_date(last)
        for aid, no, due in (O.select(O.account, O.order_no, O.due_date)
                             .where(O.account.in_(part), O.kind.in_(DISCONNECT_KINDS),
                                    O.status.in_(("open", "dispatched")))
                             .order_by(O.id).tuples()):
            out[aid]["order"] = (no, db.as_date(due))
    return out
