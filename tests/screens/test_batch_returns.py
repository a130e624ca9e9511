"""Returning a posted payment from the account screen: NACHA code, fee, cash-only consequence."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, OptionList

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.returns import ReturnPaymentScreen
from kec_tui.services import operators
from kec_tui.widgets.dialogs import ConfirmScreen, MessageScreen
from tests import factories
from tests.support.batch import make_app, press


@pytest.fixture
def msr(sqlite_db):
    return operators.create("msr1", "Pat Keyer", "msr")


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def row_of(table: DataTable, kind: str, nth: int = 1) -> int:
    return [i for i in range(table.row_count) if str(table.get_row_at(i)[1]) == kind][nth - 1]


async def test_return_a_payment_twice_makes_the_account_cash_only(msr, tmp_path, sqlite_db):
    a = factories.account(bills=(10_000, 12_000), payments=(10_000, 12_000))
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_account(a.id)
        await press(pilot, "down")
        screen = app.screen
        assert isinstance(screen, AccountScreen)
        table = screen.query_one("#ledger-table", DataTable)
        table.move_cursor(row=row_of(table, "bill"))
        await press(pilot, "ctrl+r")  # a bill cannot be returned
        assert not isinstance(app.screen, ReturnPaymentScreen)
        for n in (1, 2):
            table.move_cursor(row=row_of(table, "payment", n))
            await press(pilot, "ctrl+r")
            modal = app.screen
            assert isinstance(modal, ReturnPaymentScreen)
            shown = text_of(modal, "#consequence")
            assert "$25.00" in shown and f"{n - 1} in the last 12 months, {n} with this one" in shown
            assert ("CASH ONLY until" in shown) == (n == 2)
            await press(pilot, "f5")  # waive the fee ... and charge it again
            assert "waived" in text_of(modal, "#consequence")
            await press(pilot, "f5", "8")  # 8: R08 payment stopped
            assert modal.query_one(OptionList).highlighted == 7
            await press(pilot, "1")  # an NSF check
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "enter")
            assert isinstance(app.screen, MessageScreen)
            await press(pilot, "enter")
            assert app.screen is screen
        entries = [(e.kind, e.amount_cents) for e in db.LedgerEntry.select().where(
            db.LedgerEntry.account == a.id, db.LedgerEntry.kind.in_(("reversal", "fee")))]
        assert sorted(entries) == [("fee", 2_500), ("fee", 2_500), ("reversal", 10_000), ("reversal", 12_000)]
        assert db.Account.get_by_id(a.id).cash_only_until is not None
        assert "CASH ONLY" in text_of(screen, "#flags")
        table.move_cursor(row=row_of(table, "payment", 2))  # both payments are returned now
        await press(pilot, "ctrl+r")
        assert app.screen is screen
