"""Dialogs: the modal base every dialog uses (F1 still helps there), and the small dialogs every
workflow uses: a question, and a result to read.

A modal screen hides the app's keys (Textual stops the binding chain at it), so the app's
Help key is bound again on Dialog under the same binding id: one keymap entry moves both. It is not
a priority key, so F1 typed right behind the key that opened a dialog waits its turn.
"""
from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from kec_tui.keymap import bind, keys_text


class Dialog(ModalScreen[ScreenResultType]):
    BINDINGS = [bind("app.help", "app.help", "Help", show=False)]


class ConfirmScreen(Dialog[bool]):
    """A question before something is done."""

    HELP = "{confirm.yes} says yes; {confirm.no} says no."
    BINDINGS = [bind("confirm.yes", "answer(True)", "Yes"), bind("confirm.no", "answer(False)", "No")]
    HINT = "Enter/Y: yes    Esc/N: no"
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 64; max-width: 100%; height: auto; border: round $warning;
        background: $panel; padding: 0 1; }
    """

    def __init__(self, title: str, text: str | Text = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            if self.text:
                yield Static(self.text)
            yield Static(Text(self.HINT, style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskScreen(ConfirmScreen, inherit_bindings=False):   # not ConfirmScreen's keys: its Enter says yes
    """A question whose yes loses something: only Y says yes, so an Enter typed ahead cannot."""

    HELP = "{ask.yes} answers yes; {ask.no} answers no."
    BINDINGS = [*Dialog.BINDINGS, bind("ask.yes", "answer(True)", "Yes"), bind("ask.no", "answer(False)", "No")]
    HINT = "Y yes   N no"


class MessageScreen(Dialog[None]):
    """What was done, with the numbers to give the member."""

    HELP = "{message.close} continues."
    BINDINGS = [bind("message.close", "close", "Continue")]
    DEFAULT_CSS = """
    MessageScreen { align: center middle; }
    MessageScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $success; background: $panel; padding: 0 1; }
    MessageScreen #result-hint { color: $text-muted; }
    """

    def __init__(self, title: str, body: str | Text | Sequence[str | Text]) -> None:
        super().__init__()
        self.title_text = title
        if isinstance(body, (list, tuple)):
            body = Text("\n").join(Text(x) if isinstance(x, str) else x for x in body)
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"), id="result-title")
            yield Static(self.body, id="result-body")
            yield Static("Enter continues", id="result-hint")

    def action_close(self) -> None:
        self.dismiss(None)


ResultScreen = MessageScreen


def menu_items(entries) -> list[tuple[str, str]]:
    """(action, label) pairs from (action, label[, binding id]) entries: a label names its own key."""
    return [(e[0], f"{e[1]}  ({keys_text(e[2])})" if len(e) > 2 and keys_text(e[2]) else e[1]) for e in entries]


class MenuScreen(Dialog[None]):
    """A short menu: Up/Down and Enter, or the item's number; `on_choice` is called with the chosen item's
    key once the menu is off the stack (Esc: not called). `items` are (key, label) pairs. The numbers are
    bindings, so the App holds the keys typed behind the choice until the menu has gone; the screen the
    choice opens is pushed before that (in the same step), so those keys are for it, not the menu."""

    HELP = "Up/Down and Enter choose, or the item's number; {menu.cancel} closes the menu."
    BINDINGS = [bind("menu.cancel", "cancel", "Close"),
                *(bind(f"menu.item_{n}", f"choose({n})", str(n), show=False) for n in range(1, 10))]
    DEFAULT_CSS = """
    MenuScreen { align: center middle; }
    MenuScreen > Vertical { width: 78; max-width: 100%; height: auto; border: round $primary; background: $panel;
        padding: 0 1; }
    MenuScreen OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, title: str, items: list[tuple[str, str]], on_choice) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.on_choice = on_choice
        self.chosen = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield OptionList(*(Option(f"{i}  {label}", id=key) for i, (key, label) in enumerate(self.items, start=1)))

    def on_mount(self) -> None:
        self.options = self.query_one(OptionList)
        self.options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._close(event.option.id)

    def action_choose(self, n: int) -> None:
        if 1 <= n <= len(self.items):
            self._close(self.items[n - 1][0])

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, key: str | None) -> None:
        if self.chosen:                     # once: a second Enter queued behind the first is not a second choice
            return
        self.chosen = True
        self.app.pop_screen()
        if key is not None:
            self.on_choice(key)

    def on_unmount(self) -> None:
        # The keys the App held behind the choice go on to what the choice opened.
        gone = getattr(self.app, "input_target_gone", None)
        if gone is not None:
            gone(self.options)
            gone(self)
