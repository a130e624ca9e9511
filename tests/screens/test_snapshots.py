"""What a person sees at 80x24 on the main screens (pytest-textual-snapshot).

Update after a deliberate change with: pytest tests/screens/test_snapshots.py --snapshot-update
"""
from textual.widgets import Input

from tests.screens.conftest import settle


def no_blink(app) -> None:
    for inp in app.screen.query(Input):
        inp.cursor_blink = False


def test_lookup_results(app, snap_compare):
    async def run_before(pilot):
        no_blink(pilot.app)
        await pilot.press(*"smi")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_lookup_bad_check_digit(app, coop, snap_compare):
    n = str(coop["ada"].number)
    bad = n[:-1] + str((int(n[-1]) + 1) % 10)

    async def run_before(pilot):
        no_blink(pilot.app)
        await pilot.press(*bad, "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_account_screen(app, snap_compare):
    async def run_before(pilot):
        await pilot.press(*"john smith", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_account_screen_wide(app, snap_compare):
    async def run_before(pilot):
        await pilot.press(*"john smith", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_help_screen(app, snap_compare):
    async def run_before(pilot):
        no_blink(pilot.app)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_contact_screen_with_an_error(app, snap_compare):
    async def run_before(pilot):
        await pilot.press(*"john smith", "enter")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("ctrl+e", *"555-12", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
