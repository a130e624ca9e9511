"""F1: the keys of the screen underneath (its own first, then the general ones) and how its work is done.

Everything about keys is read from the live bindings (the keymap applied), so the help can
never disagree with the keys: the tables come from the screen's binding chain, and a HELP text
names a key by its binding id in braces ("{contacts.save} saves"), shown as that id's keys.
"""
from __future__ import annotations

import io
import re

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kec_tui.keymap import bind, key_display, keys_text
from kec_tui.textual_internals import app_keymap, node_bindings

BINDING_ID = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")
Keys = list[tuple[str, str]]


def live_keys(screen: Screen) -> tuple[Keys, Keys]:
    """(own, general): the (keys, what it does) of every binding that works on `screen` now.

    Own: the focused widget's and the screen's. General: the app's, each key as it is everywhere
    else; where this screen gives one of them another meaning, the row says so ("here: Ledger").
    A dialog (modal screen) takes only the app's priority keys and its own Help key.
    """
    app = screen.app
    active = screen.active_bindings              # keymap applied, check_action consulted
    app_map = node_bindings(app).copy()
    app_map.apply_keymap(app_keymap(app) or {})
    own: dict[tuple, list[str]] = {}
    general: dict[tuple, list[str]] = {}

    def add(group: dict, b, key: str, does: str) -> None:
        keys = group.setdefault((b.action, does), [])
        if key_display(key) not in keys:
            keys.append(key_display(key))

    for key, item in active.items():
        b = item.binding
        if b.description and b.id and item.node is not app and not b.id.startswith("app."):
            add(own, b, key, b.description)
    for key, bindings in app_map.key_to_bindings.items():
        b = bindings[0]
        if not b.description or app._check_action_state(b.action, app) is False:
            continue
        here = active.get(key)
        if here is None:
            if not b.priority and not (screen.is_modal and b.id == "app.help"):
                continue                        # a dialog hides the app's keys
            add(general, b, key, b.description)
        elif here.node is app or here.binding.id == b.id or not here.binding.description:
            add(general, b, key, b.description)  # its own, or passed on to the app
        else:
            add(general, b, key, f"{b.description} (here: {here.binding.description})")
    return ([("/".join(k), d) for (_, d), k in own.items()],
            [("/".join(k), d) for (_, d), k in general.items()])


def help_text(text: str) -> str:
    """A HELP text with each {binding.id} replaced by its keys."""
    return BINDING_ID.sub(lambda m: keys_text(m.group(1)), text)


def keys_table(rows: Keys) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column("Key", style="bold cyan", no_wrap=True, min_width=16)
    table.add_column("Does")
    for keys, does in rows:
        table.add_row(keys, does)
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

    def parts(self) -> list:
        """What the help shows, in order: title, this screen's keys, the general ones, the text."""
        title = (self.under.__doc__ or type(self.under).__name__).strip().splitlines()[0]
        own, general = live_keys(self.under)
        parts: list = [Text(title, style="bold")]
        if own:
            parts += [Text("\nKeys here", style="bold"), keys_table(own)]
        if general:
            parts += [Text("\nEverywhere", style="bold"), keys_table(general)]
        text = getattr(self.under, "HELP", "")
        if text:
            parts.append(Text("\n" + help_text(text)))
        parts.append(Text(help_text("\n{help.close} closes this help."), style="dim"))
        return parts

    def as_text(self, width: int = 200) -> str:
        """The help as plain text (what a test or a screen reader reads)."""
        console = Console(width=width, record=True, file=io.StringIO())
        for part in self.parts():
            console.print(part)
        return console.export_text()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for part in self.parts():
                yield Static(part)
