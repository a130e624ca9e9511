"""The first sign-in's own password, the remote idle sign-out, and the supervisors' sign-ins screen."""
import time

from textual.widgets import DataTable

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.change_password import ChangePasswordScreen
from kec_tui.screens.sign_ins import SignInsScreen
from kec_tui.services import operators, passwords, sign_in_guard
from kec_tui.widgets.password_form import PasswordForm
from tests.screens.conftest import settle
from tests.support.keys import send_burst

GIVEN = "given-by-admin-1"
OWN = "my own long phrase"


def keys(text: str) -> list[str]:
    return [{" ": "space", "-": "minus"}.get(c, c) for c in text]


async def test_an_administrators_password_is_replaced_first_in_one_burst(coop, msr_op, sqlite_db):
    passwords.set_password("msr1", GIVEN, temporary=True)
    app = KecApp(Settings(db=sqlite_db), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        await pilot.press("f2", "f3", "ctrl+p", "escape")       # nothing else is reachable
        await settle(pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        send_burst(app, [*keys(OWN), "enter", *keys(OWN), "enter", "f3"])
        await settle(pilot)
        assert not passwords.must_change(msr_op.id)
        assert passwords.check_login("msr1", OWN) and not passwords.check_login("msr1", GIVEN)
        await settle(pilot)
        assert app.showing("batches")                           # F3, typed ahead, went on to the work


async def test_a_common_password_is_refused_and_the_keys_behind_it_held(coop, msr_op, sqlite_db):
    passwords.set_password("msr1", GIVEN, temporary=True)
    app = KecApp(Settings(db=sqlite_db), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = app.screen.query_one(PasswordForm)
        send_burst(app, [*keys("password123456"), "enter", *keys("password123456"), "enter",
                         *keys(OWN), "enter", *keys(OWN), "enter"])
        await settle(pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        assert "common passwords" in form.error_text and "not used" in form.error_text
        assert passwords.must_change(msr_op.id) and passwords.check_login("msr1", GIVEN)
        # Different twice: refused too.
        send_burst(app, ["escape", *keys(OWN), "enter", *keys(OWN + "x"), "enter"])
        await settle(pilot)
        assert "differ" in form.error_text and passwords.check_login("msr1", GIVEN)
        send_burst(app, ["escape", *keys(OWN), "enter", *keys(OWN), "enter"])
        await settle(pilot)
        assert not isinstance(app.screen, ChangePasswordScreen) and passwords.check_login("msr1", OWN)


async def test_a_remote_session_ends_after_the_idle_time(coop, msr_op, sqlite_db):
    app = KecApp(Settings(db=sqlite_db, idle_lock_minutes=2), msr_op)
    app.remote = True
    async with app.run_test(size=(80, 24)) as pilot:
        app.last_input_at = time.monotonic() - 60
        app.lock_if_idle()
        await settle(pilot)
        assert app.is_running
        app.last_input_at = time.monotonic() - 121
        app.lock_if_idle()
        await pilot.pause()
    assert app.return_code == 3


async def test_a_supervisor_sees_the_lock_and_lifts_it(coop, msr_op, sqlite_db):
    boss = operators.create("boss", "Sam Super", "supervisor")
    passwords.set_password("msr1", "keyer-pass-long-1")
    for i in range(10):
        sign_in_guard.evaluate("msr1", f"wrong-{i}-password", "203.0.113.9", "ssh password 203.0.113.9")
    assert [o.username for o in sign_in_guard.locked_operators()] == ["msr1"]
    app = KecApp(Settings(db=sqlite_db), boss)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, SignInsScreen)
        locked = app.screen.query_one("#locked", DataTable)
        events = app.screen.query_one("#events", DataTable)
        assert locked.row_count == 1 and str(locked.get_row_at(0)[0]) == "msr1"
        assert "operator.locked" in [str(events.get_row_at(i)[2]) for i in range(events.row_count)]
        await pilot.press("f7")
        await settle(pilot)
        assert not sign_in_guard.locked_operators() and locked.row_count == 0
        assert db.AuditLog.get(db.AuditLog.action == "operator.unlocked").operator_id == boss.id
