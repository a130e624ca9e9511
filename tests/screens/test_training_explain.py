"""The "Explain a bill" walkthrough on a small practice co-op (its bills made by a real billing run
of one cycle, services/practice.ensure_billed_cycle), completed with keys."""
from __future__ import annotations

import pytest

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.adjustment import AdjustmentScreen
from kec_tui.screens.bills import BillsScreen
from kec_tui.services.practice import PRACTICE_PASSWORD, build_practice, open_practice, trainee_operator
from tests.screens.test_bills_screen import shown
from tests.screens.test_training import SMALL, panel_text, step, until
from tests.support.keys import send_burst, settle


@pytest.fixture(scope="module")
def practice_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("practice") / "practice.db"
    build_practice(path, **SMALL)
    return path


@pytest.fixture
def practice(practice_file, tmp_path):
    path = tmp_path / "practice.db"
    path.write_bytes(practice_file.read_bytes())
    open_practice(path)
    yield path
    db.database.close()


async def burst(pilot, keys: list[str]) -> None:
    send_burst(pilot.app, keys)
    await settle(pilot)


def test_the_practice_co_op_has_bills_of_a_billing_run(practice):
    run = db.BillingRun.get()
    assert run.status == "committed" and run.bill_count == db.Bill.select().count() > 10


async def test_explain_a_bill_walkthrough_completed_with_keys(practice, tmp_path):
    settings = Settings(db=str(practice), theme="textual-dark", idle_lock_minutes=0,
                        reports_dir=str(tmp_path / "reports"))
    app = KecApp(settings, trainee_operator("trainee1"), training="explain")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        assert "step 1 of 4" in panel_text(app)
        spoken = data["caller"].split(",")[0].removeprefix('"This is ')
        await burst(pilot, [*spoken.lower(), "enter"])
        await until(pilot, lambda: step(app) == 1)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == data["account_id"]
        await burst(pilot, ["ctrl+e"])
        await until(pilot, lambda: step(app) == 2)
        assert isinstance(app.screen, BillsScreen)
        assert f"Bill of {data['bill_date']}" in shown(app.screen.query_one("#detail-text"))
        await burst(pilot, ["f6"])
        await until(pilot, lambda: step(app) == 3)
        await burst(pilot, ["escape", "f7", *"Explained the charges", "ctrl+s"])
        await until(pilot, lambda: "does not give the bill's kWh" in panel_text(app))
        await burst(pilot, ["f7", *f"Explained the bill: {data['kwh']} kWh, fewer days", "ctrl+s"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert "Walkthrough complete" in panel_text(app)


async def test_make_an_adjustment_walkthrough_completed_with_keys(practice, tmp_path):
    settings = Settings(db=str(practice), theme="textual-dark", idle_lock_minutes=0,
                        reports_dir=str(tmp_path / "reports"))
    app = KecApp(settings, trainee_operator("clerk1", "billing"), training="adjust")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        assert "step 1 of 3" in panel_text(app)
        spoken = data["caller"].split(",")[0].removeprefix('"This is ')
        await burst(pilot, [*spoken.lower(), "enter"])
        await until(pilot, lambda: step(app) == 1)
        # A debit by mistake is named; then the courtesy credit.
        await burst(pilot, ["ctrl+a", "d", "enter", *"15.00", "enter", "c", "enter", *"gate", "enter"])
        await until(pilot, lambda: "a debit adds to the balance" in panel_text(app))
        await burst(pilot, ["ctrl+a", "enter", *"15.00", "enter", "c", "enter", *"gate left open", "enter"])
        await until(pilot, lambda: step(app) == 2)
        # Over the limit: a wrong password stops the form, nothing is posted; Esc and the right one post it.
        await burst(pilot, ["ctrl+a", "enter", *"150.00", "enter", "m", "enter", *"meter test", "enter",
                            *"super", "enter", *"nope", "enter", "x"])
        assert isinstance(app.screen, AdjustmentScreen) and app.screen.query_one("#form").locked
        assert step(app) == 2
        await burst(pilot, ["escape", *PRACTICE_PASSWORD, "enter"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert "Walkthrough complete" in panel_text(app)
        A = db.Adjustment
        assert [(a.reason, a.amount_cents) for a in A.select().where(A.account == data["account_id"])] == [
            ("COURTESY", 1500), ("COURTESY", -1500), ("METER", -15000)]


async def test_a_collector_is_told_who_makes_adjustments(practice, tmp_path):
    settings = Settings(db=str(practice), theme="textual-dark", idle_lock_minutes=0)
    app = KecApp(settings, trainee_operator("collector1", "collections"), training="adjust")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.trainer.run is None
        assert "(collections may not): train as one: kec-tui train --role msr --walkthrough adjust" \
            in app.trainer.message
