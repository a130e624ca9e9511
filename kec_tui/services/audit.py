"""The audit log: who, when, what, before, after. Written inside the caller's transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from kec_tui import db
from kec_tui.services.operators import OperatorInfo, require


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    operator: str
    action: str
    field: str
    before: str
    after: str


def record(op: OperatorInfo | None, action: str, entity: str, entity_id: int | None, *,
           account_id: int | None = None, field: str = "", before: str = "", after: str = "") -> None:
    db.AuditLog.create(operator=op.id if op else None, action=action, entity=entity, entity_id=entity_id,
                       account=account_id, field=field, before=before, after=after)


def for_account(account_id: int, limit: int = 50, offset: int = 0) -> list[AuditRow]:
    A = db.AuditLog
    q = (A.select(A.at, db.Operator.username, A.action, A.field, A.before, A.after)
         .join(db.Operator, JOIN.LEFT_OUTER)
         .where(A.account == account_id)
         .order_by(A.id.desc()).limit(limit).offset(offset).tuples())
    return [AuditRow(at, user or "system", action, field, before, after)
            for at, user, action, field, before, after in q]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    operator: str
    action: str
    entity: str
    entity_id: int | None
    account_number: int | None
    field: str
    before: str
    after: str


def search(op: OperatorInfo, *, operator: str = "", account_number: int | None = None,
           date_from: dt.date | None = None, date_to: dt.date | None = None, action: str = "",
           limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """The audit log, newest first, filtered; a page of `limit` below `before_id`."""
    require(op, "audit.view")
    A = db.AuditLog
    q = (A.select(A.id, A.at, db.Operator.username, A.action, A.entity, A.entity_id, db.Account.number,
                  A.field, A.before, A.after)
         .join(db.Operator, JOIN.LEFT_OUTER).switch(A).join(db.Account, JOIN.LEFT_OUTER))
    where = []
    if operator:
        where.append(db.Operator.username == operator.strip().lower())
    if account_number is not None:
        where.append(db.Account.number == account_number)
    if date_from:
        where.append(A.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to:
        where.append(A.at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    if action:
        where.append(A.action.startswith(action.strip().lower()))
    if before_id is not None:
        where.append(A.id < before_id)
    if where:
        q = q.where(*where)
    return [AuditEntry(*r) for r in q.order_by(A.id.desc()).limit(limit).tuples()]
