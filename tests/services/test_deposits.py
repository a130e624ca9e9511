"""Deposits: when the rules call for one, installments, the review that bills installments, refunds
after 12 months of prompt payment and credits interest (preview, commit once), applied on the final
bill (the one rule: Account.deposit_cents). SQLite and PostgreSQL."""
import datetime as dt
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import aging, credit_rules, deposits, moves, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.support.credit import bill, ledger, pay, prompt_year

D = dt.date


@pytest.fixture(autouse=True)
def default_rules():
    before = credit_rules.use(credit_rules.Rules())
    yield
    credit_rules.use(before)


@pytest.fixture
def collector(database_any):
    return operators.create("coll1", "Casey Collector", "collections")


def late_account(**kw):
    """Three bills of $100 in early 2024, none paid: two past due on 04/15/2024 (and the third due 04/10)."""
    a = factories.account(**kw)
    for day in (D(2024, 1, 10), D(2024, 2, 10), D(2024, 3, 10)):
        bill(a, 10_000, day)
    return a


def deposit_rows(acct):
    Dp = db.Deposit
    return [(d.reason, d.amount_cents, d.billed_cents, d.status) for d in Dp.select().where(Dp.account == acct.id)]


def test_late_history_calls_for_twice_the_average_bill(database, collector):
    a = late_account()
    found = deposits.assess(a.id, D(2024, 4, 15))
    assert found.reasons == ("late_history",) and found.history.late_bills == 3
    assert (found.amount_cents, found.due_cents) == (20_000, 20_000)
    assert "2x the average bill $100.00" in found.basis
    info = deposits.bill(collector, a.id, "late_history", today=D(2024, 4, 15))
    assert (info.amount_cents, info.installments, info.status, info.held_since) == (20_000, 1, "held", D(2024, 4, 15))
    assert db.Account.get_by_id(a.id).deposit_cents == 20_000
    assert ledger(a, "deposit") == [("deposit", 20_000, "DEPOSIT")]
    e = db.LedgerEntry.get(db.LedgerEntry.kind == "deposit")
    assert e.due_date == D(2024, 5, 6)        # 20 days later is Sunday 05/05: the next business day
    assert {"deposit.agree", "deposit.bill"} <= {r.action for r in db.AuditLog.select()}


def test_returned_payments_and_a_disconnection_call_for_one(database, collector):
    a = factories.account(status="disconnected")
    pay_id = pay(a, 5_000, D(2024, 3, 1))
    rev = db.LedgerEntry.insert(account=a.id, effective=D(2024, 3, 5), kind="reversal", amount_cents=5_000,
                                reverses=pay_id).execute()
    db.ReturnedPayment.create(payment=pay_id, account=a.id, code="R01", returned_on=D(2024, 3, 5), reversal=rev)
    found = deposits.assess(a.id, D(2024, 4, 1))
    assert found.reasons == ("returned_payments", "reconnect")
    assert found.amount_cents == 20_000 and "flat" in found.basis       # no bills: the flat deposit


def test_a_reconnect_order_asks_for_the_deposit_not_yet_held(database, collector):
    a = late_account(status="disconnected")
    day = D(2024, 4, 15)
    note = deposits.before_reconnect(a.id, "reconnect", day)
    assert note == ("Ask for a deposit of $200.00 before the crew goes out (bills paid late; reconnect after "
                    "disconnection for non-payment)")
    assert deposits.before_reconnect(a.id, "remote_reconnect", day) == note
    assert deposits.before_reconnect(a.id, "reread", day) == ""              # only a reconnect asks
    deposits.bill(collector, a.id, "reconnect", today=day)
    assert deposits.before_reconnect(a.id, "reconnect", day) == ""           # held now: nothing more to ask
    prompt = factories.account(first="Prompt", last="Payer")
    prompt_year(prompt, D(2023, 4, 1), months=12)
    assert deposits.before_reconnect(prompt.id, "reconnect", day) == ""      # the rules call for none


def test_no_deposit_when_the_rules_do_not_call_for_one_and_nothing_is_written(database, collector):
    a = factories.account()
    prompt_year(a, D(2024, 1, 1), months=4)
    before = ledger(a)
    with pytest.raises(ValidationError, match="rules do not call for a deposit for bills paid late"):
        deposits.bill(collector, a.id, "late_history", today=D(2024, 5, 1))
    with pytest.raises(ValidationError, match="Say why"):
        deposits.bill(collector, a.id, "other", today=D(2024, 5, 1))
    assert ledger(a) == before and deposit_rows(a) == [] and db.Account.get_by_id(a.id).deposit_cents == 0
    closed = late_account(first="Gone", status="final")
    with pytest.raises(ValidationError, match="is final"):
        deposits.bill(collector, closed.id, "late_history", today=D(2024, 4, 15))
    with pytest.raises(ValidationError, match="Installments: 1 to 3"):
        deposits.bill(collector, late_account(first="Four").id, "late_history", installments=4,
                      today=D(2024, 4, 15))
    billing = operators.create("bill1", "Bea Biller", "billing")
    with pytest.raises(PermissionDenied):
        deposits.bill(billing, a.id, "other", note="asked", today=D(2024, 5, 1))
    assert db.Deposit.select().count() == 0


def test_installments_are_billed_by_the_review_on_their_days_once(database, collector):
    a = late_account()
    info = deposits.bill(collector, a.id, "late_history", installments=3, today=D(2024, 4, 15))
    assert [c for _, c, _ in info.schedule] == [6_668, 6_666, 6_666]
    assert [d for d, _, _ in info.schedule] == [D(2024, 4, 15), D(2024, 5, 15), D(2024, 6, 15)]
    assert db.Account.get_by_id(a.id).deposit_cents == 6_668 and info.status == "billing"
    with pytest.raises(ValidationError, match="still being billed"):
        deposits.bill(collector, a.id, "late_history", today=D(2024, 4, 20))
    assert deposits.preview(collector, D(2024, 5, 14), today=D(2024, 6, 30)).items == []
    review = deposits.preview(collector, D(2024, 5, 15), today=D(2024, 6, 30))
    assert [(i.kind, i.cents) for i in review.items] == [("installment", 6_666)]
    deposits.commit(collector, review.run_id)
    with pytest.raises(deposits.AlreadyCommitted):
        deposits.commit(collector, review.run_id)
    with pytest.raises(deposits.AlreadyCommitted):
        deposits.preview(collector, D(2024, 5, 15), today=D(2024, 6, 30))
    last = deposits.preview(collector, D(2024, 6, 17), today=D(2024, 6, 30))
    deposits.commit(collector, last.run_id)
    assert db.Account.get_by_id(a.id).deposit_cents == 20_000
    assert [c for _, c, _ in ledger(a, "deposit")] == [6_668, 6_666, 6_666]
    assert deposit_rows(a) == [("late_history", 20_000, 20_000, "held")]
    assert db.Deposit.get().held_since == D(2024, 6, 17)


def refundable(collector):
    """A deposit billed 04/15/2024 for late bills, all paid 04/20, then a year of bills paid on time."""
    a = late_account()
    deposits.bill(collector, a.id, "late_history", today=D(2024, 4, 15))
    pay(a, 50_000, D(2024, 4, 20))
    prompt_year(a, D(2024, 5, 1))
    return a


def test_a_year_of_prompt_payment_refunds_the_deposit_once(database, collector):
    a = refundable(collector)
    late = late_account(first="Late")          # a deposit held, but a bill paid late this year: kept
    deposits.bill(collector, late.id, "late_history", today=D(2024, 4, 15))
    pay(late, 50_000, D(2024, 4, 20))
    bill(late, 10_000, D(2025, 1, 1))
    pay(late, 10_000, D(2025, 2, 15))
    assert deposits.preview(collector, D(2025, 4, 1), today=D(2025, 6, 1)).items == []     # not 12 months yet
    review = deposits.preview(collector, D(2025, 5, 20), today=D(2025, 6, 1))
    assert [(i.kind, i.number, i.cents) for i in review.items] == [("refund", a.number, -20_000)]
    done = deposits.commit(collector, review.run_id)
    assert len(done.items) == 1
    assert db.Account.get_by_id(a.id).deposit_cents == 0 and deposit_rows(a)[0][3] == "refunded"
    assert ledger(a, "deposit")[-1] == ("deposit", -20_000, "DEPOSIT")
    assert db.Account.get_by_id(late.id).deposit_cents == 20_000
    # The next day's review finds nothing more to refund.
    assert deposits.preview(collector, D(2025, 5, 21), today=D(2025, 6, 1)).items == []


def test_a_payment_between_preview_and_commit_is_refused(database, collector):
    a = refundable(collector)
    review = deposits.preview(collector, D(2025, 5, 20), today=D(2025, 6, 1))
    db.Account.update(status="disconnected").where(db.Account.id == a.id).execute()
    with pytest.raises(deposits.Changed):
        deposits.commit(collector, review.run_id)
    assert db.Account.get_by_id(a.id).deposit_cents == 20_000


def test_interest_at_the_set_rate_is_credited_with_the_refund(database, collector):
    credit_rules.use(credit_rules.Rules(deposit_interest_percent=Decimal("2")))
    a = refundable(collector)
    review = deposits.preview(collector, D(2025, 5, 20), today=D(2025, 6, 1))
    # 2% a year on $200.00 for 400 days: 438.36 cents -> $4.38
    assert [(i.kind, i.cents) for i in review.items] == [("interest", -438), ("refund", -20_000)]
    deposits.commit(collector, review.run_id)
    assert ledger(a, "deposit")[-2:] == [("deposit", -438, "DEPOSIT INT"), ("deposit", -20_000, "DEPOSIT")]


def test_a_years_interest_on_a_deposit_still_held(database, collector):
    credit_rules.use(credit_rules.Rules(deposit_interest_percent=Decimal("1.5")))
    a = late_account()
    deposits.bill(collector, a.id, "late_history", today=D(2024, 4, 15))
    review = deposits.preview(collector, D(2025, 4, 15), today=D(2025, 6, 1))   # still late: no refund
    assert [(i.kind, i.cents) for i in review.items] == [("interest", -300)]
    deposits.commit(collector, review.run_id)
    assert deposits.preview(collector, D(2025, 4, 16), today=D(2025, 6, 1)).items == []


def test_the_final_bill_applies_the_deposit_and_cancels_installments_to_come(database, collector, msr):
    a = late_account()
    db.Reading.create(account=a.id, meter=a.meter_id, read_date=D(2024, 3, 10), reading=1000, kwh=800)
    deposits.bill(collector, a.id, "late_history", installments=2, today=D(2024, 4, 15))
    r = moves.close_account(msr, a.id, reading=1500, when=dt.datetime(2024, 4, 20, 10, 0))
    assert r.deposit_applied_cents == 10_000
    assert db.Account.get_by_id(a.id).deposit_cents == 0
    assert [i.status for i in db.DepositInstallment.select().order_by(db.DepositInstallment.seq)] == \
        ["billed", "cancelled"]
    assert deposit_rows(a)[0][3] == "applied"
    assert deposits.preview(collector, D(2024, 5, 20), today=D(2024, 6, 1)).items == []


def test_two_sessions_committing_the_review_at_once_refund_once(database, collector):
    from tests.services.test_concurrency import at_once

    other = operators.create("coll2", "Cory Collector", "collections")
    a = refundable(collector)
    review = deposits.preview(collector, D(2025, 5, 20), today=D(2025, 6, 1))
    r = at_once(lambda: deposits.commit(collector, review.run_id), lambda: deposits.commit(other, review.run_id))
    assert sum(isinstance(x, deposits.Review) for x in r) == 1, r
    assert all(isinstance(x, (deposits.Review, deposits.RunStateError)) for x in r), r
    assert [c for k, c, ref in ledger(a, "deposit") if c < 0] == [-20_000]


DELAYS = st.lists(st.integers(0, 40), min_size=13, max_size=13)
REVIEWS = st.lists(st.integers(300, 460), min_size=1, max_size=4, unique=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delays=DELAYS, review_days=REVIEWS)
def test_a_refund_only_after_12_months_without_a_bill_paid_late(database, collector, delays, review_days):
    """Bills monthly, each paid `delay` days after its bill date (due after 20); reviews on any days:
    the deposit is refunded at most once, never before it was held 12 months, never with a bill paid
    late in the 12 months before; and when every bill was paid on time, by the first review after 12 months."""
    for model in (db.CreditRun, db.DepositInstallment, db.Deposit, db.Note, db.AuditLog, db.LedgerEntry):
        model.delete().execute()
    db.Account.update(deposit_cents=0).execute()
    a = db.Account.select().first() or factories.account()
    start = D(2024, 1, 2)
    deposits.bill(collector, a.id, "other", note="property", amount_cents=20_000, today=start)
    pay(a, 20_000, start + dt.timedelta(days=1))
    dues = []
    for i, delay in enumerate(delays):
        day = start + relativedelta(months=i)
        bill(a, 10_000, day)
        pay(a, 10_000, day + dt.timedelta(days=delay))
        dues.append((day + dt.timedelta(days=20), delay > 20))
    refunds = []
    for n in sorted(review_days):
        day = start + dt.timedelta(days=n)
        review = deposits.preview(collector, day, today=D(2026, 1, 1))
        done = deposits.commit(collector, review.run_id)
        refunds += [day for i in done.items if i.kind == "refund"]
    assert len(refunds) <= 1
    assert len([c for _, c, r in ledger(a, "deposit") if c < 0 and r == "DEPOSIT"]) == len(refunds)
    for r in refunds:
        assert r >= start + relativedelta(months=12)
        assert not any(late for due, late in dues if r - relativedelta(months=12) < due < r)
        assert db.Account.get_by_id(a.id).deposit_cents == 0
    eligible = [start + dt.timedelta(days=n) for n in sorted(review_days)
                if start + dt.timedelta(days=n) >= start + relativedelta(months=12)]
    if not any(delays[i] > 20 for i in range(13)) and eligible:
        assert refunds == [eligible[0]] and aging.account_aging(a.id, eligible[0]).past_due == 0
