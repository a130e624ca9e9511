"""Service orders: create, queue, dispatch, complete (once), cancel; work tickets;
the disconnect rules (winter protection, medical certificates).

Status: open -> dispatched -> completed, or open/dispatched -> cancelled.
Completing claims the order with a conditional UPDATE (status IN open,
dispatched -> completed) and checks the row count, in the same transaction
that records the reading, changes the account and charges the fee, so two
MSRs completing one order at once complete it once.

What completion does, by kind:
- connect, move_in_read: the account becomes active (meter set from meter_no
  if keyed; the reading is the starting read);
- disconnect_nonpay, remote_disconnect: active -> disconnected (refused while a
  medical certificate or winter protection stands: cancel the order);
- reconnect, remote_reconnect: disconnected -> active, reconnect fee (business
  hours or after hours by the completion time) unless waived with a reason;
- reread, meter_test: the reading; the trip fee when the member asked for it;
- meter_replace: meter_no is the new meter, reading its starting read,
  old_reading the old meter's final read;
- move_out_read: the reading (the final bill is the move / closure flow's).
"""
from __future__ import annotations

import calendar
import datetime as dt
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN, Case, fn

from kec_tui import db, money
from kec_tui.services import audit, card_numbers, fees, search_index
from kec_tui.services.accounts import display_name, format_phone
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.reports import text_pdf

ORDER_NO_START = db.numbering(db.ServiceOrder.order_no).start
ACTIVE = ("open", "dispatched")
KIND_LABELS = {
    "connect": "Connect", "disconnect_nonpay": "Disconnect for non-pay", "reconnect": "Reconnect",
    "move_in_read": "Move-in read", "move_out_read": "Move-out read", "meter_test": "Meter test",
    "meter_replace": "Meter replace", "reread": "Meter re-read", "remote_disconnect": "Remote disconnect",
    "remote_reconnect": "Remote reconnect", "other": "Other",
}
DISCONNECT_KINDS = ("disconnect_nonpay", "remote_disconnect")
RECONNECT_KINDS = ("reconnect", "remote_reconnect")
CONNECT_KINDS = ("connect", "move_in_read")
READING_REQUIRED = ("move_in_read", "move_out_read", "reread")
TRIP_FEE_KINDS = ("reread", "meter_test")
IN_SERVICE = ("pending", "active", "disconnected")     # an account still at its location
WINTER_MONTHS = (12, 1, 2)
WINTER_HOUSEHOLD = ("children", "elderly", "infirm")
MEDICAL_CERT_DAYS = 30
MAX_NOTES = 2000
MAX_READING = 999_999_999


# ---- errors ------------------------------------------------------------------------------

class OrderStateError(ServiceError):
    """The order is not in a state that allows this (completed, cancelled ...)."""


class AlreadyCompleted(OrderStateError):
    pass


class DisconnectProtected(ServiceError):
    """Winter protection or a medical certificate forbids disconnection now."""


# ---- helpers ----------------------------------------------------------------------------

def today_or(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


def next_business_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def clean_notes(notes: str, field: str = "notes") -> str:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ValidationError(f"Notes are at most {MAX_NOTES:,} characters", field)
    card_numbers.refuse(notes, field)
    return notes


def _fmt_date(d: dt.date | None) -> str:
    return f"{d:%m/%d/%Y}" if d else ""


def _after_claim(order_no: int) -> None:
    """Test seam: called inside complete_order's transaction right after the claim."""


# ---- dataclasses ------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderInfo:
    id: int
    order_no: int
    account_id: int
    account_number: int
    account_status: str
    name: str
    service_address: str
    map_location: str
    account_meter_no: str          # the meter on the account now
    kind: str
    kind_label: str
    status: str
    priority: int
    due_date: dt.date | None
    created_at: dt.datetime
    created_by: str
    notes: str
    member_requested: bool
    dispatched_at: dt.datetime | None
    dispatched_to: str
    completed_at: dt.datetime | None
    completed_by: str
    reading: int | None
    meter_no: str                  # the meter read or set on completion
    fee_cents: int
    resolution: str

    def overdue(self, today: dt.date | None = None) -> bool:
        return self.status in ACTIVE and self.due_date is not None and self.due_date < today_or(today)


@dataclass(frozen=True)
class QueuePage:
    rows: list[OrderInfo]
    total: int                     # orders matching the filters
    offset: int
    limit: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass(frozen=True)
class ReadingResult:
    reading_id: int
    meter_no: str
    reading: int
    previous: int | None
    previous_date: dt.date | None
    kwh: int


@dataclass(frozen=True)
class CompletedOrder:
    order: OrderInfo
    account_status: str
    readings: list[ReadingResult]
    fee_cents: int
    fee_description: str
    then: str = ""                  # what the completion did besides: a scheduled move or closure


@dataclass(frozen=True)
class TicketFiles:
    text: Path
    pdf: Path | None = None


# ---- reading orders -----------------------------------------------------------------------

def _query():
    O, A, M, L, MT = db.ServiceOrder, db.Account, db.Member, db.ServiceLocation, db.Meter
    Creator, Completer = db.Operator.alias("creator"), db.Operator.alias("completer")
    return (O.select(O.id, O.order_no, O.account, A.number, A.status, M.first_name, M.last_name,
                     L.street, L.city, L.state, L.zip, L.map_location, MT.meter_no, O.kind, O.status,
                     O.priority, O.due_date, O.created_at, Creator.username, O.notes, O.member_requested,
                     O.dispatched_at, O.dispatched_to, O.completed_at, Completer.username, O.reading,
                     O.meter_no, O.fee_cents, O.resolution)
            .join(A, on=(O.account == A.id)).join(M, on=(A.member == M.id))
            .switch(A).join(L, on=(A.location == L.id))
            .switch(A).join(MT, JOIN.LEFT_OUTER, on=(A.meter == MT.id))
            .switch(O).join(Creator, JOIN.LEFT_OUTER, on=(O.operator == Creator.id))
            .switch(O).join(Completer, JOIN.LEFT_OUTER, on=(O.completed_by == Completer.id)))


def _infos(q) -> list[OrderInfo]:
    out = []
    for r in q.tuples():
        out.append(OrderInfo(
            id=r[0], order_no=r[1], account_id=r[2], account_number=r[3], account_status=r[4],
            name=display_name(r[5], r[6]), service_address=f"{r[7]}, {r[8]}, {r[9]} {r[10]}", map_location=r[11],
            account_meter_no=r[12] or "", kind=r[13], kind_label=KIND_LABELS.get(r[13], r[13]), status=r[14],
            priority=r[15], due_date=r[16], created_at=r[17], created_by=r[18] or "system", notes=r[19],
            member_requested=bool(r[20]), dispatched_at=r[21], dispatched_to=r[22], completed_at=r[23],
            completed_by=r[24] or "", reading=r[25], meter_no=r[26], fee_cents=r[27], resolution=r[28]))
    return out


def get_order(order_no: int) -> OrderInfo:
    found = _infos(_query().where(db.ServiceOrder.order_no == order_no))
    if not found:
        raise NotFound(f"No service order {order_no}", "order_no")
    return found[0]


def _status_filter(status: str | Iterable[str] | None):
    if status is None:
        return ACTIVE
    if status == "all":
        return db.ORDER_STATUSES
    statuses = (status,) if isinstance(status, str) else tuple(status)
    bad = [s for s in statuses if s not in db.ORDER_STATUSES]
    if bad:
        raise ValidationError(f"Status must be one of {', '.join(db.ORDER_STATUSES)} (or all)", "status")
    return statuses


def queue(kind: str | Iterable[str] | None = None, status: str | Iterable[str] | None = None,
          due_before: dt.date | None = None, limit: int = 50, offset: int = 0,
          account_id: int | None = None) -> QueuePage:
    """One page of orders, most urgent first: by due date (none last), priority, order no.

    status None means the work still to do (open and dispatched); "all" means every
    status. due_before keeps orders due on or before that date (overdue work: today)."""
    O = db.ServiceOrder
    where = O.status.in_(_status_filter(status))
    if kind:
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        bad = [k for k in kinds if k not in db.ORDER_KINDS]
        if bad:
            raise ValidationError(f"Unknown order kind {bad[0]!r}", "kind")
        where &= O.kind.in_(kinds)
    if due_before is not None:
        where &= O.due_date <= due_before
    if account_id is not None:
        where &= O.account == account_id
    limit = max(1, min(int(limit), 500))
    offset = max(0, int(offset))
    total = O.select(fn.COUNT(O.id)).where(where).scalar()
    q = (_query().where(where)
         .order_by(Case(None, [(O.due_date.is_null(), 1)], 0), O.due_date, O.priority, O.order_no)
         .limit(limit).offset(offset))
    return QueuePage(_infos(q), int(total or 0), offset, limit)


def for_account(account_id: int, limit: int = 50, offset: int = 0) -> list[OrderInfo]:
    """An account's orders, newest first, every status (the account screen's order tab)."""
    O = db.ServiceOrder
    return _infos(_query().where(O.account == account_id).order_by(O.id.desc()).limit(limit).offset(offset))


# ---- disconnect rules -----------------------------------------------------------------------

def winter_end(day: dt.date) -> dt.date:
    """The last day of the winter (Dec-Feb) that `day` is in or, from March on, the next one."""
    year = day.year + 1 if day.month >= 3 else day.year
    return dt.date(year, 2, calendar.monthrange(year, 2)[1])


def disconnect_protection(a: db.Account, today: dt.date | None = None) -> str | None:
    """Why the account may not be disconnected for non-pay today, or None."""
    today = today_or(today)
    if a.medical_cert_until and a.medical_cert_until >= today:
        return (f"Account {a.number} has a medical certificate until {_fmt_date(a.medical_cert_until)}: "
                f"disconnection is postponed until then")
    if (a.rate_class == "RES" and today.month in WINTER_MONTHS and a.winter_protection_until
            and a.winter_protection_until >= today):
        household = a.winter_household or "a protected household"
        return (f"Account {a.number} is in winter protection (Dec-Feb): the member declared inability to pay "
                f"with {household.replace(',', ', ')} in the household; no disconnection before "
                f"{_fmt_date(a.winter_protection_until + dt.timedelta(days=1))}")
    return None


def declare_winter_protection(op: OperatorInfo, account_id: int, household: Iterable[str],
                              today: dt.date | None = None) -> dt.date:
    """Record the member's declaration of inability to pay with children, elderly (62+)
    or infirm members in the household. Good through the end of that winter; returns it."""
    require(op, "protection.record")
    today = today_or(today)
    who = sorted({h.strip().lower() for h in household if h.strip()})
    if not who or any(h not in WINTER_HOUSEHOLD for h in who):
        raise ValidationError(f"Who in the household: one or more of {', '.join(WINTER_HOUSEHOLD)}", "household")
    until = winter_end(today)
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("That account no longer exists")
        if a.rate_class != "RES":
            raise ValidationError(f"Winter protection is for residential accounts; {a.number} is {a.rate_class}",
                                  "household")
        before = f"{_fmt_date(a.winter_protection_until)} {a.winter_household}".strip()
        db.Account.update(winter_protection_until=until, winter_household=",".join(who)).where(
            db.Account.id == account_id).execute()
        audit.record(op, "protection.winter", "account", account_id, account_id=account_id,
                     field="winter_protection", before=before, after=f"{_fmt_date(until)} {','.join(who)}")
    return until


def record_medical_certificate(op: OperatorInfo, account_id: int, received: dt.date | None = None,
                               days: int = MEDICAL_CERT_DAYS, physician: str = "") -> dt.date:
    """A medical certificate postpones disconnection `days` (30) from its receipt; returns the date."""
    require(op, "protection.record")
    received = today_or(received)
    if not 1 <= days <= 90:
        raise ValidationError("A medical certificate postpones disconnection 1 to 90 days", "days")
    until = received + dt.timedelta(days=days)
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("That account no longer exists")
        db.Account.update(medical_cert_until=until).where(db.Account.id == account_id).execute()
        audit.record(op, "protection.medical", "account", account_id, account_id=account_id,
                     field="medical_cert_until", before=_fmt_date(a.medical_cert_until),
                     after=f"{_fmt_date(until)} {physician.strip()[:80]}".strip())
        db.Note.create(account=account_id, operator=op.id,
                       text=f"Medical certificate received {_fmt_date(received)}"
                            f"{' from ' + physician.strip()[:80] if physician.strip() else ''}; "
                            f"disconnection postponed until {_fmt_date(until)}.")
    return until


# ---- creating ----------------------------------------------------------------------------------

def _check_new_order(a: db.Account, kind: str, today: dt.date) -> None:
    if a.status in ("final", "closed"):
        raise OrderStateError(f"Account {a.number} is {a.status}: orders are for accounts in service", "kind")
    if kind in DISCONNECT_KINDS:
        if a.status != "active":
            raise OrderStateError(f"Account {a.number} is {a.status}: only an active account can be disconnected",
                                  "kind")
        why = disconnect_protection(a, today)
        if why:
            raise DisconnectProtected(why, "kind")
    if kind in RECONNECT_KINDS and a.status != "disconnected":
        raise OrderStateError(f"Account {a.number} is {a.status}: nothing to reconnect", "kind")
    if kind == "connect" and a.status not in ("pending",):
        raise OrderStateError(f"Account {a.number} is {a.status}: a connect is for a new account "
                              f"(use a reconnect for a disconnected one)", "kind")
    O = db.ServiceOrder
    dup = (O.select(O.order_no, O.status).where(O.account == a.id, O.kind == kind, O.status.in_(ACTIVE))
           .first())
    if dup:
        raise OrderStateError(f"{KIND_LABELS[kind]} order {dup.order_no} is already {dup.status} "
                              f"on account {a.number}", "kind")


def new_order(op: OperatorInfo | None, a: db.Account, kind: str, *, priority: int = 3,
              due_date: dt.date | None = None, notes: str = "", member_requested: bool = False,
              today: dt.date | None = None, check: bool = True) -> db.ServiceOrder:
    """Insert an order in the caller's write transaction (no permission check: the
    calling flow did it). `check` applies the state rules of create_order."""
    today = today_or(today)
    if kind not in db.ORDER_KINDS:
        raise ValidationError(f"Order kind must be one of {', '.join(db.ORDER_KINDS)}", "kind")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise ValidationError("Priority is 1 (most urgent) to 5", "priority")
    if due_date is not None and due_date < today:
        raise ValidationError(f"The due date {_fmt_date(due_date)} is in the past", "due_date")
    notes = clean_notes(notes)
    if check:
        _check_new_order(a, kind, today)
    order_no = db.next_number(db.ServiceOrder.order_no)
    o = db.ServiceOrder.create(order_no=order_no, account=a.id, kind=kind, status="open", priority=priority,
                               due_date=due_date, notes=notes, operator=op.id if op else None,
                               member_requested=bool(member_requested), created_at=db.now())
    audit.record(op, "order.create", "order", o.id, account_id=a.id, field="order",
                 after=f"#{order_no} {kind} due {_fmt_date(due_date) or '-'} p{priority}"
                       f"{' member requested' if member_requested else ''}")
    return o


def create_order(op: OperatorInfo, account_id: int, kind: str, *, priority: int = 3,
                 due_date: dt.date | None = None, notes: str = "", member_requested: bool = False,
                 today: dt.date | None = None) -> OrderInfo:
    """Open a service order. Refused: a disconnect under winter protection or a medical
    certificate, a disconnect of an account not active, a reconnect of one not
    disconnected, a second open order of the same kind, any order on a final account."""
    require(op, "order.create")
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("That account no longer exists")
        o = new_order(op, a, kind, priority=priority, due_date=due_date, notes=notes,
                      member_requested=member_requested, today=today)
    return get_order(o.order_no)


# ---- dispatching and cancelling -----------------------------------------------------------------

def _order_row(order_no: int) -> db.ServiceOrder:
    o = db.ServiceOrder.get_or_none(db.ServiceOrder.order_no == order_no)
    if o is None:
        raise NotFound(f"No service order {order_no}", "order_no")
    return o


def _state_error(o: db.ServiceOrder, doing: str) -> OrderStateError:
    if o.status == "completed":
        who = db.Operator.get_or_none(db.Operator.id == o.completed_by_id)
        when = f"{o.completed_at:%m/%d/%Y %H:%M}" if o.completed_at else ""
        return AlreadyCompleted(f"Order {o.order_no} is already completed"
                                f"{' by ' + who.username if who else ''}{' at ' + when if when else ''}", "order_no")
    return OrderStateError(f"Order {o.order_no} is {o.status}: it cannot be {doing}", "order_no")


def dispatch_order(op: OperatorInfo, order_no: int, to: str = "", when: dt.datetime | None = None) -> OrderInfo:
    """open -> dispatched (to a crew or serviceman)."""
    require(op, "order.dispatch")
    to = (to or "").strip()
    if len(to) > 40:
        raise ValidationError("Dispatched to: at most 40 characters", "dispatched_to")
    card_numbers.refuse(to, "dispatched_to", "Dispatched to")
    with db.write_txn():
        o = _order_row(order_no)
        n = (db.ServiceOrder.update(status="dispatched", dispatched_at=when or db.now(), dispatched_to=to)
             .where(db.ServiceOrder.id == o.id, db.ServiceOrder.status == "open").execute())
        if n != 1:
            raise _state_error(db.ServiceOrder.get_by_id(o.id), "dispatched")
        audit.record(op, "order.dispatch", "order", o.id, account_id=o.account_id, field="status",
                     before="open", after=f"dispatched {to}".strip())
    return get_order(order_no)


def cancel_order(op: OperatorInfo, order_no: int, reason: str) -> OrderInfo:
    """open/dispatched -> cancelled, with a reason."""
    require(op, "order.cancel")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for cancelling", "reason")
    if len(reason) > 200:
        raise ValidationError("The reason is at most 200 characters", "reason")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        o = _order_row(order_no)
        n = (db.ServiceOrder.update(status="cancelled", resolution=reason)
             .where(db.ServiceOrder.id == o.id, db.ServiceOrder.status.in_(ACTIVE)).execute())
        if n != 1:
            raise _state_error(db.ServiceOrder.get_by_id(o.id), "cancelled")
        audit.record(op, "order.cancel", "order", o.id, account_id=o.account_id, field="status",
                     before=o.status, after=f"cancelled: {reason}")
    return get_order(order_no)


# ---- completing -----------------------------------------------------------------------------------

def _check_reading(value, field: str = "reading") -> int:
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise ValidationError("A reading is the digits on the register", field)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_READING:
        raise ValidationError("A reading is a whole number, 0 or more", field)
    return value


def last_reading(account_id: int, meter_id: int | None) -> db.Reading | None:
    """The latest reading of this meter on the account; else the meter's latest on any
    account (the previous occupant's final read is the next one's start)."""
    R = db.Reading
    order = (R.read_date.desc(), R.id.desc())
    row = R.select().where(R.account == account_id, R.meter == meter_id).order_by(*order).first()
    if row is None and meter_id is not None:
        row = R.select().where(R.meter == meter_id).order_by(*order).first()
    return row


@dataclass(frozen=True)
class LastRead:
    """An account's meter and its last reading: where a final bill or a completion starts."""
    meter_no: str
    reading: int | None
    day: dt.date | None
    since: dt.date            # the final bill's period starts here (last read, or the opening)
    multiplier: int


def last_read(account_id: int) -> LastRead:
    a = db.Account.get_by_id(account_id)
    meter = db.Meter.get_or_none(db.Meter.id == a.meter_id) if a.meter_id else None
    prev = last_reading(a.id, a.meter_id)
    return LastRead(meter.meter_no if meter else "", prev.reading if prev else None, prev.read_date if prev else None,
                    prev.read_date if prev else a.opened, meter.multiplier if meter else 1)


def completion_fee(kind: str, member_requested: bool, when: dt.datetime | None = None) -> tuple[int, str]:
    """(cents, description) of the fee completing an order of this kind at `when` charges: the
    reconnect fee (business hours or after), the trip fee for a re-read or test the member asked for."""
    when = when or dt.datetime.now()
    if kind in RECONNECT_KINDS:
        return fees.reconnect_fee(when)
    if kind in TRIP_FEE_KINDS and member_requested:
        return fees.schedule().trip_cents, f"Trip fee ({KIND_LABELS[kind].lower()} requested)"
    return 0, ""


def record_reading(a: db.Account, meter: db.Meter | None, reading: int, day: dt.date,
                   *, start: bool = False) -> ReadingResult:
    """Write a Reading (in the caller's transaction); kWh since the previous reading of the
    meter times its multiplier, 0 for a starting read. A reading below the previous
    one is refused (a mis-read, or a meter change to key as meter_replace)."""
    prev = None if start else last_reading(a.id, meter.id if meter else None)
    kwh = 0
    if prev is not None:
        if reading < prev.reading:
            raise ValidationError(f"Reading {reading:,} is below the last reading {prev.reading:,} "
                                  f"({_fmt_date(prev.read_date)}): check the register", "reading")
        kwh = (reading - prev.reading) * (meter.multiplier if meter else 1)
    r = db.Reading.create(account=a.id, meter=meter.id if meter else None, read_date=day, reading=reading, kwh=kwh)
    return ReadingResult(r.id, meter.meter_no if meter else "", reading,
                         prev.reading if prev else None, prev.read_date if prev else None, kwh)


def _meter_for(number: str, a: db.Account, day: dt.date) -> db.Meter:
    """The meter with this number (set at the account's location), made if new."""
    number = number.strip().upper()
    if not number or len(number) > 12 or not number.replace("-", "").isalnum():
        raise ValidationError("A meter number is up to 12 letters and digits", "meter_no")
    m = db.Meter.get_or_none(db.Meter.meter_no == number)
    if m is None:
        return db.Meter.create(meter_no=number, location=a.location_id, installed=day)
    holder = (db.Account.select(db.Account.number).where(db.Account.meter == m.id, db.Account.id != a.id,
                                                         db.Account.status.in_(IN_SERVICE)).first())
    if holder:
        raise ValidationError(f"Meter {number} is on account {holder.number}, still in service", "meter_no")
    if m.location_id != a.location_id:
        db.Meter.update(location=a.location_id, installed=day).where(db.Meter.id == m.id).execute()
        m = db.Meter.get_by_id(m.id)
    return m


def _set_account_status(op, a: db.Account, to: str, allowed: tuple[str, ...], why: str) -> str:
    """A guarded account state change; returns the new status."""
    n = (db.Account.update(status=to).where(db.Account.id == a.id, db.Account.status.in_(allowed)).execute())
    if n != 1:
        current = db.Account.get_by_id(a.id).status
        raise OrderStateError(f"Account {a.number} is {current}: cannot {why}", "order_no")
    audit.record(op, "account.status", "account", a.id, account_id=a.id, field="status", before=a.status,
                 after=f"{to} ({why})")
    a.status = to
    return to


def complete(op: OperatorInfo, o: db.ServiceOrder, *, reading=None, meter_no: str | None = None,
             old_reading=None, notes: str = "", when: dt.datetime | None = None,
             waive_fee: str = "") -> CompletedOrder:
    """Complete `o` in the caller's write transaction (moves.py uses it for the final read)."""
    when = when or db.now()
    day = when.date()
    notes = clean_notes(notes)
    waive_fee = (waive_fee or "").strip()[:200]
    if o.status not in ACTIVE:
        raise _state_error(o, "completed")
    a = db.locked(db.Account, o.account_id)
    kind = o.kind
    if reading is not None and reading != "":
        reading = _check_reading(reading)
    else:
        reading = None
    if old_reading is not None and old_reading != "":
        old_reading = _check_reading(old_reading, "old_reading")
    else:
        old_reading = None
    if kind in READING_REQUIRED and reading is None:
        raise ValidationError(f"Key the reading: a {KIND_LABELS[kind].lower()} records one", "reading")
    if kind == "meter_replace" and not (meter_no or "").strip():
        raise ValidationError("Key the number of the new meter", "meter_no")
    if kind in DISCONNECT_KINDS:
        why = disconnect_protection(a, day)
        if why:
            raise DisconnectProtected(why + ". Cancel the order", "order_no")
    # The claim: exactly one session gets past this line.
    text = o.notes + (("\n" if o.notes else "") + f"Completed: {notes}" if notes else "")
    n = (db.ServiceOrder.update(status="completed", completed_at=when, completed_by=op.id, notes=text)
         .where(db.ServiceOrder.id == o.id, db.ServiceOrder.status.in_(ACTIVE)).execute())
    if n != 1:
        raise _state_error(db.ServiceOrder.get_by_id(o.id), "completed")
    _after_claim(o.order_no)

    readings: list[ReadingResult] = []
    meter = db.Meter.get_by_id(a.meter_id) if a.meter_id else None
    set_meter = ""
    if kind == "meter_replace":
        if old_reading is not None and meter is not None:
            readings.append(record_reading(a, meter, old_reading, day))
        new = _meter_for(meter_no, a, day)
        if meter is not None and new.id == meter.id:
            raise ValidationError(f"Meter {new.meter_no} is the one on the account already", "meter_no")
        if meter is not None:
            db.Meter.update(location=None).where(db.Meter.id == meter.id).execute()
        db.Account.update(meter=new.id).where(db.Account.id == a.id).execute()
        audit.record(op, "account.meter", "account", a.id, account_id=a.id, field="meter",
                     before=meter.meter_no if meter else "", after=new.meter_no)
        meter, set_meter = new, new.meter_no
        readings.append(record_reading(a, meter, reading or 0, day, start=True))
    else:
        if meter_no and meter_no.strip():
            m = _meter_for(meter_no, a, day)
            if meter is None or m.id != meter.id:
                if kind not in CONNECT_KINDS:
                    raise ValidationError(f"Meter {m.meter_no} is not the meter on account {a.number} "
                                          f"({meter.meter_no if meter else 'none'}): use a meter replace",
                                          "meter_no")
                db.Account.update(meter=m.id).where(db.Account.id == a.id).execute()
                audit.record(op, "account.meter", "account", a.id, account_id=a.id, field="meter",
                             before=meter.meter_no if meter else "", after=m.meter_no)
                meter = m
            set_meter = m.meter_no
        if kind in CONNECT_KINDS and meter is None:
            raise ValidationError("Key the number of the meter set at the connect", "meter_no")
        if reading is not None:   # a connect's reading starts the member's usage
            readings.append(record_reading(a, meter, reading, day, start=kind in CONNECT_KINDS))
    if set_meter or (meter_no or "").strip():
        search_index.reindex_account(a.id)

    status = a.status
    if kind in CONNECT_KINDS:
        if a.status != "active":
            status = _set_account_status(op, a, "active", ("pending", "disconnected"), "connect")
    elif kind in DISCONNECT_KINDS:
        status = _set_account_status(op, a, "disconnected", ("active",), "disconnect")
    elif kind in RECONNECT_KINDS:
        status = _set_account_status(op, a, "active", ("disconnected",), "reconnect")

    fee_cents, fee_desc = completion_fee(kind, o.member_requested, when)
    resolution = ""
    if fee_cents and waive_fee:
        audit.record(op, "fee.waive", "order", o.id, account_id=a.id, field="fee",
                     before=f"{money.fmt(fee_cents)} {fee_desc}", after=waive_fee)
        resolution = f"Fee waived: {waive_fee}"
        fee_cents, fee_desc = 0, ""
    if fee_cents:
        fees.post(op, a.id, "fee", fee_cents, fee_desc, reference=f"SO {o.order_no}", effective=day,
                  audit_action="order.fee")
    last = readings[-1] if readings else None
    db.ServiceOrder.update(reading=last.reading if last else None,
                           meter_no=set_meter or (last.meter_no if last else ""),
                           fee_cents=fee_cents, resolution=resolution).where(db.ServiceOrder.id == o.id).execute()
    audit.record(op, "order.complete", "order", o.id, account_id=a.id, field="status", before=o.status,
                 after=(f"completed #{o.order_no} {kind}"
                        + "".join(f" read {r.meter_no}={r.reading}" for r in readings)
                        + (f" fee {money.fmt(fee_cents)}" if fee_cents else ""))[:200])
    return CompletedOrder(get_order(o.order_no), status, readings, fee_cents, fee_desc)


def scheduled_final(order_no: int) -> db.ScheduledFinal | None:
    """The move or closure set ahead that waits for this open final-read order, if any."""
    row = db.ServiceOrder.get_or_none(db.ServiceOrder.order_no == order_no)
    if row is None or row.kind != "move_out_read" or row.status not in ACTIVE:
        return None
    return db.ScheduledFinal.get_or_none(db.ScheduledFinal.order == row.id)


def complete_order(op: OperatorInfo, order_no: int, reading=None, meter_no: str | None = None, notes: str = "",
                   when: dt.datetime | None = None, *, old_reading=None, waive_fee: str = "") -> CompletedOrder:
    """Complete an order exactly once: record the reading / meter / notes, change the
    account's state and charge the fee (see the module doc). A second completion,
    however close in time, gets AlreadyCompleted."""
    require(op, "order.complete")
    if scheduled_final(order_no) is not None:
        # Completing it does the move or closure: moves.complete_order (this module is below moves).
        raise OrderStateError(f"Order {order_no} is the final read of a move or closure set ahead: "
                              f"complete it from the order queue", "order_no")
    with db.write_txn():
        o = _order_row(order_no)
        return complete(op, o, reading=reading, meter_no=meter_no, old_reading=old_reading, notes=notes,
                        when=when, waive_fee=waive_fee)


# ---- work tickets -----------------------------------------------------------------------------------

def work_ticket_text(order_no: int, coop: str = "Kootenai Electric Cooperative") -> str:
    o = get_order(order_no)
    a = db.Account.get_by_id(o.account_id)
    m = db.Member.get_by_id(a.member_id)
    loc = db.ServiceLocation.get_by_id(a.location_id)
    phone = next((p for p in (m.phone_mobile, m.phone_home, m.phone_work) if p), "")
    last = last_reading(a.id, a.meter_id)
    width = 78
    lines = [coop.center(width), f"SERVICE ORDER {o.order_no}".center(width), "=" * width,
             f"Kind:      {o.kind_label:<28} Priority: {o.priority}      Status: {o.status}",
             f"Due:       {_fmt_date(o.due_date) or '(none)':<28} Created:  {o.created_at:%m/%d/%Y %H:%M} "
             f"by {o.created_by}",
             "",
             f"Account:   {o.account_number:<28} Status:   {o.account_status}",
             f"Member:    {o.name}",
             f"Phone:     {format_phone(phone)}",
             f"Service:   {o.service_address}",
             f"Map loc:   {o.map_location or '(none)'}",
             f"Meter:     {o.account_meter_no or '(none)'}"
             + (f"   last read {last.reading:,} on {_fmt_date(last.read_date)}" if last else "")]
    if loc.owner_name:
        lines.append(f"Owner:     {loc.owner_name} {format_phone(loc.owner_phone)}".rstrip())
    if o.member_requested:
        lines.append("Requested by the member (trip fee applies)")
    if o.dispatched_at:
        lines.append(f"Dispatched {o.dispatched_at:%m/%d/%Y %H:%M} {o.dispatched_to}".rstrip())
    lines += ["", "Notes:"]
    for para in (o.notes or "(none)").splitlines() or [""]:
        lines += textwrap.wrap(para, width - 2, initial_indent="  ", subsequent_indent="  ") or [""]
    if o.status == "completed":
        lines += ["", f"Completed {o.completed_at:%m/%d/%Y %H:%M} by {o.completed_by}"
                      + (f"   reading {o.reading:,}" if o.reading is not None else "")
                      + (f"   meter {o.meter_no}" if o.meter_no else "")
                      + (f"   fee {money.fmt_dollars(o.fee_cents)}" if o.fee_cents else "")]
    else:
        lines += ["", "-" * width,
                  "Reading: ____________   Meter no.: ____________   Date/time: ________________",
                  "", "Work done: ______________________________________________________________",
                  "", "Serviceman: ________________________"]
    return "\n".join(lines) + "\n"


def write_work_ticket(order_no: int, directory: str | Path, *, pdf: bool = False) -> TicketFiles:
    """Write order-NNNNNN.txt (and .pdf) into `directory`; returns the paths."""
    text = work_ticket_text(order_no)
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
        txt = d / f"order-{order_no}.txt"
        txt.write_text(text)
        pdf_path = None
        if pdf:
            pdf_path = d / f"order-{order_no}.pdf"
            pdf_path.write_bytes(text_pdf(text))
    except OSError as exc:
        raise ServiceError(f"Cannot write the work ticket in {d}: {exc.strerror or exc}") from exc
    return TicketFiles(txt, pdf_path)
