"""Bank lockbox files: import one (CSV or BAI2), and work the exceptions queue."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import accounts, batches, lockbox
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.services.lockbox import ExceptionInfo, ImportResult
from kec_tui.widgets.dialogs import MessageScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.payment_form import PaymentDialog, PaymentForm
from kec_tui.widgets.payment_text import account_info_line
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.tables import fill_width

PAGE = 50


def import_summary(r: ImportResult) -> str:
    """One paragraph a person reads after an import (the CLI prints the same)."""
    text = (f"Imported {r.filename} ({r.format.upper()}): {r.record_count:,} payments "
            f"{money.fmt_dollars(r.total_cents)}.")
    if r.batch_number:
        to_post = f", balanced: post it from the batch list ({keys_text('app.batches')})"
        text += (f" Batch {r.batch_number}: {r.matched_count:,} matched {money.fmt_dollars(r.matched_total_cents)}"
                 f"{', posted' if r.posted else to_post}.")
    if r.exception_count:
        text += (f" Exceptions: {r.exception_count:,} {money.fmt_dollars(r.exception_total_cents)} "
                 f"to work below.")
    else:
        text += " No exceptions."
    skipped = lockbox.skipped_lines(r)
    if skipped:     # fees and transfers in a bank's file: listed, not applied
        shown = skipped[:6] + ([f"  and {len(skipped) - 6} more"] if len(skipped) > 6 else [])
        text += "\n" + "\n".join(shown)
    return text


class ApplyExceptionScreen(PaymentDialog[batches.LineInfo | None]):
    """Apply an unmatched bank payment to the right account."""

    HELP = ("Key the account number the payment belongs to and press Enter: the member shows, and the payment "
            "goes into the open exceptions batch (post it from the batch list). Typing a name instead lists "
            "the accounts it matches. A warning (closed account, cash only, duplicate) stops it: {batch_entry.accept} "
            "accepts. {entry_form.clear_record} cancels.")
    DEFAULT_CSS = """
    ApplyExceptionScreen #what { padding: 0 1; }
    """

    def __init__(self, x: ExceptionInfo) -> None:
        super().__init__()
        self.x = x

    def compose(self) -> ComposeResult:
        x = self.x
        what = Text()
        what.append(f"{money.fmt_dollars(x.amount_cents)}", style="bold")
        what.append(f"  from {x.payer_name or 'an unnamed payer'}  check {x.check_no or '-'}  "
                    f"{x.filename} record {x.record_no}\n")
        what.append(f"Sent as account {x.account_text or '(none)'}: {x.reason}", style="dim")
        fields = [FieldSpec("account", "Account", "text", 30, mandatory_entry=True, validate=self._check)]
        with Vertical():
            yield Label(Text("Apply to an account (Enter), Esc cancels", style="bold"), id="title")
            yield Static(what, id="what")
            yield PaymentForm(fields, on_submit=self._save, on_escape=lambda: self.dismiss(None))

    def on_mount(self) -> None:
        self.query_one(PaymentForm).focus()

    def _check(self, text: str, record: Record) -> str | None:
        form = self.query_one(PaymentForm)
        text = text.strip()
        if text.isdigit():
            try:
                form.set_info(account_info_line(batches.account_info_for_entry(text)))
            except ServiceError as e:
                return e.message
            return None
        found = accounts.lookup(text, limit=3)
        if not found.hits:
            return found.message or f"Nothing found for {text!r}"
        form.set_info("   ".join(f"{h.number} {h.name}, {h.service_address}" for h in found.hits))
        return f"Key the account number ({len(found.hits)}{'+' if found.more else ''} found, below)"

    def _save(self, record: Record) -> SubmitResult | None:
        form = self.query_one(PaymentForm)
        ack, reason = form.acknowledgement(record)
        try:
            line = lockbox.resolve_exception(self.app.operator, self.x.id, record["account"].strip(), ack=ack,
                                             reason=reason)
        except ServiceError as e:
            return form.refused(e, record, field="account")
        self.dismiss(line)
        return None


class LockboxScreen(Screen):
    """Lockbox: import a bank file (CSV or BAI2) and work the exceptions queue."""

    HELP = ("Type the path of the bank's file and press Enter. The file is checked whole first (its own totals "
            "and record counts, every row): a file that does not add up is refused and nothing is applied; the "
            "same file twice is refused (also sent again with other line endings or padding). A CSV has a header "
            "row naming at least Account and Amount (dollars, 123.45), often Check Number, Payment Date and Payer "
            "Name; a BAI2 file's fees and other debits are listed as skipped, not applied. "
            "Payments that match an account become a balanced batch (post it from the batch list, {app.batches}); "
            "the rest go to the exceptions queue below. In the queue, Enter applies the payment to the account "
            "you found; {lockbox.return} returns it to the bank or payer with a reason. "
            "Tab moves between the file box and the queue; {lockbox.filter} shows open / all exceptions.")
    BINDINGS = [
        bind("lockbox.return", "return_exception", "Return it"),
        bind("lockbox.filter", "filter", "Show"),
        bind("lockbox.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    LockboxScreen #heading { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    LockboxScreen #result { height: auto; padding: 0 1; color: $text-accent; }
    LockboxScreen #result.error { color: $text-error; text-style: bold; }
    LockboxScreen #queue-title { height: 1; padding: 0 1; text-style: bold; }
    LockboxScreen DataTable { height: 1fr; }
    LockboxScreen #detail { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.show = "open"
        self._rows: dict[str, ExceptionInfo] = {}
        self._end = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Lockbox: import a bank file", id="heading")
        yield LineInput(placeholder="Path of the bank file (CSV or BAI2), then Enter", id="path")
        yield Static("", id="result")
        yield Static("", id="queue-title")
        yield DataTable(id="exceptions", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width, key in (("File / rec", 12, "file"), ("Sent as", 10, "account"), ("Amount", 10, "amount"),
                                  ("Check", 7, "check"), ("Payer", 14, "payer"), ("Why", 20, "reason")):
            table.add_column(label, width=width, key=key)
        self.load()
        self.query_one("#path", LineInput).focus()

    def result(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#result", Static)
        widget.update(Text(text))
        widget.set_class(error, "error")

    # -- the queue ---------------------------------------------------------------------
    def load(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self._rows.clear()
        self._end = False
        self.query_one("#detail", Static).update("")
        self._more()
        open_count = lockbox.open_exception_count()
        self.query_one("#queue-title", Static).update(
            f"Exceptions: {open_count:,} open" + ("" if self.show == "open" else " (showing all)")
            + (f"   Enter applies, {keys_text('lockbox.return')} returns" if open_count else ""))

    def _more(self) -> None:
        table = self.query_one(DataTable)
        page = lockbox.list_exceptions(None if self.show == "all" else "open", limit=PAGE, offset=len(self._rows))
        self._end = len(page) < PAGE
        for x in page:
            style = "" if x.status == "open" else "dim"
            reason = x.reason if x.status == "open" else f"{x.status}: {x.resolution}"
            table.add_row(Text(f"{x.filename[:9]} {x.record_no}", style=style), Text(x.account_text, style=style),
                          Text(money.fmt(x.amount_cents), justify="right", style=style),
                          Text(x.check_no, style=style), Text(x.payer_name, style=style),
                          Text(reason, style=style), key=str(x.id))
            self._rows[str(x.id)] = x
        self.on_resize()

    def on_resize(self) -> None:
        fill_width(self.query_one(DataTable), "reason", self.size.width, minimum=10,
                   ids=("file", "account", "amount", "check"))

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        x = self._rows.get(event.row_key.value) if event.row_key is not None else None
        if x is not None:  # the whole story of the highlighted payment, under the table
            when = f" paid {x.payment_date:%m/%d/%Y}" if x.payment_date else ""
            self.query_one("#detail", Static).update(Text(
                f"{x.filename} record {x.record_no}: {money.fmt_dollars(x.amount_cents)} from "
                f"{x.payer_name or '(no name)'}, check {x.check_no or '-'}{when}. {x.reason}"
                + (f" ({x.status}: {x.resolution})" if x.status != "open" else "")))
        if not self._end and event.cursor_row >= event.data_table.row_count - 3:
            self._more()

    def _current(self) -> ExceptionInfo | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.has_focus:
            return None
        return self._rows.get(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        x = self._rows.get(event.row_key.value)
        if x is None:
            return
        if x.status != "open":
            self.result(f"Already {x.status}: {x.resolution}", error=True)
            return

        def done(line: batches.LineInfo | None) -> None:
            if line is not None:
                b = batches.get_batch(line.batch_id)
                self.result(f"{money.fmt_dollars(line.amount_cents)} applied to {line.account_number} "
                            f"{line.name}: batch {b.number} line {line.seq} (post it from the batch list)")
                self.load()

        self.app.push_screen(ApplyExceptionScreen(x), done)

    def action_return_exception(self) -> None:
        x = self._current()
        if x is None:
            self.result("Choose a payment in the queue first (Tab, arrows)", error=True)
            return
        if x.status != "open":
            self.result(f"Already {x.status}: {x.resolution}", error=True)
            return

        def done(reason: str | None) -> None:
            if not reason:
                return
            try:
                lockbox.return_exception(self.app.operator, x.id, reason)
            except ServiceError as e:
                self.result(e.message, error=True)
                return
            self.result(f"{money.fmt_dollars(x.amount_cents)} from {x.payer_name or x.account_text} returned: "
                        f"{reason}")
            self.load()

        self.app.push_screen(reason_prompt(
            f"Return {money.fmt_dollars(x.amount_cents)}",
            f"{x.payer_name or '(no payer)'}, sent as account {x.account_text or '(none)'}: {x.reason}. "
            f"It is not applied to any account.", placeholder="Why (e.g. not our customer: returned to bank)"), done)

    def action_filter(self) -> None:
        self.show = "all" if self.show == "open" else "open"
        self.load()

    def action_back(self) -> None:
        self.app.leave(self)

    # -- importing ---------------------------------------------------------------------
    @on(LineInput.Submitted, "#path")
    def path_submitted(self, event: LineInput.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.result("Type the path of the bank file", error=True)
            return
        path = Path(text).expanduser()
        if not path.is_file():
            self.result(f"No file {path}", error=True)
            return
        self.result(f"Checking and importing {path.name} ...")
        self.run_import(path)

    @work(thread=True, exclusive=True, group="import")
    def run_import(self, path: Path) -> None:
        try:  # import_file opens this thread's connection for its call
            r = lockbox.import_file(self.app.operator, path, lockbox.mapping_from_settings(self.app.settings))
        except ServiceError as e:
            self.app.call_from_thread(self.result, f"Refused, nothing applied: {e.message}", True)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self.result, f"Not imported (the database did not answer: {first_line(e)}); "
                                      f"nothing applied, Enter tries again", True)
            return
        self.app.call_from_thread(self._imported, r)

    def _imported(self, r: ImportResult) -> None:
        self.result(import_summary(r))
        self.query_one("#path", LineInput).value = ""
        self.load()
        if r.exception_count:
            self.query_one(DataTable).focus()
        self.app.push_screen(MessageScreen("Import done", import_summary(r)))
