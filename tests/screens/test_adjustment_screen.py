"""The adjustment form (Ctrl+A on the account, screens/adjustment.py), keyed in bursts: every key
queued before anything is awaited; what is asserted is what the database holds. The limit is
the default $100.00: above it a supervisor signs in on the form."""
from __future__ import annotations

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.adjustment import AdjustmentScreen
from kec_tui.services import operators, passwords
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def people(sqlite_db):
    clerk = operators.create("bill1", "Bea Biller", "billing")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    operators.create("msr1", "Pat Keyer", "msr")
    passwords.set_password("msr1", "msrpass1-long")
    acct = factories.account(first="Ada", last="Lovelace", bills=(12_000,))
    return clerk, acct


def adjustments(acct) -> list[tuple]:
    A = db.Adjustment
    return [(a.reason, a.amount_cents, a.note, a.approved_by.username if a.approved_by else "")
            for a in A.select().where(A.account == acct.id).order_by(A.id)]


def ledger_adjustments(acct) -> list[tuple]:
    L = db.LedgerEntry
    return [(e.amount_cents, e.description) for e in
            L.select().where(L.account == acct.id, L.kind == "adjustment").order_by(L.id)]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


def ledger_kinds(screen) -> list[str]:
    table = screen.query_one("#ledger-table")
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_a_credit_keyed_in_one_burst_is_on_the_ledger(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # Ctrl+A, credit (Enter takes it), $25.00, C courtesy, a note, Enter posts; then a debit of $12.50.
        send_burst(app, expand("ctrl+a", "enter", "25.00", "enter", "c", "enter", "Outage apology", "enter",
                               "ctrl+a", "d", "enter", "12.5", "enter", "b", "enter", "enter"))
        await settle(pilot, lambda: len(adjustments(acct)) == 2 and app.screen is account)
        assert adjustments(acct) == [("COURTESY", -2500, "Outage apology", ""), ("BILLING", 1250, "", "")]
        assert ledger_adjustments(acct) == [(-2500, "Adjustment: Courtesy credit - Outage apology"),
                                            (1250, "Adjustment: Billing error")]
        assert ledger_kinds(account)[:2] == ["adjustment", "adjustment"]     # newest first, on the screen


async def test_letters_in_the_amount_lock_the_form_and_nothing_is_written(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+a", "enter", "2x5.00", "enter", "c", "enter", "note", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AdjustmentScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "amount" and form.held_keys == 12
        assert adjustments(acct) == [] and ledger_adjustments(acct) == []
        # Esc resets the amount; keyed again, it posts.
        send_burst(app, expand("escape", "25.00", "enter", "c", "enter", "note", "enter"))
        await settle(pilot, lambda: len(adjustments(acct)) == 1)
        assert adjustments(acct) == [("COURTESY", -2500, "note", "")]


async def test_over_the_limit_a_supervisor_signs_in(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        # $250.00 is over the limit: the sign-in fields come up. A wrong password is refused, the keys
        # typed behind it are held, nothing is written.
        send_burst(app, expand("ctrl+a", "enter", "250.00", "enter", "m", "enter", "Meter ran fast", "enter",
                               "super", "enter", "wrong", "enter", "enter", "super"))
        await settle(pilot, lambda: isinstance(app.screen, AdjustmentScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "sup_password" and "sign-in refused" in form.error
        assert form.held_keys == 6 and form.values["sup_password"] == ""
        assert adjustments(acct) == []
        # An MSR's password is a sign-in, but not a supervisor's: refused too.
        send_burst(app, expand("escape", "up", "ctrl+e", "msr1", "enter", "msrpass1-long", "enter", "x"))
        await settle(pilot)
        assert form.locked and "msr1 (msr) may not" in form.error and adjustments(acct) == []
        # The supervisor signs in: posted, approved by them.
        send_burst(app, expand("escape", "up", "ctrl+e", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: len(adjustments(acct)) == 1)
        assert adjustments(acct) == [("METER", -25000, "Meter ran fast", "super")]


async def test_other_needs_a_note_and_a_collector_may_not_adjust(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+a", "enter", "5", "enter", "o", "enter", "enter", "x"))
        await settle(pilot, lambda: isinstance(app.screen, AdjustmentScreen))
        form = app.screen.query_one("#form")
        assert form.locked and "say what the adjustment is for" in form.error and adjustments(acct) == []
    collector = operators.create("coll1", "Casey Collector", "collections")
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand("ctrl+a", "enter", "5", "enter"))
        await settle(pilot)
        assert app.screen is account and adjustments(acct) == []
