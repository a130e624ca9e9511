"""Keystroke statistics per operator and day: keys, pastes, corrections and active time.

The application counts in memory (``kec_tui.keycounter.KeyCounter``: a few
additions per key, no database work) and adds what it counted to the KeyStats
table about once a minute and on exit (``add_counts``): one upsert per operator
and day, so several sessions of one operator add up. Supervisors read keys per
hour and the correction rate per operator and day (``report``); other roles
are refused here, in the service.

* keys: every key event the application received (a scanner's digits too);
  a paste counts once in ``pastes`` and its length in ``pasted_chars``.
* corrections: Backspace and Delete anywhere; Erase Input and Field Back
  (by their keys in the operator's keymap) when a heads-down entry form has
  the focus. Voided and changed payment lines come from the audit log.
* active time: the sum of the gaps between consecutive keys (or pastes) that
  are shorter than ``IDLE_GAP`` (60 s); a longer gap is a pause, not work.
  Keys per hour = keys / active hours.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

from peewee import EXCLUDED, JOIN

from kec_tui import db
from kec_tui.services.errors import PermissionDenied, ValidationError
from kec_tui.services.operators import OperatorInfo

VIEW_ROLES = ("supervisor", "admin")
LINE_CORRECTION_ACTIONS = ("batch_line.void", "batch_line.update")
MAX_DAYS = 366


@dataclass
class Counts:
    """What one operator keyed on one day, not yet in the table."""

    keys: int = 0
    pastes: int = 0
    pasted_chars: int = 0
    corrections: int = 0
    active_ms: int = 0

    def add(self, other: Counts) -> None:
        self.keys += other.keys
        self.pastes += other.pastes
        self.pasted_chars += other.pasted_chars
        self.corrections += other.corrections
        self.active_ms += other.active_ms

    def __bool__(self) -> bool:
        return bool(self.keys or self.pastes or self.active_ms)


def add_counts(operator_id: int, by_day: dict[dt.date, Counts], *, own_connection: bool = False) -> None:
    """Add counts to the operator's rows of those days (created when missing), in one transaction.
    ``own_connection``: called from a thread worker, which opens (and closes) its own connection."""
    K = db.KeyStats
    with db.database.connection_context() if own_connection else nullcontext(), db.database.atomic():
        for day, c in sorted(by_day.items()):
            (K.insert(operator=operator_id, day=day, keys=c.keys, pastes=c.pastes, pasted_chars=c.pasted_chars,
                      corrections=c.corrections, active_ms=c.active_ms, updated_at=db.now())
             .on_conflict(conflict_target=[K.operator, K.day],
                          update={K.keys: K.keys + EXCLUDED.keys, K.pastes: K.pastes + EXCLUDED.pastes,
                                  K.pasted_chars: K.pasted_chars + EXCLUDED.pasted_chars,
                                  K.corrections: K.corrections + EXCLUDED.corrections,
                                  K.active_ms: K.active_ms + EXCLUDED.active_ms,
                                  K.updated_at: EXCLUDED.updated_at})
             .execute())


# ---- the supervisors' report -------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyStatsRow:
    day: dt.date
    username: str
    name: str
    role: str
    keys: int
    pastes: int
    pasted_chars: int
    corrections: int
    active_ms: int
    line_corrections: int = 0     # payment lines voided or changed (audit log)

    @property
    def active_seconds(self) -> int:
        return self.active_ms // 1000

    @property
    def keys_per_hour(self) -> int | None:
        """Keys per active hour; None with under a minute of active time (no honest rate)."""
        if self.active_ms < 60_000:
            return None
        return round(self.keys * 3_600_000 / self.active_ms)

    @property
    def correction_rate(self) -> float | None:
        """Corrections per key (0.037 = 3.7%)."""
        return self.corrections / self.keys if self.keys else None


def can_view(op: OperatorInfo | None) -> bool:
    return op is not None and op.role in VIEW_ROLES


def require_view(op: OperatorInfo | None) -> None:
    if op is None:
        raise PermissionDenied("No operator is signed in")
    if not can_view(op):
        raise PermissionDenied(f"Keystroke statistics are for supervisors ({op.username} is {op.role})")


def report(op: OperatorInfo, days: int = 7, *, today: dt.date | None = None,
           operator: str = "") -> list[KeyStatsRow]:
    """The last `days` days (today included), newest day first, then by operator."""
    require_view(op)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"Days: 1 to {MAX_DAYS}", "days")
    today = today or dt.date.today()
    first = today - dt.timedelta(days=days - 1)
    K, O = db.KeyStats, db.Operator
    q = (K.select(K.day, O.username, O.name, O.role, K.keys, K.pastes, K.pasted_chars, K.corrections,
                  K.active_ms, K.operator)
         .join(O, JOIN.INNER, on=(K.operator == O.id))
         .where(K.day >= first, K.day <= today))
    if operator:
        q = q.where(O.username == operator.strip().lower())
    rows = list(q.tuples())
    lines = line_corrections(first, today, [r[-1] for r in rows])
    out = [KeyStatsRow(_as_date(day), user, name, role, keys, pastes, chars, corr, active,
                       lines.get((op_id, _as_date(day)), 0))
           for day, user, name, role, keys, pastes, chars, corr, active, op_id in rows]
    out.sort(key=lambda r: (-r.day.toordinal(), r.username))
    return out


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def line_corrections(first: dt.date, last: dt.date, operator_ids: Iterable[int]) -> dict[tuple[int, dt.date], int]:
    """Payment lines voided or changed, per (operator id, day): one change of several fields counts once."""
    ids = sorted(set(operator_ids))
    if not ids:
        return {}
    A = db.AuditLog
    q = (A.select(A.operator, A.at, A.entity_id)
         .where(A.action.in_(LINE_CORRECTION_ACTIONS), A.operator.in_(ids),
                A.at >= dt.datetime.combine(first, dt.time.min),
                A.at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
         .tuples())
    seen: set[tuple] = set()
    out: dict[tuple[int, dt.date], int] = {}
    for op_id, at, entity_id in q:
        at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        mark = (op_id, at.replace(microsecond=0), entity_id)
        if mark in seen:
            continue
        seen.add(mark)
        out[(op_id, at.date())] = out.get((op_id, at.date()), 0) + 1
    return out


def totals(rows: list[KeyStatsRow]) -> list[KeyStatsRow]:
    """Each operator's sum over the rows (day = their last day), by operator."""
    by: dict[str, list[KeyStatsRow]] = {}
    for r in rows:
        by.setdefault(r.username, []).append(r)
    out = []
    for username, rs in sorted(by.items()):
        def s(attr: str, rs=rs) -> int:
            return sum(getattr(r, attr) for r in rs)
        out.append(KeyStatsRow(max(r.day for r in rs), username, rs[0].name, rs[0].role, s("keys"), s("pastes"),
                               s("pasted_chars"), s("corrections"), s("active_ms"), s("line_corrections")))
    return out


# ---- text ----------------------------------------------------------------------------------------------

def hours_minutes(ms: int) -> str:
    minutes = ms // 60_000
    return f"{minutes // 60}:{minutes % 60:02d}"


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def kph_text(kph: int | None) -> str:
    return "-" if kph is None else f"{kph:,}"


COLUMNS = ("Day", "Operator", "Name", "Keys", "Active", "Keys/h", "Corr.", "Corr. %", "Lines void/chg")


def cells(r: KeyStatsRow, day: str | None = None) -> tuple[str, ...]:
    return (day if day is not None else f"{r.day:%Y-%m-%d}", r.username, r.name[:22], f"{r.keys:,}",
            hours_minutes(r.active_ms), kph_text(r.keys_per_hour), f"{r.corrections:,}",
            rate_text(r.correction_rate), f"{r.line_corrections:,}")


def table_text(rows: list[KeyStatsRow], days: int) -> str:
    """The plain table of `kec-tui report keystats`."""
    if not rows:
        return f"No keystrokes recorded in the last {days} day{'s' * (days != 1)}."
    body = [cells(r) for r in rows]
    sums = [cells(t, day=f"{days} day{'s' * (days != 1)}") for t in totals(rows)] if days > 1 else []
    widths = [max(len(c) for c in col) for col in zip(COLUMNS, *body, *sums)]
    right = {3, 4, 5, 6, 7, 8}

    def line(row) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    if sums:
        out += [line(["-" * w for w in widths])] + [line(r) for r in sums]
    out.append("Active = time between keys less than a minute apart; Keys/h = keys per active hour; "
               "Corr. = Backspace, Delete, Erase Input, Field Back.")
    return "\n".join(out)
