"""The real program in tmux: the print key through a fake `lp` on PATH (a real process recording its
arguments), the online account enrolled from the account (Ctrl+U, F5, Y), and the policies opened over the
account (Shift+F1), searched and left with Esc back to the same account."""
from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

from kec_tui import db
from kec_tui.services import operators, orders
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def test_print_enroll_and_policies_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    msr = operators.create("msr1", "Pat Keyer", "msr")
    a = factories.account(first="Ada", last="Lovelace", email="ada@example.com", meter_no="300000001")
    order = orders.create_order(msr, a.id, "meter_test", due_date=dt.date.today())
    db.database.close()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lp-args"
    lp = bin_dir / "lp"
    lp.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\necho 'request id is counter-9 (1 file(s))'\n")
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml"), "KEC_TUI_PRINTER": "counter",
           "KEC_TUI_TICKETS_DIR": str(tmp_path / "tickets"), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator msr1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        term.send("F4")
        term.wait_for("Meter test")
        term.send("S-F7")
        term.wait_for("Sent to counter")
        pdf = (tmp_path / "tickets" / f"order-{order.order_no}.pdf").resolve()
        assert log.read_text().splitlines() == ["-d", "counter", str(pdf)]

        term.send("F2")
        term.type(f"{a.number}\r")
        term.wait_for("[ACTIVE]")
        term.send("C-u")
        term.wait_for("Not enrolled")
        term.send("F5")
        term.wait_for("Invite ada@example.com")
        term.type("y")
        term.wait_for("Invitation to ada@example.com queued")

        term.send("S-F1")
        term.wait_for("Search policies and rates")
        term.type("winter medical")
        term.wait_for("Disconnect rules")
        term.send("Escape")
        term.wait_for("Invited (not signed up yet)")
        term.send("Escape")
        term.wait_for("[ACTIVE]")
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
    db.connect(str(dbfile))
    try:
        row = db.PortalAccount.get(db.PortalAccount.account == a.id)
        assert (row.status, row.email) == ("invited", "ada@example.com")
        assert [m.kind for m in db.PortalMessage.select()] == ["invitation"]
    finally:
        db.database.close()
