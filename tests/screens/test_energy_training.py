"""The high-bill walkthrough completed with keys on the practice co-op: the energy use opened from the
account's menu, the checklist answered without the appliance (named wrong), then with it."""
from __future__ import annotations

from kec_tui.screens.energy import EnergyScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_high_bill_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("high_bill").coming() is None
    app = make_app(practice, tmp_path, training="high_bill")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        await burst(pilot, ["f8", "2"])
        await until(pilot, lambda: step(app) == 2)
        assert isinstance(app.screen, EnergyScreen)
        await burst(pilot, ["f6", *["enter"] * 7, *"no idea", "enter"])
        await until(pilot, lambda: "new appliance" in app.trainer.feedback)
        assert step(app) == 2
        await burst(pilot, ["f6", "enter", "enter", "enter", "y", "enter", "enter", "enter", "enter",
                            *"hot tub in October", "enter"])
        await until(pilot, lambda: app.trainer.run.complete)
