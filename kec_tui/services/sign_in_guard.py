"""Password sign-ins counted across every connection and server process, in the database.

What one try goes through (SSH and web alike):

1. `reserve`: an address that failed against several operators lately is banned for a while;
   a locked operator is refused. Otherwise the try gets the operator's next free slot: tries
   are spaced at least `MIN_SPACING` apart, and after `free_failures` failures in the window
   each further slot waits twice as long as the one before. Twenty connections guessing at once
   queue up one behind the other instead of guessing in parallel; a try whose slot is further
   away than `max_delay` is refused without looking at the password.
2. The caller waits for the slot (asyncio.sleep over SSH), then `evaluate` checks the password,
   unless a lock or ban came meanwhile, and records the try. `lock_failures` failures in the
   window lock the operator until a supervisor unlocks them or the window passes.

A refusal by a lock or a ban reads exactly like a wrong password. Every refusal of a known
operator, every lock and unlock is audited; unknown names are only logged.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from peewee import fn

from kec_tui import config, db
from kec_tui.services import audit, passwords
from kec_tui.services.errors import NotFound, PermissionDenied
from kec_tui.services.operators import OperatorInfo

log = logging.getLogger("kec_tui.auth")

MIN_SPACING = dt.timedelta(seconds=1)   # one evaluated password per operator per second at most


def _now() -> dt.datetime:
    return dt.datetime.now()     # to the microsecond (db.now() drops them): slots are a second apart


@dataclass(frozen=True)
class GuardSettings:
    window: dt.timedelta = dt.timedelta(minutes=10)
    free_failures: int = 3
    max_delay: dt.timedelta = dt.timedelta(seconds=30)
    lock_failures: int = 10
    address_operators: int = 3
    ban: dt.timedelta = dt.timedelta(minutes=10)


def settings_from(s: config.Settings) -> GuardSettings:
    return GuardSettings(window=dt.timedelta(minutes=s.signin_window_minutes), free_failures=s.signin_free_failures,
                         max_delay=dt.timedelta(seconds=s.signin_max_delay_seconds),
                         lock_failures=s.signin_lock_failures, address_operators=s.signin_address_operators,
                         ban=dt.timedelta(minutes=s.signin_ban_minutes))


_settings = GuardSettings()


def configure(s: config.Settings) -> GuardSettings:
    global _settings
    _settings = settings_from(s)
    return _settings


@dataclass(frozen=True)
class Ticket:
    """The answer to `reserve`: refused now, or wait this long, then `evaluate`."""
    refused: bool
    wait_s: float = 0.0
    why: str = ""          # for the log only: the client hears "wrong name or password" either way


def _backoff(failures: int, g: GuardSettings) -> dt.timedelta:
    extra = failures - g.free_failures
    if extra < 0:
        return MIN_SPACING
    return max(MIN_SPACING, min(g.max_delay, dt.timedelta(seconds=2 ** min(extra, 20))))


def _operator(username: str) -> db.Operator | None:
    return db.Operator.get_or_none(db.Operator.username == username, db.Operator.active == True)  # noqa: E712


def _failures(row: db.Operator, now: dt.datetime, g: GuardSettings) -> int:
    """Failures of this operator in the window since their last sign-in or unlock."""
    A = db.SignInAttempt
    since = now - g.window
    last_ok = (A.select(fn.MAX(A.at)).where(A.username == row.username, A.ok == True).scalar())  # noqa: E712
    for mark in (last_ok, row.unlocked_at):
        if mark is not None and mark > since:
            since = mark
    return A.select().where(A.username == row.username, A.evaluated == True, A.ok == False,  # noqa: E712
                            A.at > since).count()


def banned_until(address: str, now: dt.datetime | None = None, g: GuardSettings | None = None) -> dt.datetime | None:
    """When the ban on `address` ends, if it is banned: failures against `address_operators`
    different names within one window, the ban running from the last of them."""
    g = g or _settings
    now = now or _now()
    A = db.SignInAttempt
    # Checked failures only: tries refused during a ban do not make it longer.
    recent = (A.select(A.at, A.username)
              .where(A.address == address, A.ok == False, A.evaluated == True,  # noqa: E712
                     A.at > now - g.window - g.ban)
              .order_by(A.at.desc()).limit(1000))
    rows = list(reversed(list(recent.tuples())))
    # Slide a window over the failures: the ban starts where one window holds enough names.
    for i in range(len(rows)):
        names = {u for at, u in rows[i:] if at <= rows[i][0] + g.window}
        if len(names) >= g.address_operators:
            last = max(at for at, u in rows[i:] if at <= rows[i][0] + g.window)
            end = last + g.ban
            if end > now:
                return end
    return None


def locked(row: db.Operator, now: dt.datetime, g: GuardSettings) -> bool:
    return row.locked_at is not None and now < row.locked_at + g.window


def _refuse(username: str, address: str, how: str, why: str, row: db.Operator | None) -> Ticket:
    db.SignInAttempt.create(at=_now(), username=username[:64], address=address[:64], ok=False, evaluated=False)
    if row is not None:
        audit.record(OperatorInfo(row.id, row.username, row.name, row.role), "login.refused", "operator", row.id,
                     field=why, after=how[:200])
    log.warning("sign-in of %r from %s refused: %s", username, address, why)
    return Ticket(True, why=why)


def _barred(username: str, address: str, how: str, now: dt.datetime,
            g: GuardSettings) -> tuple[Ticket | None, db.Operator | None]:
    """(the refusal of a try from a banned address or at a locked operator, or None; the active
    operator's row, locked for this transaction so that its concurrent tries queue here)."""
    row = _operator(username)
    if banned_until(address, now, g):
        return _refuse(username, address, how, "address banned", row), row
    if row is None:
        return None, None
    row = db.locked(db.Operator, row.id)
    if locked(row, now, g):
        return _refuse(username, address, how, "operator locked", row), row
    return None, row


@db.connected
def reserve(username: str, address: str, how: str) -> Ticket:
    """Whether a password try may be checked, and when (see the module's doc)."""
    g = _settings
    username = (username or "").strip().lower()[:64]
    with db.write_txn():
        now = _now()
        refused, row = _barred(username, address, how, now, g)
        if refused:
            return refused
        if row is None:
            return Ticket(False, MIN_SPACING.total_seconds())   # as slow as a wrong password, nothing to queue on
        slot = max(now, row.next_try_at or now)
        if slot - now > g.max_delay:
            return _refuse(username, address, how, "too many tries waiting", row)
        step = _backoff(_failures(row, now, g), g)
        db.Operator.update(next_try_at=slot + step).where(db.Operator.id == row.id).execute()
    return Ticket(False, (slot - now).total_seconds())


@db.connected
def evaluate(username: str, password: str, address: str, how: str) -> OperatorInfo | None:
    """Check the password of a reserved try (its wait is over) and record it: the operator, or None.

    The try is written as a failure before the password is checked, in the transaction that
    checks the lock, and turned into a success after: tries checked at the same moment count
    each other, so no more than `lock_failures` are ever checked before the lock."""
    g = _settings
    username = (username or "").strip().lower()[:64]
    with db.write_txn():
        now = _now()
        refused, row = _barred(username, address, how, now, g)
        if refused:
            return None
        if row is not None:
            if _failures(row, now, g) >= g.lock_failures:
                _lock(row, now, address, g)
                _refuse(username, address, how, "operator locked", row)
                return None
        attempt = db.SignInAttempt.create(at=now, username=username, address=address[:64], ok=False)
    op = passwords.check_login(username, password)     # ~40 ms of scrypt: outside the transaction
    with db.write_txn():
        if op is not None:
            db.SignInAttempt.update(ok=True).where(db.SignInAttempt.id == attempt.id).execute()
            db.Operator.update(next_try_at=None).where(db.Operator.id == op.id).execute()
        passwords.record_login(username, op is not None, how)
        if op is None and row is not None:
            row = db.locked(db.Operator, row.id)
            now = _now()
            if not locked(row, now, g) and _failures(row, now, g) >= g.lock_failures:
                _lock(row, now, address, g)
    return op


def _lock(row: db.Operator, now: dt.datetime, address: str, g: GuardSettings) -> None:
    db.Operator.update(locked_at=now).where(db.Operator.id == row.id).execute()
    row.locked_at = now
    minutes = int(g.window.total_seconds() // 60)
    audit.record(None, "operator.locked", "operator", row.id,
                 after=f"{g.lock_failures} wrong/{minutes} min from {address}")
    log.warning("operator %r locked after %d wrong passwords", row.username, g.lock_failures)


def sign_in(username: str, password: str, address: str, how: str) -> OperatorInfo | None:
    """Reserve, wait, evaluate, in one blocking call (the web sign-in: one member of staff per process)."""
    ticket = reserve(username, address, how)
    if ticket.refused:
        return None
    time.sleep(ticket.wait_s)
    return evaluate(username, password, address, how)


@db.connected
def unlock(by: OperatorInfo | None, username: str) -> OperatorInfo:
    """Lift a lock (and forget the failures before it). Supervisors only; `by` None is the
    server's own administrator at its shell (`kec-tui operator unlock` run by root)."""
    if by is not None and not by.can("operator.unlock"):
        raise PermissionDenied("Only a supervisor may unlock an operator")
    name = (username or "").strip().lower()
    with db.write_txn():
        row = db.Operator.get_or_none(db.Operator.username == name)
        if row is None:
            raise NotFound(f"No operator named {username!r}")
        was = row.locked_at
        now = _now()
        db.Operator.update(locked_at=None, unlocked_at=now, next_try_at=None).where(
            db.Operator.id == row.id).execute()
        audit.record(by, "operator.unlocked", "operator", row.id,
                     before=f"locked {was:%Y-%m-%d %H:%M}" if was else "not locked", after="unlocked")
    return OperatorInfo(row.id, row.username, row.name, row.role)


@dataclass(frozen=True)
class GuardEvent:
    at: dt.datetime
    action: str        # login.refused, operator.locked, operator.unlocked
    operator: str
    detail: str


@dataclass(frozen=True)
class LockedOperator:
    username: str
    name: str
    locked_at: dt.datetime
    until: dt.datetime


@db.connected
def locked_operators(now: dt.datetime | None = None) -> list[LockedOperator]:
    g, now = _settings, now or _now()
    O = db.Operator
    rows = O.select().where(O.locked_at.is_null(False), O.locked_at > now - g.window).order_by(O.locked_at.desc())
    return [LockedOperator(o.username, o.name, o.locked_at, o.locked_at + g.window) for o in rows]


@db.connected
def recent_events(limit: int = 100) -> list[GuardEvent]:
    """The latest refusals, locks and unlocks, newest first (a supervisor's screen)."""
    A = db.AuditLog
    q = (A.select(A.at, A.action, A.field, A.after, A.before, db.Operator.username)
         .join(db.Operator, on=(A.entity_id == db.Operator.id))
         .where(A.entity == "operator", A.action.in_(["login.refused", "operator.locked", "operator.unlocked"]))
         .order_by(A.id.desc()).limit(limit).tuples())
    out = []
    for at, action, field, after, before, username in q:
        detail = " ".join(x for x in (field, after if action != "operator.unlocked" else before) if x)
        out.append(GuardEvent(at, action, username, detail))
    return out


@db.connected
def guesses_evaluated(username: str, since: dt.datetime) -> int:
    """Passwords of `username` actually checked since `since` (for tests and the bench)."""
    A = db.SignInAttempt
    return A.select().where(A.username == username, A.evaluated == True, A.at >= since).count()  # noqa: E712
