import peewee
from textual import events
from textual.widgets import DataTable, Static

from kec_tui.screens.account import AccountScreen
from kec_tui.screens.help import HelpScreen
from kec_tui.screens.lookup import LookupScreen
from kec_tui.services import accounts
from kec_tui.widgets.line_input import LineInput
from tests.screens.conftest import settle


def message(app) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def test_type_a_name_see_results_open_with_enter(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LookupScreen)
        await pilot.press(*"smi")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert "2 accounts" in message(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        assert app.screen.account_id == coop["smith"].id


async def test_arrow_down_into_results_and_open_second(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"smith")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert app.screen.account_id == coop["smithson"].id
        await pilot.press("escape")
        assert isinstance(app.screen, LookupScreen)


async def test_account_number_typed_ahead_with_enter_opens_it(app, coop):
    """Enter decides on the text as typed, even before the as-you-type search answers."""
    async with app.run_test(size=(80, 24)) as pilot:
        for ch in str(coop["ada"].number):
            app.screen.query_one(LineInput).value += ch   # set, not keyed: no search has answered
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.account_id == coop["ada"].id


async def test_a_database_that_does_not_answer_is_a_message(app, coop, monkeypatch):
    """The search runs in a thread worker with its own connection: a refused connection is said in the
    results line, the box keeps what was typed, and the next key searches again."""
    def refused(*args, **kwargs):
        raise peewee.OperationalError("FATAL: sorry, too many clients already")

    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(accounts, "lookup", refused)
        await pilot.press(*"smi")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        assert "The database did not answer: FATAL: sorry, too many clients already" in message(app)
        monkeypatch.undo()
        await pilot.press("t")
        await settle(pilot)
        assert app.screen.query_one(LineInput).value == "smit" and "2 accounts" in message(app)


async def test_wrong_check_digit_and_unknown_are_explained(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        n = str(coop["ada"].number)
        bad = n[:-1] + str((int(n[-1]) + 1) % 10)
        await pilot.press(*bad, "enter")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        assert "check digit" in message(app)
        assert app.screen.query_one(LineInput).value == bad   # nothing typed is lost
        search = app.screen.query_one(LineInput)
        search.value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert "Type an account number" in message(app)


async def test_metacharacters_and_long_paste(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        search = app.screen.query_one(LineInput)
        for q in ['"smi*', "NEAR(smith", "smith AND NOT jones", "(-"]:
            search.value = q
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            if isinstance(app.screen, AccountScreen):
                await pilot.press("escape")
        search = app.screen.query_one(LineInput)
        search.value = ""
        search.post_message(events.Paste("x" * 10_000))
        await settle(pilot)
        assert len(search.value) == 10_000   # kept whole; the search reads the first 200
        assert "Nothing found" in message(app) and "first 200 of 10,000" in message(app)


async def test_f1_help_lists_keys_and_f2_returns_to_lookup(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press(*"smith", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, LookupScreen)
        assert app.screen.query_one(LineInput).has_focus
