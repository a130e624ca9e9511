from textual.widgets import DataTable, Sparkline, Static, TabbedContent

from kec_tui.screens.account import AccountScreen
from kec_tui.screens.note import NoteScreen
from kec_tui.widgets.line_input import LineInput
from tests.screens.conftest import settle


async def open_smith(pilot):
    await pilot.press(*"john smith", "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountScreen)
    return pilot.app.screen


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_account_shows_money_flags_contacts_usage_ledger(app, coop):
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_smith(pilot)
        assert str(coop["smith"].number) in text_of(screen, "#title")
        assert "LANDLORD" in text_of(screen, "#flags")
        summary = text_of(screen, "#summary")
        # bills 67,733 cents - payments 22,857 = $448.76, all past due (bills are in 2025)
        assert "$448.76" in summary and "Past due" in summary
        assert "(208) 666-1234" in text_of(screen, "#contact")
        assert "300000002" in text_of(screen, "#location") and "***-**-1234" in text_of(screen, "#location")
        assert list(screen.query_one(Sparkline).data) == [800, 850, 900, 950, 1000, 1050]
        ledger = screen.query_one("#ledger-table", DataTable)
        assert ledger.row_count == 8
        first = ledger.get_row_at(0)
        assert str(first[5]) == "448.76"   # the newest line carries the balance


async def test_tabs_and_note(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_smith(pilot)
        await pilot.press("f7")
        assert isinstance(app.screen, NoteScreen)
        await pilot.press("ctrl+s")
        assert "needs some text" in app.screen.query_one(LineInput).error
        await pilot.press("escape", *"Called about the high bill", "ctrl+s")  # Reset after the refusal
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("f11")
        assert screen.query_one(TabbedContent).active == "notes"
        notes = screen.query_one("#notes-table", DataTable)
        assert "Called about the high bill" in str(notes.get_row_at(0)[2])
        await pilot.press("f12")
        history = screen.query_one("#history-table", DataTable)
        assert str(history.get_row_at(0)[2]) == "note.add"


async def test_ledger_pages_as_you_scroll(app, sqlite_db):
    import datetime as dt

    from kec_tui import db
    from tests import factories

    acct = factories.account(first="Many", last="Lines", phone="2089990000", meter_no="399999999")
    db.LedgerEntry.insert_many([
        {"account": acct.id, "effective": dt.date(2024, 1, 1), "kind": "bill", "amount_cents": 100 + i}
        for i in range(130)]).execute()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_account(acct.id)
        await settle(pilot)
        ledger = app.screen.query_one("#ledger-table", DataTable)
        assert ledger.row_count == 40
        ledger.focus()
        for _ in range(45):
            await pilot.press("down")
        await settle(pilot)
        assert ledger.row_count >= 80
