"""The real program in a real terminal: a member moves; the old account is finaled and the new
one carries the balance."""
import pytest

from kec_tui import db
from kec_tui.services import accounts, memberships as ms, operators
from tests import factories
from tests.e2e.conftest import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


@pytest.fixture
def moving_coop(tmp_path):
    path = tmp_path / "coop.db"
    db.connect(str(path))
    op = operators.create("msr1", "Pat Keyer", "msr")
    smith = factories.account(first="John", last="Smith", street="88 W Prairie Ave", phone="2086661234",
                              meter_no="300000002", bills=[10512, 12345], payments=[10512], deposit_cents=15000)
    ms.add_location(op, "77 Pine St", "Hayden", "83835", map_location="T51N R4W S1")
    balance = accounts.balance(smith.id)
    db.database.close()
    return path, smith.id, balance


def test_move_in_tmux(moving_coop):
    path, old_id, old_balance = moving_coop
    term = Terminal(f"{KEC_TUI} --db {path} --operator msr1", width=80, height=24)
    try:
        term.wait_for("Type an account number")
        term.type("smith john")
        term.wait_for("Smith, John")
        term.send("Enter")
        term.wait_for("Past due")
        term.send("C-o")
        term.wait_for("New service location")
        term.type("77 pine")
        term.send("Enter")
        term.wait_for("Move on (date)")
        term.send("Enter")                                       # today, as offered
        term.wait_for("Final reading")
        term.type("2600")
        term.send("Enter")
        shown = term.wait_for("Move now (Y)")
        assert "600 kWh" in shown and "77 Pine St" in shown
        term.send("Enter", "Enter", "Enter", "Enter", "Enter")  # rate, rental, connect date, mail, notes: as offered
        term.type("y")
        term.send("Enter")
        shown = term.wait_for("Service moved to account")
        assert "Final bill" in shown and "Carried" in shown
        term.send("Enter")
        term.wait_for("[PENDING]")
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
    db.connect(str(path))
    old = db.Account.get_by_id(old_id)
    new = db.Account.get_by_id(old.transferred_to_id)
    final_bill = db.LedgerEntry.get(db.LedgerEntry.account == old_id, db.LedgerEntry.reference == "FINAL")
    carried = old_balance + final_bill.amount_cents
    assert old.status in ("final", "closed") and accounts.balance(old_id) == 0
    assert db.Reading.get(db.Reading.account == old_id, db.Reading.reading == 2600).kwh == 600
    assert (new.status, new.member_id, new.deposit_cents) == ("pending", old.member_id, 15000)
    assert db.ServiceLocation.get_by_id(new.location_id).street == "77 Pine St"
    assert accounts.balance(new.id) == carried > 0
    entry = db.LedgerEntry.get(db.LedgerEntry.account == new.id, db.LedgerEntry.kind == "transfer")
    assert entry.amount_cents == carried and entry.reference == f"FROM {old.number}"
    assert db.ServiceOrder.get(db.ServiceOrder.account == new.id).kind == "connect"
    assert db.Member.get_by_id(new.member_id).mail_street == "77 Pine St"      # the bills follow the member
