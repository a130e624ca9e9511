"""Credit lists (Shift+F6, 4): the write-off list (a supervisor approves it), the collection agency
(referral file, the agency's payments), open bankruptcy cases with their adequate assurance, and
the deposit review (installments, refunds after prompt payment, interest). Runs are previewed,
then committed once (services/write_offs.py, deposits.py); Enter opens the highlighted account."""
from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from kec_tui.keymap import bind
from kec_tui.money import fmt, fmt_dollars
from kec_tui.services import bankruptcy, deposits, reports, write_offs
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.dialogs import AskScreen
from kec_tui.widgets.supervisor import SupervisorDialog

TABS = ("writeoffs", "agency", "bankruptcy", "deposits")
TITLES = {"writeoffs": "Write-off list", "agency": "Collection agency", "bankruptcy": "Bankruptcy cases",
          "deposits": "Deposit review"}


def _failed(e: Exception) -> str:
    return e.message if isinstance(e, ServiceError) else f"The database did not answer: {first_line(e)}"


class CreditScreen(Screen):
    """Write-offs, the collection agency, bankruptcy cases and the deposit review, a tab each."""

    HELP = ("Four lists, a key each: {credit.writeoffs} the write-off list (final accounts unpaid 90 days after "
            "the final bill), {credit.agency} the collection agency, {credit.bankruptcy} open bankruptcy cases, "
            "{credit.deposits} the deposit review. {credit.preview} makes the list of today again (the write-off "
            "list and the deposit review are recorded as previews). Write-off list: {credit.leave_out} leaves the "
            "highlighted account out (again: back in), {credit.approve} approves the list: a supervisor signs in "
            "(a supervisor keying it is asked Y), and it is written off once. Agency: accounts to refer and "
            "accounts referred; {credit.refer} refers every account still to refer (the agency's CSV file goes to "
            "the reports folder), {credit.payment} records what the agency (or the member) paid on the highlighted "
            "account. Bankruptcy: each open case with its pre-petition balance and whether the adequate "
            "assurance is furnished, due or overdue. Deposit review: installments to bill, deposits to refund "
            "after 12 months of prompt payment and interest to credit; {credit.approve} then Y does it, once. "
            "Enter opens the highlighted account; {credit.back} leaves.")
    BINDINGS = [     # the Footer shows what fits at 80 columns, the work keys first; F1 lists them all
        bind("credit.approve", "approve", "Approve"),
        bind("credit.leave_out", "leave_out", "Leave out"),
        bind("credit.refer", "refer", "Refer"),
        bind("credit.payment", "payment", "Collected"),
        bind("credit.writeoffs", "tab('writeoffs')", "Write-offs"),
        bind("credit.agency", "tab('agency')", "Agency"),
        bind("credit.bankruptcy", "tab('bankruptcy')", "Bankruptcy"),
        bind("credit.deposits", "tab('deposits')", "Deposits"),
        bind("credit.preview", "preview", "Again"),
        bind("credit.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    CreditScreen #summary { height: 2; padding: 0 1; background: $primary-background; text-style: bold; }
    CreditScreen TabbedContent { height: 1fr; }
    CreditScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.today = dt.date.today()
        self.writeoff_list: write_offs.WriteOffList | None = None
        self.left_out: set[int] = set()
        self.review: deposits.Review | None = None
        self.to_refer: list[write_offs.Candidate] = []
        self.summaries: dict[str, str] = dict.fromkeys(TABS, "")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="summary")
        with TabbedContent(initial="writeoffs"):
            for tab in TABS:
                with TabPane(TITLES[tab], id=tab):
                    yield DataTable(id=f"{tab}-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        cols = {"writeoffs": ("Account", "Owed", "Final bill", "Days", "Name", "Status"),
                "agency": ("Account", "Owed", "Referred", "Collected", "Name", "Status"),
                "bankruptcy": ("Account", "Case", "Ch", "Filed", "Pre-petition", "Name", "Assurance"),
                "deposits": ("Account", "What", "Amount", "Name", "")}
        for tab, names in cols.items():
            self.query_one(f"#{tab}-table", DataTable).add_columns(*names)
        self.action_tab("writeoffs")
        self.load_all()

    # -- loading: each list in a worker; the screen shows them as they come
    @work(thread=True, exclusive=True, group="credit")
    def load_all(self) -> None:
        for tab in TABS:
            self.load(tab)

    def load(self, tab: str) -> None:
        """(worker thread) make one tab's list and show it."""
        op = self.app.operator
        try:
            if tab == "writeoffs":
                result = write_offs.preview(op, self.today) if op.can("collections.act") else \
                    "The write-off list is for collections staff and supervisors"
            elif tab == "agency":
                result = (write_offs.referral_candidates(self.today), write_offs.referrals("open"))
            elif tab == "bankruptcy":
                result = bankruptcy.cases("open", self.today)
            else:
                result = deposits.preview(op, self.today) if op.can("deposit.bill") else \
                    "The deposit review is for MSRs, collections staff and supervisors"
        except Exception as e:  # noqa: BLE001 - a refusal or a database that does not answer: a message
            result = _failed(e)
        self.app.call_from_thread(self.show, tab, result)

    def show(self, tab: str, result) -> None:
        table = self.query_one(f"#{tab}-table", DataTable)
        table.clear()
        if isinstance(result, str):
            self.summaries[tab] = result
        elif tab == "writeoffs":
            self.writeoff_list, self.left_out = result, set()
            for c in result.items:
                table.add_row(str(c.number), Text(fmt(c.balance_cents), justify="right"),
                              f"{c.final_bill_on:%m/%d/%Y}" if c.final_bill_on else "", str(c.days), c.name[:24],
                              "", key=str(c.account_id))
            self.summaries[tab] = self.writeoff_text()
        elif tab == "agency":
            self.to_refer, referred = result
            for c in self.to_refer:
                table.add_row(str(c.number), Text(fmt(c.balance_cents), justify="right"), "", "", c.name[:24],
                              "to refer", key=f"c{c.account_id}")
            for r in referred:
                table.add_row(str(r.number), Text(fmt(r.amount_cents), justify="right"), f"{r.referred_on:%m/%d/%Y}",
                              Text(fmt(r.collected_cents), justify="right"), r.name[:24], r.agency[:20],
                              key=f"r{r.account_id}")
            owed = fmt_dollars(sum(c.balance_cents for c in self.to_refer))
            self.summaries[tab] = f"{len(self.to_refer)} to refer {owed}; {len(referred)} with the agency"
        elif tab == "bankruptcy":
            for c in result:
                style = "bold red" if c.assurance.state == "overdue" else ""
                table.add_row(str(c.number), c.case_no, str(c.chapter), f"{c.filed_on:%m/%d/%Y}",
                              Text(fmt(c.pre_petition_cents), justify="right"), c.name[:20],
                              Text(c.assurance.state, style=style), key=str(c.account_id))
            overdue = sum(c.assurance.state == "overdue" for c in result)
            self.summaries[tab] = f"{len(result)} open cases; adequate assurance overdue on {overdue}"
        else:
            self.review = result
            for i, item in enumerate(result.items):
                table.add_row(str(item.number), item.kind, Text(fmt(item.cents), justify="right"), item.name[:24],
                              item.text[:40], key=f"{item.account_id}:{i}")
            self.summaries[tab] = (f"Deposit review {result.run_date:%m/%d/%Y}: {len(result.items)} items, "
                                   f"billed {fmt_dollars(result.billed_cents)}, credited "
                                   f"{fmt_dollars(result.credited_cents)}"
                                   + (" (done)" if result.status == "committed" else ""))
        self.show_summary()

    def writeoff_text(self) -> str:
        w = self.writeoff_list
        if w is None:
            return ""
        n = len(w.items) - len(self.left_out)
        total = sum(c.balance_cents for c in w.items if c.account_id not in self.left_out)
        state = "approved" if w.status == "committed" else "to approve"
        return (f"Write-off list {w.run_date:%m/%d/%Y} (final bill {w.after_days}+ days ago): {n} "
                f"account{'s' * (n != 1)} "
                f"{fmt_dollars(total)} {state}" + (f", {len(self.left_out)} left out" if self.left_out else ""))

    def current(self) -> str:
        return self.query_one(TabbedContent).active or "writeoffs"

    def show_summary(self) -> None:
        self.query_one("#summary", Static).update(Text(self.summaries.get(self.current(), "")))

    @on(TabbedContent.TabActivated)
    def tab_changed(self) -> None:
        self.show_summary()

    def highlighted_key(self) -> str | None:
        table = self.query_one(f"#{self.current()}-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    # -- keys
    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(f"#{tab}-table", DataTable).focus()
        self.show_summary()

    def action_preview(self) -> None:
        self.refresh_tab(self.current())

    @work(thread=True, exclusive=True, group="credit")
    def refresh_tab(self, tab: str) -> None:
        self.load(tab)

    @on(DataTable.RowSelected)
    def open_account(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        self.app.open_account(int(key.lstrip("cr").split(":")[0]))

    def action_leave_out(self) -> None:
        if self.current() != "writeoffs" or self.writeoff_list is None or self.writeoff_list.status == "committed":
            return
        key = self.highlighted_key()
        if key is None:
            return
        aid = int(key)
        self.left_out ^= {aid}
        table = self.query_one("#writeoffs-table", DataTable)
        table.update_cell(key, table.ordered_columns[-1].key, "left out" if aid in self.left_out else "")
        self.summaries["writeoffs"] = self.writeoff_text()
        self.show_summary()

    def action_approve(self) -> None:
        tab = self.current()
        op = self.app.operator
        if tab == "writeoffs":
            w = self.writeoff_list
            if w is None or w.status == "committed" or len(w.items) == len(self.left_out):
                self.notify("Nothing to approve on the write-off list", severity="warning")
                return
            if not op.can("collections.act"):
                self.notify(f"The write-off list is for collections staff and supervisors ({op.role} may not)",
                            severity="warning")
                return
            about = self.writeoff_text()
            if op.can("writeoff"):
                self.app.push_screen(AskScreen("Write these accounts off?", about),
                                     lambda yes: self.write_off(w.run_id, None) if yes else None)
            else:
                self.app.push_screen(SupervisorDialog("Approve the write-off list", about, permission="writeoff",
                                                      what="approve a write-off"),
                                     lambda who: self.write_off(w.run_id, who) if who else None)
        elif tab == "deposits":
            r = self.review
            if r is None or r.status == "committed" or not r.items:
                self.notify("Nothing to do in the deposit review", severity="warning")
                return
            self.app.push_screen(AskScreen(f"Do the deposit review of {r.run_date:%m/%d/%Y}?",
                                           self.summaries["deposits"]),
                                 lambda yes: self.commit_review(r.run_id) if yes else None)

    @work(thread=True, exclusive=True, group="credit")
    def write_off(self, run_id: int, supervisor) -> None:
        try:
            done = write_offs.approve(self.app.operator, run_id, supervisor=supervisor,
                                      leave_out=tuple(self.left_out))
            text, severity = (f"Written off: {len(done.items)} accounts, {fmt_dollars(done.total_cents)}",
                              "information")
        except Exception as e:  # noqa: BLE001
            text, severity = _failed(e), "warning"
        self.app.call_from_thread(self.notify, text, severity=severity, timeout=10)
        self.load("writeoffs")
        self.load("agency")

    @work(thread=True, exclusive=True, group="credit")
    def commit_review(self, run_id: int) -> None:
        try:
            done = deposits.commit(self.app.operator, run_id)
            text, severity = f"Deposit review done: {len(done.items)} items", "information"
        except Exception as e:  # noqa: BLE001
            text, severity = _failed(e), "warning"
        self.app.call_from_thread(self.notify, text, severity=severity, timeout=10)
        self.load("deposits")

    def action_refer(self) -> None:
        if self.current() != "agency":
            return
        if not self.to_refer:
            self.notify("No account to refer to the agency", severity="warning")
            return
        n = len(self.to_refer)
        self.app.push_screen(AskScreen(f"Refer {n} account{'s' * (n != 1)} to the agency?",
                                       self.summaries["agency"]),
                             lambda yes: self.refer([c.account_id for c in self.to_refer]) if yes else None)

    @work(thread=True, exclusive=True, group="credit")
    def refer(self, ids: list[int]) -> None:
        try:
            f = write_offs.refer(self.app.operator, ids, reports.reports_dir(self.app.settings))
            text, severity = (f"Referred {len(f.referrals)} accounts {fmt_dollars(f.total_cents)}: {f.path}",
                              "information")
        except Exception as e:  # noqa: BLE001
            text, severity = _failed(e), "warning"
        self.app.call_from_thread(self.notify, text, severity=severity, timeout=15)
        self.load("agency")

    def action_payment(self) -> None:
        key = self.highlighted_key() if self.current() == "agency" else None
        if key is None:
            self.notify("Highlight an account in the Agency list to record what was collected",
                        severity="warning")
            return
        self.app.open("agency_payment", int(key[1:]),   # with the agency, or written off (a recovery)
                      callback=lambda done: done and self.refresh_tab("agency"))

    def action_back(self) -> None:
        self.app.leave(self)
