"""Batch entry reads the stub's barcode as a wedge scanner types it: the scan line's digits
with the Interleaved 2 of 5 pad 0 in front (22 digits for the 21 of the scan line), then Enter.
Exactly that form is read; any other 22 digits are refused under the error lock."""
from __future__ import annotations

import pytest

from kec_tui.checkdigit import barcode_digits, make_scan_line
from kec_tui.services import batches, operators
from tests.support.batch import accounts, db_lines, entry_screen, expand, make_app, open_batch, press
from tests.support.keys import send_burst, settle


async def test_a_burst_of_barcode_reads_posts_each_stub_exactly(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    accts = accounts(12, due_cents=lambda i: 10_000 + 1_337 * i)
    dues = [10_000 + 1_337 * i for i in range(12)]
    keys, expected = [], []
    for i, (a, due) in enumerate(zip(accts, dues)):
        line = make_scan_line(a.number, due)
        keys += expand(barcode_digits(line) if i % 4 else line, "enter")  # mostly the barcode, some OCR lines
        expected.append((str(a.number), due, "", "scanned"))
    b = open_batch(msr, len(accts), sum(dues))
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        send_burst(app, keys)  # the whole burst queued before anything runs
        await settle(pilot, lambda: screen.form.commits >= len(accts), timeout=30)
        await pilot.app.workers.wait_for_complete()
        assert db_lines(b.id) == expected
        assert screen.form.error is None and screen.form.held is None
        assert batches.batch_totals(b.id).balanced


BAD_READS = {
    "not the pad digit": (lambda line: "1" + line, "Scan line has 22 digits, expected 21 (22 only from the "
                                                   "barcode, starting with 0): rescan or key the stub"),
    "padded, a digit misread": (lambda line: "0" + line[:-2] + str((int(line[-2]) + 1) % 10) + line[-1],
                                "Scan line check digit does not match: rescan or key the stub"),
}


@pytest.mark.parametrize("bad", BAD_READS)
async def test_a_bad_barcode_read_then_the_next_reads_write_nothing_until_esc(sqlite_db, tmp_path, bad):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    first, second = accounts(2, due_cents=lambda i: (1243, 4567)[i])
    b = open_batch(msr, 2, 1243 + 4567)
    wrong, message = BAD_READS[bad]
    read1 = wrong(make_scan_line(first.number, 1243))
    read2 = barcode_digits(make_scan_line(second.number, 4567))
    assert len(read1) == len(read2) == 22
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        form = screen.form
        typed_ahead = [*read2, "enter", *"4567", "enter"]  # the next stub, then a keyed account's start
        await press(pilot, *read1, "enter", *typed_ahead)
        assert db_lines(b.id) == []  # nothing written: not the bad read, not the stub read after it
        assert form.locked and form.held_keys == len(typed_ahead)
        assert form.error_text == f"{message}. {len(typed_ahead)} keys typed after it were not used. Esc to go on"
        await press(pilot, "escape", read2, "enter")
        assert db_lines(b.id) == [(str(second.number), 4567, "", "scanned")]
        assert not form.locked and form.values == {"account": "", "amount": "", "check_no": ""}
