"""Account lookup: one box, results as you type, arrows and Enter open one."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.services import accounts
from kec_tui.services.errors import first_line
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.tables import fill_width

PAGE = 30


class LookupScreen(Screen):
    """Find a member's account by account no., name, phone, e-mail, address or meter no."""

    HELP = ("Type any of: account number (check digit checked), name words in any order "
            "(prefixes are fine: 'smi joh'), phone, e-mail, service address, meter number. "
            "Results appear as you type, best matches first. Enter opens the first result; "
            "Down moves into the list, Enter there opens the highlighted account. {lookup.counter} takes a counter "
            "payment for the highlighted account (in the box: the first result).")
    BINDINGS = [
        bind("lookup.results", "results", "Results", show=False),
        bind("lookup.search", "search", "Search box", show=False),
        bind("lookup.counter", "counter", "Counter payment", show=False),
    ]
    DEFAULT_CSS = """
    LookupScreen #search { margin: 0 0; }
    LookupScreen #message { height: 1; padding: 0 1; color: $warning; }
    LookupScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._result: accounts.SearchResult | None = None
        self._query = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield LineInput(placeholder="Account no., name, phone, e-mail, address or meter no.", id="search",
                            max_length=10_000)
            yield Static("", id="message")
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Account", width=8, key="number")
        table.add_column("Name", width=22, key="name")
        table.add_column("Service address", width=20, key="address")
        table.add_column("Status", width=6, key="status")
        table.add_column("Found by", width=8, key="matched")
        self.focus_search()
        self.message(accounts.lookup("").message)
        self.call_after_refresh(self.app.release_input)

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        fill_width(self.query_one(DataTable), "address", self.size.width, minimum=10, ids=("number",))

    def focus_search(self) -> None:
        self.query_one("#search", LineInput).focus()

    def message(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    @on(LineInput.Changed, "#search")
    def search_changed(self, event: LineInput.Changed) -> None:
        self._query = event.value
        self.run_search(event.value)

    @work(thread=True, exclusive=True, group="lookup")
    def run_search(self, query: str) -> None:
        self.app.call_from_thread(self.show_result, query, self._lookup(query))

    @staticmethod
    def _lookup(query: str, after: tuple[str, int] | None = None) -> accounts.SearchResult:
        """In a thread worker (the service opens its connection); a database that does not answer
        is a message in the results line, never a traceback."""
        try:
            return accounts.lookup(query, limit=PAGE, after=after)
        except Exception as e:  # noqa: BLE001
            return accounts.SearchResult([], f"The database did not answer: {first_line(e)}")

    def show_result(self, query: str, result: accounts.SearchResult, *, append: bool = False) -> None:
        if query != self._query:
            return  # an older keystroke's answer arriving late
        table = self.query_one(DataTable)
        if not append:
            table.clear()
        for h in result.hits:
            if str(h.account_id) in table.rows:
                continue
            table.add_row(str(h.number), h.name, h.service_address, h.status, h.matched, key=str(h.account_id))
        self._result = result
        self.fit_columns()
        count = table.row_count
        more = " (more below)" if result.more else ""
        text = result.message or (f"{count} account{'s' * (count != 1)}{more}" if count else "")
        if len(query) > accounts.MAX_QUERY:
            text += f" (searched the first {accounts.MAX_QUERY} of {len(query):,} characters)"
        self.message(text)

    @on(LineInput.Submitted, "#search")
    def search_submitted(self, event: LineInput.Submitted) -> None:
        # Decide on the text as typed, not on a result still in flight.
        result = accounts.lookup(event.value, limit=PAGE)
        self._query = event.value
        self.show_result(event.value, result)
        if result.hits:
            self.app.open_account(result.hits[0].account_id)
        else:
            self.message(result.message)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_account(int(event.row_key.value))

    @on(DataTable.RowHighlighted)
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(DataTable)
        r = self._result
        if r and r.more and r.cursor and event.cursor_row >= table.row_count - 3:
            self._result = None  # one page request at a time
            self.load_more(self._query, r.cursor)

    @work(thread=True, exclusive=True, group="more")
    def load_more(self, query: str, cursor: tuple[str, int]) -> None:
        self.app.call_from_thread(self.show_result, query, self._lookup(query, cursor), append=True)

    def action_results(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def action_search(self) -> None:
        self.focus_search()

    def action_counter(self) -> None:
        table = self.query_one(DataTable)
        if table.has_focus and table.row_count:
            account_id = int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        else:
            result = accounts.lookup(self._query, limit=PAGE) if self._query.strip() else None
            if not result or not result.hits:
                self.message("Find the account first: type its number or name")
                return
            account_id = result.hits[0].account_id
        self.app.open_counter(account_id)
