"""The online account screen (Ctrl+U on the account, screens/portal.py), keyed in bursts: every key queued
before anything is awaited; what is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.help import HelpScreen
from kec_tui.screens.portal import PortalEmailScreen, PortalScreen
from kec_tui.services import operators, portal
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def msr(sqlite_db):
    return operators.create("msr1", "Pat Keyer", "msr")


@pytest.fixture
def acct(sqlite_db):
    a = factories.account(payments=[8417])
    db.Member.update(bank_account="000123456789", bank_routing="123456789").where(
        db.Member.id == a.member_id).execute()
    return a


def portal_row(acct) -> db.PortalAccount | None:
    return db.PortalAccount.get_or_none(db.PortalAccount.account == acct.id)


def outbox(acct) -> list[tuple[str, str]]:
    M = db.PortalMessage
    return [(m.kind, m.to_address) for m in M.select().where(M.account == acct.id).order_by(M.id)]


def checks(acct) -> list[tuple[str, bool]]:
    C = db.PortalIdentityCheck
    return [(c.questions, c.passed) for c in C.select().where(C.account == acct.id).order_by(C.id)]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_enroll_then_change_the_email_in_one_burst(acct, msr, sqlite_db, tmp_path, size):
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=size) as pilot:
        account = await on_account(pilot, acct)
        # Ctrl+U, F5 enroll, Y; F12 change e-mail: tax ID 1234, birth 01021970, phone/payment/zip not asked,
        # the new e-mail, Enter; Esc back to the account.
        send_burst(app, expand("ctrl+u", "f5", "y", "f12", "1234", "enter", "01021970", "enter", "enter", "enter",
                               "enter", "ada.new@example.com", "enter", "escape"))
        await settle(pilot, lambda: app.screen is account)
        row = portal_row(acct)
        assert (row.status, row.email) == ("invited", "ada.new@example.com")
        assert outbox(acct) == [("invitation", "ada@example.com"), ("email_changed", "ada@example.com"),
                                ("email_changed", "ada.new@example.com")]
        assert checks(acct) == [("tax4,birth", True)]
        assert db.AuditLog.select().where(db.AuditLog.action == "portal.email").count() == 1


async def test_a_wrong_answer_locks_the_form_and_the_typed_ahead_keys_change_nothing(acct, msr, sqlite_db,
                                                                                     tmp_path):
    portal.enroll(msr, acct.id)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+u", "f12", "9999", "enter", "01021970", "enter", "enter", "enter", "enter",
                               "evil@example.com", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, PortalEmailScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "tax4" and form.held_keys > 0
        assert "does not match" in form.error
        assert portal_row(acct).email == "ada@example.com"
        assert outbox(acct) == [("invitation", "ada@example.com")] and checks(acct) == [("tax4", False)]
        # Esc resets the refused answer; keyed right, the change goes through.
        send_burst(app, expand("escape", "1234", "enter", "01021970", "enter", "enter", "enter", "enter",
                               "ada.new@example.com", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, PortalScreen))
        assert portal_row(acct).email == "ada.new@example.com"
        assert checks(acct) == [("tax4", False), ("tax4,birth", True)]


async def test_too_few_questions_are_refused_at_the_email(acct, msr, sqlite_db, tmp_path):
    portal.enroll(msr, acct.id)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+u", "f12", "1234", "enter", "enter", "enter", "enter", "enter",
                               "new@example.com", "enter", "f11", "y"))
        await settle(pilot, lambda: isinstance(app.screen, PortalEmailScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "email" and "Ask 2 identity questions" in form.error
        assert portal_row(acct).email == "ada@example.com" and outbox(acct) == [("invitation", "ada@example.com")]


async def test_reset_link_unlock_and_a_refused_action_say_so(acct, msr, sqlite_db, tmp_path):
    portal.enroll(msr, acct.id)
    portal.record_enrolled(acct.number, "adal", dt.datetime(2025, 9, 2, 8, 0))
    portal.record_locked(acct.number, dt.datetime(2025, 9, 3, 8, 0))
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+u", "f7", "y", "f11", "y", "f6", "y"))
        await settle(pilot, lambda: isinstance(app.screen, PortalScreen))
        await settle(pilot)
        assert portal_row(acct).locked_at is None
        assert [k for k, _ in outbox(acct)] == ["invitation", "unlocked", "reset_link"]     # resend refused
        assert "already signed up" in str(app.screen.query_one("#said").render())
        send_burst(app, ["f5"])
        await settle(pilot)
        assert "Already enrolled" in str(app.screen.query_one("#said").render())
        shown = str(app.screen.query_one("#status").render())
        assert "adal" in shown and "****6789" in shown and "123456789" not in shown


async def test_help_lists_every_key(acct, msr, sqlite_db, tmp_path):
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+u"))
        await settle(pilot, lambda: isinstance(app.screen, PortalScreen))
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.as_text()
        for key, does in (("F5", "Enroll"), ("F6", "Resend"), ("F7", "Unlock"), ("F11", "Reset link"),
                          ("F12", "E-mail"), ("Esc", "Back")):
            assert key in text and does in text, (key, does)


async def test_the_policies_open_over_the_email_form_and_the_keyed_answers_stay(acct, msr, sqlite_db, tmp_path):
    from kec_tui.screens.reference import ReferenceScreen

    portal.enroll(msr, acct.id)
    app = make_app(sqlite_db, msr, tmp_path, policies_dir=str(tmp_path / "policies"))
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+u", "f12", "1234", "enter", "shift+f1"))
        await settle(pilot, lambda: isinstance(app.screen, ReferenceScreen))
        send_burst(app, expand("escape", "01021970", "enter", "enter", "enter", "enter", "ada.new@example.com",
                               "enter"))
        await settle(pilot, lambda: isinstance(app.screen, PortalScreen))
        assert portal_row(acct).email == "ada.new@example.com" and checks(acct) == [("tax4,birth", True)]
