"""Disconnect notices on screen: the notice run from the worklist (F11: a day keyed, Enter previews,
F10 sends, in one burst), a second run on the day refused with the keys typed behind it held; the
final contact call (F5) and the disconnect order (F6) from the worklist, and an order the rules refuse
with keys typed behind it. Every key of a burst is queued before anything is awaited; what was
written is read back from the database."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.screens.collections import CollectionsScreen
from kec_tui.screens.notices import ContactDialog, DisconnectDialog, NoticeRunScreen
from kec_tui.services import notices, operators
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle
from tests.support.notices import bill, notice

RUN = dt.date(2026, 3, 16)


@pytest.fixture
def collector(sqlite_db):
    return operators.create("coll1", "Casey Collector", "collections")


@pytest.fixture
def past_due(sqlite_db):
    made = []
    for i, (first, due) in enumerate((("Older", dt.date(2026, 1, 10)), ("Newer", dt.date(2026, 2, 1)))):
        a = factories.account(first=first, last="Debtor", street=f"{10 + i} Elm St")
        bill(a, 12_000 + i, due)
        made.append(a)
    bill(factories.account(first="Recent"), 9_000, dt.date(2026, 3, 1))       # 15 days: no notice
    return made


def counts() -> tuple[int, int, int, int]:
    return (db.NoticeRun.select().where(db.NoticeRun.status == "committed").count(),
            db.DisconnectNotice.select().count(), db.Letter.select().count(), db.ServiceOrder.select().count())


async def test_the_notice_run_previewed_and_sent_in_one_burst(past_due, collector, sqlite_db, tmp_path):
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f4", "f11", "ctrl+e", "03162026", "enter", "f10"))
        await settle(pilot, lambda: counts()[0] == 1)
        await app.workers.wait_for_complete()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NoticeRunScreen)
        assert counts() == (1, 2, 2, 0)
        table = screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == [str(a.number) for a in past_due]
        run = db.NoticeRun.get()
        folder = tmp_path / "reports" / "letters" / "notices-2026-03-16"
        assert run.directory == str(folder) and Path(run.vendor_file).parent == folder
        assert Path(run.vendor_file).read_text().count("\n") == 3            # the header and two notices
        assert len(list(folder.glob("letter-*-disconnect_notice.pdf"))) == 2
        detail = str(screen.query_one("#detail").render())
        assert "Sent 2 notices" in detail and "notices-2026-03-16" in detail
        assert sum(c.width + 2 for c in table.columns.values()) <= 80


async def test_a_second_run_on_the_day_is_refused_and_the_keys_behind_it_held(past_due, collector, sqlite_db,
                                                                             tmp_path):
    notices.commit(collector, notices.preview(collector, RUN).run.id, directory=tmp_path / "letters")
    before = counts()
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f4", "f11", "ctrl+e", "03162026", "enter", "f10", "down", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, NoticeRunScreen) and app.screen.query_one(
            "#filters").locked)
        await app.workers.wait_for_complete()
        await settle(pilot)
        form = app.screen.query_one("#filters")
        assert "already run on 03/16/2026" in form.error and "one notice run a day" in form.error
        assert form.held_keys >= 1
        assert isinstance(app.screen, NoticeRunScreen) and counts() == before


async def test_the_final_call_and_the_disconnect_order_from_the_worklist(collector, sqlite_db, tmp_path):
    today = dt.date.today()
    a = factories.account(first="Called", last="Member", phone="2085550177")
    bill(a, 15_000, today - dt.timedelta(days=60))
    first, last = notices.window(today - dt.timedelta(days=8))
    n = notice(a, today - dt.timedelta(days=8), 15_000, first, last)
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # The worklist of today, into the list, F5: Enter takes the member's phone, n = no answer, a note, Enter.
        send_burst(app, expand("shift+f4", "enter", "enter", "down", "f5", "enter", "n", "enter", "Rang 8 times",
                               "enter"))
        await settle(pilot, lambda: db.ContactAttempt.select().count() == 1
                     and isinstance(app.screen, CollectionsScreen))
        c = db.ContactAttempt.get()
        assert (c.notice_id, c.phone, c.result, c.note) == (n.id, "2085550177", "no_answer", "Rang 8 times")
        await app.workers.wait_for_complete()
        await settle(pilot)
        # F6: Enter takes the first day the rules allow.
        want = notices.earliest(n.id)
        send_burst(app, ["f6", "enter"])
        await settle(pilot, lambda: db.ServiceOrder.select().count() == 1 and isinstance(app.screen,
                                                                                          CollectionsScreen))
        o = db.ServiceOrder.get()
        assert (o.kind, o.account_id, db.as_date(o.due_date)) == ("disconnect_nonpay", a.id, want)
        assert db.DisconnectNotice.get_by_id(n.id).status == "ordered"


async def test_a_disconnect_order_the_rules_refuse_writes_nothing_and_holds_the_keys(collector, sqlite_db,
                                                                                    tmp_path):
    today = dt.date.today()
    a = factories.account(first="Young", last="Notice")
    bill(a, 15_000, today - dt.timedelta(days=60))
    n = notice(a, today - dt.timedelta(days=2))                # 2 days old, no call yet
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        day = today + dt.timedelta(days=1)
        send_burst(app, expand("shift+f4", "enter", "enter", "down", "f6", f"{day:%m%d%Y}", "enter", "enter",
                               "f6", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, DisconnectDialog) and app.screen.query_one(
            "#form").locked)
        await settle(pilot)
        form = app.screen.query_one("#form")
        assert "days old on" in form.error and "7 days' written notice" in form.error
        assert form.held_keys >= 1 and isinstance(app.screen, DisconnectDialog)
        assert db.ServiceOrder.select().count() == 0 and db.DisconnectNotice.get_by_id(n.id).status == "sent"
        # Esc resets; the form leaves with Esc again: still nothing ordered.
        send_burst(app, ["escape", "escape"])
        await settle(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        assert db.ServiceOrder.select().count() == 0


async def test_a_contact_with_a_short_phone_is_refused(collector, sqlite_db, tmp_path):
    today = dt.date.today()
    a = factories.account(first="Short", last="Phone", phone="")
    bill(a, 15_000, today - dt.timedelta(days=60))
    notice(a, today - dt.timedelta(days=8))
    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        send_burst(app, expand("shift+f4", "enter", "enter", "down", "f5", "5550177", "enter", "n", "enter",
                               "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ContactDialog) and app.screen.query_one("#form").locked)
        await settle(pilot)
        assert db.ContactAttempt.select().count() == 0 and isinstance(app.screen, ContactDialog)


async def test_an_escape_burst_leaves_the_notice_run_and_the_worklist_cleanly(collector, sqlite_db, tmp_path):
    from kec_tui.screens.lookup import LookupScreen

    app = make_app(sqlite_db, collector, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, ["shift+f4", "f11", "escape", "escape", "escape", "escape"])
        await settle(pilot, lambda: isinstance(app.screen, LookupScreen))
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen) and app.return_code is None
        assert db.NoticeRun.select().count() == 0
