"""The GL journal screen (screens/journal.py): a day keyed, previewed and closed in one burst; a
refused day holds the keys typed after it (the two F10s among them) and nothing is closed."""
from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.screens.journal import DayForm, JournalScreen
from kec_tui.services import operators
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle

DAY = dt.date.today() - dt.timedelta(days=1)


@pytest.fixture
def clerk(sqlite_db):
    return operators.create("bill1", "Bea Ledger", "billing")


@pytest.fixture
def ledger(sqlite_db):
    a = factories.account()
    for kind, cents, ref in (("bill", 12_345, ""), ("payment", -10_000, "CK 1001"), ("fee", 500, "LATE")):
        db.LedgerEntry.create(account=a, effective=DAY, kind=kind, amount_cents=cents, reference=ref,
                              posted_at=dt.datetime.combine(DAY, dt.time(10)))
    return a


def idle(app) -> bool:
    s = app.screen
    return isinstance(s, JournalScreen) and not s.busy and not s.pending


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_day_keyed_previewed_and_closed_in_one_burst(ledger, clerk, sqlite_db, tmp_path, size):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f6", "5", f"{DAY:%m/%d/%Y}", "enter", "f10", "f10"))
        await settle(pilot, lambda: idle(app) and app.screen.journal is not None and app.screen.journal.closed)
        screen = app.screen
        j = screen.journal
        assert j.day == DAY and j.closed and j.balanced and j.tie.ok and len(j.postings) == 3
        row = db.GlDay.get(db.GlDay.day == DAY)
        assert row.entry_count == 3 and row.debit_cents == 22_845 and db.GlJournaled.select().count() == 3
        table = screen.query_one(DataTable)
        assert table.row_count == len(j.lines) + 1
        assert "CLOSED" in str(screen.query_one("#summary").render()) or "closed" in str(
            screen.query_one("#summary").render())
        assert screen.last_files.csv == tmp_path / "reports" / f"gl-journal-{DAY:%Y-%m-%d}.csv"
        assert screen.last_files.fixed.exists() and screen.last_files.detail.exists()
        # Closing again is refused and nothing more is written.
        send_burst(app, ["f10"])
        await settle(pilot, lambda: idle(app))
        assert "already closed" in str(screen.query_one("#summary").render())
        assert db.GlDay.select().count() == 1


async def test_a_future_day_is_refused_and_the_keys_behind_it_are_held(ledger, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    future = dt.date.today() + dt.timedelta(days=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f6", "5", f"{future:%m/%d/%Y}", "enter", "f10", "f10", "f7"))
        await settle(pilot, lambda: isinstance(app.screen, JournalScreen) and idle(app))
        screen = app.screen
        form = screen.query_one(DayForm)
        assert form.locked and "in the future" in form.error and form.held_keys == 3
        assert screen.journal is None and db.GlDay.select().count() == 0
        assert not (tmp_path / "reports").exists()
        # Esc, then a day that is not a date: refused the same way; then the right day previews (not closed).
        send_burst(app, expand("escape", "13/45/2026", "enter", "f10"))
        await settle(pilot, lambda: idle(app))
        assert form.locked and "not a day" in form.error and db.GlDay.select().count() == 0
        send_burst(app, expand("escape", f"{DAY:%m/%d/%Y}", "enter", "f10"))
        await settle(pilot, lambda: idle(app) and screen.journal is not None)
        assert not screen.journal.closed and screen.armed == DAY and db.GlDay.select().count() == 0
        assert "again" in str(screen.query_one("#summary").render())


async def test_an_msr_is_told_the_journal_is_not_theirs(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, ["shift+f6", "5"])
        await settle(pilot)
        assert not isinstance(app.screen, JournalScreen)
