"""The delinquency worklist: a cycle's past-due accounts, the longest past due first, with
their payment history, flags and the next action due; Enter opens the account."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.money import fmt, fmt_dollars
from kec_tui.services import collections, late_fees
from kec_tui.services.aging import BUCKET_LABELS
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.dialogs import AskScreen
from kec_tui.widgets.entry_form import EditForm, EntryForm, FieldSpec, ListFilters, Record, SubmitResult, parse_date
from kec_tui.widgets.tables import fill_width

PAGE = 200
SHORT_FLAG = {"bankruptcy": "BK", "medical": "MED", "winter": "WIN", "landlord": "LL", "cash_only": "CASH",
              "collections": "COLL", "budget": "BUD", "arrangement": "ARR", "pledge": "PLG"}


def _day(value: str, record: Record) -> str | None:
    if not value:
        return None
    try:
        parse_date(value)
    except ValueError:
        return f"{value}: not a date (MM/DD/YYYY)"
    return None


def detail(item: collections.WorkItem | None) -> Text:
    if item is None:
        return Text("No account past due", style="dim")
    t = Text()
    t.append(f"{item.number} {item.name[:26]}", style="bold")
    t.append(f" ({item.status}, cycle {item.cycle})")
    if item.phone:
        t.append(f"  {item.phone[:3]}-{item.phone[3:6]}-{item.phone[6:]}")
    t.append(f"  paid {item.last_payment:%m/%d/%y}" if item.last_payment else "  never paid")
    t.append("\n")
    t.append("Aged:")
    for label, cents in zip(BUCKET_LABELS, item.aged.buckets(), strict=True):
        if cents:                       # the empty buckets left out: a line fits 80 columns
            t.append(f" {label} ")
            t.append(fmt(cents), style="" if label == "Current" else "bold red")
    t.append(f"; balance {fmt_dollars(item.aged.total)}\n")
    t.append(f"Late {item.late_12m}x, {item.returns_12m} returned in 12 months")
    if item.flags:
        t.append("; " + ", ".join(collections.FLAG_NAMES[f] for f in item.flags), style="bold yellow")
    t.append(f". Next: {action_text(item.next_action, long=True)}", style="bold")
    return t


def action_text(action: collections.NextAction, *, long: bool = False) -> str:
    if action.on is None:
        return action.what if long else action.short
    return f"{action.what} {action.on:%m/%d/%Y}" if long else f"{action.on:%m/%d} {action.short}"


class CollectionsScreen(Screen):
    """Collections worklist: past-due accounts by cycle with history, flags and the next action."""

    HELP = ("The past-due accounts of a bill cycle (Cycle empty: every cycle) on a day (empty: today), the "
            "longest past due first. Enter on the last field or {collections.apply} shows them; {collections.list} "
            "moves into the list, {collections.back} back to the fields, again leaves. Columns: days past due of "
            "the oldest unpaid bill, what is past due, Lt/Rt = bills paid late / payments returned in the last "
            "12 months, flags (BK bankruptcy, MED medical certificate, WIN winter protection, LL landlord, CASH "
            "cash only, COLL in collections, BUD budget billing, ARR payment arrangement kept, PLG assistance pledge "
            "pending) and the next action with its date. Below: the "
            "highlighted account's aging and phone. Payments and credits pay the oldest bill first. Enter in the "
            "list opens the account. {collections.late_fees} runs the late fees of the day (collections staff and "
            "supervisors): it shows how many bills and how much, and Y charges them, once per bill. "
            "{collections.notices} opens the disconnect-notice run (7-day written notices, once a day). On an "
            "account with a pending notice: {collections.contact} logs the final contact call (phone, result), "
            "{collections.disconnect} makes the disconnect order from the notice (7 to 21 days after it, 24 hours "
            "after the call, never on a weekend, holiday or Friday afternoon, nor under a protection).")
    BINDINGS = [
        bind("collections.apply", "apply", "Show"),
        bind("collections.list", "list", "List"),
        bind("collections.late_fees", "late_fees", "Late fees"),
        bind("collections.notices", "notices", "Notices"),
        bind("collections.contact", "contact", "Call"),
        bind("collections.disconnect", "disconnect", "Disconnect"),
        bind("collections.back", "back", "Back", show=False),
        bind("collections.agency_payment", "agency_payment", "Agency check", show=False),
    ]
    DEFAULT_CSS = """
    CollectionsScreen #filters { height: 3; }
    CollectionsScreen #summary { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    CollectionsScreen DataTable { height: 1fr; }
    CollectionsScreen #detail { height: 5; padding: 0 1; border-top: hkey $primary; }
    """

    def __init__(self, cycle: int | None = None) -> None:
        super().__init__()
        self.cycle = cycle
        self.as_of = dt.date.today()
        self.items: list[collections.WorkItem] = []
        self.by_id: dict[int, collections.WorkItem] = {}
        self.generation = 0
        self.cycles: tuple[int, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield ListFilters((FieldSpec("cycle", "Cycle", "digits", 2, validate=self._cycle, dup=False),
                               FieldSpec("as_of", "As of", "date", 10, validate=_day, dup=False)),
                              on_submit=self.apply, id="filters")
        yield Static("", id="summary")
        yield DataTable(id="worklist", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width, key in (("Account", 7, "number"), ("Past due", 10, "past_due"), ("Days", 4, "days"),
                                  ("Lt/Rt", 5, "history"), ("Flags", 5, "flags"), ("Name", 14, "name"),
                                  ("Next action", 18, "next")):
            t.add_column(label, width=width, key=key)
        self.fit_columns()
        form = self.query_one(EditForm)
        form.set_value("cycle", str(self.cycle) if self.cycle else "")
        form.set_value("as_of", f"{self.as_of:%m/%d/%Y}")
        form.focus()
        self.query_one("#summary", Static).update("Loading the worklist ...")
        self.cycles = tuple(collections.cycles(self.app.settings))
        self.load_in_background(self.generation, self.cycle, self.as_of)

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        fill_width(self.query_one(DataTable), "next", self.size.width, minimum=12, ids=("number", "past_due"))

    def _cycle(self, value: str, record: Record) -> str | None:
        if value and self.cycles and int(value) not in self.cycles:
            return f"No bill cycle {int(value)} (cycles: {', '.join(map(str, self.cycles))})"
        return None

    # -- loading: the first list in a worker (nothing typed needs it yet); a list asked for with Enter
    # is loaded before the next key is handled, so keys typed behind Enter (Down, Enter) find it.
    @work(thread=True, exclusive=True, group="worklist")
    def load_in_background(self, generation: int, cycle: int | None, as_of: dt.date) -> None:
        try:
            result: collections.Worklist | str = collections.worklist(self.app.operator, cycle, as_of)
        except ServiceError as e:
            result = e.message
        except Exception as e:  # noqa: BLE001 - a database that does not answer is a message
            result = f"The database did not answer: {first_line(e)}"
        self.app.call_from_thread(self.show, generation, result)

    def apply(self, record: Record) -> SubmitResult | None:
        cycle = int(record["cycle"]) if record["cycle"] else None
        as_of = parse_date(record["as_of"]) if record["as_of"] else dt.date.today()
        self.generation += 1
        try:
            result = collections.worklist(self.app.operator, cycle, as_of)
        except ServiceError as e:
            return SubmitResult(None, e.message)
        except Exception as e:  # noqa: BLE001
            return SubmitResult(None, f"The database did not answer: {first_line(e)}")
        self.cycle, self.as_of = cycle, as_of
        self.show(self.generation, result)
        return None

    @on(EntryForm.Submitted, "#filters")
    def keep_filters(self, event: EntryForm.Submitted) -> None:
        for name, value in event.record.items():
            event.form.set_value(name, value)

    def show(self, generation: int, result: collections.Worklist | str) -> None:
        if generation != self.generation:
            return                      # an older list arriving after one asked for since
        table = self.query_one(DataTable)
        table.clear()
        summary = self.query_one("#summary", Static)
        if isinstance(result, str):
            self.items, self.by_id = [], {}
            summary.update(Text(result, style="bold red"))
            self.show_detail()
            return
        self.items = result.items
        self.by_id = {i.account_id: i for i in result.items}
        self.add_page()
        which = f"Cycle {result.cycle}" if result.cycle is not None else "All cycles"
        n = len(result.items)
        summary.update(f"{which} {result.as_of:%m/%d/%Y}: {n:,} account{'s' * (n != 1)} past due "
                       f"{fmt_dollars(result.past_due_cents)} (balance {fmt_dollars(result.balance_cents)})")
        self.show_detail()

    def add_page(self) -> None:
        table = self.query_one(DataTable)
        start = table.row_count
        for i in self.items[start:start + PAGE]:
            table.add_row(Text(str(i.number), style="bold"), Text(fmt(i.past_due_cents), justify="right"),
                          Text(str(i.days_past_due), justify="right",
                               style="bold red" if i.days_past_due > collections.NOTICE_AFTER_DAYS else ""),
                          f"{i.late_12m}/{i.returns_12m}", " ".join(SHORT_FLAG[f] for f in i.flags),
                          i.name, action_text(i.next_action), key=str(i.account_id))
        self.fit_columns()

    def selected(self) -> collections.WorkItem | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.by_id.get(int(key))

    def show_detail(self) -> None:
        self.query_one("#detail", Static).update(detail(self.selected()))

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= event.data_table.row_count - 3 and event.data_table.row_count < len(self.items):
            self.add_page()
        self.show_detail()

    @on(DataTable.RowSelected)
    def open_account(self, event: DataTable.RowSelected) -> None:
        self.app.open_account(int(event.row_key.value))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # A refused field locks the form: the keys typed behind it are not applied, these neither
        # (Down must not move into the list and let an Enter typed ahead open an account).
        if action in ("apply", "list", "late_fees", "notices", "contact", "disconnect") and self.is_mounted \
                and self.query_one(EditForm).locked:
            return None
        return True

    def action_apply(self) -> None:
        self.query_one(EditForm).submit()

    # -- the late-fee run of the day: previewed here (before the next key), charged after a Y
    def action_late_fees(self) -> None:
        op = self.app.operator
        if not op.can("collections.act"):
            self.app.notify(f"Late-fee runs are for collections staff and supervisors ({op.role} may not)",
                            severity="warning")
            return
        day = min(self.as_of, dt.date.today())
        try:
            reg = late_fees.preview(op, day)
        except ServiceError as e:
            self.app.notify(e.message, severity="warning", timeout=10)
            return
        except Exception as e:  # noqa: BLE001
            self.app.notify(f"The database did not answer: {first_line(e)}", severity="error")
            return
        if not reg.fees:
            self.app.notify(f"Late fees on {day:%m/%d/%Y}: no bill to charge (bills due since "
                            f"{reg.since:%m/%d/%Y}, {reg.grace_days} days' grace)")
            return
        n = len(reg.fees)
        grace = f" + {reg.grace_days} days' grace" if reg.grace_days else ""
        text = Text(f"{n:,} bill{'s' * (n != 1)} unpaid after the due date{grace} (due since "
                    f"{reg.since:%m/%d/%Y}): {n:,} late fee{'s' * (n != 1)}, {fmt_dollars(reg.total_cents)} in all. "
                    f"Each bill is charged once.")
        self.app.push_screen(AskScreen(f"Charge the late fees of {day:%m/%d/%Y}?", text),
                             lambda yes: self.charge(reg.run.id) if yes else None)

    @work(thread=True, exclusive=True, group="late_fees")
    def charge(self, run_id: int) -> None:
        self.app.call_from_thread(self.app.notify, "Charging the late fees ...")
        try:
            run = late_fees.commit(self.app.operator, run_id)
            text, severity = (f"Late fees of {run.run_date:%m/%d/%Y} charged: {run.fee_count:,} "
                              f"fee{'s' * (run.fee_count != 1)}, {fmt_dollars(run.total_cents)}"), "information"
        except ServiceError as e:
            text, severity = e.message, "warning"
        except Exception as e:  # noqa: BLE001
            text, severity = f"The database did not answer: {first_line(e)}", "error"
        self.app.call_from_thread(self.app.notify, text, severity=severity, timeout=10)

    # -- disconnect notices: the day's run, the final contact call and the order from a notice
    def action_notices(self) -> None:
        if not self.app.operator.can("collections.act"):
            self.app.notify(f"Notice runs are for collections staff and supervisors ({self.app.operator.role} "
                            f"may not)", severity="warning")
            return
        self.app.open("notice_run", callback=lambda _: self.reload())

    def _notice_item(self, what: str) -> collections.WorkItem | None:
        item = self.selected()
        if item is None or item.notice_id is None:
            self.app.notify(f"{what}: highlight an account with a pending disconnect notice (the notice run sends "
                            f"them)", severity="warning")
            return None
        return item

    def action_contact(self) -> None:
        item = self._notice_item("The final contact call")
        if item is not None:
            self.app.open("notice_contact", item.notice_id, callback=self.contacted)

    def contacted(self, done) -> None:
        if done is not None:
            self.app.notify(f"Contact attempt logged: {done.at:%m/%d/%Y %H:%M}, {done.result.replace('_', ' ')}")
            self.reload()

    def action_disconnect(self) -> None:
        if not self.app.operator.can("collections.act"):
            self.app.notify(f"Disconnect orders from a notice are for collections staff and supervisors "
                            f"({self.app.operator.role} may not)", severity="warning")
            return
        item = self._notice_item("The disconnect order")
        if item is not None:
            self.app.open("notice_disconnect", item.notice_id, callback=self.ordered)

    def ordered(self, done) -> None:
        if done is not None:
            self.app.notify(f"Disconnect order {done.order_no} for {done.due_date:%m/%d/%Y} (order queue, F4)",
                            timeout=10)
            self.reload()

    def reload(self) -> None:
        self.generation += 1
        self.load_in_background(self.generation, self.cycle, self.as_of)

    def action_list(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def action_back(self) -> None:
        self.query_one(EditForm).focus()

    def action_cancel(self) -> None:
        self.app.leave(self)

    def action_agency_payment(self) -> None:
        """An energy-assistance agency's check keyed against its pledges (not while a refusal locks the form)."""
        if not self.query_one(EditForm).locked:
            self.app.open("agency_check")
