"""The service order queue: filters, create, complete (once), cancel, tickets, the disconnect rules."""
import dataclasses
import datetime as dt

import pytest
from textual import events
from textual.widgets import DataTable, Static

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.orders import CancelOrderScreen, CompleteOrderScreen, NewOrderScreen, OrderQueueScreen
from kec_tui.services import operators, orders
from kec_tui.widgets.entry_form import EditForm
from kec_tui.widgets.step_form import StepForm
from tests.screens.conftest import settle
from tests.support.keys import burst, settle as until
from tests.support.orders import highlight, notices, table_orders


@pytest.fixture
def queue(coop, msr_op):
    """Three open orders: a reconnect (Smithson, disconnected), a requested re-read (Smith), a meter test (Ada)."""
    smithson = coop["smithson"]
    db.Account.update(status="disconnected").where(db.Account.id == smithson.id).execute()
    today = dt.date.today()
    return {
        "reconnect": orders.create_order(msr_op, smithson.id, "reconnect", priority=1, due_date=today),
        "reread": orders.create_order(msr_op, coop["smith"].id, "reread", member_requested=True,
                                      due_date=today + dt.timedelta(days=3)),
        "test": orders.create_order(msr_op, coop["ada"].id, "meter_test", due_date=today + dt.timedelta(days=9)),
    }


async def open_queue(pilot):
    await pilot.press("f4")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OrderQueueScreen)
    return pilot.app.screen.query_one(EditForm)


async def test_queue_filters_by_type_status_and_due_date(app, queue):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_queue(pilot)
        # Most urgent first: due date, then priority.
        assert table_orders(app) == [str(queue[k].order_no) for k in ("reconnect", "reread", "test")]
        assert "3 orders to do" in str(app.screen.query_one("#summary", Static).render())
        await burst(pilot, "r", "enter", "enter", "enter", "enter")        # Type: reconnect
        await settle(pilot)
        assert table_orders(app) == [str(queue["reconnect"].order_no)]
        assert form.values["kind"] == "reconnect"                        # the filters stay
        await burst(pilot, *["space"] * 9)                                # round the 12 choices to "all"
        assert form.values["kind"] == "all"
        due = (dt.date.today() + dt.timedelta(days=5)).strftime("%m%d%Y")
        await burst(pilot, "enter", "enter", *due, "f10")
        await settle(pilot)
        assert table_orders(app) == [str(queue[k].order_no) for k in ("reconnect", "reread")]
        # Status "completed" shows none yet; "all" shows every one.
        orders.complete_order(operators.by_username("msr1"), queue["test"].order_no, reading=2500)
        await burst(pilot, "enter", "c", "enter", "ctrl+e", "f10")      # after Apply the cursor is on Type
        await settle(pilot)
        assert form.values["status"] == "completed"
        assert table_orders(app) == [str(queue["test"].order_no)]
        await burst(pilot, "enter", "a", "f10")
        await settle(pilot)
        assert len(table_orders(app)) == 3
        await pilot.press("f9")
        assert isinstance(app.focused, DataTable)
        await pilot.press("escape")
        assert app.focused is form
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OrderQueueScreen)


async def test_create_complete_with_fee_and_complete_twice_refused(app, coop, queue):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        # Create: a member-requested re-read on Ada's account.
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, NewOrderScreen)
        form = app.screen.query_one(StepForm)
        await burst(pilot, *str(coop["ada"].number), "enter")
        assert "Lovelace, Ada" in str(app.screen.query_one("#who", Static).render())
        await burst(pilot, "r", "r", "enter")                            # reconnect, then re-read
        assert form.current == "priority"
        await burst(pilot, "2", "enter", "enter", "y", "enter", *"gate code 1234", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen), form.error
        new = db.ServiceOrder.select().order_by(db.ServiceOrder.id.desc()).first()
        assert (new.kind, new.priority, new.member_requested, new.notes) == ("reread", 2, True, "gate code 1234")
        assert f"Order {new.order_no} created" in notices(app)
        assert str(new.order_no) in table_orders(app)

        # Complete the reconnect (first row): the fee is shown first, charged on completion.
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, CompleteOrderScreen)
        what = str(app.screen.query_one("#what", Static).render())
        assert "Fee on completion: Reconnect fee" in what
        await burst(pilot, *"12345", "enter", *"meter on", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen)
        smithson = db.Account.get_by_id(coop["smithson"].id)
        assert smithson.status == "active"
        assert f"Order {queue['reconnect'].order_no} completed" in notices(app)
        fee = db.LedgerEntry.get(db.LedgerEntry.account == smithson.id, db.LedgerEntry.kind == "fee")
        assert fee.amount_cents in (4000, 16000)
        assert str(queue["reconnect"].order_no) not in table_orders(app)    # done: off the to-do list

        # Someone else completes the re-read while it is on this screen: the second completion is refused.
        highlight(app, queue["reread"].order_no)
        other = operators.create("msr2", "Other MSR", "msr")
        orders.complete_order(other, queue["reread"].order_no, reading=6500)
        await pilot.press("f7")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        await burst(pilot, *"6600", "enter", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CompleteOrderScreen)
        assert f"Order {queue['reread'].order_no} is already completed by msr2" in form.error
        assert form.values["reading"] == "6600"                          # nothing keyed is lost
        assert db.Reading.select().where(db.Reading.reading == 6600).count() == 0
        await pilot.press("escape", "escape")  # Reset, then leave
        await settle(pilot)
        # With every status shown, F7 on a completed order says so at once.
        await burst(pilot, "enter", "a", "f10")
        await settle(pilot)
        highlight(app, queue["reconnect"].order_no)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen)
        assert f"Order {queue['reconnect'].order_no} is already completed by msr1" in notices(app)

        # On the account screen afterwards: the order and its history.
        await pilot.press("f9")
        highlight(app, queue["reconnect"].order_no)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == smithson.id
        await pilot.press("f10")
        row = app.screen.query_one("#orders-table", DataTable).get_row_at(0)
        assert [str(c) for c in row[:3]] == [str(queue["reconnect"].order_no), "reconnect", "completed"]
        await pilot.press("f12")
        history = app.screen.query_one("#history-table", DataTable)
        actions = {str(history.get_row_at(i)[2]) for i in range(history.row_count)}
        assert {"order.complete", "order.fee", "account.status"} <= actions


async def test_cancel_with_reason_and_ticket(app, queue, tmp_path):
    app.settings = dataclasses.replace(app.settings, tickets_dir=str(tmp_path / "tickets"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("f11")
        await settle(pilot)
        ticket = tmp_path / "tickets" / f"order-{queue['reconnect'].order_no}.txt"
        assert ticket.exists() and (tmp_path / "tickets" / f"order-{queue['reconnect'].order_no}.pdf").exists()
        assert str(ticket.parent) in notices(app) and ticket.name in notices(app)
        assert "Reconnect" in ticket.read_text()
        await pilot.press("f12")
        await settle(pilot)
        assert isinstance(app.screen, CancelOrderScreen)
        form = app.screen.query_one(EditForm)
        await pilot.press("enter")
        assert "reason is required" in form.error.lower()
        await burst(pilot, "escape", *"paid at the counter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen)
        o = orders.get_order(queue["reconnect"].order_no)
        assert (o.status, o.resolution) == ("cancelled", "paid at the counter")
        assert str(o.order_no) not in table_orders(app)


async def test_esc_leaves_an_order_dialog_and_changes_nothing(app, queue):
    """The order dialogs share one frame (FormDialog): Esc typed ahead behind a half-keyed reason leaves it."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("f12")
        await settle(pilot)
        assert isinstance(app.screen, CancelOrderScreen)
        title = str(app.screen.query_one(".modal-title", Static).render())
        assert f"Cancel order {queue['reconnect'].order_no}" in title
        await burst(pilot, *"paid at", "escape")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen)
        assert orders.get_order(queue["reconnect"].order_no).status == "open"
        assert str(queue["reconnect"].order_no) in table_orders(app)


async def test_disconnect_refused_in_winter_protection(app, coop, msr_op, monkeypatch):
    winter = dt.date(2026, 1, 12)             # a winter day before today: due dates stay ahead
    monkeypatch.setattr(orders, "today_or", lambda day: day or winter)
    orders.declare_winter_protection(msr_op, coop["ada"].id, ["children"])
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(pilot, *"ada lovelace", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, NewOrderScreen)
        form = app.screen.query_one(StepForm)
        await burst(pilot, "d", "enter", "enter", "enter", *"past due", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewOrderScreen)
        assert form.current == "kind" and "winter protection" in form.error
        assert form.values["notes"] == "past due"
        assert db.ServiceOrder.select().count() == 0
        await pilot.press("escape", "escape")  # Reset, then leave
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)


async def test_disconnect_refused_by_a_medical_certificate(app, coop, msr_op):
    o = orders.create_order(msr_op, coop["smith"].id, "disconnect_nonpay", due_date=dt.date.today())
    orders.record_medical_certificate(msr_op, coop["smith"].id, physician="Dr. Quinn")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("f7")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        await burst(pilot, *"5000", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CompleteOrderScreen)
        assert "medical certificate" in form.error and "Cancel the order" in form.error
        assert orders.get_order(o.order_no).status == "open"
        assert db.Account.get_by_id(coop["smith"].id).status == "active"


async def test_new_order_keys_typed_ahead_land_in_their_fields(app, coop):
    """The whole order as one burst, nothing awaited between keys."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("f6")
        await settle(pilot)
        keys = [*str(coop["smith"].number), "enter", "m", "m", "m", "enter", "1", "enter", "enter", "y", "enter",
                *"dog in yard", "enter"]
        for k in keys:
            app._driver.send_message(events.Key(k, k if len(k) == 1 else None))
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen)
        o = db.ServiceOrder.get()
        assert (o.account_id, o.kind, o.priority, o.member_requested, o.notes) == \
            (coop["smith"].id, "meter_test", 1, True, "dog in yard")


def test_snapshot_queue_at_80x24(app, coop, msr_op, snap_compare):
    smithson = coop["smithson"]
    db.Account.update(status="disconnected").where(db.Account.id == smithson.id).execute()
    orders.create_order(msr_op, smithson.id, "reconnect", priority=1, due_date=dt.date(2030, 1, 14))
    orders.create_order(msr_op, coop["smith"].id, "reread", member_requested=True, due_date=dt.date(2030, 1, 15),
                        notes="Member disputes the March read; dog in the yard, call ahead")
    orders.create_order(msr_op, coop["ada"].id, "meter_test", due_date=dt.date(2030, 2, 1))

    async def run_before(pilot):
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("f9", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_the_queue_is_paged(app, coop, msr_op, monkeypatch):
    from kec_tui.screens import orders as orders_screen

    monkeypatch.setattr(orders_screen, "PAGE", 5)
    made = [orders.create_order(msr_op, coop[who].id, kind, priority=n % 5 + 1).order_no
            for n, (who, kind) in enumerate((w, k) for w in ("smith", "ada")
                                            for k in ("meter_test", "reread", "other", "meter_replace"))]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        assert len(table_orders(app)) == 5
        assert "8 orders to do" in str(app.screen.query_one("#summary", Static).render())
        await pilot.press("f9")
        await burst(pilot, "down", "down", "down")
        assert sorted(table_orders(app)) == sorted(str(n) for n in made)        # the next page came in
        await burst(pilot, "end")
        assert len(table_orders(app)) == 8


async def test_a_reconnect_order_asks_for_the_deposit_the_rules_call_for(app, coop):
    """A disconnected account: the reconnect order's message asks for the deposit the rules call for, first."""
    db.Account.update(status="disconnected").where(db.Account.id == coop["smith"].id).execute()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_account(coop["smith"].id)
        await until(pilot, lambda: isinstance(app.screen, AccountScreen))
        await burst(pilot, "ctrl+n", "r", "enter", "enter", "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, AccountScreen) and db.ServiceOrder.select().count())
        assert db.ServiceOrder.get().kind == "reconnect"
        said = notices(app)
        assert "Ask for a deposit of $" in said and "before the crew goes out" in said and "Ctrl+D bills it" in said
