"""Service orders: the queue by type, status and due date; create, complete (readings,
meter numbers, notes, fees), cancel with a reason, and print work tickets."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.config import default_data_dir
from kec_tui.keymap import bind, keys_text
from kec_tui.money import fmt_dollars
from kec_tui.services import accounts, deposits, moves, orders
from kec_tui.services.errors import ServiceError
from kec_tui.services.orders import OrderInfo
from kec_tui.widgets.entry_form import EditForm, EntryForm, FieldSpec, ListFilters, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width
from kec_tui.widgets.validators import next_business_day, not_past, required

PAGE = 50

# What the operator keys (a choice field: the first letter selects, space cycles) -> the order kind.
KIND_OF = {
    "connect": "connect", "disconnect non-pay": "disconnect_nonpay", "reconnect": "reconnect",
    "move-in read": "move_in_read", "move-out read": "move_out_read", "meter test": "meter_test",
    "meter replace": "meter_replace", "re-read": "reread", "remote disconnect": "remote_disconnect",
    "remote reconnect": "remote_reconnect", "other": "other",
}
SHORT_KIND = {
    "connect": "Connect", "disconnect_nonpay": "Disconnect NP", "reconnect": "Reconnect",
    "move_in_read": "Move-in read", "move_out_read": "Move-out read", "meter_test": "Meter test",
    "meter_replace": "Meter replace", "reread": "Re-read", "remote_disconnect": "Remote disc.",
    "remote_reconnect": "Remote recon.", "other": "Other",
}


def type_choices() -> Text:
    """The order types the Type field takes, under the form: a choice field shows only its value."""
    return Text.assemble(("Types: ", "bold"), " / ".join(KIND_OF),
                         "  (space cycles; or key the first letter)")


STATUS_OF = {"to do": None, "open": "open", "dispatched": "dispatched", "completed": "completed",
             "cancelled": "cancelled", "all": "all"}
STATUS_STYLE = {"open": "bold", "dispatched": "bold cyan", "completed": "dim", "cancelled": "dim strike"}


def tickets_dir(settings) -> Path:
    """Where work tickets go: settings tickets_dir, else reports_dir, else the data dir."""
    where = settings.tickets_dir or settings.reports_dir or default_data_dir() / "tickets"
    return Path(str(where)).expanduser()


def _date(d: dt.date | None) -> str:
    return f"{d:%m/%d/%Y}" if d else ""


def _account_number(value: str, record: Record) -> str | None:
    if not value:
        return None
    try:
        accounts.account_id_for_number(value)
    except ServiceError as e:
        return e.message
    return None


def _priority(value: str, record: Record) -> str | None:
    return None if value and 1 <= int(value) <= 5 else "Priority: 1 (most urgent) to 5"


def order_summary(o: OrderInfo) -> Text:
    t = Text()
    t.append(f"Order {o.order_no}  ", style="bold")
    t.append(f"{o.kind_label}  ")
    t.append(o.status, style=STATUS_STYLE.get(o.status, ""))
    t.append(f"  priority {o.priority}  due {_date(o.due_date) or '-'}")
    if o.overdue():
        t.append(" OVERDUE", style="bold red")
    t.append(f"  by {o.created_by}\n")
    t.append(f"Account {o.account_number} ({o.account_status})  {o.name}  {o.service_address}")
    if o.account_meter_no:
        t.append(f"  meter {o.account_meter_no}")
    if o.notes:
        t.append("\n" + " ".join(o.notes.split()), style="dim")
    if o.status == "completed":
        t.append(f"\nCompleted {o.completed_at:%m/%d/%Y %H:%M} by {o.completed_by}"
                 + (f", reading {o.reading:,}" if o.reading is not None else "")
                 + (f", meter {o.meter_no}" if o.meter_no else "")
                 + (f", fee {fmt_dollars(o.fee_cents)}" if o.fee_cents else ""), style="dim")
    elif o.status == "cancelled":
        t.append(f"\nCancelled: {o.resolution}", style="dim")
    return t


# ---- the queue --------------------------------------------------------------------------------

FILTERS = (
    FieldSpec("kind", "Type", "choice", 18, choices=("all", *KIND_OF), default=lambda r: "all"),
    FieldSpec("status", "Status", "choice", 10, choices=tuple(STATUS_OF), default=lambda r: "to do"),
    FieldSpec("due_by", "Due by", "date", 10),
    FieldSpec("account", "Account", "digits", 10, validate=_account_number),
)


class OrderQueueScreen(Screen):
    """Service order queue: by type, status and due date; create, complete, cancel, tickets."""

    HELP = ("The filters sit on top: Type (space cycles, or key the first letter: c connect, d disconnect, "
            "r reconnect / re-read / remote ..., m meter and move reads), Status (to do = open and dispatched; "
            "open, dispatched, completed, cancelled, all), Due by (overdue work: today's date) and Account. "
            "Enter on the last filter or {orders.apply} applies them; the most urgent come first (due date, priority). "
            "{orders.list} moves into the list, {orders.back} back to the filters, again leaves. The keys act on the "
            "highlighted order: {orders.complete} completes it (reading, meter no., notes; the fee shown is "
            "charged), {orders.cancel} cancels it with a reason, {orders.ticket} prints its work ticket (text "
            "and PDF, the path is shown); {orders.new} creates an order; Enter in the list opens the order's account.")
    BINDINGS = [
        bind("orders.apply", "apply", "Apply"),
        bind("orders.list", "list", "List"),
        bind("orders.new", "new", "New"),
        bind("orders.complete", "complete", "Complete"),
        bind("orders.cancel", "cancel_order", "Cancel"),
        bind("orders.ticket", "ticket", "Ticket"),
        bind("orders.back", "back", "Back", show=False),
    ]
    DEFAULT_CSS = """
    OrderQueueScreen #filters { height: 5; }
    OrderQueueScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    OrderQueueScreen DataTable { height: 1fr; }
    OrderQueueScreen #detail { height: 3; padding: 0 1; border-top: hkey $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filters: dict = {"kind": None, "status": None, "due_before": None, "account_id": None}
        self.rows: dict[int, OrderInfo] = {}
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield ListFilters(FILTERS, on_submit=self.apply, id="filters")
        yield Static("", id="summary")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width, key in (("Order", 6, "order"), ("Due", 8, "due"), ("P", 1, "pri"), ("Type", 13, "kind"),
                                  ("Status", 10, "status"), ("Account", 7, "account"), ("Member / service", 20, "who")):
            t.add_column(label, width=width, key=key)
        self.fit_columns()
        form = self.query_one(EditForm)
        form.set_value("kind", "all")
        form.set_value("status", "to do")
        form.focus()
        self.reload()

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        fill_width(self.query_one(DataTable), "who", self.size.width, minimum=10, ids=("order", "account"))

    # -- filters and pages
    def apply(self, record: Record) -> SubmitResult | None:
        self.filters = {
            "kind": KIND_OF.get(record["kind"]) if record["kind"] not in ("", "all") else None,
            "status": STATUS_OF.get(record["status"] or "to do"),
            "due_before": parse_date(record["due_by"]) if record["due_by"] else None,
            "account_id": accounts.account_id_for_number(record["account"]) if record["account"] else None,
        }
        try:
            self.reload()
        except ServiceError as e:
            return SubmitResult(None, e.message)
        return None

    @on(EntryForm.Submitted, "#filters")
    def keep_filters(self, event: EntryForm.Submitted) -> None:
        for name, value in event.record.items():
            event.form.set_value(name, value)

    def reload(self, keep: int | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {}
        self.load_page()
        if keep is not None and table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self.show_detail()

    def load_page(self) -> None:
        table = self.query_one(DataTable)
        page = orders.queue(offset=table.row_count, limit=PAGE, **self.filters)
        self.total = page.total
        today = dt.date.today()
        for o in page.rows:
            if o.order_no in self.rows:
                continue
            self.rows[o.order_no] = o
            due = Text(f"{o.due_date:%m/%d/%y}" if o.due_date else "-",
                       style="bold red" if o.overdue(today) else "")
            table.add_row(Text(str(o.order_no), style="bold"), due, str(o.priority),
                          SHORT_KIND.get(o.kind, o.kind), Text(o.status, style=STATUS_STYLE.get(o.status, "")),
                          str(o.account_number), Text(f"{o.name} - {o.service_address.split(',')[0]}"),
                          key=str(o.order_no))
        self.fit_columns()
        what = {None: "to do (open and dispatched)", "all": "of every status"}.get(self.filters["status"],
                                                                                   self.filters["status"])
        shown = table.row_count
        self.query_one("#summary", Static).update(
            f"{self.total:,} order{'s' * (self.total != 1)} {what}"
            + (f", showing {shown:,} (Down loads more)" if shown < self.total else ""))

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= event.data_table.row_count - 3 and event.data_table.row_count < self.total:
            self.load_page()
        self.show_detail()

    def selected(self) -> OrderInfo | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.rows.get(int(key))

    def show_detail(self) -> None:
        o = self.selected()
        self.query_one("#detail", Static).update(order_summary(o) if o else Text("No order matches the filters",
                                                                                 style="dim"))

    def message(self, text: str, severity: str = "information") -> None:
        self.app.notify(text, severity=severity, timeout=8)

    @on(DataTable.RowSelected)
    def open_account(self, event: DataTable.RowSelected) -> None:
        o = self.rows.get(int(event.row_key.value))
        if o:
            self.app.open_account(o.account_id)

    # -- actions
    def action_apply(self) -> None:
        self.query_one(EditForm).submit()

    def action_list(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def action_back(self) -> None:
        self.query_one(EditForm).focus()

    def action_cancel(self) -> None:
        self.app.leave(self)

    def _target(self) -> OrderInfo | None:
        o = self.selected()
        if o is None:
            self.message("No order highlighted: apply filters that show one", "warning")
        return o

    def action_new(self) -> None:
        account_id = self.filters.get("account_id")
        self.app.push_screen(NewOrderScreen(account_id), self.created)

    def created(self, o: OrderInfo | None) -> None:
        if o is not None:
            deposit = deposits.before_reconnect(o.account_id, o.kind)
            self.message(f"Order {o.order_no} created: {o.kind_label} for {o.name} (account {o.account_number}), "
                         f"due {_date(o.due_date) or '-'}"
                         + (f". {deposit} ({keys_text('account.deposit')} on the account bills it)" if deposit else ""),
                         "warning" if deposit else "information")
            self.reload(self.query_one(DataTable).cursor_row)

    def action_complete(self) -> None:
        o = self._target()
        if o is None:
            return
        if o.status not in orders.ACTIVE:
            fresh = orders.get_order(o.order_no)
            who = f" by {fresh.completed_by} at {fresh.completed_at:%m/%d/%Y %H:%M}" if fresh.completed_at else ""
            self.message(f"Order {o.order_no} is already {o.status}{who}: nothing to complete", "warning")
            return
        self.app.push_screen(CompleteOrderScreen(o), self.completed)

    def completed(self, done: orders.CompletedOrder | None) -> None:
        if done is None:
            return
        self.message(completion_text(done))
        self.reload(self.query_one(DataTable).cursor_row)

    def action_cancel_order(self) -> None:
        o = self._target()
        if o is None:
            return
        if o.status not in orders.ACTIVE:
            self.message(f"Order {o.order_no} is {o.status}: it cannot be cancelled", "warning")
            return

        def done(cancelled: OrderInfo | None) -> None:
            if cancelled is not None:
                self.message(f"Order {cancelled.order_no} cancelled: {cancelled.resolution}")
                self.reload(self.query_one(DataTable).cursor_row)
        self.app.push_screen(CancelOrderScreen(o), done)

    def pdf_to_print(self):
        """The print key: the highlighted order's work ticket PDF."""
        o = self._target()
        if o is None:
            return None
        return orders.write_work_ticket(o.order_no, tickets_dir(self.app.settings), pdf=True).pdf

    def action_ticket(self) -> None:
        o = self._target()
        if o is None:
            return
        self.message(print_ticket(self.app, o.order_no))


def print_ticket(app, order_no: int) -> str:
    try:
        files = orders.write_work_ticket(order_no, tickets_dir(app.settings), pdf=True)
    except ServiceError as e:
        return e.message
    return (f"Work ticket for order {order_no}:\n{files.text.parent}/\n{files.text.name}"
            + (f" and {files.pdf.name}" if files.pdf else ""))


def completion_text(done: orders.CompletedOrder) -> str:
    o = done.order
    parts = [f"Order {o.order_no} completed ({o.kind_label})",
             done.then or f"account {o.account_number} is {done.account_status}"]
    for r in done.readings:
        parts.append(f"read {r.meter_no} {r.reading:,}" + (f" ({r.kwh:,} kWh)" if r.kwh else ""))
    if done.fee_cents:
        parts.append(f"{done.fee_description} {fmt_dollars(done.fee_cents)} charged")
    elif o.resolution:
        parts.append(o.resolution)
    return "; ".join(parts)


# ---- create ----------------------------------------------------------------------------------

class NewOrderScreen(FormDialog[OrderInfo | None]):
    """New service order."""

    HELP = ("Key the account number (check digit checked; the member, status and flags show), the type "
            "(first letter or space: c connect, d disconnect non-pay, r reconnect / re-read / remote, m meter "
            "test / replace / move reads, o other), the priority (1 most urgent to 5), the due date (Enter takes "
            "the next business day), whether the member asked for it (a re-read or meter test they ask for "
            "carries the trip fee) and notes for the serviceman. Enter on the last field creates it. A disconnect "
            "is refused under winter protection or a medical certificate. {entry_form.clear_record} cancels.")
    DEFAULT_CSS = """
    NewOrderScreen #who { padding: 0 1; height: auto; }
    NewOrderScreen #choices { padding: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self, account_id: int | None = None) -> None:
        super().__init__()
        self.account_id = account_id
        self.view: accounts.AccountView | None = accounts.view(account_id) if account_id else None

    def title_text(self) -> str:
        return "New service order"

    def compose_about(self) -> ComposeResult:
        yield Static(self.who(), id="who")

    def compose_below(self) -> ComposeResult:
        yield Static(type_choices(), id="choices")

    def make_form(self) -> StepForm:
        fields = []
        if self.account_id is None:
            fields.append(FieldSpec("account", "Account", "digits", 10, mandatory_entry=True,
                                    validate=self._account))
        fields += [
            FieldSpec("kind", "Type", "choice", 18, mandatory_entry=True, choices=tuple(KIND_OF)),
            FieldSpec("priority", "Priority (1-5)", "digits", 1, validate=_priority, default=lambda r: "3"),
            FieldSpec("due", "Due date", "date", 10, default=lambda r: next_business_day(),
                      validate=not_past("Due date")),
            FieldSpec("requested", "Member asked for it", "choice", 3, choices=("no", "yes"), default=lambda r: "no"),
            FieldSpec("notes", "Notes", "text", 50),
        ]
        steps = dict.fromkeys((f.name for f in fields), "")
        return StepForm(fields, steps=steps, applies=self.applies, on_submit=self.create, id="form")

    def who(self) -> Text:
        v = self.view
        if v is None:
            return Text("Key the account number", style="dim")
        t = Text(f"{v.number}  {v.name}  [{v.status}]\n{v.service_address}  meter {v.meter_no or '-'}")
        if v.flags:
            t.append("\n" + "  ".join(v.flags), style="bold red")
        return t

    def _account(self, value: str, record: Record) -> str | None:
        try:
            account_id = accounts.account_id_for_number(value)
        except ServiceError as e:
            return e.message
        self.view = accounts.view(account_id)
        self.query_one("#who", Static).update(self.who())
        return None

    def applies(self, name: str, record: Record) -> bool:
        if name == "requested":
            return KIND_OF.get(record["kind"]) in orders.TRIP_FEE_KINDS
        return True

    def create(self, record: Record) -> SubmitResult | None:
        if self.view is None:
            return SubmitResult("account", "Key the account number")
        kind = KIND_OF[record["kind"]]
        try:
            o = orders.create_order(self.app.operator, self.view.id, kind, priority=int(record["priority"] or 3),
                                    due_date=parse_date(record["due"]) if record["due"] else None,
                                    notes=record["notes"],
                                    member_requested=kind in orders.TRIP_FEE_KINDS and record["requested"] == "yes")
        except ServiceError as e:
            field = {"kind": "kind", "priority": "priority", "due_date": "due", "notes": "notes"}.get(e.field or "")
            return SubmitResult(field or "kind", e.message)
        self.dismiss(o)
        return None


# ---- complete ----------------------------------------------------------------------------------

class CompleteOrderScreen(FormDialog[orders.CompletedOrder | None]):
    """Complete a service order."""

    HELP = ("Key what the serviceman reports: the reading on the register, the meter number (a connect or "
            "move-in sets the meter; a meter replace keys the old meter's final read, the new meter's number and "
            "its starting read) and notes. The fee shown (reconnect in or after business hours, trip fee for a "
            "requested re-read or test) is charged on completion unless a waiver reason is keyed. Enter on the "
            "last field completes the order, once: a second completion is refused. {entry_form.clear_record} cancels.")
    DEFAULT_CSS = """
    CompleteOrderScreen #what { padding: 0 1; height: auto; }
    """

    def __init__(self, order: OrderInfo) -> None:
        super().__init__()
        self.order = order
        self.fee = orders.completion_fee(order.kind, order.member_requested)

    def fields(self) -> list[FieldSpec]:
        kind = self.order.kind
        reading_needed = kind in orders.READING_REQUIRED
        out = []
        if kind == "meter_replace":
            out += [FieldSpec("old_reading", "Old meter final read", "digits", 9),
                    FieldSpec("meter_no", "New meter no.", "text", 12, validate=required("New meter no.")),
                    FieldSpec("reading", "New meter start read", "digits", 9, default=lambda r: "0")]
        elif kind in orders.CONNECT_KINDS:
            default_meter = self.order.account_meter_no
            out += [FieldSpec("meter_no", "Meter no. set", "text", 12, validate=required("Meter no."),
                              default=(lambda r: default_meter) if default_meter else None),
                    FieldSpec("reading", "Starting read", "digits", 9,
                              validate=required("Starting read") if reading_needed else None)]
        else:
            out.append(FieldSpec("reading", "Reading", "digits", 9,
                                 validate=required("Reading") if reading_needed else None))
        out.append(FieldSpec("notes", "Notes", "text", 50))
        if self.fee[0]:
            out.append(FieldSpec("waive", "Waive fee: reason", "text", 40))
        return out

    def title_text(self) -> str:
        return f"Complete order {self.order.order_no}"

    def compose_about(self) -> ComposeResult:
        yield Static(self.what(), id="what")

    def make_form(self) -> StepForm:
        fields = self.fields()
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.complete, id="form")

    def what(self) -> Text:
        o = self.order
        t = Text()
        t.append(f"{o.kind_label}", style="bold")
        last = orders.last_read(o.account_id)
        t.append(f"  account {o.account_number} {o.name} ({o.account_status})\n{o.service_address}"
                 f"  meter {o.account_meter_no or '(none)'}")
        if last.reading is not None:
            t.append(f"  last read {last.reading:,} on {last.day:%m/%d/%Y}")
        t.append("\n")
        cents, what = self.fee
        if cents:
            t.append(f"Fee on completion: {what} {fmt_dollars(cents)}", style="bold yellow")
        else:
            t.append("No fee on completion", style="dim")
        if o.kind in orders.DISCONNECT_KINDS:
            t.append("\nRefused while winter protection or a medical certificate stands", style="dim")
        return t

    def complete(self, record: Record) -> SubmitResult | None:
        try:
            done = moves.complete_order(self.app.operator, self.order.order_no,
                                         reading=record.get("reading") or None,
                                         meter_no=record.get("meter_no") or None, notes=record["notes"],
                                         old_reading=record.get("old_reading") or None,
                                         waive_fee=record.get("waive", ""))
        except ServiceError as e:
            field = e.field if e.field in ("reading", "meter_no", "old_reading", "notes") else None
            return SubmitResult(field if field in record else None, e.message)
        self.dismiss(done)
        return None


# ---- cancel ---------------------------------------------------------------------------------------

class CancelOrderScreen(FormDialog[OrderInfo | None]):
    """Cancel a service order."""

    HELP = ("Key why the order is cancelled (kept with the order and in the audit log); Enter cancels it, "
            "{entry_form.clear_record} keeps it.")
    DEFAULT_CSS = """
    CancelOrderScreen > Vertical { border: round $warning; }
    CancelOrderScreen #what { padding: 0 1; height: auto; }
    """

    def __init__(self, order: OrderInfo) -> None:
        super().__init__()
        self.order = order

    def title_text(self) -> str:
        return f"Cancel order {self.order.order_no}"

    def compose_about(self) -> ComposeResult:
        o = self.order
        yield Static(Text(f"{o.kind_label}, account {o.account_number} {o.name}, due {_date(o.due_date) or '-'}"),
                     id="what")

    def make_form(self) -> StepForm:
        return StepForm([FieldSpec("reason", "Reason", "text", 60, validate=required("The reason"))],
                        steps={"reason": ""}, on_submit=self.cancel, id="form")

    def cancel(self, record: Record) -> SubmitResult | None:
        try:
            o = orders.cancel_order(self.app.operator, self.order.order_no, record["reason"])
        except ServiceError as e:
            return SubmitResult("reason", e.message)
        self.dismiss(o)
        return None

