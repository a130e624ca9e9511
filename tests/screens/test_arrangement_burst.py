"""The payment arrangement form (F8, 5 on the account, screens/arrangement.py), keyed in bursts:
every key queued before anything is awaited; what is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.arrangement import ArrangementScreen
from kec_tui.services import arrangements, operators, passwords
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture(autouse=True)
def default_policy():
    saved = arrangements.policy()
    arrangements._policy = arrangements.Policy()
    yield
    arrangements._policy = saved


@pytest.fixture
def people(sqlite_db):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    acct = factories.account(first="Ada", last="Lovelace", bills=(12_000,))
    return msr, acct


def rows(acct) -> list[tuple]:
    A = db.Arrangement
    return [(a.total_cents, a.down_cents, a.installments, a.mode, a.status, a.note,
             a.approved_by.username if a.approved_by else "")
            for a in A.select().where(A.account == acct.id).order_by(A.id)]


def schedule(acct) -> list[tuple]:
    I, A = db.ArrangementInstallment, db.Arrangement
    return [(i.seq, i.amount_cents) for i in I.select().join(A).where(A.account == acct.id, A.status == "active")
            .order_by(I.seq)]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


async def test_an_arrangement_keyed_in_one_burst_is_agreed_and_printed(people, sqlite_db, tmp_path):
    msr, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # F8, 5, Enter takes the balance ($120.00), $20.00 down, 4 installments, Enter: on the next bills,
        # a note, Enter agrees it.
        send_burst(app, expand("f8", "5", "enter", "20", "enter", "4", "enter", "enter", "Paid on Fridays", "enter"))
        await settle(pilot, lambda: len(rows(acct)) == 1 and app.screen is account)
        assert rows(acct) == [(12_000, 2_000, 4, "bills", "active", "Paid on Fridays", "")]
        assert schedule(acct) == [(0, 2_000), (1, 2_500), (2, 2_500), (3, 2_500), (4, 2_500)]
        assert "ARRANGEMENT kept" in str(account.query_one("#flags").render())
        printed = list((tmp_path / "reports").glob(f"arrangement-{acct.number}-*.pdf"))
        assert len(printed) == 1


async def test_longer_than_allowed_locks_the_form_and_nothing_is_written(people, sqlite_db, tmp_path):
    msr, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("f8", "5", "enter", "enter", "13", "enter", "enter", "note", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ArrangementScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "installments" and form.held_keys == 6
        assert "longer than allowed" in form.error
        assert rows(acct) == [] and db.Note.select().count() == 0
        # Esc resets the installments; keyed again, it is agreed.
        send_burst(app, expand("escape", "6", "enter", "enter", "note", "enter"))
        await settle(pilot, lambda: len(rows(acct)) == 1)
        assert rows(acct) == [(12_000, 0, 6, "bills", "active", "note", "")]


async def test_set_dates_ask_for_the_first_date(people, sqlite_db, tmp_path):
    msr, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    first = dt.date.today() + dt.timedelta(days=10)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        # D: on set dates; a first date today is refused (keys behind it held), then a later one is taken.
        send_burst(app, expand("f8", "5", "enter", "enter", "3", "enter", "d", "enter",
                               f"{dt.date.today():%m/%d/%Y}", "enter", "x", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ArrangementScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "first_due" and "after the day agreed" in form.error
        assert rows(acct) == []
        send_burst(app, expand("escape", f"{first:%m/%d/%Y}", "enter", "enter"))
        await settle(pilot, lambda: len(rows(acct)) == 1)
        dues = [i.due_date for i in arrangements.get(db.Arrangement.get().id).schedule]
        assert dues[0] == first and rows(acct)[0][3] == "dates"


async def test_over_the_limit_without_a_supervisor_nothing_is_written(people, sqlite_db, tmp_path):
    msr, acct = people
    arrangements._policy = arrangements.Policy(limit_12m=1)
    earlier = arrangements.make(msr, acct.id, total_cents=1_000, installments=1, on=dt.date.today())
    arrangements.cancel(msr, earlier.id, "paid in full")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("f8", "5", "enter", "enter", "3", "enter", "enter", "enter",
                               "super", "enter", "wrong-password", "enter", "enter", "x"))
        await settle(pilot, lambda: isinstance(app.screen, ArrangementScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "sup_password" and "sign-in refused" in form.error
        assert form.held_keys == 2 and len(rows(acct)) == 1             # only the cancelled one
        send_burst(app, expand("escape", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: len(rows(acct)) == 2)
        assert rows(acct)[1] == (12_000, 0, 3, "bills", "active", "", "super")


async def test_ctrl_k_on_an_active_arrangement_offers_to_cancel_it(people, sqlite_db, tmp_path):
    msr, acct = people
    arrangements.make(msr, acct.id, total_cents=12_000, installments=3, on=dt.date.today())
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # Enter on an empty reason is refused (nothing cancelled; the keys behind it held); Esc, a reason
        # cancels it.
        send_burst(app, expand("f8", "5", "enter", "x"))
        await settle(pilot)
        assert rows(acct)[0][4] == "active" and app.screen is not account
        send_burst(app, expand("escape", "Member moved in with family", "enter"))
        await settle(pilot, lambda: rows(acct)[0][4] == "cancelled" and app.screen is account)
        assert "ARRANGEMENT" not in str(account.query_one("#flags").render())
        audit = db.AuditLog.get(db.AuditLog.action == "arrangement.cancel")
        assert audit.after == "cancelled: Member moved in with family"
