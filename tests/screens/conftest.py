"""Screen tests: a small fixed co-op on SQLite and the app signed in as an MSR."""
from __future__ import annotations

import pytest

from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.services import accounts, operators
from tests import factories
from tests.support.keys import settle_workers


@pytest.fixture
def coop(sqlite_db):
    made = {
        "smith": factories.account(first="John", last="Smith", street="88 W Prairie Ave", phone="2086661234",
                                   email="jsmith@frontier.com", meter_no="300000002",
                                   bills=[10512, 12345, 9999, 14001, 11000, 9876], payments=[10512, 12345],
                                   landlord=True),
        "smithson": factories.account(first="Mary", last="Smithson", street="5 Smyth Rd", phone="2087770000",
                                      email="", meter_no="300000003", bills=[5000]),
        "ada": factories.account(first="Ada", last="Lovelace", street="1234 N Government Way", phone="2085550100",
                                 email="ada@example.com", meter_no="300000001"),
    }
    return made


@pytest.fixture
def msr_op(sqlite_db):
    return operators.create("msr1", "Pat Keyer", "msr")


@pytest.fixture
def app(coop, msr_op, sqlite_db):
    return KecApp(Settings(db=sqlite_db, theme="textual-dark"), msr_op)


settle = settle_workers  # the screen tests' name for it


__all__ = ["settle", "accounts"]
