"""The operator's own password, chosen at the first sign-in after an administrator set one.

Nothing else of the application is reachable until it is done (KecApp.check_action); Ctrl+Q
leaves. The rules are the service's (services/passwords.py: 12 characters or more, not a
common password); a refusal locks the form like any other, with the keys behind it held.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kec_tui.keymap import bind
from kec_tui.services import passwords
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.password_form import PasswordForm


class ChangePasswordScreen(Dialog[None]):
    HELP = ("An administrator set your password: choose your own before you go on. Key it, Enter, key it "
            "again, Enter. At least 12 characters; a phrase of several words is easy to remember and hard to "
            "guess. Common passwords are refused. {change_password.sign_out} signs out without changing it.")
    BINDINGS = [bind("change_password.sign_out", "sign_out", "Sign out")]
    DEFAULT_CSS = """
    ChangePasswordScreen { align: center middle; background: $background; }
    ChangePasswordScreen > Vertical { width: 72; height: auto; border: heavy $warning; background: $panel;
                                      padding: 1 2; }
    ChangePasswordScreen PasswordForm { height: auto; margin-top: 1; }
    """
    AUTO_FOCUS = "PasswordForm"

    def compose(self) -> ComposeResult:
        op = self.app.operator
        with Vertical():
            yield Static(f"{op.name} ({op.username}): your password was set by an administrator.\n"
                         "Choose your own now (12 characters or more, not a common one).")
            yield PasswordForm([
                FieldSpec("new_password", "New password", "text", 48, mandatory_entry=True, dup=False),
                FieldSpec("again_password", "Again", "text", 48, mandatory_entry=True, dup=False),
            ], on_submit=self.change)

    def action_sign_out(self) -> None:
        self.app.exit(message="Signed out; the password was not changed.")

    def change(self, record: Record) -> SubmitResult | None:
        form = self.query_one(PasswordForm)
        new, again = record["new_password"], record["again_password"]
        form.set_value("again_password", "")
        if new != again:
            form.set_value("new_password", "")
            return SubmitResult("new_password", "The two differ: key the new password again, twice")
        try:
            passwords.change_own(self.app.operator, new)
        except ServiceError as e:
            form.set_value("new_password", "")
            return SubmitResult("new_password", e.message)
        self.app.notify("Your password is changed.", title="Password")
        self.dismiss(None)
        return None
