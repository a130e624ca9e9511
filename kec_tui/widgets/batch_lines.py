"""LinesTable: a batch's lines in keyed order, a page at a time, for the batch entry screen.

Heads-down keying adds a line per Enter: the table appends it without a query and keeps
at most MAX_ROWS rows (older ones drop off); Up or PgUp on the first row loads the page
before, Home goes to line 1, End back to the last line keyed."""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.widgets import DataTable

from kec_tui import money
from kec_tui.services import batches
from kec_tui.services.batches import LineInfo
from kec_tui.widgets.tables import fill_width, grows

PAGE = 100          # lines loaded into the table at a time
MAX_ROWS = 300      # rows kept in the table while keying (older ones drop off; scroll up reloads)

COLUMNS = (("#", 4, "seq"), ("Account", 10, "account"), ("Name", 20, "name"), ("Check no", 10, "check"),
           ("Amount", 10, "amount"), ("Note", 8, "note"))


def line_cells(ln: LineInfo) -> tuple:
    void = ln.status == "void"
    style = "dim strike" if void else ""
    notes = []
    if void:
        notes.append("VOID")
    if ln.source == "scanned":
        notes.append("scan")
    if ln.unapplied:
        notes.append("unappl")
    elif ln.warnings_ack:
        notes.append("ack")
    account = str(ln.account_number) if ln.account_number else ln.account_text
    return (Text(str(ln.seq), justify="right", style=style), Text(account, style=style),
            Text(ln.name, style=style), Text(ln.check_no, style=style),
            Text(money.fmt(ln.amount_cents), justify="right", style=style), Text(" ".join(notes), style="dim"))


CELL_KEYS = tuple(key for _, _, key in COLUMNS)          # line_cells' order
ID_COLUMNS = ("seq", "account", "check", "amount")       # never cut: they grow to fit


class LinesTable(DataTable):
    """The lines of batch `batch_id`; `line_count()` says how many it has (void ones included)."""

    def __init__(self, batch_id: int, line_count: Callable[[], int], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.batch_id = batch_id
        self.line_count = line_count
        self.first_offset = 0           # offset (in keyed order) of the first row in the table
        self.rows_by_key: dict[str, LineInfo] = {}

    def fit(self) -> None:
        """The name gets what the fixed columns leave (each column pads 1 each side)."""
        fill_width(self, "name", self.screen.size.width, minimum=10, ids=ID_COLUMNS)

    def line(self, key: str | None) -> LineInfo | None:
        return self.rows_by_key.get(key)

    def highlighted_line(self) -> LineInfo | None:
        if not self.row_count:
            return None
        return self.line(self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value)

    def load(self, offset: int | None = None, cursor_seq: int | None = None, limit: int = PAGE) -> None:
        """Show `limit` lines from `offset` (default: the last page) in keyed order."""
        if not self.columns:
            for label, width, key in COLUMNS:
                self.add_column(label, width=width, key=key)
        total = self.line_count()
        if offset is None:
            offset = max(0, total - PAGE)
        offset = max(0, min(offset, max(0, total - 1)))
        self.clear()
        self.rows_by_key.clear()
        self.first_offset = offset
        for ln in batches.lines(self.batch_id, limit=limit, offset=offset):
            self._add(ln)
        self.fit()
        if cursor_seq is not None:
            self._move_to_seq(cursor_seq)
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def _add(self, ln: LineInfo) -> bool:
        """Add the line's row; True if an identifier column had to grow for it."""
        cells = line_cells(ln)
        self.add_row(*cells, key=str(ln.id))
        self.rows_by_key[str(ln.id)] = ln
        return any(grows(self, key, cell) for key, cell in zip(CELL_KEYS, cells) if key in ID_COLUMNS)

    def replace(self, ln: LineInfo) -> None:
        """A line changed or voided: its row shows it as it is now."""
        key = str(ln.id)
        if key not in self.rows_by_key:
            return
        for column, value in zip(CELL_KEYS, line_cells(ln)):
            self.update_cell(key, column, value)
        self.rows_by_key[key] = ln

    def append(self, ln: LineInfo) -> None:
        """A line just written: newest last, in view; the table never grows past MAX_ROWS."""
        at_end = self.first_offset + self.row_count >= self.line_count() - 1
        if not at_end:  # the table shows older lines (after Find): go back to the end
            self.load()
            return
        if self._add(ln):                   # a longer account or check number widened its column
            self.fit()
        while self.row_count > MAX_ROWS:
            first = self.coordinate_to_cell_key((0, 0)).row_key
            self.remove_row(first)
            self.rows_by_key.pop(first.value, None)
            self.first_offset += 1
        self.move_cursor(row=self.row_count - 1, animate=False)

    def _move_to_seq(self, seq: int) -> bool:
        for key, ln in self.rows_by_key.items():
            if ln.seq == seq:
                self.move_cursor(row=self.get_row_index(key), animate=False)
                return True
        return False

    def goto_seq(self, seq: int) -> None:
        """The cursor on line `seq` (loading its page), the table focused."""
        if not self._move_to_seq(seq):
            self.load(offset=seq - 1 - PAGE // 2, cursor_seq=seq)  # seq is dense: 1..n in keyed order
        self.focus()

    def page_back(self) -> None:
        """The page before the first line shown, the cursor staying on that line."""
        first = self.rows_by_key[self.coordinate_to_cell_key((0, 0)).row_key.value]
        offset = max(0, self.first_offset - PAGE)
        keep = min(self.row_count, MAX_ROWS - (self.first_offset - offset))
        self.load(offset=offset, cursor_seq=first.seq - 1, limit=self.first_offset - offset + keep)

    def _earlier(self) -> bool:
        if self.cursor_row == 0 and self.first_offset > 0:
            self.page_back()
            return True
        return False

    def action_cursor_up(self) -> None:
        if not self._earlier():
            super().action_cursor_up()

    def action_page_up(self) -> None:
        if not self._earlier():
            super().action_page_up()

    def action_scroll_home(self) -> None:
        """Home: the first line of the batch."""
        self.goto_seq(1)

    def action_scroll_end(self) -> None:
        """End: the last line keyed."""
        self.load()
