"""PromptScreen: the one dialog that asks for a line of text (a reason, a search)."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from kec_tui.keymap import bind, keys_text
from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.line_input import LineInput


class PromptScreen(Dialog[str | None]):
    """Ask for one line of text: dismissed with the text (stripped), or None on Esc.

    Args:
        title: the dialog's first line, in bold.
        prompt: what to type and why (may be empty).
        placeholder: shown in the empty box.
        value: the text the box starts with.
        required: the message shown when Enter is pressed on an empty box; None:
            an empty box is dismissed as None.
        help: the F1 text.
    """

    HELP = "Type the text and press Enter; {modal.cancel} cancels."
    AUTO_FOCUS = "LineInput"
    BINDINGS = [bind("modal.cancel", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 72; max-width: 100%; height: auto; border: round $primary;
        background: $panel; padding: 0 1; }
    PromptScreen #prompt { height: auto; }
    """

    def __init__(self, title: str, prompt: str = "", *, placeholder: str = "", value: str = "",
                 required: str | None = None, max_length: int = 200, help: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder
        self.value = value
        self.required = required
        self.max_length = max_length
        self._answered = False
        if help:
            self.HELP = help

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            if self.prompt:
                yield Static(Text(self.prompt), id="prompt")
            line = LineInput(self.value, placeholder=self.placeholder, max_length=self.max_length, id="text",
                             validate=self._check)
            line.closes_on_submit = True      # keys typed behind Enter go to what comes next
            yield line

    def _check(self, text: str) -> str | None:
        """On Enter, before the next key: an empty box where text is required is refused; else the
        dialog closes now, so the keys typed behind the Enter reach the screen beneath."""
        if self.required and not text.strip():
            return self.required
        self._answer(text)
        return None

    def _answer(self, text: str) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(text.strip() or None)

    @property
    def line_input(self) -> LineInput:
        return self.query_one(LineInput)

    @on(LineInput.Submitted)
    def submitted(self, event: LineInput.Submitted) -> None:
        event.stop()
        self._answer(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


REASON_HELP = ("Type the reason and press Enter; {modal.cancel} cancels. The reason is kept with your name in the "
               "audit log.")


def reason_prompt(title: str, prompt: str, *, placeholder: str = "Reason") -> PromptScreen:
    """A PromptScreen for a reason that must be given (void, return, accept, post out of balance)."""
    return PromptScreen(title, prompt, placeholder=placeholder, help=REASON_HELP,
                        required=f"A reason is required ({keys_text('modal.cancel')} cancels)")
