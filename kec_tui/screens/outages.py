"""Outage calls in a few keys from the account, and the outage board: the open outages (each a failed
transformer or feeder with its calls), cause, crew and restoration estimate, refreshed by itself while
other MSRs log calls; restoration lists the callbacks owed. services/outages.py does the work."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.services import accounts, outages
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.dialogs import ConfirmScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm

CODES = tuple(outages.CONDITIONS)           # keyed as 1-8 in this order
LEGEND = "  ".join(f"{i} {label}" for i, label in enumerate(outages.CONDITIONS.values(), start=1))
REFRESH_SECONDS = 5




class OutageCallDialog(FormDialog["outages.CallInfo | None"]):
    """What the caller sees (1-8), who calls, the callback phone, whether they want a call back."""

    HELP = ("Key what the caller sees as its number (the legend above): 1 lights out, 2 partial power, 3 flickering, "
            "4 wire down, 5 tree on line, 6 pole damaged, 7 transformer damaged, 8 fire or sparks; Enter. The "
            "caller's name and the phone to call back (Enter takes the member's), Y if they want a call when "
            "the power is back, a note; Enter on the last field logs the call. A wire down or a fire is an "
            "emergency: tell the caller to stay away (at least 30 feet) and it is flagged on every screen until "
            "it is dispatched. The outage's cause and estimated restoration, when known, are shown to read back. "
            "{entry_form.clear_record} leaves without logging.")
    DEFAULT_CSS = """
    OutageCallDialog #legend { padding: 0 1; height: auto; color: $text-muted; }
    OutageCallDialog #now { padding: 0 1; height: auto; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.location_id = outages.location_of_account(account_id)
        self.current = outages.open_event_at(self.location_id)

    def title_text(self) -> str:
        return f"Outage call: {self.view.number} {self.view.name}"

    def compose_about(self) -> ComposeResult:
        yield Static(Text(LEGEND), id="legend")
        e = self.current
        text = (f"Already out: {e.device}, {e.calls} calls; cause {e.cause}; crew {e.crew_status}; "
                f"restoration {outages.eta_text(e.eta)}" if e else "No outage known here yet.")
        yield Static(Text(text, style="bold yellow" if e else ""), id="now")

    def make_form(self) -> StepForm:
        c = self.view.contact
        phone = c.phone_mobile or c.phone_home or c.phone_work
        fields = [FieldSpec("condition", "What they see (1-8)", "digits", 1, mandatory_entry=True, dup=False,
                            validate=self._condition),
                  FieldSpec("caller", "Caller", "text", 40, dup=False, default=lambda r: self.view.name),
                  FieldSpec("phone", "Callback phone", "digits", 10, dup=False, validate=self._phone,
                            default=lambda r: phone),
                  FieldSpec("callback", "Call back when on", "choice", 3, choices=("no", "yes"), dup=False,
                            default=lambda r: "no"),
                  FieldSpec("notes", "Note", "text", 60, dup=False)]
        form = StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self._log, id="form")
        form.closes_on_submit = True
        return form

    @staticmethod
    def _condition(value: str, record: Record) -> str | None:
        if not value.isdigit() or not 1 <= int(value) <= len(CODES):
            return f"What the caller sees: 1 to {len(CODES)} (the legend above)"
        return None

    @staticmethod
    def _phone(value: str, record: Record) -> str | None:
        if value and len(value) != 10:
            return "Callback phone: 10 digits (area code first), or empty"
        return None

    def _log(self, record: Record) -> SubmitResult | None:
        try:
            call = outages.log_call(self.app.operator, self.location_id, CODES[int(record["condition"]) - 1],
                                    caller=record["caller"], callback_phone=record["phone"],
                                    wants_callback=record["callback"] == "yes", account_id=self.account_id,
                                    notes=record["notes"])
        except ServiceError as e:
            field = {"callback_phone": "phone", "condition": "condition"}.get(e.field or "", "notes")
            return SubmitResult(field, e.message)
        self.dismiss(call)
        return None


class EventDialog(FormDialog["outages.EventInfo | None"]):
    """The cause, the crew's status and the estimated restoration of an outage."""

    HELP = ("The cause as the crew reports it (Enter keeps it), the crew's status (space cycles: not assigned, "
            "dispatched, on site, repairing) and the estimated restoration as HH:MM (the next such time: 01:30 "
            "keyed at 23:00 is tomorrow's) or MM/DD HH:MM, which every MSR reads back to callers. Enter on the "
            "last field saves. {entry_form.clear_record} leaves.")

    def __init__(self, event: outages.EventInfo) -> None:
        super().__init__()
        self.event = event

    def title_text(self) -> str:
        return f"Outage {self.event.id}: {self.event.device}"

    def make_form(self) -> StepForm:
        e = self.event
        fields = [FieldSpec("cause", "Cause", "text", 60, dup=False, default=lambda r: e.cause),
                  FieldSpec("crew", "Crew", "choice", 12, choices=outages.CREW_STATUSES, dup=False,
                            default=lambda r: e.crew_status),
                  FieldSpec("eta", "Restoration (HH:MM)", "text", 11, dup=False, validate=self._eta)]
        form = StepForm(fields, steps=dict.fromkeys(("cause", "crew", "eta"), ""), on_submit=self._save, id="form")
        form.closes_on_submit = True
        return form

    @staticmethod
    def parse_eta(value: str, now: dt.datetime | None = None) -> dt.datetime | None:
        """HH:MM is the next such time (an estimate is never in the past: 01:30 keyed at 23:00 is
        tomorrow's); MM/DD HH:MM of this year."""
        value = value.strip()
        if not value:
            return None
        now = now or dt.datetime.now()
        for fmt in ("%H:%M", "%m/%d %H:%M"):
            try:
                t = dt.datetime.strptime(value, fmt)
            except ValueError:
                continue
            if fmt == "%H:%M":
                at = dt.datetime.combine(now.date(), t.time())
                return at if at > now else at + dt.timedelta(days=1)
            return t.replace(year=now.year)
        raise ValueError("Restoration: HH:MM (24-hour: the next such time), or MM/DD HH:MM")

    def _eta(self, value: str, record: Record) -> str | None:
        try:
            self.parse_eta(value)
        except ValueError as e:
            return str(e)
        return None

    def _save(self, record: Record) -> SubmitResult | None:
        try:
            e = outages.update(self.app.operator, self.event.id, cause=record["cause"], crew_status=record["crew"],
                               eta=self.parse_eta(record["eta"]))
        except ServiceError as err:
            return SubmitResult({"eta": "eta", "crew_status": "crew"}.get(err.field or "", "cause"), err.message)
        self.dismiss(e)
        return None


class OutageBoardScreen(Screen):
    """The open outages, emergencies first, refreshed every few seconds."""

    HELP = ("The open outages, emergencies first, then the most calls: the device that failed (a transformer, or "
            "a whole feeder when three of its transformers are out), the calls and the locations it serves, the "
            "cause, the crew and the estimated restoration that MSRs read back to callers. Above the list: wire "
            "down and fire calls waiting for dispatch. The board refreshes itself every 5 seconds. "
            "{outage_board.update} sets the cause, crew and estimate of the highlighted outage; "
            "{outage_board.restore} closes it as restored and lists the callers who asked for a call back; "
            "{outage_board.dispatched} records the top emergency as dispatched. {outage_board.back} goes back.")
    BINDINGS = [
        bind("outage_board.back", "back", "Back"),
        bind("outage_board.update", "update", "Update"),
        bind("outage_board.restore", "restore", "Restored"),
        bind("outage_board.dispatched", "dispatched", "Dispatched"),
    ]
    DEFAULT_CSS = """
    OutageBoardScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    OutageBoardScreen #emergencies { height: auto; padding: 0 1; color: $error; text-style: bold; }
    OutageBoardScreen #events { height: 1fr; }
    OutageBoardScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.events: list[outages.EventInfo] = []
        self.urgent: list[outages.CallInfo] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Outage board", id="title")
        yield Static("", id="emergencies")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#events", DataTable)
        for label, width in (("Out", 26), ("Calls", 5), ("Locs", 5), ("Cause", 16), ("Crew", 12),
                             ("Restoration", 14)):
            t.add_column(label, width=width, key=label.lower())
        self.refresh_board()
        self.set_interval(REFRESH_SECONDS, self.refresh_board)
        t.focus()

    @work(thread=True, exclusive=True, group="outage_board")
    def refresh_board(self) -> None:
        try:
            events, urgent = outages.board(), outages.emergencies()
        except Exception as e:  # noqa: BLE001 - the database did not answer: say so, try again later
            self.app.call_from_thread(self.say, f"The board could not be read: {first_line(e)}", True)
            return
        self.app.call_from_thread(self.show, events, urgent)

    def show(self, events: list[outages.EventInfo], urgent: list[outages.CallInfo]) -> None:
        if not self.is_attached:
            return
        self.urgent = urgent
        self.query_one("#emergencies", Static).update(Text("\n".join(
            f"EMERGENCY {outages.CONDITIONS[c.condition]}: {c.address}, {c.at:%I:%M %p} (call {c.id})"
            for c in urgent[:3]) + (f"\n... and {len(urgent) - 3} more" if len(urgent) > 3 else "")))
        t = self.query_one("#events", DataTable)
        keep = self.events[t.cursor_row].id if self.events and 0 <= t.cursor_row < len(self.events) else None
        self.events = events
        t.clear()
        for e in events:
            style = "bold red" if e.emergency else ""
            t.add_row(Text(e.device, style=style), Text(str(e.calls), justify="right"),
                      Text(str(e.locations), justify="right"), e.cause, e.crew_status, outages.eta_text(e.eta),
                      key=str(e.id))
        if keep is not None:
            t.move_cursor(row=next((i for i, e in enumerate(events) if e.id == keep), 0))
        self.query_one("#title", Static).update(
            f"Outage board: {len(events)} open" if events else "Outage board: no outage is open")

    def say(self, text: str, error: bool = False) -> None:
        if self.is_attached:
            self.query_one("#message", Static).update(Text(text, style="bold red" if error else "bold"))

    @property
    def event(self) -> outages.EventInfo | None:
        t = self.query_one("#events", DataTable)
        return self.events[t.cursor_row] if self.events and 0 <= t.cursor_row < len(self.events) else None

    def action_update(self) -> None:
        if self.event is not None:
            self.app.push_screen(EventDialog(self.event), self._updated)

    def _updated(self, e: outages.EventInfo | None) -> None:
        if e is not None:
            self.refresh_board()
            self.say(f"Outage {e.id}: cause {e.cause}, crew {e.crew_status}, restoration {outages.eta_text(e.eta)}")

    def action_restore(self) -> None:
        e = self.event
        if e is None:
            return
        self.app.push_screen(ConfirmScreen(f"Outage {e.id} restored?", f"{e.device}: {e.calls} calls."),
                             lambda yes: yes and self._restore(e))

    def _restore(self, e: outages.EventInfo) -> None:
        try:
            backs = outages.restore(self.app.operator, e.id)
        except ServiceError as err:
            self.say(err.message, True)
            return
        self.refresh_board()
        calls = "; ".join(f"{b.caller or 'caller'} {b.phone[:3]}-{b.phone[3:6]}-{b.phone[6:]}" for b in backs)
        self.say(f"Outage {e.id} restored. " + (f"Call back: {calls}" if backs else "Nobody asked for a call back."))

    def action_dispatched(self) -> None:
        if not self.urgent:
            self.say("No emergency is waiting for dispatch.")
            return
        c = self.urgent[0]
        try:
            outages.dispatched(self.app.operator, c.id)
        except ServiceError as err:
            self.say(err.message, True)
            return
        self.refresh_board()
        self.app.check_emergencies()
        self.say(f"Call {c.id} ({c.address}) recorded as dispatched.")

    def action_back(self) -> None:
        self.dismiss(None)
