"""The credit walkthroughs (deposit, write-off list, bankruptcy) completed by driving the real screens
with keys in training mode, on the practice co-op; checked in the database."""
from __future__ import annotations

from kec_tui import db
from kec_tui.services.practice import trainee_operator
from kec_tui.training import walkthroughs
from tests.screens.test_training import burst, literal, make_app, practice, practice_file, step, until  # noqa: F401
from tests.support.keys import settle


def collector():
    return trainee_operator("trainee7", "collections")


async def find(pilot, app, name: str) -> None:
    await burst(pilot, ["f2", *literal(name + "\r")])
    await until(pilot, lambda: step(app) == 1)


async def test_deposit_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    assert walkthroughs.by_name("deposit").coming() is None
    app = make_app(practice, tmp_path, collector(), training="deposit")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await find(pilot, app, data["name"])
        await burst(pilot, ["ctrl+d"])
        await until(pilot, lambda: step(app) == 2)
        await burst(pilot, ["enter", "enter", "2", "enter", *literal("Agreed on the phone\r")])
        await until(pilot, lambda: app.trainer.run.complete)
        d = db.Deposit.get(db.Deposit.account == data["account_id"])
        assert (d.reason, d.installments) == ("late_history", 2)


async def test_writeoff_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    app = make_app(practice, tmp_path, collector(), training="writeoff")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await burst(pilot, ["shift+f6", "4"])
        await until(pilot, lambda: step(app) == 1)
        await until(pilot, lambda: app.screen.writeoff_list is not None)
        await burst(pilot, ["f8", *literal(data["sup_user"] + "\r" + data["sup_password"] + "\r")])
        await until(pilot, lambda: app.trainer.run.complete, timeout=15)
        assert db.WriteOff.get(db.WriteOff.account == data["account_id"]).approved_by.username == "super"


async def test_bankruptcy_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    app = make_app(practice, tmp_path, collector(), training="bankruptcy")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await find(pilot, app, data["name"])
        await burst(pilot, ["f8", "4", "1", "3", "enter", *literal(data["case_no"] + "\r"),
                            *literal(data["filed_keys"] + "\r"), "enter", "enter"])
        await until(pilot, lambda: app.trainer.run.complete)
        c = db.BankruptcyCase.get(db.BankruptcyCase.account == data["account_id"])
        assert (c.chapter, c.case_no, c.status) == (13, data["case_no"], "open")


async def test_an_msr_is_told_to_train_as_collections_for_the_write_off_list(practice, tmp_path):  # noqa: F811
    app = make_app(practice, tmp_path, trainee_operator("trainee8"), training="writeoff")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.trainer.run is None
        assert app.trainer.start("writeoff") == ("The write-off list is for collections staff (msr may not): train "
                                                 "as one: kec-tui train --role collections --walkthrough writeoff")
