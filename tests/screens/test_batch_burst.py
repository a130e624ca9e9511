"""THE burst test: 500 payments, keyed and scanned mixed, as ONE burst of key events.

Every key event is queued to the App (the way Textual's driver delivers what it
read from the terminal) before anything is awaited; then we wait, and every
line must be in the database exactly as keyed (account, cents, check no.,
source), in order. The shapes mixed in: scan lines with exact amounts (one
Enter, from the scanner), keyed accounts with odd amounts and check numbers,
Enter for the amount due, Dup of the previous check number, Record Advance (*),
a mis-keyed check digit caught and reset (Esc), and Field Exit by Tab and keypad +.
"""
from __future__ import annotations

from kec_tui.checkdigit import make_scan_line
from kec_tui.services import batches, operators
from tests.support.batch import accounts, db_lines, entry_screen, expand, make_app, open_batch
from tests.support.keys import send_burst, settle

PAYMENTS = 500


def payment_burst(accts: list, count: int) -> tuple[list[str], list[tuple[str, int, str, str]], int]:
    """Keys for `count` stubs over `accts` (whole-dollar amounts due), the lines expected, and their total.

    Exact amounts (scans, amount due) use each account once; keyed amounts always have
    cents, so no line repeats another's account and amount (no duplicate-stub warning)."""
    keys: list[str] = []
    expected: list[tuple[str, int, str, str]] = []
    due = {a.number: int(a._due) for a in accts}
    exact = iter(accts)  # accounts not yet paid their exact amount due
    for i in range(count):
        previous_check = expected[-1][2] if expected else ""   # what Dup repeats: the last line's
        kind = i % 8
        check = str(5000 + i)
        if kind in (0, 3) and (a := next(exact, None)) is not None:   # a scanned exact-amount stub
            keys += expand(make_scan_line(a.number, due[a.number]), "enter")
            expected.append((str(a.number), due[a.number], "", "scanned"))
            continue
        if kind == 5 and (a := next(exact, None)) is not None:        # account, Enter takes the amount due
            keys += expand(str(a.number), "enter", "enter", check, "enter")
            expected.append((str(a.number), due[a.number], check, "keyed"))
            continue
        a = accts[(i * 7) % len(accts)]
        cents = 101 + 37 * i if (101 + 37 * i) % 100 else 102 + 37 * i      # always with cents
        amount = f"{cents // 100}.{cents % 100:02d}"
        number = str(a.number)
        if kind == 1 and previous_check:                               # Dup the previous check no.
            keys += expand(number, "enter", amount, "enter", "ctrl+d")
            expected.append((number, cents, previous_check, "keyed"))
            continue
        if kind == 2:                                                  # a mis-keyed check digit, erased
            wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
            keys += expand(wrong, "enter", "escape", number, "tab", amount, "plus", check, "enter")
        elif kind == 6:                                                # Record Advance: no check no.
            keys += expand(number, "enter", amount, "asterisk")
            expected.append((number, cents, "", "keyed"))
            continue
        else:
            keys += expand(number, "enter", amount, "enter", check, "enter")
        expected.append((number, cents, check, "keyed"))
    return keys, expected, sum(c for _, c, _, _ in expected)


async def test_500_payments_keyed_and_scanned_in_one_burst_land_exactly(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    accts = accounts(160, due_cents=lambda i: 10_000 + 100 * i)
    for i, a in enumerate(accts):
        a._due = 10_000 + 100 * i
    keys, expected, total = payment_burst(accts, PAYMENTS)
    assert len(expected) == PAYMENTS and {e[3] for e in expected} == {"keyed", "scanned"}
    b = open_batch(msr, PAYMENTS, total)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        send_burst(app, keys)  # the whole burst is queued before anything runs
        await settle(pilot, lambda: screen.form.commits >= PAYMENTS, timeout=60)
        assert db_lines(b.id) == expected  # each line exactly as keyed, in order
        assert screen.form.error is None and screen.form.held is None
        assert screen.form.values == {"account": "", "amount": "", "check_no": ""}
        assert batches.batch_totals(b.id).balanced
        assert "BALANCED" in str(screen.query_one("#totals").render())
