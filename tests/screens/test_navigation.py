"""Keys typed ahead across screen changes never crash the app or close the wrong screen."""
import pytest
from textual import events

from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.lookup import LookupScreen
from kec_tui.services import operators
from tests.screens.conftest import settle


def burst(app, *keys) -> None:
    for k in keys:
        app._driver.send_message(events.Key(k, k if len(k) == 1 else None))


@pytest.mark.parametrize("key", ["f3", "f4", "f8", "f9", "f1"])
async def test_escape_burst_from_every_top_screen(coop, sqlite_db, key):
    boss = operators.create("super", "Sam Boss", "supervisor")
    app = KecApp(Settings(db=sqlite_db), boss)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        await settle(pilot)
        assert not isinstance(app.screen, LookupScreen)
        burst(app, "escape", "escape", "escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        assert app.return_code is None            # still running, nothing raised


async def test_escape_burst_does_not_close_the_screen_beneath(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"john smith", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        await pilot.press("f4")
        await settle(pilot)
        burst(app, "escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, (AccountScreen, LookupScreen))
        assert app.return_code is None
