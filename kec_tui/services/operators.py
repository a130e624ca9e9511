"""Who is keying, and what each role may do. Services call `require` before any change."""
from __future__ import annotations

import getpass
from dataclasses import dataclass

from kec_tui import db
from kec_tui.services import card_numbers
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError

# What each role may do. Supervisors and admins inherit everything below them.
PERMISSIONS: dict[str, set[str]] = {
    "msr": {"account.view", "contact.update", "note.add", "payment.key", "order.create", "payment.return",
            "payment.import", "membership.create", "account.move", "account.close", "order.dispatch",
            "order.complete", "order.cancel", "protection.record", "adjustment.make", "outage.log",
            "counter.take", "deposit.bill", "autopay.enroll"},
    "billing": {"account.view", "note.add", "billing.adjust", "reading.key", "payment.import",
                "billing.run", "adjustment.make", "capital_credits.run", "outage.log", "journal.view",
                "journal.close", "autopay.run"},
    "collections": {"account.view", "contact.update", "note.add", "payment.key", "collections.act",
                    "payment.return", "order.create", "order.cancel", "protection.record", "outage.log",
                    "deposit.bill", "bankruptcy.record", "agency.refer"},
}
# The member's online account (services/portal.py): enroll, resend, unlock, reset link, change e-mail.
for _role in ("msr", "collections"):
    PERMISSIONS[_role].add("portal.help")
for _role in ("msr", "collections"):        # payment arrangements, energy-assistance pledges
    PERMISSIONS[_role] |= {"arrangement.make", "assistance.record"}
PERMISSIONS["supervisor"] = set().union(*PERMISSIONS.values()) | {"batch.approve", "writeoff", "sensitive.view",
                                                                  "bad_debt.override", "audit.view",
                                                                  "billing.approve", "operator.unlock",
                                                                  "capital_credits.approve", "drawer.accept",
                                                                  "product.edit", "arrangement.approve"}
for _role in ("msr", "billing", "collections"):     # damage claims: open, cost lines, invoice, payments
    PERMISSIONS[_role].add("claims.handle")
PERMISSIONS["supervisor"] |= {"claims.handle", "claims.approve"}    # reductions, settlements, write-offs
PERMISSIONS["admin"] = PERMISSIONS["supervisor"] | {"operator.manage"}


@dataclass(frozen=True)
class OperatorInfo:
    id: int
    username: str
    name: str
    role: str

    def can(self, action: str) -> bool:
        return action in PERMISSIONS.get(self.role, set())


def _info(row: db.Operator) -> OperatorInfo:
    return OperatorInfo(row.id, row.username, row.name, row.role)


def require(op: OperatorInfo | None, action: str) -> None:
    if op is None:
        raise PermissionDenied("No operator is signed in")
    if not op.can(action):
        raise PermissionDenied(f"{op.username} ({op.role}) may not do {action}")


def create(username: str, name: str, role: str = "msr", os_user: str | None = None) -> OperatorInfo:
    username = username.strip().lower()
    if not username.isidentifier():
        raise ValidationError("Operator names are letters, digits and _", "username")
    if role not in db.ROLES:
        raise ValidationError(f"Role must be one of {', '.join(db.ROLES)}", "role")
    card_numbers.refuse(name, "name", "Operator name")
    row, _ = db.Operator.get_or_create(username=username, defaults={"name": name, "role": role, "os_user": os_user})
    return _info(row)


def by_username(username: str) -> OperatorInfo:
    row = db.Operator.get_or_none(db.Operator.username == username.strip().lower(), db.Operator.active == True)  # noqa: E712
    if row is None:
        raise NotFound(f"No active operator named {username!r}")
    return _info(row)


@db.connected
def is_active(username: str) -> bool:
    """An active operator has this name (the SSH server asks before it asks for a password)."""
    return db.Operator.select().where(db.Operator.username == username.strip().lower(),
                                      db.Operator.active == True).exists()  # noqa: E712


def has_password(operator_id: int) -> bool:
    """The operator has a password set (the idle lock asks for it; without one, for the name)."""
    return db.Operator.select().where(db.Operator.id == operator_id,
                                      db.Operator.password_hash.is_null(False),
                                      db.Operator.password_hash != "").exists()


def resolve(username: str | None = None) -> OperatorInfo:
    """The operator named on the command line, else the one mapped to the OS user."""
    if username:
        return by_username(username)
    os_user = getpass.getuser()
    row = (db.Operator.select().where((db.Operator.os_user == os_user) | (db.Operator.username == os_user.lower()),
                                      db.Operator.active == True)  # noqa: E712
           .order_by(db.Operator.id).first())
    if row is None:
        raise NotFound(f"The OS user {os_user!r} is not an operator here. "
                       f"Run: kec-tui operator add {os_user} --name 'Full Name' --role msr, or pass --operator NAME")
    return _info(row)
