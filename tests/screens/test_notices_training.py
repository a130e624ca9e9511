"""The disconnect-notice walkthrough completed by driving the real screens with keys (training mode)."""
from __future__ import annotations

from kec_tui import db
from kec_tui.screens.collections import CollectionsScreen
from kec_tui.screens.notices import NoticeRunScreen
from kec_tui.training import trainee_operator, walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_notices_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("notices").coming() is None
    op = trainee_operator("trainee2", "collections")
    app = make_app(practice, tmp_path, op=op, training="notices")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await burst(pilot, ["shift+f4", "f11"])
        await until(pilot, lambda: step(app) == 1)
        assert isinstance(app.screen, NoticeRunScreen)
        await burst(pilot, ["enter", "f10"])
        await until(pilot, lambda: step(app) == 2, timeout=60)
        run = db.NoticeRun.get()
        assert (run.status, run.notice_count) == ("committed", data["count"])
        await burst(pilot, ["escape"])
        await until(pilot, lambda: isinstance(app.screen, CollectionsScreen) and app.screen.items
                    and any(i.next_action.short == "Final call" for i in app.screen.items), timeout=30)
        line = next(n for n, i in enumerate(app.screen.items) if i.next_action.short == "Final call")
        await burst(pilot, ["down"] + ["down"] * line + ["f5"])
        await until(pilot, lambda: type(app.screen).__name__ == "ContactDialog")
        phone = app.screen.notice.phone
        keys = (["enter"] if phone else [*literal("2085550100"), "enter"]) + ["n", "enter", *literal("No answer\r")]
        await burst(pilot, keys)
        await until(pilot, lambda: app.trainer.run.complete)
        assert db.ContactAttempt.select().where(db.ContactAttempt.operator == op.id).count() == 1


def test_an_msr_trainee_is_told_the_notice_run_is_collections_work(practice):  # noqa: F811
    from kec_tui.training.walkthroughs import Ctx, NotPossible

    op = trainee_operator("trainee3", "msr")
    ctx = Ctx(app=None, op=op, since=db.now())
    try:
        walkthroughs.NOTICES.setup(ctx)
    except NotPossible as e:
        assert "--role collections" in str(e)
    else:
        raise AssertionError("an MSR trainee was let into the notice run")
