"""Disconnect notices on the real program in tmux: from the worklist F11 opens the notice run, a day
keyed, Enter previews and F10 sends the notice (its letter and the print vendor's file on disk); back
in the worklist F5 logs the final contact call and F6 makes the disconnect order from the notice (the
database read after each)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import operators
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal
from tests.support.notices import bill

pytestmark = pytest.mark.e2e


def test_a_notice_run_and_a_disconnect_order_from_it_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    today = dt.date.today()
    run_day = today - dt.timedelta(days=8)          # a notice old enough to disconnect from in its window
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("coll1", "Casey Collector", "collections")
    a = factories.account(first="Noticed", last="Debtor", phone="2085550142")
    bill(a, 15_000, today - dt.timedelta(days=60))
    db.database.close()
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator coll1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        term.send("S-F4")
        term.wait_for("past due")
        term.send("F11")
        term.wait_for("Run day")
        term.send("C-e")
        term.type(f"{run_day:%m%d%Y}\r")
        term.wait_for(f"{run_day:%m/%d/%Y}: 1 notice, $150.00 past due")
        term.send("F10")
        term.wait_for("Sent 1 notice")
        db.connect(str(dbfile))
        try:
            run = db.NoticeRun.get()
            assert (run.status, run.notice_count, db.as_date(run.run_date)) == ("committed", 1, run_day)
            assert Path(run.vendor_file).exists() and str(a.number) in Path(run.vendor_file).read_text()
            notice = db.DisconnectNotice.get()
            assert Path(db.Letter.get_by_id(notice.letter_id).pdf_path).exists()
        finally:
            db.database.close()
        term.send("Escape")                          # back to the worklist, which loads again
        term.wait_for("Final call")
        term.send("Down")
        term.send("F5")
        term.wait_for("Number called")
        term.type("\rv\rLeft a message\r")          # the member's phone, voicemail, a note
        term.wait_for("Contact attempt logged")
        term.wait_for("Order disc.")
        term.send("F6")
        term.wait_for("Disconnect on")
        term.type("\r")                              # the first day the rules allow
        term.wait_for("Disconnect order 5")
        db.connect(str(dbfile))
        try:
            c = db.ContactAttempt.get()
            assert (c.phone, c.result, c.note) == ("2085550142", "voicemail", "Left a message")
            o = db.ServiceOrder.get()
            assert (o.kind, o.account_id, o.status) == ("disconnect_nonpay", a.id, "open")
            due = db.as_date(o.due_date)
            assert 7 <= (due - run_day).days <= 21 and due.weekday() < 5 and due > today
            assert db.DisconnectNotice.get().status == "ordered"
        finally:
            db.database.close()
    finally:
        term.close()
