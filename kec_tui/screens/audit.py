"""The audit log for supervisors: who changed what, when, before and after."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.checkdigit import valid_account_number
from kec_tui.keymap import bind
from kec_tui.services import audit
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import EditForm, EntryForm, FieldSpec, Record, SubmitResult, parse_date

PAGE = 100


def _account(value: str, record: Record) -> str | None:
    if value and not valid_account_number(value):
        return f"{value}: check digit does not match"
    return None


FILTERS = (
    FieldSpec("operator", "Operator", "text", 32),
    FieldSpec("account", "Account", "digits", 10, validate=_account),
    FieldSpec("date_from", "From date", "date", 10),
    FieldSpec("date_to", "To date", "date", 10),
    FieldSpec("action", "Action", "text", 30),
)


class AuditScreen(Screen):
    """Audit log: every change, by operator, account, date and action."""

    HELP = ("Fill any filters (all empty shows everything, newest first) and press Enter on the last one, or "
            "{audit.apply} from any field. Operator is a login name, Action matches the start (contact, payment, "
            "order ...). Dates like 11/28/2026. Down in the list loads older entries. {audit.sign_ins} shows "
            "locked operators and refused sign-ins (and unlocks them). {audit.back} goes back.")
    BINDINGS = [
        bind("audit.apply", "apply", "Apply"),
        bind("audit.list", "list", "List"),
        bind("audit.back", "back", "Back"),
        bind("audit.sign_ins", "sign_ins", "Sign-ins"),
    ]
    DEFAULT_CSS = """
    AuditScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    AuditScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filters: dict = {}
        self._end = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield EditForm(FILTERS, on_submit=self.apply)
        yield Static("", id="summary")
        yield DataTable(id="entries", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width in (("When", 16), ("By", 8), ("Action", 18), ("Account", 8), ("Field", 14),
                             ("Before", 16), ("After", 16)):
            t.add_column(label, width=width)
        self.query_one(EntryForm).focus()
        self.apply({f.name: "" for f in FILTERS})

    def apply(self, record: Record) -> SubmitResult | None:
        self.filters = {
            "operator": record["operator"].strip(),
            "account_number": int(record["account"]) if record["account"] else None,
            "date_from": parse_date(record["date_from"]) if record["date_from"] else None,
            "date_to": parse_date(record["date_to"]) if record["date_to"] else None,
            "action": record["action"].strip(),
        }
        table = self.query_one(DataTable)
        table.clear()
        self._end = False
        try:
            shown = self.load_page()
        except ServiceError as e:
            return SubmitResult(None, e.message)
        self.query_one("#summary", Static).update(
            f"{shown}{'+' if not self._end else ''} entries" + ("" if any(self.filters.values()) else " (no filter)"))
        return None

    @on(EntryForm.Submitted)
    def keep_filters(self, event: EntryForm.Submitted) -> None:
        # The form clears after a submit; filters stay on screen so they can be refined.
        for name, value in event.record.items():
            event.form.set_value(name, value)

    def load_page(self) -> int:
        table = self.query_one(DataTable)
        before = int(table.coordinate_to_cell_key((table.row_count - 1, 0)).row_key.value) if table.row_count else None
        rows = audit.search(self.app.operator, limit=PAGE, before_id=before, **self.filters)
        self._end = len(rows) < PAGE
        for r in rows:
            table.add_row(f"{r.at:%m/%d/%y %H:%M:%S}", r.operator, r.action, str(r.account_number or ""),
                          r.field, Text(r.before[:40]), Text(r.after[:40]), key=str(r.id))
        return table.row_count

    @on(DataTable.RowHighlighted)
    def more(self, event: DataTable.RowHighlighted) -> None:
        if not self._end and event.cursor_row >= event.data_table.row_count - 5:
            self.load_page()

    def action_apply(self) -> None:
        self.query_one(EntryForm).submit()

    def action_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """Esc in the list returns to the filters; Esc in the filters leaves."""
        self.query_one(EntryForm).focus()

    def action_sign_ins(self) -> None:
        self.app.open("sign_ins")

    def action_cancel(self) -> None:
        self.app.leave(self)
