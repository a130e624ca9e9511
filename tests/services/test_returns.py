"""Returned payments: reversal, fee, count, cash-only at the second return in 12 months."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from kec_tui import db
from kec_tui.services import accounts, audit, batches, operators, returns
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories

TODAY = dt.date.today()


def _payment(account, cents, day, ref="chk 101"):
    return db.LedgerEntry.create(account=account, effective=day, kind="payment", amount_cents=-cents,
                                 description="Payment", reference=ref).id


def test_return_reverses_and_charges_the_fee(database, msr):
    a = factories.account(bills=(15000,))
    pay = _payment(a, 15000, TODAY - dt.timedelta(days=3))
    assert accounts.balance(a.id) == 0
    r = returns.return_payment(msr, pay, "r01")
    assert (r.code, r.description, r.amount_cents, r.fee_cents, r.returns_in_window, r.cash_only_until) == \
           ("R01", "Insufficient funds", 15000, returns.RETURN_FEE_CENTS, 1, None)
    assert returns.RETURN_FEE_CENTS == 2500
    rev = db.LedgerEntry.get_by_id(r.reversal_id)
    assert (rev.kind, rev.amount_cents, rev.reverses_id, rev.effective, rev.reference) == \
           ("reversal", 15000, pay, TODAY, "chk 101")
    fee = db.LedgerEntry.get_by_id(r.fee_id)
    assert (fee.kind, fee.amount_cents) == ("fee", 2500)
    assert accounts.balance(a.id) == 15000 + 2500
    # visible on the account: ledger and audit log
    kinds = [ln.kind for ln in accounts.ledger_page(a.id)[:3]]
    assert kinds == ["fee", "reversal", "payment"]
    row = audit.for_account(a.id)[0]
    assert row.action == "payment.return" and "R01 Insufficient funds" in row.after and "150.00" in row.before
    assert [x.code for x in returns.returns_for_account(a.id)] == ["R01"]
    assert returns.returns_for_account(a.id)[0].fee_cents == 2500
    assert returns.returnable_payments(a.id) == []


def test_fee_is_a_parameter(database, msr):
    a = factories.account()
    r1 = returns.return_payment(msr, _payment(a, 1000, TODAY), "R08", fee_cents=0)
    assert r1.fee_id is None and accounts.balance(a.id) == 0
    r2 = returns.return_payment(msr, _payment(a, 1000, TODAY), "R09", fee_cents=1500)
    assert db.LedgerEntry.get_by_id(r2.fee_id).amount_cents == 1500
    with pytest.raises(ValidationError) as e:
        returns.return_payment(msr, _payment(a, 1000, TODAY), "R01", fee_cents=-5)
    assert e.value.field == "fee"


def test_double_reversal_and_non_payments_are_refused(database, msr):
    a = factories.account(bills=(5000,))
    pay = _payment(a, 5000, TODAY)
    r = returns.return_payment(msr, pay, "R02")
    with pytest.raises(returns.AlreadyReturned, match="already reversed"):
        returns.return_payment(msr, pay, "R02")
    bill = db.LedgerEntry.get(db.LedgerEntry.kind == "bill").id
    with pytest.raises(ValidationError, match="is a bill, not a payment"):
        returns.return_payment(msr, bill, "R01")
    with pytest.raises(ValidationError, match="not a payment"):
        returns.return_payment(msr, r.reversal_id, "R01")
    with pytest.raises(ValidationError, match="one of R01"):
        returns.return_payment(msr, _payment(a, 100, TODAY), "R99")
    with pytest.raises(NotFound):
        returns.return_payment(msr, 999999, "R01")
    with pytest.raises(ValidationError, match="before the payment"):
        returns.return_payment(msr, _payment(a, 100, TODAY), "R01", when=TODAY - dt.timedelta(days=1))
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "reversal").count() == 1
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "fee").count() == 1


def test_second_return_in_12_months_makes_the_account_cash_only(database, msr):
    a = factories.account()
    first_day = TODAY - dt.timedelta(days=300)
    r1 = returns.return_payment(msr, _payment(a, 2000, first_day), "R01", when=first_day)
    assert r1.cash_only_until is None and db.Account.get_by_id(a.id).cash_only_until is None
    r2 = returns.return_payment(msr, _payment(a, 3000, TODAY), "R01")
    expected = TODAY.replace(year=TODAY.year + 1) if not (TODAY.month == 2 and TODAY.day == 29) \
        else dt.date(TODAY.year + 1, 2, 28)
    assert (r2.returns_in_window, r2.cash_only_until) == (2, expected)
    assert db.Account.get_by_id(a.id).cash_only_until == expected
    assert returns.count_returns(a.id) == 2
    row = audit.for_account(a.id)[0]
    assert (row.action, row.field) == ("account.cash_only", "cash_only_until")
    assert any(f.startswith("CASH ONLY") for f in accounts.view(a.id).flags)
    # and the next check keyed for it is warned at the line
    b = batches.open_batch(msr, "check", 1, 100)
    assert [w.code for w in batches.line_warnings(b.id, a.id, 100)] == ["cash_only"]


def test_returns_more_than_12_months_apart_do_not(database, msr):
    a = factories.account()
    old = TODAY - dt.timedelta(days=400)
    returns.return_payment(msr, _payment(a, 2000, old), "R01", when=old)
    r = returns.return_payment(msr, _payment(a, 2000, TODAY), "R01")
    assert (r.returns_in_window, r.cash_only_until) == (1, None)


def test_return_a_payment_posted_from_a_batch(database, msr):
    a = factories.account(bills=(8000,))
    b = batches.open_batch(msr, "check", 1, 8000)
    batches.key_line(msr, b.id, str(a.number), 8000, "4411")
    batches.post_batch(msr, b.id)
    [p] = returns.returnable_payments(a.id)
    assert (p.amount_cents, p.reference) == (8000, f"B{b.number}-1 ck 4411")
    returns.return_payment(msr, p.ledger_entry_id, "R01")
    assert accounts.balance(a.id) == 8000 + 2500


def test_who_may_return(database):
    billing = operators.create("bill1", "Bea", "billing")
    coll = operators.create("coll1", "Cole", "collections")
    a = factories.account()
    with pytest.raises(PermissionDenied):
        returns.return_payment(billing, _payment(a, 100, TODAY), "R01")
    assert returns.return_payment(coll, _payment(a, 100, TODAY), "R01").code == "R01"


def test_two_sessions_returning_at_once_reverse_once(database, msr):
    a = factories.account()
    pay = _payment(a, 4200, TODAY)
    barrier = threading.Barrier(2)
    results = []

    def session():
        with db.database.connection_context():
            barrier.wait()
            try:
                returns.return_payment(msr, pay, "R01")
                results.append("returned")
            except returns.AlreadyReturned:
                results.append("refused")
            except Exception as exc:  # noqa: BLE001
                results.append(repr(exc))

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["refused", "returned"]
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "reversal").count() == 1
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "fee").count() == 1
