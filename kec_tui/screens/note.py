"""F7 on an account: add a note (kept with your name and the time)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static, TextArea

from kec_tui.keymap import bind
from kec_tui.services import accounts
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialog import Dialog


class NoteScreen(Dialog[bool]):
    """Add a note to the account."""

    HELP = "Type the note; {note.save} saves it to the account with your name and the time, {note.cancel} cancels."
    BINDINGS = [bind("note.save", "save", "Save"), bind("note.cancel", "cancel", "Cancel")]
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical { width: 70; max-width: 100%; height: 14; border: round $primary; background: $panel; }
    NoteScreen TextArea { height: 1fr; }
    NoteScreen #error { color: $error; height: auto; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Note (Ctrl+S saves, Esc cancels)")
            yield TextArea(id="text")
            yield Static("", id="error")

    def action_save(self) -> None:
        try:
            accounts.add_note(self.app.operator, self.account_id, self.query_one(TextArea).text)
        except ServiceError as e:
            self.query_one("#error", Static).update(e.message)
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
