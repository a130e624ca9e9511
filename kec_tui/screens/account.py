"""The account: who, what they owe, how they use power, and everything that happened."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Sparkline, Static, TabbedContent, TabPane

from kec_tui.keymap import bind, keys_text
from kec_tui.money import fmt, fmt_dollars
from kec_tui.services import accounts, arrangements, assistance, audit, bankruptcy, deposits, moves, outages, returns
from kec_tui.services.accounts import AccountView, format_phone
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.dialogs import MenuScreen, menu_items
from kec_tui.widgets.prompt import reason_prompt
from kec_tui.widgets.tables import fill_width

LEDGER_PAGE = 40


def money_terms(info: arrangements.ArrangementInfo) -> str:
    return arrangements.terms_text(info.total_cents, info.down_cents, info.installments, info.mode,
                                   next((i.due_date for i in info.schedule if i.seq == 1), None))


def summary_text(v: AccountView) -> Text:
    t = Text()
    t.append("Balance    ", style="dim")
    t.append(f"{fmt_dollars(v.balance_cents):>12}\n", style="bold" if v.balance_cents > 0 else "green")
    t.append("Amount due ", style="dim")
    t.append(f"{fmt_dollars(v.amount_due_cents):>12}\n", style="bold")
    t.append("Past due   ", style="dim")
    t.append(f"{fmt_dollars(v.past_due_cents):>12}\n", style="bold red" if v.past_due_cents else "")
    t.append("Due date   ", style="dim")
    t.append(f"{v.due_date:%m/%d/%Y}\n" if v.due_date else "-\n")
    t.append("Last paid  ", style="dim")
    t.append(f"{fmt_dollars(v.last_payment[1])} {v.last_payment[0]:%m/%d/%y}\n" if v.last_payment else "-\n")
    t.append("Deposit    ", style="dim")
    t.append(f"{fmt_dollars(v.deposit_cents):>12}")
    return t


def contact_text(v: AccountView) -> Text:
    c = v.contact
    t = Text()
    for label, phone in (("Home ", c.phone_home), ("Cell ", c.phone_mobile), ("Work ", c.phone_work)):
        if phone:
            t.append(label, style="dim")
            t.append(format_phone(phone) + "\n")
    t.append("Email ", style="dim")
    t.append((c.email or "-") + "\n")
    t.append("Mail  ", style="dim")
    t.append(f"{c.mail_street}, {c.mail_city} {c.mail_state} {c.mail_zip}\n")
    t.append("Prefers ", style="dim")
    t.append(c.preferred_contact)
    for _, name, relation, phone in c.authorized:
        t.append(f"\nAuth: {name} ({relation}) {format_phone(phone)}".rstrip())
    return t


def location_text(v: AccountView) -> Text:
    """Numbers first, each on a line of its own, the address last: at 80 columns the box is
    short, and what it cuts must be the end of an address, never a number."""
    t = Text()
    t.append("Meter   ", style="dim")
    t.append((v.meter_no or "none") + f"   Rate {v.rate_class}\n")
    t.append("Member  ", style="dim")
    t.append(f"#{v.member_no}\n")
    t.append("Tax ID  ", style="dim")
    t.append(v.tax_id_masked + "\n")
    if v.bank_masked:
        t.append("Autopay ", style="dim")
        t.append(f"bank {v.bank_masked}\n")
    if v.other_accounts:
        t.append("Also    ", style="dim")
        t.append(", ".join(str(n) for n in v.other_accounts[:4]) + "\n")
    t.append("Map     ", style="dim")
    t.append((v.map_location or "-") + "\n")
    if v.owner:
        t.append("Owner   ", style="dim")
        t.append(v.owner + "\n")
    t.append("Service ", style="dim")
    t.append(v.service_address)
    return t


class AccountScreen(Screen):
    """One account: balance and due, flags, contacts, location, usage, ledger, orders, notes, history."""

    HELP = ("The account at a glance. The ledger is newest first with the running balance; scroll "
            "down for older entries. {account.contacts} updates contact details (each change is logged with your "
            "name), {account.note} adds a note. {account.ledger}, {account.orders}, {account.notes} and "
            "{account.history} switch between ledger, orders, notes and change history. "
            "{account.order} creates a service order for the account, {account.move} moves the service to a new "
            "location (final read, balance carried), {account.close} closes the account. "
            "{account.bills} lists the bills (explain, compare, calculator, statement), {account.adjust} adjusts the "
            "account (credit or debit with a reason), {account.outage} logs an outage call (what the caller sees, "
            "the callback; the outage's estimate read back), {account.counter} takes a counter payment (tenders, "
            "items, change, receipt). {account.more} opens the account's menu of the rest (its number or Up/Down "
            "and Enter): the member's capital credits (by year, early and estate retirement), energy use (this "
            "year against last, tips, the high-bill checklist, a referral to the energy consultant), write-offs, "
            "bankruptcy, a payment arrangement (down payment, installments, the agreement printed; on an active "
            "one: cancel it), an energy-assistance pledge (agency, amount, expiry), an energy-assistance application "
            "helped (the last item: Up/Down and Enter) and more. "
            "{account.portal} opens the member's online account (enroll, unlock, reset link, e-mail), "
            "{account.deposit} bills a deposit; write-offs, bankruptcy cases and autopay (enroll, change the bank "
            "account, stop; the bank number masked) are in the menu. {app.lookup} goes "
            "back to lookup from anywhere.")
    BINDINGS = [
        bind("account.back", "back", "Back"),
        bind("account.contacts", "contacts", "Contacts"),
        bind("account.note", "note", "Note"),
        bind("account.ledger", "tab('ledger')", "Ledger"),
        bind("account.orders", "tab('orders')", "Orders"),
        bind("account.notes", "tab('notes')", "Notes"),
        bind("account.history", "tab('history')", "History"),
        bind("account.refresh", "refresh", "Refresh", show=False),
        bind("account.reveal", "reveal", "Show bank no.", show=False),
        bind("account.order", "new_order", "Order"),
        bind("account.move", "move", "Move"),
        bind("account.close", "close_account", "Close acct"),
        bind("account.return_payment", "return_payment", "Return payment", show=False),
        bind("account.bills", "bills", "Bills"),
        bind("account.adjust", "adjust", "Adjust", show=False),
        bind("account.outage", "outage_call", "Outage call", show=False),
        bind("account.counter", "counter", "Counter payment", show=False),
        bind("account.more", "more", "More"),
        bind("account.portal", "portal", "Online account", show=False),
        bind("account.deposit", "deposit", "Deposit", show=False),
    ]
    # The account's menu (F8): (action, what it does[, the binding of its own key]).
    MORE = (("capital_credits", "Capital credits: by year, early and estate retirement"),
            ("energy", "Energy use: this year against last, high-bill checklist, referral"),
            ("write_off", "Write off a final account (a supervisor approves)"),
            ("bankruptcy", "Bankruptcy: record the case, or close it"),
            ("arrangement", "Payment arrangement (on an active one: cancel it)"),
            ("pledge", "Energy-assistance pledge"),
            ("autopay", "Autopay: enroll, change the bank account, stop"),
            ("outage_call", "Outage call", "account.outage"),
            ("counter", "Counter payment", "account.counter"),
            ("portal", "Online account", "account.portal"),
            ("deposit", "Deposit", "account.deposit"),
            ("assistance_application", "Energy-assistance application helped (agency, date, note)"))
    DEFAULT_CSS = """
    AccountScreen #title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    AccountScreen #flags { height: auto; padding: 0 1; }
    AccountScreen #top { height: auto; max-height: 8; }
    AccountScreen #summary { width: 31; padding: 0 1; }
    AccountScreen #contact { width: 1fr; padding: 0 1; border-left: vkey $primary; }
    AccountScreen #location { width: 1fr; padding: 0 1; border-left: vkey $primary; }
    AccountScreen #usage-row { height: 2; }
    AccountScreen #usage-label { width: 31; padding: 0 1; }
    AccountScreen Sparkline { width: 1fr; height: 2; }
    AccountScreen TabbedContent { height: 1fr; }
    AccountScreen DataTable { height: 1fr; }
    """

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.view: AccountView | None = None
        self._ledger_end = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="title")
        yield Static("", id="flags", classes="flags")
        with Horizontal(id="top"):
            yield Static("", id="summary")
            yield Static("", id="contact")
            yield Static("", id="location")
        with Horizontal(id="usage-row"):
            yield Static("", id="usage-label")
            yield Sparkline([], id="usage")
        with TabbedContent(initial="ledger"):
            with TabPane("Ledger", id="ledger"):
                yield DataTable(id="ledger-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Orders", id="orders"):
                yield DataTable(id="orders-table", cursor_type="row")
            with TabPane("Notes", id="notes"):
                yield DataTable(id="notes-table", cursor_type="row")
            with TabPane("History", id="history"):
                yield DataTable(id="history-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#ledger-table", DataTable)
        for label, width in (("Date", 10), ("Type", 10), ("Description", 16), ("Ref", 10), ("Amount", 10),
                             ("Balance", 10)):
            t.add_column(label, width=width, key=label.lower())
        self.query_one("#orders-table", DataTable).add_columns("Order", "Type", "Status", "Pri", "Due", "Created",
                                                              "Notes")
        self.query_one("#notes-table", DataTable).add_columns("When", "By", "Note")
        self.query_one("#history-table", DataTable).add_columns("When", "By", "Action", "Field", "Before", "After")
        self.refresh_all()
        t.focus()

    def refresh_all(self) -> None:
        try:
            v = self.view = accounts.view(self.account_id)
        except accounts.NotFound as e:
            self.notify(e.message, severity="error")
            self.app.leave(self)
            return
        # Text, not markup: a name with "[" in it must print as typed.
        self.query_one("#title", Static).update(Text(
            f"{v.number}  {v.name}  [{v.status.upper()}]  opened {v.opened:%m/%d/%Y}"
            + (f"  closed {v.closed:%m/%d/%Y}" if v.closed else "")))
        flags = [*v.flags, *(f for f in (arrangements.flag_text(v.id), assistance.flag_text(v.id)) if f)]
        self.query_one("#flags", Static).update(Text("  ".join(flags)))
        self.query_one("#flags").display = bool(flags)
        self.query_one("#summary", Static).update(summary_text(v))
        self.query_one("#contact", Static).update(contact_text(v))
        self.query_one("#location", Static).update(location_text(v))
        kwh = [k for _, k in v.usage]
        self.query_one(Sparkline).data = kwh
        if kwh:
            label = f"Usage {len(kwh)} mo, last {kwh[-1]:,}\navg {sum(kwh) // len(kwh):,} kWh/mo"
        else:
            label = "No readings yet"
        self.query_one("#usage-label", Static).update(label)
        self.load_ledger(reset=True)
        self.load_lists()

    def load_ledger(self, reset: bool = False) -> None:
        table = self.query_one("#ledger-table", DataTable)
        before = None
        if reset:
            table.clear()
            self._ledger_end = False
        elif table.row_count:
            before = int(table.coordinate_to_cell_key((table.row_count - 1, 0)).row_key.value)
        lines = accounts.ledger_page(self.account_id, LEDGER_PAGE, before)
        if len(lines) < LEDGER_PAGE:
            self._ledger_end = True
        for ln in lines:
            amount = Text(fmt(ln.amount_cents), style="green" if ln.amount_cents < 0 else "")
            table.add_row(f"{ln.effective:%m/%d/%Y}", ln.kind, ln.description, ln.reference,
                          Text.assemble(amount, justify="right"), Text(fmt(ln.balance_cents), justify="right"),
                          key=str(ln.id))
        self.fit_ledger()

    def on_resize(self) -> None:
        self.fit_ledger()

    def fit_ledger(self) -> None:
        fill_width(self.query_one("#ledger-table", DataTable), "description", self.size.width, minimum=10,
                   ids=("ref", "amount", "balance"))

    @on(DataTable.RowHighlighted, "#ledger-table")
    def ledger_scrolled(self, event: DataTable.RowHighlighted) -> None:
        if not self._ledger_end and event.cursor_row >= event.data_table.row_count - 5:
            self.load_ledger()

    def load_lists(self) -> None:
        orders = self.query_one("#orders-table", DataTable)
        orders.clear()
        for o in accounts.orders(self.account_id):
            orders.add_row(str(o.order_no), o.kind, o.status, str(o.priority),
                           f"{o.due_date:%m/%d/%Y}" if o.due_date else "", f"{o.created_at:%m/%d/%Y}", o.notes[:40])
        notes = self.query_one("#notes-table", DataTable)
        notes.clear()
        for n in accounts.notes(self.account_id):
            notes.add_row(f"{n.created_at:%m/%d/%Y %H:%M}", n.operator, n.text[:200])
        history = self.query_one("#history-table", DataTable)
        history.clear()
        for h in audit.for_account(self.account_id):
            history.add_row(f"{h.at:%m/%d/%Y %H:%M}", h.operator, h.action, h.field, h.before[:30], h.after[:30])

    # -- payment arrangements and energy-assistance pledges (screens/arrangement.py, assistance.py)
    def action_arrangement(self) -> None:
        op = self.app.operator
        if not op.can("arrangement.make"):
            self.notify(f"Payment arrangements are made by MSRs, collections staff and supervisors ({op.role} may "
                        f"not)", severity="warning")
            return
        found = arrangements.current(self.account_id)
        if found is not None and found[0].status == "active":
            info = found[0]
            what = (f"{arrangements.flag_text(self.account_id)}. Agreed {info.agreed_on:%m/%d/%Y} by "
                    f"{info.operator or '-'}: {money_terms(info)}. Cancel it only at the member's request.")
            self.app.push_screen(reason_prompt("Cancel the payment arrangement?", what,
                                               placeholder="Why the arrangement is cancelled"),
                                 lambda reason: reason and self._cancel_arrangement(info.id, reason))
            return
        if self.view is None or self.view.balance_cents <= 0:
            self.notify("Nothing owed: no arrangement to make", severity="warning")
            return

        def agreed(done) -> None:
            if done is not None:
                self.notify(f"Arrangement agreed: {done.installments} installments", timeout=6)
                self.refresh_all()
        self.app.open("arrangement", self.account_id, callback=agreed)

    def _cancel_arrangement(self, arrangement_id: int, reason: str) -> None:
        try:
            arrangements.cancel(self.app.operator, arrangement_id, reason)
        except ServiceError as e:
            self.notify(e.message, severity="warning")
            return
        self.notify("Arrangement cancelled: collection resumes")
        self.refresh_all()

    def action_pledge(self) -> None:
        op = self.app.operator
        if not op.can("assistance.record"):
            self.notify(f"Pledges are recorded by MSRs, collections staff and supervisors ({op.role} may not)",
                        severity="warning")
            return

        def recorded(done) -> None:
            if done is not None:
                self.notify(f"Pledge recorded: {done.agency} {fmt_dollars(done.amount_cents)}, disconnection held "
                            f"until {done.holds_until:%m/%d/%Y}", timeout=6)
                self.refresh_all()
        self.app.open("pledge", self.account_id, callback=recorded)

    def action_assistance_application(self) -> None:
        op = self.app.operator
        if not op.can("assistance.record"):
            self.notify(f"Applications are recorded by MSRs, collections staff and supervisors ({op.role} may not)",
                        severity="warning")
            return

        def recorded(done) -> None:
            if done is not None:
                self.notify("Application recorded (a note on the account)", timeout=6)
                self.refresh_all()
        self.app.open("assistance_application", self.account_id, callback=recorded)

    def action_reveal(self) -> None:
        """Supervisors only; the showing goes in the audit log. Shown briefly, never kept on screen."""
        try:
            full = accounts.reveal_bank_account(self.app.operator, self.account_id)
        except ServiceError as e:
            self.notify(e.message, severity="warning")
            return
        self.notify(full, title="Autopay bank account (logged)", timeout=8)
        self.load_lists()

    def action_back(self) -> None:
        self.app.leave(self)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(f"#{tab}-table", DataTable).focus()

    def action_refresh(self) -> None:
        self.refresh_all()

    def action_contacts(self) -> None:
        if self.view:
            self.app.open("contacts", self.view, callback=lambda changed: changed and self.refresh_all())

    def action_note(self) -> None:
        self.app.open("note", self.account_id, callback=lambda saved: saved and self.refresh_all())

    def action_new_order(self) -> None:
        def created(o) -> None:
            if o is not None:
                deposit = deposits.before_reconnect(o.account_id, o.kind)
                self.notify(f"Order {o.order_no} created: {o.kind_label}"
                            + (f", due {o.due_date:%m/%d/%Y}" if o.due_date else "")
                            + (f". {deposit} ({keys_text('account.deposit')} bills it)" if deposit else ""),
                            severity="warning" if deposit else "information", timeout=12 if deposit else 5)
                self.refresh_all()
        self.app.open("new_order", self.account_id, callback=created)

    def action_move(self) -> None:
        self.open_final("move")

    def action_close_account(self) -> None:
        self.open_final("close", lambda done: done and self.refresh_all())

    def open_final(self, name: str, callback=None) -> None:
        """A move or a closure, unless the account cannot be finaled (already closed, never connected)."""
        why = moves.refusal(accounts.view(self.account_id), "move" if name == "move" else "closure")
        if why:
            self.notify(why, severity="warning", timeout=10)
            return
        self.app.open(name, self.account_id, callback=callback)

    def action_return_payment(self) -> None:
        """A returned check / ACH return for the highlighted ledger row, when it is a payment."""
        table = self.query_one("#ledger-table", DataTable)
        if self.view is None or not table.row_count:
            return
        entry_id = int(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        payment = next((p for p in returns.returnable_payments(self.account_id, limit=500)
                        if p.ledger_entry_id == entry_id), None)
        if payment is None:
            self.notify("Highlight a payment in the ledger (one not already returned) to return it",
                        severity="warning")
            return
        self.app.open("return_payment", self.account_id, self.view.number, payment,
                      callback=lambda done: done and self.refresh_all())

    def action_bills(self) -> None:
        self.app.open("bills", self.account_id, callback=lambda changed: changed and self.refresh_all())

    def action_adjust(self) -> None:
        op = self.app.operator
        if not op.can("adjustment.make"):
            self.notify(f"Adjustments are made by MSRs, billing staff and supervisors ({op.role} may not)",
                        severity="warning")
            return
        self.app.open("adjust", self.account_id, callback=lambda done: done and self.refresh_all())

    def action_energy(self) -> None:
        self.app.open("energy", self.account_id)

    def action_outage_call(self) -> None:
        if not self.app.operator.can("outage.log"):
            self.notify("Outage calls are logged by MSRs", severity="warning")
            return
        self.app.open("outage_call", self.account_id, callback=self._outage_logged)

    def _outage_logged(self, call) -> None:
        if call is not None:
            self.notify(outages.read_back(call), timeout=30)
            if call.emergency:
                self.app.check_emergencies()
    def action_portal(self) -> None:
        op = self.app.operator
        if not op.can("portal.help"):
            self.notify(f"Online account help is for MSRs, collections and supervisors ({op.role} may not)",
                        severity="warning")
            return
        self.app.open("portal", self.account_id, callback=lambda _=None: self.refresh_all())

    # -- credit: deposit, write-off, bankruptcy (screens/credit.py)
    def action_deposit(self) -> None:
        op = self.app.operator
        if not op.can("deposit.bill"):
            self.notify(f"Deposits are billed by MSRs, collections staff and supervisors ({op.role} may not)",
                        severity="warning")
            return
        self.app.open("deposit", self.account_id, callback=lambda done: done and self.refresh_all())

    def action_write_off(self) -> None:
        op = self.app.operator
        if not op.can("collections.act"):
            self.notify(f"Write-offs are keyed by collections staff and supervisors ({op.role} may not)",
                        severity="warning")
            return
        self.app.open("write_off", self.account_id, callback=lambda done: done and self.refresh_all())

    def action_bankruptcy(self) -> None:
        op = self.app.operator
        if not op.can("bankruptcy.record"):
            self.notify(f"Bankruptcies are recorded by collections staff and supervisors ({op.role} may not)",
                        severity="warning")
            return
        case = bankruptcy.open_case(self.account_id)
        done = lambda result: result and self.refresh_all()   # noqa: E731
        if case is not None:
            self.app.open("bankruptcy_close", self.account_id, case, callback=done)
        elif self.view is not None:
            self.app.open("bankruptcy", self.account_id, self.view.number, self.view.name, callback=done)

    def action_capital_credits(self) -> None:
        self.app.open("capital_credits", self.account_id, callback=lambda changed: changed and self.refresh_all())

    def action_more(self) -> None:
        self.app.push_screen(MenuScreen(f"Account {self.view.number}", menu_items(self.MORE),
                                        lambda action: getattr(self, f"action_{action}")()))

    def action_counter(self) -> None:
        self.app.open_counter(self.account_id, callback=self._counter_done)

    def _counter_done(self, receipt) -> None:
        if receipt is not None:
            self.refresh_all()

    def action_autopay(self) -> None:
        op = self.app.operator
        if not op.can("autopay.enroll"):
            self.notify(f"Autopay is enrolled by MSRs and supervisors ({op.role} may not)", severity="warning")
            return
        self.app.open("autopay_enroll", self.account_id, callback=lambda done: done and self.refresh_all())
