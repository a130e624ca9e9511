"""Adjustments to an account: a charge or a credit with a reason code, one ledger entry,
audited; above the limit (a setting, `adjustment_limit_cents`, $100 by default) a
supervisor signs in to approve it. The next statement lists it under "since your last
statement"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from kec_tui.services.operators import OperatorInfo, require

REASONS = {
    "METER": "Meter error",
    "BILLING": "Billing error",
    "COURTESY": "Courtesy credit",
    "ASSIST": "Energy assistance",
    "LATEFEE": "Late fee waived",
    "RATE": "Rate correction",
    "OTHER": "Other",
}
LIMIT_CENTS = 10_000
MAX_CENTS = 10_000_000  # one adjustment is at most $100,000.00

_limit = LIMIT_CENTS


def configure(settings: config.Settings) -> int:
    global _limit
    value = settings.adjustment_limit_cents
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Setting adjustment_limit_cents must be whole cents (an integer >= 0), not {value!r}")
    _limit = value
    return _limit


def limit_cents() -> int:
    return _limit


@dataclass(frozen=True)
class AdjustmentInfo:
    id: int
    account_number: int
    reason: str
    amount_cents: int
    note: str
    operator: str
    approved_by: str
    ledger_entry_id: int
    created_at: dt.datetime


def needs_approval(op: OperatorInfo, amount_cents: int) -> bool:
    """Over the limit, by an operator who may not approve it: a supervisor signs in."""
    return abs(amount_cents) > _limit and not op.can("billing.approve")


@db.connected
def adjust(
    op: OperatorInfo,
    account_number: int,
    reason: str,
    amount_cents: int,
    note: str = "",
    *,
    approver: OperatorInfo | None = None,
    bill_id: int | None = None,
) -> AdjustmentInfo:
    """Post one adjustment (+ charge, - credit). `approver` is the supervisor who signed in
    for an amount over the limit (the screen checks the password; this checks the role)."""
    require(op, "adjustment.make")     # MSRs too, up to the limit; over it a supervisor signs
    code = (reason or "").strip().upper()
    if code not in REASONS:
        raise ValidationError(f"Reason code must be one of {', '.join(REASONS)}", "reason")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents == 0:
        raise ValidationError("An adjustment is a whole number of cents, not zero", "amount")
    if abs(amount_cents) > MAX_CENTS:
        raise ValidationError(f"An adjustment is at most {money.fmt_dollars(MAX_CENTS)}", "amount")
    note = (note or "").strip()
    card_numbers.refuse(note, "note")
    if code == "OTHER" and not note:
        raise ValidationError("Say what the adjustment is for", "note")
    approved_by = None
    if needs_approval(op, amount_cents):
        if approver is None:
            raise PermissionDenied(f"Adjustments over {money.fmt_dollars(_limit)} need a supervisor to sign in")
        if not approver.can("billing.approve") or approver.id == op.id:
            raise PermissionDenied(
                f"{approver.username} ({approver.role}) may not approve adjustments over {money.fmt_dollars(_limit)}"
            )
        approved_by = approver
    elif op.can("billing.approve") and abs(amount_cents) > _limit:
        approved_by = op
    a = db.Account.get_or_none(db.Account.number == int(account_number))
    if a is None:
        raise NotFound(f"No account {account_number}", "account")
    if bill_id is not None and not db.Bill.select().where(db.Bill.id == bill_id, db.Bill.account == a.id).exists():
        raise NotFound(f"Bill {bill_id} is not a bill of account {a.number}", "bill")
    desc = f"Adjustment: {REASONS[code]}" + (f" - {note}" if note else "")
    with db.write_txn():
        entry = db.LedgerEntry.insert(
            account=a.id,
            effective=dt.date.today(),
            kind="adjustment",
            amount_cents=amount_cents,
            description=desc[:120],
            reference=f"ADJ {code}",
            operator=op.id,
        ).execute()
        row = db.Adjustment.create(
            account=a.id,
            reason=code,
            amount_cents=amount_cents,
            note=note[:200],
            bill=bill_id,
            operator=op.id,
            approved_by=approved_by.id if approved_by else None,
            ledger_entry=entry,
        )
        audit.record(
            op,
            "adjustment.post",
            "adjustment",
            row.id,
            account_id=a.id,
            field=code,
            after=f"{money.fmt(amount_cents)} {desc}"[:180]
            + (f" approved by {approved_by.username}" if approved_by else ""),
        )
    return AdjustmentInfo(
        row.id,
        a.number,
        code,
        amount_cents,
        note,
        op.username,
        approved_by.username if approved_by else "",
        entry,
        row.created_at,
    )
