from textual.command import CommandPalette

from kec_tui.screens.account import AccountScreen
from tests.screens.conftest import settle


async def test_palette_opens_an_account_by_name_or_number(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"smithson")
        for _ in range(20):
            await pilot.pause(0.05)
            if "Smithson" in str(app.screen.query("CommandList").first().get_option_at_index(0).prompt):
                break
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == coop["smithson"].id
