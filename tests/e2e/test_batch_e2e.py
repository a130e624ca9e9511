"""The real program in a real terminal: key a batch in bursts, SIGKILL it midway, restart, finish, post.

`.venv/bin/kec-tui --db FILE --operator msr1` runs in tmux (tests/e2e/tmux.py) on a small SQLite
database built here. Stubs are typed as literal text bursts (tmux send-keys -l, '\\r' is Enter), the
way a scanner or a remote MSR's keys arrive. Every line committed before the kill must be there after
the restart, the batch is reopened from the batch list and finished, balanced and posted, and the
ledger must match the keyed lines to the cent.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.checkdigit import make_scan_line
from kec_tui.services import batches, operators
from tests import factories
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e

KEC_TUI = Path(sys.executable).with_name("kec-tui")


def stub(number: int, amount: str = "", check: str = "") -> str:
    """A keyed stub: account, Enter, amount (empty: the amount due), Enter, check no., Enter."""
    return f"{number}\r{amount}\r{check}\r"


def start(tmp_path: Path, dbfile: Path) -> Terminal:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator msr1", width=80, height=24, env=env)
    term.wait_for("Lookup", timeout=30)
    return term


def test_batch_survives_sigkill_and_posts_to_the_cent(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("msr1", "Pat Keyer", "msr")
    accts = [factories.account(first=f"E2e{i}", last=f"Member{i}", bills=(10_000 + 1_000 * i,)) for i in range(6)]
    n = [a.number for a in accts]
    db.database.close()
    # (account, cents, check no.) expected, and how each is keyed
    before_kill = [(n[0], 4_512, "3001"), (n[1], 11_000, ""), (n[2], 12_000, "3003")]
    after_restart = [(n[3], 2_299, "3004"), (n[4], 14_000, ""), (n[5], 987, "3006")]
    total = sum(c for _, c, _ in before_kill + after_restart)

    term = start(tmp_path, dbfile)
    try:
        term.send("F3")
        term.wait_for("Payment batches")
        term.send("F5")
        term.wait_for("Control total")
        term.type(f"\r\r6\r{total // 100}.{total % 100:02d}\r")  # today, Check, 6 stubs, the tape's total
        term.wait_for("Keyed 0 / 6")
        # one burst: a keyed odd amount, a scanned stub (one Enter), Enter for the amount due
        term.type(stub(n[0], "45.12", "3001") + make_scan_line(n[1], 11_000) + "\r" + stub(n[2], "", "3003"))
        term.wait_for("Keyed 3 / 6")
        term.type(f"{n[3]}\r22")  # half a stub in the form: never committed
        term.wait_for("Amount  22")
        os.kill(term.pid(), 9)
        term.wait_for("[exited 137]")
    finally:
        term.close()

    db.connect(str(dbfile))
    b = batches.list_batches()[0]
    keyed = [(ln.account_number, ln.amount_cents, ln.check_no) for ln in batches.lines(b.id)]
    assert keyed == before_kill and b.status == "open"  # every line committed before the kill is there
    db.database.close()

    term = start(tmp_path, dbfile)
    try:
        term.send("F3")
        term.wait_for(f"{b.number}")
        term.send("Enter")  # reopen where keying stopped
        term.wait_for("Keyed 3 / 6")
        term.type(stub(n[3], "22.99", "3004") + make_scan_line(n[4], 14_000) + "\r" + stub(n[5], "9.87", "3006"))
        term.wait_for("BALANCED")
        term.send("F10")
        term.wait_for(f"Post batch {b.number}?")
        term.send("Enter")
        shown = term.wait_for(f"Batch {b.number} posted", timeout=20)
        assert "6 payments" in shown and "Deposit" in shown
        term.send("Enter")
        term.wait_for("Payment batches")
        time.sleep(0.3)
    finally:
        term.close()

    db.connect(str(dbfile))
    try:
        posted = batches.get_batch(b.id)
        assert posted.status == "posted" and (posted.count, posted.total_cents) == (6, total)
        L = db.LedgerEntry
        ledger = [(e.account.number, -e.amount_cents, e.reference) for e in
                  L.select().where(L.kind == "payment", L.reference.startswith(f"B{b.number}-")).order_by(L.id)]
        expected = [(acct, cents, f"B{b.number}-{seq}" + (f" ck {check}" if check else ""))
                    for seq, (acct, cents, check) in enumerate(before_kill + after_restart, start=1)]
        assert ledger == expected  # the ledger matches the keyed lines to the cent
        reports = tmp_path / "data" / "kec-tui" / "reports"
        assert (reports / f"batch-{b.number}-deposit.csv").read_text().count("\n") == 7
        assert (reports / f"batch-{b.number}-report.txt").exists()
    finally:
        db.database.close()
