"""Capital credit runs (Shift+F6, screens/capital_credit_runs.py) keyed in bursts: an allocation
previewed, approved by a supervisor signing in, committed; a refused margin holds the keys typed after
it; a general retirement paid. What is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.capital_credit_runs import AllocationDialog, CapitalCreditRunsScreen
from kec_tui.services import operators, passwords
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle

LAST_YEAR = dt.date.today().year - 1


@pytest.fixture
def people(sqlite_db):
    clerk = operators.create("bill1", "Bea Biller", "billing")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    made = []
    for last, cents in (("Lovelace", 20_000), ("Hopper", 10_000)):
        acct = factories.account(last=last)
        db.LedgerEntry.create(account=acct, effective=dt.date(LAST_YEAR, 5, 1), kind="bill", amount_cents=cents,
                              description="Electric service")
        made.append(acct)
    return clerk, made


async def on_runs(pilot) -> CapitalCreditRunsScreen:
    send_burst(pilot.app, ["shift+f6"])
    await settle(pilot, lambda: isinstance(pilot.app.screen, CapitalCreditRunsScreen))
    return pilot.app.screen


def allocations() -> list[tuple[int, int]]:
    CC = db.CapitalCredit
    return [(c.member.last_name, c.allocated_cents) for c in CC.select().order_by(CC.member)]


async def test_an_allocation_previewed_approved_and_committed_in_one_burst(people, sqlite_db, tmp_path):
    clerk, _ = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_runs(pilot)
        # F5, the year, the margin $1,000.01; F8 approve: the supervisor signs in; F10 commit, Enter confirms.
        send_burst(app, expand("f5", str(LAST_YEAR), "enter", "1000.01", "enter",
                               "f8", "super", "enter", "sup3rpass-long", "enter", "f10", "enter"))
        await settle(pilot, lambda: app.screen is screen and len(allocations()) == 2 and not screen.busy)
        assert allocations() == [("Lovelace", 66_667), ("Hopper", 33_334)]
        run = db.CapitalCreditRun.get()
        assert (run.status, run.approved_by.username, run.total_cents) == ("committed", "super", 100_001)


async def test_a_refused_margin_holds_the_keys_typed_after_it(people, sqlite_db, tmp_path):
    clerk, _ = people
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_runs(pilot)
        send_burst(app, expand("f5", str(LAST_YEAR), "enter", "0", "enter", "f8", "super", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AllocationDialog) and app.screen.query_one("#form").locked)
        form = app.screen.query_one("#form")
        assert form.current == "margin" and form.held_keys > 0
        assert db.CapitalCreditRun.select().count() == 0 and allocations() == []


async def test_a_general_retirement_pays_bill_credits(people, sqlite_db, tmp_path):
    clerk, made = people
    for acct in made:
        db.CapitalCredit.create(member=acct.member, year=1998, allocated_cents=5_000)
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_runs(pilot)
        # F6, Enter takes the oldest year (1998), Enter takes 100 %; approve and commit.
        send_burst(app, expand("f6", "enter", "enter", "f8", "super", "enter", "sup3rpass-long", "enter",
                               "f10", "enter"))
        L = db.LedgerEntry
        await settle(pilot, lambda: app.screen is screen and not screen.busy
                     and L.select().where(L.kind == "capcredit").count() == 2)
        assert sorted(e.amount_cents for e in L.select().where(L.kind == "capcredit")) == [-5_000, -5_000]
