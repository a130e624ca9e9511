"""Transfer of service (a move) and account closure.

Both start the same way, in one transaction: refuse an account with open
orders (a move-out read already on file is used, not refused), complete the
move-out read with the final reading, and post the final bill: energy since
the last reading at the class rate plus the base charge prorated over the days
since it (fees.bill_cents, integer cents).

A move then opens a new account for the same member at the new location
(refused when that location is already in service), carries the balance over
with a 'transfer' entry on each account (each ledger still sums to its own
balance: the old one to zero), moves the deposit held, and opens a connect
order. The old account ends 'closed' (its balance is zero) and points to the
new one.

A closure applies the deposit held to the balance, refunds a remaining credit
(an adjustment entry, and a note for the refund check to the mailing address),
and ends 'closed' when nothing is owed, 'final' while a balance is still due.

Members call ahead: a move or closure may be set `on` a later day (up to
MAX_DAYS_AHEAD). Then only the move-out read order is made, due that day, with
what was asked kept beside it (ScheduledFinal); completing that order with the
reading does the move or closure as above (complete_order here: the order
queue completes every order through it). Today (the default) does it at once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from kec_tui import db, money
from kec_tui.services import audit, deposits, fees, memberships, orders, search_index
from kec_tui.services.accounts import AccountView, balance, display_name
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

# ---- dataclasses ------------------------------------------------------------------------------

MAX_DAYS_AHEAD = 60


@dataclass(frozen=True)
class Scheduled:
    """A move or closure set for a later day: its final-read order is due then."""
    account_id: int
    account_number: int
    doing: str                     # move, closure
    on: dt.date
    order_no: int


@dataclass(frozen=True)
class FinalBill:
    order_no: int                  # the move-out read order, completed
    meter_no: str
    reading: int | None
    previous: int | None
    previous_date: dt.date | None
    kwh: int
    days: int
    amount_cents: int
    completed: orders.CompletedOrder | None = None   # the move-out read order's completion


@dataclass(frozen=True)
class MoveResult:
    old_account_id: int
    old_account_number: int
    old_status: str
    final_bill: FinalBill | None
    new_account_id: int
    new_account_number: int
    transferred_cents: int         # the balance carried to the new account (negative: a credit)
    deposit_moved_cents: int
    connect_order_no: int


@dataclass(frozen=True)
class ClosureResult:
    account_id: int
    account_number: int
    status: str                    # closed, or final while a balance is due
    final_bill: FinalBill | None
    deposit_applied_cents: int
    refund_cents: int
    balance_cents: int             # still owed after all of it


# ---- the final read and bill ----------------------------------------------------------------------

def _open_orders_error(a: db.Account) -> None:
    O = db.ServiceOrder
    busy = list(O.select(O.order_no, O.kind, O.status)
                .where(O.account == a.id, O.status.in_(orders.ACTIVE), O.kind != "move_out_read")
                .order_by(O.order_no))
    if busy:
        listed = ", ".join(f"{o.order_no} ({orders.KIND_LABELS.get(o.kind, o.kind)}, {o.status})" for o in busy)
        raise orders.OrderStateError(f"Account {a.number} has open service order{'s' if len(busy) > 1 else ''} "
                                     f"{listed}: complete or cancel {'them' if len(busy) > 1 else 'it'} first",
                                     "order_no")


def final_bill_cents(rate_class: str, kwh: int, since: dt.date, day: dt.date) -> tuple[int, int]:
    """(days, cents) of a final bill on `day` for the kWh used since `since`: the one rule for
    the bill posted and the quote shown before it."""
    days = max(0, (day - since).days)
    return days, fees.bill_cents(rate_class, kwh, days)


@dataclass(frozen=True)
class FinalBillQuote:
    kwh: int
    days: int
    cents: int


def final_bill_quote(rate_class: str, last: orders.LastRead, reading: int,
                     day: dt.date | None = None) -> FinalBillQuote:
    """The final bill a move or closure would post for this reading on `day` (today), for showing first."""
    kwh = max(0, reading - last.reading) * last.multiplier if last.reading is not None else 0
    days, cents = final_bill_cents(rate_class, kwh, last.since, day or dt.date.today())
    return FinalBillQuote(kwh, days, cents)


def refusal(account: AccountView, doing: str) -> str | None:
    """Why this account cannot be moved (doing="move") or closed at all, or None: asked before the form opens."""
    if doing == "move" and account.status == "pending":
        return (f"Account {account.number} was never connected: cancel its connect and open the account at "
                f"the new location instead")
    if account.status not in orders.IN_SERVICE:
        return f"Account {account.number} is already {account.status}"
    return None


def open_orders(account_id: int) -> list[orders.OrderInfo]:
    """Open orders that block a move or a closure (a move-out read is used, not refused)."""
    page = orders.queue(account_id=account_id, limit=20)
    return [o for o in page.rows if o.kind != "move_out_read"]


def _final_read_and_bill(op: OperatorInfo, a: db.Account, reading, when: dt.datetime) -> FinalBill | None:
    day = when.date()
    if a.status == "pending":          # never connected: nothing used, nothing to bill
        return None
    if reading is None or reading == "":
        raise ValidationError("Key the final reading", "reading")
    O = db.ServiceOrder
    o = (O.select().where(O.account == a.id, O.kind == "move_out_read", O.status.in_(orders.ACTIVE))
         .order_by(O.id).first())
    if o is None:
        o = orders.new_order(op, a, "move_out_read", priority=2, due_date=day, notes="Final read", today=day,
                             check=False)
    prev = orders.last_reading(a.id, a.meter_id)
    done = orders.complete(op, o, reading=reading, when=when)
    r = done.readings[-1]
    days, cents = final_bill_cents(a.rate_class, r.kwh, prev.read_date if prev else a.opened, day)
    fees.post(op, a.id, "bill", cents, f"Final bill: {r.kwh:,} kWh, {days} days", reference="FINAL",
              effective=day, due_date=day + dt.timedelta(days=fees.DUE_DAYS), audit_action="bill.final")
    return FinalBill(o.order_no, r.meter_no, r.reading, r.previous, r.previous_date, r.kwh, days, cents, done)


def _account_for_final(account_id: int) -> db.Account:
    a = db.locked(db.Account, account_id)
    if a is None:
        raise NotFound("That account no longer exists", "account")
    if a.status not in orders.IN_SERVICE:
        raise ServiceError(f"Account {a.number} is already {a.status}", "account")
    return a


def _finish(op: OperatorInfo, a: db.Account, to: str, day: dt.date, why: str, **extra) -> None:
    n = (db.Account.update(status=to, closed=day, **extra)
         .where(db.Account.id == a.id, db.Account.status.in_(orders.IN_SERVICE)).execute())
    if n != 1:
        raise ServiceError(f"Account {a.number} was finaled by someone else meanwhile", "account")
    audit.record(op, "account.status", "account", a.id, account_id=a.id, field="status", before=a.status,
                 after=f"{to} ({why})")


def is_later(on: dt.date | None, today: dt.date) -> bool:
    """Whether `on` sets the move / closure for a later day; refuses a past one or one too far."""
    if on is None or on == today:
        return False
    if on < today:
        raise ValidationError("That date is in the past: key today's date or a later one", "on")
    if on > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        last = today + dt.timedelta(days=MAX_DAYS_AHEAD)
        raise ValidationError(f"At most {MAX_DAYS_AHEAD} days ahead (by {last:%m/%d/%Y})", "on")
    return True


def _schedule(op: OperatorInfo, a: db.Account, kind: str, on: dt.date, today: dt.date, what: str,
              **asked) -> Scheduled:
    """The move-out read order due `on`, with what was asked beside it (in the caller's transaction)."""
    O = db.ServiceOrder
    if O.select().where(O.account == a.id, O.kind == "move_out_read", O.status.in_(orders.ACTIVE)).exists():
        raise orders.OrderStateError(f"Account {a.number} already has a final read order: complete or cancel "
                                     f"it first", "order_no")
    o = orders.new_order(op, a, "move_out_read", priority=2, due_date=on, today=today, check=False,
                         notes=f"Final read: {what} on {on:%m/%d/%Y}")
    db.ScheduledFinal.create(order=o.id, kind=kind, operator=op.id, **asked)
    audit.record(op, f"account.{kind}_scheduled", "account", a.id, account_id=a.id, field="status",
                 after=f"{what} on {on:%m/%d/%Y}: final read order {o.order_no}"[:200])
    return Scheduled(a.id, a.number, "move" if kind == "move" else "closure", on, o.order_no)


def complete_order(op: OperatorInfo, order_no: int, reading=None, meter_no: str | None = None, notes: str = "",
                   when: dt.datetime | None = None, *, old_reading=None, waive_fee: str = "") -> orders.CompletedOrder:
    """Complete a service order (orders.complete_order); the final read of a move or closure set
    ahead does that move or closure now."""
    require(op, "order.complete")
    scheduled = orders.scheduled_final(order_no)
    if scheduled is not None:
        return complete_scheduled(op, scheduled, reading, when=when, notes=notes)
    return orders.complete_order(op, order_no, reading, meter_no, notes, when, old_reading=old_reading,
                                 waive_fee=waive_fee)


def complete_scheduled(op: OperatorInfo, s: db.ScheduledFinal, reading, *, when: dt.datetime | None = None,
                       notes: str = "") -> orders.CompletedOrder:
    """Complete the final read of a move or closure set ahead: the move / closure happens now."""
    o = db.ServiceOrder.get_by_id(s.order_id)
    notes = "\n".join(n for n in (s.notes, notes) if n)
    if s.kind == "move":
        day = (when or db.now()).date()
        owner = memberships.Landlord(s.owner_name, s.owner_phone) if s.owner_name else None
        r = transfer_service(op, o.account_id, s.new_location_id, reading, when=when,
                             connect_due=s.connect_due if s.connect_due and s.connect_due >= day else None,
                             rate_class=s.rate_class or None, landlord=owner, notes=notes)
        then = f"Service moved to account {r.new_account_number} (connect order {r.connect_order_no})"
        final = r.final_bill
    else:
        c = close_account(op, o.account_id, reading, when=when, notes=notes)
        then = (f"Account {c.account_number} closed" if c.status == "closed"
                else f"Account {c.account_number} final: {money.fmt_dollars(c.balance_cents)} still owed")
        final = c.final_bill
    return replace(final.completed, then=then)


# ---- transfer of service ---------------------------------------------------------------------------

def transfer_service(op: OperatorInfo, account_id: int, new_location_id: int, reading=None, *,
                     when: dt.datetime | None = None, connect_due: dt.date | None = None,
                     rate_class: str | None = None, landlord: memberships.Landlord | None = None,
                     notes: str = "", on: dt.date | None = None) -> MoveResult | Scheduled:
    """Move a member's service from the account's location to `new_location_id`, in one
    transaction (see the module doc). `reading` is the final reading at the old location;
    `on` a later day sets the move for then (Scheduled)."""
    require(op, "account.move")
    when = when or db.now()
    day = when.date()
    if rate_class is not None and rate_class not in db.RATE_CLASSES:
        raise ValidationError(f"Rate class must be one of {', '.join(db.RATE_CLASSES)}", "rate_class")
    owner = memberships.clean_landlord(landlord) if landlord else None
    notes = orders.clean_notes(notes)
    if connect_due is not None and connect_due < day:
        raise ValidationError("The connect due date is in the past", "connect_due")
    later = is_later(on, day)
    with db.write_txn():
        a = _account_for_final(account_id)
        if a.status == "pending":
            raise ServiceError(f"Account {a.number} was never connected: cancel its connect and open the "
                               f"account at the new location instead", "account")
        if new_location_id == a.location_id:
            raise ValidationError("That is the account's own service location", "location")
        loc = db.locked(db.ServiceLocation, new_location_id)
        if loc is None:
            raise NotFound("No such service location", "location")
        busy = memberships.in_service_account(loc.id)
        if busy:
            raise memberships.location_in_service_error(loc, busy)
        _open_orders_error(a)
        if later:
            return _schedule(op, a, "move", on, day, f"move to {loc.street}, {loc.city}", new_location=loc.id,
                             rate_class=rate_class or "", owner_name=owner[0] if owner else "",
                             owner_phone=owner[1] if owner else "", connect_due=connect_due, notes=notes)
        final = _final_read_and_bill(op, a, reading, when)
        # The new account.
        number = memberships.new_account_number()
        prior = (db.Account.select(db.Account.bill_cycle).where(db.Account.location == loc.id)
                 .order_by(db.Account.id.desc()).first())
        meter = memberships.location_meter(loc.id)
        new = db.Account.create(number=number, member=a.member_id, location=loc.id,
                                meter=meter.id if meter else None, rate_class=rate_class or a.rate_class,
                                status="pending", bill_cycle=prior.bill_cycle if prior else a.bill_cycle,
                                landlord=bool(owner), budget_billing=a.budget_billing, opened=day)
        audit.record(op, "account.open", "account", new.id, account_id=new.id, field="account",
                     after=f"{number} {new.rate_class} at {loc.street}, {loc.city}: moved from account {a.number}")
        if owner and (loc.owner_name, loc.owner_phone) != owner:
            db.ServiceLocation.update(owner_name=owner[0], owner_phone=owner[1]).where(
                db.ServiceLocation.id == loc.id).execute()
            audit.record(op, "location.owner", "location", loc.id, account_id=new.id, field="owner",
                         before=f"{loc.owner_name} {loc.owner_phone}".strip(), after=f"{owner[0]} {owner[1]}".strip())
        # The balance and the deposit follow the member.
        carried = balance(a.id)
        if carried:
            fees.post(op, a.id, "transfer", -carried, f"Balance transferred to account {number}",
                      reference=f"TO {number}", effective=day, audit_action="balance.transfer")
            fees.post(op, new.id, "transfer", carried, f"Balance transferred from account {a.number}",
                      reference=f"FROM {a.number}", effective=day,
                      due_date=day + dt.timedelta(days=fees.DUE_DAYS) if carried > 0 else None,
                      audit_action="balance.transfer")
        deposit = deposits.follow_move(op, a, new.id, number)
        _finish(op, a, "closed", day, f"moved to account {number}", transferred_to=new.id)
        audit.record(op, "account.move", "account", a.id, account_id=a.id, field="location",
                     before=f"{a.number} {db.ServiceLocation.get_by_id(a.location_id).street}",
                     after=f"{number} {loc.street}, {loc.city}")
        if notes:
            db.Note.create(account=new.id, operator=op.id, text=notes)
        search_index.reindex_account(new.id)
        m = db.Member.get_by_id(a.member_id)
        o = orders.new_order(op, new, "connect", priority=2,
                             due_date=connect_due or orders.next_business_day(day),
                             notes=f"Connect: {display_name(m.first_name, m.last_name)} moving from "
                                   f"account {a.number}", today=day)
    return MoveResult(a.id, a.number, "closed", final, new.id, number, carried, deposit, o.order_no)


# ---- closure ------------------------------------------------------------------------------------------

def close_account(op: OperatorInfo, account_id: int, reading=None, *, when: dt.datetime | None = None,
                  notes: str = "", on: dt.date | None = None) -> ClosureResult | Scheduled:
    """Final read, final bill, deposit applied, a credit refunded; the account ends closed
    (or final while a balance is due). Refused while the account has an open order.
    `on` a later day sets the closure for then (Scheduled)."""
    require(op, "account.close")
    when = when or db.now()
    day = when.date()
    notes = orders.clean_notes(notes)
    later = is_later(on, day)
    with db.write_txn():
        a = _account_for_final(account_id)
        _open_orders_error(a)
        if later:
            if a.status == "pending":
                raise ServiceError(f"Account {a.number} was never connected: there is no final read to wait "
                                   f"for, close it today", "on")
            return _schedule(op, a, "close", on, day, "closure", notes=notes)
        final = _final_read_and_bill(op, a, reading, when)
        applied = deposits.apply_on_final(op, a, day)
        refund = 0
        owed = balance(a.id)
        if owed < 0:
            refund = -owed
            m = db.Member.get_by_id(a.member_id)
            fees.post(op, a.id, "adjustment", refund, "Refund of credit balance (check)", reference="REFUND",
                      effective=day, audit_action="refund")
            db.Note.create(account=a.id, operator=op.id,
                           text=f"Refund check {money.fmt_dollars(refund)} to "
                                f"{display_name(m.first_name, m.last_name)}, "
                                f"{m.mail_street}, {m.mail_city}, {m.mail_state} {m.mail_zip}.")
            owed = 0
        status = "closed" if owed == 0 else "final"
        _finish(op, a, status, day, "closure")
        audit.record(op, "account.close", "account", a.id, account_id=a.id, field="account",
                     after=(f"{status}: final bill {money.fmt(final.amount_cents) if final else '-'}, deposit "
                            f"applied {money.fmt(applied)}, refund {money.fmt(refund)}, owed {money.fmt(owed)}"))
        if notes:
            db.Note.create(account=a.id, operator=op.id, text=notes)
    return ClosureResult(a.id, a.number, status, final, applied, refund, owed)
