"""EntryForm redraws only the lines a key changed (over serve-ssh every repainted line is sent).

Each test wraps the form's ``refresh`` to see the regions a key marks dirty, and checks that
what the screen keeps for the form (Textual's cached strips, refreshed or not) is what a
whole redraw of the form would show: no line is left stale.
"""
from __future__ import annotations

from textual.geometry import Region
from textual.visual import Visual, visualize

from kec_tui.widgets.entry_form import SubmitResult
from tests.support.entry_form import FormApp, account_no, payment_fields
from tests.support.keys import send_burst, settle

ACCOUNT, AMOUNT, CHECK_NO, BELOW, INFO, PREVIOUS = range(6)  # the form's lines


class Refreshes:
    """The refresh calls a form gets, by line (None: the whole form)."""

    def __init__(self, form) -> None:
        self.calls: list[tuple[tuple[Region, ...], dict]] = []
        real = form.refresh

        def spy(*regions, **kwargs):
            self.calls.append((regions, kwargs))
            return real(*regions, **kwargs)

        form.refresh = spy
        self.width = form.size.width

    def lines(self) -> set[int | None]:
        found: set[int | None] = set()
        for regions, kwargs in self.calls:
            if not regions or kwargs.get("layout"):
                found.add(None)
            for region in regions:
                assert region.x == 0 and region.width == self.width and region.height == 1, region
                found.add(region.y)
        return found

    def clear(self) -> None:
        self.calls.clear()


def painted(form) -> list[str]:
    """The form's content lines as the screen has them (cached strips for lines not refreshed)."""
    top = form.content_offset.y
    strips = form.render_lines(Region(0, top, form.outer_size.width, form.size.height))
    return [strip.text.rstrip() for strip in strips]


def whole(form) -> list[str]:
    """The same lines drawn whole from the form's state, as Textual draws a widget's render()."""
    strips = Visual.to_strips(form, visualize(form, form.render()), form.size.width, None, form.visual_style)
    return [strip.text.rstrip() for strip in strips]


def same_text(form) -> None:
    assert [line.strip() for line in painted(form)] == [line.strip() for line in whole(form)]


async def key(pilot, refreshes: Refreshes, *keys: str) -> set[int | None]:
    refreshes.clear()
    await pilot.press(*keys)
    await pilot.pause()
    return refreshes.lines()


async def test_a_digit_refreshes_its_field_line_only():
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.form
        seen = Refreshes(form)
        assert await key(pilot, seen, "1") == {ACCOUNT}
        assert await key(pilot, seen, "2") == {ACCOUNT}
        assert await key(pilot, seen, "backspace") == {ACCOUNT}
        same_text(form)
        # Field Exit: the cursor leaves one line for the next.
        await pilot.press("backspace")
        assert await key(pilot, seen, *account_no(12345), "enter") >= {ACCOUNT, AMOUNT}
        assert seen.lines() == {ACCOUNT, AMOUNT}
        assert await key(pilot, seen, "5") == {AMOUNT}
        same_text(form)


async def test_an_error_and_held_keys_refresh_the_lines_of_the_message_only():
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.form
        seen = Refreshes(form)
        wrong = account_no(12345)[:-1] + str((int(account_no(12345)[-1]) + 1) % 10)
        await pilot.press(*wrong)
        assert await key(pilot, seen, "enter") == {ACCOUNT}  # refused: the message beside the field
        assert form.locked and "Check digit is wrong" in painted(form)[ACCOUNT]
        # A held key: the count makes the message too long to stand beside the field at 80
        # columns, so it moves under the fields: those two lines.
        assert await key(pilot, seen, "7") == {ACCOUNT, BELOW}
        assert "1 key typed after it was not used" in painted(form)[BELOW]
        assert await key(pilot, seen, "8") == {BELOW}  # the count only
        assert "2 keys typed after it were not used" in painted(form)[BELOW]
        assert await key(pilot, seen, "escape") == {ACCOUNT, BELOW}  # Reset: the field cleared, no message
        assert not form.locked and form.values["account"] == ""
        same_text(form)


async def test_a_message_too_long_for_the_line_goes_below_and_clears_with_a_line_refresh():
    long = "Amount: this payment is far above what the account owes; check the stub and key it again"
    fields = payment_fields(validate=lambda text, record: long)
    app = FormApp(fields=fields)
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        form = app.form
        await pilot.press(*account_no(12345), "enter", *"12")
        seen = Refreshes(form)
        assert await key(pilot, seen, "enter") == {BELOW}  # refused: the field stays as it is, the message below
        assert painted(form)[BELOW].strip().startswith("Amount: this payment is far above")
        assert await key(pilot, seen, "escape") == {AMOUNT, BELOW}
        assert painted(form)[BELOW].strip() == ""
        same_text(form)


async def test_a_wrapped_message_changes_the_height_and_redraws_whole():
    long = "Not saved: " + "the service said no, " * 8
    app = FormApp(on_submit=lambda record: SubmitResult(None, long))
    async with app.run_test(size=(60, 24)) as pilot:
        await pilot.pause()
        form = app.form
        height = form.size.height
        await pilot.press(*account_no(12345), "enter", "enter", "enter")
        await pilot.pause()
        assert form.locked and form.size.height > height  # wrapped over lines of its own, never cut
        same_text(form)
        await pilot.press("escape")
        await pilot.pause()
        assert form.size.height == height
        same_text(form)


async def test_the_current_field_moved_without_focus_refreshes_both_lines():
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.form
        app.set_focus(None)  # no cursor drawn: only the current field's shading tells which it is
        await pilot.pause()
        seen = Refreshes(form)
        form.focus_field("amount")
        await pilot.pause()
        assert seen.lines() == {ACCOUNT, AMOUNT}


async def test_info_and_previous_lines_refresh_when_they_change():
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.form
        seen = Refreshes(form)
        seen.clear()
        form.set_info("Jane Payer  12 Main St  due 123.45")
        await pilot.pause()
        assert seen.lines() == {INFO}
        account = account_no(12345)
        # The record written: every field line empties, the info line clears, Previous shows it.
        await pilot.press(*account, "enter", "enter", *"77")
        assert await key(pilot, seen, "enter") == {ACCOUNT, CHECK_NO, AMOUNT, INFO, PREVIOUS}
        assert painted(form)[PREVIOUS].strip().startswith(f"Previous: Account {account}")
        same_text(form)


async def test_a_burst_with_refusals_leaves_no_line_stale():
    keys: list[str] = []
    for i in range(30):
        account = account_no(20000 + i)
        if i % 3 == 2:
            keys += [*(account[:-1] + str((int(account[-1]) + 1) % 10)), "enter", *"99", "escape"]
        keys += [*account, "enter", "enter", *str(500 + i), "enter"]
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        send_burst(app, keys + [*account_no(31000), "enter", "1"])
        await settle(pilot, lambda: len(app.committed) == 30)
        assert app.form.values["amount"] == "1.00" and app.form.current == "amount"
        same_text(app.form)


def footer_keys(app) -> dict[str, bool]:
    """action -> enabled, as the Footer shows the keys (it draws the screen's active bindings)."""
    return {binding.action: enabled for _, binding, enabled, _ in app.screen.active_bindings.values()}


async def frames(pilot, n: int = 3) -> None:
    """A few frames: the Footer is rebuilt after the frame that follows a change of its keys."""
    for _ in range(n):
        await pilot.pause()


async def test_the_footer_shows_the_lock_and_is_rebuilt_once_a_frame_not_per_lock():
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.form
        assert footer_keys(app)["dup"] is True
        rebuilt = []
        real = form.refresh_bindings
        form.refresh_bindings = lambda: (rebuilt.append(form.locked), real())[1]
        wrong = account_no(12345)[:-1] + str((int(account_no(12345)[-1]) + 1) % 10)
        await pilot.press(*wrong, "enter")
        await frames(pilot)
        assert form.locked and rebuilt == [True]
        keys = footer_keys(app)
        assert keys["dup"] is False and keys["clear_record"] is True  # only Reset runs while locked
        await pilot.press(*"99")  # held keys: the Footer does not change
        await frames(pilot)
        assert rebuilt == [True]
        await pilot.press("escape")
        await frames(pilot)
        assert not form.locked and rebuilt == [True, False] and footer_keys(app)["dup"] is True
        # A refusal and its Reset in one burst, before a frame: nothing to rebuild, the Footer is right.
        rebuilt.clear()
        send_burst(app, [*wrong, "enter", "9", "escape", *account_no(12345)])
        await settle(pilot)
        await frames(pilot)
        assert not form.locked and form.values["account"] == account_no(12345)
        assert footer_keys(app)["dup"] is True and rebuilt in ([], [True, False])
