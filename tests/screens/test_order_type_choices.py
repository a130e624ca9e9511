"""The new order form lists the order types: a choice field by itself shows only its value."""
from __future__ import annotations

from kec_tui.screens.orders import KIND_OF, NewOrderScreen
from tests.support.batch import press


async def test_the_type_field_shows_its_choices(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_account(coop["ada"].id)
        await press(pilot, "ctrl+n")
        await press(pilot, "m", "m")               # the type by its first letter, twice
        screen = app.screen
        assert isinstance(screen, NewOrderScreen)
        shown = screen.query_one("#choices").render().plain
        for choice in KIND_OF:
            assert choice in shown, choice
        assert screen.query_one("#form").values["kind"] == "move-out read"
        region = screen.query_one("#choices").region
        assert region.height >= 1 and region.bottom <= 23     # on screen at 80x24, above the Footer
