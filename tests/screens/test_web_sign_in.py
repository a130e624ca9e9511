"""The browser session's sign-in (remote/web.py), driven in one burst: the right password opens the
application; a wrong one holds the keys typed behind it, keeps the operator name, and asks for the
password again after Esc; a lock logged while the session runs leaves it running."""
from __future__ import annotations

import logging

from kec_tui.config import Settings
from kec_tui.remote.web import SignInApp, SignInForm
from kec_tui.services import passwords, sign_in_guard

PASSWORD = "Correct-horse-99!"


def web_app(sqlite_db) -> SignInApp:
    passwords.set_password("msr1", PASSWORD)
    return SignInApp(Settings(db=sqlite_db, theme="textual-dark"))


async def test_the_right_password_in_one_burst_opens_the_application(coop, msr_op, sqlite_db):
    app = web_app(sqlite_db)
    async with app.run_test() as pilot:
        await pilot.press(*"msr1", "enter", *PASSWORD, "enter")
        await pilot.pause()
        assert app.is_signed_in and app.sub_title == "Pat Keyer (msr1, msr)"


async def test_a_wrong_password_holds_the_keys_typed_behind_it(coop, msr_op, sqlite_db):
    app = web_app(sqlite_db)
    async with app.run_test() as pilot:
        await pilot.press(*"msr1", "enter", *"wrong-one", "enter", *PASSWORD, "enter")
        await pilot.pause()
        form = app.screen.query_one(SignInForm)
        assert not app.is_signed_in                     # the right password typed ahead was not taken
        assert form.locked and form._buf == {"username": "msr1", "password": ""}
        await pilot.press("escape", *PASSWORD, "enter")  # Esc: the name stays, the password is asked again
        await pilot.pause()
        assert app.is_signed_in


async def test_a_lock_logged_while_the_session_runs_leaves_it_running(coop, msr_op, sqlite_db):
    app = web_app(sqlite_db)
    lock_failures = sign_in_guard.GuardSettings().lock_failures
    for _ in range(lock_failures):                     # other sessions' failures
        sign_in_guard.db.SignInAttempt.create(at=sign_in_guard._now(), username="msr1", address="10.0.0.9",
                                              ok=False, evaluated=True)
    async with app.run_test() as pilot:
        logging.getLogger("kec_tui.auth").addHandler(handler := logging.StreamHandler())  # stderr: Textual's capture
        try:
            await pilot.press(*"msr1", "enter", *"wrong-again", "enter")
            await pilot.pause()
        finally:
            logging.getLogger("kec_tui.auth").removeHandler(handler)
        assert app.is_running and not app.is_signed_in
        assert [o.username for o in sign_in_guard.locked_operators()] == ["msr1"]
