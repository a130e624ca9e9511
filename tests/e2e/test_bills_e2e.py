"""Bill inquiries and an adjustment on the real program in tmux at 80x24: Ctrl+E lists the bills
with the first explained, F6 compares it; Ctrl+A keys a credit over the limit in one burst, a wrong
supervisor password locks the form with the keys behind it held, Esc, the right one posts it.
The database is read after each burst."""
from __future__ import annotations

import re

import pytest

from kec_tui import db
from kec_tui.services import billing_run, operators, passwords
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal
from tests.services import billing_data as data

pytestmark = pytest.mark.e2e


def adjustments(dbfile) -> list[tuple[str, int, str]]:
    db.connect(str(dbfile))
    try:
        A = db.Adjustment
        return [(a.reason, a.amount_cents, a.approved_by.username if a.approved_by else "")
                for a in A.select().order_by(A.id)]
    finally:
        db.database.close()


def test_explain_compare_and_an_adjustment_signed_by_a_supervisor_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    data.load_rates()
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    ada = data.account(kwh=800, first="Ada", last="Lovelace")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(biller, reg.run.id)
    db.database.close()
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator bill1 run --account {ada.number}", width=80, height=24,
                    env=env)
    try:
        term.wait_for("Lovelace", timeout=30)
        term.send("C-e")
        shown = term.wait_for("In plain words")
        assert "05/03/2025" in shown and "106.20" in shown
        term.send("F6")
        shown = re.sub(r"\s+", " ", term.wait_for("more than last"))
        assert "This bill is $6.20 more than last month's bill" in shown
        term.send("Escape")
        term.wait_for("Ledger")
        term.send("C-a")
        term.wait_for("Credit or debit")
        term.type("\r250.00\rm\rMeter tested fast\rsuper\rwrong\rxy")
        shown = re.sub(r"[\s│]+", " ", term.wait_for("not used"))      # the dialog's borders out
        assert "Supervisor sign-in refused" in shown and "2 keys typed after it were not used" in shown
        assert adjustments(dbfile) == []
        term.send("Escape")
        term.type("sup3rpass-long\r")
        term.wait_for("ADJ METER")
        assert adjustments(dbfile) == [("METER", -25000, "super")]
    finally:
        term.close()
