"""The new membership + account form: identity, location, bad-debt audit (hit, acknowledgement,
supervisor override), landlord, deposit and fee, the result and the new account screen."""
import datetime as dt
import re

import pytest
from textual import events
from textual.widgets import DataTable, Static

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.membership import NewMembershipScreen
from kec_tui.services import memberships as ms, operators, passwords
from kec_tui.widgets.dialogs import ResultScreen
from kec_tui.widgets.step_form import StepForm
from tests import factories
from tests.screens.conftest import settle
from tests.support.keys import burst

TAX_ID = "123-45-6789"


@pytest.fixture
def pine(coop, msr_op):
    """A free service location (nobody in service there)."""
    return ms.add_location(msr_op, "77 Pine St", "Hayden", "83835", map_location="T51N R4W S1")


@pytest.fixture
def debtor(coop):
    """Grace Hopper left owing $120.00 on a final account; she shares the applicant's mobile phone."""
    return factories.account(first="Grace", last="Hopper", street="9 Elm St", phone="2085550199", status="final",
                             closed=dt.date(2025, 2, 1), bills=(12000,))


@pytest.fixture
def boss(coop):
    sup = operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "correct horse")
    return sup


def screen_text(app) -> str:
    return re.sub(r"&#160;", " ", app.export_screenshot())


NAME = [*"Grace", "enter", *"Hopper", "enter"]
TO_BIRTH_DATE = [*NAME, *TAX_ID, "enter"]
IDENTITY = [*TO_BIRTH_DATE, *"05051980", "enter", "enter", *"208-555-0199", "enter", "enter",
            *"grace@example.com", "enter"]
MAILING = ["enter", "enter", "enter"]            # blank street (service address), preferred phone, no prior address


async def start(pilot) -> StepForm:
    await pilot.press("f9")
    await settle(pilot)
    assert isinstance(pilot.app.screen, NewMembershipScreen)
    return pilot.app.screen.query_one(StepForm)


async def test_hit_acknowledged_and_overridden_by_a_supervisor(app, pine, debtor, boss):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *TO_BIRTH_DATE)
        assert form.current == "birth_date"
        shown = screen_text(app)
        assert "***-**-6789" in shown and TAX_ID not in shown           # masked once the cursor leaves it
        await burst(pilot, *IDENTITY[len(TO_BIRTH_DATE):])
        assert form.step == "Mailing address"
        await burst(pilot, *MAILING)
        assert form.current == "location"
        await burst(pilot, *"77 pine", "enter")
        # The audit: a strong hit (phone) that owes: acknowledge, then a supervisor's override.
        assert form.current == "ack", form.error
        shown = screen_text(app)
        assert str(debtor.number) in shown and "$120.00" in shown and "phone" in shown
        assert "supervisor" in shown.lower()
        await burst(pilot, "enter")
        assert form.current == "ack" and "key Y" in form.error
        await burst(pilot, "escape", "y", "enter")  # the refusal locked the form: Reset first
        assert form.current == "sup_user"
        await burst(pilot, *"super", "enter", *"wrong pass", "enter")
        assert form.current == "sup_password" and "refused" in form.error
        # The refused password is cleared (keyed again whole), never shown.
        assert "wrong pass" not in screen_text(app) and form.values["sup_password"] == ""
        await burst(pilot, "escape", *"correct horse", "enter")
        assert form.current == "override_reason", form.error
        await burst(pilot, "enter")
        assert "required" in form.error
        await burst(pilot, "escape", *"paid in full at the counter", "enter")
        assert form.current == "rental"
        await burst(pilot, "y", "enter", *"Pine Rentals LLC", "enter", *"208-555-0111", "enter")
        assert form.step == "Deposit, fee and connect"
        panel = str(app.screen.query_one("#panel-text", Static).render())
        assert "$200.00" in panel and "$5.00" in panel and "$205.00" in panel
        await burst(pilot, "enter", "enter", "enter", *"key under mat", "enter", "enter")
        assert form.current == "confirm" and "Key Y" in form.error       # nothing happens without Y
        assert db.Account.select().count() == 4
        await burst(pilot, "escape", "y", "enter")  # Reset, then Y
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        a = db.Account.select().order_by(db.Account.id.desc()).first()
        body = str(app.screen.query_one("#result-body", Static).render())
        assert str(a.number) in body and "$200.00 billed" in body and "overridden by super" in body
        assert "connect" in body.lower()
        await burst(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == a.id
        assert a.status == "pending" and a.deposit_cents == 20000 and a.landlord
        m = db.Member.get_by_id(a.member_id)
        assert (m.first_name, m.last_name, m.tax_id_last4, m.phone_mobile) == ("Grace", "Hopper", "6789", "2085550199")
        assert "123456789" not in " ".join(str(v) for v in m.__data__.values())
        override = db.AuditLog.get(db.AuditLog.action == "bad_debt.override")
        assert (override.operator.username, override.after) == ("super", "paid in full at the counter")
        assert db.ServiceOrder.get(db.ServiceOrder.account == a.id).kind == "connect"
        assert TAX_ID not in screen_text(app)
        await burst(pilot, "f10")
        assert str(app.screen.query_one("#orders-table", DataTable).get_row_at(0)[1]) == "connect"
        await burst(pilot, "f12")
        history = app.screen.query_one("#history-table", DataTable)
        actions = {str(history.get_row_at(i)[2]) for i in range(history.row_count)}
        assert {"account.open", "bad_debt.audit", "bad_debt.override", "deposit.bill", "order.create"} <= actions


async def test_an_msr_cannot_override_and_a_supervisor_needs_no_sign_in(pine, debtor, boss, msr_op, sqlite_db):
    operators.create("msr2", "Other MSR", "msr")
    passwords.set_password("msr2", "another one, longer")
    app = KecApp(Settings(db=sqlite_db), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *IDENTITY, *MAILING, *"77 pine", "enter", "y", "enter")
        await burst(pilot, *"msr2", "enter", *"another one, longer", "enter")
        assert form.current == "sup_password"
        assert "Only a supervisor may override a bad-debt hit; msr2 (msr) may not" in form.error
    # Signed in as a supervisor: the reason is asked, no sign-in.
    app = KecApp(Settings(db=sqlite_db), boss)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *IDENTITY, *MAILING, *"77 pine", "enter", "y", "enter")
        assert form.current == "override_reason"
        await burst(pilot, *"hardship plan", "enter", "enter", "enter", "g", "enter", "enter", "enter", "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        a = db.Account.select().order_by(db.Account.id.desc()).first()
        assert a.deposit_cents == 0                                        # waived: good credit
        assert db.AuditLog.get(db.AuditLog.action == "bad_debt.override").after == "hardship plan"


async def test_location_in_service_and_a_new_location(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *NAME, "enter", "enter", *"2085550123", "enter", "enter", "enter", "enter", *MAILING)
        assert form.current == "location"
        await burst(pilot, *"88 W Prairie", "enter")
        assert form.current == "location"
        assert f"already in service on account {coop['smith'].number} (Smith, John, active)" in form.error
        await burst(pilot, "escape", *"Smy", "enter")                     # one match, in service too
        assert "already in service" in form.error
        await burst(pilot, "escape", *"nowhere", "enter")
        assert "No service location matches 'nowhere': key NEW" in form.error
        await burst(pilot, "escape", *"new", "enter", *"400 Lakeview Dr", "enter", "enter", *"8381", "enter")
        assert form.current == "new_zip" and "ZIP" in form.error
        await burst(pilot, "escape", *"83814", "enter", "enter")
        # No earlier membership matches: straight on to the rental question.
        assert form.current == "rental", form.error
        await burst(pilot, "enter", "enter", "o", "enter")
        assert form.current == "waiver_reason"
        await burst(pilot, *"letter of credit", "enter", "enter", "enter", "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        loc = db.ServiceLocation.get(db.ServiceLocation.street == "400 Lakeview Dr")
        a = db.Account.get(db.Account.location == loc.id)
        assert (loc.city, loc.zip, a.deposit_cents) == ("Coeur d'Alene", "83814", 0)
        assert db.AuditLog.get(db.AuditLog.action == "deposit.waive").after == "letter of credit"


async def test_leaving_asks_first_and_back_skips_what_does_not_apply(app, pine):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *IDENTITY, *MAILING)
        assert form.current == "location"
        await burst(pilot, "up")
        assert form.current == "prior"
        await burst(pilot, "up", "up")                                    # mail city/state/zip do not apply
        assert form.current == "mail_street"
        await burst(pilot, *["up"] * 6)
        assert form.current == "tax_id"
        shown = screen_text(app)
        assert TAX_ID not in shown and "***-**-6789" in shown            # back in the field: still masked
        await burst(pilot, "1")                                           # keying over it replaces it whole
        assert form.values["tax_id"] == "1"
        await burst(pilot, "escape")
        await settle(pilot)
        assert "Leave without opening the account?" in screen_text(app)
        await burst(pilot, "n")
        await settle(pilot)
        assert isinstance(app.screen, NewMembershipScreen) and form.values["first_name"] == "Grace"
        await pilot.press("f4")                                          # no Dup here: F4 is the order queue
        assert type(app.screen).__name__ == "OrderQueueScreen"
        await pilot.press("escape")
        assert isinstance(app.screen, NewMembershipScreen) and form.values["first_name"] == "Grace"
        await burst(pilot, "escape")
        await burst(pilot, "y")
        await settle(pilot)
        assert not isinstance(app.screen, NewMembershipScreen)
        assert db.Member.select().count() == 3


async def test_the_whole_application_typed_ahead(app, pine):
    """Every field of every step as one burst, nothing awaited between keys."""
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        keys = [*"Alan", "enter", *"Turing", "enter", *"987-65-4321", "enter", *"06231972", "enter",
                *"2085550147", "enter", "enter", "enter", *"alan@example.com", "enter",
                *"PO Box 9", "enter", *"Hayden", "enter", "enter", *"83835", "enter", "e", "enter",
                *"12 Bletchley Rd", "enter", *"77 pine", "enter",
                "enter", "enter", "enter", "enter", *"back gate", "enter", "y", "enter"]
        for k in keys:
            app._driver.send_message(events.Key(k, k if len(k) == 1 else None))
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), app.screen.query_one(StepForm).error
        m = db.Member.get(db.Member.last_name == "Turing")
        assert (m.first_name, m.tax_id_last4, m.birth_date, m.phone_home, m.email, m.mail_street, m.mail_city,
                m.mail_zip, m.preferred_contact) == ("Alan", "4321", dt.date(1972, 6, 23), "2085550147",
                                                     "alan@example.com", "PO Box 9", "Hayden", "83835", "email")
        a = db.Account.get(db.Account.member == m.id)
        assert a.location_id == pine.id and a.deposit_cents == 20000
        assert db.Note.get(db.Note.account == a.id).text == "back gate"


def test_snapshot_audit_hit_at_80x24(app, pine, debtor, snap_compare):
    async def run_before(pilot):
        await pilot.press("f9")
        await settle(pilot)
        await burst(pilot, *IDENTITY, *MAILING, *"77 pine", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_a_returning_member_opens_an_account_of_the_same_membership(app, pine, msr_op):
    """Grace was a member before (same tax ID and birth date) and owes nothing: the audit says which
    account matched, and the new account is hers under the same membership, with no second fee."""
    old_loc = ms.add_location(msr_op, "12 Old Rd", "Hayden", "83835")
    ap = ms.Applicant(first_name="Grace", last_name="Hopper", tax_id=TAX_ID, birth_date=dt.date(1980, 5, 5),
                      phone_mobile="2085550123",
                      mail_street="12 Old Rd", mail_city="Hayden", mail_state="ID", mail_zip="83835")
    before = ms.open_account(msr_op, old_loc.id, ap, deposit_waiver="good credit")
    db.LedgerEntry.delete().where(db.LedgerEntry.account == before.account_id).execute()
    db.Account.update(status="closed", closed=dt.date(2025, 2, 1)).where(db.Account.id == before.account_id).execute()
    members = db.Member.select().count()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await start(pilot)
        await burst(pilot, *IDENTITY, *MAILING, *"77 pine", "enter")
        assert form.current == "rental", form.error                   # nothing owed: no acknowledgement
        shown = screen_text(app)
        assert f"none owes: account {before.account_number}" in shown, shown
        assert f"Returning member #{before.member_no}" in shown
        await burst(pilot, "enter")
        panel = str(app.screen.query_one("#panel-text", Static).render())
        assert "$0.00 (returning member)" in panel, panel
        await burst(pilot, "enter", "enter", "enter", "enter", "y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen), form.error
        body = str(app.screen.query_one("#result-body", Static).render())
        assert f"#{before.member_no}  returning: same membership" in body and "membership $0.00" in body
    a = db.Account.select().order_by(db.Account.id.desc()).first()
    assert a.member_id == before.member_id and db.Member.select().count() == members
    assert [e.kind for e in db.LedgerEntry.select().where(db.LedgerEntry.account == a.id)] == ["deposit"]
