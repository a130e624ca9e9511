"""Energy services from the account: this year against last year by month (a chart and the figures), use
and cost per day, tips for the usage pattern; the high-bill inquiry checklist and a referral to the
energy services consultant; the consultant's queue. services/energy.py does the work."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual_plotext import PlotextPlot

from kec_tui import money
from kec_tui.keymap import bind
from kec_tui.services import accounts, energy
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.tables import fill_width

YES_NO = ("no", "yes")


def _kwh(n: int | None) -> Text:
    return Text(f"{n:,}" if n is not None else "", justify="right")


def _cents(c: int | None) -> Text:
    return Text(energy.money_or_blank(c), justify="right")


class EnergyScreen(Screen):
    """The account's use, this year against last, with the tips; the checklist and the referral."""

    HELP = ("The account's last 12 months of use against the 12 before: a chart of kWh by month and the figures "
            "(kWh and dollars billed, this year and last). Below: average kWh and cost per day, the usage pattern "
            "(heating, cooling, flat, rising) and tips chosen for it. {energy.inquiry} goes through the high-bill "
            "checklist with the member (days in the period, an estimated read, weather, new appliances, people at "
            "home, a rate change, a leak; what the bills show is filled in) and keeps what was found on the "
            "account; {energy.refer} refers the member to the energy services consultant (a home energy audit if "
            "they want one). {energy.back} goes back to the account.")
    BINDINGS = [
        bind("energy.back", "back", "Back"),
        bind("energy.inquiry", "inquiry", "High-bill checklist"),
        bind("energy.refer", "refer", "Refer to consultant"),
    ]
    DEFAULT_CSS = """
    EnergyScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    EnergyScreen #body { height: 1fr; }
    EnergyScreen PlotextPlot { width: 1fr; height: 1fr; min-width: 30; }
    EnergyScreen #months { width: 48; height: 1fr; }
    EnergyScreen #summary { height: auto; padding: 0 1; border-top: hkey $primary; }
    EnergyScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view = accounts.view(account_id)
        self.usage: energy.Usage | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"Energy use  {self.view.number}  {self.view.name}  rate {self.view.rate_class}"),
                     id="title")
        with Horizontal(id="body"):
            yield DataTable(id="months", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="chart")
        yield Static("", id="summary")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#months", DataTable)
        for label, width in (("Month", 7), ("kWh", 6), ("Last yr", 7), ("Billed", 9), ("Last yr $", 9)):
            t.add_column(label, width=width, key=label.lower())
        self.load()
        t.focus()

    def load(self) -> None:
        u = self.usage = energy.usage(self.account_id)
        t = self.query_one("#months", DataTable)
        t.clear()
        for m in reversed(u.months):
            t.add_row(f"{m.month:%m/%Y}", _kwh(m.kwh), _kwh(m.kwh_year_ago), _cents(m.cents), _cents(m.cents_year_ago))
        lines = []
        if u.days:
            lines.append(f"Average {u.kwh_per_day} kWh a day, {money.fmt_dollars(u.cents_per_day)} a day "
                         f"({u.kwh:,} kWh and {money.fmt_dollars(u.cents)} in {u.days} days).")
        else:
            lines.append("No readings yet: nothing to compare.")
        if u.pattern not in ("none",):
            lines.append(f"Pattern: {u.pattern}.")
        lines += [f"- {tip}" for tip in u.tips]
        self.query_one("#summary", Static).update(Text("\n".join(lines)))
        self.draw()

    def draw(self) -> None:
        chart = self.query_one(PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        u = self.usage
        if u is None or not u.months:
            return
        labels = [f"{m.month:%m}" for m in u.months]
        plt.multiple_bar(labels, [[m.kwh_year_ago or 0 for m in u.months], [m.kwh or 0 for m in u.months]],
                         labels=["last year", "this year"])
        plt.title("kWh by month")
        chart.refresh()

    def on_resize(self) -> None:
        fill_width(self.query_one("#months", DataTable), "month", 48, minimum=7)

    def say(self, text: str, error: bool = False) -> None:
        self.query_one("#message", Static).update(Text(text, style="bold red" if error else "bold green"))

    def action_inquiry(self) -> None:
        self.app.push_screen(InquiryDialog(self.account_id), lambda info: info is not None and self.say(
            f"Checklist kept on the account: {len(info.found)} found" + (f" ({', '.join(info.found)})"
                                                                          if info.found else "")))

    def action_refer(self) -> None:
        self.app.push_screen(ReferDialog(self.account_id, self.view), lambda r: r is not None and self.say(
            "Referred to the energy services consultant" + (" for a home energy audit" if r.home_audit else "")))

    def action_back(self) -> None:
        self.dismiss(None)


class InquiryDialog(FormDialog["energy.InquiryInfo | None"]):
    """The high-bill checklist: Y or N for each item (what the bills show is filled in), and a note."""

    HELP = ("Go through each item with the member: Y (space cycles) if it explains the bill, Enter for the next; "
            "the items the bills show (a longer period, an estimated read, a rate change) start at yes. Then a "
            "note of what the member said; Enter on it keeps the checklist and a note on the account. "
            "{entry_form.clear_record} leaves without keeping anything.")
    DEFAULT_CSS = """
    InquiryDialog #why { padding: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.suggested = {s.item: s for s in energy.suggestions(account_id)}

    def title_text(self) -> str:
        return "High-bill inquiry"

    def compose_about(self) -> ComposeResult:
        why = [f"{energy.CHECKLIST[k]}: {s.why}" for k, s in self.suggested.items() if s.found]
        yield Static(Text("\n".join(why) or "The bills show nothing unusual: ask the member."), id="why")

    def make_form(self) -> StepForm:
        fields = [FieldSpec(k, label[:34], "choice", 3, choices=YES_NO, dup=False,
                            default=lambda r, k=k: "yes" if self.suggested[k].found else "no")
                  for k, label in energy.CHECKLIST.items()]
        fields.append(FieldSpec("note", "Note", "text", 60, dup=False))
        form = StepForm(fields, steps=dict.fromkeys((f.name for f in fields), ""), on_submit=self._keep, id="form")
        form.closes_on_submit = True
        return form

    def _keep(self, record: Record) -> SubmitResult | None:
        try:
            info = energy.record_inquiry(self.app.operator, self.account_id,
                                         {k: record[k] == "yes" for k in energy.CHECKLIST}, record["note"])
        except ServiceError as e:
            return SubmitResult("note", e.message)
        self.dismiss(info)
        return None


class ReferDialog(FormDialog["energy.Referral | None"]):
    """A referral to the energy services consultant: why, a home audit or not, the phone to call."""

    HELP = ("Why the member is referred (high bills, a heat pump or insulation question, a rebate), Y if they want "
            "a home energy audit, the phone the consultant calls (Enter takes the member's); Enter on the last "
            "field puts the member in the consultant's queue. {entry_form.clear_record} leaves.")

    def __init__(self, account_id: int, view: accounts.AccountView) -> None:
        super().__init__()
        self.account_id, self.view = account_id, view

    def title_text(self) -> str:
        return "Refer to the energy services consultant"

    def make_form(self) -> StepForm:
        c = self.view.contact
        phone = c.phone_mobile or c.phone_home or c.phone_work
        fields = [FieldSpec("reason", "Why", "text", 60, mandatory_entry=True, dup=False),
                  FieldSpec("audit", "Home energy audit", "choice", 3, choices=YES_NO, dup=False,
                            default=lambda r: "no"),
                  FieldSpec("phone", "Phone", "digits", 10, dup=False, default=lambda r: phone)]
        form = StepForm(fields, steps=dict.fromkeys(("reason", "audit", "phone"), ""), on_submit=self._refer,
                        id="form")
        form.closes_on_submit = True
        return form

    def _refer(self, record: Record) -> SubmitResult | None:
        try:
            r = energy.refer(self.app.operator, self.account_id, record["reason"],
                             home_audit=record["audit"] == "yes", phone=record["phone"])
        except ServiceError as e:
            return SubmitResult("phone" if e.field == "phone" else "reason", e.message)
        self.dismiss(r)
        return None


class ReferralQueueScreen(Screen):
    """The energy services consultant's queue: referrals not done, oldest first."""

    HELP = ("The members referred to the energy services consultant, oldest first: account, name, phone, why, "
            "whether a home energy audit is wanted, and the status. {referrals.schedule} marks the highlighted "
            "one scheduled; {referrals.done} closes it with what was done; Enter opens the account. "
            "{referrals.back} goes back.")
    BINDINGS = [
        bind("referrals.back", "back", "Back"),
        bind("referrals.schedule", "schedule", "Scheduled"),
        bind("referrals.done", "done", "Done"),
    ]
    DEFAULT_CSS = """
    ReferralQueueScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    ReferralQueueScreen DataTable { height: 1fr; }
    ReferralQueueScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[energy.Referral] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Energy services referrals", id="title")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for label, width in (("Account", 8), ("Name", 18), ("Phone", 12), ("Audit", 5), ("Status", 9),
                             ("Why", 30)):
            t.add_column(label, width=width, key=label.lower())
        self.load()
        t.focus()

    def load(self) -> None:
        self.items = energy.referrals(None)
        t = self.query_one(DataTable)
        t.clear()
        for r in self.items:
            t.add_row(str(r.account_number), r.name, f"{r.phone[:3]}-{r.phone[3:6]}-{r.phone[6:]}" if r.phone else "",
                      "yes" if r.home_audit else "", r.status, r.reason, key=str(r.id))
        fill_width(t, "why", self.size.width, minimum=12)
        self.query_one("#title", Static).update(f"Energy services referrals: {len(self.items)} open")

    @property
    def item(self) -> energy.Referral | None:
        t = self.query_one(DataTable)
        return self.items[t.cursor_row] if self.items and 0 <= t.cursor_row < len(self.items) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.item is not None:
            self.app.open_account(self.item.account_id)

    def action_schedule(self) -> None:
        self._set("scheduled", "")

    def action_done(self) -> None:
        if self.item is not None:
            self.app.push_screen(reason_prompt("What was done?", "Audit made, tips given, rebate applied ..."),
                                 lambda text: text and self._set("done", text))

    def _set(self, status: str, outcome: str) -> None:
        r = self.item
        if r is None:
            return
        try:
            energy.update_referral(self.app.operator, r.id, status, outcome)
        except ServiceError as e:
            self.query_one("#message", Static).update(Text(e.message, style="bold red"))
            return
        self.load()
        self.query_one("#message", Static).update(Text(f"{r.name}: {status}", style="bold green"))

    def action_back(self) -> None:
        self.dismiss(None)
