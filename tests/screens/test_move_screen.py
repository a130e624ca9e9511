"""Transfer of service and closure from the account screen, with the bad inputs answered."""
import datetime as dt
import re

import pytest
from textual.widgets import DataTable, Static

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.move import CloseScreen, MoveScreen
from kec_tui.services import accounts, memberships as ms, orders
from kec_tui.widgets.dialogs import ResultScreen
from kec_tui.widgets.step_form import StepForm
from tests.screens.conftest import settle
from tests.support.keys import burst
from tests.support.orders import highlight, notices


@pytest.fixture
def pine(coop, msr_op):
    return ms.add_location(msr_op, "77 Pine St", "Hayden", "83835", map_location="T51N R4W S1")


def screen_text(app) -> str:
    return re.sub(r"&#160;", " ", app.export_screenshot())


async def open_account(pilot, name: str) -> AccountScreen:
    await burst(pilot, *name, "enter")
    assert isinstance(pilot.app.screen, AccountScreen)
    return pilot.app.screen


async def test_move_final_bill_carried_balance_new_account(app, coop, pine):
    smith = coop["smith"]
    db.Account.update(deposit_cents=15000).where(db.Account.id == smith.id).execute()
    before = accounts.balance(smith.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "john smith")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, MoveScreen)
        form = app.screen.query_one(StepForm)
        # The account's own location, and one still in service, are refused at the field.
        await burst(pilot, *"88 W Prairie", "enter")
        assert form.current == "location" and "own service location" in form.error
        await burst(pilot, "escape", *"5 Smyth", "enter")  # Reset clears the refused field
        assert form.current == "location"
        assert f"already in service on account {coop['smithson'].number} (Smithson, Mary, active)" in form.error
        await burst(pilot, "escape", *"77 pine", "enter")
        assert form.current == "on"
        await burst(pilot, "enter")                                  # Enter takes today: as before
        assert form.current == "reading"
        await burst(pilot, *"5999", "enter")
        assert "below the last reading 6,000" in form.error and form.values["reading"] == "5999"
        await burst(pilot, "escape", *"6400", "enter")
        assert form.current == "rate"
        panel = str(app.screen.query_one("#panel-text", Static).render())
        assert "77 Pine St" in panel and "400 kWh" in panel and "$150.00 moves" in panel
        await burst(pilot, "enter", "enter", "enter")
        assert form.current == "mail"
        await burst(pilot, "enter")
        assert form.values["mail"] == "yes"                     # mail went to the old address: it follows
        await burst(pilot, *"keys with landlord", "enter", "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        old = db.Account.get_by_id(smith.id)
        new = db.Account.get_by_id(old.transferred_to_id)
        body = str(app.screen.query_one("#result-body", Static).render())
        carried = before + db.LedgerEntry.get(db.LedgerEntry.account == smith.id,
                                              db.LedgerEntry.kind == "bill", db.LedgerEntry.reference == "FINAL"
                                              ).amount_cents
        assert str(new.number) in body and f"${carried / 100:,.2f} balance" in body and "$150.00 moved" in body
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == new.id
        assert (old.status, new.status, new.location_id, new.deposit_cents) == ("closed", "pending", pine.id, 15000)
        assert accounts.balance(old.id) == 0 and accounts.balance(new.id) == carried
        m = db.Member.get_by_id(old.member_id)
        assert (m.mail_street, m.mail_city, m.mail_zip) == ("77 Pine St", "Hayden", "83835")
        assert [s.__class__.__name__ for s in app.screen_stack] == ["LookupScreen", "AccountScreen"]
        await pilot.press("f10")
        assert str(app.screen.query_one("#orders-table", DataTable).get_row_at(0)[1]) == "connect"
        await pilot.press("f12")
        history = app.screen.query_one("#history-table", DataTable)
        assert "balance.transfer" in {str(history.get_row_at(i)[2]) for i in range(history.row_count)}


async def test_move_refused_while_an_order_is_open_nothing_lost(app, coop, pine, msr_op):
    o = orders.create_order(msr_op, coop["smith"].id, "meter_test")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "john smith")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert f"Open service order {o.order_no} (Meter test, open)" in screen_text(app)   # told up front
        form = app.screen.query_one(StepForm)
        await burst(pilot, *"77 pine", "enter", "enter", *"6400", "enter", *["enter"] * 5, "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MoveScreen)
        assert f"has open service order {o.order_no}" in form.error and "complete or cancel it first" in form.error
        assert form.values["reading"] == "6400" and form.values["location"] == "77 pine"
        assert db.Account.get_by_id(coop["smith"].id).status == "active" and db.Account.select().count() == 3
        await burst(pilot, "escape", "escape")  # Reset, then leave
        assert "Leave without the move?" in screen_text(app)
        await burst(pilot, "y")
        assert isinstance(app.screen, AccountScreen)


async def test_close_applies_deposit_and_refunds_the_credit(app, coop):
    ada = coop["ada"]
    db.Account.update(deposit_cents=20000).where(db.Account.id == ada.id).execute()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_account(pilot, "ada lovelace")
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert isinstance(app.screen, CloseScreen)
        form = app.screen.query_one(StepForm)
        await burst(pilot, "enter", "enter")                       # today, then no reading
        assert form.current == "reading" and "final reading" in form.error
        await burst(pilot, "escape", *"100", "enter", *"moving out of state", "enter")
        panel = str(app.screen.query_one("#panel-text", Static).render())
        assert "$200.00 applied" in panel and "refunded by check" in panel
        await burst(pilot, "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        body = str(app.screen.query_one("#result-body", Static).render())
        a = db.Account.get_by_id(ada.id)
        refund = db.LedgerEntry.get(db.LedgerEntry.account == ada.id, db.LedgerEntry.kind == "adjustment")
        assert a.status == "closed" and accounts.balance(ada.id) == 0 and refund.amount_cents > 0
        assert "$200.00 applied" in body and f"${refund.amount_cents / 100:,.2f} by check" in body
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and "[CLOSED]" in str(screen.query_one("#title", Static).render())
        # A closed account cannot be moved or closed again.
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert app.screen is screen
        assert f"Account {a.number} is already closed" in " ".join(n.message for n in app._notifications)


async def test_close_refused_with_an_open_order(app, coop, msr_op):
    o = orders.create_order(msr_op, coop["smith"].id, "reread")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "john smith")
        await pilot.press("ctrl+x")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        assert f"Open service order {o.order_no} (Meter re-read, open)" in screen_text(app)
        await burst(pilot, "enter", *"6400", "enter", "enter", "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CloseScreen)
        assert f"has open service order {o.order_no}" in form.error
        assert db.Account.get_by_id(coop["smith"].id).status == "active"
        assert db.Reading.select().where(db.Reading.reading == 6400).count() == 0


async def test_a_pending_account_is_not_moved(app, msr_op, pine):
    new = ms.open_account(msr_op, pine.id, ms.Applicant("Alan", "Turing", phone_mobile="2085550147"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "alan turing")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        assert f"Account {new.account_number} was never connected" in " ".join(n.message for n in app._notifications)


async def test_a_move_set_for_a_later_day_makes_the_final_read_order_for_it(app, coop, pine):
    """One burst: location, the day the member names, then the new service; no reading today."""
    smith = coop["smith"]
    on = dt.date.today() + dt.timedelta(days=14)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "john smith")
        await pilot.press("ctrl+o")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        await burst(pilot, *"77 pine", "enter", "ctrl+e", *f"{on:%m%d%Y}", "enter",
                    "enter", "enter", "enter", *"call ahead", "enter", "y", "enter")  # rate, rental, connect
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        assert f"set for {on:%m/%d/%Y}" in screen_text(app)
        await burst(pilot, "enter")
        await settle(pilot)
    assert db.Account.get_by_id(smith.id).status == "active"            # moved on the day, not now
    o = db.ServiceOrder.get(db.ServiceOrder.account == smith.id, db.ServiceOrder.kind == "move_out_read")
    assert (o.status, o.due_date) == ("open", on)
    s = db.ScheduledFinal.get(db.ScheduledFinal.order == o.id)
    assert (s.kind, s.new_location_id, s.notes) == ("move", pine.id, "call ahead")
    today_reads = db.Reading.select().where(db.Reading.account == smith.id, db.Reading.read_date == dt.date.today())
    assert today_reads.count() == 0


@pytest.mark.parametrize("days, needle", [(-1, "in the past"), (61, "days ahead")])
async def test_a_date_past_or_too_far_is_refused_and_the_keys_behind_it_write_nothing(app, coop, pine, days, needle):
    smith = coop["smith"]
    on = dt.date.today() + dt.timedelta(days=days)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_account(pilot, "john smith")
        await pilot.press("ctrl+x")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        await burst(pilot, "ctrl+e", *f"{on:%m%d%Y}", "enter")
        assert form.current == "on" and needle in form.error, form.error
        # Refused, and the rest of the closure typed ahead of the refusal: nothing is written.
        await burst(pilot, "ctrl+e", *f"{on:%m%d%Y}", "enter", *"6400", "enter", *"gone", "enter", "y", "enter")
        await settle(pilot)
        assert form.current == "on" and form.error, form.error
        assert db.Account.get_by_id(smith.id).status == "active"
        assert db.ScheduledFinal.select().count() == 0
        assert not db.ServiceOrder.select().where(db.ServiceOrder.account == smith.id).exists()
        assert db.Reading.select().where(db.Reading.reading == 6400).count() == 0


async def test_completing_the_final_read_of_a_move_set_ahead_moves_the_service(app, coop, pine, msr_op):
    from kec_tui.screens.orders import CompleteOrderScreen, OrderQueueScreen
    from kec_tui.services import moves

    smith = coop["smith"]
    s = moves.transfer_service(msr_op, smith.id, pine.id, on=dt.date.today() + dt.timedelta(days=1))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("f9")
        highlight(app, s.order_no)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, CompleteOrderScreen)
        form = app.screen.query_one(StepForm)
        await burst(pilot, *"6400", "enter", *"read at the gate", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderQueueScreen), form.error
        assert "Service moved to account" in notices(app) or "Service moved to account" in screen_text(app)
    old = db.Account.get_by_id(smith.id)
    assert old.status == "closed" and db.Account.get_by_id(old.transferred_to_id).location_id == pine.id
