"""The member's online account (the co-op's portal) as the MSR sees it, from the account (Ctrl+U):
enrolled or not, user name, sign-in e-mail, last sign-in, locked, paperless, autopay (masked), text alerts,
the messages sent or waiting; enroll, resend the invitation, unlock, send a reset link, change the e-mail
(after identity questions, on a keyed form). The work is services/portal.py."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.services import portal
from kec_tui.services.accounts import format_phone
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import AskScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date, parse_money
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm

KIND_LABEL = {"invitation": "Invitation", "reset_link": "Reset link", "unlocked": "Unlocked",
              "email_changed": "E-mail changed"}


def _when(at: dt.datetime | None) -> str:
    return f"{at:%m/%d/%Y %H:%M}" if at else "-"


def status_text(v: portal.PortalView) -> Text:
    t = Text()

    def row(label: str, value: str, style: str = "") -> None:
        t.append(f"{label:<16}", style="dim")
        t.append(value + "\n", style=style)

    state = {"not enrolled": "Not enrolled", "invited": "Invited (not signed up yet)", "active": "Enrolled"}
    row("Online account", state.get(v.status, v.status), "bold" if v.status == "active" else "yellow")
    row("User name", v.username or "-")
    row("Sign-in e-mail", v.email or "-")
    row("Invited", _when(v.invited_at))
    row("Last sign-in", _when(v.last_sign_in_at))
    row("Locked", f"LOCKED since {_when(v.locked_at)}" if v.locked else "No", "bold red" if v.locked else "")
    row("Paperless bill", "Yes" if v.paperless else "No")
    row("Autopay", f"Yes, bank {v.bank_masked}" if v.autopay else "No")
    row("Text alerts", f"Yes, to {format_phone(v.text_phone)}" if v.text_alerts and v.text_phone
        else ("Yes" if v.text_alerts else "No"))
    t.append(f"{'Contacts e-mail':<16}", style="dim")
    t.append(v.contact_email or "-")
    return t


class PortalScreen(Screen):
    """The member's online account: status, and help with sign-up, sign-in and the e-mail."""

    HELP = ("The member's online account as the co-op records it (the portal reports sign-ins and locks). "
            "{portal.enroll} enrolls: an invitation goes to the contacts' e-mail and the member chooses a user "
            "name and password from its link. {portal.resend} sends the invitation again. {portal.unlock} unlocks "
            "after too many wrong passwords (verify who is calling first). {portal.reset} sends a password-reset "
            "link to the sign-in e-mail on file: never say, set or ask for a password. {portal.email} changes the "
            "sign-in e-mail after identity questions (which ones were answered is recorded). Each asks Y/N "
            "first; every action is in the account's history and its message in the list below (waiting until "
            "the portal connection sends it). {portal.back} goes back to the account.")
    BINDINGS = [
        bind("portal.back", "back", "Back"),
        bind("portal.enroll", "enroll", "Enroll"),
        bind("portal.resend", "resend", "Resend"),
        bind("portal.unlock", "unlock", "Unlock"),
        bind("portal.reset", "reset", "Reset link"),
        bind("portal.email", "email", "E-mail"),
    ]
    DEFAULT_CSS = """
    PortalScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    PortalScreen #status { height: auto; padding: 0 1; }
    PortalScreen #said { height: auto; padding: 0 1; }
    PortalScreen #said.-error { color: $error; }
    PortalScreen DataTable { height: 1fr; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view: portal.PortalView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="status")
        yield Static("", id="said")
        yield DataTable(id="outbox", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#outbox", DataTable)
        t.add_columns("Queued", "Message", "To", "Sent")
        self.load()
        t.focus()

    def load(self) -> None:
        try:
            v = self.view = portal.view(self.account_id)
        except ServiceError as e:
            self.notify(e.message, severity="error")
            self.app.leave(self)
            return
        self.query_one("#title", Static).update(Text(f"Online account  {v.account_number}  {v.name}"))
        self.query_one("#status", Static).update(status_text(v))
        t = self.query_one("#outbox", DataTable)
        t.clear()
        for m in v.outbox:
            t.add_row(f"{m.created_at:%m/%d %H:%M}", KIND_LABEL.get(m.kind, m.kind), m.to_address,
                      f"{m.sent_at:%m/%d %H:%M}" if m.sent_at else ("waiting" + (f": {m.error}" if m.error else "")))

    def say(self, text: str, error: bool = False) -> None:
        said = self.query_one("#said", Static)
        said.update(Text(text))
        said.set_class(error, "-error")

    def _ask(self, question: str, do) -> None:
        """Y does it, N (or Esc) does not; a refusal is said on the screen, nothing written."""
        def answered(yes: bool | None) -> None:
            if not yes:
                self.say("Nothing sent")
                return
            try:
                message = do()
            except ServiceError as e:
                self.say(e.message, error=True)
                self.app.bell()
                return
            self.load()
            self.say(message)
        self.app.push_screen(AskScreen(question), answered)

    def action_enroll(self) -> None:
        v = self.view
        if v is None:
            return
        if v.enrolled:
            self.say("Already enrolled: resend the invitation, or send a reset link", error=True)
            return
        if not v.contact_email:
            self.say("No e-mail on file: add one in the contacts (F6 on the account), then enroll", error=True)
            return
        op = self.app.operator
        self._ask(f"Invite {v.contact_email} to the online account?",
                  lambda: (portal.enroll(op, self.account_id), f"Invitation to {v.contact_email} queued")[1])

    def action_resend(self) -> None:
        v = self.view
        if v is None:
            return
        op = self.app.operator
        self._ask(f"Send the invitation again to {v.email or 'the sign-in e-mail'}?",
                  lambda: (portal.resend_invitation(op, self.account_id), "Invitation queued again")[1])

    def action_unlock(self) -> None:
        op = self.app.operator
        self._ask("Identity verified? Unlock the online account?",
                  lambda: (portal.unlock(op, self.account_id, self._connector()), "Unlocked; the member is told")[1])

    def action_reset(self) -> None:
        v = self.view
        if v is None:
            return
        op = self.app.operator
        self._ask(f"Send a password-reset link to {v.email or 'the sign-in e-mail'}?",
                  lambda: (portal.send_reset_link(op, self.account_id), f"Reset link to {v.email} queued")[1])

    def _connector(self):
        try:
            return portal.connector_from_settings(self.app.settings)
        except ServiceError as e:
            self.notify(e.message, severity="warning")
            return None

    def action_email(self) -> None:
        v = self.view
        if v is None:
            return
        if not v.enrolled:
            self.say("Not enrolled: enroll first (the invitation goes to the contacts' e-mail)", error=True)
            return

        def changed(view: portal.PortalView | None) -> None:
            if view is not None:
                self.load()
                self.say(f"Sign-in e-mail changed to {view.email}; the old and the new address are told")
        self.app.open("portal_email", self.account_id, callback=changed)

    def action_back(self) -> None:
        self.app.leave(self)


QUESTION_FIELDS = {
    "tax4": FieldSpec("tax4", "Last 4 of tax ID", "digits", 4),
    "birth": FieldSpec("birth", "Date of birth", "date", 10),
    "phone": FieldSpec("phone", "Phone on file", "text", 14),
    "last_payment": FieldSpec("last_payment", "Last payment", "money", 10),
    "zip": FieldSpec("zip", "Service ZIP", "digits", 5),
}


class PortalEmailScreen(FormDialog[portal.PortalView | None]):
    """Change the online account's sign-in e-mail, after identity questions."""

    HELP = ("Ask the caller the identity questions, key each answer (Enter on a blank one: not asked); a "
            "wrong answer is refused at once, recorded (which question, never the answer), and the keys typed "
            "after it are held. After {n} right answers key the new sign-in e-mail; Enter changes it and tells "
            "the old and the new address. {entry_form.clear_record} leaves without a change.")
    DEFAULT_CSS = """
    PortalEmailScreen #who { padding: 0 1; height: auto; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = portal.view(account_id)
        self.HELP = self.HELP.replace("{n}", str(portal.questions_needed()))

    def title_text(self) -> str:
        return f"Change the sign-in e-mail of {self.view.account_number}"

    def compose_about(self) -> ComposeResult:
        yield Static(Text(f"{self.view.name}   now: {self.view.email or '-'}\nAsk {portal.questions_needed()} "
                          f"identity questions first; blank = not asked"), id="who")

    def make_form(self) -> StepForm:
        questions = [FieldSpec(f.name, f.label, f.kind, f.width, validate=self._answer(f.name), dup=False)
                     for f in QUESTION_FIELDS.values()]
        fields = [*questions, FieldSpec("email", "New e-mail", "text", 60, mandatory_entry=True,
                                        validate=self._email, dup=False)]
        steps = {f.name: "Identity questions" for f in questions} | {"email": "New sign-in e-mail"}
        return StepForm(fields, steps=steps, on_submit=self.change, id="form")

    def _answer(self, question: str):
        spec = QUESTION_FIELDS[question]

        def check(value: str, record: Record) -> str | None:
            if not value.strip():
                return None                       # not asked
            try:
                if spec.kind == "date":
                    parse_date(value)
                elif spec.kind == "money":
                    parse_money(value)
            except ValueError:
                return f"{spec.label}: not a {spec.kind}"
            if not portal.check_answer(self.account_id, question, value, self.app.operator):
                return f"{spec.label}: does not match the record (recorded); the e-mail is not changed"
            return None
        return check

    @staticmethod
    def _answered(record: Record) -> int:
        return sum(1 for name in QUESTION_FIELDS if record.get(name, "").strip())

    def _email(self, value: str, record: Record) -> str | None:
        need = portal.questions_needed()
        if self._answered(record) < need:
            return f"Ask {need} identity questions first ({self._answered(record)} answered): Up goes back"
        return None

    def change(self, record: Record) -> SubmitResult | None:
        answers = {name: record.get(name, "") for name in QUESTION_FIELDS}
        try:
            done = portal.change_email(self.app.operator, self.account_id, record["email"], answers,
                                       shown=self.view.email)
        except ServiceError as e:
            return SubmitResult(e.field if e.field in QUESTION_FIELDS or e.field == "email" else None, e.message)
        self.dismiss(done)
        return None
