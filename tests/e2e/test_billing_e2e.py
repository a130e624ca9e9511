"""The billing run on the real program in tmux at 80x24: Ctrl+W, a bad period refused with the
keys typed behind it held, the preview, a billing clerk's approval refused until a supervisor
signs in (a wrong password first), the commit and the statements. The database is read after
each step: nothing written before the commit, every bill after it."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import operators, passwords
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal
from tests.support import billing

pytestmark = pytest.mark.e2e


def state(dbfile: Path) -> tuple[list[tuple[int, str, str]], int]:
    db.connect(str(dbfile))
    try:
        BR = db.BillingRun
        return list(BR.select(BR.cycle, BR.period, BR.status).tuples()), db.Bill.select().count()
    finally:
        db.database.close()


def wait_gone(term: Terminal, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text in term.screen():
        assert time.monotonic() < deadline, f"{text!r} still shown:\n{term.screen()}"
        time.sleep(0.1)


def test_preview_approve_commit_at_80x24_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    billing.cycle()
    operators.create("bill1", "Bea Biller", "billing")
    operators.create("boss", "Sam Super", "supervisor")
    passwords.set_password("boss", "boss-secret-1")
    db.database.close()
    reports = tmp_path / "reports"
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml"), "KEC_TUI_REPORTS_DIR": str(reports)}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator bill1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        term.send("C-w")
        term.wait_for("No billing runs yet")
        term.send("F5")
        term.wait_for("Period (YYYY-MM)")
        term.type(f"1\r2025-13\r{billing.PERIOD}\r")          # a bad period, and the right one typed behind it
        shown = re.sub(r"\s+", " ", term.wait_for("not used"))
        assert "A period is YYYY-MM, not '2025-13'" in shown and "8 keys typed after it were not used" in shown
        assert state(dbfile) == ([], 0)
        term.send("Escape")
        term.type(f"{billing.PERIOD}\r")
        shown = term.wait_for("Plain Reader0")
        assert "previewed" in shown and "Big Mill" in shown and "$3,946.79" in shown
        assert state(dbfile) == ([(1, billing.PERIOD, "previewed")], 0)
        term.send("F8")                                        # a billing clerk: a supervisor signs in
        term.wait_for("a supervisor signs in")
        term.type("boss\rwrong\r")
        term.wait_for("Supervisor sign-in refused")
        assert state(dbfile) == ([(1, billing.PERIOD, "previewed")], 0)
        # Esc, then the password once the refusal is gone: Esc followed by "b" inside the terminal's
        # escape delay is read by Textual as Ctrl+Left (the "word left" of macOS terminals).
        term.send("Escape")
        wait_gone(term, "sign-in refused")
        term.type("boss-secret-1\r")
        term.wait_for("Approved by boss")
        assert state(dbfile) == ([(1, billing.PERIOD, "approved")], 0)
        term.send("F10")
        term.wait_for("Commit cycle 1")
        term.send("Enter")
        shown = re.sub(r"\s+", " ", term.wait_for("statements-cycle1", timeout=30))
        assert "Committed: 8 bills, $3,946.79" in shown and "8 statements" in shown
        assert state(dbfile) == ([(1, billing.PERIOD, "committed")], 8)
        assert (reports / f"statements-cycle1-{billing.PERIOD}.pdf").read_bytes().startswith(b"%PDF-")
    finally:
        term.close()
