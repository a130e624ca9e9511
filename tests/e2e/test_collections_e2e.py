"""The collections worklist on the real program in tmux: Shift+F4, a cycle and a day keyed, the
day's late fees charged with F7 and Y (the database read after), an account opened from the list."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import operators
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal
from tests.services.test_collections import bill

pytestmark = pytest.mark.e2e


def test_worklist_and_late_fees_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("coll1", "Casey Collector", "collections")
    for name, due, cents in (("Oldest", dt.date(2025, 11, 10), 15000), ("Recent", dt.date(2026, 1, 5), 4000)):
        bill(factories.account(first=name, last="Debtor", bill_cycle=2), cents, due)
    recent = db.Account.select().order_by(db.Account.id.desc()).first().id
    db.database.close()
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator coll1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        term.send("S-F4")
        term.wait_for("past due")
        term.type("2\r")
        term.send("C-e")
        term.type("01152026\r")
        term.wait_for("Cycle 2 01/15/2026: 2 accounts past due $190.00")
        term.send("F7")
        term.wait_for("Charge the late fees of 01/15/2026?")
        term.type("y")
        term.wait_for("charged:")
        db.connect(str(dbfile))
        try:
            assert [(f.account_id, f.amount_cents) for f in db.LateFee.select()] == [(recent, 200)]
        finally:
            db.database.close()
        term.send("Down")
        term.send("Enter")
        term.wait_for("Debtor, Oldest")                 # the account screen names the member last, first
    finally:
        term.close()
