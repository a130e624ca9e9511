"""Return a posted payment: an NSF check or an ACH return (NACHA R01-R10)."""
from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import returns
from kec_tui.services.errors import ServiceError
from kec_tui.services.returns import RETURN_CODES, ReturnResult
from kec_tui.widgets.dialogs import ConfirmScreen, Dialog, MessageScreen


def consequence_text(account_id: int, amount_cents: int, fee_cents: int, when: dt.date) -> Text:
    """What the return will do: the reversal, the fee, and whether the account becomes cash-only."""
    before = returns.count_returns(account_id, when)
    after = before + 1
    t = Text()
    t.append("Reversal   ", style="dim")
    t.append(f"+{money.fmt_dollars(amount_cents)} back on the balance\n")
    t.append("Fee        ", style="dim")
    t.append(f"{money.fmt_dollars(fee_cents)}" if fee_cents else "waived", style="bold" if fee_cents else "yellow")
    t.append(f"  ({keys_text('returns.waive_fee')} waives / charges)\n", style="dim")
    t.append("Returns    ", style="dim")
    t.append(f"{before} in the last {returns.WINDOW_MONTHS} months, {after} with this one\n")
    if after >= returns.CASH_ONLY_AFTER_RETURNS:
        until = when + relativedelta(months=returns.CASH_ONLY_MONTHS)
        t.append(f"CASH ONLY until {until:%m/%d/%Y}: no checks or e-checks", style="bold red")
    else:
        t.append(f"One more return within {returns.WINDOW_MONTHS} months makes the account cash-only",
                 style="dim")
    return t


class ReturnPaymentScreen(Dialog[ReturnResult | None]):
    """Return a payment: NSF check or ACH return, with the fee and the cash-only rule."""

    HELP = ("The payment the bank sent back. Choose the return reason (arrows, or 1-9 for R01-R09 and 0 for R10; "
            "an NSF paper check is R01) and press Enter, then confirm. The payment is reversed on the ledger, "
            "the returned-payment fee is charged ({returns.waive_fee} waives it), the return is counted, and a "
            "second return "
            "within 12 months makes the account cash-only for 12 months. All of it is in the account's history. "
            "{modal.cancel} cancels.")
    BINDINGS = [
        bind("returns.waive_fee", "toggle_fee", "Fee"),
        bind("modal.cancel", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    ReturnPaymentScreen { align: center middle; }
    ReturnPaymentScreen > Vertical { width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $error; background: $panel; padding: 0 1; }
    ReturnPaymentScreen OptionList { height: 12; }
    ReturnPaymentScreen #error { color: $text-error; text-style: bold; height: auto; }
    """

    def __init__(self, account_id: int, account_number: int, payment: returns.ReturnablePayment) -> None:
        super().__init__()
        self.account_id = account_id
        self.account_number = account_number
        self.payment = payment
        self.default_fee = self.app.settings.returned_payment_fee_cents
        self.fee_cents = self.default_fee
        self.today = dt.date.today()

    def compose(self) -> ComposeResult:
        p = self.payment
        head = Text()
        head.append(f"Payment {money.fmt_dollars(p.amount_cents)}", style="bold")
        head.append(f"  {p.effective:%m/%d/%Y}  {p.reference}  account {self.account_number}")
        with Vertical():
            yield Label(Text("Return a payment (NSF check / ACH return)", style="bold"))
            yield Static(head)
            yield OptionList(*(Option(f"{code}  {text}", id=code) for code, text in RETURN_CODES.items()),
                             id="codes")
            yield Static("", id="consequence")
            yield Static("", id="error")
            yield Static(Text("Enter returns it with the highlighted reason; Esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.show_consequence()
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def show_consequence(self) -> None:
        self.query_one("#consequence", Static).update(
            consequence_text(self.account_id, self.payment.amount_cents, self.fee_cents, self.today))

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():  # 1-9: R01-R09, 0: R10
            n = int(event.character) or 10
            if f"R{n:02d}" in RETURN_CODES:
                self.query_one(OptionList).highlighted = list(RETURN_CODES).index(f"R{n:02d}")
                event.stop()

    def action_toggle_fee(self) -> None:
        self.fee_cents = 0 if self.fee_cents else self.default_fee
        self.show_consequence()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        code = event.option.id
        text = Text(f"Reverse {money.fmt_dollars(self.payment.amount_cents)} of {self.payment.effective:%m/%d/%Y} "
                    f"on account {self.account_number}: {code} {RETURN_CODES[code]}, fee "
                    f"{money.fmt_dollars(self.fee_cents) if self.fee_cents else 'waived'}.")
        self.app.push_screen(ConfirmScreen("Return this payment?", text),
                             lambda yes: yes and self.do_return(code))

    def do_return(self, code: str) -> None:
        try:
            r = returns.return_payment(self.app.operator, self.payment.ledger_entry_id, code, fee_cents=self.fee_cents)
        except ServiceError as e:
            self.query_one("#error", Static).update(e.message)
            return
        text = Text(f"{money.fmt_dollars(r.amount_cents)} reversed ({r.code} {r.description}). ")
        text.append(f"Fee {money.fmt_dollars(r.fee_cents)}. " if r.fee_cents else "No fee. ")
        text.append(f"{r.returns_in_window} return(s) in {returns.WINDOW_MONTHS} months.")
        if r.cash_only_until:
            text.append(f"\nCASH ONLY until {r.cash_only_until:%m/%d/%Y}.", style="bold red")
        def close(_=None) -> None:
            self.dismiss(r)

        self.app.push_screen(MessageScreen("Payment returned", text), close)
