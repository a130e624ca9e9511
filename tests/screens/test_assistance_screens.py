"""Energy assistance on screen: the pledge form (F8, 6 on the account), an application helped (F8, the
menu's last item) and the agency's check keyed
as a batch and matched to the pledges (F12 on the worklist), in bursts; what is asserted is what the
database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.assistance import AgencyCheckScreen, AgencyPaymentScreen, PledgeScreen
from kec_tui.services import assistance, operators
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture(autouse=True)
def default_hold():
    saved = assistance.hold_days()
    assistance._hold_days = 30
    yield
    assistance._hold_days = saved


@pytest.fixture
def people(sqlite_db):
    assistance.add_demo_agencies()
    msr = operators.create("msr1", "Pat Keyer", "msr")
    ada = factories.account(first="Ada", last="Lovelace", bills=(20_000,))
    grace = factories.account(first="Grace", last="Hopper", bills=(9_000,))
    return msr, ada, grace


def pledges(acct=None) -> list[tuple]:
    P = db.Pledge
    q = P.select().order_by(P.id)
    if acct is not None:
        q = q.where(P.account == acct.id)
    return [(p.account_id, p.agency.code, p.amount_cents, p.status, p.paid_cents, p.reference) for p in q]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


async def test_a_pledge_keyed_in_one_burst_is_recorded(people, sqlite_db, tmp_path):
    msr, ada, _ = people
    app = make_app(sqlite_db, msr, tmp_path)
    today = dt.date.today()
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, ada)
        # F8, 6, agency cap, $150.00, Enter today, Enter the default expiry, the agency's reference.
        send_burst(app, expand("f8", "6", "cap", "enter", "150", "enter", "enter", "enter", "L-2026-77", "enter"))
        await settle(pilot, lambda: len(pledges()) == 1 and app.screen is account)
        assert pledges() == [(ada.id, "CAP", 15_000, "pending", 0, "L-2026-77")]
        p = db.Pledge.get()
        assert (p.pledged_on, p.expires_on) == (today, today + dt.timedelta(days=30))
        assert "PLEDGE CAP $150.00" in str(account.query_one("#flags").render())


async def test_a_pledge_without_an_agency_locks_the_form_and_nothing_is_written(people, sqlite_db, tmp_path):
    msr, ada, _ = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, ada)
        send_burst(app, expand("f8", "6", "enter", "150", "enter", "enter", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, PledgeScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "agency" and form.held_keys == 7
        assert "needs the agency" in form.error
        assert pledges() == [] and db.Note.select().count() == 0
        # An unknown agency is refused the same way; then CAP is taken.
        send_burst(app, expand("escape", "XYZ", "enter", "150", "enter"))
        await settle(pilot)
        assert form.locked and "No agency XYZ" in form.error and pledges() == []
        send_burst(app, expand("escape", "svdp", "enter", "150", "enter", "enter", "enter", "enter"))
        await settle(pilot, lambda: len(pledges()) == 1)
        assert pledges() == [(ada.id, "SVDP", 15_000, "pending", 0, "")]


async def test_the_agency_check_is_keyed_and_matched(people, sqlite_db, tmp_path):
    msr, ada, grace = people
    assistance.pledge(msr, ada.id, "CAP", 15_000)
    assistance.pledge(msr, grace.id, "CAP", 9_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("collections")
        await settle(pilot)
        # F12: the check (CAP, no. 5001, $230.00, 2 members, received today), then its list: Ada's pledge
        # amount comes up by itself (Enter takes it), Grace's keyed short ($80.00); F10 posts and matches.
        send_burst(app, expand("f12", "cap", "enter", "5001", "enter", "230.00", "enter", "2", "enter", "enter",
                               str(ada.number), "enter", "enter", str(grace.number), "enter", "80", "enter", "f10"))
        await settle(pilot, lambda: isinstance(app.screen, AgencyPaymentScreen) and app.screen.report is not None)
        screen = app.screen
        assert [(m.account_number, m.result, m.paid_cents) for m in screen.report.matches] == [
            (ada.number, "paid", 15_000), (grace.number, "short", 8_000)]
        assert pledges() == [(ada.id, "CAP", 15_000, "paid", 15_000, ""), (grace.id, "CAP", 9_000, "short", 8_000, "")]
        assert "1 paid, 1 short" in str(screen.query_one("#summary").render())
        # Esc on the empty line leaves, back to the worklist.
        send_burst(app, ["escape"])
        await settle(pilot, lambda: not isinstance(app.screen, AgencyPaymentScreen))


async def test_a_wrong_account_on_the_list_locks_the_lines_and_nothing_posts(people, sqlite_db, tmp_path):
    msr, ada, _ = people
    assistance.pledge(msr, ada.id, "CAP", 15_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("agency_check")
        await settle(pilot, lambda: isinstance(app.screen, AgencyCheckScreen))
        send_burst(app, expand("cap", "enter", "77", "enter", "150", "enter", "1", "enter", "enter",
                               str(ada.number + 1), "enter", "enter", "f10"))
        await settle(pilot, lambda: isinstance(app.screen, AgencyPaymentScreen))
        form = app.screen.query_one("#lines-form")
        # The Enter behind the refused account is held; F10 does not post while the form is locked.
        assert form.locked and form.current == "account" and form.held_keys == 1 and app.screen.report is None
        assert db.BatchLine.select().count() == 0 and pledges()[0][3] == "pending"
        assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 0
        # Reset, the right account: the line is saved; F10 posts.
        send_burst(app, expand("escape", str(ada.number), "enter", "enter", "f10"))
        await settle(pilot, lambda: app.screen.report is not None)
        assert pledges()[0][3:5] == ("paid", 15_000)


async def test_keying_the_same_check_again_goes_on_where_it_was_left(people, sqlite_db, tmp_path):
    msr, ada, grace = people
    assistance.pledge(msr, ada.id, "CAP", 15_000)
    assistance.pledge(msr, grace.id, "CAP", 9_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("agency_check")
        await settle(pilot, lambda: isinstance(app.screen, AgencyCheckScreen))
        send_burst(app, expand("cap", "enter", "88", "enter", "240", "enter", "2", "enter", "enter",
                               str(ada.number), "enter", "enter", "escape"))
        await settle(pilot, lambda: not isinstance(app.screen, AgencyPaymentScreen) and db.BatchLine.select().count())
        app.open("agency_check")
        await settle(pilot, lambda: isinstance(app.screen, AgencyCheckScreen))
        send_burst(app, expand("cap", "enter", "88", "enter", "240", "enter", "2", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AgencyPaymentScreen))
        assert app.screen.keyed == [(ada.number, "Lovelace, Ada", 15_000, 15_000)]
        send_burst(app, expand(str(grace.number), "enter", "enter", "f10"))
        await settle(pilot, lambda: app.screen.report is not None)
        assert [p[3] for p in pledges()] == ["paid", "paid"]
        assert db.AgencyPayment.select().count() == 1


def applications() -> list[tuple]:
    A = db.AssistanceApplication
    return [(a.account_id, a.agency.code, db.as_date(a.applied_on), a.note) for a in A.select().order_by(A.id)]


async def test_an_application_helped_keyed_in_one_burst_is_recorded(people, sqlite_db, tmp_path):
    msr, ada, _ = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, ada)
        # F8, the menu's last item (End, Enter), agency cap, Enter today, the note.
        send_burst(app, expand("f8", "end", "enter", "cap", "enter", "enter", "LIHEAP winter, pay stubs to follow",
                               "enter"))
        await settle(pilot, lambda: len(applications()) == 1 and app.screen is account)
        assert applications() == [(ada.id, "CAP", dt.date.today(), "LIHEAP winter, pay stubs to follow")]
        assert "Helped apply for energy assistance with Community Action Partnership" in \
            db.Note.select().order_by(db.Note.id.desc()).get().text


async def test_an_unknown_agency_is_refused_and_the_keys_typed_after_it_held(people, sqlite_db, tmp_path):
    from kec_tui.screens.assistance import ApplicationScreen

    msr, ada, _ = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, ada)
        send_burst(app, expand("f8", "end", "enter", "xyz", "enter", "enter", "a note", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ApplicationScreen) and app.screen.query_one("#form").locked)
        form = app.screen.query_one("#form")
        assert form.current == "agency" and "No agency XYZ" in form.error and form.held_keys > 0
        assert applications() == []
        send_burst(app, expand("escape", "escape"))          # Reset, then leave: nothing recorded
        await settle(pilot, lambda: isinstance(app.screen, AccountScreen))
        assert applications() == []
