"""The cash drawer (Shift+F5): open it with the float, see the day's counter transactions in it, take a
cash sale, reprint or void a receipt, close it by counting (cash by denomination, checks and money
orders one by one, the card terminal's total) with a supervisor accepting any difference, then the
deposit slip and the day's summary across drawers, written to the reports folder
(services/drawers.py)."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import card_numbers, counter, drawers, products, reports
from kec_tui.services.drawers import CheckItem, DrawerSummary
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorSignIn
from kec_tui.widgets.tables import fill_width

DENOM_LABELS = {10000: "$100 bills", 5000: "$50 bills", 2000: "$20 bills", 1000: "$10 bills", 500: "$5 bills",
                200: "$2 bills", 100: "$1 bills/coins", 50: "Half dollars", 25: "Quarters", 10: "Dimes",
                5: "Nickels", 1: "Pennies"}


def cents_of(text: str) -> int:
    try:
        return money.parse(text) if text.strip() else 0
    except money.MoneyError:
        return 0


class DrawerScreen(Screen):
    """The operator's cash drawer today: open, transactions, reprint, void, close, reports."""

    HELP = ("Your cash drawer. {drawer.open} opens it with the starting float (once a day; every counter "
            "payment and sale goes into your open drawer). The list shows today's receipts in it. "
            "{drawer.sale} takes a cash sale of products without an account (a payment on an account is "
            "Ctrl+K on the account or in lookup). {drawer.reprint} reprints the highlighted receipt (text and PDF, "
            "marked COPY), {drawer.void} voids it with a reason (today, while the drawer is open: the ledger "
            "entries are reversed). {drawer.close} closes the drawer: key the count of each bill and coin, "
            "each check and money order (Enter takes the amount listed; 0 if it is not in the drawer) and "
            "the card terminal's batch total; over or short, a supervisor signs in on the form and gives the "
            "reason. The deposit slip and the day summary are then written to the reports folder. "
            "{drawer.summary} writes the day summary across all drawers again. {drawer.prices} edits the price list "
            "(supervisors: an item's description, price, taxable, active). {drawer.back} goes back.")
    BINDINGS = [
        bind("drawer.open", "open_drawer", "Open"),
        bind("drawer.sale", "sale", "Sale"),
        bind("drawer.reprint", "reprint", "Reprint"),
        bind("drawer.void", "void", "Void"),
        bind("drawer.close", "close_drawer", "Close"),
        bind("drawer.summary", "summary", "Summary"),
        bind("drawer.prices", "prices", "Price list", show=False),
        bind("drawer.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    DrawerScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    DrawerScreen #totals { height: auto; padding: 0 1; }
    DrawerScreen #message { height: auto; padding: 0 1; color: $text-accent; }
    DrawerScreen #message.error { color: $text-error; text-style: bold; }
    DrawerScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.drawer = None
        self.last_closed: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="totals")
        yield DataTable(id="receipts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in (("Rcpt", "id", 6), ("Time", "at", 5), ("Account", "acct", 9),
                                  ("Payment", "pay", 10), ("Items", "sale", 9), ("Tendered", "tend", 10),
                                  ("Change", "change", 8), ("", "status", 5)):
            table.add_column(label, key=key, width=width)
        self.load()
        table.focus()
        if self.drawer is None:
            self.message(f"No drawer open: {keys_text('drawer.open')} opens it with its float")

    def on_screen_resume(self) -> None:
        self.load()

    def on_resize(self) -> None:
        fill_width(self.query_one(DataTable), "acct", self.size.width, minimum=9, ids=("id",))

    def message(self, text: str, error: bool = False) -> None:
        w = self.query_one("#message", Static)
        w.update(Text(text))
        w.set_class(error, "error")

    def load(self) -> None:
        op = self.app.operator
        self.drawer = drawers.open_drawer_of(op)
        title = self.query_one("#title", Static)
        table = self.query_one(DataTable)
        table.clear()
        if self.drawer is None:
            title.update(f"Cash drawer  {op.username}  - no drawer open")
            self.query_one("#totals", Static).update("")
            self.refresh_bindings()
            return
        d = self.drawer
        title.update(f"Cash drawer {d.id}  {op.username}  {d.day:%m/%d/%Y}  OPEN since {d.opened_at:%H:%M}  "
                     f"float {money.fmt_dollars(d.float_cents)}")
        for r in counter.drawer_receipts(d.id):
            table.add_row(str(r.id), f"{r.at:%H:%M}", str(r.account_number or "sale"), money.fmt(r.payment_cents),
                          money.fmt(r.sale_cents), money.fmt(r.tendered_cents), money.fmt(r.change_cents),
                          "VOID" if r.voided else "", key=str(r.id))
        exp = drawers.expected(d.id)
        self.query_one("#totals", Static).update(Text(
            "In the drawer (system): " + "  ".join(f"{drawers.TENDER_LABELS[t]} {money.fmt(exp[t])}"
                                                    for t in drawers.TENDERS)))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "open_drawer":
            return self.drawer is None
        if action in ("sale", "reprint", "void", "close_drawer"):
            return self.drawer is not None
        return True

    def selected(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.message("No receipts in the drawer yet", error=True)
            return None
        return int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    # -- actions ----------------------------------------------------------------------------------
    def action_open_drawer(self) -> None:
        self.app.open("drawer_open", callback=self._drawer_opened)

    def _drawer_opened(self, d) -> None:
        if d is not None:
            self.load()
            self.message(f"Drawer {d.id} open with {money.fmt_dollars(d.float_cents)}")

    def action_sale(self) -> None:
        self.app.open("counter", None, callback=self._sale_taken)

    def _sale_taken(self, r) -> None:
        self.load()
        if r is not None:
            self.message(counter.taken_text(r, reports.reports_dir(self.app.settings)))

    def action_reprint(self) -> None:
        rid = self.selected()
        if rid is None:
            return
        try:
            txt, pdf = counter.write_receipt(rid, reports.reports_dir(self.app.settings), copy=True)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.message(f"Receipt {rid} reprinted (COPY): {pdf}")

    def action_void(self) -> None:
        rid = self.selected()
        if rid is None:
            return
        self.app.push_screen(reason_prompt(f"Void receipt {rid}", "Why is it voided? (today, in this drawer)"),
                             callback=lambda reason: reason and self._void(rid, reason))

    def _void(self, rid: int, reason: str) -> None:
        try:
            counter.void(self.app.operator, rid, reason)
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.load()
        self.message(f"Receipt {rid} voided: {reason}")

    def action_close_drawer(self) -> None:
        self.app.open("drawer_close", self.drawer.id, callback=self._drawer_closed)

    def _drawer_closed(self, summary: DrawerSummary | None) -> None:
        if summary is None:
            return
        d = summary.drawer
        self.last_closed = d.id
        where = reports.reports_dir(self.app.settings)
        try:
            slip = drawers.write_deposit_slip(d.id, where)
            day = drawers.write_day_summary(d.day, where)
        except ServiceError as e:
            self.load()
            self.message(f"Drawer {d.id} closed. {e.message}", error=True)
            return
        self.load()
        diff = summary.difference_cents
        how = "balanced" if summary.balanced else (f"{'over' if diff > 0 else 'short'} "
                                                   f"{money.fmt_dollars(abs(diff))}, accepted by {d.accepted_by}")
        self.message(f"Drawer {d.id} closed, {how}. Deposit slip: {slip.text}  Day summary: {day.text}")

    def action_summary(self) -> None:
        try:
            files = drawers.write_day_summary(dt.date.today(), reports.reports_dir(self.app.settings))
        except ServiceError as e:
            self.message(e.message, error=True)
            return
        self.message(f"Day summary: {files.text}")

    def action_prices(self) -> None:
        op = self.app.operator
        if not op.can("product.edit"):
            self.message(f"The price list is edited by supervisors ({op.role} may not)", error=True)
            return
        self.app.open("price_list", callback=lambda p: p and self.message(
            f"{p.code} {p.description}: {money.fmt_dollars(p.price_cents)}"
            f"{'' if p.taxable else ' not taxed'}{'' if p.active else ', no longer sold'}"))

    def action_back(self) -> None:
        self.app.leave(self)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_reprint()


class OpenDrawerDialog(FormDialog[drawers.DrawerInfo | None]):
    """Open the operator's drawer with its starting float."""

    HELP = ("Key the starting float counted into the drawer (Enter alone takes $100.00) and Enter: the drawer "
            "is open for today and every counter transaction goes into it. {entry_form.clear_record} leaves.")

    def title_text(self) -> str:
        return f"Open cash drawer  {self.app.operator.username}"

    def make_form(self) -> StepForm:
        fields = [FieldSpec("float", "Starting float", "money", 10, default=lambda r: "100.00",
                            validate=self._float)]
        return StepForm(fields, steps={"float": ""}, on_submit=self.take, id="form")

    @staticmethod
    def _float(value: str, record: Record) -> str | None:
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return str(e)
        if not 0 <= cents <= drawers.MAX_FLOAT_CENTS:
            return f"Float: 0 to {money.fmt_dollars(drawers.MAX_FLOAT_CENTS)}"
        return None

    def take(self, record: Record) -> SubmitResult | None:
        try:
            d = drawers.open_drawer(self.app.operator, money.parse(record["float"]))
        except ServiceError as e:
            return SubmitResult("float", e.message)
        self.dismiss(d)
        return None


class CloseDrawerDialog(FormDialog[DrawerSummary | None]):
    """Count the drawer and close it: cash by denomination, checks by list, the card total, a supervisor
    for a difference."""

    HELP = ("Key how many of each bill and coin are in the drawer (Enter alone: none), then each check and "
            "money order listed (Enter takes the amount listed; 0 if it is missing), then the card terminal's "
            "batch total (Enter takes the system's). The over/short per tender shows under the form. Over or "
            "short, a supervisor signs in (name, password) and gives the reason; Enter closes the drawer once. "
            "{entry_form.clear_record} (Reset) clears a refused field; again leaves without closing.")
    DEFAULT_CSS = """
    CloseDrawerDialog #about { padding: 0 1; height: auto; }
    """

    def __init__(self, drawer_id: int) -> None:
        super().__init__()
        self.drawer_id = drawer_id
        self.expected = drawers.expected(drawer_id)
        receipts = [r for r in counter.drawer_receipts(drawer_id) if not r.voided]
        self.listed = [(t.kind, t.reference, t.amount_cents) for r in receipts for t in r.tenders
                       if t.kind in ("check", "money_order")]
        self.summary: DrawerSummary | None = None
        self.sign_in = SupervisorSignIn(
            "drawer.accept", lambda who: f"Only a supervisor may accept a drawer's difference; {who.username} "
                                         f"({who.role}) may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return f"Close cash drawer {self.drawer_id}"

    def compose_about(self) -> ComposeResult:
        yield Static(Text("System: " + "  ".join(f"{drawers.TENDER_LABELS[t]} {money.fmt(self.expected[t])}"
                                                  for t in drawers.TENDERS)), id="about")

    def make_form(self) -> StepForm:
        fields = [FieldSpec(f"d{c}", DENOM_LABELS[c], "digits", 5, default=lambda r: "0")
                  for c in drawers.DENOMINATIONS]
        steps = {f.name: "Cash by denomination" for f in fields}
        for i, (kind, ref, cents) in enumerate(self.listed):
            name = f"chk{i}"
            label = f"{'Money order' if kind == 'money_order' else 'Check'} #{ref}"[:24]
            fields.append(FieldSpec(name, label, "money", 10, default=lambda r, c=cents: money.fmt(c).replace(",", "")))
            steps[name] = "Checks and money orders"
        fields.append(FieldSpec("card", "Card terminal total", "money", 10,
                                default=lambda r: money.fmt(self.expected["card"]).replace(",", "")))
        steps["card"] = "Cards"
        for f in self.sign_in.fields():
            fields.append(f)
            steps[f.name] = "Over/short: a supervisor accepts"
        fields.append(FieldSpec("reason", "Reason", "text", 60, validate=self._reason))
        steps["reason"] = "Over/short: a supervisor accepts"
        return StepForm(fields, steps=steps, applies=self.applies, after_exit=self._after,
                        secret=(SupervisorSignIn.PASSWORD,), on_submit=self.take, id="form")

    def count(self, record: Record) -> tuple[dict[int, int], list[CheckItem], int]:
        cash = {c: int(record[f"d{c}"] or 0) for c in drawers.DENOMINATIONS}
        checks = [CheckItem(kind, ref, cents_of(record[f"chk{i}"])) for i, (kind, ref, _) in enumerate(self.listed)
                  if cents_of(record[f"chk{i}"]) > 0]
        return cash, checks, cents_of(record["card"])

    def applies(self, name: str, record: Record) -> bool:
        if name in (SupervisorSignIn.USER, SupervisorSignIn.PASSWORD, "reason"):
            return self.summary is not None and not self.summary.balanced
        return True

    def _after(self, name: str, record: Record) -> str | None:
        try:
            self.summary = drawers.count_summary(self.drawer_id, *self.count(record))
        except ServiceError as e:
            self.form.set_info(e.message)
            return None
        s = self.summary
        self.form.set_info("  ".join(f"{drawers.TENDER_LABELS[t.tender]} {money.fmt(t.counted_cents)} "
                                     f"({money.fmt(t.difference_cents, sign=True)})" for t in s.lines)
                           + ("  BALANCED" if s.balanced else f"  {'OVER' if s.difference_cents > 0 else 'SHORT'} "
                              f"{money.fmt_dollars(abs(s.difference_cents))}"))
        return None

    @staticmethod
    def _reason(value: str, record: Record) -> str | None:
        if not value.strip():
            return "Reason: say why the drawer is over or short"
        if card_numbers.has_card_number(value):
            return f"The reason {card_numbers.MESSAGE}"
        return None

    def take(self, record: Record) -> SubmitResult | None:
        cash, checks, card = self.count(record)
        approver = self.sign_in.who if self.applies("reason", record) else None
        try:
            s = drawers.close_drawer(self.app.operator, self.drawer_id, cash, checks, card, approver=approver,
                                     reason=record["reason"] if approver else "")
        except drawers.NeedsSupervisor as e:
            self.summary = e.summary
            return SubmitResult(SupervisorSignIn.USER, e.message)
        except ServiceError as e:
            field = {"reason": "reason", "supervisor": SupervisorSignIn.USER, "card": "card"}.get(e.field or "")
            return SubmitResult(field, e.message)
        self.dismiss(s)
        return None


class PriceListDialog(FormDialog[products.ProductInfo | None]):
    """Add an item to the counter's price list or change one (supervisors; audited)."""

    HELP = ("The item's code (letters and digits; an existing code changes that item), its description, "
            "price, whether sales tax applies (Y/N) and whether it is still sold (Y/N); Enter on a field of an "
            "existing item keeps its value. Enter on the last field saves it (audited). "
            "{entry_form.clear_record} leaves.")
    DEFAULT_CSS = """
    PriceListDialog #about { padding: 0 1; height: auto; color: $text-muted; }
    """

    def title_text(self) -> str:
        return "Price list"

    def compose_about(self) -> ComposeResult:
        items = "  ".join(f"{p.code} {money.fmt(p.price_cents)}{'' if p.taxable else ' NT'}"
                          f"{'' if p.active else ' (off)'}" for p in products.price_list(include_inactive=True))
        yield Static(Text(items or "No items yet"), id="about")

    def _existing(self, record: Record) -> products.ProductInfo | None:
        code = record["code"].strip().upper()
        return next((p for p in products.price_list(include_inactive=True) if p.code == code), None)

    def make_form(self) -> StepForm:
        def keep(attr, shown):
            return lambda r: shown(getattr(self._existing(r), attr)) if self._existing(r) else ""
        yesno = ("yes", "no")
        fields = [
            FieldSpec("code", "Item code", "text", 12, validate=self._code),
            FieldSpec("description", "Description", "text", 60, default=keep("description", str),
                      validate=self._description),
            FieldSpec("price", "Price", "money", 9, validate=self._price,
                      default=keep("price_cents", lambda c: money.fmt(c).replace(",", ""))),
            FieldSpec("taxable", "Taxable", "choice", 3, choices=yesno,
                      default=lambda r: "no" if self._existing(r) and not self._existing(r).taxable else "yes"),
            FieldSpec("active", "Still sold", "choice", 3, choices=yesno,
                      default=lambda r: "no" if self._existing(r) and not self._existing(r).active else "yes"),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.save, id="form")

    @staticmethod
    def _code(value: str, record: Record) -> str | None:
        try:
            products.clean_code(value)
        except ServiceError as e:
            return e.message
        return None

    @staticmethod
    def _description(value: str, record: Record) -> str | None:
        if not value.strip():
            return "Describe the item"
        return f"The description {card_numbers.MESSAGE}" if card_numbers.has_card_number(value) else None

    @staticmethod
    def _price(value: str, record: Record) -> str | None:
        try:
            cents = money.parse(value)
        except money.MoneyError as e:
            return str(e)
        if not 0 < cents <= products.MAX_PRICE_CENTS:
            return f"Price: more than zero, at most {money.fmt_dollars(products.MAX_PRICE_CENTS)}"
        return None

    def save(self, record: Record) -> SubmitResult | None:
        try:
            p = products.save(self.app.operator, record["code"], record["description"], money.parse(record["price"]),
                              taxable=record["taxable"] == "yes", active=record["active"] == "yes")
        except ServiceError as e:
            return SubmitResult({"code": "code", "description": "description", "price": "price"}.get(e.field or "",
                                                                                                  "code"), e.message)
        self.dismiss(p)
        return None
