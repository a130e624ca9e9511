"""SupervisorSignIn: a supervisor signs in on the spot (name and password) for something the
operator at the keyboard may not do alone (approve a billing run). Dismissed with the
supervisor (OperatorInfo), or None on Esc. A wrong name or password, or someone who is not
allowed, is refused at the field under the error lock: the keys typed after it are held."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui.services import passwords
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.validators import required

REFUSED = "Supervisor sign-in refused: check the name and password"


class SupervisorSignIn(FormDialog[OperatorInfo | None]):
    """A supervisor's name and password, checked before the dialog closes.

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
    SupervisorSignIn > Vertical { border: round $warning; }
    SupervisorSignIn #about { padding: 0 1; height: auto; }
    """

    def __init__(self, title: str, about: str, *, permission: str, what: str) -> None:
        super().__init__()
        self.title = title
        self.about = about
        self.permission = permission
        self.what = what

    def title_text(self) -> str:
        return self.title

    def compose_about(self) -> ComposeResult:
        yield Static(self.about, id="about")

    def make_form(self) -> StepForm:
        fields = [FieldSpec("user", "Supervisor", "text", 32, validate=required("Supervisor"), dup=False),
                  FieldSpec("password", "Password", "text", 40, validate=required("Password"), dup=False)]
        form = StepForm(fields, steps={"user": "", "password": ""}, secret=("password",), on_submit=self._check,
                        id="form")
        form.leaves_on_submit = True
        return form

    @property
    def form(self) -> StepForm:
        return self.query_one(StepForm)

    def _check(self, record: Record) -> SubmitResult | None:
        who = passwords.check_login(record["user"], record["password"])
        self.form.set_value("password", "")           # a refused password is keyed again whole
        if who is None:
            passwords.record_login(record["user"], False, f"supervisor sign-in: {self.title}")
            return SubmitResult("password", REFUSED)
        if not who.can(self.permission):
            return SubmitResult("user", f"Only a supervisor may {self.what}; {who.username} ({who.role}) may not")
        self.dismiss(who)
        return None
