"""Bill inquiries on an account: the bills listed, the highlighted one explained in plain words or
compared with the month before and the same month last year, the bill calculator, a statement
PDF of one bill, and cancel / rebill with a reason. The words come from services/bill_inquiry.py."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import accounts, bill_calc, bill_inquiry, billing_run, reports
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width


def bill_row(b: bill_inquiry.BillRow) -> tuple:
    style = "dim strike" if b.status == "cancelled" else ""
    amount = money.fmt(b.charged_cents)
    return (Text(f"{b.bill_date:%m/%d/%Y}", style=style), f"{b.period_start:%m/%d}-{b.period_end:%m/%d/%y}",
            Text(str(b.days), justify="right"), Text(f"{b.kwh:,}", justify="right"),
            Text(amount, justify="right", style=style), f"{b.due_date:%m/%d/%Y}",
            Text(b.flags, style="yellow" if b.estimated or b.status == "cancelled" else ""))


def detail_renderable(lines: list[str]) -> Group:
    """The plain-words lines; an indented line (a charge) is a bullet whose wrapped words stay indented."""
    parts: list = []
    for line in lines:
        if line.startswith("  "):
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=2, justify="right")
            grid.add_column(ratio=1)
            grid.add_row("-", Text(line.strip()))
            parts.append(grid)
        else:
            parts.append(Text(line))
    return Group(*parts)


class BillsScreen(Screen):
    """The account's bills: explain, compare, calculate, statement, cancel / rebill."""

    HELP = ("The account's bills, newest first: bill date, service period, days, kWh, the amount charged, due date "
            "and flags (estimated, budget, cancelled, rebill, first, final). Under the list, the highlighted bill "
            "in plain words: what each charge is, its rate, the kWh and the amount, the readings and days. "
            "{bills.explain} explains the bill, {bills.compare} compares it with the month before and the same "
            "month last year and says why it differs. {bills.calculator} opens the bill calculator (\"what would "
            "my bill be\": kWh and schedule in, the bill out). {bills.statement} writes the bill's statement PDF "
            "to the reports folder and shows where. {bills.cancel} cancels the bill (its charge reversed) and "
            "{bills.rebill} bills the period again with corrected kWh: each asks the reason, kept in the audit "
            "log; billing staff and supervisors only. {bills.back} goes back to the account.")
    BINDINGS = [
        bind("bills.back", "back", "Back"),
        bind("bills.explain", "show('explain')", "Explain"),
        bind("bills.compare", "show('compare')", "Compare"),
        bind("bills.calculator", "calculator", "Calculator"),
        bind("bills.statement", "statement", "Statement"),
        bind("bills.cancel", "cancel_bill", "Cancel bill"),
        bind("bills.rebill", "rebill", "Rebill"),
    ]
    DEFAULT_CSS = """
    BillsScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    BillsScreen #bills { height: auto; max-height: 8; }
    BillsScreen #detail { height: 1fr; padding: 0 1; border-top: hkey $primary; }
    BillsScreen #message { height: auto; max-height: 3; padding: 0 1; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.rows: list[bill_inquiry.BillRow] = []
        self.mode = "explain"
        self.changed = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield DataTable(id="bills", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        with VerticalScroll(id="detail"):
            yield Static("", id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        v = accounts.view(self.account_id)
        self.query_one("#message").display = False      # until there is something to say
        self.query_one("#title", Static).update(Text(f"Bills  {v.number}  {v.name}  [{v.status.upper()}]  "
                                                     f"rate {v.rate_class}"))
        t = self.query_one("#bills", DataTable)
        for label, width in (("Bill date", 10), ("Period", 14), ("Days", 4), ("kWh", 6), ("Amount", 9),
                             ("Due", 10), ("Flags", 8)):
            t.add_column(label, width=width, key=label.lower())
        self.load()
        t.focus()

    def load(self, select: int | None = None) -> None:
        self.rows = bill_inquiry.bills(self.account_id)
        t = self.query_one("#bills", DataTable)
        t.clear()
        for b in self.rows:
            t.add_row(*bill_row(b), key=str(b.id))
        if not self.rows:
            self.say(bill_inquiry.no_bills_message(self.account_id))
            self.show_detail([f"{keys_text('bills.calculator')} opens the bill calculator."])
            return
        self.fit()
        if select is not None:
            t.move_cursor(row=next((i for i, b in enumerate(self.rows) if b.id == select), 0))
        self.show_bill()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Flags take what the other columns leave: amounts and kWh are never cut."""
        fill_width(self.query_one("#bills", DataTable), "flags", self.size.width, minimum=8,
                   ids=("kwh", "amount"))

    @property
    def bill(self) -> bill_inquiry.BillRow | None:
        t = self.query_one("#bills", DataTable)
        if not self.rows or not 0 <= t.cursor_row < len(self.rows):
            return None
        return self.rows[t.cursor_row]

    def say(self, text: str, error: bool = False) -> None:
        if not self.is_attached:                # left meanwhile (a worker's answer)
            return
        box = self.query_one("#message", Static)
        box.update(Text(text, style="bold red" if error else "bold"))
        box.display = bool(text)

    def show_detail(self, lines: list[str]) -> None:
        self.query_one("#detail-text", Static).update(detail_renderable(lines))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def show_bill(self) -> None:
        b = self.bill
        if b is None:
            return
        try:
            if self.mode == "compare":
                lines = bill_inquiry.compare(b.id).lines()
                title = f"Bill of {b.bill_date:%m/%d/%Y} compared ({keys_text('bills.explain')} explains it):"
            else:
                lines = bill_inquiry.explain(b.id)
                title = f"In plain words ({keys_text('bills.compare')} compares with other months):"
        except ServiceError as e:
            self.show_detail([e.message])
            return
        self.show_detail([title, *lines])

    @on(DataTable.RowHighlighted, "#bills")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_bill()

    def action_show(self, mode: str) -> None:
        self.mode = mode
        if self.bill is None:
            self.say(bill_inquiry.no_bills_message(self.account_id))
            return
        self.show_bill()

    def action_back(self) -> None:
        if self.app.screen is self:             # Esc typed twice ahead: the second is not for the account
            self.dismiss(self.changed)          # the account refreshes when a bill was cancelled or rebilled

    def action_calculator(self) -> None:
        self.app.open("bill_calculator", self.account_id)

    # -- statement -------------------------------------------------------------------------------
    def action_statement(self) -> None:
        b = self.bill
        if b is None:
            self.say(bill_inquiry.no_bills_message(self.account_id), error=True)
            return
        self.say(f"Writing the statement of {b.bill_date:%m/%d/%Y} ...")
        self._write_statement(b.id)

    def pdf_to_print(self):
        """The print key: the highlighted bill's statement PDF, written to the reports folder."""
        b = self.bill
        if b is None:
            self.say(bill_inquiry.no_bills_message(self.account_id), error=True)
            return None
        return bill_inquiry.write_statement(b.id, reports.reports_dir(self.app.settings))

    @work(thread=True, exclusive=True, group="statement")
    def _write_statement(self, bill_id: int) -> None:
        try:
            path = bill_inquiry.write_statement(bill_id, reports.reports_dir(self.app.settings))
        except (ServiceError, OSError) as e:
            text = e.message if isinstance(e, ServiceError) else f"The statement could not be written: {e}"
            self.app.call_from_thread(self.tell, text, True)
            return
        self.app.call_from_thread(self.tell, f"Statement written: {path}")

    def tell(self, text: str, error: bool = False) -> None:
        """A worker's answer: on the screen, or as a notice when the screen was left meanwhile."""
        if self.is_attached:
            self.say(text, error)
        else:
            self.app.notify(text, title="Statement", severity="error" if error else "information", timeout=12)

    # -- cancel / rebill -------------------------------------------------------------------------
    def _changeable(self) -> bill_inquiry.BillRow | None:
        b = self.bill
        op = self.app.operator
        if b is None:
            self.say(bill_inquiry.no_bills_message(self.account_id), error=True)
            return None
        if not op.can("billing.adjust"):
            self.say(f"Cancelling or rebilling a bill is for billing staff and supervisors ({op.role} may not)",
                     error=True)
            return None
        if b.status != "billed":
            self.say(f"The bill of {b.bill_date:%m/%d/%Y} is already {b.status}", error=True)
            return None
        return b

    def action_cancel_bill(self) -> None:
        b = self._changeable()
        if b is None:
            return
        what = (f"Bill of {b.bill_date:%m/%d/%Y}, {b.kwh:,} kWh, {money.fmt_dollars(b.charged_cents)}: its charge "
                f"is reversed on the ledger. Why is it cancelled?")
        self.app.push_screen(reason_prompt("Cancel this bill?", what, placeholder="Why the bill is cancelled"),
                             lambda reason: reason and self._cancel(b.id, reason))

    def _cancel(self, bill_id: int, reason: str) -> None:
        try:
            done = billing_run.cancel_bill(self.app.operator, bill_id, reason)
        except ServiceError as e:
            self.say(e.message, error=True)
            return
        self.changed = True
        self.say(f"Bill of {done.bill_date:%m/%d/%Y} cancelled: {money.fmt_dollars(done.charged_cents)} reversed")
        self.load(select=bill_id)

    def action_rebill(self) -> None:
        b = self._changeable()
        if b is None:
            return

        def done(new: billing_run.BillInfo | None) -> None:
            if new is not None:
                self.changed = True
                self.say(f"Rebilled: {new.kwh:,} kWh, {money.fmt_dollars(new.total_cents)} charged "
                         f"(the old bill cancelled and reversed)")
                self.load(select=new.id)
        self.app.open("rebill", b.id, b.kwh, f"Rebill the bill of {b.bill_date:%m/%d/%Y}",
                      f"Period {b.period_start:%m/%d/%Y}-{b.period_end:%m/%d/%Y} ({b.days} days), {b.kwh:,} kWh, "
                      f"{money.fmt_dollars(b.total_cents)}", callback=done)


class CalculatorScreen(FormDialog[None]):
    """The bill calculator: what would my bill be."""

    HELP = ("\"What would my bill be?\" Key the kWh (a whole number) and Enter; the schedule starts as the "
            "account's (space cycles, or key its first letter). The bill comes out below, line by line, at "
            "today's rates for a 30-day month; key another kWh to try again. {entry_form.clear_record} closes.")
    DEFAULT_CSS = """
    CalculatorScreen #about { padding: 0 1; height: auto; color: $text-muted; }
    CalculatorScreen #result { padding: 0 1; height: auto; max-height: 14; }
    """

    def __init__(self, account_id: int | None = None) -> None:
        super().__init__()
        self.account_id = account_id
        self.names = {s.code: s.name for s in bill_inquiry.schedules()}
        self.codes = list(self.names)
        self.result: bill_calc.BillCalc | None = None     # the last bill worked out
        self.default, self.city = bill_inquiry.account_schedule(account_id) if account_id else ("", "")
        if self.default not in self.codes:
            self.default = "RES" if "RES" in self.codes else (self.codes[0] if self.codes else "")

    def title_text(self) -> str:
        return "Bill calculator: what would my bill be?"

    def compose_about(self) -> ComposeResult:
        where = f", franchise fee of {self.city}" if self.city else ""
        yield Static(Text("Schedules: " + ", ".join(f"{c} {n}" for c, n in self.names.items())
                          + f". Today's rates, a 30-day month{where}."), id="about")

    def compose_below(self) -> ComposeResult:
        yield Static("", id="result")

    def make_form(self) -> StepForm:
        fields = [
            FieldSpec("kwh", "kWh", "digits", 8, mandatory_entry=True),
            FieldSpec("schedule", "Rate schedule", "choice", 8, choices=tuple(self.codes),
                      default=lambda r: self.default),
        ]
        return StepForm(fields, steps=dict.fromkeys(("kwh", "schedule"), ""), on_submit=self.work_out, id="form")

    def work_out(self, record: Record) -> SubmitResult | None:
        try:
            calc = bill_inquiry.calculate(record["schedule"], record["kwh"], city=self.city)
        except ServiceError as e:
            return SubmitResult(e.field if e.field in record else "kwh", e.message)
        self.result = calc
        self.query_one("#result", Static).update(detail_renderable(bill_inquiry.calculation_lines(calc)))
        return None

    def action_cancel(self) -> None:
        self.dismiss(None)
