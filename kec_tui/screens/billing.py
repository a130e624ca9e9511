"""The billing run: the recent runs, a new preview keyed by cycle and period, and the billing
register of a run (every bill, the exceptions, the totals), approved by a supervisor and
committed once, then the cycle's statements; cancel/rebill of a bill; the register exported.

The services do the work (billing_run, billing_register, statements); commit and the
statements run in a thread worker with a progress bar.
"""
from __future__ import annotations

import datetime as dt
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import batches, billing_register as br, billing_run, statements
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.services.reports import reports_dir
from kec_tui.widgets.dialogs import ConfirmScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorDialog
from kec_tui.widgets.tables import fill_width

STATE_STYLE = {"previewed": "bold yellow", "approved": "bold green", "committing": "bold red", "committed": "dim"}


def this_period() -> str:
    return dt.date.today().strftime("%Y-%m")


# ---- a new preview -------------------------------------------------------------------------------

def _th(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


class NewRunDialog(FormDialog[billing_run.Register | None]):
    """Key the cycle and the period: the register is previewed (nothing is billed yet)."""

    DEFAULT_CSS = """
    NewRunDialog #about { padding: 0 1; height: auto; }
    """

    HELP = ("Key the bill cycle, Enter, and the period as YYYY-MM (Enter on an empty period takes this month), "
            "Enter: the billing register is previewed and shown. Nothing is billed until a supervisor approves "
            "it and it is committed. A cycle that does not exist, a period that is not a month, a cycle with "
            "nothing to bill or one already committed is refused; the keys typed after it are held until "
            "{entry_form.clear_record} (Reset); {entry_form.clear_record} again cancels.")

    def title_text(self) -> str:
        return "New billing run: preview the register"

    def compose_about(self) -> ComposeResult:
        cycles = ", ".join(f"{c} (the {d}{_th(d)})" for c, d in sorted(br.cycle_days().items()))
        yield Static(Text(f"Cycles, billed on: {cycles}", style="dim"), id="about")

    def make_form(self) -> StepForm:
        fields = [FieldSpec("cycle", "Cycle", "digits", 2, mandatory_entry=True, validate=self._cycle, dup=False),
                  FieldSpec("period", "Period (YYYY-MM)", "text", 7, validate=self._period, dup=False,
                            default=lambda r: this_period())]
        form = StepForm(fields, steps={"cycle": "", "period": ""}, on_submit=self._preview, id="form")
        form.closes_on_submit = True
        return form

    @staticmethod
    def _cycle(value: str, record: Record) -> str | None:
        try:
            billing_run.bill_date_of(int(value), this_period())
        except ServiceError as e:
            return e.message
        return None

    @staticmethod
    def _period(value: str, record: Record) -> str | None:
        try:
            billing_run.bill_date_of(int(record["cycle"]), value)
        except ServiceError as e:
            return e.message
        return None

    def _preview(self, record: Record) -> SubmitResult | None:
        cycle, period = int(record["cycle"]), record["period"].strip() or this_period()
        try:
            reg = billing_run.preview(self.app.operator, cycle, period)
        except ServiceError as e:
            return SubmitResult("period" if e.field == "period" else "cycle", e.message)
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            return SubmitResult("cycle", f"The preview did not finish: {first_line(e)}")
        if not reg.bills:
            why = "; ".join(sorted({reason for _, reason in reg.not_billed})) or "no account of the cycle is billed"
            return SubmitResult("period", f"Cycle {cycle} {period}: nothing to bill ({len(reg.not_billed):,} "
                                         f"accounts not billed: {why})")
        self.dismiss(reg)
        return None


# ---- the runs --------------------------------------------------------------------------------------

def run_row(r: br.RunRow) -> tuple:
    when = f"{r.when:%m/%d %H:%M}" if r.when else ""
    return (Text(str(r.cycle), justify="right"), r.period, Text(r.status, style=STATE_STYLE.get(r.status, "")),
            Text(f"{r.bills:,}", justify="right"), Text(money.fmt(r.total_cents), justify="right"), r.who, when)


class BillingScreen(Screen):
    """Billing runs: the recent ones, and a new preview."""

    HELP = ("The billing runs, newest period first: the cycle, the period, the state (previewed: the register "
            "was made; approved: a supervisor approved it; committed: the bills are written), how many bills, "
            "their total, who did the last step and when. {billing.new} previews a new run: key the cycle and "
            "the period. Enter opens a run's register. {billing.refresh} reads the list again. {billing.back} "
            "leaves.\nTo practise: kec-tui train --role billing --walkthrough billrun (Run billing for a "
            "cycle, on the practice co-op).")
    BINDINGS = [
        bind("billing.new", "new", "New run"),
        bind("billing.refresh", "refresh", "Refresh"),
        bind("billing.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    BillingScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    BillingScreen #runs { height: 1fr; }
    BillingScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Billing runs", id="title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for key, label in (("cycle", "Cycle"), ("period", "Period"), ("status", "State"), ("bills", "Bills"),
                           ("total", "Total"), ("who", "By"), ("when", "When")):
            table.add_column(label, key=key)
        self.refresh_runs()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    def refresh_runs(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.clear()
        try:
            runs = br.recent_runs()
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.message(f"The runs could not be read: {first_line(e)}")
            return
        for r in runs:
            table.add_row(*run_row(r), key=str(r.id))
        self.message(f"No billing runs yet: {keys_text('billing.new')} previews one." if not runs else
                     f"Enter opens the highlighted run; {keys_text('billing.new')} previews a new one.")
        table.focus()

    def message(self, text: str) -> None:
        self.query_one("#message", Static).update(Text(text))

    def action_new(self) -> None:
        self.app.push_screen(NewRunDialog(), self._previewed)

    def _previewed(self, reg: billing_run.Register | None) -> None:
        if reg is not None:
            self.refresh_runs()
            self.app.open("billing_register", reg.run.id, br.from_register(reg))

    @on(DataTable.RowSelected, "#runs")
    def open_run(self, event: DataTable.RowSelected) -> None:
        self.app.open("billing_register", int(event.row_key.value))

    def action_refresh(self) -> None:
        self.refresh_runs()

    def action_back(self) -> None:
        self.app.leave(self)


# ---- the register of a run --------------------------------------------------------------------------

# (key, label, width): the name takes what the others leave (fill_width); an account number or an
# amount wider than its column widens it.
COLUMNS = (("account", "Account", 7), ("name", "Name", 14), ("sch", "Sch", 3), ("kwh", "kWh", 7),
           ("flags", "Flags", 10), ("charged", "Charged", 10), ("exceptions", "Exceptions", 10))


def line_row(ln: br.RegisterLine) -> tuple:
    flags = Text("CANCELLED", style="dim strike") if ln.status == "cancelled" else Text(ln.flags, style="yellow")
    return (Text(str(ln.account_number), justify="right"), ln.name, ln.schedule, Text(f"{ln.kwh:,}", justify="right"),
            flags, Text(money.fmt(ln.charged_cents), justify="right"),
            Text(ln.exception_text, style="bold red" if ln.exceptions else ""))


class RegisterScreen(Screen):
    """The billing register of one run."""

    HELP = ("The billing register: every bill of the run with its account, name, rate schedule, kWh, flags "
            "(est: estimated, no reading came; budget / trueup: budget billing; first, final) and what is "
            "charged; the exceptions (no reading, high or low use, zero use, first and final bills, over the "
            "review limit) counted below with what was not billed and the totals. {billing_register.exceptions} "
            "shows the exceptions only, or every bill again.\n"
            "{billing_register.approve} approves the register: a supervisor, or a supervisor signs in here with "
            "name and password. {billing_register.commit} commits an approved run: the bills and their ledger "
            "charges are written once (a second commit is refused), then the cycle's statements (the print "
            "vendor's CSV and one PDF) are written to the reports folder; {billing_register.statements} writes "
            "them again.\n"
            "On a committed run, {billing_register.cancel} cancels the highlighted bill and {billing_register.rebill} "
            "bills it again (with corrected kWh), each with a reason (audited). {billing_register.export} writes "
            "the register as CSV and PDF. {billing_register.back} goes back to the runs.")
    BINDINGS = [
        bind("billing_register.exceptions", "exceptions", "Exceptions"),
        bind("billing_register.approve", "approve", "Approve"),
        bind("billing_register.commit", "commit", "Commit"),
        bind("billing_register.statements", "statements", "Statements"),
        bind("billing_register.cancel", "cancel_bill", "Cancel bill"),
        bind("billing_register.rebill", "rebill", "Rebill"),
        bind("billing_register.export", "export", "Export"),
        bind("billing_register.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RegisterScreen #run { height: auto; padding: 0 1; background: $primary-background; }
    RegisterScreen #bills { height: 1fr; }
    RegisterScreen #summary { height: auto; padding: 0 1; border-top: solid $primary; }
    RegisterScreen #progress { height: 1; padding: 0 1; }
    RegisterScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    """

    def __init__(self, run_id: int, view: br.RegisterView | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.view = view
        self.only_exceptions = False
        self.busy = ""                # "commit", "statements" while a worker runs

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="run")
        yield DataTable(id="bills", cursor_type="row", zebra_stripes=True)
        yield Static("", id="summary")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static("", id="message")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False
        table = self.query_one("#bills", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        if self.view is None:
            self.reload()
        else:
            self.show()
        table.focus()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        if not self.size.width:
            return
        table = self.query_one("#bills", DataTable)
        fill_width(table, "name", self.size.width, minimum=14, ids=("account", "kwh", "charged", "exceptions"))

    @property
    def run(self) -> billing_run.RunInfo:
        return self.view.run

    def reload(self) -> None:
        try:
            self.view = br.load(self.run_id)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.message(f"The register could not be read: {first_line(e)}", error=True)
            return
        self.show()

    def show(self) -> None:
        v, run = self.view, self.view.run
        head = Text()
        head.append(f"Cycle {run.cycle} {run.period}", style="bold")
        head.append(f"  bill {run.bill_date:%m/%d/%Y} due {run.due_date:%m/%d/%Y}  ")
        head.append(run.status, style=STATE_STYLE.get(run.status, ""))
        if run.approved_by and run.status != "previewed":
            head.append(f" ({run.approved_by})" if run.status == "approved" else f" (approved {run.approved_by})")
        self.query_one("#run", Static).update(head)
        table = self.query_one("#bills", DataTable)
        row = table.cursor_row
        table.clear()
        lines = v.exceptions_only() if self.only_exceptions else v.lines
        for ln in lines:
            table.add_row(*line_row(ln), key=str(ln.account_id))
        if lines:
            table.move_cursor(row=min(row, len(lines) - 1))
        self._fit()
        self.query_one("#summary", Static).update(self.summary(len(lines)))
        self.refresh_bindings()

    def exception_counts(self) -> list[str]:
        """ "2 high", "1 limit" ...: each exception the register's bills have."""
        v = self.view
        return [f"{len(v.with_exception(code)):,} {br.SHORT[code]}" for code in br.EXCEPTIONS
                if v.with_exception(code)]

    def exceptions_note(self) -> str:
        """The exceptions, said where a run is approved or committed (not only in the register's foot)."""
        counts = self.exception_counts()
        return (f" Exceptions: {', '.join(counts)} ({keys_text('billing_register.exceptions')} lists them)." if counts
                else " No exceptions.")

    def summary(self, shown: int) -> Text:
        v = self.view
        t = Text()
        counts = self.exception_counts()
        t.append("Exceptions ", style="bold")
        t.append(", ".join(counts) if counts else "none")
        if v.not_billed:
            t.append(f"; not billed {len(v.not_billed):,}", style="bold red")
            number, why = v.not_billed[0]
            t.append(f" ({number}: {why}" + (", ..." if len(v.not_billed) > 1 else "") + ")")
        cancelled = sum(1 for ln in v.lines if ln.status == "cancelled")
        t.append("\n")
        t.append(f"{len(v.lines) - cancelled:,} bills", style="bold")
        t.append(f"  {v.kwh:,} kWh  charges {money.fmt_dollars(v.charges_cents)}  ")
        t.append(f"charged {money.fmt_dollars(v.total_cents)}", style="bold")
        if cancelled:
            t.append(f"  ({cancelled:,} cancelled)")
        if self.only_exceptions:
            t.append(f"   showing the {shown:,} exceptions", style="yellow")
        return t

    def message(self, text: str, *, error: bool = False) -> None:
        self.query_one("#message", Static).update(Text(text, style="bold red" if error else ""))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if self.view is None:
            return action in ("back",) or None
        status = self.run.status
        if action == "approve":
            return status == "previewed" and not self.busy
        if action == "commit":
            return not self.busy          # on a run not approved (or committed) the service says why
        if action in ("statements", "cancel_bill", "rebill"):
            return status == "committed" and not self.busy
        return True

    # -- the filter, the files
    def action_exceptions(self) -> None:
        self.only_exceptions = not self.only_exceptions
        self.show()

    def action_export(self) -> None:
        try:
            files = br.write_register(self.view, reports_dir(self.app.settings))
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.message(f"Register written: {files.csv} and {files.pdf.name}")

    def pdf_to_print(self):
        """The print key ({app.print}): the register's PDF, written now."""
        return br.write_register(self.view, reports_dir(self.app.settings)).pdf

    # -- approval
    def action_approve(self) -> None:
        v, op = self.view, self.app.operator
        if not v.lines:
            self.message("Nothing to approve: the register has no bills", error=True)
            return
        about = (f"Cycle {v.run.cycle} {v.run.period}: {len(v.lines):,} bills, {money.fmt_dollars(v.total_cents)}, "
                 f"dated {v.run.bill_date:%m/%d/%Y}, due {v.run.due_date:%m/%d/%Y}.{self.exceptions_note()}")
        if op.can("billing.approve"):
            self.app.push_screen(ConfirmScreen("Approve the billing register?", about),
                                 lambda yes: yes and self.approve(op))
            return
        self.app.push_screen(SupervisorDialog("Approve the billing register: a supervisor signs in",
                                              about + f" Only a supervisor approves ({op.username} is {op.role}).",
                                              permission="billing.approve", what="approve a billing run"),
                             lambda sup: sup and self.approve(sup))

    def approve(self, who) -> None:
        try:
            billing_run.approve(who, self.run_id)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        except Exception as e:  # noqa: BLE001
            self.message(f"The approval did not finish: {first_line(e)}", error=True)
            return
        self.reload()
        self.message(f"Approved by {who.username}. {keys_text('billing_register.commit')} commits the run.")

    # -- commit, then the statements
    def action_commit(self) -> None:
        try:
            status = billing_run.get_run(self.run_id).status
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.message(f"The run could not be read: {first_line(e)}", error=True)
            return
        if status != "approved":
            self.commit()                 # not approved, or committed: the service says why, writing nothing
            return
        v = self.view
        text = (f"{v.run.preview_count:,} bills, {money.fmt_dollars(v.run.preview_total_cents)}, to the ledger dated "
                f"{v.run.bill_date:%m/%d/%Y}.{self.exceptions_note()} A run is committed once and cannot be undone; "
                "the statements follow.")
        self.app.push_screen(ConfirmScreen(f"Commit cycle {v.run.cycle} {v.run.period}?", text),
                             lambda yes: yes and self.commit())

    def commit(self) -> None:
        self.busy = "commit"
        self.refresh_bindings()
        self.progress(0, max(self.run.preview_count, 1))
        self.message("Committing ...")
        self._commit_worker()

    def progress(self, done: int, of: int | None) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        bar.update(total=of, progress=done)

    @work(thread=True, exclusive=True, group="billing")
    def _commit_worker(self) -> None:
        op = self.app.operator
        try:
            run = br.commit(op, self.run_id, progress=self._told())
        except ServiceError as e:
            self.app.call_from_thread(self._failed, e.message)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self._failed, f"The commit did not finish: {first_line(e)}. "
                                      f"{keys_text('billing_register.commit')} again finishes it "
                                      f"(no account is billed twice)")
            return
        self.app.call_from_thread(self._committed, run)
        self._write_statements(run)

    def _committed(self, run: billing_run.RunInfo) -> None:
        self.reload()
        self.busy = "statements"
        self.refresh_bindings()
        self.message(f"Committed: {run.bill_count:,} bills, {money.fmt_dollars(run.total_cents)}. "
                     f"Writing the statements ...")
        self.progress(0, None)

    def _write_statements(self, run: billing_run.RunInfo) -> None:
        """In the worker: the print file and the merged PDF."""
        committed = f"Committed: {run.bill_count:,} bills, {money.fmt_dollars(run.total_cents)}. "
        try:
            out = statements.print_cycle(run.id, reports_dir(self.app.settings),
                                         batches.scan_layout(self.app.settings), progress=self._told())
        except ServiceError as e:
            self.app.call_from_thread(self._failed, committed + f"Statements not written: {e.message}. "
                                      f"{keys_text('billing_register.statements')} tries again")
            return
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self._failed, committed + f"Statements not written: {first_line(e)}. "
                                      f"{keys_text('billing_register.statements')} tries again")
            return
        skipped = f"; {len(out.skipped):,} skipped" if out.skipped else ""
        self.app.call_from_thread(
            self._done, committed + f"{out.statements:,} statements ({out.paperless:,} paperless{skipped}): "
                        f"{out.csv_path} and {out.pdf_path.name}")

    def _told(self):
        """A progress callback for the worker: the bar moved from the app's thread, at most a few
        times a second (a cycle has thousands of statements)."""
        last = [0.0]

        def progress(done: int, of: int) -> None:
            now = time.monotonic()
            if done == of or now - last[0] > 0.2:
                last[0] = now
                self.app.call_from_thread(self.progress, done, of)
        return progress

    def _failed(self, text: str) -> None:
        self.busy = ""
        self.query_one("#progress", ProgressBar).display = False
        self.reload()
        self.message(text, error=True)

    def _done(self, text: str) -> None:
        self.busy = ""
        self.query_one("#progress", ProgressBar).display = False
        self.refresh_bindings()
        self.message(text)

    def action_statements(self) -> None:
        self.busy = "statements"
        self.refresh_bindings()
        self.progress(0, None)
        self.message("Writing the statements ...")
        self._statements_worker()

    @work(thread=True, exclusive=True, group="billing")
    def _statements_worker(self) -> None:
        self._write_statements(billing_run.get_run(self.run_id))

    # -- one bill
    def highlighted(self) -> br.RegisterLine | None:
        table = self.query_one("#bills", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((ln for ln in self.view.lines if str(ln.account_id) == key), None)

    def _bill(self) -> br.RegisterLine | None:
        ln = self.highlighted()
        if ln is None or ln.bill_id is None:
            self.message("No bill highlighted", error=True)
            return None
        if ln.status == "cancelled":
            self.message(f"The bill of account {ln.account_number} is already cancelled", error=True)
            return None
        return ln

    def action_cancel_bill(self) -> None:
        ln = self._bill()
        if ln is None:
            return
        self.app.push_screen(
            reason_prompt(f"Cancel the bill of account {ln.account_number}?",
                          f"{ln.name}: {ln.kwh:,} kWh, {money.fmt_dollars(ln.charged_cents)}. Its charge is "
                          f"reversed on the ledger.", placeholder="Why the bill is cancelled"),
            lambda reason: reason and self.cancel_bill(ln, reason))

    def cancel_bill(self, ln: br.RegisterLine, reason: str) -> None:
        try:
            billing_run.cancel_bill(self.app.operator, ln.bill_id, reason)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.reload()
        self.message(f"Bill of account {ln.account_number} cancelled: {money.fmt_dollars(ln.charged_cents)} "
                     f"reversed")

    def action_rebill(self) -> None:
        ln = self._bill()
        if ln is None:
            return
        self.app.open("rebill", ln.bill_id, ln.kwh, f"Rebill account {ln.account_number}",
                      f"{ln.name}: billed {ln.kwh:,} kWh, {money.fmt_dollars(ln.charged_cents)}",
                      callback=lambda new: new and self._rebilled(ln, new))

    def _rebilled(self, ln: br.RegisterLine, new: billing_run.BillInfo) -> None:
        self.reload()
        self.message(f"Account {ln.account_number} rebilled: bill {new.id}, {new.kwh:,} kWh, "
                     f"{money.fmt_dollars(new.total_cents)} (was {money.fmt_dollars(ln.charged_cents)})")

    def action_back(self) -> None:
        self.app.leave(self)
