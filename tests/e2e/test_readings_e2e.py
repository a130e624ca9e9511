"""Meter reading entry on the real program in tmux: Ctrl+Y, a cycle keyed in one burst, a lower
reading that locks the keyboard with keys typed behind it, Esc, and the rest of the route.
The database is read after each burst: nothing wrong written, every right reading there."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import operators
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def keyed(dbfile: Path) -> list[tuple[str, int]]:
    db.connect(str(dbfile))
    try:
        R = db.Reading
        return [(r.meter.meter_no, r.reading)
                for r in R.select().where(R.read_date == dt.date.today()).order_by(R.id)]
    finally:
        db.database.close()


def test_readings_keyed_in_bursts_with_a_lock_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("bill1", "Robin Reader", "billing")
    meters = [factories.account(first=f"Read{i}", last=f"Route{i}", bills=(5_000,) * 3, bill_cycle=4).meter.meter_no
              for i in range(4)]
    db.database.close()
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator bill1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        term.send("C-y")
        term.wait_for("Key the bill cycle")
        term.type("4\r3850\r2000\r3900\r")          # the second reading is lower than the last 3,000
        shown = re.sub(r"\s+", " ", term.wait_for("not used"))
        assert "lower than the last 3,000" in shown and "5 keys typed after it were not used" in shown
        assert keyed(dbfile) == [(meters[0], 3850)]
        term.send("Escape")
        term.type("3900\r3777\r3999\r")
        term.wait_for("every meter on the route was read")
        assert keyed(dbfile) == [(meters[0], 3850), (meters[1], 3900), (meters[2], 3777), (meters[3], 3999)]
    finally:
        term.close()
