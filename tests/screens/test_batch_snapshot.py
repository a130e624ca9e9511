"""What the MSR sees: the batch entry screen at 80x24 with a few lines keyed, and the batch list.

Update after a deliberate change with:
    pytest tests/screens/test_batch_snapshot.py --snapshot-update
"""
from __future__ import annotations

from kec_tui.checkdigit import make_scan_line
from kec_tui.services import batches, operators
from tests.support.batch import accounts, entry_screen, make_app, open_batch, press


def _setup(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    accts = accounts(4, due_cents=lambda i: 10_000 + 2_500 * i)
    b = open_batch(msr, 6, 60_000)
    return msr, accts, b


def test_entry_screen_80x24(sqlite_db, tmp_path, snap_compare):
    msr, accts, b = _setup(sqlite_db, tmp_path)
    app = make_app(sqlite_db, msr, tmp_path)

    async def run_before(pilot) -> None:
        await entry_screen(pilot, b.id)
        await press(pilot, str(accts[0].number), "\r", "\r", "1042\r")          # Enter: the amount due
        await press(pilot, make_scan_line(accts[1].number, 12_500), "\r")      # a scanned stub
        await press(pilot, str(accts[2].number), "\r", "87.13\r", "1043\r")    # an odd amount
        await press(pilot, str(accts[3].number), "\r")                          # the member shows at once

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_entry_screen_warning_80x24(sqlite_db, tmp_path, snap_compare):
    msr, accts, b = _setup(sqlite_db, tmp_path)
    batches.key_line(msr, b.id, str(accts[0].number), 4_000, "77")
    app = make_app(sqlite_db, msr, tmp_path)

    async def run_before(pilot) -> None:
        await entry_screen(pilot, b.id)
        await press(pilot, str(accts[0].number), "\r40\r77\r", "12")  # a duplicate stub, and a key typed ahead

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_batch_list_80x24(sqlite_db, tmp_path, snap_compare):
    msr, accts, b = _setup(sqlite_db, tmp_path)
    batches.key_line(msr, b.id, str(accts[0].number), 4_000, "77")
    done = open_batch(msr, 1, 4_000, tender="cash")
    batches.key_line(msr, done.id, str(accts[1].number), 4_000)
    batches.post_batch(msr, done.id)
    app = make_app(sqlite_db, msr, tmp_path)

    async def run_before(pilot) -> None:
        await press(pilot, "f3")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
