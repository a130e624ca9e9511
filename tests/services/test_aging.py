"""Aging: balances aged by due dates (credits pay the oldest first, reversals fold into what
they reverse) and the aged trial balance that equals the ledger. SQLite and PostgreSQL."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import aging
from kec_tui.services.aging import Aged
from tests import factories

D = dt.date
AS_OF = D(2025, 6, 30)


def entry(acct, kind, cents, effective, due=None, reverses=None) -> int:
    return db.LedgerEntry.insert(account=acct.id if hasattr(acct, "id") else acct, effective=effective, kind=kind,
                                 amount_cents=cents, due_date=due, reverses=reverses).execute()


def days_ago(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


def test_payments_pay_the_oldest_bill_first_and_the_rest_ages_by_due_date(database):
    a = factories.account()
    entry(a, "bill", 10000, days_ago(120), due=days_ago(100))       # over 90
    entry(a, "bill", 8000, days_ago(90), due=days_ago(70))          # 61-90
    entry(a, "bill", 6000, days_ago(60), due=days_ago(40))          # 31-60
    entry(a, "bill", 5000, days_ago(30), due=days_ago(10))          # 1-30
    entry(a, "bill", 4000, days_ago(5), due=days_ago(-15))          # current
    entry(a, "payment", -12000, days_ago(20))                       # pays the 100.00 and 20.00 of the 80.00
    aged = aging.account_aging(a.id, AS_OF)
    assert aged == Aged(current=4000, days_1_30=5000, days_31_60=6000, days_61_90=6000, over_90=0)
    assert aged.total == 21000 and aged.past_due == 17000
    (row,) = aging.aged_rows(AS_OF)
    assert row.aged == aged and row.oldest_due == days_ago(70) and row.days_past_due == 70
    assert row.number == a.number and row.name == "Ada Lovelace"


@pytest.mark.parametrize("days,bucket", [(0, "current"), (-3, "current"), (1, "days_1_30"), (30, "days_1_30"),
                                         (31, "days_31_60"), (60, "days_31_60"), (61, "days_61_90"),
                                         (90, "days_61_90"), (91, "over_90"), (400, "over_90")])
def test_bucket_limits_by_days_past_due(database, days, bucket):
    a = factories.account()
    entry(a, "bill", 1234, days_ago(days + 20), due=days_ago(days))
    assert aging.account_aging(a.id, AS_OF) == Aged(**{bucket: 1234})


def test_a_returned_payment_makes_the_bill_it_paid_owed_again_from_its_own_due_date(database):
    a = factories.account()
    entry(a, "bill", 7000, days_ago(70), due=days_ago(50))
    pay = entry(a, "payment", -7000, days_ago(52))
    entry(a, "bill", 3000, days_ago(20), due=days_ago(-1))
    entry(a, "reversal", 7000, days_ago(45), reverses=pay)                 # returned, after the due date
    entry(a, "fee", 2500, days_ago(45))                                    # the returned-payment fee: due on posting
    assert aging.account_aging(a.id, AS_OF) == Aged(current=3000, days_31_60=9500)


def test_a_cancelled_bill_drops_out_rather_than_paying_an_older_one(database):
    a = factories.account()
    entry(a, "bill", 5000, days_ago(50), due=days_ago(35))
    wrong = entry(a, "bill", 90000, days_ago(10), due=days_ago(-10))
    entry(a, "reversal", -90000, days_ago(2), reverses=wrong)
    entry(a, "bill", 6000, days_ago(1), due=days_ago(-19))
    assert aging.account_aging(a.id, AS_OF) == Aged(current=6000, days_31_60=5000)


def test_a_credit_balance_is_current_and_negative_and_future_entries_wait(database):
    a = factories.account()
    entry(a, "bill", 5000, days_ago(50), due=days_ago(30))
    entry(a, "payment", -8000, days_ago(40))
    entry(a, "bill", 9000, AS_OF + dt.timedelta(days=1), due=AS_OF + dt.timedelta(days=21))    # not yet posted
    assert aging.account_aging(a.id, AS_OF) == Aged(current=-3000)
    (row,) = aging.aged_rows(AS_OF)
    assert row.aged == Aged(current=-3000) and row.oldest_due is None
    assert aging.aged_rows(AS_OF, past_due_only=True) == []


def test_trial_balance_by_cycle_and_past_due_only(database):
    a = factories.account(bill_cycle=1)
    b = factories.account(first="Bob", bill_cycle=2)
    c = factories.account(first="Cy", bill_cycle=2)
    entry(a, "bill", 1000, days_ago(30), due=days_ago(10))
    entry(b, "bill", 2000, days_ago(10), due=days_ago(-10))
    entry(c, "bill", 3000, days_ago(80), due=days_ago(60))
    entry(c, "payment", -500, days_ago(3))
    tb = aging.trial_balance(None, AS_OF)
    assert tb.aged == Aged(current=2000, days_1_30=1000, days_31_60=2500)
    assert tb.ledger_cents == 5500 and tb.balances and (tb.accounts, tb.past_due_accounts) == (3, 2)
    tb2 = aging.trial_balance(None, AS_OF, cycle=2)
    assert tb2.aged == Aged(current=2000, days_31_60=2500) and tb2.ledger_cents == 4500 and tb2.balances
    assert [r.account_id for r in aging.aged_rows(AS_OF, 2, past_due_only=True)] == [c.id]


# ---- the property: the aged trial balance is the ledger, and each account is aged as the rules say ------------

def reference_aging(entries: list[tuple], as_of: dt.date) -> Aged:
    """The rules spelled out one entry at a time: (id, cents, effective, due, reverses)."""
    live = [e for e in entries if e[2] <= as_of]
    ids = {e[0] for e in live}
    net: dict[int, list] = {}
    for eid, cents, eff, due, rev in live:
        key = rev if rev in ids else eid
        slot = net.setdefault(key, [0, None])
        slot[0] += cents
        if key == eid:
            slot[1] = due or eff
    for eid, cents, eff, due, rev in live:      # a reversal whose target is not here stands alone
        if net[rev if rev in ids else eid][1] is None:
            net[rev if rev in ids else eid][1] = due or eff
    charges = sorted(((d, k, c) for k, (c, d) in net.items() if c > 0))
    credit = -sum(c for c, _ in net.values() if c < 0)
    balance = sum(c for c, _ in net.values())
    if balance <= 0:
        return Aged(current=balance)
    buckets = [0] * 5
    for due, _, cents in charges:
        paid = min(credit, cents)
        credit -= paid
        left = cents - paid
        days = (as_of - due).days
        i = 0 if days <= 0 else 1 if days <= 30 else 2 if days <= 60 else 3 if days <= 90 else 4
        buckets[i] += left
    return Aged(*buckets)


KINDS = st.sampled_from(["bill", "bill", "bill", "payment", "payment", "credit", "fee", "returned", "cancel"])
ACTIONS = st.lists(st.tuples(st.integers(0, 2), KINDS, st.integers(1, 50_000), st.integers(0, 200)), max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, as_of_back=st.integers(0, 120))
def test_the_aged_trial_balance_equals_the_ledger_to_the_cent(database, actions, as_of_back):
    db.LedgerEntry.delete().execute()
    accts = list(db.Account.select().order_by(db.Account.id))
    if not accts:
        accts = [factories.account(first=f"P{i}", bill_cycle=1 + i % 2) for i in range(3)]
    made: dict[int, list[tuple]] = {a.id: [] for a in accts}
    start = D(2025, 1, 1)
    for who, kind, cents, day in actions:
        a = accts[who]
        eff = start + dt.timedelta(days=day)
        mine = made[a.id]
        if kind == "bill":
            row = (cents, eff, eff + dt.timedelta(days=20), None)
            k = "bill"
        elif kind == "fee":
            row, k = (cents // 10, eff, None, None), "fee"
        elif kind in ("payment", "credit"):
            row, k = (-cents, eff, None, None), "payment" if kind == "payment" else "adjustment"
        else:                                       # reverse the last payment (returned) or the last bill (cancel)
            want = (lambda c: c < 0) if kind == "returned" else (lambda c: c > 0)
            targets = [e for e in mine if want(e[1]) and e[4] is None]
            if not targets:
                continue
            t = targets[-1]
            row, k = (-t[1], max(eff, t[2]), None, t[0]), "reversal"
        eid = entry(a, k, row[0], row[1], due=row[2], reverses=row[3])
        mine.append((eid, *row))
    as_of = start + dt.timedelta(days=200 - as_of_back)
    tb = aging.trial_balance(None, as_of)
    ledger = sum(e[1] for es in made.values() for e in es if e[2] <= as_of)
    assert tb.ledger_cents == ledger
    assert tb.aged.total == ledger
    expected = {aid: reference_aging(es, as_of) for aid, es in made.items()}
    rows = {r.account_id: r.aged for r in aging.aged_rows(as_of)}
    for aid, want in expected.items():
        assert aging.account_aging(aid, as_of) == want
        assert rows.get(aid, Aged()) == want
    assert sum((w for w in expected.values()), Aged()) == tb.aged


def test_a_snapshot_ages_once_and_answers_as_the_ledger_does(database):
    a = factories.account(bill_cycle=1)
    b = factories.account(first="Bob", bill_cycle=2)
    entry(a, "bill", 1000, days_ago(30), due=days_ago(10))
    entry(b, "bill", 3000, days_ago(80), due=days_ago(60))
    entry(b, "payment", -500, days_ago(3))
    plain = (aging.aged_rows(AS_OF), aging.aged_rows(AS_OF, 2, past_due_only=True))
    with aging.snapshot(AS_OF):
        entry(a, "payment", -1000, days_ago(1))         # after the snapshot: not seen inside it
        assert aging.aged_rows(AS_OF) == plain[0]
        assert aging.account_aging(a.id, AS_OF) == Aged()   # one account is always asked of the ledger
    with aging.snapshot(AS_OF, 2):
        assert aging.aged_rows(AS_OF, 2, past_due_only=True) == plain[1]
    assert [r.account_id for r in aging.aged_rows(AS_OF)] == [b.id]
