"""EntryForm: type-ahead bursts, the 5250 keys, messages at the field, snapshot.

The burst tests send every key event to the App before awaiting anything,
the way Textual's driver delivers a burst read from the terminal;
``pilot.press`` waits for idle between keys and would hide misrouting.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from kec_tui.widgets.entry_form import SUBMIT, FieldSpec, Record, SubmitResult, parse_date
from tests.support.entry_form import FormApp, account_no, amount_due, payment_fields, press
from tests.support.keys import send_burst, settle


def payment_burst(records: int) -> tuple[list[str], list[Record]]:
    """Keys for ``records`` mail payments, three patterns mixed, and the records expected."""
    keys: list[str] = []
    expected: list[Record] = []
    for i in range(records):
        account = account_no(10000 + 7 * i)
        check = str(1000 + i)
        if i % 3 == 0:  # account, Enter takes the amount due, check number, Enter
            keys += [*account, "enter", "enter", *check, "enter"]
            expected.append({"account": account, "amount": amount_due(account), "check_no": check})
        elif i % 3 == 1:  # account, keyed amount, keypad + (Field Exit), Enter: no check number
            amount = f"{i + 1}.{i % 100:02d}"
            keys += [*account, "tab", *amount, "plus", "enter"]
            expected.append({"account": account, "amount": amount, "check_no": ""})
        else:  # a mis-keyed check digit, refused (locked); Esc (Reset); the right number
            wrong = account[:-1] + str((int(account[-1]) + 1) % 10)
            keys += [*wrong, "enter", "escape", *account, "enter", "enter", *check, "enter"]
            expected.append({"account": account, "amount": amount_due(account), "check_no": check})
    return keys, expected


async def test_burst_of_200_records_lands_exactly_as_keyed():
    keys, expected = payment_burst(200)
    app = FormApp()
    async with app.run_test() as pilot:
        send_burst(app, keys)  # the whole burst is queued before anything runs
        await settle(pilot, lambda: len(app.committed) >= len(expected))
        assert app.committed == expected
        assert app.submitted_messages == expected
        assert app.form.values == {"account": "", "amount": "", "check_no": ""}
        assert app.form.current == "account"
        assert app.form.error is None
        assert app.form.previous == expected[-1]


class InputForm(App):
    """The defect this widget exists to avoid: Inputs, focus moved on Enter."""

    NAMES = ("account", "amount", "check_no")

    def __init__(self) -> None:
        super().__init__()
        self.committed: list[Record] = []

    def compose(self) -> ComposeResult:
        for name in self.NAMES:
            yield Input(id=name)

    def on_mount(self) -> None:
        self.query_one("#account").focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(message.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        self.committed.append({i.id: i.value for i in inputs})
        for i in inputs:
            i.value = ""
        inputs[0].focus()


async def test_input_widget_form_misroutes_the_same_burst():
    records = [
        {"account": account_no(10000 + 7 * i), "amount": f"{i + 1}.00", "check_no": str(1000 + i)}
        for i in range(20)
    ]
    keys = [k for r in records for k in (*r["account"], "enter", *r["amount"], "enter", *r["check_no"], "enter")]
    app = InputForm()
    async with app.run_test() as pilot:
        send_burst(app, keys)
        await settle(pilot)
        # Every key went to the field focused when the App forwarded it: the first.
        assert sum(record in app.committed for record in records) < len(records)
        assert len(app.query_one("#account", Input).value) > 8


# --------------------------------------------------------------------------
# Each key


async def test_field_exit_keys_default_amount_and_submit():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "tab")
        assert app.form.current == "amount"
        assert app.form.error is None
        await press(pilot, "enter")  # empty: takes the amount due
        assert app.form.values["amount"] == amount_due("123457")
        assert app.form.current == "check_no"
        await press(pilot, *"77", "plus")  # keypad + is Field Exit too; last field submits
        assert app.committed == [{"account": "123457", "amount": amount_due("123457"), "check_no": "77"}]
        assert app.form.current == "account"
        assert app.form.values == {"account": "", "amount": "", "check_no": ""}


async def test_wrong_check_digit_locks_until_reset_clears_the_field():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"123458", "enter")
        assert app.form.current == "account"
        assert app.form.error == "Check digit is wrong" and app.form.locked
        assert app.form.values["account"] == "123458"  # shown as keyed until Reset
        await press(pilot, "ctrl+e")  # Erase Input is held too
        assert app.form.values["account"] == "123458" and app.form.held_keys == 1
        await press(pilot, "escape")  # Reset
        assert app.form.values["account"] == "" and not app.form.locked
        assert app.form.error is None
        await press(pilot, *"123457", "enter")
        assert app.form.current == "amount"


async def test_editing_keys_inside_a_field():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"12457", "left", "left", "left", "3")
        assert app.form.values["account"] == "123457"
        await press(pilot, "home", "delete", "end", "backspace")
        assert app.form.values["account"] == "2345"
        await press(pilot, "home", "right", "backspace", "9")
        assert app.form.values["account"] == "9345"


async def test_mandatory_entry_refused_with_message():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, "enter")
        assert app.form.current == "account"
        assert app.form.error == "Account is required"


async def test_field_back_keeps_values():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", *"12.50", "enter")
        assert app.form.current == "check_no"
        await press(pilot, "shift+tab")
        assert app.form.current == "amount"
        await press(pilot, "up")
        assert app.form.current == "account"
        await press(pilot, "up")  # already on the first field
        assert app.form.current == "account"
        assert app.form.values == {"account": "123457", "amount": "12.50", "check_no": ""}


async def test_dup_copies_previous_record_and_exits():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, "ctrl+d")  # Dup is not allowed on the account field
        assert app.form.error == "Account: Dup is not allowed here" and app.form.locked
        await press(pilot, "escape", *"123457", "enter")
        await press(pilot, "f4")
        assert app.form.error == "Dup: no previous record"
        await press(pilot, "escape", *"20", "enter", *"501", "enter")
        await press(pilot, *account_no(10000), "enter", "ctrl+d")
        assert app.form.values["amount"] == "20.00"
        assert app.form.current == "check_no"
        await press(pilot, "f4", "enter")  # Dup on the last field submits
        assert app.committed[-1] == {"account": account_no(10000), "amount": "20.00", "check_no": "501"}


async def test_field_minus_negative_amount_and_the_validator_decides():
    app = FormApp()  # amount must be positive
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", "minus")
        assert app.form.error == "Amount: key the amount, then Field-"
        await press(pilot, "escape", *"12.34", "minus")
        assert app.form.current == "amount"
        assert app.form.values["amount"] == "-12.34"
        assert app.form.error == "Amount must be more than zero"
        await press(pilot, "escape", *"12.34", "enter")
        assert app.form.values["amount"] == "12.34"
        assert app.form.current == "check_no"
        await press(pilot, "minus")
        assert app.form.error == "Check no: Field- is for amounts"

    credits = FormApp(fields=payment_fields(validate=None))  # an adjustment screen allows credits
    async with credits.run_test() as pilot:
        await press(pilot, *"123457", "enter", *"5", "minus")
        assert credits.form.values["amount"] == "-5.00"
        assert credits.form.current == "check_no"


async def test_auto_advance_when_mandatory_fill_field_is_full():
    fields = [
        FieldSpec("route", "Route", "digits", 3, mandatory_fill=True),
        FieldSpec("reading", "Reading", "digits", 6, mandatory_entry=True),
    ]
    app = FormApp(fields=fields)
    async with app.run_test() as pilot:
        await press(pilot, *"12", "enter")
        assert app.form.error == "Route: fill all 3 positions"
        await press(pilot, "escape", *"123")  # full: Field Exit by itself
        assert app.form.current == "reading"
        await press(pilot, *"045678", "enter")
        assert app.committed == [{"route": "123", "reading": "045678"}]


async def test_tenkey_implied_decimal_and_toggle():
    app = FormApp(tenkey=True)
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", *"12345")
        assert app.form.values["amount"] == "123.45"
        await press(pilot, ".")
        assert "implied" in app.form.error
        await press(pilot, "escape", *"1234")
        assert app.form.values["amount"] == "12.34"
        app.form.toggle_tenkey()  # the amount keyed so far is kept
        assert app.form.values["amount"] == "12.34"
        await press(pilot, "ctrl+e", *"123", "enter")
        assert app.form.values["amount"] == "123.00"
        await press(pilot, "ctrl+t")  # the 10-key binding
        assert app.form.tenkey
        assert app.form.values["amount"] == "123.00"


async def test_letters_in_money_refused_and_nothing_lost():
    app = FormApp()
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", *"12", "x", *"34")
        assert app.form.values["amount"] == "12.00"  # the keys after the letter are held
        assert app.form.held_keys == 2
        await press(pilot, "escape", *"12.5", "q")
        assert app.form.error == "Amount: digits and one decimal point only"
        assert app.form.values["amount"] == "12.50"
        await press(pilot, "escape", *"12.57", "7")  # a third decimal is refused too
        assert app.form.values["amount"] == "12.57"
        assert "two decimals" in app.form.error


async def test_paste_is_taken_whole_or_refused_whole():
    app = FormApp()
    async with app.run_test() as pilot:
        app.form.post_message(events.Paste("123457\n"))
        await pilot.pause()
        assert app.form.current == "amount"
        assert app.form.values["account"] == "123457"
        app.form.post_message(events.Paste("9" * 10_000))
        await pilot.pause()
        assert app.form.values["amount"] == ""  # refused whole, not cut to the field
        assert app.form.error == "Amount takes 9 characters: the paste has 10,000, refused"
        await press(pilot, "escape")
        app.form.post_message(events.Paste("ab"))
        await pilot.pause()
        assert app.form.values["amount"] == ""
        assert app.form.error == "Amount: digits and one decimal point only: the paste is refused"


async def test_submit_error_keeps_values_and_moves_to_named_field():
    def refuse(record: Record) -> SubmitResult:
        return SubmitResult("amount", "Batch is closed for this amount")

    app = FormApp(on_submit=refuse)
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", *"10", "enter", *"9", "enter")
        assert app.form.current == "amount"
        assert app.form.error == "Batch is closed for this amount"
        assert app.form.values == {"account": "123457", "amount": "10.00", "check_no": "9"}
        assert app.form.previous is None


async def test_submit_exception_is_a_message_not_a_crash():
    def explode(record: Record) -> None:
        raise RuntimeError("database is locked")

    app = FormApp(on_submit=explode)
    async with app.run_test() as pilot:
        await press(pilot, *"123457", "enter", "enter", "enter")
        assert app.form.error == "Not saved: database is locked"
        assert app.form.current == "check_no"
        assert app.form.values["account"] == "123457"
        assert app.return_code is None and app.is_running  # no traceback, still keying


async def test_after_exit_scan_line_fills_fields_and_submits():
    def scan(name: str, record: Record) -> str | None:
        if name == "account" and len(record["account"]) > 8:  # scan line: account + cents
            line = record["account"]
            record["account"] = line[:6]
            record["amount"] = f"{Decimal(int(line[6:])).scaleb(-2):f}"
            return SUBMIT
        return None

    fields = [FieldSpec("account", "Account", "scan", 21, mandatory_entry=True)] + payment_fields()[1:]
    app = FormApp(fields=fields, after_exit=scan)
    async with app.run_test() as pilot:
        send_burst(app, [*"123457000000004567", "enter", *"123457", "enter", "enter", "enter"])
        await settle(pilot, lambda: len(app.committed) >= 2)
        assert app.committed == [
            {"account": "123457", "amount": "45.67", "check_no": ""},
            {"account": "123457", "amount": amount_due("123457"), "check_no": ""},
        ]


async def test_choice_and_date_fields():
    fields = [
        FieldSpec("method", "Paid by", "choice", 5, choices=("Check", "Cash", "Money order")),
        FieldSpec("paid_on", "Paid on", "date", 10, mandatory_entry=True),
    ]
    app = FormApp(fields=fields)
    async with app.run_test() as pilot:
        await press(pilot, "c")
        assert app.form.values["method"] == "Check"
        await press(pilot, "c")  # the same letter again: the next choice with it
        assert app.form.values["method"] == "Cash"
        await press(pilot, "space")
        assert app.form.values["method"] == "Money order"
        await press(pilot, "x")
        assert app.form.error == "Paid by: one of Check, Cash, Money order"
        await press(pilot, "escape")
        assert app.form.values["method"] == ""
        await press(pilot, "m")
        await press(pilot, "enter", *"1125", "enter")
        assert app.form.error == "Paid on: not a date (MMDDYY or MM/DD/YYYY)"
        await press(pilot, "escape", *"013125", "enter")
        assert app.committed == [{"method": "Money order", "paid_on": "01/31/2025"}]


async def test_a_choice_keyed_whole_is_taken_letter_by_letter():
    """The codes a prompt lists are keyed whole: "SL" is SL (its L once selected LGS), "RES" is RES
    (its E was refused); a first letter again still cycles, a letter no choice takes is refused."""
    fields = [FieldSpec("schedule", "Rate schedule", "choice", 8, choices=("IRR", "LGS", "RES", "SGS", "SL")),
              FieldSpec("kwh", "kWh", "digits", 8, mandatory_entry=True)]
    app = FormApp(fields=fields)
    async with app.run_test() as pilot:
        for keyed, chosen in (("sl", "SL"), ("res", "RES"), ("sgs", "SGS"), ("s", "SGS"), ("ss", "SL"),
                              ("lg", "LGS"), ("ca", None)):
            await press(pilot, "backspace", *keyed)
            assert app.form.values["schedule"] == (chosen or "")
            if chosen is None:
                assert app.form.error == "Rate schedule: one of IRR, LGS, RES, SGS, SL"
                await press(pilot, "escape")
        send_burst(app, [*"RES", "enter", *"800", "enter", *"SL", "enter", *"1", "enter"])
        await settle(pilot, lambda: len(app.committed) >= 2)
        assert app.committed == [{"schedule": "RES", "kwh": "800"}, {"schedule": "SL", "kwh": "1"}]
        # A code no choice spells, in a burst: refused at its X, the keys behind it held, nothing committed.
        send_burst(app, [*"SX", "enter", *"900", "enter"])
        await settle(pilot)
        assert app.form.locked and app.form.held_keys == 5 and len(app.committed) == 2
        assert "5 keys typed after it were not used" in app.form.error_text


async def test_clear_record_and_public_api():
    app = FormApp()
    async with app.run_test() as pilot:
        form = app.form
        form.set_value("account", "123457")
        form.focus_field("amount")
        form.set_info("JANE MEMBER  12 Oak Rd  due 45.67")
        assert form.current == "amount" and form.info.startswith("JANE")
        await press(pilot, *"1.5")
        assert form.values["amount"] == "1.50"
        await press(pilot, "escape")  # Clear record
        assert form.values == {"account": "", "amount": "", "check_no": ""}
        assert form.current == "account" and form.info == ""


async def test_keymap_rebinds_by_id():
    app = FormApp()
    async with app.run_test() as pilot:
        app.set_keymap({"entry_form.erase_input": "ctrl+x"})
        await press(pilot, *"12", "ctrl+x")
        assert app.form.values["account"] == ""
        await press(pilot, *"12", "ctrl+e")  # no longer Erase Input
        assert app.form.values["account"] == "12"


def test_snapshot_error_at_80x24(snap_compare):
    async def key_a_bad_account(pilot) -> None:
        await pilot.press(*"123458", "enter")

    app = FormApp()
    assert snap_compare(app, terminal_size=(80, 24), run_before=key_a_bad_account)


@pytest.mark.parametrize("text,day", [
    ("121525", date(2025, 12, 15)), ("112826", date(2026, 11, 28)), ("01022026", date(2026, 1, 2)),
    ("12/15/25", date(2025, 12, 15)), ("2026-11-30", date(2026, 11, 30)),
])
def test_six_and_eight_digit_dates_are_read_by_their_length(text, day):
    # strptime's %Y takes two digits too: "121525" must not be 1/2/1525.
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["1125", "1315 25", "133125", "00000000"])
def test_what_is_not_a_date(text):
    with pytest.raises(ValueError):
        parse_date(text)
