"""Counter payments and product sales: one transaction, paid by one or more tenders, in the
operator's open cash drawer (services/drawers.py), printed on one receipt.

* Tenders: cash, check, money order, card. Several in one transaction; what they add up to beyond
  the amount is change, and only cash gives change (a check larger than the amount is refused).
* A card is charged on the co-op's terminal: the counter records its type, last four digits and the
  terminal's approval code, never its number (services/card_numbers.py guards every free text too).
* A cash-only account (two returned payments) is refused a check at the line; a money order is cash.
* A payment larger than the account's balance asks first: `credit_ok` says the member wants the
  rest as a credit on the account; without it the service raises NeedsCredit and writes nothing.
* Products from the price list (services/products.py), sold to the account (charged to the ledger)
  or for cash, taxable ones with sales tax at the set rate.
* A void reverses a counter transaction the same day in its still-open drawer (ledger reversals,
  audited); the drawer's totals leave it out.
Every transaction is committed whole before the call returns (the receipt is its record).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kec_tui import db, money
from kec_tui.services import audit, card_numbers, drawers, products, reports
from kec_tui.services.accounts import display_name
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

TENDERS = ("cash", "check", "money_order", "card")
TENDER_LABELS = {"cash": "Cash", "check": "Check", "money_order": "Money order", "card": "Card"}
CARD_TYPES = ("VISA", "MC", "AMEX", "DISC")
CHECK_TENDERS = ("check",)                 # what a cash-only account may not pay with
MAX_TXN_CENTS = 9_999_999
MAX_LINES = 20


class NeedsCredit(ServiceError):
    """The payment is more than the balance: ask whether the rest is a credit on the account."""

    def __init__(self, message: str, excess_cents: int):
        super().__init__(message, "credit")
        self.excess_cents = excess_cents


@dataclass(frozen=True)
class Tender:
    kind: str                   # cash, check, money_order, card
    amount_cents: int
    reference: str = ""         # check / money order number
    card_type: str = ""
    card_last4: str = ""
    approval: str = ""


@dataclass(frozen=True)
class Sale:
    code: str
    quantity: int = 1


@dataclass(frozen=True)
class SaleLine:
    code: str
    description: str
    quantity: int
    unit_cents: int
    taxable: bool
    amount_cents: int
    tax_cents: int


@dataclass(frozen=True)
class Priced:
    lines: tuple[SaleLine, ...]
    subtotal_cents: int
    tax_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents


@dataclass(frozen=True)
class Receipt:
    id: int
    drawer_id: int
    account_number: int | None
    name: str
    operator: str
    at: dt.datetime
    payment_cents: int
    sales: tuple[SaleLine, ...]
    sale_cents: int
    tax_cents: int
    sale_to_account: bool
    tenders: tuple[Tender, ...]
    tendered_cents: int
    change_cents: int
    balance_after_cents: int | None
    note: str
    voided: bool = False
    void_reason: str = ""

    @property
    def due_cents(self) -> int:
        """What the tenders pay: the payment, plus products sold for cash."""
        return self.payment_cents + (0 if self.sale_to_account else self.sale_cents)


# ---- checking the parts ------------------------------------------------------------------------

def _cents(value, what: str, field: str, *, zero_ok: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and not zero_ok):
        raise ValidationError(f"{what}: a whole number of cents{', 0 or more' if zero_ok else ' above zero'}", field)
    if value > MAX_TXN_CENTS:
        raise ValidationError(f"{what}: at most {money.fmt_dollars(MAX_TXN_CENTS)}", field)
    return value


def clean_tender(t: Tender) -> Tender:
    """A tender checked: known kind, amount, and for a card its type, last four and approval only."""
    if t.kind not in TENDERS:
        raise ValidationError(f"A tender is one of {', '.join(TENDERS)}", "tender")
    label = TENDER_LABELS[t.kind]
    amount = _cents(t.amount_cents, label, t.kind)
    ref = (t.reference or "").strip()
    card_numbers.refuse(ref, "reference", f"{label} no.")
    card_numbers.refuse(t.approval, "approval", "Approval code")
    if t.kind == "card":
        kind = (t.card_type or "").strip().upper()
        if kind not in CARD_TYPES:
            raise ValidationError(f"Card type: one of {', '.join(CARD_TYPES)}", "card_type")
        last4 = (t.card_last4 or "").strip()
        if not re.fullmatch(r"\d{4}", last4):
            raise ValidationError("Card: the last four digits only (never the card number)", "card_last4")
        approval = (t.approval or "").strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{2,12}", approval):
            raise ValidationError("Approval code: the terminal's code, 2-12 letters and digits", "approval")
        return Tender("card", amount, "", kind, last4, approval)
    if t.card_type or t.card_last4 or t.approval:
        raise ValidationError(f"{label}: no card details", "tender")
    if t.kind in ("check", "money_order"):
        if not re.fullmatch(r"[0-9A-Za-z\-]{1,20}", ref):
            raise ValidationError(f"{label} no.: 1-20 letters and digits", "reference")
        return Tender(t.kind, amount, ref)
    return Tender("cash", amount)


@db.connected
def price(sales: Sequence[Sale]) -> Priced:
    """The products of a sale at today's prices, with sales tax on the taxable ones (rounded once, on
    the taxable subtotal, so the receipt adds up)."""
    if len(sales) > MAX_LINES:
        raise ValidationError(f"At most {MAX_LINES} items in one transaction", "item")
    lines = []
    for s in sales:
        if isinstance(s.quantity, bool) or not isinstance(s.quantity, int) or s.quantity <= 0:
            raise ValidationError(f"Quantity of {s.code}: a whole number above zero", "quantity")
        if s.quantity > products.MAX_QUANTITY:
            raise ValidationError(f"Quantity of {s.code}: at most {products.MAX_QUANTITY}", "quantity")
        p = products.find(s.code)
        lines.append((p, s.quantity))
    taxable = sum(p.price_cents * q for p, q in lines if p.taxable)
    tax = products.tax_cents(taxable)
    # The tax is spread on the taxable lines (the last takes the rounding), for the ledger's text.
    out, left = [], tax
    taxable_lines = [i for i, (p, _) in enumerate(lines) if p.taxable]
    for i, (p, q) in enumerate(lines):
        amount = p.price_cents * q
        line_tax = 0
        if p.taxable:
            line_tax = left if i == taxable_lines[-1] else products.tax_cents(amount)
            left -= line_tax
        out.append(SaleLine(p.code, p.description, q, p.price_cents, p.taxable, amount, line_tax))
    return Priced(tuple(out), sum(line.amount_cents for line in out), tax)


# ---- taking a transaction ------------------------------------------------------------------------

@db.connected
def take(op: OperatorInfo, account_number: int | None, payment_cents: int, tenders: Sequence[Tender],
         sales: Sequence[Sale] = (), *, sale_to_account: bool = False, credit_ok: bool = False,
         note: str = "", today: dt.date | None = None) -> Receipt:
    """Take one counter transaction in the operator's open drawer and commit it whole: the payment on
    the account (a ledger payment), products sold (charged to the account, or paid here), the tenders,
    change from cash. Returns the receipt. Refusals (ValidationError, NeedsCredit, NoOpenDrawer) write
    nothing."""
    require(op, "counter.take")
    today = today or dt.date.today()
    payment_cents = _cents(payment_cents, "Payment", "payment", zero_ok=True)
    note = (note or "").strip()
    card_numbers.refuse(note, "note")
    clean = [clean_tender(t) for t in tenders]
    priced = price(list(sales)) if sales else Priced((), 0, 0)
    if account_number is None and (payment_cents or sale_to_account):
        raise ValidationError("A payment or a sale to an account needs the account", "account")
    if sale_to_account and not priced.lines:
        raise ValidationError("Nothing is sold to charge to the account", "item")
    if not payment_cents and not priced.lines:
        raise ValidationError("Nothing to take: key a payment or an item", "payment")
    due = payment_cents + (0 if sale_to_account else priced.total_cents)
    tendered = sum(t.amount_cents for t in clean)
    if due == 0 and clean:
        raise ValidationError("Nothing is due here: the items are charged to the account", "tender")
    if tendered < due:
        raise ValidationError(f"The tenders add up to {money.fmt_dollars(tendered)}, short of "
                              f"{money.fmt_dollars(due)} by {money.fmt_dollars(due - tendered)}", "tender")
    cash = sum(t.amount_cents for t in clean if t.kind == "cash")
    change = tendered - due
    if change > cash:
        raise ValidationError(f"The tenders are {money.fmt_dollars(change)} over the amount and only cash gives "
                              f"change: a check, money order or card is for no more than what is due",
                              "tender")
    with db.write_txn():
        drawer = drawers.require_open(op, today)
        account = None
        if account_number is not None:
            a = db.Account.get_or_none(db.Account.number == int(account_number))
            if a is None:
                raise NotFound(f"No account {account_number}", "account")
            account = db.locked(db.Account, a.id)   # payments on one account queue here
            if account.cash_only_until and account.cash_only_until >= today and any(
                    t.kind in CHECK_TENDERS for t in clean):
                raise ValidationError(f"Account {account.number} is CASH ONLY until "
                                      f"{account.cash_only_until:%m/%d/%Y}: no checks (cash, money order or card)",
                                      "tender")
            if payment_cents:
                balance = _balance(account.id) + (priced.total_cents if sale_to_account else 0)
                if payment_cents > max(balance, 0) and not credit_ok:
                    excess = payment_cents - max(balance, 0)
                    raise NeedsCredit(f"The payment is {money.fmt_dollars(excess)} more than the balance of "
                                      f"{money.fmt_dollars(max(balance, 0))}: is the rest a credit on the account?",
                                      excess)
        txn = db.CounterTxn.create(
            drawer=drawer.id, account=account.id if account else None, operator=op.id, day=today,
            payment_cents=payment_cents, sale_cents=priced.total_cents, tax_cents=priced.tax_cents,
            sale_to_account=sale_to_account, tendered_cents=tendered, change_cents=change,
            credit_accepted=bool(credit_ok and payment_cents), note=note[:200])
        how = "+".join(dict.fromkeys(TENDER_LABELS[t.kind].lower() for t in clean))
        sale_entry = pay_entry = None
        if sale_to_account:
            what = ", ".join(f"{line.quantity} {line.code}" for line in priced.lines)
            sale_entry = db.LedgerEntry.insert(
                account=account.id, effective=today, kind="fee", amount_cents=priced.total_cents,
                description=f"Counter sale: {what}"[:120]
                + (f" tax {money.fmt(priced.tax_cents)}" if priced.tax_cents else "")[:120],
                reference=f"RCPT {txn.id}", operator=op.id).execute()
        if payment_cents:
            pay_entry = db.LedgerEntry.insert(
                account=account.id, effective=today, kind="payment", amount_cents=-payment_cents,
                description=f"Counter payment ({how})"[:120], reference=f"RCPT {txn.id}", operator=op.id).execute()
        if sale_entry or pay_entry:
            db.CounterTxn.update(payment_entry=pay_entry, sale_entry=sale_entry).where(
                db.CounterTxn.id == txn.id).execute()
        if clean:
            db.CounterTender.insert_many([dict(txn=txn.id, kind=t.kind, amount_cents=t.amount_cents,
                                               reference=t.reference, card_type=t.card_type,
                                               card_last4=t.card_last4, approval=t.approval)
                                          for t in clean]).execute()
        if priced.lines:
            ids = {p.code: p.id for p in db.Product.select().where(
                db.Product.code.in_([line.code for line in priced.lines]))}
            db.CounterSale.insert_many([dict(txn=txn.id, product=ids[line.code], description=line.description,
                                             quantity=line.quantity, unit_cents=line.unit_cents,
                                             taxable=line.taxable, amount_cents=line.amount_cents,
                                             tax_cents=line.tax_cents) for line in priced.lines]).execute()
        tender_text = ", ".join(_tender_text(t) for t in clean)
        audit.record(op, "counter.take", "counter_txn", txn.id, account_id=account.id if account else None,
                     field=f"drawer {drawer.id}",
                     after=(f"pay {money.fmt(payment_cents)} sale {money.fmt(priced.total_cents)}"
                            f"{' to account' if sale_to_account else ''} tendered {tender_text}"
                            f" change {money.fmt(change)}{' credit ok' if credit_ok and payment_cents else ''}")[:400])
    return receipt(txn.id)


def _balance(account_id: int) -> int:
    from peewee import fn
    return int(db.LedgerEntry.select(fn.COALESCE(fn.SUM(db.LedgerEntry.amount_cents), 0))
               .where(db.LedgerEntry.account == account_id).scalar())


def _tender_text(t: Tender) -> str:
    if t.kind == "card":
        return f"{t.card_type} ****{t.card_last4} appr {t.approval} {money.fmt(t.amount_cents)}"
    if t.reference:
        return f"{TENDER_LABELS[t.kind]} #{t.reference} {money.fmt(t.amount_cents)}"
    return f"{TENDER_LABELS[t.kind]} {money.fmt(t.amount_cents)}"


# ---- receipts -----------------------------------------------------------------------------------

@db.connected
def receipt(txn_id: int) -> Receipt:
    x = db.CounterTxn.get_or_none(db.CounterTxn.id == txn_id)
    if x is None:
        raise NotFound(f"No receipt {txn_id}", "receipt")
    a = db.Account.get_or_none(db.Account.id == x.account_id) if x.account_id else None
    name = ""
    balance = None
    if a is not None:
        m = db.Member.get_by_id(a.member_id)
        name = display_name(m.first_name, m.last_name)
        balance = _balance(a.id)
    T = db.CounterTender
    tenders = tuple(Tender(t.kind, t.amount_cents, t.reference, t.card_type, t.card_last4, t.approval)
                    for t in T.select().where(T.txn == x.id).order_by(T.id))
    sales = tuple(SaleLine(p.code, s.description, s.quantity, s.unit_cents, s.taxable, s.amount_cents, s.tax_cents)
                  for s, p in ((s, s.product) for s in db.CounterSale.select().where(db.CounterSale.txn == x.id)
                               .order_by(db.CounterSale.id)))
    op = db.Operator.get_by_id(x.operator_id)
    return Receipt(x.id, x.drawer_id, a.number if a else None, name, op.username, x.at, x.payment_cents, sales,
                   x.sale_cents, x.tax_cents, x.sale_to_account, tenders, x.tendered_cents, x.change_cents,
                   balance, x.note, x.voided_at is not None, x.void_reason)


def receipt_text(r: Receipt, *, copy: bool = False) -> str:
    """The receipt as the counter's receipt printer prints it (40 columns)."""
    w = 40
    out = [reports.COOP_NAME[:w].center(w).rstrip(), "MEMBER RECEIPT".center(w).rstrip()]
    if copy:
        out.append("** COPY **".center(w).rstrip())
    if r.voided:
        out.append(f"** VOIDED: {r.void_reason} **"[:w].center(w).rstrip())
    out += [f"Receipt {r.id}   drawer {r.drawer_id}", f"{r.at:%m/%d/%Y %H:%M}  {r.operator}"]
    if r.account_number:
        out += [f"Account {r.account_number}", r.name[:w]]
    out.append("-" * w)

    def row(label: str, cents: int) -> str:
        return f"{label[:w - 14]:<{w - 14}}{money.fmt(cents):>14}"

    if r.payment_cents:
        out.append(row("Payment on account", r.payment_cents))
    for s in r.sales:
        out.append(f"{s.quantity} x {s.code} {s.description}"[:w])
        out.append(row(f"   @ {money.fmt(s.unit_cents)}{' T' if s.taxable else ''}", s.amount_cents))
    if r.sales:
        out.append(row(f"Sales tax {products.tax_percent()}%", r.tax_cents))
        out.append(row("Items total" + (" (charged to acct)" if r.sale_to_account else ""), r.sale_cents))
    out.append(row("TOTAL DUE", r.due_cents))
    out.append("-" * w)
    for t in r.tenders:
        label = {"card": f"{t.card_type} ****{t.card_last4} {t.approval}",
                 "check": f"Check #{t.reference}", "money_order": f"Money order #{t.reference}"}.get(t.kind, "Cash")
        out.append(row(label, t.amount_cents))
    out.append(row("Tendered", r.tendered_cents))
    out.append(row("CHANGE", r.change_cents))
    if r.balance_after_cents is not None:
        bal = r.balance_after_cents
        out.append(row("Account balance" + (" CR" if bal < 0 else ""), abs(bal)))
    if r.note:
        out.append(r.note[:w])
    out += ["", "Thank you".center(w).rstrip()]
    return "\n".join(out) + "\n"


def taken_text(r: Receipt, directory: str | Path) -> str:
    """One line for the screen: the change first, what was due and tendered, the receipt's file."""
    return (f"Receipt {r.id}: CHANGE {money.fmt_dollars(r.change_cents)} ({money.fmt_dollars(r.due_cents)} due, "
            f"{money.fmt_dollars(r.tendered_cents)} tendered). {Path(directory).name}/receipt-{r.id}.pdf")


@db.connected
def write_receipt(txn_id: int, directory: str | Path, *, copy: bool = False) -> tuple[Path, Path]:
    """receipt-N.txt and receipt-N.pdf in `directory` (a reprint: receipt-N-copy); returns their paths."""
    text = receipt_text(receipt(txn_id), copy=copy)
    d = Path(directory).expanduser()
    stem = f"receipt-{txn_id}" + ("-copy" if copy else "")
    try:
        d.mkdir(parents=True, exist_ok=True)
        txt, pdf = d / f"{stem}.txt", d / f"{stem}.pdf"
        txt.write_text(text, encoding="utf-8")
        pdf.write_bytes(reports.text_pdf(text, font_size=10))
    except OSError as exc:
        raise ServiceError(f"Cannot write the receipt to {d}: {exc.strerror or exc}") from exc
    return txt, pdf


@db.connected
def drawer_receipts(drawer_id: int) -> list[Receipt]:
    ids = [x.id for x in db.CounterTxn.select(db.CounterTxn.id).where(db.CounterTxn.drawer == drawer_id)
           .order_by(db.CounterTxn.id)]
    return [receipt(i) for i in ids]


@db.connected
def taken_since(operator_id: int, since: dt.datetime, account_id: int | None = None) -> list[Receipt]:
    """The operator's counter transactions since a moment (training's checks), oldest first."""
    X = db.CounterTxn
    q = X.select(X.id).where(X.operator == operator_id, X.at >= since)
    if account_id is not None:
        q = q.where(X.account == account_id)
    return [receipt(x.id) for x in q.order_by(X.id)]


# ---- voids --------------------------------------------------------------------------------------

@db.connected
def void(op: OperatorInfo, txn_id: int, reason: str, today: dt.date | None = None) -> Receipt:
    """Void a counter transaction: the same day, in its drawer while still open. The ledger entries
    are reversed (new entries), the drawer's totals leave it out, audited. Once only."""
    require(op, "counter.take")
    today = today or dt.date.today()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the transaction is voided", "reason")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        x = db.locked(db.CounterTxn, txn_id)
        if x is None:
            raise NotFound(f"No receipt {txn_id}", "receipt")
        if x.voided_at is not None:
            raise ValidationError(f"Receipt {x.id} is already void", "receipt")
        if x.day != today:
            raise ValidationError(f"Receipt {x.id} is of {x.day:%m/%d/%Y}: only today's are voided; "
                                  f"a later correction is a returned payment or an adjustment", "receipt")
        d = db.CashDrawer.get_by_id(x.drawer_id)
        if d.status != "open":
            raise drawers.DrawerClosed(f"Drawer {d.id} is closed: its receipts can no longer be voided", "receipt")
        if d.operator_id != op.id and not op.can("drawer.accept"):
            raise ValidationError(f"Receipt {x.id} is in {db.Operator.get_by_id(d.operator_id).username}'s drawer",
                                  "receipt")
        n = (db.CounterTxn.update(voided_at=db.now(), voided_by=op.id, void_reason=reason[:200])
             .where(db.CounterTxn.id == x.id, db.CounterTxn.voided_at.is_null()).execute())
        if n != 1:
            raise ValidationError(f"Receipt {x.id} is already void", "receipt")
        for entry_id in (x.payment_entry_id, x.sale_entry_id):
            if entry_id:
                e = db.LedgerEntry.get_by_id(entry_id)
                db.LedgerEntry.insert(account=e.account_id, effective=today, kind="reversal",
                                      amount_cents=-e.amount_cents,
                                      description=f"Void of receipt {x.id}: {reason}"[:120],
                                      reference=f"VOID {x.id}", operator=op.id, reverses=e.id).execute()
        audit.record(op, "counter.void", "counter_txn", x.id, account_id=x.account_id, field=f"drawer {d.id}",
                     before=f"pay {money.fmt(x.payment_cents)} sale {money.fmt(x.sale_cents)}",
                     after=f"void: {reason}"[:200])
    return receipt(txn_id)
