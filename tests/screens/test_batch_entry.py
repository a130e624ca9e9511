"""The heads-down batch entry screen: keying, scanning, warnings, bad input, corrections, posting, reopening.

Keys are sent as bursts through the driver path (see test_batch_support.press)."""
from __future__ import annotations

import datetime as dt

import peewee
import pytest
from textual.widgets import DataTable, Input

from kec_tui import db
from kec_tui.checkdigit import make_scan_line
from kec_tui.screens.batch_entry import BatchEntryScreen
from kec_tui.screens.line_edit import LineEditScreen
from kec_tui.services import audit, batches, operators
from kec_tui.widgets.dialogs import ConfirmScreen, MessageScreen
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.prompt import PromptScreen
from tests import factories
from tests.support.batch import accounts, db_lines, entry_screen, expand, make_app, open_batch, press
from tests.support.keys import key_event, settle_workers


@pytest.fixture
def msr(sqlite_db):
    return operators.create("msr1", "Pat Keyer", "msr")


@pytest.fixture
def boss(sqlite_db):
    return operators.create("boss", "Sam Boss", "supervisor")


@pytest.fixture
def accts(sqlite_db):
    return accounts(4)


def bad_digit(number: int) -> str:
    return str(number)[:-1] + str((number + 1) % 10)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


# ---- keying ---------------------------------------------------------------------------------

async def test_key_a_line_shows_member_at_once_and_enter_takes_amount_due(msr, accts, tmp_path, sqlite_db):
    a = accts[0]
    b = open_batch(msr, 2, 10_000 + 5_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        form = screen.form
        await press(pilot, str(a.number), "enter")
        assert form.current == "amount" and form.error is None
        assert "Test000, Member0" in form.info and "100 Main St" in form.info and "Due $100.00" in form.info
        await press(pilot, "enter")  # empty amount: the amount due
        assert form.values["amount"] == "100.00" and form.current == "check_no"
        await press(pilot, "1001\r")
        assert db_lines(b.id) == [(str(a.number), 10_000, "1001", "keyed")]  # committed on Enter
        assert form.values == {"account": "", "amount": "", "check_no": ""} and form.current == "account"
        assert "Keyed 1 / 2" in text_of(screen, "#totals") and "Diff -1  -$50.00" in text_of(screen, "#totals")
        await press(pilot, str(accts[1].number), "\r50\r\r")
        assert db_lines(b.id)[-1] == (str(accts[1].number), 5_000, "", "keyed")
        assert "BALANCED" in text_of(screen, "#totals")
        assert "F10 posts" in text_of(screen, "#message")
        assert screen.query_one("#lines", DataTable).row_count == 2


async def test_scan_line_writes_the_line_with_one_enter(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        scan = make_scan_line(accts[2].number, 10_274)
        await press(pilot, scan, "enter")
        assert db_lines(b.id) == [(str(accts[2].number), 10_274, "", "scanned")]
        assert screen.form.current == "account" and screen.form.error is None
        table = screen.query_one("#lines", DataTable)
        assert "scan" in str(table.get_row_at(0)[-1])
        # a stub with nothing due: account filled, the amount keyed
        zero = make_scan_line(accts[3].number, 0)
        await press(pilot, zero, "enter")
        assert screen.form.current == "amount" and screen.form.values["account"] == str(accts[3].number)
        assert "key the amount" in screen.form.info
        await press(pilot, "12.34\r\r")
        assert db_lines(b.id)[-1] == (str(accts[3].number), 1_234, "", "keyed")


async def test_tenkey_mode_is_shown_and_has_implied_decimal(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, tender="cash")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        assert "10-KEY" not in text_of(screen, "#title")
        assert "check no. skipped" in text_of(screen, "#title")  # a cash batch asks no check number
        await press(pilot, "ctrl+t")
        assert "10-KEY" in text_of(screen, "#title")
        await press(pilot, str(accts[0].number), "\r", "4567", "\r")  # Enter on the amount writes (cash)
        assert db_lines(b.id) == [(str(accts[0].number), 4_567, "", "keyed")]


async def test_check_number_switch_record_advance_and_dup(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 9, 90_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        n0, n1, n2, n3 = (str(a.number) for a in accts)
        await press(pilot, n0, "\r", "11.11", "\r", "555", "\r")
        await press(pilot, n1, "\r", "22.22", "\r", "ctrl+d")  # Dup: the previous check no., and the line is written
        await press(pilot, n2, "asterisk")  # Record Advance from the account: amount due, no check no.
        await press(pilot, n3, "\r", "33.33", "asterisk")
        assert db_lines(b.id) == [(n0, 1_111, "555", "keyed"), (n1, 2_222, "555", "keyed"),
                                  (n2, 10_274, "", "keyed"), (n3, 3_333, "", "keyed")]
        await press(pilot, "ctrl+k")
        assert "check no. skipped" in text_of(screen, "#title")
        await press(pilot, n0, "\r", "44.44", "\r")
        assert db_lines(b.id)[-1] == (n0, 4_444, "", "keyed")


# ---- bad input: a clear message at the field, nothing lost -----------------------------------

async def test_bad_input_is_refused_at_the_field_and_nothing_is_lost(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    a = accts[0]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        form = screen.form
        # a wrong check digit in an account
        await press(pilot, bad_digit(a.number), "\r")
        assert form.current == "account" and "check digit does not match" in form.error
        assert form.values["account"] == bad_digit(a.number)
        # a wrong check digit in a scan line
        scan = make_scan_line(a.number, 10_000)
        wrong = scan[:-1] + str((int(scan[-1]) + 1) % 10)
        await press(pilot, "escape", wrong, "\r")  # Reset clears the refused field
        assert "Scan line check digit does not match" in form.error and form.values["account"] == wrong
        # a truncated scan line
        await press(pilot, "escape", scan[:15], "\r")
        assert "has 15 digits, expected 21 (truncated?)" in form.error
        # letters and symbols in an amount: the first refused locks, the keys after it are held
        await press(pilot, "escape", str(a.number), "\r", "12", "x", "$", "3.4")
        assert form.error == "Amount: digits and one decimal point only"
        assert form.values["amount"] == "12.00" and form.held_keys == 4
        await press(pilot, "escape", "123.4")  # Reset: the amount cleared, the account kept
        assert form.values == {"account": str(a.number), "amount": "123.40", "check_no": ""}
        # over $99,999.99
        await press(pilot, "ctrl+e", "100000", "\r")
        assert form.current == "amount" and "over the $99,999.99 limit" in form.error
        # negative (Field-)
        await press(pilot, "escape", "12.50", "minus")
        assert form.current == "amount" and "cannot be negative" in form.error
        assert form.values["amount"] == "-12.50"
        assert db_lines(b.id) == []  # nothing written ...
        await press(pilot, "escape", "12.50", "\r\r")
        assert db_lines(b.id) == [(str(a.number), 1_250, "", "keyed")]  # ... until the line is right
        assert app.is_running


async def test_unknown_account_and_nothing_due(msr, tmp_path, sqlite_db):
    credit = factories.account(bills=(5_000,), payments=(7_000,))
    b = open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, "123457\r")
        assert screen.form.error == "No account 123457"
        await press(pilot, "escape", str(credit.number), "\r\r")
        assert "nothing is due" in screen.form.error and screen.form.current == "amount"


# ---- warnings at the line ------------------------------------------------------------------------

async def test_duplicate_warning_holds_and_typed_ahead_keys_never_acknowledge(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    n0, n1 = str(accts[0].number), str(accts[1].number)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        form = screen.form
        # One burst: a line, the same stub again (a duplicate), then the next stub typed ahead,
        # Enter included: none of it may acknowledge the warning or slip into the held line.
        await press(pilot, n0, "\r25\r77\r", n0, "\r25\r77\r", n1, "\r30\r88\r")
        assert db_lines(b.id) == [(n0, 2_500, "77", "keyed")]
        assert form.held is not None and [w.code for w in form.held[0]] == ["duplicate"]
        assert form.values == {"account": n0, "amount": "25.00", "check_no": "77"}
        assert form.current == "amount" and form.error.startswith("Duplicate?")
        assert form.locked and form.held_keys == len(n1) + 7  # the next stub: account, Enter, 30, Enter, 88, Enter
        bar = text_of(screen, "#warning")
        assert "Line 1 already has $25.00" in bar and f"{len(n1) + 7} keys were typed after this warning" in bar
        await press(pilot, "enter", "enter")  # Enter is never the acknowledgement
        assert len(db_lines(b.id)) == 1 and form.held is not None
        await press(pilot, "f8")
        lines = batches.lines(b.id)
        assert [(ln.amount_cents, ln.check_no, ln.warnings_ack) for ln in lines] == [(2_500, "77", ""),
                                                                                   (2_500, "77", "duplicate")]
        assert form.held is None and form.current == "account" and form.values["account"] == ""
        assert not screen.query_one("#warning").has_class("shown")
        await press(pilot, n1, "\r30\r88\r")  # the stub typed ahead, keyed again
        assert db_lines(b.id)[-1] == (n1, 3_000, "88", "keyed")


async def test_esc_resets_a_held_line_to_change_it(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    n0 = str(accts[0].number)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, n0, "\r25\r\r", n0, "\r25\r\r")
        assert screen.form.held
        await press(pilot, "escape")  # Reset: the refused amount is cleared, the account kept
        assert screen.form.held is None and not screen.form.locked
        assert screen.form.current == "amount" and screen.form.values["account"] == n0
        assert screen.form.values["amount"] == ""
        await press(pilot, "52\r\r")  # it was 52, not 25: no warning now
        assert [c for _, c, _, _ in db_lines(b.id)] == [2_500, 5_200]
        await press(pilot, n0, "\r25\r\r", "escape", "escape")  # Esc twice: the held line is cleared
        assert screen.form.values["account"] == "" and len(db_lines(b.id)) == 2


async def test_cash_only_overpayment_and_closed_account(msr, tmp_path, sqlite_db):
    cash_only = factories.account(bills=(8_000,), cash_only_until=dt.date.today() + dt.timedelta(days=90))
    small = factories.account(bills=(2_000,))
    final = factories.account(bills=(3_000,), status="final")
    b = open_batch(msr, 3, 100_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        form = screen.form
        await press(pilot, str(cash_only.number), "\r")
        assert "CASH ONLY" in form.info  # seen at once, before the amount
        await press(pilot, "\r\r")
        assert form.held and form.current == "account" and form.error.startswith("CASH ONLY!")
        await press(pilot, "f8")
        await press(pilot, str(small.number), "\r900\r\r")
        assert form.held and form.error.startswith("Far above due!")
        await press(pilot, "f8")
        await press(pilot, str(final.number), "\r")
        assert "FINAL-BILLED" in form.info
        await press(pilot, "\r\r")
        assert form.held and form.error.startswith("Closed account!")
        await press(pilot, "f8")  # a closed account asks why (unapplied cash)
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "enter")
        assert "reason is required" in app.screen.query_one(LineInput).error
        await press(pilot, "moved", "escape")  # the refusal locks the box: typed-ahead keys held, Esc resets
        assert isinstance(app.screen, PromptScreen) and app.screen.query_one(LineInput).value == ""
        await press(pilot, "moved: refund to new address", "enter")
        assert isinstance(app.screen, BatchEntryScreen)
        lines = batches.lines(b.id)
        assert [(ln.warnings_ack, ln.unapplied) for ln in lines] == [
            ("cash_only", False), ("overpayment", False), ("closed_account: moved: refund to new address", True)]
        assert lines[2].unapplied_reason == "moved: refund to new address"


# ---- corrections ------------------------------------------------------------------------------

async def test_edit_void_and_find_lines(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 3, 10_000)
    n = [str(a.number) for a in accts]
    for i, cents in enumerate((1_000, 2_000, 3_000)):
        batches.key_line(msr, b.id, n[i], cents, f"{i + 1}")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        table = screen.query_one("#lines", DataTable)
        await press(pilot, "f6")
        assert table.has_focus and table.cursor_row == 2
        await press(pilot, "up", "enter")  # line 2 into the edit modal
        assert isinstance(app.screen, LineEditScreen)
        edit = app.screen.query_one("PaymentForm")
        assert edit.values == {"account": n[1], "amount": "20.00", "check_no": "2"}
        await press(pilot, "\r", "ctrl+e", "40\r\r")
        assert isinstance(app.screen, BatchEntryScreen)
        assert db_lines(b.id)[1] == (n[1], 4_000, "2", "keyed")
        assert "$80.00 / $100.00" in text_of(screen, "#totals")
        changes = [(r.action, r.field, r.after) for r in audit.for_account(accts[1].id)]
        assert ("batch_line.update", "amount", "40.00") in changes
        # void line 1 with a reason
        await press(pilot, "up", "f9")
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "stub keyed twice", "enter")
        assert [ln.status for ln in batches.lines(b.id)] == ["void", "active", "active"]
        assert "Keyed 2 / 3" in text_of(screen, "#totals") and "1 void" in text_of(screen, "#totals")
        # find by amount, by account, by #line
        await press(pilot, "f7")
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "30.00", "enter")
        assert table.cursor_row == 2 and "1 found: line 3" in text_of(screen, "#message")
        for query, row in ((n[1], 1), ("#1", 0)):
            await press(pilot, "f7")
            await press(pilot, query, "enter")  # the last search is selected: typing replaces it
            assert table.cursor_row == row, text_of(screen, "#message")
        await press(pilot, "f7")
        await press(pilot, "99.99", "enter")
        assert "No line matches" in text_of(screen, "#message")
        await press(pilot, "escape")  # back to keying
        assert screen.form.has_focus


async def test_edit_in_modal_warns_like_keying(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 2, 10_000)
    n0 = str(accts[0].number)
    batches.key_line(msr, b.id, n0, 1_000)
    batches.key_line(msr, b.id, n0, 2_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await entry_screen(pilot, b.id)
        # Keys that move focus (F6, Enter opening the modal) are pressed apart: keys typed ahead of a
        # focus change go to the widget focused when the App forwards them (the Input-form defect).
        await press(pilot, "f6")
        await press(pilot, "enter")
        await press(pilot, "\r", "ctrl+e", "10\r\r")  # line 2 becomes a duplicate of line 1
        edit = app.screen.query_one("PaymentForm")
        assert edit.held and edit.error.startswith("Duplicate?")
        await press(pilot, "f8")
        assert isinstance(app.screen, BatchEntryScreen)
        assert [ln.amount_cents for ln in batches.lines(b.id)] == [1_000, 1_000]
        await press(pilot, "enter")
        await press(pilot, "escape")  # Esc in the modal cancels
        assert isinstance(app.screen, BatchEntryScreen)


# ---- balance and post ----------------------------------------------------------------------

async def test_post_a_balanced_batch_writes_reports_and_shows_paths(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 2, 3_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, str(accts[0].number), "\r10\r\r", str(accts[1].number), "\r20\r\r")
        await press(pilot, "f10")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, MessageScreen)
        shown = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        reports = tmp_path / "reports"
        for name in (f"batch-{b.number}-report.txt", f"batch-{b.number}-report.pdf", f"batch-{b.number}-deposit.csv"):
            assert (reports / name).exists() and name in shown
        assert batches.get_batch(b.id).status == "posted"
        entries = db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment",
                                                db.LedgerEntry.reference.startswith(f"B{b.number}-"))
        assert sorted(-e.amount_cents for e in entries) == [1_000, 2_000]
        assert not screen.form.display
        await press(pilot, "enter")  # closes the paths; the entry screen stays (pushed directly here)
        await press(pilot, "f10")
        assert batches.get_batch(b.id).status == "posted"


async def test_a_database_that_does_not_answer_while_posting_is_a_message_not_a_traceback(
        msr, accts, tmp_path, sqlite_db, monkeypatch):
    """The posting worker opens its own connection; when the server refuses it ("too many clients"),
    the screen says so, nothing is posted, and F10 again posts once."""
    b = open_batch(msr, 2, 3_000)
    app = make_app(sqlite_db, msr, tmp_path)
    real_post = batches.post_batch

    def refused(*args, **kwargs):
        raise peewee.OperationalError("FATAL: sorry, too many clients already")

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, str(accts[0].number), "\r10\r\r", str(accts[1].number), "\r20\r\r")
        monkeypatch.setattr(batches, "post_batch", refused)
        await press(pilot, "f10", "enter")
        await settle_workers(pilot)
        assert app.screen is screen and batches.get_batch(b.id).status != "posted"
        assert "Posting did not finish: FATAL: sorry, too many clients already" in text_of(screen, "#message")
        monkeypatch.setattr(batches, "post_batch", real_post)
        await press(pilot, "f10", "enter")
        await settle_workers(pilot)
        assert batches.get_batch(b.id).status == "posted"


async def test_post_refused_empty_and_out_of_balance_then_supervisor_accepts(msr, boss, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 2, 3_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, "f10")
        assert "is empty: nothing to post" in text_of(screen, "#message")
        await press(pilot, str(accts[0].number), "\r10\r")
        await press(pilot, "f10")  # a half-keyed line in the form
        assert "Finish the line in the form" in text_of(screen, "#message")
        await press(pilot, "\r", "f10")
        message = text_of(screen, "#message")
        assert "Out of balance" in message and "only a supervisor may post" in message
        assert batches.get_batch(b.id).status == "out_of_balance" and "OUT OF BALANCE" in text_of(screen, "#title")
    app = make_app(sqlite_db, boss, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, "f10")
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "one stub went back to the member", "enter")
        assert isinstance(app.screen, MessageScreen)
        posted = batches.get_batch(b.id)
        assert posted.status == "posted" and posted.accepted_by == "boss"
        assert "Difference accepted: -$20.00" in "\n".join(str(w.render()) for w in app.screen.query("Static"))


# ---- reopening --------------------------------------------------------------------------------

async def test_batch_list_reopens_a_batch_left_open_and_keying_continues(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 3, 6_000)
    n = [str(a.number) for a in accts]
    batches.key_line(msr, b.id, n[0], 1_000, "71")
    batches.key_line(msr, b.id, n[1], 2_000, "72")
    batches.balance_batch(msr, b.id)  # left out of balance, as a crash might leave it
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f3")
        listed = app.screen
        assert type(listed).__name__ == "BatchListScreen"
        table = listed.query_one(DataTable)
        assert table.row_count == 1 and "out of bal" in str(table.get_row_at(0)[3])
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, BatchEntryScreen) and screen.form.has_focus
        assert batches.get_batch(b.id).status == "open"
        assert screen.query_one("#lines", DataTable).row_count == 2
        assert "Keyed 2 / 3" in text_of(screen, "#totals")
        await press(pilot, n[2], "\r30\r", "ctrl+d")  # Dup: the check no. of the last line before the reopen
        assert db_lines(b.id)[-1] == (n[2], 3_000, "72", "keyed")
        await press(pilot, "f3")  # back to the list, which shows the change
        assert app.screen is listed and "BALANCED" not in str(table.get_row_at(0))
        assert "3/3" in str(table.get_row_at(0)[4])


async def test_new_batch_from_the_tape(msr, tmp_path, sqlite_db):
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f3", "f5")
        form = app.screen.query_one("PaymentForm")
        await press(pilot, "\r", "x", "m", "\r")  # today; a tender that is not one: the keys after it held
        assert "one of Check, Cash, Money order" in form.error and form.held_keys == 2
        await press(pilot, "escape", "m", "\r", "0\r")
        assert "1 to 99,999" in form.error
        await press(pilot, "escape", "12\r", "1234.56\r")
        screen = app.screen
        assert isinstance(screen, BatchEntryScreen)
        b = screen.batch
        assert (b.tender, b.control_count, b.control_total_cents, b.batch_date) == ("money_order", 12, 123_456,
                                                                                   dt.date.today())
        await press(pilot, "f11")  # correct the tape
        await press(pilot, "ctrl+e", "13\r", "\r")
        assert batches.get_batch(b.id).control_count == 13 and "Keyed 0 / 13" in text_of(screen, "#totals")
        await press(pilot, "f3", "f5", "escape")  # Esc cancels a new batch
        assert type(app.screen).__name__ == "BatchListScreen"
        assert app.screen.query_one(DataTable).row_count == 1


async def test_void_an_empty_batch_and_filter(msr, accts, tmp_path, sqlite_db):
    empty = open_batch(msr)
    full = open_batch(msr, 1, 1_000)
    batches.key_line(msr, full.id, str(accts[0].number), 1_000)
    batches.post_batch(msr, full.id)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f3")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2  # unposted first
        assert str(table.get_row_at(0)[0]) == str(empty.number)
        await press(pilot, "down", "f9")
        assert "only an unposted batch with no lines" in text_of(app.screen, "#message")
        await press(pilot, "up", "f9")
        await press(pilot, "opened by mistake", "enter")
        assert batches.get_batch(empty.id).status == "void"
        await press(pilot, "f4")  # unposted only
        assert table.row_count == 0
        await press(pilot, "f4")  # posted
        assert table.row_count == 1
        await press(pilot, "enter")  # a posted batch opens to be read
        assert isinstance(app.screen, BatchEntryScreen) and not app.screen.form.display
        await press(pilot, "f12")
        assert isinstance(app.screen, MessageScreen)


async def test_help_lists_the_batch_keys(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await entry_screen(pilot, b.id)
        await press(pilot, "f1")
        shown = app.screen.as_text()
        for words in ("Mail payment batch", "F8 accepts", "Lines", "Find", "Post", "Void line", "Dup", "10-key",
                      "Write line", "Check no."):
            assert words in shown, words
        assert not any(isinstance(w, Input) for w in app.screen.query("*"))


async def test_a_large_batch_is_paged_and_find_reaches_any_line(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 250, 250 * 1_000)
    for i in range(250):
        batches.key_line(msr, b.id, str(accts[i % 4].number), 1_000 + i)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        table = screen.query_one("#lines", DataTable)
        assert table.row_count == 100 and str(table.get_row_at(99)[0]) == "250"  # the last page, newest last
        await press(pilot, "f6")
        table.move_cursor(row=0)
        await press(pilot, "up")  # at the top: the page before is loaded, the cursor stays on its line
        assert str(table.get_row_at(0)[0]) == "51" and str(table.get_row_at(table.cursor_row)[0]) == "150"
        assert table.row_count == 200
        await press(pilot, "home")
        assert str(table.get_row_at(table.cursor_row)[0]) == "1"
        await press(pilot, "end")
        assert str(table.get_row_at(table.cursor_row)[0]) == "250"
        await press(pilot, "f7")
        await press(pilot, "#3", "enter")
        assert str(table.get_row_at(table.cursor_row)[0]) == "3"
        await press(pilot, "escape")
        await press(pilot, str(accts[0].number), "\r", "99.99\r\r")  # keying brings the end back
        assert str(table.get_row_at(table.row_count - 1)[0]) == "251"


async def test_a_batch_posted_by_another_session_stops_keying(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr, 1, 1_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, str(accts[0].number), "\r10\r\r")
        batches.post_batch(msr, b.id)  # someone else, elsewhere
        await press(pilot, str(accts[1].number), "\r20\r\r")
        assert "is posted" in text_of(screen, "#message") and "not saved" in text_of(screen, "#message")
        assert not screen.form.display and "POSTED" in text_of(screen, "#title")
        assert len(db_lines(b.id)) == 1


async def test_keys_typed_before_the_screen_opened_are_not_taken_as_a_stub(msr, accts, tmp_path, sqlite_db):
    b = open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        early = [key_event(k) for k in expand("45.12\r\r")]  # the tail of a stub typed across the screen change
        screen = await entry_screen(pilot, b.id)
        for event in early:
            event.set_sender(app)
            app._driver.send_message(event)
        await press(pilot)
        assert screen.form.values["account"] == "" and db_lines(b.id) == []
        assert screen.form.error == "7 keys typed before this screen opened were not used: key that stub again"
        await press(pilot, str(accts[0].number), "\r45.12\r\r")
        assert db_lines(b.id) == [(str(accts[0].number), 4_512, "", "keyed")]


async def test_enter_typed_ahead_on_the_list_opens_the_batch_once(msr, accts, tmp_path, sqlite_db):
    open_batch(msr)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f3")
        # Textual runs a bubbled key (F5) before the table's RowSelected messages: whichever
        # reaches the list first opens, and only that one.
        await press(pilot, "enter", "enter", "f5")
        opened = [type(s).__name__ for s in app.screen_stack if type(s).__name__ in ("BatchEntryScreen",
                                                                                     "BatchFormScreen")]
        assert len(opened) == 1
        await press(pilot, "escape")
        await press(pilot, "enter", "enter")
        assert sum(isinstance(s, BatchEntryScreen) for s in app.screen_stack) == 1
