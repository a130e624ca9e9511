from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import operators
from tests import factories

KEC_TUI = str(Path(sys.executable).with_name("kec-tui"))


@pytest.fixture
def small_coop(tmp_path) -> Path:
    """A file database with a few accounts and the operator msr1, closed so the program can open it."""
    path = tmp_path / "coop.db"
    db.connect(str(path))
    operators.create("msr1", "Pat Keyer", "msr")
    factories.account(first="John", last="Smith", street="88 W Prairie Ave", phone="2086661234",
                      meter_no="300000002", bills=[10512, 12345], payments=[10512])
    factories.account(first="Mary", last="Smithson", street="5 Smyth Rd", phone="2087770000", meter_no="300000003")
    db.database.close()
    return path
