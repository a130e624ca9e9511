"""A supervisor signs in on the spot, inside a guided form (a bad-debt override, an adjustment over
the limit): two fields, the name and the password, checked on Field Exit of the password before
the next key is handled, so keys typed ahead never pass a refused sign-in."""
from __future__ import annotations

from collections.abc import Callable

from kec_tui.services import passwords
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.entry_form import FieldSpec, Record
from kec_tui.widgets.validators import required

REFUSED = "Supervisor sign-in refused: check the name and password"


class SupervisorSignIn:
    """The sign-in fields of a form and who signed in (``who``, None until a sign-in passes).

    Args:
        permission: what the supervisor must be allowed to do (operators' permissions).
        may_not: the message for someone who signed in but may not (their OperatorInfo).
        refused: the message for a wrong name or password (never says which).
        clear: called with a field name to empty it: a refused password is keyed again whole.
    """

    USER, PASSWORD = "sup_user", "sup_password"

    def __init__(self, permission: str, may_not: Callable[[OperatorInfo], str], *, refused: str = REFUSED,
                 clear: Callable[[str], None] | None = None) -> None:
        self.permission = permission
        self.may_not = may_not
        self.refused = refused
        self.clear = clear
        self.who: OperatorInfo | None = None

    def fields(self) -> list[FieldSpec]:
        return [FieldSpec(self.USER, "Supervisor", "text", 32, validate=required("Supervisor")),
                FieldSpec(self.PASSWORD, "Supervisor password", "text", 40, validate=self.check)]

    def forget(self) -> None:
        self.who = None

    def check(self, value: str, record: Record) -> str | None:
        who = passwords.check_login(record[self.USER], value)
        self.who = None
        if (who is None or not who.can(self.permission)) and self.clear is not None:
            self.clear(self.PASSWORD)
        if who is None:
            return self.refused
        if not who.can(self.permission):
            return self.may_not(who)
        self.who = who
        return None
