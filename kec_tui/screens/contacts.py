"""F6 on an account: update the member's phones, e-mail, mailing address, preferred contact
and authorized persons. Every change is written to the audit log with the operator."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from kec_tui.keymap import bind, keys_text
from kec_tui.services import contacts
from kec_tui.services.accounts import AccountView, format_phone
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import Dialog
from kec_tui.widgets.entry_form import EditForm, FieldSpec, Record, SubmitResult


def _check(field: str):
    def validate(value: str, record: Record) -> str | None:
        try:
            contacts.clean(field, value)
        except ServiceError as e:
            return e.message
        return None
    return validate


CONTACT_FIELDS = (
    FieldSpec("phone_home", "Home phone", "text", 14, validate=_check("phone_home")),
    FieldSpec("phone_mobile", "Mobile phone", "text", 14, validate=_check("phone_mobile")),
    FieldSpec("phone_work", "Work phone", "text", 14, validate=_check("phone_work")),
    FieldSpec("email", "E-mail", "text", 60, validate=_check("email")),
    FieldSpec("mail_street", "Mailing street", "text", 50, mandatory_entry=True, validate=_check("mail_street")),
    FieldSpec("mail_city", "City", "text", 30, mandatory_entry=True, validate=_check("mail_city")),
    FieldSpec("mail_state", "State", "text", 2, mandatory_entry=True, validate=_check("mail_state")),
    FieldSpec("mail_zip", "ZIP", "text", 10, mandatory_entry=True, validate=_check("mail_zip")),
    FieldSpec("preferred_contact", "Preferred contact", "choice", 6, choices=contacts.PREFERRED),
)
AUTH_FIELDS = (
    FieldSpec("name", "Name", "text", 40, mandatory_entry=True),
    FieldSpec("relation", "Relation", "text", 20),
    FieldSpec("phone", "Phone", "text", 14, validate=_check("phone_home")),
)


class ContactScreen(Dialog[bool]):
    """Update contact details."""

    AUTO_FOCUS = "EditForm"   # focused as the screen activates, so keys typed right behind F6 land in it

    HELP = ("The fields hold what is on file. Type over a field ({entry_form.erase_input} erases it), Enter or "
            "Tab moves on, "
            "Up goes back. Enter on the last field or {contacts.save} saves: each changed field is checked, "
            "written and "
            "logged with your name; a bad value puts the cursor back on it with the reason. "
            "{contacts.add_person} adds an "
            "authorized person, {contacts.remove_person} removes one. {contacts.cancel} leaves without saving.")
    BINDINGS = [
        bind("contacts.save", "save", "Save"),
        bind("contacts.add_person", "add_person", "Add person"),
        bind("contacts.remove_person", "remove_person", "Remove person"),
        bind("contacts.cancel", "cancel", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    ContactScreen { align: center middle; }
    ContactScreen > Vertical { width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $panel; }
    ContactScreen #who { padding: 0 1; text-style: bold; }
    ContactScreen #people { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, view: AccountView) -> None:
        super().__init__()
        self.view = view
        c = view.contact
        self.original = {f: getattr(c, f) for f in contacts.CONTACT_FIELDS}
        self.authorized = list(c.authorized)
        self.saved = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Contacts of {self.view.name}  (account {self.view.number})"), id="who")
            yield EditForm(CONTACT_FIELDS, on_submit=self.save_record, id="form")
            yield Static(self.people_text(), id="people")
        yield Footer()

    def on_mount(self) -> None:
        form = self.query_one(EditForm)
        for name, value in self.original.items():
            form.set_value(name, format_phone(value) if name.startswith("phone") else value)
        form.focus_field("phone_home")
        form.focus()

    def people_text(self) -> Text:
        if not self.authorized:
            return Text(f"Authorized persons: none ({keys_text('contacts.add_person')} adds)")
        return Text("Authorized: " + "; ".join(f"{n} ({r}) {format_phone(p)}".replace(" ()", "")
                                               for _, n, r, p in self.authorized))

    def save_record(self, record: Record) -> SubmitResult | None:
        try:
            changed = contacts.update_contacts(self.app.operator, self.view.member_id, record,
                                               original=self.original, account_id=self.view.id)
        except ServiceError as e:
            return SubmitResult(e.field, e.message)
        labels = ", ".join(contacts.LABELS[f] for f in changed) or "nothing changed"
        self.app.notify(f"Saved: {labels}" if changed else "No changes to save")
        self.saved = self.saved or bool(changed)
        self.dismiss(self.saved)
        return None

    def action_save(self) -> None:
        self.query_one(EditForm).submit()

    def action_cancel(self) -> None:
        self.dismiss(self.saved)

    def action_add_person(self) -> None:
        def added(person: tuple | None) -> None:
            if person:
                self.authorized.append(person)
                self.saved = True
                self.query_one("#people", Static).update(self.people_text())
        self.app.push_screen(AddPersonScreen(self.view), added)

    def action_remove_person(self) -> None:
        if not self.authorized:
            self.app.notify("No authorized persons to remove", severity="warning")
            return

        def removed(person_id: int | None) -> None:
            if person_id is None:
                return
            try:
                contacts.remove_authorized(self.app.operator, person_id, account_id=self.view.id)
            except ServiceError as e:
                self.app.notify(e.message, severity="error")
                return
            self.authorized = [p for p in self.authorized if p[0] != person_id]
            self.saved = True
            self.query_one("#people", Static).update(self.people_text())
        self.app.push_screen(RemovePersonScreen(self.authorized), removed)


class AddPersonScreen(Dialog[tuple | None]):
    """Add an authorized person."""

    HELP = ("Name is required; relation and phone are optional. Enter on the last field adds; "
            "{entry_form.clear_record} cancels.")
    DEFAULT_CSS = """
    AddPersonScreen { align: center middle; }
    AddPersonScreen > Vertical { width: 64; height: auto; border: round $primary; background: $panel; }
    """

    def __init__(self, view: AccountView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Add an authorized person", classes="title")
            yield EditForm(AUTH_FIELDS, on_submit=self.add)

    def on_mount(self) -> None:
        self.query_one(EditForm).focus()

    def add(self, record: Record) -> SubmitResult | None:
        try:
            pid = contacts.add_authorized(self.app.operator, self.view.member_id, record["name"],
                                          record["relation"], record["phone"], account_id=self.view.id)
        except ServiceError as e:
            return SubmitResult(e.field if e.field in ("name", "relation") else "phone", e.message)
        self.dismiss((pid, record["name"].strip(), record["relation"].strip(),
                      contacts.normalize_phone(record["phone"])))
        return None

    def action_cancel(self) -> None:
        self.dismiss(None)


class RemovePersonScreen(Dialog[int | None]):
    """Remove an authorized person."""

    HELP = "Up/Down picks the person, Enter removes them (logged), {contacts.cancel} cancels."
    BINDINGS = [bind("contacts.cancel", "cancel", "Cancel")]
    DEFAULT_CSS = """
    RemovePersonScreen { align: center middle; }
    RemovePersonScreen > Vertical { width: 64; height: auto; max-height: 16; border: round $primary;
        background: $panel; }
    """

    def __init__(self, people: list[tuple]) -> None:
        super().__init__()
        self.people = people

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Remove which authorized person? (Enter removes, Esc cancels)")
            yield OptionList(*[Option(Text(f"{n} ({r}) {format_phone(p)}"), id=str(i)) for i, n, r, p in self.people])

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
