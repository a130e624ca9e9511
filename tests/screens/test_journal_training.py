"""The GL journal walkthrough completed by driving the real screens with keys (training mode)."""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.screens.journal import JournalScreen
from kec_tui.training import trainee_operator, walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_journal_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("journal").coming() is None
    app = make_app(practice, tmp_path, op=trainee_operator("clerk3", "billing"), training="journal")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        day = dt.date.fromisoformat(data["iso"])
        wrong = day - dt.timedelta(days=1)
        await burst(pilot, ["shift+f6", "5", *literal(f"{wrong:%m/%d/%Y}\r")])
        await until(pilot, lambda: "That is" in app.trainer.feedback, timeout=15)
        assert step(app) == 0
        await burst(pilot, ["ctrl+e", *literal(f"{data['day']}\r")])
        await until(pilot, lambda: step(app) == 1, timeout=15)
        assert isinstance(app.screen, JournalScreen)
        await burst(pilot, ["f10", "f10"])
        await until(pilot, lambda: app.trainer.run.complete, timeout=15)
        row = db.GlDay.get(db.GlDay.day == day)
        assert row.closed_by_id == app.operator.id and row.debit_cents == row.credit_cents
