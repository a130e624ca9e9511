"""The collections walkthrough completed by driving the real screens with keys (training mode)."""
from __future__ import annotations

from kec_tui import db
from kec_tui.screens.collections import CollectionsScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_worklist_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("collections").coming() is None
    app = make_app(practice, tmp_path, training="collections")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        wrong = 1 if data["cycle"] != 1 else 2
        await burst(pilot, ["shift+f4", str(wrong), "enter", "enter"])
        await until(pilot, lambda: "That is cycle" in app.trainer.feedback)
        assert step(app) == 0
        await burst(pilot, ["ctrl+e", str(data["cycle"]), "enter", "enter"])
        await until(pilot, lambda: step(app) == 1)
        screen = app.screen
        assert isinstance(screen, CollectionsScreen)
        await burst(pilot, ["down"] + ["down"] * (data["line"] - 1) + ["enter"])
        await until(pilot, lambda: step(app) == 2)
        await burst(pilot, ["f7", *literal("Will pay 50.00 Friday\r")])
        await until(pilot, lambda: app.trainer.run.complete)
        note = db.Note.get(db.Note.account == data["account_id"], db.Note.operator == app.operator.id)
        assert note.text == "Will pay 50.00 Friday"
