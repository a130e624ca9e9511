"""F1: the keys of the screen underneath and how its work is done."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kec_tui.keymap import bind


def keys_table(screen: Screen) -> Table:
    """Every active binding of `screen` (its widgets', its own and the app's), with its key."""
    table = Table(box=None, show_header=True, header_style="bold", expand=True)
    table.add_column("Key", style="bold cyan", no_wrap=True)
    table.add_column("Does")
    seen = set()
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not b.description or (b.action, b.description) in seen:
            continue
        seen.add((b.action, b.description))
        table.add_row(screen.app.get_key_display(b), b.description)
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [bind("help.close", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $panel; padding: 0 1; }
    """

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        title = (self.under.__doc__ or type(self.under).__name__).strip().splitlines()[0]
        with VerticalScroll():
            yield Static(Text(title, style="bold"))
            help_text = getattr(self.under, "HELP", "")
            if help_text:
                yield Static(help_text + "\n")
            yield Static(keys_table(self.under))
            yield Static(Text("Esc or F1 closes this help.", style="dim"))
