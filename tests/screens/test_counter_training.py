"""The counter walkthrough (training/walkthroughs.py COUNTER) completed by driving the real screens with
keys on the practice database: the drawer opened, a payment with a sale taken, the drawer closed."""
from __future__ import annotations

from kec_tui import db
from kec_tui.services import drawers
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_counter_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    app = make_app(practice, tmp_path, training="counter")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await burst(pilot, ["shift+f5", "f5", *literal("100.00\r")])
        await until(pilot, lambda: step(app) == 1)
        await burst(pilot, ["escape"])
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 2)
        # The wrong amount first: named, and the step stays.
        await burst(pilot, ["ctrl+k", *literal("1.00\r\r1\r\r\r\r\r")])
        await until(pilot, lambda: "Void it" in app.trainer.feedback)
        assert step(app) == 2
        await burst(pilot, ["shift+f5", "f9", *literal("wrong amount\r")])    # voided on the drawer
        await burst(pilot, ["escape"])
        assert db.CounterTxn.get().voided_at is not None
        await burst(pilot, ["ctrl+k", *literal(f"\r{data['item']}\r{data['qty']}\r\r\r{data['cash']}\r\r\r\r\r")])
        await until(pilot, lambda: step(app) == 3)
        d = drawers.open_drawer_of(app.operator)
        cash = drawers.expected(d.id)["cash"]
        hundreds, rest = divmod(cash, 10_000)
        pennies = rest                                     # the rest in pennies: a count, however odd
        keys = ["shift+f5", "f10", *literal(f"{hundreds}\r"), *(["enter"] * 10), *literal(f"{pennies}\r"),
                "enter"]
        await burst(pilot, keys)
        await until(pilot, lambda: app.trainer.run.complete)
    assert db.CashDrawer.get_by_id(d.id).status == "closed"
