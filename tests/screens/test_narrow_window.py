"""A window narrower than 80 columns (a phone held upright, a small terminal) is told so; keys still land."""
from textual import events

from kec_tui.app import TOO_NARROW
from kec_tui.widgets.line_input import LineInput
from tests.screens.conftest import settle


def toasts(app) -> list[str]:
    return [str(t.render()) for t in app.screen.query("Toast")]


async def test_a_narrow_window_says_it_needs_80_columns_and_keys_still_land(app):
    async with app.run_test(size=(43, 30), notifications=True) as pilot:
        await settle(pilot)
        [shown] = toasts(app)
        assert TOO_NARROW in " ".join(shown.split()) and "43" in shown
        for k in "smith john":                    # one burst, nothing awaited between keys
            app._driver.send_message(events.Key("space" if k == " " else k, k))
        await settle(pilot)
        assert app.screen.query_one("#search", LineInput).value == "smith john"
        await pilot.resize_terminal(80, 24)       # wide enough: the message goes
        await settle(pilot)
        assert toasts(app) == []
        await pilot.resize_terminal(79, 24)       # and comes back, once
        await settle(pilot)
        assert len(toasts(app)) == 1


async def test_80_columns_is_enough(app):
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        assert toasts(app) == []
