"""Heads-down entry of a mail payment batch: key or scan each stub, Enter writes it.

The screen MSRs live in. One PaymentForm (an EntryForm) owns the account,
amount and check-number fields and handles every key itself, in order, so a
scanner's 21 digits + Enter and a remote MSR's bursts land in the field they
were meant for (DESIGN.md, type-ahead). Focus never moves while keying.

* Account: a plain account number is check-digit verified on Field Exit and
  the member's name, service address, amount due and flags appear at once
  (one indexed lookup, ``batches.account_info_for_entry``). A full scan line
  typed into the same field fills account and amount, its check digit is
  verified, and that one Enter writes the line (source "scanned"). The stub's
  barcode read by a wedge scanner is the same digits with its pad 0 in front
  (checkdigit.barcode_digits); exactly that form is read too.
* Amount: Enter on an empty amount takes the amount due; 10-key mode (Ctrl+T,
  shown in the status line) has an implied decimal; more than zero and at most
  $99,999.99.
* Check no.: asked in a check batch (Ctrl+K turns it on/off); Dup (Ctrl+D/F4)
  repeats the previous line's. Record Advance (keypad ``*``) writes the line
  from any field, taking the defaults of the fields left.
* Every line is committed by ``batches.key_line`` before the form clears, so a
  crash, a dropped SSH link or a closed terminal loses nothing; reopening the
  batch shows every line and keying continues.

Errors and type-ahead (tests/screens/test_batch_entry.py, test_entry_lock.py):
any refusal (a truncated scan line, a wrong check digit, a refused amount) locks
the form (EntryForm): the keys typed after it are held, counted and not used,
and Esc (Reset) clears the refused field and keying goes on there. A line with a
warning (final/closed account, cash-only paying by check, far above the balance,
the same account and amount already in this batch) is NOT written: it locks the
same way, and F8 accepts it (the line is written with the acknowledgement; a
closed account also asks a reason, for unapplied cash). Enter can never
acknowledge, and the next stub's digits never slip into the held line. The
lines committed before the refusal stay committed; the operator re-keys from
the stub after the refused one.
"""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.checkdigit import ScanLayout
from kec_tui.keymap import bind, keys_text
from kec_tui.services import batches, reports
from kec_tui.services.batches import LineInfo
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.textual_internals import CachedBindingChainScreen, event_clock
from kec_tui.widgets.batch_lines import LinesTable
from kec_tui.widgets.dialogs import ConfirmScreen, MessageScreen
from kec_tui.widgets.entry_form import SUBMIT, FieldSpec, Record, SubmitResult
from kec_tui.widgets.payment_form import BatchPaymentForm, PaymentForm, check_amount_text
from kec_tui.widgets.payment_text import account_info_line, cents_text, signed_dollars, totals_text
from kec_tui.widgets.prompt import PromptScreen, reason_prompt

TENDER_NAMES = {"check": "Check", "cash": "Cash", "money_order": "Money order", "lockbox": "Lockbox", "ach": "ACH"}


def scan_layout(settings) -> ScanLayout:
    return batches.scan_layout(settings) if settings is not None else ScanLayout()


FIND_HELP = ("Type an account number (the first digits are enough), an amount with its decimal point "
             "(45.67), or #12 for line 12. Enter finds; the same search again goes to the next match.")


class BatchEntryScreen(CachedBindingChainScreen):
    """Mail payment batch: key or scan each stub; every line is saved on Enter."""

    AUTO_FOCUS = "#form"

    HELP = ("Key the account number and Enter (the member, address and amount due appear), the amount and "
            "Enter (Enter alone takes the amount due), the check number and Enter: the line is saved. "
            "Or scan the stub (its scan line or its barcode): account and amount are filled and saved at once. "
            "Keypad {batch_entry.record_advance} saves the line from any field. {entry_form.toggle_tenkey} switches "
            "10-key mode (12345 is 123.45); {batch_entry.check_no} switches asking the check number; "
            "{entry_form.dup} repeats the previous line's field.\n"
            "An error locks the keyboard: the keys typed after it are held, counted and not used. "
            "{entry_form.clear_record} (Reset) clears the refused field and keying goes on there, the fields before "
            "it kept.\n"
            "A warning (closed account, cash only, far above the balance, a duplicate stub) locks the same way: "
            "{batch_entry.accept} accepts the line, {entry_form.clear_record} changes it.\n"
            "{batch_entry.lines} moves to the lines: Enter changes the line, {batch_entry.void} voids it, "
            "{batch_entry.keying} returns to keying. {batch_entry.find} finds a line by account, amount or "
            "#number. {batch_entry.controls} corrects the control tape. {batch_entry.post} posts the batch when it "
            "balances (a supervisor may post a difference with a reason); "
            "the report and deposit file are written and their paths shown. "
            "Nothing is lost by leaving: {app.batches} goes to the batch list, where the batch can be reopened.")
    BINDINGS = [
        bind("batch_entry.find", "find", "Find"),
        bind("batch_entry.post", "post", "Post"),
        bind("batch_entry.void", "void", "Void line"),
        bind("batch_entry.keying", "keying", "Keying", show=False),
        bind("batch_entry.controls", "controls", "Controls", show=False),
        bind("batch_entry.report", "report", "Report", show=False),
    ]
    DEFAULT_CSS = """
    BatchEntryScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    BatchEntryScreen #totals { height: 1; padding: 0 1; }
    BatchEntryScreen #lines { height: 1fr; }
    BatchEntryScreen #warning { height: auto; padding: 0 1; color: $text-warning; background: $warning-muted;
        display: none; }
    BatchEntryScreen #warning.shown { display: block; }
    BatchEntryScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    BatchEntryScreen #message.error { color: $text-error; text-style: bold; }
    BatchEntryScreen BatchPaymentForm { border-top: solid $primary; }
    """

    def __init__(self, batch_id: int) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.batch = batches.get_batch(batch_id)
        self.totals = batches.batch_totals(batch_id)
        self.layout_ = scan_layout(self.app.settings)
        self.ask_check_no = self.batch.tender == "check"
        self._info: dict[str, batches.EntryAccount] = {}
        self._scan: tuple[str, str] | None = None
        self._scan_line = None
        self._find: tuple[str, list[int], int] | None = None   # query, seqs, index shown
        self._posting = False

    @property
    def editable(self) -> bool:
        return self.batch.status in batches.EDITABLE

    @property
    def keyable(self) -> bool:
        return self.editable and self.batch.source == "keyed"

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="totals")
        yield LinesTable(self.batch_id, self._line_count, id="lines")
        yield Static("", id="warning")
        yield Static("", id="message")
        fields = [
            FieldSpec("account", "Account", "scan", self.layout_.barcode_length, mandatory_entry=True,
                      validate=self._check_account, dup=False),
            FieldSpec("amount", "Amount", "money", 9, mandatory_entry=True, validate=check_amount_text,
                      default=self._amount_due),
            FieldSpec("check_no", "Check no", "digits", 10),
        ]
        tenkey = self.app.settings.tenkey
        yield BatchPaymentForm(fields, on_submit=self._submit, after_exit=self._after_exit,
                               tenkey=tenkey, id="form")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.lines
        table.load()
        form = self.form
        form.accept_after = event_clock()
        form.display = self.keyable
        if self.keyable:
            last = self._last_line()
            if last is not None:  # Dup works across a reopen: the previous record is the last line
                form.previous = {"account": str(last.account_number or last.account_text),
                                 "amount": cents_text(last.amount_cents), "check_no": last.check_no}
            form.focus()
        else:
            table.focus()
            if self.batch.status == "posted":
                self.message(f"Posted {self.batch.posted_at:%m/%d/%Y %H:%M} by {self.batch.posted_by}. "
                             f"{keys_text('batch_entry.report')} writes its report again.")
            elif self.editable:
                self.message(f"An {self.batch.source} batch: lines come from the bank file; "
                             f"{keys_text('batch_entry.post')} posts it.")
        self.show_header()

    def on_resize(self) -> None:
        self.lines.fit()

    @property
    def form(self) -> BatchPaymentForm:
        return self.query_one("#form", BatchPaymentForm)

    @property
    def lines(self) -> LinesTable:
        return self.query_one("#lines", LinesTable)

    def show_header(self) -> None:
        b = self.batch
        title = Text()
        title.append(f"Batch {b.number}  {TENDER_NAMES.get(b.tender, b.tender)}  {b.batch_date:%m/%d/%Y}  "
                     f"{b.status.replace('_', ' ').upper()}")
        if b.source != "keyed":
            title.append(f"  ({b.source})")
        if self.keyable:
            modes = []
            if self.form.tenkey:
                modes.append("10-KEY")
            modes.append("check no. asked" if self.ask_check_no else "check no. skipped")
            title.append("   " + "  ".join(modes), style="italic")
        self.query_one("#title", Static).update(title)
        self.query_one("#totals", Static).update(totals_text(self.totals))

    def message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#message", Static)
        widget.update(Text(text))
        widget.set_class(error, "error")

    @on(PaymentForm.HoldChanged)
    def hold_changed(self, event: PaymentForm.HoldChanged) -> None:
        bar = self.query_one("#warning", Static)
        held = self.form.held
        if held:
            text = Text("\n".join(w.message for w in held[0]))
            n = self.form.held_keys
            if n:
                text.append(f"\n{n} key{'s were' if n != 1 else ' was'} typed after this warning and not used: "
                            f"key them again after this line.", style="bold")
            bar.update(text)
        bar.set_class(bool(held), "shown")

    # -- the lines table --------------------------------------------------------------
    def _line_count(self) -> int:
        return self.totals.count + self.totals.void_count

    def _last_line(self) -> LineInfo | None:
        found = batches.last_lines(self.batch_id, 1)
        return found[0] if found else None

    def focus_lines(self) -> None:
        table = self.lines
        if not table.row_count:
            self.message("No lines yet", error=True)
            return
        table.focus()
        self.message(f"Lines: Enter changes the line, {keys_text('batch_entry.void')} voids it, "
                     f"{keys_text('batch_entry.find')} finds, "
                     f"{keys_text('batch_entry.keying')} back to keying")

    def action_keying(self) -> None:
        """Esc/F6 in the lines table: back to the form."""
        if self.keyable and not self.form.has_focus:
            self.form.focus()
            self.message("")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "keying":
            return self.keyable and not self.form.has_focus
        if action == "void":
            return self.editable
        if action == "post":
            return self.editable
        if action == "controls":
            return self.keyable
        if action == "report":
            return self.batch.status == "posted"
        return True

    # -- keying -----------------------------------------------------------------------
    def _check_account(self, text: str, record: Record) -> str | None:
        """Account Field Exit: a scan line, or an account number verified and looked up."""
        self._scan_line = None
        try:
            if batches.looks_like_scan(text, self.layout_):
                scan = batches.scan_to_entry(text, self.layout_)
                number = str(scan.account_number)
                self._info[number] = batches.account_info_for_entry(number)
                self._scan_line = scan
            else:
                self._info[text] = batches.account_info_for_entry(text)
        except ServiceError as e:
            return e.message
        return None

    def _after_exit(self, name: str, record: Record) -> str | None:
        form = self.form
        if name == "account":
            text = record["account"]
            self._scan = None
            scan = self._scan_line
            if scan is not None:
                number = str(scan.account_number)
                info = self._info[number]
                record["account"] = number
                form.set_info(account_info_line(info))
                if scan.amount_cents == 0:  # nothing due on the stub: key what was paid
                    record["amount"] = ""
                    form.set_info(f"Stub shows $0.00 due: key the amount.  {account_info_line(info)}")
                    return "amount"
                record["amount"] = cents_text(scan.amount_cents)
                self._scan = (number, record["amount"])
                return SUBMIT  # one Enter writes a scanned exact-amount stub
            info = self._info.get(text)
            if info is not None:
                form.set_info(account_info_line(info))
        elif name == "amount" and not self.ask_check_no:
            return SUBMIT
        return None

    def _amount_due(self, record: Record) -> str:
        info = self._info.get(record["account"])
        if info is None:
            info = batches.account_info_for_entry(record["account"])
        if info.amount_due_cents <= 0:
            raise ValueError(f"nothing is due ({money.fmt_dollars(info.balance_cents)} balance): key the amount")
        return cents_text(info.amount_due_cents)

    def _submit(self, record: Record) -> SubmitResult | None:
        form = self.form
        try:
            cents = money.parse(record["amount"])
        except money.MoneyError as e:
            return SubmitResult("amount", str(e))
        source = "scanned" if self._scan == (record["account"], record["amount"]) else "keyed"
        ack, reason = form.acknowledgement(record)
        try:
            line = batches.key_line(self.app.operator, self.batch_id, record["account"], cents,
                                    record["check_no"], source, ack=ack, reason=reason)
        except batches.BatchStateError as e:  # posted or voided meanwhile (another session)
            self.refresh_batch()
            self.message(f"{e.message}. The line in the form was not saved.", error=True)
            self.call_after_refresh(self._stop_keying)
            return SubmitResult(None, e.message)
        except ServiceError as e:
            return form.refused(e, record)
        self._scan = None
        self._info.clear()
        if self.batch.status != "open":  # keying puts a balanced / out-of-balance batch back to open
            self.batch = batches.get_batch(self.batch_id)
        # The line is committed; the totals move by it (no query per line: heads-down speed).
        self.totals = replace(self.totals, count=self.totals.count + 1,
                              total_cents=self.totals.total_cents + line.amount_cents)
        self.lines.append(line)
        self.show_header()
        if self.totals.balanced:
            self.message(f"The batch balances: {keys_text('batch_entry.post')} posts it")
        elif self.totals.count >= self.totals.control_count:
            self.message(f"All {self.totals.control_count} stubs keyed but the total is off by "
                         f"{signed_dollars(self.totals.total_difference_cents)}: "
                         f"{keys_text('batch_entry.find')} finds a line, "
                         f"{keys_text('batch_entry.controls')} corrects the tape", error=True)
        else:
            self.message("")
        return None

    def toggle_check_no(self) -> None:
        self.ask_check_no = not self.ask_check_no
        self.show_header()
        self.message("Check number: asked after the amount" if self.ask_check_no else
                     "Check number: not asked (Enter on the amount saves the line)")

    # -- corrections ------------------------------------------------------------------
    @on(DataTable.RowSelected, "#lines")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        ln = self.lines.line(event.row_key.value)
        if ln is None:
            return
        if not self.editable:
            self.message(f"Batch {self.batch.number} is {self.batch.status}: its lines cannot change", error=True)
            return
        if ln.status == "void":
            self.message(f"Line {ln.seq} is void: key a new line instead", error=True)
            return

        def done(changed: LineInfo | None) -> None:
            if changed is not None:
                self.totals = batches.batch_totals(self.batch_id)
                self.lines.replace(changed)
                self.show_header()
                self.message(f"Line {changed.seq} changed (kept in the audit log)")

        self.app.open("line_edit", ln, self.form.tenkey, callback=done)

    def action_void(self) -> None:
        if not self.lines.has_focus:
            self.message(f"{keys_text('batch_entry.lines')} first, then choose the line to void with the "
                         f"arrows", error=True)
            return
        ln = self.lines.highlighted_line()
        if ln is None:
            return
        if ln.status == "void":
            self.message(f"Line {ln.seq} is already void", error=True)
            return

        def done(reason: str | None) -> None:
            if not reason:
                return
            try:
                changed = batches.void_line(self.app.operator, ln.id, reason)
            except ServiceError as e:
                self.message(e.message, error=True)
                return
            self.totals = batches.batch_totals(self.batch_id)
            self.lines.replace(changed)
            self.show_header()
            self.message(f"Line {ln.seq} void: {reason}")

        self.app.push_screen(reason_prompt(
            f"Void line {ln.seq}", f"{ln.account_number or ln.account_text}  {ln.name}  "
                                   f"{money.fmt_dollars(ln.amount_cents)}  check {ln.check_no or '-'}",
            placeholder="Why (e.g. stub keyed twice)"), done)

    def action_find(self) -> None:
        last = self._find[0] if self._find else ""
        self.app.push_screen(PromptScreen("Find a line: account no., amount (45.67) or #line", value=last,
                                          placeholder="123457   or   45.67   or   #12", help=FIND_HELP), self._found)

    def _found(self, query: str | None) -> None:
        if not query:
            return
        if self._find and self._find[0] == query and self._find[1]:
            q, seqs, i = self._find
            i = (i + 1) % len(seqs)
            self._find = (q, seqs, i)
            self.lines.goto_seq(seqs[i])
            self.message(f"Match {i + 1} of {len(seqs)}: line {seqs[i]} ({keys_text('batch_entry.find')}, "
                         f"Enter: the next)")
            return
        try:
            if query.startswith("#") or query.lower().startswith("line"):
                seq = int(query.lstrip("#").lower().removeprefix("line").strip())
                seqs = [batches.line_at(self.batch_id, seq).seq]
            elif "." in query or "$" in query:
                seqs = [ln.seq for ln in batches.find_lines(self.batch_id, amount=query)]
            else:
                seqs = [ln.seq for ln in batches.find_lines(self.batch_id, account=query)]
        except ValueError:
            self.message("Find: an account number, an amount like 45.67, or #12", error=True)
            return
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        if not seqs:
            self._find = None
            self.message(f"No line matches {query!r}", error=True)
            return
        self._find = (query, seqs, 0)
        self.lines.goto_seq(seqs[0])
        shown = ", ".join(map(str, seqs[:8])) + (" ..." if len(seqs) > 8 else "")
        self.message(f"{len(seqs)} found: line "
                     f"{shown}" + (f"  ({keys_text('batch_entry.find')}, Enter: the next)" if len(seqs) > 1 else ""))

    def action_controls(self) -> None:
        def done(result) -> None:
            self.form.focus()
            if result is not None:
                self.refresh_batch()
                self.message("Control tape corrected (kept in the audit log)")

        self.app.open("batch_form", self.batch, callback=done)

    def _stop_keying(self) -> None:
        if not self.keyable:
            self.form.display = False
            self.lines.focus()

    def refresh_batch(self) -> None:
        self.batch = batches.get_batch(self.batch_id)
        self.totals = batches.batch_totals(self.batch_id)
        self.show_header()

    # -- posting ----------------------------------------------------------------------
    def action_post(self) -> None:
        if self._posting:
            return
        form = self.form
        if self.keyable and (form.locked or any(form.values.values())):
            self.message("Finish the line in the form (Enter) or clear it (Esc) before posting", error=True)
            return
        op = self.app.operator
        try:
            totals = batches.balance_batch(op, self.batch_id)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.refresh_batch()
        if totals.count == 0:
            self.message(f"Batch {self.batch.number} is empty: nothing to post", error=True)
            return
        if totals.balanced:
            text = Text(f"{totals.count:,} lines, {money.fmt_dollars(totals.total_cents)}, to the ledger "
                        f"dated {self.batch.batch_date:%m/%d/%Y}. Posting happens once and cannot be undone.")
            self.app.push_screen(ConfirmScreen(f"Post batch {self.batch.number}?", text),
                                 lambda yes: yes and self.post(None))
            return
        describe = (f"Out of balance: keyed {totals.count:,} lines {money.fmt_dollars(totals.total_cents)}, "
                    f"tape {totals.control_count:,} lines {money.fmt_dollars(totals.control_total_cents)} "
                    f"(difference {totals.count_difference:+,} lines, "
                    f"{signed_dollars(totals.total_difference_cents)})")
        if not op.can("batch.approve"):
            self.message(f"{describe}. Correct the lines or the tape ({keys_text('batch_entry.controls')}); "
                         f"only a supervisor may post "
                         f"a difference.", error=True)
            return
        self.app.push_screen(reason_prompt(f"Post batch {self.batch.number} out of balance?",
                                           describe + ". As supervisor, give the reason you accept the difference.",
                                           placeholder="Why the difference is accepted"),
                             lambda reason: reason and self.post(reason))

    def post(self, reason: str | None) -> None:
        self._posting = True
        self.message("Posting ...")
        self._post_worker(reason)

    @work(thread=True, exclusive=True, group="post")
    def _post_worker(self, reason: str | None) -> None:
        # post_batch and write_batch_reports open this thread's connection for their call.
        try:
            result = batches.post_batch(self.app.operator, self.batch_id, accept_reason=reason)
        except ServiceError as e:
            self.app.call_from_thread(self._post_failed, e.message)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self._post_failed, f"Posting did not finish: {first_line(e)}. "
                                      f"{keys_text('batch_entry.post')} tries again (a batch never posts twice)")
            return
        try:
            files = reports.write_batch_reports(self.batch_id, reports.reports_dir(self.app.settings))
            error = ""
        except ServiceError as e:
            files, error = None, e.message
        except Exception as e:  # noqa: BLE001 - posted; only the files are missing
            files, error = None, first_line(e)
        self.app.call_from_thread(self._posted, result, files, error)

    def _post_failed(self, text: str) -> None:
        self._posting = False
        self.refresh_batch()
        self.message(text, error=True)

    def _posted(self, result: batches.PostResult, files, error: str) -> None:
        self._posting = False
        self.refresh_batch()
        self.form.display = False
        self.lines.focus()
        t = result.totals
        text = Text(f"{result.entries:,} payments, {money.fmt_dollars(t.total_cents)}, posted to the ledger.\n")
        if result.accepted_difference:
            text.append(f"Difference accepted: {signed_dollars(t.total_difference_cents)}\n")
        text.append_text(self._files_text(files, error))
        self.message(f"Posted. Reports in {reports.reports_dir(self.app.settings)}")
        self.app.push_screen(MessageScreen(f"Batch {self.batch.number} posted", text), self._after_posted)

    @staticmethod
    def _files_text(files, error: str) -> Text:
        text = Text()
        if files is not None:
            text.append("Report   ", style="dim")
            text.append(f"{files.text}\n")
            if files.pdf:
                text.append("PDF      ", style="dim")
                text.append(f"{files.pdf}\n")
            text.append("Deposit  ", style="dim")
            text.append(f"{files.csv}")
        if error:
            text.append(f"\nThe reports were not written: {error}. {keys_text('batch_entry.report')} on the "
                        f"batch tries again.", style="bold red")
        return text

    def _after_posted(self, _=None) -> None:
        if len(self.app.screen_stack) > 1 and self.app.showing("batches", self.app.screen_stack[-2]):
            self.app.leave(self)  # the list reloads itself on resume

    def pdf_to_print(self):
        """The print key: the posted batch's report as PDF (written again, as {batch_entry.report} does)."""
        return reports.write_batch_reports(self.batch_id, reports.reports_dir(self.app.settings)).pdf

    def action_report(self) -> None:
        try:
            files = reports.write_batch_reports(self.batch_id, reports.reports_dir(self.app.settings))
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.app.push_screen(MessageScreen(f"Batch {self.batch.number} reports", self._files_text(files, "")))

