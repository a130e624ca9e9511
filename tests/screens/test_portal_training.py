"""The online account walkthrough completed by driving the real screens with keys (training mode); its
document opens with the reference key."""
from __future__ import annotations

import dataclasses

from kec_tui import db
from kec_tui.screens.reference import ReferenceScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def test_online_account_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("portal").coming() is None
    app = make_app(practice, tmp_path, training="portal")
    app.settings = dataclasses.replace(app.settings, policies_dir=str(tmp_path / "policies"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        # The walkthrough's document, over the account, and back.
        await burst(pilot, ["shift+f1"])
        await until(pilot, lambda: isinstance(app.screen, ReferenceScreen))
        assert app.screen.document == "training/online-account-help"
        assert "Shift+F1" in app.trainer.texts()[-1][1]
        await burst(pilot, ["escape"])
        await burst(pilot, ["ctrl+u", "f5", "y"])
        await until(pilot, lambda: step(app) == 2)
        await burst(pilot, ["f12", *literal(data["tax4"] + "\r" + data["birth"] + "\r\r\r\r" + data["new_email"]
                                            + "\r")])
        await until(pilot, lambda: step(app) == 3)
        await burst(pilot, ["f6", "y"])
        await until(pilot, lambda: app.trainer.run.complete)
        row = db.PortalAccount.get(db.PortalAccount.account == data["account_id"])
        assert row.email == data["new_email"]
        C = db.PortalIdentityCheck
        assert [c.questions for c in C.select().where(C.account == data["account_id"])] == ["tax4,birth"]
