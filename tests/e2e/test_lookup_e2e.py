"""The real program in a real terminal: find an account by name and change its phone."""
import pytest

from kec_tui import db
from tests.e2e.conftest import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def test_find_by_name_and_change_phone(small_coop):
    term = Terminal(f"{KEC_TUI} --db {small_coop} --operator msr1", width=80, height=24)
    try:
        term.wait_for("Type an account number")
        term.type("smith john")
        term.wait_for("Smith, John")
        term.send("Enter")
        term.wait_for("Past due")
        assert "(208) 666-1234" in term.screen()
        term.send("F6")
        term.wait_for("Contacts of Smith, John")
        term.send("C-e")
        term.type("208 555 4321")
        term.send("F10")
        shown = term.wait_for("(208) 555-4321")
        assert "Saved: Home phone" in shown or "Past due" in shown
        term.send("F12")
        term.wait_for("contact.update")
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
    db.connect(str(small_coop))
    m = db.Member.get(db.Member.last_name == "Smith")
    assert m.phone_home == "2085554321"
    row = db.AuditLog.get(db.AuditLog.field == "phone_home")
    assert (row.before, row.after, row.operator.username) == ("2086661234", "2085554321", "msr1")


def test_keys_typed_before_the_first_screen_are_kept(small_coop):
    """An MSR who types the name the moment the program starts loses nothing."""
    term = Terminal(f"{KEC_TUI} --db {small_coop} --operator msr1", width=80, height=24)
    try:
        term.type("smith john")      # no wait: the program is still starting
        term.send("Enter")
        shown = term.wait_for("Past due")
        assert "Smith, John" in shown
    finally:
        term.close()
