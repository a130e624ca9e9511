"""The real program in tmux: text boxes take a burst in order, and keys typed right behind the
key that opens a dialog land in it (each burst is ONE tmux send-keys)."""
import time

import pytest

from kec_tui import db
from tests.e2e.conftest import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e

BACKSPACES = ["BSpace"] * 5


def notes_of_smith(path) -> list[str]:
    db.connect(str(path))
    try:
        return [n.text for n in db.Note.select().order_by(db.Note.id)]
    finally:
        db.database.close()


def test_lookup_and_note_boxes_take_a_burst_in_order(small_coop):
    term = Terminal(f"{KEC_TUI} --db {small_coop} --operator msr1", width=80, height=24)
    try:
        term.wait_for("Type an account number")
        term.type("jones")
        term.wait_for("jones")
        term.send(*BACKSPACES, "smith john", "Enter")      # over "jones": "smith john", then open it
        shown = term.wait_for("Past due")
        assert "Smith, John" in shown
        term.send("F7", "jones", *BACKSPACES, "smith", "Enter")   # the note, typed behind F7
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not notes_of_smith(small_coop):
            time.sleep(0.2)
        assert notes_of_smith(small_coop) == ["smith"]
        term.send("F11")
        term.wait_for("smith")
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
