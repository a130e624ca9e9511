"""FormDialog: a short guided form in a box over the screen (new, complete and cancel a service
order): a title bar, what it is about, one StepForm, the Footer. The form's Leave key (Esc)
dismisses it with None; a subclass dismisses with its result when the form is done."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ScreenResultType
from textual.widgets import Footer, Static

from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.step_form import StepForm


class FormDialog(Dialog[ScreenResultType]):
    DEFAULT_CSS = """
    FormDialog { align: center middle; }
    FormDialog > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $panel; }
    FormDialog .modal-title { padding: 0 1; text-style: bold; background: $primary-background; }
    """

    @property
    def form(self) -> StepForm:
        return self.query_one(StepForm)

    def title_text(self) -> str:
        raise NotImplementedError

    def compose_about(self) -> ComposeResult:
        """What the form is about, above it."""
        yield from ()

    def make_form(self) -> StepForm:
        raise NotImplementedError

    def compose_below(self) -> ComposeResult:
        """Anything under the form (a list of choices)."""
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text(), classes="modal-title")
            yield from self.compose_about()
            yield self.make_form()
            yield from self.compose_below()
        yield Footer()

    def on_mount(self) -> None:
        form = self.form
        form.closes_on_submit = True      # the keys typed behind the Enter that closes it are the next screen's
        form.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
