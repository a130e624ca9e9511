"""F1 on every screen and dialog: the help opens and names that screen's live keys, and no key that is not bound."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.keymap import key_display
from kec_tui.screens.batch_entry import BatchEntryScreen
from kec_tui.screens.change_password import ChangePasswordScreen
from kec_tui.screens.help import HelpScreen
from kec_tui.screens.notices import ContactDialog, DisconnectDialog
from kec_tui.services import batches, lockbox, operators, orders
from kec_tui.widgets.dialogs import AskScreen, ConfirmScreen, MessageScreen
from kec_tui.widgets.rebill import RebillDialog
from kec_tui.widgets.supervisor import SupervisorDialog
from tests.support import billing
from tests.support.batch import open_batch, press
from tests.support.notices import notice

# A key named in the help's text: a function key, a chord, or Esc.
KEY_IN_TEXT = re.compile(r"(?<![\w+])(?:(?:Ctrl|Shift|Alt)\+(?:F\d{1,2}|\w)|F\d{1,2}|Esc)(?![\w+])")


@pytest.fixture
def boss(sqlite_db):
    return operators.create("boss", "Sam Super", "supervisor")


@pytest.fixture
def setup(coop, boss, tmp_path, sqlite_db):
    b = open_batch(boss)
    batches.key_line(boss, b.id, str(coop["ada"].number), 1_000)
    order = orders.create_order(boss, coop["ada"].id, "meter_test")
    db.AuthorizedPerson.create(member=coop["smith"].member_id, name="Jane Smith", relation="spouse")
    bank = tmp_path / "lockbox.csv"                     # one payment for no account: an exception to work
    bank.write_text("Account,Amount,Check Number,Payment Date,Payer Name\n999999,12.00,799,2025-10-01,Ada L\n")
    lockbox.import_file(boss, bank)
    app = KecApp(Settings(db=sqlite_db, theme="textual-dark", reports_dir=str(tmp_path / "reports")), boss)
    return app, coop, b, order


async def account(pilot, coop, *keys):
    pilot.app.open_account(coop["smith"].id)
    await press(pilot, *keys)


async def payment_row(pilot, coop):
    await account(pilot, coop, "down")
    table = pilot.app.screen.query_one("#ledger-table", DataTable)
    table.move_cursor(row=[i for i in range(table.row_count) if str(table.get_row_at(i)[1]) == "payment"][0])
    await press(pilot, "ctrl+r")


async def entry(pilot, b, *keys):
    pilot.app.push_screen(BatchEntryScreen(b.id))
    await press(pilot)
    for key in keys:
        await press(pilot, key)


async def queue(pilot, order, *keys):
    await press(pilot, "f4")
    pilot.app.screen.query_one("#queue", DataTable).focus()
    await press(pilot)
    await press(pilot, *keys)


async def reading_queue(pilot, coop, *keys):
    smith = coop["smith"]                               # one AMI read refused: a row to correct
    db.ReadingException.create(source="ami", import_name="reads.csv", record_no=2, meter_no=smith.meter.meter_no,
                               account=smith.id, reading_text="12", codes="lower", message="Lower than the last")
    await press(pilot, "ctrl+y", "f6", *keys)


async def push(pilot, screen):
    pilot.app.push_screen(screen)
    await press(pilot)


SCREENS = {
    "LookupScreen": lambda p, c, b, o: press(p),
    "AccountScreen": lambda p, c, b, o: account(p, c),
    "ContactScreen": lambda p, c, b, o: account(p, c, "f6"),
    "AddPersonScreen": lambda p, c, b, o: account(p, c, "f6", "f7"),
    "RemovePersonScreen": lambda p, c, b, o: account(p, c, "f6", "f8"),
    "ApplyExceptionScreen": lambda p, c, b, o: press(p, "f3", "f7", "tab", "enter"),
    "NoteScreen": lambda p, c, b, o: account(p, c, "f7"),
    "NewOrderScreen": lambda p, c, b, o: account(p, c, "ctrl+n"),
    "MoveScreen": lambda p, c, b, o: account(p, c, "ctrl+o"),
    "CloseScreen": lambda p, c, b, o: account(p, c, "ctrl+x"),
    "ReturnPaymentScreen": lambda p, c, b, o: payment_row(p, c),
    "BatchListScreen": lambda p, c, b, o: press(p, "f3"),
    "BatchFormScreen": lambda p, c, b, o: press(p, "f3", "f5"),
    "LockboxScreen": lambda p, c, b, o: press(p, "f3", "f7"),
    "BatchEntryScreen": lambda p, c, b, o: entry(p, b),
    "PromptScreen": lambda p, c, b, o: entry(p, b, "f7"),      # Find (a reason is the same dialog)
    "LineEditScreen": lambda p, c, b, o: entry(p, b, "f6", "enter"),
    "OrderQueueScreen": lambda p, c, b, o: press(p, "f4"),
    "CompleteOrderScreen": lambda p, c, b, o: queue(p, o, "f7"),
    "CancelOrderScreen": lambda p, c, b, o: queue(p, o, "f12"),
    "NewMembershipScreen": lambda p, c, b, o: press(p, "f9"),
    "ReadingEntryScreen": lambda p, c, b, o: press(p, "ctrl+y"),
    "BillsScreen": lambda p, c, b, o: account(p, c, "ctrl+e"),
    "CalculatorScreen": lambda p, c, b, o: account(p, c, "ctrl+e", "f7"),
    "AdjustmentScreen": lambda p, c, b, o: account(p, c, "ctrl+a"),
    "ReadingExceptionsScreen": lambda p, c, b, o: reading_queue(p, c),
    "CorrectReadingScreen": lambda p, c, b, o: reading_queue(p, c, "enter"),
    "BillingScreen": lambda p, c, b, o: press(p, "ctrl+w"),
    "NewRunDialog": lambda p, c, b, o: press(p, "ctrl+w", "f5"),
    "RegisterScreen": lambda p, c, b, o: billing.open_register(p, p.app.operator),
    "RebillDialog": lambda p, c, b, o: push(p, RebillDialog(1, 800, "Rebill the bill of 05/03/2025", "800 kWh")),
    "SupervisorDialog": lambda p, c, b, o: push(p, SupervisorDialog("Approve", "8 bills", permission="billing.approve",
                                                                    what="approve a billing run")),
    "UsageReportScreen": lambda p, c, b, o: press(p, "ctrl+z"),
    "AuditScreen": lambda p, c, b, o: press(p, "f8"),
    "SignInsScreen": lambda p, c, b, o: press(p, "f8", "f6"),
    "ChangePasswordScreen": lambda p, c, b, o: push(p, ChangePasswordScreen()),
    "KeystatsScreen": lambda p, c, b, o: press(p, "shift+f8"),
    "CollectionsScreen": lambda p, c, b, o: press(p, "shift+f4"),
    "NoticeRunScreen": lambda p, c, b, o: press(p, "shift+f4", "f11"),
    "ContactDialog": lambda p, c, b, o: push(p, ContactDialog(notice(c["smith"], dt.date(2026, 3, 16)).id)),
    "DisconnectDialog": lambda p, c, b, o: push(p, DisconnectDialog(notice(c["smith"], dt.date(2026, 3, 16)).id)),
    "JournalScreen": lambda p, c, b, o: press(p, "shift+f6", "5"),
    "AutopayEnrollScreen": lambda p, c, b, o: account(p, c, "f8", "7"),
    "AutopayRunScreen": lambda p, c, b, o: press(p, "shift+f6", "6"),
    "ConfirmScreen": lambda p, c, b, o: push(p, ConfirmScreen("Sure?")),
    "AskScreen": lambda p, c, b, o: push(p, AskScreen("Leave?")),
    "MessageScreen": lambda p, c, b, o: push(p, MessageScreen("Done", "It is done.")),
    "ReferenceScreen": lambda p, c, b, o: reference_over_account(p, c),
    "PortalScreen": lambda p, c, b, o: account(p, c, "ctrl+u"),
    "PortalEmailScreen": lambda p, c, b, o: enrolled_account(p, c, "ctrl+u", "f12"),
}


async def enrolled_account(pilot, coop, *keys) -> None:
    from kec_tui.services import portal

    portal.enroll(pilot.app.operator, coop["smith"].id)
    await account(pilot, coop, *keys)


async def reference_over_account(pilot, coop) -> None:
    import dataclasses
    import tempfile

    pilot.app.settings = dataclasses.replace(pilot.app.settings, policies_dir=tempfile.mkdtemp(prefix="policies-"))
    await account(pilot, coop)
    await press(pilot, "shift+f1")


def bound_keys(screen) -> tuple[set[str], set[str]]:
    """(own, all working): the display names of the keys bound on `screen` now."""
    app = screen.app
    own = {key_display(k) for k, a in screen.active_bindings.items()
           if a.node is not app and a.binding.id and a.binding.description and not a.binding.id.startswith("app.")}
    # Bound here, though perhaps off just now (the Accept key of a line held by a warning).
    working = {key_display(k) for _, bindings in screen._modal_binding_chain for k in bindings.key_to_bindings}
    working |= {key_display(k) for k, bs in app._bindings.key_to_bindings.items() if any(b.priority for b in bs)}
    return own, working


@pytest.mark.parametrize("name", SCREENS)
async def test_f1_lists_the_screen_keys(setup, name):
    app, coop, b, order = setup
    async with app.run_test(size=(100, 40)) as pilot:
        await SCREENS[name](pilot, coop, b, order)
        under = app.screen
        assert type(under).__name__ == name
        own, working = bound_keys(under)
        assert own or name == "LookupScreen" and working
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen) and app.screen.under is under
        text = app.screen.as_text()
        keys_part = text.split("Everywhere")[0]
        for key in own:
            assert re.search(rf"(?<![\w+]){re.escape(key)}(?![\w+])", keys_part), (key, text)
        named = set(KEY_IN_TEXT.findall(text))
        assert named <= working, (named - working, text)
        await press(pilot, "escape")
        assert app.screen is under


async def test_help_follows_a_rebound_key(setup, tmp_path):
    app, coop, b, order = setup
    mine = tmp_path / "mine.toml"
    mine.write_text('[bindings]\n"batches.import" = "f11"\n')
    app = KecApp(Settings(db=app.settings.db, keymap=str(mine)), app.operator)
    async with app.run_test(size=(100, 40)) as pilot:
        await press(pilot, "f3", "f1")
        text = app.screen.as_text()
        # F7 alone is gone (Shift+F7 is another key).
        assert "F11 imports a bank lockbox file" in text and not re.search(r"(?<![\w+])F7(?!\d)", text)


async def test_f1_typed_right_behind_the_key_that_opens_a_dialog_helps_with_that_dialog(setup):
    app, coop, b, order = setup
    async with app.run_test(size=(100, 40)) as pilot:
        await account(pilot, coop)
        await press(pilot, "f7", "f1")            # one burst: Note, then its help
        assert isinstance(app.screen, HelpScreen) and type(app.screen.under).__name__ == "NoteScreen"
        assert "Ctrl+S saves it to the account" in app.screen.as_text()


@pytest.mark.parametrize("name", ["LookupScreen", "AccountScreen", "BatchListScreen", "LockboxScreen",
                                  "BatchEntryScreen", "OrderQueueScreen", "MoveScreen", "CloseScreen",
                                  "NewMembershipScreen", "AuditScreen", "KeystatsScreen", "UsageReportScreen",
                                  "CollectionsScreen", "NoticeRunScreen"])
async def test_a_general_key_that_means_something_else_here_is_shown_so(setup, name):
    """F9 is New member everywhere but means Ledger on an account: the Footer shows the screen's
    meaning, and F1's general keys say "New member (here: Ledger)"."""
    app, coop, b, order = setup
    async with app.run_test(size=(100, 40)) as pilot:
        await SCREENS[name](pilot, coop, b, order)
        under = app.screen
        changed = []
        for key, bindings in app._bindings.key_to_bindings.items():
            general, here = bindings[0], under.active_bindings.get(key)
            if general.description and here and here.node is not app and here.binding.description \
                    and here.binding.id != general.id:
                changed.append((key_display(key), general.description, here.binding))
        await press(pilot, "f1")
        text = app.screen.as_text()
        for key, does, local in changed:
            assert re.search(rf"{re.escape(key)}\S*\s+{does} \(here: {re.escape(local.description)}\)", text), \
                (key, does, text)
            # In the Footer, unless it is one of the 5250 keys of the entry form (listed by F1).
            assert local.show or local.id.startswith("entry_form."), (key, local)
        if name == "AccountScreen":
            assert ("F9", "New member") in [(k, d) for k, d, _ in changed]


async def test_messages_name_the_keys_of_the_keymap(coop, msr_op, sqlite_db, tmp_path):
    from kec_tui import keymap

    mine = tmp_path / "mine.toml"
    mine.write_text('[bindings]\n"batches.new" = "f11"\n')
    app = KecApp(Settings(db=sqlite_db, keymap=str(mine)), msr_op)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await press(pilot, "f3")
            assert "No batches yet: F11 opens one" in str(app.screen.query_one("#message").render())
    finally:
        keymap.use(keymap.load())                 # the next app in this process has the default keys
