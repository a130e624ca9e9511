"""A supervisor signs in on the spot: two fields, the name and the password, checked on Field Exit
of the password before the next key is handled, so keys typed ahead never pass a refused sign-in.
SupervisorSignIn puts them inside a guided form (a bad-debt override, an adjustment over the
limit); SupervisorDialog is a dialog of its own, dismissed with the supervisor (approve a billing
run). A refused sign-in is audited for a known name."""
from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui.services import passwords
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
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
            passwords.record_login(record[self.USER], False, f"supervisor sign-in ({self.permission})")
            return self.refused
        if not who.can(self.permission):
            return self.may_not(who)
        self.who = who
        return None


class SupervisorDialog(FormDialog[OperatorInfo | None]):
    """A supervisor's name and password in a dialog of its own, dismissed with the supervisor
    (None on Esc).

    Args:
        title: what the supervisor signs in for ("Approve the billing run").
        about: the numbers the supervisor approves.
        permission: what the one signing in must be allowed (operators.PERMISSIONS).
        what: the refused one's message ends "... may not <what>".
    """

    HELP = ("A supervisor keys their name, Enter, and their password (not shown), Enter: the dialog closes "
            "and what they sign in for is done under their name (audited). A wrong name or password is "
            "refused and the keys typed after it are held; {entry_form.clear_record} (Reset) clears the "
            "refusal, {entry_form.clear_record} again cancels.")
    DEFAULT_CSS = """
    SupervisorDialog > Vertical { border: round $warning; }
    SupervisorDialog #about { padding: 0 1; height: auto; }
    """

    def __init__(self, title: str, about: str, *, permission: str, what: str) -> None:
        super().__init__()
        self.title = title
        self.about = about
        self.sign_in = SupervisorSignIn(
            permission, lambda who: f"Only a supervisor may {what}; {who.username} ({who.role}) may not",
            clear=lambda name: self.form.set_value(name, ""))

    def title_text(self) -> str:
        return self.title

    def compose_about(self) -> ComposeResult:
        yield Static(self.about, id="about")

    def make_form(self) -> StepForm:
        fields = self.sign_in.fields()
        form = StepForm(fields, steps={f.name: "" for f in fields}, secret=(SupervisorSignIn.PASSWORD,),
                        on_submit=self._done, id="form")
        form.closes_on_submit = True
        return form

    @property
    def form(self) -> StepForm:
        return self.query_one(StepForm)

    def _done(self, record: Record) -> SubmitResult | None:
        if self.sign_in.who is None:             # not reached: the password field refuses first
            return SubmitResult(SupervisorSignIn.USER, REFUSED)
        self.dismiss(self.sign_in.who)
        return None
