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
from textual.widgets import Static

from kec_tui.services import operators, passwords
from kec_tui.widgets.line_input import LineInput


class LockScreen(ModalScreen[None]):
    """Locked after idle time."""

    HELP = "Type your password (or, without one, your operator name) and Enter to go back to your work."
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen > Vertical { width: 60; height: auto; border: heavy $warning; background: $panel; padding: 1 2; }
    """

    AUTO_FOCUS = "LineInput"

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def has_password(self) -> bool:
        return operators.has_password(self.app.operator.id)

    def compose(self) -> ComposeResult:
        op = self.app.operator
        secret = self.has_password()
        with Vertical():
            yield Static(f"Locked: {op.name} ({op.username}) was idle.\nYour work is kept as you left it.")
            yield LineInput(password=secret, placeholder="Password" if secret else "Operator name", id="secret",
                            max_length=64, validate=self.check)

    def check(self, text: str) -> str | None:
        """On Enter, before the next key: a wrong try is a refusal (the entry form holds the
        keys typed behind it) and its text is cleared, so nothing typed later joins it."""
        op = self.app.operator
        if self.has_password():
            ok = passwords.check_login(op.username, text) is not None
        else:
            ok = text.strip().lower() == op.username
        self.query_one(LineInput).value = ""
        if ok:
            return None
        self.failures += 1
        return f"Not recognized ({self.failures}); try again"

    @on(LineInput.Submitted)
    def unlock(self, event: LineInput.Submitted) -> None:
        self.app.last_input_at = None  # restart the idle clock
        self.dismiss(None)
