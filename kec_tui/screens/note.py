"""F7 on an account: add a note (kept with your name and the time)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from kec_tui.keymap import bind, keys_text
from kec_tui.services import accounts
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.line_input import LineInput

MAX_NOTE = 2000


class NoteScreen(Dialog[bool]):
    """Add a note to the account."""

    HELP = ("Type the note; Enter or {note.save} saves it to the account with your name and the time, "
            "{note.cancel} cancels. Long notes wrap.")
    AUTO_FOCUS = "LineInput"
    BINDINGS = [bind("note.save", "save", "Save"), bind("note.cancel", "cancel", "Cancel")]
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical { width: 70; max-width: 100%; height: auto; max-height: 100%; border: round $primary;
        background: $panel; }
    NoteScreen LineInput { min-height: 5; max-height: 20; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Note (Enter or {keys_text('note.save')} saves, {keys_text('note.cancel')} cancels)")
            yield LineInput(id="text", max_length=MAX_NOTE, wrap=True, validate=self._save)

    def _save(self, text: str) -> str | None:
        """On Enter, before the next key: write the note, or refuse with the reason."""
        try:
            accounts.add_note(self.app.operator, self.account_id, text)
        except ServiceError as e:
            return e.message
        return None

    @on(LineInput.Submitted)
    def saved(self, event: LineInput.Submitted) -> None:
        event.stop()
        self.dismiss(True)

    def action_save(self) -> None:
        line_input = self.query_one(LineInput)
        line_input.action_field_exit()   # as Enter: saves, or shows why not
        line_input.refresh()

    def action_cancel(self) -> None:
        self.dismiss(False)
