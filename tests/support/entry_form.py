"""A small stand-in for a payment screen around one EntryForm, for the entry-form tests."""
from __future__ import annotations

from decimal import Decimal

from textual.app import App, ComposeResult
from textual.widgets import Footer

from kec_tui.widgets.entry_form import EntryForm, FieldSpec, Record, SubmitResult
from tests.support.keys import send_burst, settle


def check_digit(base: str) -> str:
    """Mod 10, weights 3,1,3,1... from the rightmost digit of the base number."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(base)))
    return str((10 - total % 10) % 10)


def account_no(base: int) -> str:
    return f"{base}{check_digit(str(base))}"


def valid_account(text: str, record: Record) -> str | None:
    if len(text) < 2 or check_digit(text[:-1]) != text[-1]:
        return "Check digit is wrong"
    return None


def amount_due(account: str) -> str:
    """The 'looked up' amount due: derived from the number, as Decimal text."""
    return f"{Decimal(int(account) % 50000 + 1000).scaleb(-2):f}"


def positive(text: str, record: Record) -> str | None:
    return "Amount must be more than zero" if Decimal(text) <= 0 else None


def payment_fields(**amount_overrides) -> list[FieldSpec]:
    amount = dict(
        name="amount",
        label="Amount",
        kind="money",
        width=9,
        mandatory_entry=True,
        validate=positive,
        default=lambda record: amount_due(record["account"]),
    )
    amount.update(amount_overrides)
    return [
        FieldSpec("account", "Account", "digits", 8, mandatory_entry=True, validate=valid_account, dup=False),
        FieldSpec(**amount),
        FieldSpec("check_no", "Check no", "digits", 6),
    ]


class FormApp(App):
    def __init__(self, fields=None, on_submit=None, after_exit=None, tenkey=False) -> None:
        super().__init__()
        self.committed: list[Record] = []
        self.submitted_messages: list[Record] = []
        self._fields = fields or payment_fields()
        self._on_submit = on_submit or self.commit
        self._after_exit = after_exit
        self._tenkey = tenkey

    def commit(self, record: Record) -> SubmitResult | None:
        self.committed.append(record)  # stands in for the service's DB commit
        return None

    def compose(self) -> ComposeResult:
        yield EntryForm(self._fields, on_submit=self._on_submit, after_exit=self._after_exit, tenkey=self._tenkey)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(EntryForm).focus()

    def on_entry_form_submitted(self, message: EntryForm.Submitted) -> None:
        self.submitted_messages.append(message.record)

    @property
    def form(self) -> EntryForm:
        return self.query_one(EntryForm)


async def press(pilot, *keys: str) -> None:
    """Type keys through the driver path as one burst, then wait until handled.

    Faster than ``pilot.press`` (which waits for idle after every key) and it
    exercises the type-ahead path in every test."""
    send_burst(pilot.app, list(keys))
    await settle(pilot)
