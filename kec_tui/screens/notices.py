"""Disconnect notices: the notice run of a day (preview, then F10 sends the notices once: letters
and the print vendor's file), the final contact call and the disconnect order from a notice
(dialogs opened from the collections worklist)."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui.keymap import bind
from kec_tui.money import fmt, fmt_dollars
from kec_tui.services import letters, notices
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.services.orders import OrderInfo
from kec_tui.widgets.entry_form import EditForm, EntryForm, FieldSpec, ListFilters, Record, SubmitResult, parse_date
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width

PAGE = 200


def _day(value: str, record: Record) -> str | None:
    if not value:
        return None
    try:
        day = parse_date(value)
    except ValueError:
        return f"{value}: not a date (MM/DD/YYYY)"
    if day > dt.date.today():
        return f"A notice run is for today or an earlier day, not {day:%m/%d/%Y}"
    return None


class NoticeRunScreen(Screen):
    """The disconnect-notice run of a day: the preview list, then F10 sends the notices once."""

    HELP = ("The written 7-day disconnect notices of a day (empty: today): Enter previews the accounts past due "
            "over the threshold (active accounts, not held for bankruptcy or an arrangement, without a notice "
            "still good), each with the past due and the first and last day a disconnection may be. "
            "{notices.commit} sends them, once a day: a letter for each (a PDF logged on the account with its "
            "text) and the print vendor's file (CSV), both in the folder shown. A second run on the same day is "
            "refused. {notices.list} moves into the list (Enter opens the account), {notices.back} back to the "
            "day; again leaves. The final contact call and the disconnect order are made from the worklist.")
    BINDINGS = [
        bind("notices.commit", "commit", "Send notices"),
        bind("notices.list", "list", "List"),
        bind("notices.back", "back", "Back", show=False),
    ]
    DEFAULT_CSS = """
    NoticeRunScreen #filters { height: 3; }
    NoticeRunScreen #summary { height: auto; max-height: 3; padding: 0 1; background: $primary-background;
        text-style: bold; }
    NoticeRunScreen DataTable { height: 1fr; }
    NoticeRunScreen #detail { height: auto; max-height: 4; padding: 0 1; border-top: hkey $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.register: notices.Register | None = None
        self.result: notices.RunInfo | None = None
        self.committing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield ListFilters((FieldSpec("day", "Run day", "date", 10, validate=_day, dup=False),),
                          on_submit=self.preview, id="filters")
        yield Static("Key the day (today) and Enter: the notices it would send", id="summary")
        yield DataTable(id="notices", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width, key in (("Account", 7, "number"), ("Past due", 10, "past_due"), ("Days", 4, "days"),
                                  ("Disc. from", 10, "from"), ("Good to", 10, "to"), ("Name", 20, "name")):
            t.add_column(label, width=width, key=key)
        self.fit_columns()
        form = self.query_one(EditForm)
        form.set_value("day", f"{dt.date.today():%m/%d/%Y}")
        form.focus()

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        fill_width(self.query_one(DataTable), "name", self.size.width, minimum=12, ids=("number", "past_due"))

    @on(EntryForm.Submitted, "#filters")
    def keep_filters(self, event: EntryForm.Submitted) -> None:
        for name, value in event.record.items():
            event.form.set_value(name, value)

    def preview(self, record: Record) -> SubmitResult | None:
        """Enter: the preview, made before the next key is handled (an F10 typed behind it sends this one)."""
        if self.committing:
            return SubmitResult("day", "The notices are being sent: wait for them")
        op = self.app.operator
        if not op.can("collections.act"):
            return SubmitResult("day", f"Notice runs are for collections staff and supervisors ({op.role} may not)")
        day = parse_date(record["day"]) if record["day"] else dt.date.today()
        try:
            reg = notices.preview(op, day)
        except ServiceError as e:
            return SubmitResult("day", e.message)
        except Exception as e:  # noqa: BLE001 - a database that does not answer is a message
            return SubmitResult("day", f"The database did not answer: {first_line(e)}")
        self.register, self.result = reg, None
        self.show()
        return None

    def show(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        reg = self.register
        if reg is None:
            return
        self.add_page()
        n = len(reg.notices)
        summary = (f"{reg.run.run_date:%m/%d/%Y}: {n:,} notice{'s' * (n != 1)}, {fmt_dollars(reg.total_cents)} "
                   f"past due")
        if self.result is None:
            summary += f" ({reg.held:,} held, {reg.live:,} with a notice still good). F10 sends them."
            done = reg.settled
            if done and (done.cancelled or done.expired or done.reconnects):
                summary += (f" Since the last look: {len(done.cancelled):,} cancelled (paid, arrangement, pledge), "
                            f"{len(done.expired):,} expired, {len(done.reconnects):,} reconnect order"
                            f"{'s' * (len(done.reconnects) != 1)} made.")
        self.query_one("#summary", Static).update(summary)
        self.show_detail()

    def add_page(self) -> None:
        table = self.query_one(DataTable)
        start = table.row_count
        for p in self.register.notices[start:start + PAGE]:
            table.add_row(Text(str(p.number), style="bold"), Text(fmt(p.past_due_cents), justify="right"),
                          Text(str(p.days_past_due), justify="right"), f"{p.disconnect_from:%m/%d/%Y}",
                          f"{p.expires:%m/%d/%Y}", p.name, key=str(p.account_id))
        self.fit_columns()

    def show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        if self.result is not None:
            r = self.result
            name = r.vendor_file.replace("\\", "/").rsplit("/", 1)[-1]
            detail.update(Text(f"Sent {r.notice_count:,} notice{'s' * (r.notice_count != 1)} "
                               f"({fmt_dollars(r.total_cents)} past due); print vendor's file {name}; "
                               f"letters and file in:\n{r.directory}", style="bold green"))
        elif self.register is not None and not self.register.notices:
            detail.update(Text("No account to notice on this day", style="dim"))
        else:
            detail.update("")

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if (self.register is not None and event.cursor_row >= event.data_table.row_count - 3
                and event.data_table.row_count < len(self.register.notices)):
            self.add_page()

    @on(DataTable.RowSelected)
    def open_account(self, event: DataTable.RowSelected) -> None:
        self.app.open_account(int(event.row_key.value))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # A refused day locks the form: the keys typed behind it (F10 above all) are not applied.
        if action in ("commit", "list") and self.is_mounted and self.query_one(EditForm).locked:
            return None
        return True

    def action_commit(self) -> None:
        if self.committing:
            self.app.notify("The notices are being sent", severity="warning")
            return
        reg = self.register
        if reg is None or self.result is not None:
            self.app.notify("Preview the day first (key the day, Enter)", severity="warning")
            return
        if not reg.notices:
            self.app.notify("No notices to send on this day", severity="warning")
            return
        self.committing = True
        self.query_one("#summary", Static).update(f"Sending {len(reg.notices):,} notices ...")
        self.send(reg.run.id, str(letters.places_for(self.app.settings).output))

    @work(thread=True, exclusive=True, group="notices")
    def send(self, run_id: int, directory: str) -> None:
        try:
            result: notices.RunInfo | str = notices.commit(self.app.operator, run_id, directory=directory)
        except ServiceError as e:
            result = e.message
        except Exception as e:  # noqa: BLE001
            result = f"The database did not answer: {first_line(e)}"
        self.app.call_from_thread(self.sent, result)

    def sent(self, result: notices.RunInfo | str) -> None:
        self.committing = False
        if isinstance(result, str):
            self.query_one("#summary", Static).update(Text(result, style="bold red"))
            self.app.notify(result, severity="warning", timeout=10)
            return
        self.result = result
        self.show()
        self.app.notify(f"{result.notice_count:,} notice{'s' * (result.notice_count != 1)} sent: the letters and "
                        f"the print vendor's file are in the folder shown", timeout=10)

    def action_list(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def action_back(self) -> None:
        self.query_one(EditForm).focus()

    def action_cancel(self) -> None:
        if self.app.screen is self:     # (an Esc typed ahead of a screen change must not close the one beneath)
            self.dismiss(self.result)   # the worklist reloads: the notices sent are its next actions


# ---- the final contact call and the disconnect order (dialogs over the worklist) -------------------------

def notice_text(n: notices.NoticeInfo, extra: str = "") -> Text:
    t = Text()
    t.append(f"{n.number} {n.name[:30]}", style="bold")
    t.append(f"  notice of {n.notice_date:%m/%d/%Y}, {fmt_dollars(n.past_due_cents)} past due\n")
    t.append(f"Disconnection from {n.disconnect_from:%m/%d/%Y} to {n.expires:%m/%d/%Y}")
    last = n.last_contact
    if last:
        t.append(f"; called {last.at:%m/%d %H:%M} ({notices.CONTACT_LABELS.get(last.result, last.result)})")
    else:
        t.append("; no contact attempt yet", style="bold yellow")
    if extra:
        t.append("\n" + extra, style="bold")
    return t


class ContactDialog(FormDialog[notices.ContactInfo | None]):
    """Log the final contact attempt before a disconnection."""

    HELP = ("The final contact attempt before a disconnection, at least 24 hours before it: the number called "
            "(Enter takes the member's), the result (first letter or space: r reached, n no answer, v voicemail "
            "(a message left), b busy, w wrong number, o out of service) and a note. Enter on the last field logs "
            "it on the notice and as a note on the account. {entry_form.clear_record} leaves without logging.")
    DEFAULT_CSS = """
    ContactDialog #what { padding: 0 1; height: auto; }
    """

    def __init__(self, notice_id: int) -> None:
        super().__init__()
        self.notice = notices.get_notice(notice_id)

    def title_text(self) -> str:
        return f"Final contact call: account {self.notice.number}"

    def compose_about(self) -> ComposeResult:
        p = self.notice.phone
        yield Static(notice_text(self.notice, f"Member's phone (Enter takes it): {p[:3]}-{p[3:6]}-{p[6:]}"
                                 if p else "No phone on file: key the number called"), id="what")

    def make_form(self) -> StepForm:
        phone = self.notice.phone
        fields = [
            FieldSpec("phone", "Number called", "digits", 10, mandatory_entry=True, mandatory_fill=True,
                      default=(lambda r: phone) if phone else None),
            FieldSpec("result", "Result", "choice", 14, mandatory_entry=True, choices=notices.CONTACT_RESULTS),
            FieldSpec("note", "Note", "text", 60),
        ]
        return StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self.log_call, id="form")

    def log_call(self, record: Record) -> SubmitResult | None:
        try:
            done = notices.log_contact(self.app.operator, self.notice.id, record["phone"], record["result"],
                                       note=record["note"])
        except ServiceError as e:
            return SubmitResult(e.field if e.field in ("phone", "result", "note") else None, e.message)
        self.dismiss(done)
        return None


class DisconnectDialog(FormDialog[OrderInfo | None]):
    """The disconnect order from a notice."""

    HELP = ("The disconnect order from the account's notice, for a day (Enter takes the first day the rules "
            "allow): at least 7 days after the notice and not more than 21, not a weekend or holiday, at least 24 "
            "hours after the final contact call, never under a medical certificate or winter protection; on a "
            "Friday it is done before noon. A payment, an arrangement or a pledge since the notice cancels it "
            "instead. Enter makes the order (in the order queue, F4). {entry_form.clear_record} leaves.")
    DEFAULT_CSS = """
    DisconnectDialog > Vertical { border: round $warning; }
    DisconnectDialog #what { padding: 0 1; height: auto; }
    """

    def __init__(self, notice_id: int) -> None:
        super().__init__()
        self.notice = notices.get_notice(notice_id)
        self.first = notices.earliest(notice_id)

    def title_text(self) -> str:
        return f"Disconnect order: account {self.notice.number}"

    def compose_about(self) -> ComposeResult:
        first = self.first
        yield Static(notice_text(self.notice, f"First day the rules allow (Enter takes it): {first:%a %m/%d/%Y}"
                                 if first else "No day left in the notice's window: a new notice is needed"),
                     id="what")

    def make_form(self) -> StepForm:
        first = self.first
        fields = [FieldSpec("on", "Disconnect on", "date", 10, mandatory_entry=True,
                            default=(lambda r: f"{first:%m/%d/%Y}") if first else None)]
        return StepForm(fields, steps={"on": ""}, on_submit=self.order, id="form")

    def order(self, record: Record) -> SubmitResult | None:
        try:
            done = notices.order_disconnect(self.app.operator, self.notice.id, parse_date(record["on"]))
        except ServiceError as e:
            return SubmitResult("on", e.message)
        except ValueError:
            return SubmitResult("on", f"{record['on']}: not a date (MM/DD/YYYY)")
        self.dismiss(done)
        return None
