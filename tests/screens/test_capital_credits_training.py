"""The capital credit walkthrough completed with keys on the practice co-op: the account found, its
capital credits opened with Ctrl+U, a wrong balance in the note refused, the right one accepted."""
from __future__ import annotations

from kec_tui.screens.capital_credits import CapitalCreditsScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_capital_credit_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("capital_credits").coming() is None
    app = make_app(practice, tmp_path, training="capital_credits")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        await burst(pilot, ["ctrl+u"])
        await until(pilot, lambda: step(app) == 2)
        assert isinstance(app.screen, CapitalCreditsScreen)
        await burst(pilot, ["escape", "f7", *"credits: told $1.00", "ctrl+s"])
        await until(pilot, lambda: "does not give the balance" in app.trainer.feedback)
        assert step(app) == 2
        await burst(pilot, ["f7", *f"Asked about capital credits: balance {data['balance']}", "ctrl+s"])
        await until(pilot, lambda: app.trainer.run.complete)
