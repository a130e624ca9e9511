"""Lockbox: the import screen, refused files, the exceptions queue; and `kec-tui import-payments`."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable

from kec_tui import cli
from kec_tui.screens.lockbox import ApplyExceptionScreen, LockboxScreen
from kec_tui.services import batches, lockbox, operators
from kec_tui.widgets.dialogs import MessageScreen
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.prompt import PromptScreen
from tests import factories
from tests.support.batch import make_app, press


@pytest.fixture
def msr(sqlite_db):
    return operators.create("msr1", "Pat Keyer", "msr")


@pytest.fixture
def accts(sqlite_db):
    return [factories.account(first=f"Payer{i}", last=f"Lockbox{i}", bills=(10_000,)) for i in range(3)]


def bank_csv(tmp_path, accts, name="lockbox.csv", extra=""):
    rows = ["Account,Amount,Check Number,Payment Date,Payer Name"]
    rows += [f"{a.number},{50 + i}.25,{700 + i},2025-10-01,Payer{i} Lockbox{i}" for i, a in enumerate(accts)]
    rows.append("999999,12.00,799,2025-10-01,Ada Lovelace")  # no such account: an exception
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n" + extra)
    return path


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def open_lockbox(pilot) -> LockboxScreen:
    await press(pilot, "f3")
    await press(pilot, "f7")
    assert isinstance(pilot.app.screen, LockboxScreen)
    return pilot.app.screen


async def test_import_a_file_then_work_its_exceptions(msr, accts, tmp_path, sqlite_db):
    path = bank_csv(tmp_path, accts)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_lockbox(pilot)
        await press(pilot, str(path), "enter")
        assert isinstance(app.screen, MessageScreen)
        summary = text_of(screen, "#result")
        assert "Imported lockbox.csv (CSV): 4 payments $165.75" in summary
        assert "3 matched $153.75" in summary and "Exceptions: 1 $12.00" in summary
        await press(pilot, "enter")
        table = screen.query_one(DataTable)
        assert table.row_count == 1 and table.has_focus
        imported = batches.list_batches(status="balanced")[0]
        assert (imported.source, imported.count, imported.total_cents) == ("imported", 3, 15_375)
        # the same file again is refused, nothing applied
        await press(pilot, "tab")
        await press(pilot, str(path), "enter")
        assert "Refused, nothing applied" in text_of(screen, "#result")
        assert "already imported" in text_of(screen, "#result")
        assert len(batches.list_batches()) == 1
        # work the exception: a name lists accounts, the number applies it
        await press(pilot, "tab")
        await press(pilot, "enter")
        assert isinstance(app.screen, ApplyExceptionScreen)
        form = app.screen.query_one("PaymentForm")
        await press(pilot, "Lockbox1", "enter")
        assert "Key the account number" in form.error and str(accts[1].number) in form.info
        await press(pilot, "escape", str(accts[1].number), "enter")  # Reset, then the number
        assert isinstance(app.screen, LockboxScreen)
        assert "$12.00 applied to" in text_of(screen, "#result")
        assert table.row_count == 0
        worked = batches.list_batches(status=batches.EDITABLE)
        assert any(b.source == "exceptions" and b.total_cents == 1_200 for b in worked)


async def test_refused_files_and_returning_an_exception(msr, accts, tmp_path, sqlite_db):
    bad = tmp_path / "bad.csv"
    bad.write_text("Account,Amount\n100076,12.3x\n")
    totals_off = bank_csv(tmp_path, accts, "off.csv", extra="TOTAL,1.00,,,\n")
    good = bank_csv(tmp_path, accts[:1], "good.csv")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_lockbox(pilot)
        await press(pilot, str(bad), "enter")
        assert "Refused, nothing applied: Line 2: amount '12.3x' is not dollars" in text_of(screen, "#result")
        await press(pilot, "ctrl+u")
        await press(pilot, str(totals_off), "enter")
        assert "the file says $1.00 but its 4 payments add to $165.75" in text_of(screen, "#result")
        await press(pilot, "ctrl+u")
        await press(pilot, str(tmp_path / "nope.csv"), "enter")
        assert "No file" in text_of(screen, "#result")
        assert batches.list_batches() == []
        await press(pilot, "ctrl+u")
        await press(pilot, str(good), "enter")
        await press(pilot, "enter")
        await press(pilot, "f9")
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "not our member: back to the bank", "enter")
        assert lockbox.list_exceptions("returned")[0].resolution == "not our member: back to the bank"
        assert screen.query_one(DataTable).row_count == 0
        await press(pilot, "f4")  # all, the returned one too
        assert screen.query_one(DataTable).row_count == 1
        assert not any(w.has_focus for w in screen.query(LineInput))


def test_cli_import_payments(msr, accts, tmp_path, sqlite_db, capsys, monkeypatch):
    monkeypatch.setenv("KEC_TUI_CONFIG", str(tmp_path / "none.toml"))
    path = bank_csv(tmp_path, accts)
    args = ["--db", sqlite_db, "--operator", "msr1", "import-payments"]
    assert cli.main(args + [str(path), "--post"]) == 0
    out = capsys.readouterr().out
    assert "Imported lockbox.csv (CSV): 4 payments $165.75" in out
    assert "3 matched $153.75, posted" in out and "Exceptions: 1 $12.00" in out
    assert cli.main(args + [str(path)]) == 2  # the same file twice
    err = capsys.readouterr().err
    assert "refused, nothing applied" in err and "already imported" in err
    bad = tmp_path / "bad.bai"
    bad.write_text("01,BANK,KEC,251001,0800,1,80,,2/\n02,KEC,BANK,1,251001,0800,USD,2/\n")
    assert cli.main(args + [str(bad)]) == 2
    assert "refused, nothing applied" in capsys.readouterr().err


async def test_a_us_bank_bai2_file_on_the_screen(msr, accts, tmp_path, sqlite_db):
    from tests.services.test_lockbox import us_bank_file

    text = us_bank_file(accts)
    big = tmp_path / "big.bai"
    big.write_text(text.replace("16,169,6995,", "16,169,12345678901234567890,"))
    good = tmp_path / "bank.bai"
    good.write_text(text)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_lockbox(pilot)
        await press(pilot, str(big), "enter")
        assert text_of(screen, "#result") == ("Refused, nothing applied: Record 11 (16): amount "
                                              "'12345678901234567890' has 20 digits: too large for the ledger "
                                              "(at most $9,999,999,999,999.99)")
        assert batches.list_batches() == []
        await press(pilot, "ctrl+u")
        await press(pilot, str(good), "enter")
        assert isinstance(app.screen, MessageScreen)
        number = batches.list_batches()[0].number
        assert text_of(screen, "#result").splitlines() == [
            f"Imported bank.bai (BAI2): 4 payments $2,018.40. Batch {number}: 3 matched $518.40, balanced: post "
            f"it from the batch list (F3). Exceptions: 1 $1,500.00 to work below.",
            "Not payments, skipped: 2 $57.00 (fees, transfers and other debits)",
            "  Record 10: $45.00 debit (type 475), FEE0003, ACCOUNT ANALYSIS FEE",
            "  Record 14: $12.00 debit (type 698), FEE0006, INCOMING WIRE FEE"]
        # F1 says what a CSV needs and what happens to a BAI2 file's fees
        await press(pilot, "escape")
        await press(pilot, "f1")
        assert type(app.screen).__name__ == "HelpScreen" and app.screen.under is screen
        help_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "header row naming at least Account and Amount (dollars, 123.45)" in help_text
        assert "fees and other debits are listed as skipped" in help_text


async def open_the_exception(pilot, path) -> ApplyExceptionScreen:
    screen = await open_lockbox(pilot)
    await press(pilot, str(path), "enter")
    await press(pilot, "enter")                     # the import's summary read
    assert screen.query_one(DataTable).has_focus
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, ApplyExceptionScreen)
    return pilot.app.screen


@pytest.fixture
def closed(sqlite_db):
    return factories.account(first="Gone", last="Away", status="closed", bills=(5_000,))


def applied_lines() -> list[batches.LineInfo]:
    """The lines of the open exceptions batch: what applying exceptions wrote."""
    return [ln for b in batches.list_batches(status=batches.EDITABLE) if b.source == "exceptions"
            for ln in batches.lines(b.id)]


async def test_an_exception_for_a_closed_account_is_held_until_f8_and_a_reason(msr, accts, closed, tmp_path, sqlite_db):
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_the_exception(pilot, bank_csv(tmp_path, accts))
        form = dialog.query_one("PaymentForm")
        # One burst: the closed account and Enter, then the next keys typed ahead of the warning.
        await press(pilot, str(closed.number), "enter", str(accts[0].number), "enter")
        assert form.held and form.error.startswith("Closed account!")
        assert form.held_keys == len(str(accts[0].number)) + 1       # held, counted, not used
        assert lockbox.list_exceptions()[0].status == "open"           # nothing written
        await press(pilot, "f8")                                       # a closed account asks why
        assert isinstance(app.screen, PromptScreen)
        await press(pilot, "moved: refund to new address", "enter")
        assert isinstance(app.screen, LockboxScreen)
        x = lockbox.list_exceptions(None)[0]
        assert x.status == "applied"
        assert [(ln.account_id, ln.unapplied, ln.amount_cents) for ln in applied_lines()] == [(closed.id, True, 1_200)]


async def test_a_held_exception_reset_then_applied_to_the_right_account(msr, accts, closed, tmp_path, sqlite_db):
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_the_exception(pilot, bank_csv(tmp_path, accts))
        form = dialog.query_one("PaymentForm")
        await press(pilot, str(closed.number), "enter", str(accts[2].number), "enter")
        assert form.held and form.held_keys == len(str(accts[2].number)) + 1
        await press(pilot, "escape", str(accts[2].number), "enter")   # Reset, then the right account
        assert isinstance(app.screen, LockboxScreen)
        assert [(ln.account_id, ln.unapplied, ln.warnings_ack) for ln in applied_lines()] == [(accts[2].id, False, "")]
