"""Sign-ins for supervisors: operators locked after too many wrong passwords, and the recent
refusals, locks and unlocks over SSH and the web (services/sign_in_guard.py)."""
from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.services import sign_in_guard
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.tables import fill_width


class SignInsScreen(Screen):
    HELP = ("Operators locked after too many wrong passwords (top), and the latest refused sign-ins, locks "
            "and unlocks (below). A lock lifts by itself when its window passes. Move to a locked operator "
            "and press {sign_ins.unlock} to unlock them (supervisors). {sign_ins.refresh} refreshes; "
            "{sign_ins.back} goes back.")
    BINDINGS = [
        bind("sign_ins.unlock", "unlock", "Unlock"),
        bind("sign_ins.refresh", "refresh", "Refresh"),
        bind("sign_ins.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    SignInsScreen .title { height: 1; padding: 0 1; text-style: bold; }
    SignInsScreen #locked { height: auto; max-height: 8; }
    SignInsScreen #events { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Locked operators", classes="title", id="locked-title")
        yield DataTable(id="locked", cursor_type="row")
        yield Static("Recent refusals, locks and unlocks", classes="title")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        locked = self.query_one("#locked", DataTable)
        for label, width in (("Operator", 12), ("Name", 24), ("Locked at", 17), ("Until", 17)):
            locked.add_column(label, width=width)
        table = self.query_one("#events", DataTable)
        for label, width in (("When", 11), ("Operator", 8), ("What", 17), ("Detail", 30)):
            table.add_column(label, width=width, key=label.lower())
        self.action_refresh()
        locked.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns(event.size.width)

    def fit_columns(self, width: int) -> None:
        fill_width(self.query_one("#events", DataTable), "detail", width, minimum=20, ids=("operator",))

    def action_refresh(self) -> None:
        locked = self.query_one("#locked", DataTable)
        locked.clear()
        rows = sign_in_guard.locked_operators()
        for o in rows:
            locked.add_row(o.username, o.name, f"{o.locked_at:%m/%d/%y %H:%M:%S}", f"{o.until:%m/%d/%y %H:%M:%S}",
                           key=o.username)
        self.query_one("#locked-title", Static).update(f"Locked operators: {len(rows) or 'none'}")
        table = self.query_one("#events", DataTable)
        table.clear()
        for e in sign_in_guard.recent_events():
            table.add_row(f"{e.at:%m/%d %H:%M}", e.operator, e.action, e.detail)
        self.fit_columns(self.app.size.width)

    def action_unlock(self) -> None:
        locked = self.query_one("#locked", DataTable)
        if not locked.row_count:
            self.notify("No operator is locked", severity="warning")
            return
        username = locked.coordinate_to_cell_key((locked.cursor_row, 0)).row_key.value
        try:
            op = sign_in_guard.unlock(self.app.operator, username)
        except ServiceError as e:
            self.app.bell()
            self.notify(e.message, severity="error")
            return
        self.notify(f"{op.name} ({op.username}) is unlocked", title="Sign-ins")
        self.action_refresh()

    def action_back(self) -> None:
        self.app.leave(self)
