"""Policies and rates at hand: Shift+F1 over an open account, search, open a document, Esc back to
the same account; the walkthrough's document opens first in training."""
from __future__ import annotations

import dataclasses

import pytest
from textual.widgets import OptionList

from kec_tui.screens.account import AccountScreen
from kec_tui.screens.help import HelpScreen
from kec_tui.screens.reference import ReferenceScreen
from tests.screens.conftest import settle
from tests.support.keys import send_burst


@pytest.fixture
def ref_app(app, tmp_path):
    app.settings = dataclasses.replace(app.settings, policies_dir=str(tmp_path / "policies"))
    return app


async def open_account(pilot, account) -> AccountScreen:
    pilot.app.open_account(account.id)
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountScreen)
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_search_open_and_back_to_the_same_account(ref_app, coop, tmp_path, size):
    async with ref_app.run_test(size=size) as pilot:
        account = await open_account(pilot, coop["smith"])
        await pilot.press("shift+f1")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ReferenceScreen)
        assert (tmp_path / "policies" / "disconnect-rules.md").is_file()     # copied on first use
        send_burst(pilot.app, [*"winter medical", "enter"])
        await settle(pilot)
        assert [h.document.name for h in screen.hits][0] == "disconnect-rules"
        assert screen.document == "disconnect-rules" and "medical certificate" in screen.source.lower()
        assert screen.query_one("#body").has_focus
        await pilot.press("f6")                                   # back to the search box: another search
        send_burst(pilot.app, ["ctrl+e", *"rotation"])
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        assert screen.query_one("#docs", OptionList).has_focus
        await pilot.press("enter")
        await settle(pilot)
        assert screen.document == "capital-credits"
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is account and account.account_id == coop["smith"].id


async def test_the_rate_schedules_and_training_documents_are_listed(ref_app, coop):
    async with ref_app.run_test(size=(80, 24)) as pilot:
        await pilot.press("shift+f1")
        await settle(pilot)
        names = [h.document.name for h in pilot.app.screen.hits]
        assert names[-1] == "rates" and "training/online-account-help" in names


async def test_a_document_the_co_op_edited_is_shown_as_edited(ref_app, coop, tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "deposits.md").write_text("# Deposits\n\nOur board set the deposit at $175.\n")
    async with ref_app.run_test(size=(80, 24)) as pilot:
        await pilot.press("shift+f1")
        await settle(pilot)
        send_burst(pilot.app, [*"$175", "enter"])
        await settle(pilot)
        assert pilot.app.screen.document == "deposits" and "$175" in pilot.app.screen.source


async def test_help_lists_every_key_of_the_reference_screen(ref_app, coop):
    async with ref_app.run_test(size=(80, 24)) as pilot:
        await pilot.press("shift+f1")
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        text = pilot.app.screen.as_text()
        for key in ("Esc", "F6", "Down", "Shift+F1"):
            assert key in text, key


async def test_in_training_the_reference_key_opens_the_walkthrough_document(ref_app, coop):
    class Trainer:                 # the one thing the app asks the trainer here
        def document(self) -> str:
            return "training/online-account-help"

    async with ref_app.run_test(size=(80, 24)) as pilot:
        pilot.app.trainer = Trainer()
        await pilot.press("shift+f1")
        await settle(pilot)
        assert pilot.app.screen.document == "training/online-account-help"
        pilot.app.trainer = None


async def test_the_palette_opens_the_policies(ref_app, coop):
    from textual.command import CommandPalette

    from tests.support.keys import settle as settle_until

    async with ref_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
        await pilot.press(*"policies")
        for _ in range(40):
            await pilot.pause(0.05)
            options = pilot.app.screen.query("CommandList").first()
            if options.option_count and "Policies and rates" in str(options.get_option_at_index(0).prompt):
                break
        await pilot.press("enter")
        await settle_until(pilot, lambda: isinstance(pilot.app.screen, ReferenceScreen))
