"""Returned payments: an NSF check or an ACH return reverses a posted payment.

The reversal is a new ledger entry (positive cents, `reverses` = the payment),
never an edit; the returned-payment fee is another. Each return is a
ReturnedPayment row whose unique `payment` column is the database's guard
that a payment is reversed once, even by two sessions at the same moment. The
second return within 12 months makes the account cash-only (no checks or
e-checks) for 12 months from the return. All of it is audited on the account.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from peewee import JOIN, IntegrityError

from kec_tui import db, money
from kec_tui.config import Settings
from kec_tui.services import audit
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

# NACHA return reason codes (an NSF paper check is keyed as R01).
RETURN_CODES: dict[str, str] = {
    "R01": "Insufficient funds",
    "R02": "Account closed",
    "R03": "No account / unable to locate account",
    "R04": "Invalid account number",
    "R05": "Unauthorized debit to consumer account",
    "R06": "Returned per ODFI's request",
    "R07": "Authorization revoked by customer",
    "R08": "Payment stopped",
    "R09": "Uncollected funds",
    "R10": "Customer advises not authorized",
}
RETURN_FEE_CENTS = Settings().returned_payment_fee_cents    # $25 default; co-ops range $15-$40
MAX_FEE_CENTS = 10_000
CASH_ONLY_AFTER_RETURNS = 2      # returns within the window that make an account cash-only
WINDOW_MONTHS = 12
CASH_ONLY_MONTHS = 12


class AlreadyReturned(ServiceError):
    pass


@dataclass(frozen=True)
class ReturnResult:
    return_id: int
    account_id: int
    payment_id: int
    reversal_id: int
    fee_id: int | None
    code: str
    description: str
    amount_cents: int               # the payment returned (positive)
    fee_cents: int
    returned_on: dt.date
    returns_in_window: int          # returns in the 12 months up to returned_on, this one included
    cash_only_until: dt.date | None  # set (or kept) on the account


@dataclass(frozen=True)
class ReturnInfo:
    id: int
    payment_id: int
    code: str
    description: str
    amount_cents: int
    payment_date: dt.date
    reference: str
    returned_on: dt.date
    fee_cents: int
    operator: str


@dataclass(frozen=True)
class ReturnablePayment:
    ledger_entry_id: int
    effective: dt.date
    amount_cents: int               # positive
    description: str
    reference: str


def returns_in_window(account_id: int, when: dt.date) -> int:
    R = db.ReturnedPayment
    return R.select().where(R.account == account_id, R.returned_on > when - relativedelta(months=WINDOW_MONTHS),
                            R.returned_on <= when).count()


def return_payment(op: OperatorInfo, ledger_entry_id: int, code: str, when: dt.date | None = None,
                   fee_cents: int = RETURN_FEE_CENTS) -> ReturnResult:
    """Reverse a posted payment returned by the bank with NACHA `code`; charge
    the returned-payment fee (0 for none); count the return and set cash-only
    at the second within 12 months."""
    require(op, "payment.return")
    code = (code or "").strip().upper()
    if code not in RETURN_CODES:
        raise ValidationError(f"Return code must be one of {', '.join(RETURN_CODES)}", "code")
    if isinstance(fee_cents, bool) or not isinstance(fee_cents, int) or not 0 <= fee_cents <= MAX_FEE_CENTS:
        raise ValidationError(f"The fee is 0 to {money.fmt_dollars(MAX_FEE_CENTS)}", "fee")
    when = when or dt.date.today()
    if when > dt.date.today():
        raise ValidationError("The return date is in the future", "when")
    desc = RETURN_CODES[code]
    with db.write_txn():
        q = db.LedgerEntry.select().where(db.LedgerEntry.id == ledger_entry_id)
        if db.is_postgres():
            q = q.for_update()
        p = q.first()
        if p is None:
            raise NotFound("No such ledger entry")
        if p.kind != "payment" or p.amount_cents >= 0:
            raise ValidationError(f"Entry {p.id} is a {p.kind}, not a payment: only a payment can be returned",
                                  "payment")
        if (db.ReturnedPayment.select().where(db.ReturnedPayment.payment == p.id).exists() or
                db.LedgerEntry.select().where(db.LedgerEntry.reverses == p.id).exists()):
            raise AlreadyReturned(f"The payment of {money.fmt_dollars(-p.amount_cents)} on {p.effective:%m/%d/%Y} "
                                  f"was already reversed")
        if when < p.effective:
            raise ValidationError("The return date is before the payment", "when")
        amount = -p.amount_cents
        reversal = db.LedgerEntry.create(
            account=p.account_id, effective=when, kind="reversal", amount_cents=amount,
            description=f"Returned payment {code} {desc}"[:120], reference=(p.reference or code)[:40],
            operator=op.id, reverses=p.id)
        try:
            with db.database.atomic():
                ret = db.ReturnedPayment.create(payment=p.id, account=p.account_id, code=code, returned_on=when,
                                                reversal=reversal.id, operator=op.id)
        except IntegrityError:
            raise AlreadyReturned("That payment was just reversed by someone else") from None
        fee_id = None
        if fee_cents:
            fee = db.LedgerEntry.create(account=p.account_id, effective=when, kind="fee", amount_cents=fee_cents,
                                        description=f"Returned payment fee ({code})", reference=code,
                                        operator=op.id)
            fee_id = fee.id
            db.ReturnedPayment.update(fee=fee_id).where(db.ReturnedPayment.id == ret.id).execute()
        count = returns_in_window(p.account_id, when)
        account = db.Account.get_by_id(p.account_id)
        cash_only_until = account.cash_only_until
        audit.record(op, "payment.return", "ledger_entry", p.id, account_id=p.account_id, field="payment",
                     before=f"payment {money.fmt(amount)} {p.effective:%m/%d/%Y} {p.reference}".strip(),
                     after=f"returned {code} {desc}; fee {money.fmt(fee_cents)}; "
                           f"{count} return(s) in {WINDOW_MONTHS} months")
        if count >= CASH_ONLY_AFTER_RETURNS:
            until = when + relativedelta(months=CASH_ONLY_MONTHS)
            if cash_only_until is None or cash_only_until < until:
                db.Account.update(cash_only_until=until).where(db.Account.id == p.account_id).execute()
                audit.record(op, "account.cash_only", "account", p.account_id, account_id=p.account_id,
                             field="cash_only_until",
                             before=f"{cash_only_until:%m/%d/%Y}" if cash_only_until else "",
                             after=f"{until:%m/%d/%Y} ({count} returned payments in {WINDOW_MONTHS} months)")
                cash_only_until = until
    return ReturnResult(ret.id, p.account_id, p.id, reversal.id, fee_id, code, desc, amount, fee_cents, when,
                        count, cash_only_until)


def returns_for_account(account_id: int, limit: int = 50) -> list[ReturnInfo]:
    """Newest first."""
    R, P, F, O = db.ReturnedPayment, db.LedgerEntry.alias("p"), db.LedgerEntry.alias("f"), db.Operator
    q = (R.select(R.id, R.payment, R.code, P.amount_cents, P.effective, P.reference, R.returned_on,
                  F.amount_cents, O.username)
         .join(P, on=(R.payment == P.id))
         .switch(R).join(F, JOIN.LEFT_OUTER, on=(R.fee == F.id))
         .switch(R).join(O, JOIN.LEFT_OUTER, on=(R.operator == O.id))
         .where(R.account == account_id).order_by(R.returned_on.desc(), R.id.desc()).limit(limit).tuples())
    return [ReturnInfo(rid, pid, code, RETURN_CODES.get(code, ""), -amount, eff, ref, on, fee or 0, user or "")
            for rid, pid, code, amount, eff, ref, on, fee, user in q]


def returnable_payments(account_id: int, limit: int = 20) -> list[ReturnablePayment]:
    """The account's payments not yet reversed, newest first (what a return can pick)."""
    L, R = db.LedgerEntry, db.LedgerEntry.alias("r")
    q = (L.select(L.id, L.effective, L.amount_cents, L.description, L.reference)
         .join(R, JOIN.LEFT_OUTER, on=(R.reverses == L.id))
         .where(L.account == account_id, L.kind == "payment", L.amount_cents < 0, R.id.is_null())
         .order_by(L.effective.desc(), L.id.desc()).limit(limit).tuples())
    return [ReturnablePayment(i, eff, -amt, desc, ref) for i, eff, amt, desc, ref in q]


def count_returns(account_id: int, when: dt.date | None = None) -> int:
    """Returns in the 12 months up to `when` (today)."""
    return returns_in_window(account_id, when or dt.date.today())

