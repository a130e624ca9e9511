"""An error locks the keyboard: every refusal of an EntryForm holds the keys typed after it.

Each case is one burst (nothing awaited between keys). After the refusal the keys are
held, counted and not applied; Esc (Reset) clears the refused field, keeps the fields
before it and puts the cursor there. On the batch entry screen the database shows that
no wrong line was written, then that keying goes on and writes exactly the next line.
"""
from __future__ import annotations

import pytest
from textual import events

from kec_tui.checkdigit import make_scan_line
from kec_tui.services import operators
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from tests.support.batch import accounts, db_lines, entry_screen, expand, make_app, open_batch, press as press_batch
from tests.support.entry_form import FormApp, press
from tests.support.keys import send_burst, settle

ACCOUNT, AMOUNT_DUE = "123457", "45.67"


# --------------------------------------------------------------------------
# The entry form: each refusal kind locks, counts and resets the same way

REFUSALS = {
    # name: (fields, keys up to and including the refused key, field refused, fields kept)
    "letter in a digit field": (None, [*"1234", "x"], "account", {}),
    "second decimal point": (None, [*ACCOUNT, "enter", *"1.2", "."], "amount", {"account": ACCOUNT}),
    "key beyond a full field": (None, [*ACCOUNT, "enter", *"123456789", "1"], "amount", {"account": ACCOUNT}),
    "failed check digit": (None, [*"123458", "enter"], "account", {}),
    "required field left empty": (None, ["enter"], "account", {}),
    "validator on Field Exit": (None, [*ACCOUNT, "enter", "0", "enter"], "amount", {"account": ACCOUNT}),
    "Dup with nothing to copy": (None, [*ACCOUNT, "enter", "ctrl+d"], "amount", {"account": ACCOUNT}),
    "not a date": ([FieldSpec("name", "Name", "text", 10), FieldSpec("day", "Day", "date", 10)],
                   [*"Ann", "enter", *"1125", "enter"], "day", {"name": "Ann"}),
}
TYPED_AHEAD = [*"99", "backspace", "left", "ctrl+e", "enter", "tab", "minus", "ctrl+d", *ACCOUNT, "enter"]


@pytest.mark.parametrize("kind", REFUSALS)
async def test_every_refusal_locks_holds_and_counts_and_reset_clears_the_refused_field(kind):
    fields, keys, refused, kept = REFUSALS[kind]
    app = FormApp(fields=fields)
    async with app.run_test() as pilot:
        form = app.form
        before: list[Record] = []
        send_burst(app, keys[:-1])
        await settle(pilot)
        before.append(form.values)
        send_burst(app, [keys[-1], *TYPED_AHEAD])  # the refused key and the keys typed after it: one burst
        await settle(pilot)
        assert form.locked and form.error
        assert form.held_keys == len(TYPED_AHEAD)
        assert f"{len(TYPED_AHEAD)} keys typed after it were not used. Esc to go on" in form.error_text
        assert app.committed == []
        # Nothing typed after the refusal reached any field.
        for name, text in before[0].items():
            if name != refused:
                assert form.values[name] == text
        await press(pilot, "escape")  # Reset
        assert not form.locked and form.error is None and form.held_keys == 0
        assert form.current == refused and form.values[refused] == ""
        assert {name: form.values[name] for name in kept} == kept


async def test_submit_refusal_locks_at_the_named_field_and_reset_keeps_the_fields_before():
    def refuse(record: Record) -> SubmitResult | None:
        if record["amount"] == "10.00":
            return SubmitResult("amount", "Batch is closed for this amount")
        app.committed.append(record)
        return None

    app = FormApp(on_submit=refuse)
    async with app.run_test() as pilot:
        send_burst(app, [*ACCOUNT, "enter", *"10", "enter", *"9", "enter", *"77", "enter", *ACCOUNT, "enter"])
        await settle(pilot)
        assert app.form.locked and app.form.current == "amount" and app.form.held_keys == 10
        await press(pilot, "escape", *"11", "enter", "enter")  # the amount re-keyed; the check no. was kept
        assert app.committed == [{"account": ACCOUNT, "amount": "11.00", "check_no": "9"}]


async def test_keys_that_are_not_the_forms_still_work_while_locked():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"12x", "f1", "1")
        assert app.form.locked and app.form.held_keys == 1  # F1 is the app's: not held, not counted


async def test_reset_is_the_clear_binding_and_a_keymap_moves_it():
    app = FormApp()
    async with app.run_test() as pilot:
        app.set_keymap({"entry_form.clear_record": "f12"})
        await press(pilot, *"12x", "escape", "3")
        assert app.form.locked and app.form.held_keys == 1
        assert "F12 to go on" in app.form.error_text
        await press(pilot, "f12", *ACCOUNT)
        assert not app.form.locked and app.form.values["account"] == ACCOUNT


async def test_a_paste_is_one_event_refused_whole():
    app = FormApp()
    async with app.run_test() as pilot:
        form = app.form
        form.post_message(events.Paste("123457\t12.43\n234567\t45.00\n"))  # cells copied from a spreadsheet
        send_burst(app, [*"12", "enter"])
        await settle(pilot)
        assert form.values == {"account": "", "amount": "", "check_no": ""}
        assert form.locked and form.error == "Account: a paste of 2 lines is refused: paste one value"
        assert form.held_keys == 3
        await press(pilot, "escape")
        form.post_message(events.Paste("123457\t12.43"))  # one row, two cells: not split either
        await settle(pilot)
        assert form.error == "Account: a paste of 2 cells is refused: paste one value" and form.values["account"] == ""
        await press(pilot, "escape")
        form.post_message(events.Paste("123457\n"))  # one line that fits: taken whole, its line end exits
        await settle(pilot)
        assert form.current == "amount" and form.values["account"] == ACCOUNT and not form.locked


async def test_alt_key_is_esc_then_the_key():
    app = FormApp()
    async with app.run_test() as pilot:
        form = app.form
        send_burst(app, [*"99", "alt+1", *"23457", "enter"])  # Esc (clear) then 1 within the escape delay
        await settle(pilot)
        assert form.current == "amount" and form.values["account"] == ACCOUNT
        send_burst(app, ["ctrl+e", "x", "alt+1", *"2.5", "enter", "enter"])  # locked: Alt+1 is Reset, then 1
        await settle(pilot)
        assert app.committed == [{"account": ACCOUNT, "amount": "12.50", "check_no": ""}]


# --------------------------------------------------------------------------
# The batch entry screen: no wrong line is written, and keying goes on


@pytest.fixture
def batch_setup(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    first, second = accounts(2, due_cents=lambda i: (1243, 4567)[i])
    batch = open_batch(msr, 5, 10_000)
    return make_app(sqlite_db, msr, tmp_path), batch, first, second


@pytest.mark.parametrize("enter_after_truncated", [True, False])
async def test_truncated_scan_then_the_next_scan_writes_nothing(batch_setup, enter_after_truncated):
    app, batch, first, second = batch_setup
    scan1, scan2 = make_scan_line(first.number, 1243), make_scan_line(second.number, 4567)
    truncated = scan1[:20]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, batch.id)
        form = screen.form
        keys = [*truncated, *(["enter"] if enter_after_truncated else []), *scan2, "enter"]
        await press_batch(pilot, *keys)
        assert db_lines(batch.id) == []
        assert form.locked
        if enter_after_truncated:
            assert form.held_keys == 22
            assert form.error_text == ("Scan line has 20 digits, expected 21 (truncated?). 22 keys typed after "
                                       "it were not used. Esc to go on")
        else:  # the 22nd digit (a barcode read's length) filled the field; the 23rd is refused, never read
            assert form.held_keys == 19
            assert form.error.startswith("Account: more than 22 digits")
        await press_batch(pilot, "escape", scan2, "enter")
        assert db_lines(batch.id) == [(str(second.number), 4567, "", "scanned")]
        assert not form.locked and form.values == {"account": "", "amount": "", "check_no": ""}


async def test_refused_amount_holds_the_rest_of_the_stub_and_the_next(batch_setup):
    app, batch, first, second = batch_setup
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, batch.id)
        form = screen.form
        rest = expand("12.43\r5001\r", f"{second.number}\r", "45.67\r5002\r")
        await press_batch(pilot, f"{first.number}\r", "0", "enter", *rest)
        assert db_lines(batch.id) == []
        assert form.locked and form.held_keys == len(rest)
        assert form.values["amount"] == "0.00" and form.values["check_no"] == ""
        await press_batch(pilot, "escape")  # Reset: the amount is cleared, the account kept
        assert form.current == "amount" and form.values["account"] == str(first.number)
        await press_batch(pilot, "12.43\r5001\r", f"{second.number}\r", "45.67\r5002\r")
        assert db_lines(batch.id) == [(str(first.number), 1243, "5001", "keyed"),
                                      (str(second.number), 4567, "5002", "keyed")]


@pytest.mark.parametrize("field", ["account", "amount"])
async def test_multi_line_paste_is_refused_whole(batch_setup, field):
    app, batch, first, second = batch_setup
    csv = f"{first.number},12.43\n{second.number},45.67\n" if field == "account" else "12.43\n45.67\n"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, batch.id)
        form = screen.form
        if field == "amount":
            await press_batch(pilot, f"{first.number}\r")
        form.post_message(events.Paste(csv))
        send_burst(app, expand("5001\r"))
        await settle(pilot)
        assert db_lines(batch.id) == []
        assert form.locked and form.current == field and "a paste of 2 lines is refused" in form.error
        assert form.held_keys == 5
        await press_batch(pilot, "escape", *([f"{first.number}\r"] if field == "account" else []), "12.43\r5001\r")
        assert db_lines(batch.id) == [(str(first.number), 1243, "5001", "keyed")]


async def test_esc_then_digit_as_alt_digit_clears_then_keys(batch_setup):
    app, batch, first, second = batch_setup
    number = str(first.number)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, batch.id)
        # A wrong account half keyed, Esc and the right one typed at once: the terminal sends alt+<digit>.
        send_burst(app, [*"999", f"alt+{number[0]}", *number[1:], "enter", *"12.43", "enter", *"5001", "enter"])
        await settle(pilot, lambda: screen.form.commits >= 1)
        await pilot.app.workers.wait_for_complete()
        assert db_lines(batch.id) == [(number, 1243, "5001", "keyed")]
        # Locked by a refused amount: alt+digit is Reset, then the digit in the amount.
        send_burst(app, [*str(second.number), "enter", "x", "alt+4", *"5.67", "enter", *"5002", "enter"])
        await settle(pilot, lambda: screen.form.commits >= 2)
        assert db_lines(batch.id)[1:] == [(str(second.number), 4567, "5002", "keyed")]


async def test_esc_then_digit_read_as_one_key_by_the_terminal_parser():
    """Textual reads "\\x1b1" (Esc, then 1 within the escape delay) as the key "¡": Esc then 1 in a form."""
    from textual._xterm_parser import XTermParser

    [esc_one] = [e for e in XTermParser().feed("\x1b1") if isinstance(e, events.Key)]
    assert esc_one.character == "¡"
    app = FormApp()
    async with app.run_test() as pilot:
        for key in ["9", "9", "¡", *"23457", "enter", "x", "¡", *"2.5", "enter", "enter"]:
            if key == "¡":
                event = events.Key(esc_one.key, esc_one.character)  # as the parser made it
            else:
                event = events.Key(key, "\r" if key == "enter" else key)
            event.set_sender(app)
            app._driver.send_message(event)
        await settle(pilot)
        assert app.committed == [{"account": "123457", "amount": "12.50", "check_no": ""}]
