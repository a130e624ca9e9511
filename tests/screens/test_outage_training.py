"""The outage walkthrough completed with keys on the practice co-op: a wire-down call logged (a lights-out
call first is named wrong), the board opened, the emergency handed to dispatch."""
from __future__ import annotations

from kec_tui.services import outages
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_outage_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("outage").coming() is None
    app = make_app(practice, tmp_path, training="outage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        await burst(pilot, ["ctrl+t", "1", "enter", "enter", "enter", "enter", "enter"])
        await until(pilot, lambda: "wire down" in app.trainer.feedback)
        assert step(app) == 1
        await burst(pilot, ["ctrl+t", "4", "enter", "enter", "enter", "y", "enter", *"across the drive", "enter"])
        await until(pilot, lambda: step(app) == 2)
        await burst(pilot, ["shift+f9"])
        await until(pilot, lambda: step(app) == 3)
        await burst(pilot, ["f9"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert outages.emergencies() == []
