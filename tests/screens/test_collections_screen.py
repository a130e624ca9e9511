"""The collections worklist (screens/collections.py): opened with its key, a cycle and a day keyed,
the list entered and an account opened, all in one burst; a refused cycle locks the fields and
holds the keys typed behind it. Every key of a burst is queued before anything is awaited."""
from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.collections import CollectionsScreen
from kec_tui.services import operators
from tests import factories
from tests.services.test_collections import bill
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle

AS_OF = dt.date(2026, 1, 15)


@pytest.fixture
def delinquent(sqlite_db):
    """Cycle 2: three accounts past due 66, 36 and 10 days, one paid up; cycle 1: one past due."""
    made = {}
    for name, cycle, due, cents in (("Oldest", 2, dt.date(2025, 11, 10), 15000),
                                    ("Middle", 2, dt.date(2025, 12, 10), 9000),
                                    ("Recent", 2, dt.date(2026, 1, 5), 4000),
                                    ("Other", 1, dt.date(2025, 11, 10), 7000)):
        made[name] = factories.account(first=name, last="Debtor", bill_cycle=cycle)
        bill(made[name], cents, due)
    made["Paid"] = factories.account(first="Paid", last="Up", bill_cycle=2)
    bill(made["Paid"], 5000, dt.date(2025, 12, 10), paid_on=dt.date(2025, 12, 1))
    return made


@pytest.fixture
def collector(sqlite_db):
    return operators.create("coll1", "Casey Collector", "collections")


def rows(screen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def written() -> tuple[int, int, int]:
    return db.LedgerEntry.select().count(), db.AuditLog.select().count(), db.ServiceOrder.select().count()


async def test_worklist_cycle_and_day_keyed_and_an_account_opened_in_one_burst(delinquent, collector, sqlite_db,
                                                                              tmp_path):
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = written()
        # Shift+F4, cycle 2, Field Exit, erase the day, 01/15/2026, Enter shows the list; Down into it,
        # Down to the second account, Enter opens it.
        send_burst(app, expand("shift+f4", "2", "enter", "ctrl+e", "01152026", "enter", "down", "down", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AccountScreen))
        assert app.screen.account_id == delinquent["Middle"].id
        worklist = app.screen_stack[-2]
        assert isinstance(worklist, CollectionsScreen)
        assert rows(worklist) == [str(delinquent[n].number) for n in ("Oldest", "Middle", "Recent")]
        summary = str(worklist.query_one("#summary").render())
        assert "Cycle 2 01/15/2026: 3 accounts past due $280.00" in summary
        assert written() == before                      # looking writes nothing
        send_burst(app, ["escape", "up"])               # back to the list; the detail follows the cursor
        await settle(pilot, lambda: app.screen is worklist)
        await settle(pilot)
        detail = str(worklist.query_one("#detail").render())
        assert "Oldest Debtor" in detail and "Disconnect notice (7 days)" in detail
        assert "Aged: 61-90 150.00; balance $150.00" in detail


async def test_a_refused_cycle_locks_the_fields_and_holds_the_keys_typed_behind_it(delinquent, collector,
                                                                                    sqlite_db, tmp_path):
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = written()
        send_burst(app, expand("shift+f4", "7", "enter", "ctrl+e", "01152026", "enter", "down", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CollectionsScreen) and app.screen.query_one(
            "#filters").locked)
        screen = app.screen
        form = screen.query_one("#filters")
        await settle(pilot)
        assert isinstance(app.screen, CollectionsScreen)          # no account opened by the held Enter
        assert form.locked and "No bill cycle 7" in form.error
        assert form.values["cycle"] == "7" and form.held_keys >= 1   # the keys behind the refusal not applied
        assert written() == before
        # Esc resets; the cycle keyed again, the rest as before.
        send_burst(app, expand("escape", "ctrl+e", "1", "enter", "ctrl+e", "01152026", "enter", "down", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AccountScreen))
        assert app.screen.account_id == delinquent["Other"].id
        assert written() == before


async def test_the_worklist_fits_80_columns_and_says_when_nobody_is_past_due(collector, sqlite_db, tmp_path):
    factories.account(first="Nobody", last="Owes", bill_cycle=3)
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f4", "3", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await settle(pilot)
        screen = app.screen
        assert "0 accounts past due $0.00" in str(screen.query_one("#summary").render())
        assert "No account past due" in str(screen.query_one("#detail").render())
        table = screen.query_one(DataTable)
        assert sum(c.width + 2 for c in table.columns.values()) <= 80


async def test_late_fees_from_the_worklist_an_enter_typed_ahead_charges_nothing_y_charges_once(
        delinquent, collector, sqlite_db, tmp_path):
    from kec_tui.widgets.dialogs import AskScreen

    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # The worklist on 01/15/2026 (all cycles), F7: the run of that day; Enter is not yes.
        send_burst(app, expand("shift+f4", "enter", "ctrl+e", "01152026", "enter", "f7", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AskScreen))
        await settle(pilot)
        assert isinstance(app.screen, AskScreen) and db.LateFee.select().count() == 0
        # Only the bill due since the run's window (01/05) is charged: the older ones were past due before it.
        send_burst(app, ["y"])
        await settle(pilot, lambda: db.LateFee.select().count() > 0 and isinstance(app.screen, CollectionsScreen))
        await app.workers.wait_for_complete()
        assert [(f.account_id, f.amount_cents) for f in db.LateFee.select()] == [(delinquent["Recent"].id, 200)]
        send_burst(app, ["f7", "y"])                                # the day's run is committed: told so
        await settle(pilot)
        await app.workers.wait_for_complete()
        assert db.LateFee.select().count() == 1 and isinstance(app.screen, CollectionsScreen)


async def test_an_msr_may_not_run_late_fees(delinquent, sqlite_db, tmp_path):
    msr = operators.create("msr9", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = written()
        send_burst(app, expand("shift+f4", "f7", "y"))
        await settle(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await settle(pilot)
        assert written() == before and db.LateFeeRun.select().count() == 0
