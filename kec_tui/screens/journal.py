"""The daily general-ledger journal (billing clerks, supervisors): key a day, see its journal
(debits and credits by GL account, the tie to the ledger and the batch deposits, late entries),
close it (F10 twice: once to ask, once to close) and write its files.

The day is one EntryForm field (DayForm) that runs its own keys in order, Close and Files too: a
burst like ``03/05/2026 Enter F10 F10`` previews and then closes that day whatever the worker's
timing (a Close keyed while the preview is made waits for it). A refused day (a future one, not a
date) locks the form: the keys typed after it, the F10s among them, are held until Esc.
"""
from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind
from kec_tui.services import gl_journal, reports
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.entry_form import QUIET_KEYS, EditForm, FieldSpec, Record, SubmitResult
from kec_tui.widgets.tables import fill_width


class DayForm(EditForm):
    """The day. Close and Files are the form's own keys: run in order with the keys before them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *QUIET_KEYS,
        bind("journal.close", "close_day", "Close day"),
        bind("journal.write", "write", "Files"),
    ]
    IN_PLACE_ACTIONS = EditForm.IN_PLACE_ACTIONS | {"close_day", "write"}

    def action_close_day(self) -> None:
        self.screen.close_day()

    def action_write(self) -> None:
        self.screen.write()


class JournalScreen(Screen):
    """The day's GL journal: preview, close once, files."""

    HELP = ("Key the day (MM/DD/YYYY or YYYY-MM-DD; Enter on an empty field: the next day to close) and Enter: "
            "the day's journal, debits and credits by GL account. Below the lines: the ledger's own sum of the "
            "day's entries against the journal's receivable and unapplied cash, and each posted batch's deposit "
            "against the cash of its payments; both must tie. Late entries (dated a closed day, posted after it "
            "was closed) are in the notes. {journal.close} asks to close the previewed day, {journal.close} "
            "again closes it: its journal is kept, written to the reports directory (CSV, fixed width, detail) "
            "and never made twice; entries posted for it later go to the next day. Days close in order. "
            "{journal.write} writes the files of what is shown (an open day's as -PREVIEW). "
            "{journal.list} goes to the lines, {journal.back} back to the day.")
    BINDINGS = [
        bind("journal.list", "list", "Lines"),
        bind("journal.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    JournalScreen DayForm { height: auto; width: 60; }
    JournalScreen #summary { height: auto; max-height: 3; padding: 0 1; }
    JournalScreen #summary.error { color: $text-error; text-style: bold; }
    JournalScreen #tie { height: auto; max-height: 4; padding: 0 1; }
    JournalScreen #files { height: auto; max-height: 3; padding: 0 1; color: $text-accent; }
    JournalScreen #files.-empty { display: none; }
    JournalScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.journal: gl_journal.Journal | None = None
        self.busy = 0                # the number of the request under way (0: none)
        self._asked = 0
        self.pending: list[str] = []     # Close / Files keyed while a preview was being made
        self.armed: dt.date | None = None  # F10 pressed once for this day
        self.last_files: gl_journal.JournalFiles | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DayForm([FieldSpec("day", "Day", "text", 10, validate=self._day, default=self._next_day)],
                      on_submit=self.apply)
        yield Static("", id="summary")
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="tie")
        yield Static("", id="files", classes="-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "GL journal"
        form = self.query_one(DayForm)
        form.set_info("Enter: the next day to close")
        form.focus()

    # -- the day ---------------------------------------------------------------------------------
    def _next_day(self, record: Record) -> str:
        try:
            return f"{gl_journal.next_open_day():%m/%d/%Y}"
        except Exception:  # noqa: BLE001 - the database did not answer: today, and the preview will say so
            return f"{dt.date.today():%m/%d/%Y}"

    def _day(self, value: str, record: Record) -> str | None:
        if not value.strip():
            return None
        try:
            day = gl_journal.parse_day(value)
        except ServiceError as e:
            return e.message
        if day > dt.date.today():
            return f"{day:%m/%d/%Y} is in the future: a day's journal is made on or after the day"
        return None

    def apply(self, record: Record) -> SubmitResult | None:
        try:
            day = gl_journal.parse_day(record["day"])
        except ServiceError as e:
            return SubmitResult("day", e.message)
        self.armed = None
        self.pending.clear()
        self._start(day, close=False)
        return None

    def _start(self, day: dt.date, *, close: bool, digest: str | None = None) -> None:
        self._asked += 1
        self.busy = self._asked
        self.query_one(DataTable).loading = True
        self.say(("Closing" if close else "Adding up") + f" {day:%m/%d/%Y} ...")
        self.run_journal(self.busy, day, close, digest)

    @work(thread=True, exclusive=True, group="journal")
    def run_journal(self, number: int, day: dt.date, close: bool, digest: str | None) -> None:
        try:
            if close:
                j = gl_journal.close_day(self.app.operator, day, expect_digest=digest)
                files = gl_journal.write_files(j, reports.reports_dir(self.app.settings))
            else:
                j, files = gl_journal.journal(self.app.operator, day), None
        except ServiceError as e:
            self.app.call_from_thread(self.failed, number, e.message)
            return
        except Exception as e:  # noqa: BLE001 - a message, never a traceback
            self.app.call_from_thread(self.failed, number, f"The journal could not be made: {first_line(e)}")
            return
        self.app.call_from_thread(self.built, number, j, files)

    def _done(self, number: int) -> bool:
        if number != self.busy:
            return False
        self.busy = 0
        self.query_one(DataTable).loading = False
        return True

    def failed(self, number: int, message: str) -> None:
        if self._done(number):
            self.pending.clear()
            self.say(message, error=True)

    def built(self, number: int, j: gl_journal.Journal, files: gl_journal.JournalFiles | None) -> None:
        if not self._done(number):
            return
        self.journal = j
        self.show(j)
        if files is not None:
            self.show_files(files)
            self.say(f"{j.day:%m/%d/%Y} closed: {len(j.postings):,} entries, debits {money.fmt(j.debit_cents)} = "
                     f"credits {money.fmt(j.credit_cents)}. Files written.")
        for action in self._take_pending():
            getattr(self, action)()

    def _take_pending(self) -> list[str]:
        out, self.pending = self.pending, []
        return out

    # -- showing -----------------------------------------------------------------------------------
    def say(self, text: str, *, error: bool = False) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(Text(text))
        summary.set_class(error, "error")

    def show(self, j: gl_journal.Journal) -> None:
        self.title = f"GL journal {j.day:%m/%d/%Y}"
        state = (f"CLOSED {j.closed_at:%m/%d/%Y %H:%M} by {j.closed_by}" if j.closed else "PREVIEW: open")
        late = f", {j.late_count} late" if j.late_count else ""
        self.say(f"{state}. {len(j.postings):,} entries{late}; debits {money.fmt(j.debit_cents)}, credits "
                 f"{money.fmt(j.credit_cents)}: {'balanced' if j.balanced else 'OUT OF BALANCE'}."
                 + ("" if j.closed or j.can_close else f" Cannot close: {j.why_not}"),
                 error=not j.closed and not j.can_close)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for key, label in (("acct", "GL account"), ("name", "Name"), ("debit", "Debit"), ("credit", "Credit"),
                           ("n", "Entries"), ("memo", "Memo")):
            table.add_column(label, key=key, width=len(label))
        for i, ln in enumerate(j.lines):
            table.add_row(ln.gl_account, ln.gl_name, Text(money.fmt(ln.debit_cents), justify="right"),
                          Text(money.fmt(ln.credit_cents), justify="right"), Text(f"{ln.entries:,}", justify="right"),
                          ln.memo, key=str(i))
        table.add_row(Text("Total", style="bold"), "", Text(money.fmt(j.debit_cents), style="bold", justify="right"),
                      Text(money.fmt(j.credit_cents), style="bold", justify="right"), "", "", key="total")
        fill_width(table, "name", self.size.width, minimum=8, ids=["acct", "debit", "credit", "n", "memo"])
        t = j.tie
        tie = [f"Ledger net {money.fmt(t.ledger_net_cents)} = receivable + unapplied {money.fmt(t.member_net_cents)}: "
               + ("ties" if t.ledger_ok else "DOES NOT TIE")]
        if t.batches:
            tie.append(f"{len(t.batches)} batch deposit(s) {money.fmt(sum(b.deposit_cents for b in t.batches))} = "
                       f"cash {money.fmt(sum(b.journal_cents for b in t.batches))}: "
                       + ("ties" if t.batches_ok else "DOES NOT TIE"))
        tie += [f"Note: {n}" for n in j.notes[:2]] + ([f"... {len(j.notes) - 2} more notes in the files"]
                                                       if len(j.notes) > 2 else [])
        self.query_one("#tie", Static).update(Text("\n".join(tie)))

    def show_files(self, files: gl_journal.JournalFiles) -> None:
        self.last_files = files
        out = self.query_one("#files", Static)
        out.update(Text(f"Written: {files.csv}\n         {files.fixed}\n         {files.detail}"))
        out.remove_class("-empty")

    def on_resize(self, event) -> None:
        if self.journal is not None:
            self.show(self.journal)

    # -- close and files -------------------------------------------------------------------------
    def close_day(self) -> None:
        if self.busy:
            self.pending.append("close_day")
            return
        j = self.journal
        if j is None:
            self.say("Key the day and Enter first: a day is closed from its preview", error=True)
            return
        if j.closed:
            self.say(f"{j.day:%m/%d/%Y} is already closed: its journal is not made twice", error=True)
            return
        if not j.can_close:
            self.say(f"{j.day:%m/%d/%Y} cannot be closed: {j.why_not}", error=True)
            return
        if self.armed != j.day:
            self.armed = j.day
            self.say(f"Close {j.day:%m/%d/%Y}: {len(j.postings):,} entries, debits {money.fmt(j.debit_cents)}? "
                     "Press Close (F10) again to close it; entries posted for it later go to the next day.")
            return
        self.armed = None
        self._start(j.day, close=True, digest=j.digest)

    def write(self) -> None:
        if self.busy:
            self.pending.append("write")
            return
        if self.journal is None:
            self.say("No journal to write yet", error=True)
            return
        try:
            files = gl_journal.write_files(self.journal, reports.reports_dir(self.app.settings))
        except OSError as e:
            self.say(f"Not written: {e.strerror or first_line(e)}", error=True)
            return
        self.show_files(files)

    # -- keys ------------------------------------------------------------------------------------
    def action_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        self.query_one(DayForm).focus()

    def action_cancel(self) -> None:
        self.app.leave(self)
