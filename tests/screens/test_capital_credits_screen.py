"""A capital credit inquiry (Ctrl+U on the account, screens/capital_credits.py) and early and estate
retirement keyed in bursts; what is asserted is what the screen shows and the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.capital_credits import CapitalCreditsScreen, RetireDialog
from kec_tui.services import capital_credits as cc, operators, passwords
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def people(sqlite_db):
    clerk = operators.create("bill1", "Bea Biller", "billing")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    acct = factories.account(first="Ada", last="Lovelace", bills=(12_000,))
    this_year = dt.date.today().year
    for year, cents, retired in ((this_year - 40, 8_000, 8_000), (this_year - 10, 12_345, 0),
                                 (this_year - 1, 4_321, 0)):
        db.CapitalCredit.create(member=acct.member, year=year, allocated_cents=cents, retired_cents=retired)
    return clerk, acct


async def on_credits(pilot, acct) -> CapitalCreditsScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    send_burst(pilot.app, ["ctrl+u"])
    await settle(pilot, lambda: isinstance(pilot.app.screen, CapitalCreditsScreen))
    return pilot.app.screen


def table_text(screen, table_id) -> list[list[str]]:
    t = screen.query_one(table_id)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def test_the_inquiry_shows_each_year_and_what_it_is_worth_today(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_credits(pilot, acct)
        rows = table_text(screen, "#years")
        year = dt.date.today().year
        assert [r[:4] for r in rows] == [[str(year - 1), "43.21", "0.00", "43.21"],
                                         [str(year - 10), "123.45", "0.00", "123.45"],
                                         [str(year - 40), "80.00", "80.00", "0.00"]]
        assert rows[0][4] == "27" and rows[1][4] == "18"        # years left in the 28-year rotation
        q = cc.quote(acct.member_id)
        totals = str(screen.query_one("#totals").render())
        assert "balance $166.66" in totals and f"worth today ${q.paid_cents / 100:,.2f}" in totals


async def test_an_early_retirement_keyed_in_one_burst_is_paid_as_a_bill_credit(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_credits(pilot, acct)
        worth = cc.quote(acct.member_id).paid_cents
        send_burst(app, expand("f6", "enter", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: app.screen is screen and cc.statement(None, acct.member_id).balance_cents == 0)
        credit = db.LedgerEntry.get(db.LedgerEntry.account == acct.id, db.LedgerEntry.kind == "capcredit")
        assert credit.amount_cents == -worth
        assert table_text(screen, "#paid")[0][1] == "early"


async def test_an_amount_over_the_balance_locks_the_form_and_nothing_is_paid(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_credits(pilot, acct)
        send_burst(app, expand("f6", "999.00", "enter", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, RetireDialog) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "amount" and form.held_keys > 0
        assert db.CapitalRetirement.select().count() == 0
        assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "capcredit").count() == 0


async def test_an_estate_retirement_needs_the_heirs_and_a_supervisor(people, sqlite_db, tmp_path):
    clerk, acct = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_credits(pilot, acct)
        # A wrong supervisor password: refused, the keys typed after it held, nothing paid.
        send_burst(app, expand("f7", "Estate of Ada Lovelace", "enter", "death certificate", "enter", "super",
                               "enter", "wrong-password", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, RetireDialog) and app.screen.form.locked)
        assert db.CapitalRetirement.select().count() == 0
        send_burst(app, expand("escape", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: app.screen is screen and db.CapitalRetirement.select().count() == 2)
        r = db.CapitalRetirement.select().first()
        assert (r.kind, r.method, r.payee, r.paperwork) == ("estate", "check", "Estate of Ada Lovelace",
                                                            "death certificate")
