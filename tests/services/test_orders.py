"""Service orders: create (with the disconnect rules), queue, dispatch, complete once, fees, tickets."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from kec_tui import db
from kec_tui.services import accounts, audit, fees, operators, orders
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories
from tests.support.pdf import pdf_text

WED_10AM = dt.datetime(2025, 10, 1, 10, 0)     # a Wednesday in business hours
WED_6PM = dt.datetime(2025, 10, 1, 18, 0)
SAT_10AM = dt.datetime(2025, 10, 4, 10, 0)
TODAY = dt.date(2025, 9, 30)


def _fees(account_id: int) -> list[tuple[int, str]]:
    L = db.LedgerEntry
    return [(e.amount_cents, e.description) for e in
            L.select().where(L.account == account_id, L.kind == "fee").order_by(L.id)]


# ---- creating and the disconnect rules ------------------------------------------------------------

def test_create_and_queue_filters_and_pages(database, msr):
    a, b = factories.account(), factories.account(first="Grace", last="Hopper")
    o1 = orders.create_order(msr, a.id, "reread", due_date=dt.date(2099, 1, 5), notes="High bill", today=TODAY)
    o2 = orders.create_order(msr, b.id, "meter_test", priority=1, due_date=dt.date(2099, 1, 2), today=TODAY)
    o3 = orders.create_order(msr, a.id, "other", notes="Tree on line", today=TODAY)
    assert (o1.status, o1.kind_label, o1.name, o1.created_by, o1.account_number) == \
        ("open", "Meter re-read", "Lovelace, Ada", "msr1", a.number)
    assert o2.order_no == o1.order_no + 1 >= orders.ORDER_NO_START
    page = orders.queue()
    assert [r.order_no for r in page.rows] == [o2.order_no, o1.order_no, o3.order_no]   # by due date, none last
    assert page.total == 3 and not page.more
    assert [r.order_no for r in orders.queue(kind="reread").rows] == [o1.order_no]
    assert [r.order_no for r in orders.queue(due_before=dt.date(2099, 1, 3)).rows] == [o2.order_no]
    first = orders.queue(limit=2)
    assert len(first.rows) == 2 and first.more and first.total == 3
    assert [r.order_no for r in orders.queue(limit=2, offset=2).rows] == [o3.order_no]
    orders.dispatch_order(msr, o1.order_no, "Crew 4")
    assert [r.order_no for r in orders.queue(status="dispatched").rows] == [o1.order_no]
    assert orders.queue(status="completed").rows == []
    assert [r.order_no for r in orders.for_account(a.id)] == [o3.order_no, o1.order_no]
    assert [o.order_no for o in accounts.orders(a.id)] == [o3.order_no, o1.order_no]   # the account screen
    with pytest.raises(ValidationError, match="one of") as e:
        orders.queue(status="done")
    assert e.value.field == "status"


@pytest.mark.parametrize("kw,field,needle", [
    ({"kind": "rewire"}, "kind", "must be one of"),
    ({"kind": "reread", "priority": 9}, "priority", r"1 \(most urgent\)"),
    ({"kind": "reread", "due_date": dt.date(2025, 9, 1)}, "due_date", "in the past"),
    ({"kind": "reconnect"}, "kind", "nothing to reconnect"), ({"kind": "connect"}, "kind", "a connect is for a new"),
])
def test_create_refuses_bad_input(database, msr, kw, field, needle):
    a = factories.account()
    with pytest.raises(Exception, match=needle) as e:
        orders.create_order(msr, a.id, today=TODAY, **kw)
    assert e.value.field == field
    assert db.ServiceOrder.select().count() == 0


def test_second_open_order_of_a_kind_is_refused(database, msr):
    a = factories.account()
    o = orders.create_order(msr, a.id, "reread", today=TODAY)
    with pytest.raises(orders.OrderStateError, match=f"re-read order {o.order_no} is already open"):
        orders.create_order(msr, a.id, "reread", today=TODAY)


def test_disconnect_refused_with_a_medical_certificate(database, msr):
    a = factories.account(bills=(30000,))
    until = orders.record_medical_certificate(msr, a.id, received=TODAY, physician="Dr. Hall")
    assert until == TODAY + dt.timedelta(days=30)
    for kind in orders.DISCONNECT_KINDS:
        with pytest.raises(orders.DisconnectProtected, match="medical certificate until 10/30/2025") as e:
            orders.create_order(msr, a.id, kind, today=TODAY)
        assert e.value.field == "kind"
    assert db.ServiceOrder.select().count() == 0
    assert "Dr. Hall" in audit.for_account(a.id)[0].after
    # After the certificate runs out the order may be made.
    assert orders.create_order(msr, a.id, "disconnect_nonpay", today=until + dt.timedelta(days=1)).status == "open"


def test_winter_protection(database, msr):
    a = factories.account(bills=(30000,))
    sgs = factories.account(first="Acme", last="Mill", rate_class="SGS")
    until = orders.declare_winter_protection(msr, a.id, ["children", "elderly"], today=dt.date(2025, 11, 20))
    assert until == dt.date(2026, 2, 28)
    assert ("WINTER PROTECTION until 02/28/2026 (children, elderly)"
            in accounts.flags_for(db.Account.get_by_id(a.id), dt.date(2026, 1, 1)))
    with pytest.raises(orders.DisconnectProtected, match="winter protection .* children, elderly") as e:
        orders.create_order(msr, a.id, "disconnect_nonpay", today=dt.date(2026, 1, 15))
    assert "03/01/2026" in e.value.message
    # Before December the winter rule does not apply yet; a business is not protected.
    assert orders.create_order(msr, a.id, "disconnect_nonpay", today=dt.date(2025, 11, 25)).kind == "disconnect_nonpay"
    assert orders.create_order(msr, sgs.id, "remote_disconnect", today=dt.date(2026, 1, 15)).status == "open"
    with pytest.raises(ValidationError, match="residential"):
        orders.declare_winter_protection(msr, sgs.id, ["infirm"], today=dt.date(2026, 1, 15))
    with pytest.raises(ValidationError, match="children, elderly, infirm") as e:
        orders.declare_winter_protection(msr, a.id, ["cats"])
    assert e.value.field == "household"
    assert orders.winter_end(dt.date(2027, 12, 1)) == dt.date(2028, 2, 29)


def test_disconnect_completion_refused_when_protection_arrives_later(database, msr):
    a = factories.account(bills=(30000,))
    o = orders.create_order(msr, a.id, "disconnect_nonpay", today=TODAY)
    orders.record_medical_certificate(msr, a.id, received=TODAY)
    with pytest.raises(orders.DisconnectProtected, match="Cancel the order"):
        orders.complete_order(msr, o.order_no, when=WED_10AM)
    assert orders.get_order(o.order_no).status == "open"
    assert db.Account.get_by_id(a.id).status == "active"


# ---- completing -------------------------------------------------------------------------------------

def test_disconnect_then_reconnect_with_fees(database, msr):
    a = factories.account(bills=(30000,))
    d = orders.create_order(msr, a.id, "remote_disconnect", priority=2, today=TODAY)
    done = orders.complete_order(msr, d.order_no, when=WED_10AM)
    assert (done.account_status, done.fee_cents) == ("disconnected", 0)
    assert "DISCONNECTED" in accounts.flags_for(db.Account.get_by_id(a.id), dt.date.today())
    r = orders.create_order(msr, a.id, "reconnect", today=TODAY)
    done = orders.complete_order(msr, r.order_no, reading=2100, when=WED_6PM, notes="Paid at counter")
    assert (done.account_status, done.fee_cents, done.fee_description) == \
        ("active", 16000, "Reconnect fee (after hours)")
    assert done.readings[0].kwh == 1100 and done.order.reading == 2100
    assert done.order.notes.endswith("Completed: Paid at counter")
    assert _fees(a.id) == [(16000, "Reconnect fee (after hours)")]
    assert accounts.balance(a.id) == 30000 + 16000
    actions = [row.action for row in audit.for_account(a.id)]
    assert actions.count("order.complete") == 2 and "order.fee" in actions and "account.status" in actions


@pytest.mark.parametrize("when,cents", [(WED_10AM, 4000), (WED_6PM, 16000), (SAT_10AM, 16000),
                                        (dt.datetime(2025, 10, 1, 17, 0), 16000),
                                        (dt.datetime(2025, 10, 1, 8, 0), 4000)])
def test_reconnect_fee_by_the_clock(database, msr, when, cents):
    a = factories.account(status="disconnected")
    o = orders.create_order(msr, a.id, "remote_reconnect", today=TODAY)
    assert orders.completion_fee("remote_reconnect", False, when)[0] == cents   # what the dialog shows first
    assert orders.complete_order(msr, o.order_no, when=when).fee_cents == cents
    assert _fees(a.id)[0][0] == cents


def test_fee_waived_with_a_reason(database, msr):
    a = factories.account(status="disconnected")
    o = orders.create_order(msr, a.id, "reconnect", today=TODAY)
    done = orders.complete_order(msr, o.order_no, when=WED_10AM, waive_fee="Disconnected in error")
    assert done.fee_cents == 0 and _fees(a.id) == []
    assert done.order.resolution == "Fee waived: Disconnected in error"
    assert db.AuditLog.get(db.AuditLog.action == "fee.waive").after == "Disconnected in error"


def test_trip_fee_only_when_the_member_asked(database, msr):
    a = factories.account(bills=(10000, 11000))
    asked = orders.create_order(msr, a.id, "reread", member_requested=True, today=TODAY)
    ours = orders.create_order(msr, a.id, "meter_test", today=TODAY)
    assert orders.completion_fee("reread", True, WED_10AM) == (2500, "Trip fee (meter re-read requested)")
    assert orders.completion_fee("meter_test", False, WED_10AM) == (0, "")
    done = orders.complete_order(msr, asked.order_no, reading=2300, when=WED_10AM)
    assert (done.fee_cents, done.readings[0].kwh) == (fees.TRIP_FEE_CENTS, 300)
    assert orders.complete_order(msr, ours.order_no, when=WED_10AM).fee_cents == 0
    assert _fees(a.id) == [(2500, "Trip fee (meter re-read requested)")]


def test_reading_required_and_checked(database, msr):
    a = factories.account(bills=(10000, 11000))    # last reading 2000
    o = orders.create_order(msr, a.id, "reread", notes="keep me", today=TODAY)
    with pytest.raises(ValidationError, match="Key the reading") as e:
        orders.complete_order(msr, o.order_no, when=WED_10AM)
    assert e.value.field == "reading"
    with pytest.raises(ValidationError, match="below the last reading 2,000") as e:
        orders.complete_order(msr, o.order_no, reading=1999, when=WED_10AM)
    with pytest.raises(ValidationError, match="digits"):
        orders.complete_order(msr, o.order_no, reading="12a", when=WED_10AM)
    after = orders.get_order(o.order_no)
    assert (after.status, after.notes) == ("open", "keep me")          # nothing lost
    assert db.Reading.select().where(db.Reading.account == a.id).count() == 2


def test_meter_replace_swaps_the_meter(database, msr):
    a = factories.account(bills=(10000,), meter_no="OLD1")
    o = orders.create_order(msr, a.id, "meter_replace", notes="Display failed", today=TODAY)
    with pytest.raises(ValidationError, match="new meter") as e:
        orders.complete_order(msr, o.order_no, when=WED_10AM)
    assert e.value.field == "meter_no"
    done = orders.complete_order(msr, o.order_no, reading=5, meter_no="new2", old_reading=1250, when=WED_10AM)
    assert [(r.meter_no, r.reading, r.kwh) for r in done.readings] == [("OLD1", 1250, 250), ("NEW2", 5, 0)]
    acct = db.Account.get_by_id(a.id)
    assert acct.meter.meter_no == "NEW2" and acct.meter.location_id == a.location_id
    assert db.Meter.get(db.Meter.meter_no == "OLD1").location_id is None
    assert done.order.meter_no == "NEW2" and done.order.account_meter_no == "NEW2"
    assert [h.number for h in accounts.lookup("new2").hits] == [a.number]
    assert accounts.lookup("old1").hits == []


def test_completing_twice_is_refused(database, msr):
    a = factories.account(status="disconnected")
    o = orders.create_order(msr, a.id, "reconnect", today=TODAY)
    orders.complete_order(msr, o.order_no, when=WED_10AM)
    with pytest.raises(orders.AlreadyCompleted, match=f"Order {o.order_no} is already completed by msr1 at"):
        orders.complete_order(msr, o.order_no, when=WED_10AM)
    assert len(_fees(a.id)) == 1
    with pytest.raises(orders.OrderStateError, match="already completed"):
        orders.cancel_order(msr, o.order_no, "changed mind")


def _complete_from_two_sessions(order_no: int, op) -> list[tuple[str, str]]:
    barrier = threading.Barrier(2)
    results: list[tuple[str, str]] = []

    def session():
        with db.database.connection_context():
            barrier.wait()
            try:
                done = orders.complete_order(op, order_no, when=WED_10AM)
                results.append(("completed", str(done.fee_cents)))
            except orders.AlreadyCompleted as exc:
                results.append(("refused", exc.message))
            except Exception as exc:  # noqa: BLE001 - any other outcome fails the test
                results.append(("error", repr(exc)))

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(results)


@pytest.mark.parametrize("hold", [0.0, 0.3])
def test_two_sessions_completing_at_once_complete_once(database, msr, monkeypatch, hold):
    a = factories.account(status="disconnected")
    o = orders.create_order(msr, a.id, "reconnect", today=TODAY)
    if hold:
        monkeypatch.setattr(orders, "_after_claim", lambda order_no: time.sleep(hold))
    results = _complete_from_two_sessions(o.order_no, msr)
    assert [r[0] for r in results] == ["completed", "refused"], results
    assert results[0][1] == "4000" and "already completed" in results[1][1]
    assert _fees(a.id) == [(4000, "Reconnect fee (business hours)")]
    assert db.AuditLog.select().where(db.AuditLog.action == "order.complete").count() == 1


# ---- dispatch, cancel, connect ----------------------------------------------------------------------

def test_dispatch_and_cancel(database, msr):
    a = factories.account()
    o = orders.create_order(msr, a.id, "meter_test", today=TODAY)
    d = orders.dispatch_order(msr, o.order_no, "Crew 7", when=WED_10AM)
    assert (d.status, d.dispatched_to, d.dispatched_at) == ("dispatched", "Crew 7", WED_10AM)
    with pytest.raises(orders.OrderStateError, match="is dispatched: it cannot be dispatched"):
        orders.dispatch_order(msr, o.order_no)
    with pytest.raises(ValidationError, match="reason") as e:
        orders.cancel_order(msr, o.order_no, "  ")
    assert e.value.field == "reason"
    c = orders.cancel_order(msr, o.order_no, "Member withdrew the request")
    assert (c.status, c.resolution) == ("cancelled", "Member withdrew the request")
    with pytest.raises(orders.OrderStateError, match="is cancelled: it cannot be completed"):
        orders.complete_order(msr, o.order_no)
    with pytest.raises(NotFound, match="No service order 1"):
        orders.complete_order(msr, 1)
    assert [r.action for r in audit.for_account(a.id)][:2] == ["order.cancel", "order.dispatch"]


def test_connect_needs_a_meter_and_activates(database, msr):
    a = factories.account(status="pending")
    db.Account.update(meter=None).where(db.Account.id == a.id).execute()
    o = orders.create_order(msr, a.id, "connect", today=TODAY)
    with pytest.raises(ValidationError, match="meter set at the connect"):
        orders.complete_order(msr, o.order_no, reading=0, when=WED_10AM)
    taken = factories.account(meter_no="BUSY1")
    with pytest.raises(ValidationError, match=f"on account {taken.number}"):
        orders.complete_order(msr, o.order_no, reading=0, meter_no="BUSY1", when=WED_10AM)
    done = orders.complete_order(msr, o.order_no, reading=42, meter_no="M-100", when=WED_10AM)
    assert done.account_status == "active" and done.readings[0].kwh == 0
    assert db.Account.get_by_id(a.id).meter.meter_no == "M-100"


def test_roles(database):
    billing = operators.create("bill1", "Bea Biller", "billing")
    coll = operators.create("coll1", "Cy Collector", "collections")
    a = factories.account(bills=(30000,))
    with pytest.raises(PermissionDenied):
        orders.create_order(billing, a.id, "reread", today=TODAY)
    o = orders.create_order(coll, a.id, "disconnect_nonpay", today=TODAY)
    with pytest.raises(PermissionDenied):
        orders.complete_order(coll, o.order_no)


# ---- work tickets -------------------------------------------------------------------------------------

def test_work_ticket_text_and_pdf(database, msr, tmp_path):
    a = factories.account(bills=(10000,), meter_no="MTR77")
    db.ServiceLocation.update(owner_name="Pine Rentals LLC", owner_phone="2085550111").execute()
    o = orders.create_order(msr, a.id, "reread", due_date=dt.date(2099, 3, 4), notes="Dog in yard (friendly)",
                            member_requested=True, today=TODAY)
    files = orders.write_work_ticket(o.order_no, tmp_path / "tickets", pdf=True)
    text = files.text.read_text()
    for needle in (f"SERVICE ORDER {o.order_no}", str(a.number), "Lovelace, Ada", "1234 N Government Way",
                   "T51N R4W S12", "MTR77", "Meter re-read", "03/04/2099", "Dog in yard (friendly)",
                   "Pine Rentals LLC (208) 555-0111", "trip fee", "Reading: ____"):
        assert needle in text, needle
    assert max(len(line) for line in text.splitlines()) <= 80
    shown = pdf_text(files.pdf.read_bytes())
    assert f"SERVICE ORDER {o.order_no}" in shown and "Dog in yard (friendly)" in shown
    orders.complete_order(msr, o.order_no, reading=1100, when=WED_10AM)
    assert "reading 1,100" in orders.work_ticket_text(o.order_no)


def test_last_read(database, msr):
    """The meter and its last reading (the factory reads 1000 on 01/10 and 2000 on 02/09); none yet: the opening."""
    a = factories.account(bills=(10000, 11000))
    last = orders.last_read(a.id)
    assert (last.reading, last.day, last.since, last.multiplier) == (2000, dt.date(2025, 2, 9), dt.date(2025, 2, 9), 1)
    assert last.meter_no == accounts.view(a.id).meter_no != ""
    fresh = factories.account(first="Grace", last="Hopper", street="5 Birch Ln")
    none = orders.last_read(fresh.id)
    assert (none.reading, none.day, none.since) == (None, None, db.Account.get_by_id(fresh.id).opened)
