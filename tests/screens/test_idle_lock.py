import time

from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.contacts import ContactScreen, EditForm
from kec_tui.screens.lock import LockScreen
from kec_tui.services import passwords
from kec_tui.widgets.line_input import LineInput
from tests.screens.conftest import settle


def go_idle(app) -> None:
    app.last_input_at = time.monotonic() - 3600
    app.lock_if_idle()


async def test_lock_keeps_unsaved_keys_and_needs_the_password(coop, msr_op, sqlite_db):
    passwords.set_password("msr1", "correct horse battery")
    app = KecApp(Settings(db=sqlite_db, idle_lock_minutes=5), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"john smith", "enter")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        form = app.screen.query_one(EditForm)
        await pilot.press("ctrl+e", *"20855512")            # half a phone number, not saved
        go_idle(app)
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        secret = app.screen.query_one(LineInput)
        assert secret.password                                # typed characters are not shown
        await pilot.press("f2", "f3", "ctrl+p")               # global keys do nothing while locked
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"wrong", "enter")
        await settle(pilot)
        assert "Not recognized" in secret.error and secret.value == ""
        await pilot.press("x")                                # typed after the refusal: held, not used
        assert secret.value == "" and "1 key typed after it was not used" in secret.error_text
        await pilot.press("escape", *"correct horse battery", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert form.values["phone_home"] == "20855512"        # the unsaved keys are still there
        await pilot.press(*"34", "f10")
        await settle(pilot)
        from kec_tui import db
        assert db.Member.get_by_id(coop["smith"].member_id).phone_home == "2085551234"


async def test_without_a_password_the_operator_name_unlocks(coop, msr_op, sqlite_db):
    app = KecApp(Settings(db=sqlite_db, idle_lock_minutes=1), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        go_idle(app)
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and not app.screen.query_one(LineInput).password
        await pilot.press(*"msr1", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)


async def test_no_lock_while_working_or_when_off(coop, msr_op, sqlite_db):
    app = KecApp(Settings(db=sqlite_db, idle_lock_minutes=0), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        go_idle(app)
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)
        app.settings = Settings(db=sqlite_db, idle_lock_minutes=5)
        await pilot.press("a")
        app.lock_if_idle()
        assert not isinstance(app.screen, LockScreen)
