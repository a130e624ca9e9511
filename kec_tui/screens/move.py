"""Transfer of service (a move) and account closure, each one guided form on the account.

Move: the new location (a location no., street words, or NEW), the final reading at
the old one, the new service (rate, landlord, connect date), confirm: the service
final-bills the old account, carries the balance and the deposit to a new account
at the new location and creates the connect order, in one transaction.

Closure: the final reading, confirm: final bill, the deposit applied, a credit
refunded, the account final (or closed when nothing is owed).
"""
from __future__ import annotations

import datetime as dt

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from kec_tui.keymap import keys_text
from kec_tui.money import fmt_dollars
from kec_tui.services import accounts, contacts, memberships as ms, moves, orders
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import ResultScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult, parse_date
from kec_tui.widgets.guided_screen import GuidedScreen
from kec_tui.widgets.location_picker import LOCATION_HINT, NEW, NEW_LOCATION_FIELDS, LocationPicker, location_fields
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.validators import check_contact, must_be_yes, next_business_day, not_past, required


def open_orders_text(found: list[orders.OrderInfo], doing: str) -> Text:
    listed = ", ".join(f"{o.order_no} ({o.kind_label}, {o.status})" for o in found)
    return Text(f"Open service order{'s' if len(found) > 1 else ''} {listed}: complete or cancel "
                f"{'them' if len(found) > 1 else 'it'} before the {doing} ({keys_text('app.orders')} order "
                f"queue)", style="bold red")


def date_check(value: str, record: Record) -> str | None:
    """The day the member names: today or later, not too far ahead (the service's rule, at the field)."""
    try:
        moves.is_later(parse_date(value), dt.date.today())
    except ServiceError as e:
        return e.message
    return None


def on_field(label: str) -> FieldSpec:
    return FieldSpec("on", label, "date", 10, default=lambda r: f"{dt.date.today():%m/%d/%Y}", validate=date_check)


def reading_check(screen: "FinalScreen"):
    def validate(value: str, record: Record) -> str | None:
        if not value:
            return "Key the final reading"
        last = screen.last
        if last.reading is not None and int(value) < last.reading:
            return (f"Reading {int(value):,} is below the last reading {last.reading:,} "
                    f"({last.day:%m/%d/%Y}): check the register")
        return None
    return validate


class FinalScreen(GuidedScreen):
    """Shared by the move and the closure: the account, its last read, leaving; each draws its own show_panel()."""

    DEFAULT_CSS = """
    FinalScreen #account { height: auto; padding: 0 1; background: $primary-background; }
    FinalScreen #form { min-height: 9; }
    """
    doing = ""

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.last = orders.last_read(account_id)
        self.blocking = moves.open_orders(account_id)

    def account_text(self) -> Text:
        v, last = self.view, self.last
        t = Text()
        t.append(f"{v.number}  {v.name}  [{v.status.upper()}]\n", style="bold")
        t.append(f"{v.service_address}  meter {last.meter_no or '-'}  rate {v.rate_class}\n")
        t.append(f"Balance {fmt_dollars(v.balance_cents)}   deposit held {fmt_dollars(v.deposit_cents)}   last read ")
        t.append(f"{last.reading:,} on {last.day:%m/%d/%Y}" if last.reading is not None else "none")
        return t

    def compose_head(self) -> ComposeResult:
        yield Static(self.account_text(), id="account")

    def later(self, record: Record) -> dt.date | None:
        """The day the member named, when it is after today (then only the final-read order is made)."""
        try:
            on = parse_date(record.get("on") or "")
        except ValueError:
            return None
        return on if on > dt.date.today() else None

    def scheduled(self, s: moves.Scheduled) -> None:
        self.done = True
        lines = [Text.assemble(("Final read  ", "dim"), f"order {s.order_no} due ", (f"{s.on:%m/%d/%Y}", "bold")),
                 Text(f"The {s.doing} is done when that order is completed with the reading "
                      f"({keys_text('app.orders')} order queue).")]
        self.app.push_screen(ResultScreen(f"{s.doing.capitalize()} of account {s.account_number} set for "
                                          f"{s.on:%m/%d/%Y}", lines), lambda _: self.app.leave(self))

    def estimate(self, record: Record) -> moves.FinalBillQuote | None:
        if self.view.status == "pending" or not record.get("reading"):
            return None
        return moves.final_bill_quote(self.view.rate_class, self.last, int(record["reading"]))

    def keyed(self) -> bool:
        return any(v for k, v in self.form.values.items() if k not in self.defaults())

    def leave_question(self) -> str:
        return f"Leave without the {self.doing}? Nothing is changed."

    def defaults(self) -> tuple[str, ...]:
        return ()


# ---- the move -----------------------------------------------------------------------------------

MOVE_STEPS = {
    **dict.fromkeys(("location", *NEW_LOCATION_FIELDS), "New service location"),
    **dict.fromkeys(("on", "reading"), "Final read at the old location"),
    **dict.fromkeys(("rate", "rental", "owner_name", "owner_phone", "connect_due", "mail", "notes", "confirm"),
                    "New service and confirm"),
}
MOVE_FIELD_OF = {"location": "location", "on": "on", "reading": "reading", "rate_class": "rate",
                 "owner_name": "owner_name", "connect_due": "connect_due", "notes": "notes",
                 **{f: f for f in NEW_LOCATION_FIELDS}}


class MoveScreen(FinalScreen):
    """Transfer of service (move): final read here, connect at the new location, balance carried."""

    HELP = ("Move the member's service to a new location in one step. Key the new service location (a location "
            "no., street words, or NEW to add one; a location still in service on another account is refused), "
            "the day of the move (Enter takes today; for a later day, up to 60 ahead, only the final-read order "
            "is made, due that day, and the move is done when it is completed with the reading), "
            "the final reading at the old location (the final bill is shown as you go), then the new service: "
            "rate class, landlord for a rental, the connect date, notes. Y on the last field confirms: the old "
            "account gets its final bill and is closed, its balance and deposit move to a new account at the new "
            "location, and a connect order is created. Open service orders on the account must be completed or "
            "cancelled first. Enter / Tab moves on, Up goes back, {entry_form.clear_record} leaves (asks first).")
    doing = "move"

    def __init__(self, account_id: int) -> None:
        super().__init__(account_id)
        self.picker = LocationPicker()

    def make_form(self) -> StepForm:
        v = self.view
        fields = [
            *location_fields(self._pick_location),
            on_field("Move on (date)"),
            FieldSpec("reading", "Final reading", "digits", 9, validate=reading_check(self)),
            FieldSpec("rate", "Rate class", "choice", 3, choices=ms.RATE_CLASSES, default=lambda r: v.rate_class),
            FieldSpec("rental", "Rental (landlord)", "choice", 3, choices=("no", "yes"), default=lambda r: "no"),
            FieldSpec("owner_name", "Owner / landlord", "text", 40, validate=required("Owner / landlord")),
            FieldSpec("owner_phone", "Owner phone", "text", 14, validate=check_contact("phone_home", "Owner phone")),
            FieldSpec("connect_due", "Connect due", "date", 10, default=lambda r: next_business_day(),
                      validate=not_past("Connect due")),
            FieldSpec("mail", "Mail to new address", "choice", 3, choices=("yes", "no"), default=self._mail_default),
            FieldSpec("notes", "Notes", "text", 50),
            FieldSpec("confirm", "Move now (Y)", "choice", 3, choices=("yes",),
                      validate=must_be_yes("Key Y to move the service, Up to change something, Esc to leave")),
        ]
        return StepForm(fields, steps=MOVE_STEPS, applies=self.applies, on_submit=self.move,
                        on_move=lambda name: self.show_panel(), id="form")

    def defaults(self) -> tuple[str, ...]:
        return ("rate", "rental", "connect_due", "mail")

    def _mail_default(self, record: Record) -> str:
        """Mail follows the member when it went to the old service address."""
        old_street = self.view.service_address.split(",")[0].strip().lower()
        return "yes" if self.view.contact.mail_street.strip().lower() == old_street else "no"

    def new_mailing(self, record: Record) -> dict[str, str]:
        if self.picker.new:
            return {"mail_street": record["new_street"], "mail_city": record["new_city"], "mail_state": "ID",
                    "mail_zip": record["new_zip"]}
        street, city, state_zip = self.picker.chosen.address.rsplit(", ", 2)
        state, _, zip_code = state_zip.partition(" ")
        return {"mail_street": street, "mail_city": city, "mail_state": state, "mail_zip": zip_code}

    def move_mail(self, record: Record, account_id: int) -> Text | None:
        """After the move (its own transaction): the mailing address to the new location."""
        if record["mail"] != "yes":
            return None
        c = self.view.contact
        values = self.new_mailing(record)
        try:
            contacts.update_contacts(self.app.operator, self.view.member_id, values,
                                     original={f: getattr(c, f) for f in values}, account_id=account_id)
        except ServiceError as e:
            return Text.assemble(("Mail        ", "dim"),
                                 (f"not changed: {e.message} ({keys_text('account.contacts')} on the account)",
                                  "bold red"))
        return Text.assemble(("Mail        ", "dim"), f"now to {values['mail_street']}, {values['mail_city']}")

    def applies(self, name: str, record: Record) -> bool:
        if name in NEW_LOCATION_FIELDS:
            return record["location"].strip().lower() == NEW
        if name in ("owner_name", "owner_phone"):
            return record["rental"] == "yes"
        if name in ("reading", "mail"):
            return self.later(record) is None      # read on the day; mail changed then (F6)
        return True

    def _pick_location(self, value: str, record: Record) -> str | None:
        message = self.picker.pick(value, own_location=self.view.location_id)
        self.show_panel("New service location")
        return message

    def show_panel(self, step: str | None = None) -> None:
        form = self.form
        step = step or form.step
        record = form.values
        form.set_info(LOCATION_HINT if step == "New service location" else "")
        warn = open_orders_text(self.blocking, "move") if self.blocking else None
        if step == "New service location":
            body = self.picker.table() if self.picker.matches else self.picker.describe()
        else:
            body = self.summary(record)
        self.update_panel(Group(warn, body) if warn is not None else body)

    def summary(self, record: Record) -> Text:
        v = self.view
        t = Text()
        loc = self.picker.chosen
        where = (f"{record['new_street']}, {record['new_city']} (new location)" if self.picker.new
                 else (loc.address if loc else "-"))
        t.append("Moving to      ", style="dim")
        t.append(where + "\n", style="bold")
        est = self.estimate(record)
        t.append("Final bill     ", style="dim")
        if est:
            t.append(f"about {fmt_dollars(est.cents)} ({est.kwh:,} kWh, {est.days} days) on account {v.number}\n")
        else:
            t.append("key the final reading\n")
        carried = v.balance_cents + (est.cents if est else 0)
        t.append("Carried over   ", style="dim")
        t.append(f"{fmt_dollars(carried)} {'credit ' if carried < 0 else ''}to the new account "
                 f"(balance {fmt_dollars(v.balance_cents)} + final bill)\n")
        t.append("Deposit        ", style="dim")
        t.append(f"{fmt_dollars(v.deposit_cents)} moves to the new account\n")
        t.append("Mail           ", style="dim")
        t.append(("to the new address\n" if (record["mail"] or self._mail_default(record)) == "yes"
                  else f"stays at {v.contact.mail_street}, {v.contact.mail_city}\n"))
        t.append("Then           ", style="dim")
        t.append(f"account {v.number} is closed; a connect order for the new account is due "
                 f"{record['connect_due'] or next_business_day()}")
        return t

    def move(self, record: Record) -> SubmitResult | None:
        op = self.app.operator
        owner = ms.Landlord(record["owner_name"], record["owner_phone"]) if record["rental"] == "yes" else None
        try:
            loc = self.picker.add_new(op, record) if self.picker.new else self.picker.chosen
            if loc is None:
                return SubmitResult("location", LOCATION_HINT)
            r = moves.transfer_service(op, self.account_id, loc.id, record["reading"],
                                       connect_due=parse_date(record["connect_due"]) if record["connect_due"] else None,
                                       rate_class=record["rate"] or None, landlord=owner, notes=record["notes"],
                                       on=self.later(record))
        except ServiceError as e:
            return SubmitResult(MOVE_FIELD_OF.get(e.field or ""), e.message)
        if isinstance(r, moves.Scheduled):
            self.scheduled(r)
            return None
        self.done = True
        mail = self.move_mail(record, r.new_account_id)
        lines = []
        if r.final_bill:
            fb = r.final_bill
            lines.append(Text.assemble(("Final bill  ", "dim"), (fmt_dollars(fb.amount_cents), "bold"),
                                       f"  {fb.kwh:,} kWh, {fb.days} days, read {fb.reading:,} on meter {fb.meter_no}"
                                       f" (move-out order {fb.order_no})"))
        lines += [
            Text.assemble(("Old account ", "dim"), f"{r.old_account_number} {r.old_status}"),
            Text.assemble(("New account ", "dim"), (str(r.new_account_number), "bold"), " (pending until connected)"),
            Text.assemble(("Carried     ", "dim"), f"{fmt_dollars(r.transferred_cents)} balance to the new account"),
            Text.assemble(("Deposit     ", "dim"), f"{fmt_dollars(r.deposit_moved_cents)} moved"),
            Text.assemble(("Connect     ", "dim"), f"order {r.connect_order_no} created"),
        ]
        if mail is not None:
            lines.append(mail)
        self.app.push_screen(ResultScreen(f"Service moved to account {r.new_account_number}", lines),
                             lambda _: self.finish(r.new_account_id))
        return None

    def finish(self, account_id: int) -> None:
        """The new account, in place of the old one when the move was opened from it."""
        self.app.leave(self)
        if self.app.showing("account"):
            self.app.pop_screen()
        self.app.open_account(account_id)


# ---- closure ------------------------------------------------------------------------------------

CLOSE_STEPS = dict.fromkeys(("on", "reading", "notes", "confirm"), "Close the account")


class CloseScreen(FinalScreen):
    """Close the account: final read, final bill, deposit applied, credit refunded."""

    HELP = ("Close the account for good. Key the day (Enter takes today; for a later day, up to 60 ahead, the "
            "final-read order is made for that day and the closure is done when it is completed), "
            "the final reading (an account never connected has none), notes, "
            "then Y to confirm. The final bill is posted, the deposit held is applied to it, a credit left over "
            "is refunded by check to the mailing address (a note says so), and the account ends closed, or final "
            "while a balance is still owed. Open service orders must be completed or cancelled first. "
            "{entry_form.clear_record} "
            "leaves (asks first).")
    doing = "closure"

    def make_form(self) -> StepForm:
        fields = [
            on_field("Close on (date)"),
            FieldSpec("reading", "Final reading", "digits", 9, validate=reading_check(self)),
            FieldSpec("notes", "Notes", "text", 50),
            FieldSpec("confirm", "Close now (Y)", "choice", 3, choices=("yes",),
                      validate=must_be_yes("Key Y to close the account, Up to change something, Esc to leave")),
        ]
        return StepForm(fields, steps=CLOSE_STEPS, applies=self.applies, on_submit=self.close,
                        on_move=lambda name: self.show_panel(), id="form")

    def on_mount(self) -> None:
        super().on_mount()
        if self.view.status == "pending":
            self.form.focus_field("notes")

    def applies(self, name: str, record: Record) -> bool:
        if name == "on":
            return self.view.status != "pending"     # nothing to read: closed today
        return name != "reading" or (self.view.status != "pending" and self.later(record) is None)

    def show_panel(self, step: str | None = None) -> None:
        v = self.view
        record = self.form.values
        t = Text()
        if self.blocking:
            t.append_text(open_orders_text(self.blocking, "closure"))
            t.append("\n")
        est = self.estimate(record)
        t.append("Final bill     ", style="dim")
        if v.status == "pending":
            t.append("none (never connected)\n")
        elif est:
            t.append(f"about {fmt_dollars(est.cents)} ({est.kwh:,} kWh, {est.days} days)\n")
        else:
            t.append("key the final reading\n")
        owed = v.balance_cents + (est.cents if est else 0)
        t.append("Deposit        ", style="dim")
        t.append(f"{fmt_dollars(v.deposit_cents)} applied to the final bill\n" if v.deposit_cents else "none held\n")
        after = owed - v.deposit_cents
        t.append("Then           ", style="dim")
        if v.status != "pending" and not est:
            t.append(f"the deposit is applied to the balance ({fmt_dollars(v.balance_cents)}) and the final bill; "
                     f"a credit left over is refunded by check")
        elif after < 0:
            t.append(f"a credit of {fmt_dollars(-after)} is refunded by check to "
                     f"{v.contact.mail_street}, {v.contact.mail_city}; the account is closed")
        elif after > 0:
            t.append(f"{fmt_dollars(after)} is still owed; the account stays final until it is paid", style="bold")
        else:
            t.append("nothing is owed; the account is closed")
        self.update_panel(t)

    def closed(self, _: None) -> None:
        self.dismiss(True)          # not awaited: this runs in the screen's own message handler

    def close(self, record: Record) -> SubmitResult | None:
        try:
            r = moves.close_account(self.app.operator, self.account_id, record["reading"] or None,
                                    notes=record["notes"], on=self.later(record))
        except ServiceError as e:
            field = {"on": "on", "reading": "reading", "notes": "notes"}.get(e.field or "")
            if field == "reading" and not self.applies("reading", record):
                field = None
            return SubmitResult(field, e.message)
        if isinstance(r, moves.Scheduled):
            self.scheduled(r)
            return None
        self.done = True
        lines = []
        if r.final_bill:
            fb = r.final_bill
            lines.append(Text.assemble(("Final bill  ", "dim"), (fmt_dollars(fb.amount_cents), "bold"),
                                       f"  {fb.kwh:,} kWh, {fb.days} days, read {fb.reading:,}"))
        lines += [Text.assemble(("Deposit     ", "dim"), f"{fmt_dollars(r.deposit_applied_cents)} applied"),
                  Text.assemble(("Refund      ", "dim"), f"{fmt_dollars(r.refund_cents)} by check"
                                if r.refund_cents else "none"),
                  Text.assemble(("Still owed  ", "dim"), (fmt_dollars(r.balance_cents),
                                                          "bold red" if r.balance_cents else ""))]
        title = (f"Account {r.account_number} closed" if r.status == "closed" else
                 f"Account {r.account_number} final: {fmt_dollars(r.balance_cents)} still owed")
        self.app.push_screen(ResultScreen(title, lines), self.closed)
        return None
