"""Type-ahead in every text box and across every screen change, each case ONE burst of key
events queued before anything is awaited (the way a fast typist or an SSH link delivers them).

Textual's Input ran Backspace as a binding, after the characters typed behind it
(Backspace x5 then "smith" over "jones" gave "josmi"); LineInput handles its keys in
order. And the App holds keys while they cannot reach the widget meant for them (behind
F7 until the note opens and has focus), so keys typed right behind a key that opens a
dialog land in its first field.
"""
from __future__ import annotations

import time

from textual.app import App
from textual.screen import Screen

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.batch_entry import BatchEntryScreen
from kec_tui.screens.lock import LockScreen
from kec_tui.screens.lockbox import LockboxScreen
from kec_tui.screens.lookup import LookupScreen
from kec_tui.services import accounts, batches, operators, passwords
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.prompt import PromptScreen, reason_prompt
from tests.support.batch import accounts as make_accounts, entry_screen, make_app, open_batch, press

RETYPE = ["backspace"] * 5 + list("smith")   # over "jones": "smith", never "josmi" or "jsmit"


def box(app) -> LineInput:
    return app.screen.query_one(LineInput)


# ---- Backspace x5 then "smith" in a box holding "jones" ------------------------------------------

async def test_lookup_box_takes_backspaces_and_letters_in_order(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "jones")
        assert box(app).value == "jones"
        await press(pilot, *RETYPE)
        assert box(app).value == "smith"
        await press(pilot, "enter")
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == coop["smith"].id


async def test_note_typed_behind_f7_with_backspaces_is_saved_as_typed(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "john smith", "enter")
        account = app.screen
        assert isinstance(account, AccountScreen)
        # F7 opens the note; everything behind it lands in the note's box, in order.
        await press(pilot, "f7", "jones", *RETYPE, "enter")
        assert app.screen is account
        assert [n.text for n in accounts.notes(coop["smith"].id)] == ["smith"]


async def test_empty_note_is_refused_and_nothing_written(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "john smith", "enter")
        await press(pilot, "f7", "enter")
        assert isinstance(app.screen, PromptScreen) or "needs some text" in box(app).error
        assert accounts.notes(coop["smith"].id) == []


async def test_void_reason_and_find_typed_behind_their_keys(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    accts = make_accounts(3)
    b = open_batch(msr, 3, 6_000)
    for i, cents in enumerate((1_000, 2_000, 3_000)):
        batches.key_line(msr, b.id, str(accts[i].number), cents, str(i + 1))
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await entry_screen(pilot, b.id)
        await press(pilot, "f6")                          # the lines; the cursor on line 3
        await press(pilot, "f9", "jones", *RETYPE, "enter")
        assert isinstance(app.screen, BatchEntryScreen)
        assert [ln.status for ln in batches.lines(b.id, include_void=True)] == ["active", "active", "void"]
        voids = db.AuditLog.select().where(db.AuditLog.action == "batch_line.void")
        assert [row.after for row in voids] == ["void smith"]
        await press(pilot, "f7", "jones", *["backspace"] * 5, "#1", "enter")
        assert screen.query_one("#lines").cursor_row == 0


async def test_new_batch_keyed_behind_f3_and_f5(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        # The batch list opens, then the new batch form: the tape is keyed behind both keys.
        await press(pilot, "f3", "f5", "\r", "m", "\r", "12\r", "1234.56\r")
        assert isinstance(app.screen, BatchEntryScreen)
        b = app.screen.batch
        assert (b.tender, b.control_count, b.control_total_cents) == ("money_order", 12, 123_456)


async def test_lockbox_path_box_typed_behind_its_keys(sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f3", "f7", "jones", *RETYPE, "enter")
        assert isinstance(app.screen, LockboxScreen)
        assert box(app).value == "smith"
        assert "No file smith" in str(app.screen.query_one("#result").render())
        assert batches.list_batches() == []


# ---- a refused sign-in ---------------------------------------------------------------------------

async def test_refused_unlock_clears_the_password_and_keys_behind_it_are_no_part_of_it(coop, msr_op, sqlite_db):
    passwords.set_password("msr1", "correct horse battery")
    app = KecApp(Settings(db=sqlite_db, idle_lock_minutes=5), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        app.last_input_at = time.monotonic() - 3600
        app.lock_if_idle()
        await press(pilot)
        assert isinstance(app.screen, LockScreen)
        await press(pilot, "wrong", "enter")
        secret = box(app)
        assert "Not recognized (1)" in secret.error and secret.value == ""
        # Keys typed after the refusal are held and counted, never a second try nor part of one
        # (the error locks the box); nothing of them is drawn.
        await press(pilot, "bad", "enter", "abc")
        assert isinstance(app.screen, LockScreen) and app.screen.failures == 1
        assert secret.value == "" and secret.held_keys == 7
        assert "7 keys typed after it were not used. Esc to go on" in secret.error_text
        assert not any(word in str(secret.render()) for word in ("wrong", "bad", "abc"))
        await press(pilot, "escape", "correct horse battery", "enter")
        assert isinstance(app.screen, LookupScreen)


# ---- the box itself, and the App's hold ----------------------------------------------------------

class OneBox(App):
    def __init__(self, **kw) -> None:
        super().__init__()
        self.kw = kw
        self.seen: list[tuple[str, str]] = []

    def compose(self):
        yield LineInput(**self.kw)

    def on_mount(self) -> None:
        self.query_one(LineInput).focus()

    def on_line_input_changed(self, message: LineInput.Changed) -> None:
        self.seen.append(("changed", message.value))

    def on_line_input_submitted(self, message: LineInput.Submitted) -> None:
        self.seen.append(("submitted", message.value))


async def test_password_max_length_changed_and_submitted():
    app = OneBox(password=True, max_length=4, placeholder="Password")
    async with app.run_test() as pilot:
        await press(pilot)
        field = app.query_one(LineInput)
        assert "Password" in str(field.render())
        await press(pilot, "abcdef", "enter")               # "e" is beyond the full box: refused, locked
        assert field.value == "abcd" and field.locked and field.held_keys == 2
        assert "abcd" not in str(field.render()) and "****" in str(field.render())
        assert ("changed", "abcd") in app.seen and ("changed", "abcde") not in app.seen
        assert not any(kind == "submitted" for kind, _ in app.seen)
        await press(pilot, "escape", "abcd", "enter")       # Reset clears the refused box
        assert app.seen[-1] == ("submitted", "abcd")
        field.value = "zz"                                  # from code: Changed too, cursor at the end
        await press(pilot, "y")
        assert field.value == "zzy" and app.seen[-1] == ("changed", "zzy")


async def test_given_text_is_replaced_by_typing_and_erased_by_backspace():
    app = OneBox(value="12345")
    async with app.run_test() as pilot:
        await press(pilot, "#7", "enter")
        assert app.seen[-1] == ("submitted", "#7")
        app.query_one(LineInput).blur()
        app.query_one(LineInput).focus()
        await press(pilot, "backspace", "9")
        assert app.query_one(LineInput).value == "9"


class ReasonApp(App):
    def on_mount(self) -> None:
        self.result = "unanswered"
        self.push_screen(reason_prompt("Cancel bill", "Why the bill is cancelled"), self.answered)

    def answered(self, value: str | None) -> None:
        self.result = value


async def test_an_empty_reason_is_refused_where_it_is_seen_and_the_box_shrinks_after():
    """The refusal is drawn under the box (it grew a line for it; the box was one line high and the
    refusal was there but not seen: the keys after it were held with no word why)."""
    app = ReasonApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "enter", "xyz")
        box = app.screen.line_input
        assert box.locked and box.held_keys == 3 and app.result == "unanswered"
        assert box.size.height >= 2 and "A reason is required" in str(box.render())
        await press(pilot, "escape")
        assert box.size.height == 1 and not box.locked
        await press(pilot, "meter misread", "enter")
        assert app.result == "meter misread"


class Quiet(Screen):
    """No focusable widget: its keys are its own bindings."""
    BINDINGS = [("x", "mark", "Mark")]

    def __init__(self) -> None:
        super().__init__()
        self.marks = 0

    def action_mark(self) -> None:
        self.marks += 1


async def test_a_screen_without_focus_still_gets_the_keys_typed_behind_its_opening(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot)
        quiet = Quiet()
        app.push_screen(quiet)
        await press(pilot, "x", "x", "x")                 # queued before it has mounted
        assert app.screen is quiet and quiet.marks == 3
        assert not app._held_input and app._in_flight is None


# ---- more dialogs, keyed right behind the key that opens them --------------------------------------

async def test_contacts_keyed_behind_f6(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "john smith", "enter")
        await press(pilot, "f6", "ctrl+e", "2085550001", "f10")
        assert db.Member.get_by_id(coop["smith"].member_id).phone_home == "2085550001"


async def test_new_order_keyed_behind_ctrl_n_and_behind_f4_f6(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "john smith", "enter")
        await press(pilot, "ctrl+n", "m", "m", "m", "\r", "1\r", "\r", "y\r", "dog in yard\r")
        await press(pilot, "escape", "escape")
        await press(pilot, "f4", "f6", str(coop["ada"].number), "\r", "r", "r", "\r", "2\r", "\r", "\r", "\r")
        got = [(o.account_id, o.kind, o.priority, o.notes)
               for o in db.ServiceOrder.select().order_by(db.ServiceOrder.id)]
        assert got == [(coop["smith"].id, "meter_test", 1, "dog in yard"), (coop["ada"].id, "reread", 2, "")]


async def test_return_code_keyed_behind_ctrl_r(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "john smith", "enter")
        await press(pilot, "ctrl+r", "3")
        from textual.widgets import OptionList
        assert type(app.screen).__name__ == "ReturnPaymentScreen"
        assert app.screen.query_one(OptionList).highlighted == 2      # R03, from the key behind Ctrl+R


async def test_line_edit_keyed_behind_enter_on_the_lines(sqlite_db, tmp_path):
    """Enter on a row opens the line through a message (RowSelected), not a binding: the keys
    behind it still wait for the edit form."""
    msr = operators.create("msr1", "Pat Keyer", "msr")
    accts = make_accounts(2)
    b = open_batch(msr, 2, 3_000)
    for i, cents in enumerate((1_000, 2_000)):
        batches.key_line(msr, b.id, str(accts[i].number), cents, str(i + 1))
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await entry_screen(pilot, b.id)
        await press(pilot, "f6", "up", "enter", "\r", "ctrl+e", "40\r\r")
        assert isinstance(app.screen, BatchEntryScreen)
        amounts = [ln.amount_cents for ln in batches.lines(b.id)]
        assert amounts == [4_000, 2_000]


async def test_new_member_keyed_behind_f9(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f9", "Grace")
        form = app.screen.query_one("StepForm")
        assert form.values["first_name"] == "Grace"
