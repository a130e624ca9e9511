"""Payment batches: the list (unposted first), a new batch from the adding-machine tape, reopen."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import batches
from kec_tui.services.batches import BatchInfo
from kec_tui.services.errors import ServiceError
from kec_tui.textual_internals import event_clock
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.payment_form import PaymentDialog, PaymentForm
from kec_tui.widgets.payment_text import signed_dollars
from kec_tui.widgets.prompt import reason_prompt

PAGE = 50
FILTERS = ("all", "unposted", "posted")
TENDER_CHOICES = {"Check": "check", "Cash": "cash", "Money order": "money_order"}
STATUS_STYLE = {"open": "bold", "balanced": "bold green", "out_of_balance": "bold yellow", "posted": "dim",
                "void": "dim strike"}
SHORT_TENDER = {"check": "Check", "cash": "Cash", "money_order": "M.O.", "lockbox": "Lockbox", "ach": "ACH"}
_FIELD_OF = {"batch_date": "date", "tender": "tender", "control_count": "count", "control_total": "total"}


class BatchFormScreen(PaymentDialog[BatchInfo | batches.BatchTotals | None]):
    """Open a batch from the adding-machine tape (or correct the tape of an open one)."""

    HELP = ("Key the batch from the adding-machine tape: the date (Enter takes today), the tender "
            "(C check, A cash, M money order; Enter takes Check), the count of stubs and their total. "
            "Enter on the total opens the batch; its number is assigned. {entry_form.clear_record} cancels.")
    DEFAULT_CSS = """
    BatchFormScreen > Vertical { width: 64; }
    """

    def __init__(self, batch: BatchInfo | None = None) -> None:
        super().__init__()
        self.batch = batch  # None: a new batch; else correct this batch's controls

    def compose(self) -> ComposeResult:
        fields = []
        if self.batch is None:
            fields += [
                FieldSpec("date", "Batch date", "date", 10, mandatory_entry=True, validate=self._check_date,
                          default=lambda r: dt.date.today().strftime("%m/%d/%Y")),
                FieldSpec("tender", "Tender", "choice", 11, mandatory_entry=True, choices=tuple(TENDER_CHOICES),
                          default=lambda r: "Check"),
            ]
        fields += [
            FieldSpec("count", "Control count", "digits", 5, mandatory_entry=True, validate=self._check_count),
            FieldSpec("total", "Control total", "money", 12, mandatory_entry=True, validate=self._check_total),
        ]
        cancel = keys_text("entry_form.clear_record")
        title = (f"New batch: key the tape, Enter moves on, {cancel} cancels" if self.batch is None else
                 f"Correct the tape of batch {self.batch.number} (audited), {cancel} cancels")
        with Vertical():
            yield Label(title, id="title")
            yield PaymentForm(fields, on_submit=self._save, on_escape=lambda: self.dismiss(None))

    def on_mount(self) -> None:
        form = self.query_one(PaymentForm)
        form.accept_after = event_clock()  # keys typed before the form appeared are not taken as the tape
        if self.batch is not None:
            form.set_value("count", str(self.batch.control_count))
            form.set_value("total", str(money.to_decimal(self.batch.control_total_cents)))
            form.focus_field("count")
            form.set_info(f"Keyed so far: {self.batch.count:,} lines {money.fmt_dollars(self.batch.total_cents)}")
        form.focus()

    @staticmethod
    def _check_date(text: str, record: Record) -> str | None:
        day = parse_date(text)
        if day > dt.date.today() + dt.timedelta(days=7):
            return "The batch date is more than a week ahead"
        if day < dt.date.today() - dt.timedelta(days=365):
            return "The batch date is more than a year ago"
        return None

    @staticmethod
    def _check_count(text: str, record: Record) -> str | None:
        if not 1 <= int(text) <= batches.MAX_CONTROL_COUNT:
            return f"Control count: 1 to {batches.MAX_CONTROL_COUNT:,} stubs"
        return None

    @staticmethod
    def _check_total(text: str, record: Record) -> str | None:
        try:
            cents = money.parse(text)
        except money.MoneyError as e:
            return str(e)
        if cents <= 0:
            return "Control total must be more than zero"
        return None

    def _save(self, record: Record) -> SubmitResult | None:
        op = self.app.operator
        try:
            count, cents = int(record["count"]), money.parse(record["total"])
            if self.batch is None:
                result = batches.open_batch(op, TENDER_CHOICES[record["tender"]], count, cents,
                                            parse_date(record["date"]))
            else:
                result = batches.change_controls(op, self.batch.id, count, cents)
        except ServiceError as e:
            return SubmitResult(_FIELD_OF.get(e.field or "", None), e.message)
        self.dismiss(result)
        return None


def batch_row(b: BatchInfo) -> tuple:
    diff = ""
    if b.status != "posted" and (b.count_difference or b.total_difference_cents):
        diff = signed_dollars(b.total_difference_cents)
        if b.count_difference:
            diff = f"{b.count_difference:+d} {diff}"
    status = "out of bal" if b.status == "out_of_balance" else b.status
    return (Text(str(b.number), style="bold"), f"{b.batch_date:%m/%d/%y}", SHORT_TENDER.get(b.tender, b.tender),
            Text(status, style=STATUS_STYLE.get(b.status, "")), Text(f"{b.count}/{b.control_count}", justify="right"),
            Text(money.fmt(b.total_cents), justify="right"), Text(diff, style="yellow", justify="right"), b.operator)


class BatchListScreen(Screen):
    """Payment batches: open a new one, reopen an unposted one, see the posted ones."""

    HELP = ("Unposted batches come first (open, balanced, out of balance: also one left behind when the "
            "program stopped), then the posted ones, newest first. Enter reopens a batch where keying "
            "stopped (every line keyed was saved), or shows a posted one. {batches.new} opens a new batch "
            "from the adding-machine tape. {batches.filter} shows all / unposted / posted. {batches.import} "
            "imports a bank lockbox file and works its exceptions. {batches.void} voids an empty batch opened "
            "by mistake.")
    BINDINGS = [
        bind("batches.new", "new", "New batch"),
        bind("batches.filter", "filter", "Show"),
        bind("batches.import", "lockbox", "Lockbox"),
        bind("batches.void", "void", "Void batch"),
        bind("batches.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    BatchListScreen #heading { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    BatchListScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    BatchListScreen #message.error { color: $text-error; text-style: bold; }
    BatchListScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        self._show_by = False
        self._opening = False  # a batch or the tape form is being opened: Enter/F5 typed ahead do nothing
        self._posted_loaded = 0
        self._posted_end = False
        self._rows: dict[str, BatchInfo] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="heading")
        yield DataTable(id="batches", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        columns = [("Batch", 5, "number"), ("Date", 8, "date"), ("Tender", 7, "tender"), ("Status", 10, "status"),
                   ("Lines", 9, "lines"), ("Total", 11, "total"), ("Diff", 15, "diff")]
        self._show_by = self.app.size.width >= 96  # who opened it: where there is room (not at 80 columns)
        if self._show_by:
            columns.append(("Opened by", 10, "by"))
        for label, width, key in columns:
            table.add_column(label, width=width, key=key)
        self.load()
        table.focus()

    def message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#message", Static)
        widget.update(Text(text))
        widget.set_class(error, "error")

    def load(self, keep: int | None = None) -> None:
        """(Re)load the list; `keep` a batch id to keep the cursor on."""
        table = self.query_one(DataTable)
        table.clear()
        self._rows.clear()
        self._posted_loaded = 0
        self._posted_end = self.filter == "unposted"
        unposted = [] if self.filter == "posted" else batches.list_batches(status=batches.EDITABLE, limit=1000)
        for b in unposted:
            self._add(b)
        if self.filter != "unposted":
            self._more_posted()
        n = len(unposted)
        self.query_one("#heading", Static).update(
            f"Payment batches: {self.filter}   ({n} unposted)" if self.filter != "posted" else
            "Payment batches: posted, newest first")
        if keep is not None and str(keep) in self._rows:
            table.move_cursor(row=table.get_row_index(str(keep)))
        if not table.row_count:
            self.message(f"No batches yet: {keys_text('batches.new')} opens one from the adding-machine tape")
        elif n and self.filter != "posted":
            self.message(f"{n} unposted batch{'es' * (n != 1)}: Enter reopens where keying stopped")
        else:
            self.message("")

    def _add(self, b: BatchInfo) -> None:
        cells = batch_row(b)
        self.query_one(DataTable).add_row(*(cells if self._show_by else cells[:-1]), key=str(b.id))
        self._rows[str(b.id)] = b

    def _more_posted(self) -> None:
        page = batches.list_batches(status="posted", limit=PAGE, offset=self._posted_loaded)
        self._posted_loaded += len(page)
        self._posted_end = len(page) < PAGE
        for b in page:
            self._add(b)

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self._posted_end and event.cursor_row >= event.data_table.row_count - 3:
            self._more_posted()

    def _current(self) -> BatchInfo | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return self._rows.get(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        b = self._rows.get(event.row_key.value)
        if b is None or self._opening or not self.is_current:
            return  # an Enter typed ahead while a batch or the tape form is opening: not a second open
        self._opening = True
        if not self.open_batch(b.id):
            self._opening = False

    def open_batch(self, batch_id: int) -> bool:
        """The batch's entry screen (a keyed unposted batch reopened for keying); False, said, if it cannot."""
        try:
            batches.open_for_entry(self.app.operator, batch_id)
        except ServiceError as e:
            self.message(e.message, error=True)
            return False
        self.app.open_batch(batch_id)
        return True

    def on_screen_resume(self) -> None:
        self._opening = False
        b = self._current()
        self.load(keep=b.id if b else None)

    def action_new(self) -> None:
        if self._opening:
            return
        self._opening = True

        def done(b) -> None:
            if isinstance(b, BatchInfo):
                self.load(keep=b.id)
                self.open_batch(b.id)

        self.app.push_screen(BatchFormScreen(), done)

    def action_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self.load()

    def action_lockbox(self) -> None:
        self.app.open("lockbox")

    def action_void(self) -> None:
        b = self._current()
        if b is None:
            return
        if b.status not in batches.EDITABLE or b.count:
            self.message(f"Batch {b.number}: only an unposted batch with no lines can be voided "
                         f"(void its lines first)", error=True)
            return

        def done(reason: str | None) -> None:
            if not reason:
                return
            try:
                batches.void_batch(self.app.operator, b.id, reason)
            except ServiceError as e:
                self.message(e.message, error=True)
                return
            self.load()
            self.message(f"Batch {b.number} void: {reason}")

        self.app.push_screen(reason_prompt(f"Void batch {b.number}", "An empty batch opened by mistake.",
                                           placeholder="Why"), done)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.leave(self)
