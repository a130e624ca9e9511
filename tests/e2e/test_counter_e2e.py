"""The front counter on the real program in tmux: the drawer opened with its float (Shift+F5, F5), five
counter transactions from lookup (Ctrl+K: cash with change, a check, a sale with tax, a money order, a
card), the drawer closed $5.00 short with a supervisor accepting it, and the deposit slip read to the cent."""
from __future__ import annotations

import pytest

from kec_tui import db
from kec_tui.services import operators, passwords, products
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def test_a_day_at_the_counter_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("msr1", "Pat Keyer", "msr")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    products.seed_demo()
    a = factories.account(first="Ada", last="Lovelace", bills=(20_000,)).number
    b = factories.account(first="Bob", last="Builder", street="9 Elm St", bills=(10_000,)).number
    db.database.close()
    reports = tmp_path / "reports"
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml"), "KEC_TUI_REPORTS_DIR": str(reports)}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator msr1", width=80, height=24, env=env)

    def counter(account: int, keys: str, receipt: int) -> None:
        term.send("Escape")                       # lookup: into the search box
        term.send("C-e")
        term.type(str(account))
        term.wait_for(f"{account}")
        term.send("C-k")
        term.type(keys)                           # the whole form as one burst
        term.wait_for(f"Receipt {receipt}:")

    try:
        term.wait_for("Lookup", timeout=30)
        term.send("S-F5")
        term.wait_for("no drawer open")
        term.send("F5")
        term.wait_for("Starting float")
        term.type("150.00\r")
        term.wait_for("float $150.00")
        term.send("Escape")
        term.wait_for("Account no., name")
        counter(a, "50\r\r60\r\r\r\r\r", 1)                           # cash 60.00 for 50.00: change 10.00
        counter(b, "25\r\r\r25\r501\r\r\r\r", 2)                       # a check
        counter(a, "10\rsurge\r\r\rc\r40\r\r\r\r\r", 3)                 # 10.00 + 24.95 + 1.50 tax; cash 40
        counter(b, "20\r\r\r\r20\rMO77\r\r\r", 4)                      # a money order
        counter(a, "15\r\r\r\r\r15\rv\r1111AP1\r\r", 5)                 # a card: type, last four, approval
        term.send("S-F5")
        term.wait_for("Cash 236.45")                                   # 150 + 60 - 10 + 40 - 3.55
        term.send("F10")
        term.wait_for("$100 bills")
        # Counted 231.45: 2 x $100, $20, $10, $1, a quarter, 2 dimes; checks and the card as listed.
        term.type("2\r\r1\r1\r\r\r1\r\r1\r2\r\r\r" "\r\r\r")
        term.wait_for("Cash 231.45 (-5.00)")
        term.type("super\rsup3rpass-long\rgave $5 too much change\r")
        term.wait_for("closed, short $5.00, accepted by super")
        slip = (reports / "drawer-1-deposit.txt").read_text()
        lines = {" ".join(line.split()) for line in slip.splitlines()}
        assert {"Counted cash 231.45", "Less float kept -150.00", "Cash deposited 81.45", "Chk 501 25.00",
                "MO MO77 20.00", "Checks deposited 45.00", "DEPOSIT TOTAL $126.45", "Cards (terminal batch) $15.00",
                "Cash 236.45 231.45 -5.00", "Checks 25.00 25.00 0.00", "Money orders 20.00 20.00 0.00",
                "Difference accepted by super: gave $5 too much change"} <= lines, slip
        assert (reports / "drawer-1-deposit.pdf").read_bytes().startswith(b"%PDF")
        day = next(reports.glob("counter-day-*.txt")).read_text()
        assert "Day total" in day and "236.45" in day
        db.connect(str(dbfile))
        try:
            assert db.CounterTxn.select().count() == 5
            assert [t.kind for t in db.CounterTender.select().order_by(db.CounterTender.id)] == [
                "cash", "check", "cash", "money_order", "card"]
            assert db.CashDrawer.get_by_id(1).status == "closed"
        finally:
            db.database.close()
    finally:
        term.close()
