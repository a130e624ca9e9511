"""The member's online account (services/portal.py) on SQLite and PostgreSQL: enroll, resend, unlock,
the reset link (never a password), the e-mail change after identity questions (which were answered is
recorded, never the answers), audit, masking, the outbox and the connector seam."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import operators, portal
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories

RIGHT = {"tax4": "1234", "birth": "01/02/1970"}          # factories.account's member


@pytest.fixture
def acct(database):
    a = factories.account(payments=[8417])
    db.Member.update(bank_routing="123456789", bank_account="000123456789").where(
        db.Member.id == a.member_id).execute()
    return a


@pytest.fixture
def op(database):
    return operators.create("msr1", "Pat Keyer", "msr")


def outbox_rows(account) -> list[db.PortalMessage]:
    return list(db.PortalMessage.select().where(db.PortalMessage.account == account.id)
                .order_by(db.PortalMessage.id))


def actions(account) -> list[str]:
    return [r.action for r in db.AuditLog.select().where(db.AuditLog.account == account.id)
            .order_by(db.AuditLog.id)]


def test_not_enrolled_shows_paperless_autopay_masked(acct):
    db.StatementPreference.create(account=acct.id, paperless=True, email="ada@example.com")
    v = portal.view(acct.id)
    assert v.status == "not enrolled" and not v.enrolled and v.email == "" and v.contact_email == "ada@example.com"
    assert v.paperless and v.autopay and v.bank_masked == "****6789"
    assert "123456789" not in repr(v)                       # no full bank number anywhere in what a screen gets


def test_enroll_invites_to_the_email_on_file_once(acct, op):
    v = portal.enroll(op, acct.id)
    assert (v.status, v.email) == ("invited", "ada@example.com") and v.invited_at is not None
    [msg] = outbox_rows(acct)
    assert msg.kind == "invitation" and msg.to_address == "ada@example.com" and "https://" in msg.body
    assert msg.link_expires_at is not None and msg.sent_at is None
    assert actions(acct) == ["portal.enroll"]
    with pytest.raises(ValidationError, match="already enrolled"):
        portal.enroll(op, acct.id)
    assert len(outbox_rows(acct)) == 1


def test_enroll_without_an_email_or_with_a_bad_one_writes_nothing(acct, op):
    db.Member.update(email="").where(db.Member.id == acct.member_id).execute()
    with pytest.raises(ValidationError, match="No e-mail on file"):
        portal.enroll(op, acct.id)
    with pytest.raises(ValidationError, match="not an e-mail"):
        portal.enroll(op, acct.id, "ada at example")
    assert db.PortalAccount.select().count() == 0 and outbox_rows(acct) == [] and actions(acct) == []


def test_resend_then_signed_up_then_reset_link_never_a_password(acct, op):
    portal.enroll(op, acct.id)
    portal.resend_invitation(op, acct.id)
    with pytest.raises(ValidationError, match="not signed up yet"):
        portal.send_reset_link(op, acct.id)
    portal.record_enrolled(acct.number, "adal", dt.datetime(2025, 9, 2, 8, 0))
    portal.record_sign_in(acct.number, dt.datetime(2025, 9, 3, 9, 30))
    portal.record_sign_in(acct.number, dt.datetime(2025, 9, 1, 7, 0))      # an older report: ignored
    with pytest.raises(ValidationError, match="already signed up"):
        portal.resend_invitation(op, acct.id)
    v = portal.send_reset_link(op, acct.id)
    assert (v.status, v.username, v.last_sign_in_at) == ("active", "adal", dt.datetime(2025, 9, 3, 9, 30))
    kinds = [(m.kind, m.to_address) for m in outbox_rows(acct)]
    assert kinds == [("invitation", "ada@example.com")] * 2 + [("reset_link", "ada@example.com")]
    reset = outbox_rows(acct)[-1]
    assert "/reset?t=" in reset.body and "password:" not in reset.body.lower()
    assert not any(f.name.startswith("password") for f in db.PortalAccount._meta.sorted_fields)
    assert actions(acct) == ["portal.enroll", "portal.invite_again", "portal.enrolled", "portal.reset_link"]


def test_unlock_only_a_locked_account_and_tell_the_member(acct, op):
    portal.enroll(op, acct.id)
    with pytest.raises(ValidationError, match="not locked"):
        portal.unlock(op, acct.id)
    portal.record_locked(acct.number, dt.datetime(2025, 9, 4, 10, 0))
    assert portal.view(acct.id).locked

    class Portal:
        unlocked: list = []

        def unlock(self, number, username):
            self.unlocked.append(number)

    connector = Portal()
    v = portal.unlock(op, acct.id, connector)
    assert not v.locked and connector.unlocked == [acct.number]
    assert outbox_rows(acct)[-1].kind == "unlocked"
    assert actions(acct)[-2:] == ["portal.locked", "portal.unlock"]


def test_email_change_needs_identity_questions_first(acct, op):
    portal.enroll(op, acct.id)
    before = len(outbox_rows(acct))
    with pytest.raises(ValidationError, match="Ask 2 identity questions"):
        portal.change_email(op, acct.id, "ada.new@example.com", {"tax4": "1234"})
    with pytest.raises(ValidationError, match="does not match") as wrong:
        portal.change_email(op, acct.id, "ada.new@example.com", {"tax4": "9999", "birth": "01/02/1970"})
    assert wrong.value.field == "tax4"
    assert portal.view(acct.id).email == "ada@example.com" and len(outbox_rows(acct)) == before
    checks = [(c.questions, c.passed) for c in db.PortalIdentityCheck.select().order_by(db.PortalIdentityCheck.id)]
    assert checks == [("tax4", False), ("tax4,birth", False)]
    assert "9999" not in " ".join(r.after + r.before for r in db.AuditLog.select())    # answers never kept

    v = portal.change_email(op, acct.id, "Ada.New@Example.com", {**RIGHT, "zip": ""})
    assert v.email == "ada.new@example.com"
    assert db.PortalIdentityCheck.select().order_by(db.PortalIdentityCheck.id.desc()).first().questions == "tax4,birth"
    told = [(m.kind, m.to_address) for m in outbox_rows(acct)[before:]]
    assert told == [("email_changed", "ada@example.com"), ("email_changed", "ada.new@example.com")]
    row = db.AuditLog.select().where(db.AuditLog.action == "portal.email").get()
    assert (row.field, row.before) == ("email", "ada@example.com") and "identity: tax4, birth" in row.after
    assert db.Member.get_by_id(acct.member_id).email == "ada@example.com"   # the contacts' e-mail is its own


def test_every_identity_question_is_checked_against_the_record(acct, op):
    right = {"tax4": "1234", "birth": "1970-01-02", "phone": "(208) 555-0100", "last_payment": "84.17",
             "zip": "83814"}
    wrong = {"tax4": "4321", "birth": "1/3/1970", "phone": "5550100", "last_payment": "84", "zip": ""}
    for question in portal.IDENTITY_QUESTIONS:
        assert portal.check_answer(acct.id, question, right[question]), question
        assert not portal.check_answer(acct.id, question, wrong[question]), question


def test_billing_staff_may_not_help_with_the_online_account(acct, database):
    clerk = operators.create("bill1", "Bo Biller", "billing")
    with pytest.raises(PermissionDenied):
        portal.enroll(clerk, acct.id)
    assert db.PortalAccount.select().count() == 0


def test_the_outbox_goes_through_the_co_ops_connector_once(acct, op):
    portal.enroll(op, acct.id)
    portal.resend_invitation(op, acct.id)

    class Flaky:
        def __init__(self):
            self.sent = []

        def send(self, message):
            if len(self.sent) == 0 and not getattr(self, "failed", False):
                self.failed = True
                raise ConnectionError("smtp down")
            self.sent.append(message.id)

        def unlock(self, number, username):
            pass

    c = Flaky()
    first = portal.deliver_outbox(c)
    assert (first.sent, first.failed, first.waiting) == (1, 1, 1)
    assert db.PortalMessage.select().where(db.PortalMessage.error == "smtp down").count() == 1
    second = portal.deliver_outbox(c)
    assert (second.sent, second.failed, second.waiting) == (1, 0, 0) and len(c.sent) == 2
    assert portal.deliver_outbox(c).sent == 0                      # nothing is sent twice


def test_a_connector_named_in_the_settings(database):
    from kec_tui.config import Settings

    assert portal.connector_from_settings(Settings()) is None
    with pytest.raises(ValidationError, match="portal_connector"):
        portal.connector_from_settings(Settings(portal_connector="nosuch.module:Portal"))


def test_the_command_lists_then_sends_the_outbox(sqlite_db, capsys, monkeypatch):
    from kec_tui import cli
    from tests.support import portal_connector

    a = factories.account()
    portal.enroll(operators.create("msr1", "Pat Keyer", "msr"), a.id)
    assert cli.main(["--db", sqlite_db, "portal-outbox"]) == 0
    out = capsys.readouterr().out
    assert f"{a.number}  invitation" in out and "1 message(s) waiting" in out
    assert cli.main(["--db", sqlite_db, "portal-outbox", "--send"]) == 2          # no connector set
    monkeypatch.setenv("KEC_TUI_PORTAL_CONNECTOR", "tests.support.portal_connector:Recorder")
    portal_connector.SENT.clear()
    assert cli.main(["--db", sqlite_db, "portal-outbox", "--send"]) == 0
    assert portal_connector.SENT == [(a.number, "invitation", "ada@example.com")]
    assert "1 sent, 0 failed, 0 waiting" in capsys.readouterr().out


def test_a_wrong_answer_checked_by_the_form_is_recorded_without_the_answer(acct, op):
    assert not portal.check_answer(acct.id, "birth", "12/31/1999", op)
    assert portal.check_answer(acct.id, "birth", "01/02/1970", op)               # a right one: nothing kept
    assert [(c.questions, c.passed) for c in db.PortalIdentityCheck.select()] == [("birth", False)]
    row = db.AuditLog.get(db.AuditLog.action == "portal.identity_refused")
    assert row.field == "birth" and "1999" not in row.after


def test_two_msrs_enroll_and_change_the_email_at_once(acct, op):
    """Real simultaneous connections: one enrollment, one e-mail change; the other is told."""
    import threading

    other = operators.create("msr2", "Other MSR", "msr")

    def at_once(*jobs):
        barrier = threading.Barrier(len(jobs))
        results: list = [None] * len(jobs)

        def run(i, job):
            with db.database.connection_context():
                barrier.wait()
                try:
                    results[i] = job()
                except Exception as exc:  # noqa: BLE001 - the test looks at what happened
                    results[i] = exc
        threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results

    got = at_once(lambda: portal.enroll(op, acct.id), lambda: portal.enroll(other, acct.id))
    assert sum(isinstance(r, portal.PortalView) for r in got) == 1
    assert [str(r) for r in got if isinstance(r, Exception)] == [f"Account {acct.number} is already enrolled: "
                                                                 f"resend the invitation instead"]
    assert db.PortalAccount.select().count() == 1 and len(outbox_rows(acct)) == 1
    shown = "ada@example.com"                      # what both MSRs see on their screens
    got = at_once(lambda: portal.change_email(op, acct.id, "one@example.com", RIGHT, shown),
                  lambda: portal.change_email(other, acct.id, "two@example.com", RIGHT, shown))
    assert sum(isinstance(r, portal.PortalView) for r in got) == 1, got
    assert "changed meanwhile" in str(next(r for r in got if isinstance(r, Exception)))
    email = portal.view(acct.id).email
    assert email in ("one@example.com", "two@example.com")
    assert [m.to_address for m in outbox_rows(acct) if m.kind == "email_changed"] == ["ada@example.com", email]


def test_the_demo_has_online_accounts_to_help_with(sqlite_db):
    from kec_tui.demo import build_demo

    build_demo(accounts=300, months=1, seed=7, today=dt.date(2025, 9, 30))
    P = db.PortalAccount
    assert P.select().where(P.status == "active").count() > P.select().where(P.status == "invited").count() > 0
    assert P.select().where(P.last_sign_in_at.is_null(False)).count() > 0
    assert all(p.email == p.account.member.email for p in P.select())
