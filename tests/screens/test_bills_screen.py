"""Bill inquiries on the account (screens/bills.py): the bills, explain, compare, the calculator,
a statement of one bill, cancel and rebill. Keys go as bursts (tests/support/keys.py): every key
queued before anything is awaited; what is asserted is what the database and the files hold.

The bills are made by a real billing run of the test rate file (tests/services/billing_data.py):
Ada's bill of 05/03/2025 is 800 kWh, $106.20 (27.00 + 76.00 + 3.20)."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.bills import BillsScreen, CalculatorScreen
from kec_tui.services import billing_run, operators
from tests.services import billing_data as data
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle, settle_workers


@pytest.fixture
def billed(sqlite_db):
    data.load_rates()
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("super", "Sam Boss", "supervisor")
    ada = data.account(kwh=800, first="Ada", last="Lovelace")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(biller, reg.run.id)
    return biller, ada, db.Bill.get(db.Bill.account == ada.id).id


def shown(widget) -> str:
    """What a Static shows, as plain text (its content may be a rich Group)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def detail(screen) -> str:
    return shown(screen.query_one("#detail-text"))


def message(screen) -> str:
    return str(screen.query_one("#message").render())


async def on_account(pilot, account_id: int) -> AccountScreen:
    pilot.app.open_account(account_id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


async def test_bills_explain_compare_calculator_statement_in_one_burst(billed, sqlite_db, tmp_path):
    biller, ada, bill_id = billed
    app = make_app(sqlite_db, biller, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, ada.id)
        # Bills, compare, explain, the calculator (800 kWh on the account's schedule), close it, the statement.
        send_burst(app, expand("ctrl+e", "f6", "f5", "f7", "800", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CalculatorScreen) and app.screen.result is not None)
        calc = app.screen
        assert calc.result.total_cents == 10620 and calc.result.schedule == "RES"
        assert "The bill would be $106.20" in shown(calc.query_one("#result"))
        send_burst(app, expand("escape", "f10"))
        await settle(pilot, lambda: isinstance(app.screen, BillsScreen))
        await settle_workers(pilot)
        await settle(pilot, lambda: "Statement written" in message(app.screen))
        screen = app.screen
        files = list((tmp_path / "reports").glob("statement-*.pdf"))
        assert [f.name for f in files] == [f"statement-{ada.number}-20250503-bill{bill_id}.pdf"]
        assert str(files[0]) in message(screen)
        text = detail(screen)
        assert "In plain words" in text and "Energy, first 1,000 kWh (winter): 800 kWh at $0.095000 per kWh = $76.00" \
            in text
        assert "Total charges: $106.20, due 05/23/2025." in text
        send_burst(app, ["f6"])
        await settle(pilot)
        assert "This bill is $6.20 more than last month's bill ($106.20 against $100.00)." in detail(screen)
        assert "Rates changed on 03/16/2025" in detail(screen)


async def test_letters_or_a_minus_in_the_calculator_lock_it_and_the_keys_behind_are_held(billed, sqlite_db,
                                                                                        tmp_path):
    biller, ada, bill_id = billed
    app = make_app(sqlite_db, biller, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, ada.id)
        send_burst(app, expand("ctrl+e", "f7", "8a00", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CalculatorScreen))
        form = app.screen.query_one("#form")
        assert form.locked and "digits only" in form.error and form.held_keys == 4
        assert form.values["kwh"] == "8" and app.screen.result is None
        # Esc resets; a minus is refused the same way, the keys behind it held.
        send_burst(app, expand("escape", "minus", "5", "enter"))
        await settle(pilot)
        assert form.locked and "Field- is for amounts" in form.error and form.held_keys == 2
        assert app.screen.result is None
        send_burst(app, expand("escape", "1234", "enter", "enter"))
        await settle(pilot, lambda: getattr(app.screen, "result", None) is not None)
        assert app.screen.result.kwh == 1234 and not form.locked


async def test_cancel_and_rebill_with_a_reason(billed, sqlite_db, tmp_path):
    biller, ada, bill_id = billed
    app = make_app(sqlite_db, biller, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_account(pilot, ada.id)
        # Rebill at 700 kWh: the reason is required (an empty Enter is refused, the keys behind held).
        send_burst(app, expand("ctrl+e", "f12", "700", "enter", "enter", "misread"))
        await settle(pilot)
        assert db.Bill.select().count() == 1
        send_burst(app, expand("escape", "misread meter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, BillsScreen) and db.Bill.select().count() == 2)
        old, new = db.Bill.get_by_id(bill_id), db.Bill.get(db.Bill.replaces == bill_id)
        assert old.status == "cancelled" and old.cancel_reason == "misread meter"
        assert (new.kwh, new.total_cents) == (700, 2700 + 6650 + 280)
        screen = app.screen
        assert "Rebilled: 700 kWh, $96.30" in message(screen)
        # The new bill is billed, the old one cancelled: cancelling it again is refused at the screen.
        send_burst(app, expand("down", "f11"))
        await settle(pilot)
        assert "already cancelled" in message(screen)
        # Cancel the rebill with a reason: its charge reversed.
        send_burst(app, expand("up", "f11", "wrong account", "enter"))
        await settle(pilot, lambda: db.Bill.get_by_id(new.id).status == "cancelled")
        reversals = db.LedgerEntry.select().where(db.LedgerEntry.account == ada.id,
                                                  db.LedgerEntry.kind == "reversal").count()
        assert reversals == 2
        # Back on the account, its ledger shows the reversals.
        send_burst(app, ["escape"])
        await settle(pilot, lambda: isinstance(app.screen, AccountScreen))
        table = app.screen.query_one("#ledger-table")
        kinds = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert kinds.count("reversal") == 2


async def test_an_msr_may_look_but_not_cancel(billed, sqlite_db, tmp_path):
    _, ada, bill_id = billed
    msr = operators.create("msr1", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, ada.id)
        send_burst(app, expand("ctrl+e", "f11", "oops", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, BillsScreen))
        assert "for billing staff and supervisors (msr may not)" in message(app.screen)
        assert db.Bill.get_by_id(bill_id).status == "billed"


async def test_an_account_with_no_bills_says_so(billed, sqlite_db, tmp_path):
    biller, _, _ = billed
    closed = data.account(kwh=None, first="Closed", last="Nobills", status="closed")
    app = make_app(sqlite_db, biller, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, closed.id)
        send_burst(app, expand("ctrl+e", "f10"))
        await settle(pilot, lambda: isinstance(app.screen, BillsScreen))
        assert f"Account {closed.number} is closed and has no statement on file to print" in message(app.screen)
        assert not (tmp_path / "reports").exists()


async def test_the_palette_opens_the_bill_calculator_from_anywhere(billed, sqlite_db, tmp_path):
    from textual.command import CommandPalette

    biller, _, _ = billed
    app = make_app(sqlite_db, biller, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"bill calc")
        for _ in range(40):
            await pilot.pause(0.05)
            options = app.screen.query("CommandList").first()
            if options.option_count and "Bill calculator" in str(options.get_option_at_index(0).prompt):
                break
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, CalculatorScreen))
        send_burst(app, expand("2000", "enter", "enter"))      # no account: Residential, no city fee
        await settle(pilot, lambda: getattr(app.screen, "result", None) is not None)
        assert app.screen.result.schedule == "RES" and not any(ln.code == "fee" for ln in app.screen.result.lines)
