"""Transfer of service (move) and closure: final read, final bill, balance and deposit, refusals."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import accounts, audit, fees, memberships as ms, moves, operators, orders
from kec_tui.services.errors import PermissionDenied, ServiceError, ValidationError
from tests import factories

WHEN = dt.datetime(2025, 3, 11, 10, 30)   # 30 days after the factory's second reading (2025-02-09)


def _active(**kw):
    """Bills $100 + $110 with readings 1000 (01/10) and 2000 (02/09); $100 paid; $200 deposit held."""
    kw.setdefault("bills", (10000, 11000))
    kw.setdefault("payments", (10000,))
    kw.setdefault("deposit_cents", 20000)
    return factories.account(**kw)


def _snapshot():
    return (db.LedgerEntry.select().count(), db.Reading.select().count(), db.ServiceOrder.select().count(),
            db.Account.select().count(), [(a.id, a.status, a.deposit_cents) for a in db.Account.select()])


def _ledger_sum(account_id):
    return accounts.balance(account_id)


# ---- moves ---------------------------------------------------------------------------------------

def test_move(database, msr):
    a = _active()
    new_loc = ms.add_location(msr, "9 Elm Ave", "Post Falls", "83854", map_location="T50N R5W S3")
    quote = moves.final_bill_quote("RES", orders.last_read(a.id), 2500, WHEN.date())
    r = moves.transfer_service(msr, a.id, new_loc.id, 2500, when=WHEN, notes="Moving across town")
    bill = r.final_bill
    assert (quote.kwh, quote.days, quote.cents) == (bill.kwh, bill.days, bill.amount_cents)   # shown = posted
    assert (bill.reading, bill.previous, bill.previous_date, bill.kwh, bill.days) == \
        (2500, 2000, dt.date(2025, 2, 9), 500, 30)
    assert bill.amount_cents == fees.bill_cents("RES", 500, 30) == 2500 + 4900
    assert r.transferred_cents == 11000 + 7400 and r.deposit_moved_cents == 20000
    old, new = db.Account.get_by_id(a.id), db.Account.get_by_id(r.new_account_id)
    assert (old.status, old.closed, old.deposit_cents, old.transferred_to_id) == ("closed", WHEN.date(), 0, new.id)
    assert (new.status, new.member_id, new.location_id, new.deposit_cents, new.rate_class) == \
        ("pending", a.member_id, new_loc.id, 20000, "RES")
    assert _ledger_sum(a.id) == 0 and _ledger_sum(new.id) == 18400
    L = db.LedgerEntry
    t_old = L.get(L.account == a.id, L.kind == "transfer")
    t_new = L.get(L.account == new.id, L.kind == "transfer")
    assert (t_old.amount_cents, t_new.amount_cents) == (-18400, 18400)
    assert str(r.new_account_number) in t_old.description and str(a.number) in t_new.description
    out = orders.get_order(bill.order_no)
    assert (out.kind, out.status, out.reading, out.account_id) == ("move_out_read", "completed", 2500, a.id)
    connect = orders.get_order(r.connect_order_no)
    assert (connect.kind, connect.status, connect.account_id) == ("connect", "open", new.id)
    assert {h.number for h in accounts.lookup("lovelace").hits} == {a.number, r.new_account_number}
    old_actions = [row.action for row in audit.for_account(a.id)]
    assert {"bill.final", "balance.transfer", "deposit.transfer", "account.move", "order.complete"} <= set(old_actions)
    assert "Moving across town" in accounts.notes(new.id)[0].text
    # The new service is connected as usual.
    assert orders.complete_order(msr, r.connect_order_no, reading=7, meter_no="NEW9").account_status == "active"


def test_move_to_a_location_in_service_is_refused(database, msr):
    a = _active()
    other = factories.account(first="Grace", last="Hopper", street="5 Birch Ln")
    before = _snapshot()
    with pytest.raises(ServiceError, match=f"already in service on account {other.number} \\(Hopper, Grace") as e:
        moves.transfer_service(msr, a.id, other.location_id, 2500, when=WHEN)
    assert e.value.field == "location"
    assert _snapshot() == before
    with pytest.raises(ValidationError, match="own service location"):
        moves.transfer_service(msr, a.id, a.location_id, 2500, when=WHEN)


def test_move_refuses_open_orders_and_bad_readings(database, msr):
    a = _active()
    new_loc = ms.add_location(msr, "9 Elm Ave", "Post Falls", "83854")
    o = orders.create_order(msr, a.id, "reread", today=WHEN.date())
    with pytest.raises(orders.OrderStateError, match=f"open service order {o.order_no} \\(Meter re-read, open\\)"):
        moves.transfer_service(msr, a.id, new_loc.id, 2500, when=WHEN)
    orders.cancel_order(msr, o.order_no, "Moving instead")
    before = _snapshot()
    with pytest.raises(ValidationError, match="below the last reading 2,000") as e:
        moves.transfer_service(msr, a.id, new_loc.id, 1500, when=WHEN)
    assert e.value.field == "reading"
    with pytest.raises(ValidationError, match="final reading") as e:
        moves.transfer_service(msr, a.id, new_loc.id, None, when=WHEN)
    assert _snapshot() == before                       # nothing half done
    # A move-out read already ordered is used, not refused.
    pre = orders.create_order(msr, a.id, "move_out_read", today=WHEN.date())
    r = moves.transfer_service(msr, a.id, new_loc.id, 2000, when=WHEN)
    assert r.final_bill.order_no == pre.order_no and r.final_bill.kwh == 0


# ---- closure -------------------------------------------------------------------------------------

def test_closure_applies_the_deposit_and_refunds_a_credit(database, msr):
    a = _active(payments=(10000, 11000))            # paid up; the deposit exceeds the final bill
    r = moves.close_account(msr, a.id, 2100, when=WHEN)
    assert r.final_bill.kwh == 100 and r.final_bill.amount_cents == 2500 + 980
    assert (r.deposit_applied_cents, r.refund_cents, r.balance_cents, r.status) == (20000, 20000 - 3480, 0, "closed")
    acct = db.Account.get_by_id(a.id)
    assert (acct.status, acct.closed, acct.deposit_cents) == ("closed", WHEN.date(), 0)
    assert _ledger_sum(a.id) == 0
    L = db.LedgerEntry
    kinds = [(e.kind, e.amount_cents, e.reference) for e in L.select().where(L.account == a.id,
                                                                                L.effective == WHEN.date())]
    assert kinds == [("bill", 3480, "FINAL"), ("deposit", -20000, "DEPOSIT"), ("adjustment", 16520, "REFUND")]
    assert "Refund check $165.20 to Lovelace, Ada" in accounts.notes(a.id)[0].text
    assert {"bill.final", "deposit.apply", "refund", "account.close"} <= {x.action for x in audit.for_account(a.id)}


def test_closure_with_a_balance_left_is_final(database, msr):
    a = _active(deposit_cents=0)
    r = moves.close_account(msr, a.id, 2000, when=WHEN)
    assert (r.status, r.balance_cents, r.refund_cents, r.final_bill.amount_cents) == ("final", 11000 + 2500, 0, 2500)
    assert db.Account.get_by_id(a.id).status == "final"
    with pytest.raises(ServiceError, match=f"Account {a.number} is already final"):
        moves.close_account(msr, a.id, 2000, when=WHEN)


def test_closing_an_account_with_an_open_order_is_refused(database, msr):
    a = _active()
    o = orders.create_order(msr, a.id, "meter_test", today=WHEN.date())
    orders.dispatch_order(msr, o.order_no, "Crew 2")
    before = _snapshot()
    with pytest.raises(orders.OrderStateError,
                       match=f"Account {a.number} has open service order {o.order_no} \\(Meter test, dispatched\\): "
                             "complete or cancel it first") as e:
        moves.close_account(msr, a.id, 2100, when=WHEN)
    assert e.value.field == "order_no"
    assert _snapshot() == before
    orders.complete_order(msr, o.order_no, reading=2050, when=WHEN)
    assert moves.close_account(msr, a.id, 2100, when=WHEN).final_bill.kwh == 50


def test_closing_a_never_connected_account(database, msr):
    loc = ms.add_location(msr, "77 Pine St", "Hayden", "83835")
    opened = ms.open_account(msr, loc.id, ms.Applicant("Grace", "Hopper", phone_home="2085550199"),
                             good_credit=True, today=WHEN.date())
    orders.cancel_order(msr, opened.connect_order_no, "Applicant changed plans")
    r = moves.close_account(msr, opened.account_id, when=WHEN)
    assert r.final_bill is None and r.status == "final" and r.balance_cents == fees.MEMBERSHIP_FEE_CENTS


def test_roles(database, msr):
    billing = operators.create("bill1", "Bea Biller", "billing")
    a = _active()
    with pytest.raises(PermissionDenied):
        moves.close_account(billing, a.id, 2100, when=WHEN)
    with pytest.raises(PermissionDenied):
        moves.transfer_service(billing, a.id, a.location_id, 2100, when=WHEN)


# ---- set for a later day ------------------------------------------------------------------------------

def test_a_move_set_ahead_is_done_when_its_final_read_is_completed(database, msr):
    a = _active()
    new_loc = ms.add_location(msr, "9 Elm Ave", "Post Falls", "83854", map_location="T50N R5W S3")
    on = WHEN.date() + dt.timedelta(days=10)
    before = _snapshot()
    s = moves.transfer_service(msr, a.id, new_loc.id, when=WHEN, on=on, rate_class="SGS", notes="Call first")
    assert isinstance(s, moves.Scheduled) and (s.doing, s.on, s.account_number) == ("move", on, a.number)
    o = orders.get_order(s.order_no)
    assert (o.kind, o.status, o.due_date, o.account_id) == ("move_out_read", "open", on, a.id)
    assert db.Account.get_by_id(a.id).status == "active"               # nothing moved yet
    assert db.LedgerEntry.select().count() == before[0] and db.Account.select().count() == before[3]
    assert "account.move_scheduled" in {r.action for r in audit.for_account(a.id)}
    # The member may not be asked twice.
    with pytest.raises(ServiceError, match="already has a final read order"):
        moves.close_account(msr, a.id, when=WHEN, on=on)
    # Completed as a plain order it would leave the move undone: refused, nothing written.
    with pytest.raises(orders.OrderStateError, match="final read of a move or closure set ahead"):
        orders.complete_order(msr, s.order_no, reading=2500, when=dt.datetime.combine(on, dt.time(9)))
    assert orders.get_order(s.order_no).status == "open"
    # The day comes: the serviceman's reading completes the order, and with it the move.
    done = moves.complete_order(msr, s.order_no, reading=2500, when=dt.datetime.combine(on, dt.time(9)))
    assert done.then.startswith("Service moved to account") and done.order.status == "completed"
    old = db.Account.get_by_id(a.id)
    new = db.Account.get_by_id(old.transferred_to_id)
    assert (old.status, old.closed, new.location_id, new.rate_class, new.status) == \
        ("closed", on, new_loc.id, "SGS", "pending")
    assert str(new.number) in done.then and _ledger_sum(a.id) == 0
    assert "Call first" in accounts.notes(new.id)[0].text
    assert db.ServiceOrder.select().where(db.ServiceOrder.account == a.id,
                                          db.ServiceOrder.kind == "move_out_read").count() == 1


def test_a_closure_set_ahead_and_today_as_before(database, msr):
    a = _active()
    on = WHEN.date() + dt.timedelta(days=3)
    s = moves.close_account(msr, a.id, when=WHEN, on=on, notes="Selling the house")
    assert isinstance(s, moves.Scheduled) and s.doing == "closure"
    assert db.Account.get_by_id(a.id).status == "active"
    done = moves.complete_order(msr, s.order_no, reading=2500, when=dt.datetime.combine(on, dt.time(9)))
    assert done.then.startswith(f"Account {a.number}") and db.Account.get_by_id(a.id).status in ("closed", "final")
    # Today (or no date) closes at once, as before.
    b = _active(first="Bea", last="Today", street="5 Oak St")
    r = moves.close_account(msr, b.id, 2500, when=WHEN, on=WHEN.date())
    assert isinstance(r, moves.ClosureResult) and db.Account.get_by_id(b.id).status in ("closed", "final")


@pytest.mark.parametrize("days, needle", [(-1, "in the past"), (moves.MAX_DAYS_AHEAD + 1, "days ahead")])
def test_a_date_in_the_past_or_too_far_ahead_is_refused(database, msr, days, needle):
    a = _active()
    new_loc = ms.add_location(msr, "9 Elm Ave", "Post Falls", "83854")
    before = _snapshot()
    on = WHEN.date() + dt.timedelta(days=days)
    with pytest.raises(ValidationError, match=needle) as e:
        moves.transfer_service(msr, a.id, new_loc.id, when=WHEN, on=on)
    assert e.value.field == "on"
    with pytest.raises(ValidationError, match=needle):
        moves.close_account(msr, a.id, when=WHEN, on=on)
    assert _snapshot() == before


def test_refusal_before_the_form_opens(database, msr):
    a = _active()
    assert moves.refusal(accounts.view(a.id), "move") is None
    assert moves.refusal(accounts.view(a.id), "closure") is None
    pending = factories.account(first="Grace", last="Hopper", street="5 Birch Ln", status="pending")
    assert "never connected" in moves.refusal(accounts.view(pending.id), "move")
    assert moves.refusal(accounts.view(pending.id), "closure") is None
    moves.close_account(msr, a.id, 2500, when=WHEN)
    assert moves.refusal(accounts.view(a.id), "closure") == f"Account {a.number} is already closed"


def test_open_orders_block_but_a_move_out_read_does_not(database, msr):
    a = _active()
    orders.create_order(msr, a.id, "move_out_read")
    assert moves.open_orders(a.id) == []
    test = orders.create_order(msr, a.id, "meter_test")
    assert [o.order_no for o in moves.open_orders(a.id)] == [test.order_no]
