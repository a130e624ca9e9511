"""GuidedScreen: a whole screen around one StepForm (new membership, move, closure): what it is
about on top, the form, a panel under it that each screen fills for the step the cursor is in
(show_panel), and leaving that asks first once something has been keyed."""
from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from kec_tui.widgets.dialogs import AskScreen
from kec_tui.widgets.step_form import StepForm


class GuidedScreen(Screen):
    DEFAULT_CSS = """
    GuidedScreen #form { height: auto; }
    GuidedScreen #panel { height: 1fr; padding: 0 1; border-top: hkey $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.done = False               # the work is done: leaving asks nothing

    def compose_head(self) -> ComposeResult:
        """What the form is about, above it."""
        yield from ()

    def make_form(self) -> StepForm:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_head()
        yield self.make_form()
        with VerticalScroll(id="panel"):
            yield Static("", id="panel-text")
        yield Footer()

    @property
    def form(self) -> StepForm:
        return self.query_one(StepForm)

    def on_mount(self) -> None:
        self.form.focus()
        self.show_panel()

    def show_panel(self, step: str | None = None) -> None:
        """Fill the panel for this step (the form's current one)."""

    def update_panel(self, renderable: RenderableType) -> None:
        self.query_one("#panel-text", Static).update(renderable)

    def keyed(self) -> bool:
        """Something has been keyed that leaving would drop."""
        return any(self.form.values.values())

    def leave_question(self) -> str:
        raise NotImplementedError

    def action_cancel(self) -> None:
        if self.done or not self.keyed():
            self.app.leave(self)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.leave(self)
        self.app.push_screen(AskScreen(self.leave_question()), answered)
