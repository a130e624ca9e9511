"""Outage calls: what a caller sees logged in a few keys, calls grouped into outage events on the
device that failed, the restoration estimate read back, restoration and the callbacks owed.

A service location hangs from a transformer, on a feeder, from a substation (db.LocationGrid). A call
joins the open event of its feeder if the whole feeder is out, else the open event of its transformer,
else opens an event on its transformer. When calls have opened events on `feeder_transformers` (3)
transformers of one feeder, the feeder is taken to be out: one feeder event takes their calls in.
A location with no place on the grid is an event of its own.

A wire down or a fire is a safety emergency: flagged at the top of every screen (KecApp asks
`emergencies`) until someone records it dispatched.

One open event per device, whatever sessions log calls at once: an open event holds its device in
`open_key` (unique; cleared on restoration), so a second session creating the same event is refused
by the database and joins the first one's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import IntegrityError, fn

from kec_tui import db
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require

CONDITIONS = {
    "out": "Lights out", "partial": "Partial power", "flicker": "Flickering", "wire": "Wire down",
    "tree": "Tree on line", "pole": "Pole damaged", "transformer": "Transformer damaged", "fire": "Fire / sparks",
}
EMERGENCY = frozenset({"wire", "fire"})
CREW_STATUSES = ("not assigned", "dispatched", "on site", "repairing")
FEEDER_TRANSFORMERS = 3       # transformers out on one feeder: the feeder is out


@dataclass(frozen=True)
class CallInfo:
    id: int
    event_id: int | None
    at: dt.datetime
    location_id: int
    address: str
    account_number: int | None
    caller: str
    condition: str
    callback_phone: str
    wants_callback: bool
    emergency: bool
    dispatched: bool


@dataclass(frozen=True)
class EventInfo:
    id: int
    device: str                 # "transformer T-123 (feeder ...)", "feeder ...", "location ..."
    level: str                  # transformer, feeder, location
    substation: str
    feeder: str
    status: str                 # open, restored
    cause: str
    crew_status: str
    eta: dt.datetime | None
    started_at: dt.datetime
    restored_at: dt.datetime | None
    calls: int
    locations: int              # locations on the device (how many are likely out)
    emergency: bool


def _grid(location_id: int) -> tuple[str, str, str]:
    G = db.LocationGrid
    g = G.get_or_none(G.location == location_id)
    return (g.substation, g.feeder, g.transformer) if g else ("", "", "")


def _clean_phone(phone: str) -> str:
    digits = "".join(c for c in (phone or "") if c.isdigit())
    if digits and len(digits) != 10:
        raise ValidationError("Callback phone: 10 digits (area code first), or empty", "callback_phone")
    return digits


def _event_for(level: str, device: str, sub: str, feeder: str, op: OperatorInfo) -> int:
    """The open event of the device, made if none (one per device: open_key is unique)."""
    E = db.OutageEvent
    key = f"{level}:{sub}/{device}"[:80]
    for _ in range(3):
        found = E.get_or_none(E.open_key == key)
        if found is not None:
            return found.id
        try:
            with db.database.atomic():
                return E.insert(open_key=key, level=level, device=device, substation=sub, feeder=feeder,
                                created_by=op.id).execute()
        except IntegrityError:      # another session made it just now: join theirs
            continue
    raise ValidationError("The outage event could not be made: try again", "location")


def _place(op: OperatorInfo, location_id: int) -> int:
    """The event a call from the location belongs to (module doc)."""
    E, C = db.OutageEvent, db.OutageCall
    sub, feeder, transformer = _grid(location_id)
    if not transformer:
        return _event_for("location", str(location_id), "", "", op)
    whole = E.get_or_none(E.open_key == f"feeder:{sub}/{feeder}"[:80])
    if whole is not None:
        return whole.id
    event_id = _event_for("transformer", transformer, sub, feeder, op)
    out = (E.select(E.id).where(E.status == "open", E.level == "transformer", E.substation == sub,
                                E.feeder == feeder))
    ids = [i for (i,) in out.tuples()]
    if feeder and len(ids) >= FEEDER_TRANSFORMERS:
        whole_id = _event_for("feeder", feeder, sub, feeder, op)
        C.update(event=whole_id).where(C.event.in_(ids)).execute()
        E.update(status="merged", open_key=None, merged_into=whole_id).where(E.id.in_(ids)).execute()
        return whole_id
    return event_id


@db.connected
def log_call(op: OperatorInfo, location_id: int, condition: str, *, caller: str = "", callback_phone: str = "",
             wants_callback: bool = False, account_id: int | None = None, notes: str = "") -> CallInfo:
    """Log an outage call from a service location; it joins (or opens) the outage event."""
    require(op, "outage.log")
    condition = (condition or "").strip().lower()
    if condition not in CONDITIONS:
        raise ValidationError(f"What the caller sees: one of {', '.join(CONDITIONS)}", "condition")
    loc = db.ServiceLocation.get_or_none(db.ServiceLocation.id == location_id)
    if loc is None:
        raise NotFound(f"No service location {location_id}: find the caller's account or address first")
    card_numbers.refuse_all({"caller": caller, "notes": notes})
    phone = _clean_phone(callback_phone)
    if wants_callback and not phone:
        raise ValidationError("A callback needs the phone number to call", "callback_phone")
    if account_id is None:
        acct = (db.Account.select(db.Account.id).where(db.Account.location == location_id)
                .order_by(db.Account.status != "active", db.Account.id.desc()).first())
        account_id = acct.id if acct else None
    with db.write_txn():
        event_id = _place(op, location_id)
        emergency = condition in EMERGENCY
        call_id = db.OutageCall.insert(event=event_id, location=location_id, account=account_id,
                                       caller=(caller or "").strip()[:80], condition=condition,
                                       callback_phone=phone, wants_callback=bool(wants_callback),
                                       emergency=emergency, notes=(notes or "").strip()[:200],
                                       operator=op.id).execute()
        if emergency:
            db.OutageEvent.update(emergency=True).where(db.OutageEvent.id == event_id).execute()
        audit.record(op, "outage.call", "outage_call", call_id, account_id=account_id, field=CONDITIONS[condition],
                     after=f"event {event_id}" + (" EMERGENCY" if emergency else ""))
    return get_call(call_id)


def _call_info(c: db.OutageCall) -> CallInfo:
    loc = c.location
    acct = c.account
    return CallInfo(c.id, c.event_id, c.at, loc.id, f"{loc.street}, {loc.city}", acct.number if acct else None,
                    c.caller, c.condition, c.callback_phone, c.wants_callback, c.emergency,
                    c.dispatched_at is not None)


@db.connected
def get_call(call_id: int) -> CallInfo:
    c = db.OutageCall.get_or_none(db.OutageCall.id == call_id)
    if c is None:
        raise NotFound("No such outage call")
    return _call_info(c)


def _event_info(e: db.OutageEvent, calls: int | None = None) -> EventInfo:
    G = db.LocationGrid
    if e.level == "transformer":
        n = G.select().where(G.substation == e.substation, G.feeder == e.feeder, G.transformer == e.device).count()
        device = f"transformer {e.device} (feeder {e.feeder}, {e.substation})"
    elif e.level == "feeder":
        n = G.select().where(G.substation == e.substation, G.feeder == e.feeder).count()
        device = f"feeder {e.feeder} ({e.substation})"
    else:
        n = 1
        loc = db.ServiceLocation.get_or_none(db.ServiceLocation.id == int(e.device))
        device = f"location {loc.street}, {loc.city}" if loc else f"location {e.device}"
    if calls is None:
        calls = db.OutageCall.select().where(db.OutageCall.event == e.id).count()
    return EventInfo(e.id, device, e.level, e.substation, e.feeder, e.status, e.cause, e.crew_status, e.eta,
                     e.started_at, e.restored_at, calls, n, e.emergency)


@db.connected
def get_event(event_id: int) -> EventInfo:
    e = db.OutageEvent.get_or_none(db.OutageEvent.id == event_id)
    if e is None:
        raise NotFound("No such outage event")
    return _event_info(e)


@db.connected
def board() -> list[EventInfo]:
    """The open outage events: emergencies first, then the most calls."""
    E, C = db.OutageEvent, db.OutageCall
    counts = dict(C.select(C.event, fn.COUNT(C.id)).join(E).where(E.status == "open").group_by(C.event).tuples())
    events = [_event_info(e, counts.get(e.id, 0)) for e in E.select().where(E.status == "open")]
    return sorted(events, key=lambda e: (not e.emergency, -e.calls, e.id))


@db.connected
def open_event_at(location_id: int) -> EventInfo | None:
    """The open event a location is in (its own call's, its transformer's or its feeder's): what to read back."""
    E = db.OutageEvent
    sub, feeder, transformer = _grid(location_id)
    for key in (f"feeder:{sub}/{feeder}", f"transformer:{sub}/{transformer}", f"location:/{location_id}"):
        e = E.get_or_none(E.open_key == key[:80])
        if e is not None:
            return _event_info(e)
    return None


@db.connected
def update(op: OperatorInfo, event_id: int, *, cause: str | None = None, crew_status: str | None = None,
           eta: dt.datetime | None = None) -> EventInfo:
    """The cause, the crew's status and the estimated restoration time (read back to callers)."""
    require(op, "outage.log")
    E = db.OutageEvent
    with db.write_txn():
        e = db.locked(E, event_id)
        if e is None:
            raise NotFound("No such outage event")
        if e.status != "open":
            raise ValidationError(f"Outage {event_id} is {e.status}: only an open outage is updated", "event")
        changes = {}
        if cause is not None:
            card_numbers.refuse(cause, "cause")
            changes["cause"] = cause.strip()[:80] or "Unknown"
        if crew_status is not None:
            if crew_status not in CREW_STATUSES:
                raise ValidationError(f"Crew: one of {', '.join(CREW_STATUSES)}", "crew_status")
            changes["crew_status"] = crew_status
        if eta is not None:
            if eta < e.started_at:
                raise ValidationError("The estimate is before the outage began", "eta")
            changes["eta"] = eta
        if changes:
            E.update(**changes).where(E.id == event_id).execute()
            audit.record(op, "outage.update", "outage_event", event_id, field=", ".join(changes),
                         after="; ".join(f"{k} {v}" for k, v in changes.items())[:200])
    return get_event(event_id)


@dataclass(frozen=True)
class Callback:
    call_id: int
    caller: str
    phone: str
    address: str


@db.connected
def restore(op: OperatorInfo, event_id: int, at: dt.datetime | None = None) -> list[Callback]:
    """Close the outage as restored; the callers who asked to be called back."""
    require(op, "outage.log")
    E = db.OutageEvent
    at = at or db.now()
    with db.write_txn():
        e = db.locked(E, event_id)
        if e is None:
            raise NotFound("No such outage event")
        if e.status != "open":
            raise ValidationError(f"Outage {event_id} is already {e.status}", "event")
        E.update(status="restored", restored_at=at, open_key=None).where(E.id == event_id).execute()
        audit.record(op, "outage.restore", "outage_event", event_id, after=f"restored {at:%m/%d %H:%M}")
    return callbacks(event_id)


@db.connected
def callbacks(event_id: int) -> list[Callback]:
    """The event's callers who asked for a callback and have not been called back yet."""
    C = db.OutageCall
    q = (C.select().where(C.event == event_id, C.wants_callback == True, C.called_back_at.is_null())  # noqa: E712
         .order_by(C.id))
    return [Callback(c.id, c.caller, c.callback_phone, f"{c.location.street}, {c.location.city}") for c in q]


@db.connected
def called_back(op: OperatorInfo, call_id: int) -> None:
    require(op, "outage.log")
    C = db.OutageCall
    with db.write_txn():
        if C.update(called_back_at=db.now()).where(C.id == call_id, C.called_back_at.is_null()).execute() != 1:
            raise ValidationError("That caller is already called back (or no such call)", "call")
        audit.record(op, "outage.callback", "outage_call", call_id)


@db.connected
def emergencies() -> list[CallInfo]:
    """Wire-down and fire calls not yet dispatched: shown at the top of every screen."""
    C = db.OutageCall
    return [_call_info(c) for c in C.select().where(C.emergency == True, C.dispatched_at.is_null())  # noqa: E712
            .order_by(C.id)]


@db.connected
def dispatched(op: OperatorInfo, call_id: int) -> None:
    """The emergency is handed to dispatch (the crew is on its way): its flag comes down."""
    require(op, "outage.log")
    C = db.OutageCall
    with db.write_txn():
        n = C.update(dispatched_at=db.now(), dispatched_by=op.id).where(
            C.id == call_id, C.emergency == True, C.dispatched_at.is_null()).execute()  # noqa: E712
        if n != 1:
            raise ValidationError("That call is not an emergency waiting for dispatch", "call")
        audit.record(op, "outage.dispatched", "outage_call", call_id)


@db.connected
def history(account_id: int, limit: int = 50) -> list[tuple[CallInfo, EventInfo | None]]:
    """The account's outage calls, newest first, each with its event."""
    C = db.OutageCall
    acct = db.Account.get_or_none(db.Account.id == account_id)
    if acct is None:
        raise NotFound("No such account")
    out = []
    for c in C.select().where((C.account == account_id) | (C.location == acct.location_id)).order_by(
            C.id.desc()).limit(limit):
        e = db.OutageEvent.get_or_none(db.OutageEvent.id == c.event_id)
        if e is not None and e.status == "merged" and e.merged_into_id:
            e = db.OutageEvent.get_or_none(db.OutageEvent.id == e.merged_into_id)
        out.append((_call_info(c), _event_info(e) if e else None))
    return out


@db.connected
def location_of_account(account_id: int) -> int:
    acct = db.Account.get_or_none(db.Account.id == account_id)
    if acct is None:
        raise NotFound("No such account")
    return acct.location_id


def eta_text(eta: dt.datetime | None) -> str:
    return f"{eta:%m/%d %I:%M %p}" if eta else "not yet"


@db.connected
def read_back(call: CallInfo) -> str:
    """What the MSR tells the caller once the call is logged: the outage, its cause and estimate."""
    e = get_event(call.event_id) if call.event_id else None
    head = "EMERGENCY flagged for dispatch. " if call.emergency else ""
    if e is None:
        return head + "Outage call logged."
    return (f"{head}Outage {e.id} ({e.device}): {e.calls} calls; cause {e.cause}; crew {e.crew_status}; "
            f"estimated restoration {eta_text(e.eta)}.")


@db.connected
def calls_since(operator_id: int, since: dt.datetime) -> list[CallInfo]:
    """The calls an operator logged since then, oldest first (training checks these)."""
    C = db.OutageCall
    return [_call_info(c) for c in C.select().where(C.operator == operator_id, C.at >= since).order_by(C.id)]
