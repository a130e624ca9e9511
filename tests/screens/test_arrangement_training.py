"""The payment arrangement, pledge and assistance-application walkthroughs completed by driving the real
screens with keys."""
from __future__ import annotations

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


async def find_caller(pilot, app) -> dict:
    data = app.trainer.run.ctx.data
    spoken = data["caller"].split(",")[0].removeprefix('"This is ')
    if "Community Action" in spoken:                  # the agency calls: the member is named after "for"
        spoken = data["caller"].split(" for ", 1)[1].split(",")[0]
    await burst(pilot, [*spoken.lower(), "enter"])
    await until(pilot, lambda: step(app) == 1)
    assert isinstance(app.screen, AccountScreen) and app.screen.account_id == data["account_id"]
    return data


async def test_arrangement_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("arrangement").coming() is None
    app = make_app(practice, tmp_path, training="arrangement")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = await find_caller(pilot, app)
        await burst(pilot, ["f8", "5", "enter", *literal("25\r4\r\rPays on the 1st\r")])
        await until(pilot, lambda: app.trainer.run.complete)
        a = db.Arrangement.get(db.Arrangement.account == data["account_id"])
        assert (a.down_cents, a.installments, a.mode, a.note) == (2_500, 4, "bills", "Pays on the 1st")
        assert list((tmp_path / "reports").glob("arrangement-*.pdf"))


async def test_pledge_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("pledge").coming() is None
    app = make_app(practice, tmp_path, training="pledge")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = await find_caller(pilot, app)
        await burst(pilot, ["f8", "6", *literal("SVDP\r150\r\r\rL-PRACTICE\r")])
        await until(pilot, lambda: "the agency said CAP" in app.trainer.feedback)
        assert step(app) == 1
        await burst(pilot, ["f8", "6", *literal("CAP\r150\r\r\rL-PRACTICE\r")])
        await until(pilot, lambda: app.trainer.run.complete)
        assert db.Pledge.select().where(db.Pledge.account == data["account_id"]).count() == 2


async def test_assistance_application_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("assistance_application").coming() is None
    app = make_app(practice, tmp_path, training="assistance_application")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = await find_caller(pilot, app)
        await burst(pilot, ["f8", "end", "enter", *literal("SVDP\r\rLIHEAP winter, pay stubs to follow\r")])
        await until(pilot, lambda: "(CAP)" in app.trainer.feedback)
        assert step(app) == 1
        await burst(pilot, ["f8", "end", "enter", *literal("CAP\r\rLIHEAP winter, pay stubs to follow\r")])
        await until(pilot, lambda: app.trainer.run.complete)
        A = db.AssistanceApplication
        assert A.select().where(A.account == data["account_id"]).count() == 2
