"""The "Enroll a member in autopay" walkthrough on a small practice co-op, completed with keys: a
mis-keyed routing digit is refused at the field, its keys held, nothing saved; then done right."""
from __future__ import annotations

import pytest

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.autopay import AutopayEnrollScreen
from kec_tui.services.practice import build_practice, open_practice, trainee_operator
from tests.screens.test_training import SMALL, panel_text, step, until
from tests.support.keys import send_burst, settle


@pytest.fixture(scope="module")
def practice_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("practice") / "practice.db"
    build_practice(path, **SMALL)
    return path


@pytest.fixture
def practice(practice_file, tmp_path):
    path = tmp_path / "practice.db"
    path.write_bytes(practice_file.read_bytes())
    open_practice(path)
    yield path
    db.database.close()


async def burst(pilot, keys: list[str]) -> None:
    send_burst(pilot.app, keys)
    await settle(pilot)


def settings(practice, tmp_path) -> Settings:
    return Settings(db=str(practice), theme="textual-dark", idle_lock_minutes=0, reports_dir=str(tmp_path / "r"))


async def test_enroll_in_autopay_walkthrough_completed_with_keys(practice, tmp_path):
    app = KecApp(settings(practice, tmp_path), trainee_operator("trainee1"), training="autopay")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        assert "step 1 of 3" in panel_text(app) and data["routing"] in panel_text(app)
        spoken = data["caller"].split(",")[0].removeprefix('"This is ')
        await burst(pilot, [*spoken.lower(), "enter"])
        await until(pilot, lambda: step(app) == 1)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == data["account_id"]
        await burst(pilot, ["f8", "7"])
        await until(pilot, lambda: step(app) == 2)
        # The last routing digit mis-keyed: refused at the field, the rest held, nothing saved.
        wrong = data["routing"][:8] + str((int(data["routing"][8]) + 1) % 10)
        await burst(pilot, ["enter", *wrong, *data["bank"], "enter", "c", "enter", "enter"])
        assert isinstance(app.screen, AutopayEnrollScreen) and app.screen.form.locked
        assert not db.AutopayEnrollment.select().where(db.AutopayEnrollment.account == data["account_id"]).exists()
        assert step(app) == 2
        await burst(pilot, ["escape", *data["routing"], *data["bank"], "enter", "c", "enter", "enter"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert "Walkthrough complete" in panel_text(app)
        e = db.AutopayEnrollment.get(db.AutopayEnrollment.account == data["account_id"])
        assert (e.routing, e.bank_account, e.account_type, e.prenote_sent_on) == \
            (data["routing"], data["bank"], "checking", None)


async def test_a_billing_clerk_is_told_who_enrolls(practice, tmp_path):
    app = KecApp(settings(practice, tmp_path), trainee_operator("clerk1", "billing"), training="autopay")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.trainer.run is None
        assert "(billing may not): train as one: kec-tui train --role msr --walkthrough autopay" \
            in app.trainer.message
