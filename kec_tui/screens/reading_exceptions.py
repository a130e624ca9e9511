"""The reading exceptions queue: readings refused at the line or in an AMI/handheld import, worked
one by one; and the AMI import itself.

The queue is a table of the open exceptions, paged from the database as the cursor goes down:
meter, account, member, the refused reading, the last reading, why in words, and where it came
from (keyed, or the AMI file and its line). On the highlighted one:
- the accept key saves it as read, its exceptions acknowledged by the service's rules (a lower
  reading as a rollover of the dials; a meter not the account's or a value that is no reading
  is never accepted);
- the re-read key makes a meter re-read service order in one key: the row leaves the queue and
  the order number is shown;
- Enter opens the correction: the reading keyed again on an entry form (CorrectReadingScreen),
  checked like one keyed on the route (a lower one locks the form, the keys behind it held).
The import key asks for the CSV's path and imports it in a worker with a progress bar.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from kec_tui.keymap import bind, keys_text
from kec_tui.services import readings
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.dialogs import Dialog, MessageScreen
from kec_tui.widgets.entry_form import QUIET_KEYS, EntryForm, FieldSpec, Record, SubmitResult
from kec_tui.widgets.prompt import PromptScreen
from kec_tui.widgets.tables import fill_width

PAGE = 50
SHOWN_LINES = 12  # lines of an import's result listed in its message (all are in the queue)


def _date(d) -> str:
    return f"{d:%m/%d/%Y}" if d else "-"


def import_summary(name: str, r: readings.ImportResult) -> list[str]:
    """What an import did, as lines a person reads: the counts, then each row not written."""
    head = (f"{name}: {r.rows:,} rows read, {r.saved:,} written, {r.exceptions:,} to the exceptions queue "
            f"({r.refused:,} of them not a reading at all), {r.duplicates:,} already stored or queued.")
    out = [head]
    for x in r.lines[:SHOWN_LINES]:
        out.append(f"line {x.line}: meter {x.meter_no or '?'}: {x.message}" + ("" if x.queued else " (already queued)"))
    if len(r.lines) > SHOWN_LINES:
        out.append(f"... and {len(r.lines) - SHOWN_LINES:,} more, in the queue")
    return out


class CorrectionForm(EntryForm):
    """The corrected reading: a refusal the service may let pass is held for the accept key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *QUIET_KEYS,
        bind("entry_form.clear_record", "clear_record", "Reset / leave"),
        bind("reading_correct.accept", "accept", "Accept"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.held: tuple[readings.ReadingRefused, Record] | None = None

    def _unlock(self) -> None:
        self.held = None
        super()._unlock()

    def _footer_state(self) -> object:
        return self.locked, self.held is not None

    def _allowed_while_locked(self, action: str | None) -> bool:
        return action == "accept" and self.held is not None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "accept":
            return self.held is not None
        return super().check_action(action, parameters)

    def clear_record(self) -> None:
        """Esc on a form that is not locked: leave the correction, nothing written."""
        self.screen.dismiss(None)

    def action_accept(self) -> None:
        if self.held is None:       # typed when nothing was refused: nothing to accept
            return
        refused, record = self.held
        self._unlock()
        result = self.screen.accept_held(refused, record)
        if result is not None:
            self.show_error(result.field, result.message)


class CorrectReadingScreen(Dialog[readings.ReadingResult | None]):
    """Key the reading of a queued exception again: saved (the row leaves the queue) or refused."""

    HELP = ("Key the reading as it is on the register and press Enter: it is checked like a reading keyed on "
            "the route and saved, and the exception leaves the queue.\n"
            "A reading still lower than the last, with no use or far from the usual locks the form: the keys "
            "typed after it are held, counted and not used. {reading_correct.accept} saves it as keyed "
            "(a lower reading as a rollover of the dials); {entry_form.clear_record} (Reset) clears it to key "
            "it again. {entry_form.clear_record} on an empty, unlocked form leaves without saving.")
    AUTO_FOCUS = "CorrectionForm"
    DEFAULT_CSS = """
    CorrectReadingScreen { align: center middle; }
    CorrectReadingScreen > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $panel; }
    CorrectReadingScreen .modal-title { padding: 0 1; text-style: bold; background: $primary-background; }
    CorrectReadingScreen #about { padding: 0 1; height: auto; }
    """

    def __init__(self, row: readings.ExceptionRow) -> None:
        super().__init__()
        self.row = row
        self._held_ack: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        x = self.row
        about = Text()
        about.append(f"Meter {x.meter_no}", style="bold")
        about.append(f"   account {x.account_number or '-'}   {x.name}\n" if x.account_number else "   no account\n")
        last = f"{x.last_reading:,} on {_date(x.last_date)}" if x.last_reading is not None else "none"
        about.append(f"Read {_date(x.read_date)}: {x.reading_text or '(empty)'}   last reading {last}\n")
        about.append(f"{readings.codes_in_words(x.codes)}: {x.message}", style="dim")
        with Vertical():
            yield Static(f"Correct the reading of meter {x.meter_no} (Enter saves)", classes="modal-title")
            yield Static(about, id="about")
            yield CorrectionForm([FieldSpec("reading", "Corrected reading", "digits", 9, mandatory_entry=True,
                                            dup=False)], on_submit=self._save)
        yield Footer(compact=True, show_command_palette=False)

    @property
    def form(self) -> CorrectionForm:
        return self.query_one(CorrectionForm)

    def _save(self, record: Record, ack: tuple[str, ...] = ()) -> SubmitResult | None:
        try:
            result = readings.correct_exception(self.app.operator, self.row.id, record["reading"], ack)
        except readings.ReadingRefused as e:
            self._held_ack = ack
            if readings.acknowledgement(e.codes) is None:
                return SubmitResult("reading", e.message)
            self.form.held = (e, dict(record))
            return SubmitResult("reading", f"{e.message}. {keys_text('reading_correct.accept')} accepts")
        except ServiceError as e:
            return SubmitResult("reading", e.message)
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            return SubmitResult("reading", f"Not saved (the database did not answer: {first_line(e)})")
        self.dismiss(result)
        return None

    def accept_held(self, refused: readings.ReadingRefused, record: Record) -> SubmitResult | None:
        ack = readings.acknowledgement(refused.codes)
        return self._save(record, self._held_ack + ack)


class ReadingExceptionsScreen(Screen):
    """The open reading exceptions: accept, re-read order, correct; and the AMI import."""

    HELP = ("The readings refused at the line or in an AMI/handheld import, oldest first: meter, account, "
            "member, the reading, the last reading, why, and where it came from (keyed, or the file and its "
            "line). Up/Down and Page Up/Down move; more rows load as you go down.\n"
            "{reading_exceptions.accept} accepts the highlighted reading as read (a lower one as a rollover "
            "of the dials; if that shows more, such as high use, the message says so and "
            "{reading_exceptions.accept} again accepts that too). A meter not on the account or a value that "
            "is no reading cannot be accepted.\n"
            "{reading_exceptions.reread} makes a meter re-read service order at once: the row leaves the queue "
            "and the order number is shown.\n"
            "Enter keys a corrected reading for the row, checked like one keyed on the route.\n"
            "{reading_exceptions.import} imports an AMI or handheld file: a CSV whose header names meter, "
            "read_at and reading (demand_kw and reverse_kwh if present). Each row stands alone: good reads are "
            "saved, a read stored already is skipped, the others come to this queue and are listed with "
            "their line numbers. A file without those columns is refused whole.\n"
            "{reading_exceptions.back} goes back.\n"
            "Practice: kec-tui train --role billing --walkthrough exceptions (Work the reading exceptions).")
    BINDINGS = [
        bind("reading_exceptions.accept", "accept", "Accept"),
        bind("reading_exceptions.reread", "reread", "Re-read order"),
        bind("reading_exceptions.import", "import_file", "Import AMI"),
        bind("reading_exceptions.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    ReadingExceptionsScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    ReadingExceptionsScreen DataTable { height: 1fr; }
    ReadingExceptionsScreen #detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    ReadingExceptionsScreen #message { height: auto; max-height: 4; padding: 0 1; color: $text-accent; }
    ReadingExceptionsScreen #message.error { color: $text-error; text-style: bold; }
    ReadingExceptionsScreen #progress { height: 1; padding: 0 1; display: none; }
    ReadingExceptionsScreen #progress.busy { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[readings.ExceptionRow] = []
        self._end = False
        self._more_ack: dict[int, tuple[str, ...]] = {}   # what F8 accepts of a row beyond its queued codes
        self.importing = False
        self.last_import: readings.ImportResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading exceptions", id="title")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Static("", id="message")
        yield ProgressBar(id="progress", show_eta=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.table
        for label, width, key in (("Meter", 9, "meter"), ("Account", 7, "account"), ("Name", 12, "name"),
                                  ("Reading", 7, "reading"), ("Last", 7, "last"), ("Why", 15, "why"),
                                  ("From", 6, "from")):
            table.add_column(label, width=width, key=key)
        self.load()
        table.focus()

    @property
    def table(self) -> DataTable:
        return self.query_one("#queue", DataTable)

    def message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#message", Static)
        widget.update(Text(text))
        widget.set_class(error, "error")

    # -- the queue, paged ---------------------------------------------------------------
    def load(self) -> None:
        """(Re)load the rows shown so far (a page at least), keeping the cursor's place."""
        table = self.table
        at = table.cursor_row
        want = max(PAGE, len(self.rows))
        table.clear()
        self.rows = []
        self._more(want)
        if self.rows:
            table.move_cursor(row=min(at, len(self.rows) - 1), animate=False)
        self._show_detail()

    def _more(self, n: int = PAGE) -> None:
        try:
            page = readings.exception_rows(limit=n, after_id=self.rows[-1].id if self.rows else None)
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.message(f"The queue could not be read (the database did not answer: {first_line(e)})", True)
            return
        self._end = len(page) < n
        for x in page:
            last = f"{x.last_reading:,}" if x.last_reading is not None else "-"
            source = f"AMI {x.record_no}" if x.source == "ami" else "keyed"
            self.table.add_row(x.meter_no, str(x.account_number or "-"), x.name or "(no account)",
                               Text(x.reading_text, justify="right"), Text(last, justify="right"),
                               readings.codes_in_words(x.codes), source, key=str(x.id))
            self.rows.append(x)
        self._title()
        self.on_resize()

    def _title(self) -> None:
        try:
            count = readings.open_exception_count()
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.message(f"The queue could not be read (the database did not answer: {first_line(e)})", True)
            return
        shown = f"   showing {len(self.rows):,}" if count > len(self.rows) else ""
        keys = (f"   {keys_text('reading_exceptions.accept')} accept  {keys_text('reading_exceptions.reread')} "
                "re-read  Enter correct" if count else "")
        self.query_one("#title", Static).update(f"Reading exceptions: {count:,} open{shown}{keys}")

    def _drop(self, x: readings.ExceptionRow) -> None:
        """A row worked: out of the table (the cursor stays on the row after it), the count again."""
        if x in self.rows:
            self.rows.remove(x)
            self.table.remove_row(str(x.id))
        if not self._end and len(self.rows) <= self.table.cursor_row + 3:
            self._more()
        self._title()
        self._show_detail()

    def on_resize(self) -> None:
        if "name" in self.table.columns:          # a wider window shows more of the name, then of why
            self.table.columns["name"].width = 12 + min(12, max(0, (self.size.width - 80) // 3))
        fill_width(self.table, "why", self.size.width, minimum=15, ids=("meter", "account", "reading", "last"))

    def current(self) -> readings.ExceptionRow | None:
        table = self.table
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def _show_detail(self) -> None:
        x = self.current()
        text = ""
        if x is not None:
            where = f"{x.import_name or 'AMI file'} line {x.record_no}" if x.source == "ami" else "keyed at the line"
            text = f"Meter {x.meter_no}, read {_date(x.read_date)} ({where}): {x.message}"
        elif not self.rows:
            text = f"No open exceptions. {keys_text('reading_exceptions.import')} imports an AMI or handheld file."
        self.query_one("#detail", Static).update(Text(text))

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        if not self._end and event.cursor_row >= len(self.rows) - 3:
            self._more()

    # -- working a row ------------------------------------------------------------------
    def _chosen(self) -> readings.ExceptionRow | None:
        x = self.current()
        if x is None:
            self.message("No exception to work: the queue is empty", error=True)
        return x

    def action_accept(self) -> None:
        x = self._chosen()
        if x is None:
            return
        ack = readings.acknowledgement(x.codes)
        if ack is None:
            self.message(f"Meter {x.meter_no}: {readings.codes_in_words(x.codes)} cannot be accepted. Enter keys "
                         f"the corrected reading, {keys_text('reading_exceptions.reread')} makes a re-read order",
                         error=True)
            return
        ack += self._more_ack.get(x.id, ())
        try:
            r = readings.accept_exception(self.app.operator, x.id, ack)
        except readings.ReadingRefused as e:
            more = readings.acknowledgement(e.codes)
            if more is None:
                self.message(f"Meter {x.meter_no}: {e.message}: it cannot be accepted", error=True)
            else:
                self._more_ack[x.id] = self._more_ack.get(x.id, ()) + more
                self.message(f"Meter {x.meter_no}: {e.message}. {keys_text('reading_exceptions.accept')} again "
                             "accepts that too", error=True)
            return
        except ServiceError as e:
            self.message(f"Meter {x.meter_no}: {e.message}", error=True)
            self.load()
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer
            self.message(f"Not saved (the database did not answer: {first_line(e)})", error=True)
            return
        self._more_ack.pop(x.id, None)
        words = ", ".join("rollover" if c == "rollover" else readings.codes_in_words([c]) for c in r.acknowledged)
        self.message(f"Meter {r.meter_no}: {r.reading:,} saved ({r.kwh:,} kWh), accepted: {words}")
        self._drop(x)

    def action_reread(self) -> None:
        x = self._chosen()
        if x is None:
            return
        try:
            order_no = readings.reread_order(self.app.operator, x.id)
        except ServiceError as e:
            self.message(f"Meter {x.meter_no}: {e.message}", error=True)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer
            self.message(f"No order made (the database did not answer: {first_line(e)})", error=True)
            return
        self.message(f"Meter {x.meter_no}: re-read order {order_no} made; the reading left the queue")
        self._drop(x)

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        x = self.current()
        if x is None:
            return

        def done(result: readings.ReadingResult | None) -> None:
            if result is not None:
                self.message(f"Meter {result.meter_no}: corrected reading {result.reading:,} saved "
                             f"({result.kwh:,} kWh)")
                self._drop(x)

        self.app.push_screen(CorrectReadingScreen(x), done)

    def action_back(self) -> None:
        self.app.leave(self)

    # -- the AMI / handheld import ------------------------------------------------------
    def action_import_file(self) -> None:
        if self.importing:
            self.message("An import is running: wait for it to finish", error=True)
            return
        self.app.push_screen(PromptScreen(
            "Import AMI / handheld reads", "The CSV file's path. Its header names meter, read_at and reading "
            "(demand_kw, reverse_kwh if present).", placeholder="/path/to/reads.csv"), self._import_path)

    def _import_path(self, text: str | None) -> None:
        if not text:
            return
        path = Path(text).expanduser()
        if not path.is_file():
            self.message(f"No file {path}: nothing imported", error=True)
            return
        self.importing = True
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.add_class("busy")
        self.message(f"Importing {path.name} ...")
        self.run_import(path)

    def _progress(self, done: int, total: int) -> None:
        if self.is_attached:      # the screen may have been left while the import runs on
            self.query_one("#progress", ProgressBar).update(total=max(total, 1), progress=done)

    @work(thread=True, exclusive=True, group="ami-import")
    def run_import(self, path: Path) -> None:
        def tick(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            self.app.call_from_thread(self._import_failed, f"{path.name} cannot be read as a text CSV "
                                      f"({first_line(e)}): nothing imported")
            return
        try:  # import_ami_csv opens this thread's connection for its call
            r = readings.import_ami_csv(self.app.operator, text, path.name, progress=tick)
        except ServiceError as e:
            self.app.call_from_thread(self._import_failed, f"Refused, nothing imported: {e.message}")
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self._import_failed, f"Import stopped (the database did not answer: "
                                      f"{first_line(e)}); the rows before it are saved, importing again "
                                      "skips them")
            return
        self.app.call_from_thread(self._imported, path.name, r)

    def _import_done(self) -> None:
        self.importing = False
        if self.is_attached:
            self.query_one("#progress", ProgressBar).remove_class("busy")

    def _import_failed(self, text: str) -> None:
        self._import_done()
        if not self.is_attached:  # left while it ran: said wherever the operator is now
            self.app.notify(text, title="AMI import", severity="error", timeout=30)
            return
        self.message(text, error=True)

    def _imported(self, name: str, r: readings.ImportResult) -> None:
        self._import_done()
        self.last_import = r
        lines = import_summary(name, r)
        if not self.is_attached:
            self.app.notify("\n".join(lines[:4]), title="AMI import done", timeout=30)
            return
        self.message(lines[0])
        self.load()
        self.app.push_screen(MessageScreen("Import done", lines))
