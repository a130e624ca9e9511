"""The idle lock: after a quiet spell the screen is covered until the operator signs back in.

What was keyed underneath stays exactly as it was: the lock is a screen on top,
so an entry form keeps its unsaved fields and the keys typed while locked go to
the lock, never into the form.
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kec_tui import db
from kec_tui.services import passwords


class LockScreen(ModalScreen[None]):
    """Locked after idle time."""

    HELP = "Type your password (or, without one, your operator name) and Enter to go back to your work."
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen > Vertical { width: 60; height: auto; border: heavy $warning; background: $panel; padding: 1 2; }
    LockScreen #error { color: $error; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def has_password(self) -> bool:
        row = db.Operator.get_or_none(db.Operator.id == self.app.operator.id)
        return bool(row and row.password_hash)

    def compose(self) -> ComposeResult:
        op = self.app.operator
        secret = self.has_password()
        with Vertical():
            yield Static(f"Locked: {op.name} ({op.username}) was idle.\nYour work is kept as you left it.")
            yield Input(password=secret, placeholder="Password" if secret else "Operator name", id="secret")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def unlock(self, event: Input.Submitted) -> None:
        op = self.app.operator
        if self.has_password():
            ok = passwords.check_login(op.username, event.value) is not None
        else:
            ok = event.value.strip().lower() == op.username
        event.input.value = ""
        if ok:
            self.app.last_input_at = None  # restart the idle clock
            self.dismiss(None)
            return
        self.failures += 1
        self.query_one("#error", Static).update(f"Not recognized ({self.failures}); try again")
