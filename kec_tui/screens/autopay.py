"""Autopay: the enrollment form on the account, and the draft run screen (preview, make the NACHA
file once, import the bank's return / change files and a processor's settlement file)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.checkdigit import valid_routing
from kec_tui.keymap import bind, keys_text
from kec_tui.services import accounts, autopay
from kec_tui.services.autopay import DraftPlan, EnrollmentInfo
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.dialogs import MessageScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.line_input import LineInput
from kec_tui.widgets.prompt import PromptScreen
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width

ACTIONS = ("enroll", "stop")
FIELD_OF = {"routing": "routing", "bank_account": "bank_account", "account_type": "account_type",
            "authorized_on": "authorized_on", "reason": "reason"}
SHOWN = 500                 # drafts listed on the screen (the file holds them all)


def mask(text: str) -> str:
    return f"****{text[-4:]}" if text else ""


class AutopayEnrollScreen(FormDialog[EnrollmentInfo | None]):
    """Enroll the account in autopay, change its bank account, or stop it."""

    HELP = ("Autopay drafts the amount due from the member's bank account on the due date. Enroll (or change the "
            "bank details): the 9-digit routing number, checked at the field by its check digit (3-7-1: a wrong "
            "digit is refused there and the keys typed after it are held until {entry_form.clear_record}), the "
            "bank account number (shown masked once keyed), checking or savings (C or S, space cycles), and the "
            "day the member signed the authorization (Enter takes today). A prenote (a zero-dollar test entry) "
            "goes with the next draft run; drafting starts after its waiting period if the bank does not return "
            "it. Stop (S in the first field) asks for the reason. Enter on the last field saves, once, audited.")
    DEFAULT_CSS = """
    AutopayEnrollScreen #who { padding: 0 1; height: auto; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.current = autopay.get_enrollment(account_id)

    def title_text(self) -> str:
        return f"Autopay for account {self.view.number}"

    def compose_about(self) -> ComposeResult:
        now = self.current.summary if self.current else "Not enrolled in autopay"
        yield Static(Text(f"{self.view.number}  {self.view.name}  [{self.view.status}]\n{now}"), id="who")

    def make_form(self) -> StepForm:
        today = dt.date.today().strftime("%m/%d/%Y")
        fields = [
            FieldSpec("action", "Enroll/change or stop", "choice", 6, choices=ACTIONS,
                      default=lambda r: "enroll"),
            # Not mandatory_entry: that is checked on submit for every field, also those a stop skips;
            # the service refuses an empty one and the cursor goes back to it.
            FieldSpec("routing", "Routing number", "digits", 9, mandatory_fill=True, validate=self._routing),
            FieldSpec("bank_account", "Bank account", "digits", 17, validate=self._bank),
            FieldSpec("account_type", "Checking or savings", "choice", 8, choices=autopay.ACCOUNT_TYPES,
                      default=lambda r: "checking"),
            FieldSpec("authorized_on", "Authorized on", "date", 10, default=lambda r: today),
            FieldSpec("reason", "Why stop", "text", 60),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), applies=self.applies,
                        masked={"bank_account": mask}, on_submit=self.save, id="form")

    @staticmethod
    def applies(name: str, record: Record) -> bool:
        if name == "action":
            return True
        return (name == "reason") == (record.get("action") == "stop")

    @staticmethod
    def _routing(value: str, record: Record) -> str | None:
        if len(value) != 9:
            return "Routing number: 9 digits"
        if not valid_routing(value):
            return f"Routing number {value} fails its check digit (3-7-1): check the 9 digits"
        return None

    @staticmethod
    def _bank(value: str, record: Record) -> str | None:
        return None if 4 <= len(value) <= 17 else "Bank account: 4 to 17 digits"

    def save(self, record: Record) -> SubmitResult | None:
        op = self.app.operator
        try:
            if record["action"] == "stop" and not record["reason"].strip():
                return SubmitResult("reason", "Why stop: say why autopay is stopped")
            if record["action"] == "stop":
                done = autopay.stop(op, self.account_id, record["reason"])
            else:
                signed = dt.datetime.strptime(record["authorized_on"], "%m/%d/%Y").date()
                done = autopay.enroll(op, self.account_id, record["routing"], record["bank_account"],
                                      record["account_type"], signed)
        except (ServiceError, ValueError) as e:
            message = e.message if isinstance(e, ServiceError) else "Authorized on: a date (MM/DD/YYYY)"
            return SubmitResult(FIELD_OF.get(getattr(e, "field", "") or "", "authorized_on"
                                             if isinstance(e, ValueError) else None), message)
        self.dismiss(done)
        return None


class AutopayRunScreen(Screen):
    """The autopay draft run of a draft date: preview, make the file once; the bank's files back."""

    HELP = ("Type the draft date (MM/DD/YYYY; Enter) to preview its NACHA file: the drafts (the amount due of "
            "each enrolled account whose bill is due then, the levelized amount for budget billing), the "
            "prenotes of new enrollments, and every account left out and why (cash-only, bankruptcy, closed, "
            "autopay stopped, prenote waiting). {autopay_run.commit} makes the file, once per draft date: each "
            "draft is posted as an electronic payment on the settlement date and the file's path is shown (only "
            "its owner can read it). A date already drafted says so and makes nothing. {autopay_run.returns} "
            "imports the bank's return or notification-of-change file (checked whole: a wrong control total or a "
            "truncated file is refused; the same file twice is refused; MSRs, collectors and supervisors, who work "
            "returned payments); {autopay_run.processor} imports the card "
            "and e-check processor's settlement CSV into a batch. What matches nothing goes to the exceptions "
            "queue of the lockbox screen.")
    BINDINGS = [
        bind("autopay_run.commit", "commit", "Make file"),
        bind("autopay_run.returns", "returns", "Return/NOC file"),
        bind("autopay_run.processor", "processor", "Processor file"),
        bind("autopay_run.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    AutopayRunScreen #heading { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    AutopayRunScreen #result { height: auto; padding: 0 1; color: $text-accent; }
    AutopayRunScreen #result.error { color: $text-error; text-style: bold; }
    AutopayRunScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.plan: DraftPlan | None = None
        self.previewing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Autopay: the NACHA draft file of a draft date", id="heading")
        yield LineInput(placeholder="Draft date MM/DD/YYYY, then Enter to preview", id="date", max_length=10)
        yield Static("", id="result")
        yield DataTable(id="entries", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width, key in (("Account", 8, "account"), ("Name", 16, "name"), ("Amount", 10, "amount"),
                                  ("Entry", 20, "what")):
            table.add_column(label, width=width, key=key)
        runs = autopay.recent_runs(3)
        if runs:
            self.result("Last runs: " + "; ".join(
                f"{r.draft_date:%m/%d/%Y} {r.status} {r.entry_count or r.preview_count} drafts "
                f"{money.fmt_dollars(r.total_cents or r.preview_total_cents)}" for r in runs))
        self.query_one("#date", LineInput).focus()

    def on_resize(self) -> None:
        fill_width(self.query_one(DataTable), "what", self.size.width, minimum=12, ids=("account", "name", "amount"))

    def result(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#result", Static)
        widget.update(Text(text))
        widget.set_class(error, "error")

    @on(LineInput.Submitted, "#date")
    def date_submitted(self, event: LineInput.Submitted) -> None:
        try:
            day = dt.datetime.strptime(event.value.strip(), "%m/%d/%Y").date()
        except ValueError:
            self.result("The draft date is MM/DD/YYYY", error=True)
            return
        self.plan = None
        self.previewing = True
        self.result(f"Previewing the drafts of {day:%m/%d/%Y} ...")
        self.run_preview(day)

    @work(thread=True, exclusive=True, group="autopay")
    def run_preview(self, day: dt.date) -> None:
        """In a thread: a large co-op's preview takes seconds and the screen must not freeze."""
        try:
            plan = autopay.preview(self.app.operator, day)
        except ServiceError as e:
            self.app.call_from_thread(self._previewed, None, e.message)
            return
        except Exception as e:  # noqa: BLE001 - a message, never a traceback
            self.app.call_from_thread(self._previewed, None, f"Not previewed (the database did not answer: "
                                                             f"{first_line(e)})")
            return
        self.app.call_from_thread(self._previewed, plan, "")

    def _previewed(self, plan: DraftPlan | None, error: str) -> None:
        self.previewing = False
        self.plan = plan
        if plan is None:
            self.result(error, error=True)
            return
        self.show_plan(plan)

    def show_plan(self, p: DraftPlan) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for x in p.excluded:
            table.add_row(str(x.number), x.name[:16], Text(money.fmt(x.amount_cents), justify="right"),
                          Text(f"left out: {x.reason}", style="bold"))
        for e in p.prenotes[:SHOWN]:
            table.add_row(str(e.number), e.name[:16], Text("0.00", justify="right"),
                          f"prenote {e.tx_code} {mask(e.bank_account)}")
        for e in p.drafts[:SHOWN]:
            table.add_row(str(e.number), e.name[:16], Text(money.fmt(e.amount_cents), justify="right"),
                          f"draft {e.tx_code} {mask(e.bank_account)}")
        more = len(p.drafts) - SHOWN
        self.result(f"Draft date {p.draft_date:%m/%d/%Y} (bills due {p.due_date:%m/%d/%Y}): {len(p.drafts):,} drafts "
                    f"{money.fmt_dollars(p.total_cents)}, {len(p.prenotes):,} prenotes, {len(p.excluded):,} left out"
                    + (f" ({more:,} more drafts not listed)" if more > 0 else "")
                    + f". {keys_text('autopay_run.commit')} makes the file.")
        self.on_resize()

    def action_commit(self) -> None:
        if self.previewing:
            self.result("The preview is still being made: read it, then make the file", error=True)
            return
        if self.plan is None or self.plan.run is None:
            self.result("Preview a draft date first (type it, Enter)", error=True)
            return
        self.result(f"Making the file of {self.plan.draft_date:%m/%d/%Y} ...")
        self.run_commit(self.plan.run.id)

    @work(thread=True, exclusive=True, group="autopay")
    def run_commit(self, run_id: int) -> None:
        try:
            info = autopay.commit(self.app.operator, run_id)
        except ServiceError as e:
            self.app.call_from_thread(self.result, e.message, True)
            return
        except Exception as e:  # noqa: BLE001 - a message, never a traceback
            self.app.call_from_thread(self.result, f"Not made (the database did not answer: {first_line(e)})", True)
            return
        self.app.call_from_thread(self._made, info)

    def _made(self, info: autopay.RunInfo) -> None:
        self.plan = None
        text = (f"File made: {info.file_path}\n{info.entry_count:,} drafts {money.fmt_dollars(info.total_cents)} "
                f"posted as payments on {info.draft_date:%m/%d/%Y}, {info.prenote_count:,} prenotes, entry hash "
                f"{info.entry_hash:010d}. Send it to the bank.")
        self.result(text)
        self.app.push_screen(MessageScreen("Draft file made", text))

    def _ask_path(self, title: str, then) -> None:
        def done(text: str | None) -> None:
            if text:
                path = Path(text).expanduser()
                if not path.is_file():
                    self.result(f"No file {path}", error=True)
                    return
                self.result(f"Checking and importing {path.name} ...")
                then(path)

        self.app.push_screen(PromptScreen(title, "The path of the file, then Enter; Esc cancels.",
                                          placeholder="/path/to/file"), done)

    def action_returns(self) -> None:
        self._ask_path("The bank's return / notification-of-change file (NACHA)", self.run_returns)

    def action_processor(self) -> None:
        self._ask_path("The processor's settlement file (CSV)", self.run_processor)

    def _import(self, do):
        """Run an import (in the worker's thread): its result, or None with the refusal said on screen."""
        try:
            return do()
        except ServiceError as e:
            self.app.call_from_thread(self.result, f"Refused, nothing applied: {e.message}", True)
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.result, f"Not imported (the database did not answer: {first_line(e)})",
                                      True)
        return None

    @work(thread=True, exclusive=True, group="autopay")
    def run_returns(self, path: Path) -> None:
        r = self._import(lambda: autopay.import_bank_file(self.app.operator, path))
        if r is None:
            return
        lines = [f"{i.kind} {i.code} trace {i.trace}" + (f" account {i.account_number}" if i.account_number else "")
                 + f": {i.outcome}" + ("" if i.matched else " (exceptions queue)") for i in r.items]
        text = (f"{r.filename}: {r.returns} returns and {r.changes} changes applied, {r.exceptions} to the "
                f"exceptions queue.\n" + "\n".join(lines[:12]) + (f"\n... {len(lines) - 12} more" if len(lines) > 12
                                                                   else ""))
        self.app.call_from_thread(self._imported, "Bank file imported", text)

    @work(thread=True, exclusive=True, group="autopay")
    def run_processor(self, path: Path) -> None:
        r = self._import(lambda: autopay.import_processor_file(self.app.operator, path))
        if r is None:
            return
        text = (f"{path.name}: {r.count:,} payments {money.fmt_dollars(r.total_cents)}. "
                + (f"Batch {r.batch_number}: {r.matched_count:,} matched {money.fmt_dollars(r.matched_total_cents)}, "
                   f"balanced: post it from the batch list ({keys_text('app.batches')}). " if r.batch_number else "")
                + (f"Exceptions: {r.exception_count:,} {money.fmt_dollars(r.exception_total_cents)}."
                   if r.exception_count else "No exceptions."))
        self.app.call_from_thread(self._imported, "Processor file imported", text)

    def _imported(self, title: str, text: str) -> None:
        self.result(text.splitlines()[0])
        self.app.push_screen(MessageScreen(title, text))

    def action_back(self) -> None:
        self.app.leave(self)
