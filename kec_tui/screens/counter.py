"""A counter payment (Ctrl+K on the account or in lookup; F6 on the cash drawer for a cash sale): the
payment on the account, products sold, the tenders (cash, check, money order, card) and a note, keyed
on one form (a StepForm: every key in its field however fast it comes) and taken whole on the last
Enter by services/counter.py, in the operator's open drawer. The receipt (text and PDF) is written to
the reports folder; the cash drawer screen reprints it."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui import money
from kec_tui.services import accounts, card_numbers, counter, products, reports
from kec_tui.services.counter import Receipt, Sale, Tender
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.validators import required

ITEMS = 3
PAY_STEP, TENDER_STEP, END_STEP = "Payment and items", "Tenders", "Finish"
# A service's field -> the form's field it points at.
FIELD_OF = {"payment": "pay", "tender": "cash", "cash": "cash", "check": "check", "money_order": "mo",
            "card": "card", "reference": "check_no", "card_type": "card_type", "card_last4": "last4",
            "approval": "approval", "note": "note", "item": "item1", "quantity": "qty1", "credit": "credit",
            "account": "pay", "drawer": "pay"}


def cents_of(text: str) -> int:
    """A money field's text as cents; empty (or half keyed) is 0."""
    try:
        return money.parse(text) if text.strip() else 0
    except money.MoneyError:
        return 0


class CounterScreen(FormDialog[Receipt | None]):
    """Take a counter payment and sell products: tenders, change, receipt."""

    HELP = ("The payment on the account (Enter alone takes the amount due; 0 for a sale only), then up to "
            f"{ITEMS} items from the price list by code with their quantity (Enter on an empty item goes on), "
            "whether the items are paid here (cash) or charged to the account, then the tenders: cash, check "
            "and its number, money order and its number, card with its type, LAST FOUR digits and the "
            "terminal's approval code (never the card number: the card is charged on the terminal). "
            "Enter on an empty tender skips it. A note, then Enter takes the transaction: the receipt is "
            "written and the change due shown. A payment above the balance asks whether the rest is a credit "
            "(Y). A cash-only account refuses a check at the line. A refusal locks the form: "
            "{entry_form.clear_record} (Reset) clears the refused field; {entry_form.clear_record} again "
            "leaves without taking anything.")
    DEFAULT_CSS = """
    CounterScreen #who { padding: 0 1; height: auto; }
    CounterScreen #prices { padding: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self, account_id: int | None = None) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id) if account_id is not None else None
        self.price_list = products.price_list()

    def title_text(self) -> str:
        return f"Counter payment  {self.view.number}" if self.view else "Counter sale (no account)"

    def compose_about(self) -> ComposeResult:
        v = self.view
        if v is None:
            yield Static("A cash sale of products: no account is charged or paid", id="who")
            return
        flags = f"  {' '.join(v.flags)}" if getattr(v, "flags", None) else ""
        yield Static(Text(f"{v.name}  [{v.status}]  balance {money.fmt_dollars(v.balance_cents)}  due "
                          f"{money.fmt_dollars(v.amount_due_cents)}{flags}"[:230]), id="who")

    def compose_below(self) -> ComposeResult:
        items = "  ".join(f"{p.code} {money.fmt(p.price_cents)}{'' if p.taxable else ' NT'}" for p in self.price_list)
        yield Static(Text(f"Items: {items}  (tax {products.tax_percent()}%)"), id="prices")

    # -- the form --------------------------------------------------------------------------------
    def make_form(self) -> StepForm:
        fields = [FieldSpec("pay", "Payment", "money", 10, validate=self._pay,
                            default=lambda r: money.fmt(max(self.view.amount_due_cents, 0)).replace(",", "")
                            if self.view else "0")]
        for i in range(1, ITEMS + 1):
            fields += [FieldSpec(f"item{i}", f"Item {i}", "text", 12, validate=self._item, dup=False),
                       FieldSpec(f"qty{i}", f"Quantity {i}", "digits", 3, validate=self._qty, default=lambda r: "1")]
        fields += [
            FieldSpec("to", "Items paid", "choice", 7, choices=("cash", "account"), default=lambda r: "cash"),
            FieldSpec("cash", "Cash", "money", 10, validate=self._tender),
            FieldSpec("check", "Check", "money", 10, validate=self._check),
            FieldSpec("check_no", "Check no.", "text", 20, validate=self._ref),
            FieldSpec("mo", "Money order", "money", 10, validate=self._tender),
            FieldSpec("mo_no", "Money order no.", "text", 20, validate=self._ref),
            FieldSpec("card", "Card", "money", 10, validate=self._tender),
            FieldSpec("card_type", "Card type", "choice", 4, choices=counter.CARD_TYPES,
                      validate=required("Card type")),
            FieldSpec("last4", "Last four", "digits", 4, mandatory_fill=True, validate=required("Last four")),
            FieldSpec("approval", "Approval code", "text", 12, validate=self._approval),
            FieldSpec("note", "Note", "text", 60, validate=self._free),
            FieldSpec("credit", "Rest a credit", "choice", 3, choices=("yes", "no"),
                      validate=self._credit),
        ]
        steps = {f.name: PAY_STEP for f in fields[:2 + 2 * ITEMS]}
        steps |= {n: TENDER_STEP for n in ("cash", "check", "check_no", "mo", "mo_no", "card", "card_type", "last4",
                                           "approval")}
        steps |= {"note": END_STEP, "credit": END_STEP}
        return StepForm(fields, steps=steps, applies=self.applies, after_exit=self._after, on_submit=self.take,
                        id="form")

    def on_mount(self) -> None:
        super().on_mount()
        if self.view is None:              # a cash sale: no payment, the first item first
            self.form.focus_field("item1")
        self.show_totals(self.form.values)

    def applies(self, name: str, record: Record) -> bool:
        if name == "pay":
            return self.view is not None
        if name.startswith("qty"):
            return bool(record[f"item{name[3:]}"])
        if name.startswith("item") and name != "item1":
            return bool(record[f"item{int(name[4:]) - 1}"])
        if name == "to":
            return self.view is not None and bool(record["item1"])
        if name == "check_no":
            return cents_of(record["check"]) > 0
        if name == "mo_no":
            return cents_of(record["mo"]) > 0
        if name in ("card_type", "last4", "approval"):
            return cents_of(record["card"]) > 0
        if name == "credit":
            return self.excess_cents(record) > 0
        return True

    # -- figures --------------------------------------------------------------------------------
    def sales(self, record: Record) -> list[Sale]:
        out = []
        for i in range(1, ITEMS + 1):
            code = record[f"item{i}"].strip()
            if not code:
                break
            qty = record[f"qty{i}"]
            out.append(Sale(code.upper(), int(qty) if qty.isdigit() and int(qty) > 0 else 1))
        return out

    def priced(self, record: Record) -> counter.Priced:
        try:
            return counter.price(self.sales(record))
        except ServiceError:
            return counter.Priced((), 0, 0)

    def due_cents(self, record: Record) -> int:
        to_account = self.view is not None and record["to"] == "account"
        return cents_of(record["pay"]) + (0 if to_account else self.priced(record).total_cents)

    def excess_cents(self, record: Record) -> int:
        if self.view is None:
            return 0
        pay = cents_of(record["pay"])
        balance = self.view.balance_cents + (self.priced(record).total_cents if record["to"] == "account" else 0)
        return pay - max(balance, 0) if pay else 0

    def tenders(self, record: Record) -> list[Tender]:
        out = []
        if cents_of(record["cash"]):
            out.append(Tender("cash", cents_of(record["cash"])))
        if cents_of(record["check"]):
            out.append(Tender("check", cents_of(record["check"]), record["check_no"].strip()))
        if cents_of(record["mo"]):
            out.append(Tender("money_order", cents_of(record["mo"]), record["mo_no"].strip()))
        if cents_of(record["card"]):
            out.append(Tender("card", cents_of(record["card"]), card_type=record["card_type"],
                              card_last4=record["last4"], approval=record["approval"].strip()))
        return out

    def show_totals(self, record: Record) -> None:
        priced = self.priced(record)
        due = self.due_cents(record)
        tendered = sum(t.amount_cents for t in self.tenders(record))
        text = f"Due {money.fmt_dollars(due)}"
        if priced.lines:
            text += f" (items {money.fmt_dollars(priced.total_cents)} incl. tax {money.fmt_dollars(priced.tax_cents)}"
            text += ", to the account)" if self.view is not None and record["to"] == "account" else ")"
        text += f"  Tendered {money.fmt_dollars(tendered)}"
        if tendered >= due and tendered:
            text += f"  CHANGE {money.fmt_dollars(tendered - due)}"
        elif tendered:
            text += f"  short {money.fmt_dollars(due - tendered)}"
        self.form.set_info(text)

    def _after(self, name: str, record: Record) -> str | None:
        if name.startswith("item") and record[name]:
            record[name] = record[name].strip().upper()
        self.show_totals(record)
        return None

    # -- field checks ---------------------------------------------------------------------------
    @staticmethod
    def _amount(value: str, label: str) -> str | None:
        if not value:
            return None
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return f"{label}: {e}"
        if cents < 0:
            return f"{label}: not below zero"
        if cents > counter.MAX_TXN_CENTS:
            return f"{label}: at most {money.fmt_dollars(counter.MAX_TXN_CENTS)}"
        return None

    def _pay(self, value: str, record: Record) -> str | None:
        return self._amount(value, "Payment")

    def _tender(self, value: str, record: Record) -> str | None:
        return self._amount(value, "Tender")

    def _check(self, value: str, record: Record) -> str | None:
        refused = self._amount(value, "Check")
        if refused or not cents_of(value) or self.view is None:
            return refused
        cash_only = [f for f in self.view.flags if f.startswith("CASH ONLY")] if getattr(self.view, "flags", None) \
            else []
        if cash_only:
            return f"{cash_only[0]}: no checks (cash, money order or card)"
        return None

    def _item(self, value: str, record: Record) -> str | None:
        if not value.strip():
            return None
        try:
            products.find(value)
        except ServiceError as e:
            return e.message
        return None

    @staticmethod
    def _qty(value: str, record: Record) -> str | None:
        if not value.isdigit() or int(value) <= 0:
            return "Quantity: a whole number above zero"
        if int(value) > products.MAX_QUANTITY:
            return f"Quantity: at most {products.MAX_QUANTITY}"
        return None

    def _ref(self, value: str, record: Record) -> str | None:
        if not value.strip():
            return "Key its number (letters and digits)"
        return self._free(value, record)

    @staticmethod
    def _free(value: str, record: Record) -> str | None:
        if card_numbers.has_card_number(value):
            return f"That {card_numbers.MESSAGE}"
        return None

    def _approval(self, value: str, record: Record) -> str | None:
        if not value.strip():
            return "Approval code is required (from the card terminal)"
        return self._free(value, record) or (None if value.strip().isalnum() and len(value.strip()) >= 2 else
                                             "Approval code: the terminal's code, 2-12 letters and digits")

    def _credit(self, value: str, record: Record) -> str | None:
        if value != "yes":
            return (f"The payment is {money.fmt_dollars(self.excess_cents(record))} more than the balance: "
                    "Y if the member wants the rest as a credit, else change the payment")
        return None

    # -- taking it ------------------------------------------------------------------------------
    def take(self, record: Record) -> SubmitResult | None:
        op = self.app.operator
        try:
            r = counter.take(op, self.view.number if self.view else None, cents_of(record["pay"]),
                             self.tenders(record), self.sales(record),
                             sale_to_account=self.view is not None and record["to"] == "account"
                             and bool(record["item1"]),
                             credit_ok=record["credit"] == "yes", note=record["note"])
        except counter.NeedsCredit as e:
            return SubmitResult("credit" if self.applies("credit", record) else "pay", e.message)
        except ServiceError as e:
            field = FIELD_OF.get(e.field or "", "pay" if self.view else "item1")
            if e.field == "reference" and not cents_of(record["check"]):
                field = "mo_no"
            if field == "pay" and self.view is None:
                field = "item1"
            return SubmitResult(field, e.message)
        try:
            counter.write_receipt(r.id, reports.reports_dir(self.app.settings))
        except ServiceError as e:         # the transaction is taken; the printer's copy can be made again
            self.notify(f"Receipt {r.id} taken; {e.message}", severity="warning")
        self.dismiss(r)
        return None

