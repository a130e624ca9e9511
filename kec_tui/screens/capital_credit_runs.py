"""Capital credit runs (billing staff, supervisors): the allocation of a year's margin and the general
retirements, each previewed here, approved by a supervisor and committed once; the unclaimed-property
report and cashed checks. The work is done by services/capital_credits.py."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kec_tui import money
from kec_tui.keymap import bind, keys_text
from kec_tui.services import capital_credits as cc
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.services.reports import reports_dir
from kec_tui.widgets.dialogs import ConfirmScreen
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.form_dialog import FormDialog
from kec_tui.widgets.step_form import StepForm
from kec_tui.widgets.supervisor import SupervisorDialog
from kec_tui.widgets.tables import fill_width

STATE_STYLE = {"previewed": "bold yellow", "approved": "bold green", "committing": "bold red", "committed": "dim"}


class AllocationDialog(FormDialog["cc.Allocation | None"]):
    """The year and its margin: the allocation is previewed (nothing is written to members yet)."""

    HELP = ("Key the year whose margins are allocated (a year that has ended), Enter, and the margin to allocate "
            "in dollars, Enter: the allocation is previewed: each member's share of the margin in proportion to "
            "the revenue billed to their accounts that year, adding up to the margin to the cent. A supervisor "
            "approves it, then it is committed once. {entry_form.clear_record} leaves.")

    def title_text(self) -> str:
        return "Allocate a year's margin"

    def make_form(self) -> StepForm:
        fields = [FieldSpec("year", "Year", "digits", 4, mandatory_entry=True, dup=False),
                  FieldSpec("margin", "Margin to allocate", "money", 14, mandatory_entry=True, dup=False)]
        form = StepForm(fields, steps=dict.fromkeys(("year", "margin"), ""), on_submit=self._preview, id="form")
        form.closes_on_submit = True
        return form

    def _preview(self, record: Record) -> SubmitResult | None:
        try:
            alloc = cc.preview_allocation(self.app.operator, int(record["year"]), money.parse(record["margin"]))
        except money.MoneyError as e:
            return SubmitResult("margin", str(e))
        except ServiceError as e:
            return SubmitResult("margin" if e.field == "margin" else "year", e.message)
        self.dismiss(alloc)
        return None


class RetirementDialog(FormDialog["cc.Retirement | None"]):
    """The years and the percentage of a general retirement: previewed (nothing is paid yet)."""

    HELP = ("Key the years to retire (YYYY, a range YYYY-YYYY or a list; Enter on an empty field takes the oldest "
            "year with credits left) and the percentage of each year's allocation (Enter: 100), Enter: the "
            "retirement is previewed: active members get a bill credit, inactive members a check when it reaches "
            "the minimum; below it their credits wait for the next retirement. {entry_form.clear_record} leaves.")

    def title_text(self) -> str:
        return "General retirement"

    def make_form(self) -> StepForm:
        oldest = cc.oldest_years(1)
        fields = [FieldSpec("years", "Years", "text", 30, dup=False, validate=self._years,
                            default=lambda r: str(oldest[0]) if oldest else ""),
                  FieldSpec("percent", "Percent of each year", "text", 6, dup=False, default=lambda r: "100")]
        form = StepForm(fields, steps=dict.fromkeys(("years", "percent"), ""), on_submit=self._preview, id="form")
        form.closes_on_submit = True
        return form

    @staticmethod
    def _years(value: str, record: Record) -> str | None:
        try:
            cc.parse_years(value)
        except ServiceError as e:
            return e.message
        return None

    def _preview(self, record: Record) -> SubmitResult | None:
        try:
            ret = cc.preview_retirement(self.app.operator, cc.parse_years(record["years"]), record["percent"])
        except ServiceError as e:
            return SubmitResult("percent" if e.field == "percent" else "years", e.message)
        self.dismiss(ret)
        return None


class CashedDialog(FormDialog["int | None"]):
    """A capital credit check the bank cleared."""

    HELP = "Key the check number, Enter: the check is recorded as cashed. {entry_form.clear_record} leaves."

    def title_text(self) -> str:
        return "A check cashed"

    def make_form(self) -> StepForm:
        form = StepForm([FieldSpec("check", "Check no.", "digits", 9, mandatory_entry=True, dup=False)],
                        steps={"check": ""}, on_submit=self._record, id="form")
        form.closes_on_submit = True
        return form

    def _record(self, record: Record) -> SubmitResult | None:
        try:
            cc.record_cashed(self.app.operator, int(record["check"]))
        except ServiceError as e:
            return SubmitResult("check", e.message)
        self.dismiss(int(record["check"]))
        return None


class CapitalCreditRunsScreen(Screen):
    """The runs, newest first; a new allocation or retirement previewed, approved, committed."""

    HELP = ("Capital credit runs, newest first: what each is, its state (previewed, approved, committed), members "
            "and amount. {capital_credit_runs.allocate} previews the allocation of a year's margin; "
            "{capital_credit_runs.retire} previews a general retirement (years and percent). On the highlighted "
            "run {capital_credit_runs.approve} approves it (a supervisor, or one signs in) and "
            "{capital_credit_runs.commit} commits it, once: allocations to every member, retirements as bill "
            "credits and checks. {capital_credit_runs.unclaimed} writes the unclaimed-property report of checks "
            "not cashed in time (CSV and PDF to the reports folder), {capital_credit_runs.cashed} records a check "
            "the bank cleared. {capital_credit_runs.back} goes back.")
    BINDINGS = [
        bind("capital_credit_runs.back", "back", "Back"),
        bind("capital_credit_runs.allocate", "allocate", "Allocate"),
        bind("capital_credit_runs.retire", "retire", "Retire"),
        bind("capital_credit_runs.approve", "approve", "Approve"),
        bind("capital_credit_runs.commit", "commit", "Commit"),
        bind("capital_credit_runs.unclaimed", "unclaimed", "Unclaimed"),
        bind("capital_credit_runs.cashed", "cashed", "Cashed", show=False),
    ]
    DEFAULT_CSS = """
    CapitalCreditRunsScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    CapitalCreditRunsScreen #rules { height: auto; padding: 0 1; color: $text-muted; }
    CapitalCreditRunsScreen #runs { height: 1fr; }
    CapitalCreditRunsScreen #detail { height: auto; padding: 0 1; border-top: hkey $primary; }
    CapitalCreditRunsScreen #message { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[cc.RunInfo] = []
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Capital credit runs", id="title")
        yield Static("", id="rules")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        r = cc.rules()
        self.query_one("#rules", Static).update(Text(
            f"Rotation {r.rotation_years} years; early and estate retirement at {r.discount_percent}%/yr; "
            f"checks from {money.fmt_dollars(r.minimum_check_cents)}; unclaimed after {r.unclaimed_days} days"))
        t = self.query_one("#runs", DataTable)
        for label, width in (("Run", 40), ("State", 10), ("Members", 9), ("Amount", 16)):
            t.add_column(label, width=width, key=label.lower())
        self.load()
        t.focus()

    def load(self, select: int | None = None) -> None:
        self.items = cc.runs()
        t = self.query_one("#runs", DataTable)
        t.clear()
        for r in self.items:
            count, total = (r.count, r.total_cents) if r.status == "committed" else (r.preview_count,
                                                                                      r.preview_total_cents)
            t.add_row(r.label, Text(r.status, style=STATE_STYLE.get(r.status, "")),
                      Text(f"{count:,}", justify="right"), Text(money.fmt_dollars(total), justify="right"),
                      key=str(r.id))
        if select is not None:
            t.move_cursor(row=next((i for i, r in enumerate(self.items) if r.id == select), 0))
        fill_width(t, "run", self.size.width, minimum=20, ids=("members", "amount"))
        if not self.items:
            self.say(f"No runs yet: {keys_text('capital_credit_runs.allocate')} allocates a year's margin.")

    def on_resize(self) -> None:
        if self.items:
            fill_width(self.query_one("#runs", DataTable), "run", self.size.width, minimum=20,
                       ids=("members", "amount"))

    @property
    def run(self) -> cc.RunInfo | None:
        t = self.query_one("#runs", DataTable)
        return self.items[t.cursor_row] if self.items and 0 <= t.cursor_row < len(self.items) else None

    def say(self, text: str, error: bool = False) -> None:
        if self.is_attached:
            self.query_one("#message", Static).update(Text(text, style="bold red" if error else "bold"))

    def detail(self, text: str) -> None:
        self.query_one("#detail", Static).update(Text(text))

    def _may_run(self) -> bool:
        if self.app.operator.can("capital_credits.run"):
            return True
        self.say("Capital credit runs are made by billing staff and supervisors", error=True)
        return False

    # -- previews
    def action_allocate(self) -> None:
        if self._may_run():
            self.app.push_screen(AllocationDialog(), self._allocated)

    def _allocated(self, alloc: cc.Allocation | None) -> None:
        if alloc is None:
            return
        self.load(select=alloc.run.id)
        self.detail(f"{alloc.year}: margin {money.fmt_dollars(alloc.margin_cents)} over revenue "
                    f"{money.fmt_dollars(alloc.revenue_cents)} (factor {alloc.factor}), {len(alloc.shares):,} "
                    f"members; the shares add up to the margin to the cent.")
        self.say(f"Previewed. {keys_text('capital_credit_runs.approve')} approves it (a supervisor).")

    def action_retire(self) -> None:
        if self._may_run():
            self.app.push_screen(RetirementDialog(), self._retired)

    def _retired(self, ret: cc.Retirement | None) -> None:
        if ret is None:
            return
        self.load(select=ret.run.id)
        credits = sum(1 for p in ret.payments if p.method == "credit")
        checks = len(ret.payments) - credits
        self.detail(f"{credits:,} bill credits {money.fmt_dollars(ret.credit_cents)}; {checks:,} checks "
                    f"{money.fmt_dollars(ret.check_cents)}; {len(ret.held):,} members under the minimum check wait "
                    f"({money.fmt_dollars(sum(p.cents for p in ret.held))}).")
        self.say(f"Previewed. {keys_text('capital_credit_runs.approve')} approves it (a supervisor).")

    # -- approve, commit
    def action_approve(self) -> None:
        run, op = self.run, self.app.operator
        if run is None:
            return
        about = f"{run.label}: {run.preview_count:,} members, {money.fmt_dollars(run.preview_total_cents)}."
        if op.can("capital_credits.approve"):
            self.app.push_screen(ConfirmScreen("Approve the run?", about), lambda yes: yes and self._approve(op))
            return
        self.app.push_screen(SupervisorDialog("Approve the capital credit run: a supervisor signs in",
                                              about + f" Only a supervisor approves ({op.username} is {op.role}).",
                                              permission="capital_credits.approve", what="approve a run"),
                             lambda sup: sup and self._approve(sup))

    def _approve(self, who) -> None:
        run = self.run
        try:
            cc.approve(who, run.id)
        except ServiceError as e:
            self.say(e.message, error=True)
            return
        self.load(select=run.id)
        self.say(f"Approved by {who.username}. {keys_text('capital_credit_runs.commit')} commits it.")

    def action_commit(self) -> None:
        run = self.run
        if run is None or self.busy or not self._may_run():
            return
        if run.status != "approved":
            self._start_commit(run)          # the service says why, writing nothing
            return
        self.app.push_screen(ConfirmScreen(f"Commit {run.label}?", f"{run.preview_count:,} members, "
                                           f"{money.fmt_dollars(run.preview_total_cents)}. A run is committed once "
                                           f"and cannot be undone."),
                             lambda yes: yes and self._start_commit(run))

    def _start_commit(self, run: cc.RunInfo) -> None:
        self.busy = True
        self.say("Committing ...")
        self._commit_worker(run)

    @work(thread=True, exclusive=True, group="capital_credits")
    def _commit_worker(self, run: cc.RunInfo) -> None:
        commit = cc.commit_allocation if run.kind == "allocation" else cc.commit_retirement
        try:
            done = commit(self.app.operator, run.id)
        except ServiceError as e:
            self.app.call_from_thread(self._finished, run.id, e.message, True)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self._finished, run.id, f"The commit did not finish: {first_line(e)}. "
                                      f"{keys_text('capital_credit_runs.commit')} again finishes it", True)
            return
        self.app.call_from_thread(self._finished, run.id, f"Committed: {done.count:,} members, "
                                                          f"{money.fmt_dollars(done.total_cents)}", False)

    def _finished(self, run_id: int, text: str, error: bool) -> None:
        self.busy = False
        if self.is_attached:
            self.load(select=run_id)
            self.say(text, error)

    # -- checks
    def action_unclaimed(self) -> None:
        if not self._may_run():
            return
        try:
            items, (csv_path, pdf_path) = cc.unclaimed_report(self.app.operator, reports_dir(self.app.settings))
        except ServiceError as e:
            self.say(e.message, error=True)
            return
        self.say(f"{len(items):,} unclaimed checks, {money.fmt_dollars(sum(u.cents for u in items))}: "
                 f"{csv_path} and {pdf_path.name}")

    def action_cashed(self) -> None:
        if self._may_run():
            self.app.push_screen(CashedDialog(), lambda no: no and self.say(f"Check {no} recorded as cashed"))

    def action_back(self) -> None:
        self.dismiss(None)
