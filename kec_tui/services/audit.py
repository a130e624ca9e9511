"""The audit log: who, when, what, before, after. Written inside the caller's transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from kec_tui import db
from kec_tui.services.operators import OperatorInfo


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
