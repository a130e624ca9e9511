"""Dialog: a modal screen on which F1 still opens the help.

A modal screen hides the app's keys (Textual stops the binding chain at it), so the app's
Help key is bound again here under the same binding id: one keymap entry moves both. It is not
a priority key, so F1 typed right behind the key that opened a dialog waits its turn.
"""
from __future__ import annotations

from textual.screen import ModalScreen, ScreenResultType

from kec_tui.keymap import bind


class Dialog(ModalScreen[ScreenResultType]):
    BINDINGS = [bind("app.help", "app.help", "Help", show=False)]
