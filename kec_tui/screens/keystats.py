"""Shift+F8: keystroke statistics for supervisors: keys per hour and corrections per operator and day."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.services import keystats
from kec_tui.services.errors import ServiceError

PERIODS = (1, 7, 30, 90)
# (label, width, index into keystats.cells(), right-justified); Name only on a wide terminal.
COLUMNS = (("Day", 10, 0, False), ("Operator", 10, 1, False), ("Name", 20, 2, False), ("Keys", 8, 3, True),
           ("Active", 6, 4, True), ("Keys/h", 7, 5, True), ("Corr.", 6, 6, True), ("Corr. %", 7, 7, True),
           ("Void/chg", 8, 8, True))
WIDE = 100


class KeystatsScreen(Screen):
    """Keystroke statistics: keys per hour and corrections, per operator and day."""

    HELP = ("Each operator's keys per day: Keys (every key, a scanner's too), Active (the time between keys "
            "less than a minute apart), Keys/h (keys per active hour; skilled 10-key operators key 8,000 to "
            "12,000), Corr. (Backspace, Delete, Erase Input, Field Back) and its share of the keys, and "
            "payment lines voided or changed. Sessions add their counts about once a minute. The last lines "
            "sum each operator over the period. {keystats.days} changes the period (1, 7, 30, 90 days), "
            "{keystats.refresh} reloads, {keystats.back} goes back.")
    BINDINGS = [
        bind("keystats.days", "days", "Period"),
        bind("keystats.refresh", "reload", "Reload"),
        bind("keystats.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    KeystatsScreen #summary { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    KeystatsScreen DataTable { height: 1fr; }
    KeystatsScreen #note { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, days: int = 7) -> None:
        super().__init__()
        self.days = days

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="summary")
        yield DataTable(id="stats", cursor_type="row", zebra_stripes=True)
        yield Static("", id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.columns = [c for c in COLUMNS if c[0] != "Name" or self.app.size.width >= WIDE]
        table = self.query_one(DataTable)
        for label, width, _, _ in self.columns:
            table.add_column(label, width=width)
        self.load()
        table.focus()

    def _row(self, cells: tuple[str, ...], style: str = "") -> list[Text]:
        return [Text(cells[i], justify="right" if right else "left", style=style) for _, _, i, right in self.columns]

    def load(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        try:
            rows = keystats.report(self.app.operator, self.days)
        except ServiceError as e:
            self.query_one("#note", Static).update(Text(e.message, style="bold red"))
            return
        for r in rows:
            table.add_row(*self._row(keystats.cells(r)))
        for t in keystats.totals(rows) if self.days > 1 else []:
            table.add_row(*self._row(keystats.cells(t, day=f"{self.days} days"), "bold"))
        who = len({r.username for r in rows})
        self.query_one("#summary", Static).update(
            f"Keystroke statistics: the last {self.days} day{'s' * (self.days != 1)}, {who} operator"
            f"{'s' * (who != 1)}")
        self.query_one("#note", Static).update(
            Text("No keys recorded in this period." if not rows else
                 "Keys/h: keys per active hour (gaps under a minute). Corr.: Backspace, Delete, Erase Input, "
                 "Field Back. Void/chg: payment lines voided or changed. Sessions report about once a minute."))

    def action_days(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)] if self.days in PERIODS else 7
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.leave(self)
