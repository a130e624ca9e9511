"""At 80x24 an identifier (account, reference, check, order number) is never cut; descriptions are.

Long ones on purpose: an 8-digit account number, a balance moved from a 7-digit account, a
12-digit check number, a long description and address.
"""
from __future__ import annotations

import datetime as dt

import pytest
from rich.text import Text
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.services import batches, orders
from tests import factories
from tests.screens.test_snapshots import no_blink
from tests.support.batch import open_batch, press

LONG_REF = "FROM 1156437"
CHECK_NO = "100200300400"


@pytest.fixture
def wide_ids(coop, msr_op):
    a = factories.account(first="Bartholomew", last="Featherstonehaugh", street="12345 W Coeur d'Alene Lake Dr",
                          base=1234567, bills=[1_234_567], payments=[4_567])
    db.LedgerEntry.create(account=a, effective=dt.date(2025, 9, 2), kind="transfer", amount_cents=-98_765_43,
                          description="Balance transferred from account 1156437 at the old location",
                          reference=LONG_REF)
    db.LedgerEntry.create(account=a, effective=dt.date(2025, 9, 3), kind="payment", amount_cents=-1_00,
                          description="Payment by check at the counter", reference=f"chk {CHECK_NO}")
    return a


def cells(table: DataTable) -> list[str]:
    """Every cell as it is drawn: cut to its column's width."""
    out = []
    for key, column in table.columns.items():
        for cell in table.get_column(key):
            text = cell.plain if isinstance(cell, Text) else str(cell)
            out.append(text[:column.width])
    return out


async def test_ledger_and_lookup_cells_hold_whole_identifiers(app, wide_ids):
    number = str(wide_ids.number)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, *"featherstone")
        shown = cells(app.screen.query_one(DataTable))
        assert number in shown, shown
        app.open_account(wide_ids.id)
        await press(pilot)
        shown = cells(app.screen.query_one("#ledger-table", DataTable))
        assert LONG_REF in shown and f"chk {CHECK_NO}" in shown and "-98,765.43" in shown, shown
        description = "Balance transferred from account 1156437 at the old location"
        assert description not in shown and any(c and description.startswith(c) for c in shown)  # it gives way
        assert number in app.screen.query_one("#title").render().plain


async def test_batch_lines_and_order_queue_hold_whole_identifiers(app, wide_ids, msr_op):
    b = open_batch(msr_op)
    batches.key_line(msr_op, b.id, str(wide_ids.number), 1_000, CHECK_NO)
    order = orders.create_order(msr_op, wide_ids.id, "meter_test")
    from kec_tui.screens.batch_entry import BatchEntryScreen

    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(BatchEntryScreen(b.id))
        await press(pilot)
        shown = cells(app.screen.query_one("#lines", DataTable))
        assert str(wide_ids.number) in shown and CHECK_NO in shown, shown
        app.action_orders()                       # (F4 is Dup in the batch's form)
        await press(pilot)
        shown = cells(app.screen.query_one("#queue", DataTable))
        assert str(wide_ids.number) in shown and str(order.order_no) in shown, shown


def test_snapshot_account_with_long_identifiers(app, wide_ids, snap_compare):
    async def run_before(pilot):
        pilot.app.open_account(wide_ids.id)
        await press(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_lookup_with_long_identifiers(app, wide_ids, snap_compare):
    async def run_before(pilot):
        no_blink(pilot.app)
        await press(pilot, *"featherstone")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
