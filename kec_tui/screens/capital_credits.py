"""A member's capital credits from the account: each year allocated, retired and the balance, what an
early retirement would pay today, what was paid and how; early and estate retirement with a supervisor
signing in on the spot (services/capital_credits.py)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind
from kec_tui.services import capital_credits as cc
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn
from kec_tui.widgets.tables import fill_width

PAYMENT_WORDS = {"credit": "bill credit", "check": "check"}


class CapitalCreditsScreen(Screen):
    """The member's capital credit statement, with the early retirement quote."""

    HELP = ("The member's capital credits (all their accounts together): for each year the credits allocated from "
            "the co-op's margins, what is retired (paid back), the balance, the years left until the rotation "
            "pays it and what it is worth paid today (its present value at the discount rate). Below, what was "
            "paid: general retirements as a bill credit to an active member or a check to an inactive one, early "
            "and estate retirements. {capital_credits.early} retires the credits early at their present value "
            "(all, or an amount from the oldest years); {capital_credits.estate} pays a deceased member's credits "
            "to the heirs by check, with the paperwork received; a supervisor signs in for each. "
            "{capital_credits.back} goes back to the account.")
    BINDINGS = [
        bind("capital_credits.back", "back", "Back"),
        bind("capital_credits.early", "retire('early')", "Early retirement"),
        bind("capital_credits.estate", "retire('estate')", "Estate"),
    ]
    DEFAULT_CSS = """
    CapitalCreditsScreen #title { height: auto; padding: 0 1; background: $primary-background; text-style: bold; }
    CapitalCreditsScreen #years { height: auto; max-height: 14; }
    CapitalCreditsScreen #totals { height: auto; padding: 0 1; }
    CapitalCreditsScreen #paid-title { height: 1; padding: 0 1; border-top: hkey $primary; }
    CapitalCreditsScreen #paid { height: 1fr; }
    CapitalCreditsScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.member_id = cc.member_of_account(account_id)
        self.changed = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield DataTable(id="years", cursor_type="row", zebra_stripes=True)
        yield Static("", id="totals")
        yield Static("", id="message")
        yield Static("Paid", id="paid-title")
        yield DataTable(id="paid", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        years = self.query_one("#years", DataTable)
        for label, width in (("Year", 4), ("Allocated", 11), ("Retired", 11), ("Balance", 11), ("Left", 4),
                             ("Worth today", 11)):
            years.add_column(label, width=width, key=label.lower())
        paid = self.query_one("#paid", DataTable)
        for label, width in (("Date", 10), ("Kind", 7), ("Retired", 10), ("Paid", 10), ("By", 11), ("Status", 9),
                             ("Payee", 20)):
            paid.add_column(label, width=width, key=label.lower())
        self.query_one("#message").display = False
        self.load()
        years.focus()

    def load(self) -> None:
        st = cc.statement(self.app.operator, self.member_id)
        q = cc.quote(self.member_id)
        worth = {year: (left, value) for year, _, left, value in q.by_year}
        self.query_one("#title", Static).update(Text(
            f"Capital credits  member {st.member_no}  {st.name}  [{'active' if st.active else 'inactive'}]"))
        years = self.query_one("#years", DataTable)
        years.clear()
        for y in reversed(st.years):
            left, value = worth.get(y.year, (0, 0))
            years.add_row(str(y.year), *(Text(money.fmt(c), justify="right")
                                         for c in (y.allocated_cents, y.retired_cents, y.balance_cents)),
                          Text(str(left) if y.balance_cents else "", justify="right"),
                          Text(money.fmt(value) if y.balance_cents else "", justify="right"), key=str(y.year))
        self.query_one("#totals", Static).update(Text(
            f"Allocated {money.fmt_dollars(st.allocated_cents)}   retired {money.fmt_dollars(st.retired_cents)}   "
            f"balance {money.fmt_dollars(st.balance_cents)}   worth today {money.fmt_dollars(q.paid_cents)}"
            if st.years else "No capital credits allocated to this member yet.", style="bold"))
        paid = self.query_one("#paid", DataTable)
        paid.clear()
        for p in reversed(st.payments):
            by = PAYMENT_WORDS[p.method] + (f" {p.check_no}" if p.check_no else "")
            paid.add_row(f"{p.on:%m/%d/%Y}", p.kind, Text(money.fmt(p.face_cents), justify="right"),
                         Text(money.fmt(p.paid_cents), justify="right"), by, p.status if p.method == "check" else "",
                         p.payee)
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        fill_width(self.query_one("#paid", DataTable), "payee", self.size.width, minimum=10)

    def say(self, text: str, error: bool = False) -> None:
        box = self.query_one("#message", Static)
        box.update(Text(text, style="bold red" if error else "bold green"))
        box.display = True

    def action_retire(self, kind: str) -> None:
        if not self.app.operator.can("capital_credits.run"):
            self.say("Capital credit retirements are made by billing staff and supervisors", error=True)
            return

        def done(paid: int | None) -> None:
            if paid is not None:
                self.changed = True
                self.load()
                self.say(f"Retired: {money.fmt_dollars(paid)} paid"
                         + (" to the heirs by check" if kind == "estate" else ""))
        self.app.push_screen(RetireDialog(self.member_id, kind), done)

    def action_back(self) -> None:
        self.dismiss(self.changed)


class RetireDialog(FormDialog[int | None]):
    """Early or estate retirement of one member: the amount (early) or heirs and paperwork (estate), and
    the supervisor who approves it."""

    HELP = ("Early retirement pays the member's credits now at their present value: leave the amount empty for all "
            "of them, or key an amount retired from the oldest years first (never more than the balance). An "
            "active member is paid by a bill credit, an inactive one by check. Estate retirement pays a deceased "
            "member's credits to the heirs by check: name the heirs or the estate's representative and the "
            "paperwork received. A supervisor signs in with name and password. Enter on the last field pays, "
            "once. {entry_form.clear_record} leaves without paying.")
    DEFAULT_CSS = """
    RetireDialog #who { padding: 0 1; height: auto; }
    """

    def __init__(self, member_id: int, kind: str) -> None:
        super().__init__()
        self.member_id, self.kind = member_id, kind
        self.quote = cc.quote(member_id)
        self.sign_in = SupervisorSignIn(
            "capital_credits.approve",
            lambda who: f"Only a supervisor approves a retirement; {who.username} ({who.role}) may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return "Early retirement" if self.kind == "early" else "Estate retirement"

    def compose_about(self) -> ComposeResult:
        q = self.quote
        yield Static(Text(f"Balance {money.fmt_dollars(q.face_cents)}, worth {money.fmt_dollars(q.paid_cents)} "
                          f"today", style="bold"), id="who")

    def make_form(self) -> StepForm:
        if self.kind == "early":
            fields = [FieldSpec("amount", "Amount (empty: all)", "money", 10, validate=self._amount)]
        else:
            fields = [FieldSpec("heirs", "Heirs / representative", "text", 48, mandatory_entry=True),
                      FieldSpec("paperwork", "Paperwork received", "text", 48, mandatory_entry=True)]
        fields += self.sign_in.fields()
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), secret=(SupervisorSignIn.PASSWORD,),
                        on_submit=self.post, id="form")

    def _amount(self, value: str, record: Record) -> str | None:
        if not value.strip():
            return None
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return str(e)
        if cents <= 0:
            return "Amount: more than zero, or empty for all"
        if cents > self.quote.face_cents:
            return f"Amount: at most the balance, {money.fmt_dollars(self.quote.face_cents)}"
        return None

    def post(self, record: Record) -> SubmitResult | None:
        approver = self.sign_in.who
        if approver is None:
            return SubmitResult(SupervisorSignIn.USER, "A supervisor must sign in to approve the retirement")
        try:
            if self.kind == "early":
                amount = money.parse(record["amount"]) if record["amount"].strip() else None
                paid = cc.retire_early(self.app.operator, approver, self.member_id, amount_cents=amount)
            else:
                paid = cc.retire_estate(self.app.operator, approver, self.member_id, heirs=record["heirs"],
                                        paperwork=record["paperwork"])
        except ServiceError as e:
            return SubmitResult(e.field if e.field in record else None, e.message)
        self.dismiss(paid)
        return None
