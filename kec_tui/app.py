"""KecApp: the screens, the global keys, the keymap, the operator."""
from __future__ import annotations

import importlib
import os
import time
from weakref import WeakSet

from textual import events
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from kec_tui.config import Settings
from kec_tui.keymap import bind, keys_text, load as load_keymap, use as use_keymap
from kec_tui.services import keystats
from kec_tui.services.operators import OperatorInfo
from kec_tui.textual_internals import event_clock, modal_binding_chain
from kec_tui.widgets.entry_form import EntryForm

MIN_COLUMNS = 80  # the screens are laid out for 80x24
EMERGENCY_CHECK_SECONDS = 10  # how soon another MSR's wire-down call shows on this screen
TOO_NARROW = "kec-tui needs a window at least 80 columns wide"


class InputBarrier(Message):
    """Follows a key through the widgets' queues back to the App: the key has been handled."""

    def __init__(self, target, key: events.Key) -> None:
        super().__init__()
        self.target = target
        self.key = key


# Every screen by the name screens open it with (app.open / app.show / app.showing): "module:Class".
SCREENS = {
    "lookup": "kec_tui.screens.lookup:LookupScreen",
    "account": "kec_tui.screens.account:AccountScreen",
    "contacts": "kec_tui.screens.contacts:ContactScreen",
    "note": "kec_tui.screens.note:NoteScreen",
    "return_payment": "kec_tui.screens.returns:ReturnPaymentScreen",
    "move": "kec_tui.screens.move:MoveScreen",
    "close": "kec_tui.screens.move:CloseScreen",
    "new_member": "kec_tui.screens.membership:NewMembershipScreen",
    "orders": "kec_tui.screens.orders:OrderQueueScreen",
    "new_order": "kec_tui.screens.orders:NewOrderScreen",
    "batches": "kec_tui.screens.batches:BatchListScreen",
    "batch_form": "kec_tui.screens.batches:BatchFormScreen",
    "batch_entry": "kec_tui.screens.batch_entry:BatchEntryScreen",
    "readings": "kec_tui.screens.readings:ReadingEntryScreen",
    "reading_exceptions": "kec_tui.screens.reading_exceptions:ReadingExceptionsScreen",
    "billing": "kec_tui.screens.billing:BillingScreen",
    "billing_register": "kec_tui.screens.billing:RegisterScreen",
    "line_edit": "kec_tui.screens.line_edit:LineEditScreen",
    "lockbox": "kec_tui.screens.lockbox:LockboxScreen",
    "lock": "kec_tui.screens.lock:LockScreen",
    "change_password": "kec_tui.screens.change_password:ChangePasswordScreen",
    "sign_ins": "kec_tui.screens.sign_ins:SignInsScreen",
    "audit": "kec_tui.screens.audit:AuditScreen",
    "help": "kec_tui.screens.help:HelpScreen",
    "keystats": "kec_tui.screens.keystats:KeystatsScreen",
    "bills": "kec_tui.screens.bills:BillsScreen",
    "bill_calculator": "kec_tui.screens.bills:CalculatorScreen",
    "rebill": "kec_tui.widgets.rebill:RebillDialog",
    "adjust": "kec_tui.screens.adjustment:AdjustmentScreen",
    "usage_report": "kec_tui.screens.usage_report:UsageReportScreen",
    "journal": "kec_tui.screens.journal:JournalScreen",
    "collections": "kec_tui.screens.collections:CollectionsScreen",
    "reference": "kec_tui.screens.reference:ReferenceScreen",
    "portal": "kec_tui.screens.portal:PortalScreen",
    "portal_email": "kec_tui.screens.portal:PortalEmailScreen",
    "credit": "kec_tui.screens.credit_lists:CreditScreen",
    "deposit": "kec_tui.screens.credit:DepositScreen",
    "write_off": "kec_tui.screens.credit:WriteOffScreen",
    "agency_payment": "kec_tui.screens.credit:AgencyPaymentScreen",
    "bankruptcy": "kec_tui.screens.credit:BankruptcyScreen",
    "bankruptcy_close": "kec_tui.screens.credit:BankruptcyCloseScreen",
    "notice_run": "kec_tui.screens.notices:NoticeRunScreen",
    "notice_contact": "kec_tui.screens.notices:ContactDialog",
    "notice_disconnect": "kec_tui.screens.notices:DisconnectDialog",
    "autopay_enroll": "kec_tui.screens.autopay:AutopayEnrollScreen",
    "autopay_run": "kec_tui.screens.autopay:AutopayRunScreen",
    "capital_credits": "kec_tui.screens.capital_credits:CapitalCreditsScreen",
    "capital_credit_runs": "kec_tui.screens.capital_credit_runs:CapitalCreditRunsScreen",
    "outage_call": "kec_tui.screens.outages:OutageCallDialog",
    "outage_board": "kec_tui.screens.outages:OutageBoardScreen",
    "energy": "kec_tui.screens.energy:EnergyScreen",
    "energy_referrals": "kec_tui.screens.energy:ReferralQueueScreen",
    "counter": "kec_tui.screens.counter:CounterScreen",
    "drawer": "kec_tui.screens.drawer:DrawerScreen",
    "drawer_open": "kec_tui.screens.drawer:OpenDrawerDialog",
    "drawer_close": "kec_tui.screens.drawer:CloseDrawerDialog",
    "price_list": "kec_tui.screens.drawer:PriceListDialog",
    "arrangement": "kec_tui.screens.arrangement:ArrangementScreen",
    "pledge": "kec_tui.screens.assistance:PledgeScreen",
    "assistance_application": "kec_tui.screens.assistance:ApplicationScreen",
    "agency_check": "kec_tui.screens.assistance:AgencyCheckScreen",
    "assistance_payment": "kec_tui.screens.assistance:AgencyPaymentScreen",
    "damage_claims": "kec_tui.screens.damage_claims:DamageClaimsScreen",
    "damage_claim": "kec_tui.screens.damage_claims:ClaimScreen",
    "damage_claim_new": "kec_tui.screens.damage_claims:NewClaimDialog",
    "damage_claim_line": "kec_tui.screens.damage_claims:CostLineDialog",
    "damage_claim_money": "kec_tui.screens.damage_claims:ClaimMoneyDialog",
    "damage_claim_letter": "kec_tui.screens.damage_claims:ClaimLetterDialog",
    "damage_claim_party": "kec_tui.screens.damage_claims:PartyDialog",
}


class KecApp(App):
    TITLE = "kec-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        bind("app.help", "help", "Help"),
        bind("app.lookup", "lookup", "Lookup"),
        bind("app.batches", "batches", "Batches"),
        bind("app.orders", "orders", "Order queue"),
        bind("app.new_member", "new_member", "New member"),
        bind("app.readings", "readings", "Meter readings", show=False),
        bind("app.billing", "billing", "Billing run", show=False),
        bind("app.collections", "collections", "Collections worklist", show=False),
        bind("app.audit", "audit", "Audit", show=False),
        bind("app.usage_report", "usage_report", "Usage report", show=False),
        bind("app.office", "office", "Back office", show=False),
        bind("app.outage_board", "outage_board", "Outage board", show=False),
        bind("app.drawer", "drawer", "Cash drawer", show=False),
        bind("app.print", "print", "Print", show=False),
        bind("app.reference", "reference", "Policies and rates", show=False, priority=True),
        bind("app.quit", "quit", "Quit", show=False, priority=True),
        # Textual's own palette binding, under our id, so a user keymap can move it.
        bind("app.palette", "command_palette", "palette", show=False, priority=True),
        # No description: kept out of F1 help, so an MSR's help lists only what they may do; supervisors
        # find Shift+F8 in the README. Pressed by anyone else it is refused politely.
        bind("app.keystats", "keystats", "", show=False),
        bind("app.training_next", "training('next')", "Training: next hint", show=False, priority=True),
        bind("app.training_menu", "training('menu')", "Training: walkthroughs", show=False, priority=True),
    ]

    def __init__(self, settings: Settings, operator: OperatorInfo, *, start_account: int | None = None,
                 training: bool | str = False):
        from kec_tui.screens.palette import AccountCommands, ToolCommands

        self.COMMANDS = App.COMMANDS | {AccountCommands, ToolCommands}
        super().__init__()
        self.settings = settings
        self.operator = operator
        self.start_account = start_account
        self.sub_title = f"{operator.name} ({operator.username}, {operator.role})"
        self.calm_title: str | None = None      # the title while an emergency is flagged in it
        self.user_keymap = load_keymap(settings.keymap or None)
        use_keymap(self.user_keymap)              # texts that name a key name this one
        self.last_input_at: float | None = None   # monotonic time of the last key, paste or click
        self.remote = bool(os.environ.get("KEC_TUI_REMOTE"))   # a session of serve-ssh (serve-web: SignInApp)
        from kec_tui.keycounter import KeyCounter

        self.keystats = KeyCounter(operator.id, self.user_keymap)   # counted per key, written once a minute
        self.training = training                  # kec-tui train: True, or the walkthrough to start
        self.trainer = None
        # Type-ahead across screen changes (see below): keys and pastes are held here, in order,
        # while they cannot yet reach the widget they are meant for, and taken when they can.
        self._held_input: list[events.Key | events.Paste] = []
        self._starting = True                     # until the first screen has focus (release_input)
        self._in_flight: InputBarrier | None = None
        self._in_flight_timer: Timer | None = None
        self._settling: WeakSet[Screen] = WeakSet()   # pushed, focus not yet set: keys held for it
        self._restamp: Screen | None = None       # held keys are all meant for this new screen
        self.too_narrow = False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste, events.MouseDown)):
            self.last_input_at = time.monotonic()
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self._held_input.append(event)        # behind anything still held: order is kept
            await self._take_held_input()
            return
        await super().on_event(event)
        if self._in_flight is not None and event is self._in_flight.key:
            # The key has come back and its binding has run. If it changed the screen, the keys
            # behind it are the new screen's (held while it settles); if not, what the binding
            # posted (a row selected: open it) is handled before a second barrier comes back.
            target = self._in_flight.target
            if target.is_attached and target.screen is self.screen:
                self._hold_behind(target, event)
            else:
                await self._landed(self._in_flight)

    # -- type-ahead across screen changes ---------------------------------------------------------
    # Textual forwards a key to the widget focused when the App handles it, and runs a binding
    # only when the key has bubbled back to the App: the keys typed behind F7 (a note) were already
    # forwarded to the account screen. While a pushed screen has not set its focus, keys go to no
    # widget at all. So the App holds keys (never dropping or reordering one):
    #  - behind a key a binding may take, until the key is handled: an InputBarrier posted behind
    #    it comes back to the App (a second one after the key itself came back), or HOLD_LIMIT passes;
    #  - while the screen on top was just pushed and has no focus yet, until its focus is set, or
    #    it has mounted and refreshed with nothing focusable (it then gets them as before).
    # An EntryForm runs its own bindings as it reads the key (in order): no hold for those.

    HOLD_LIMIT = 1.0
    """Seconds a key may wait for the one in flight before it (a safety net: a key always goes on)."""

    def _input_held(self) -> bool:
        if self._starting or self._in_flight is not None:
            return True
        screen = self.screen
        return screen.focused is None and screen in self._settling

    async def _take_held_input(self) -> None:
        """Send on the held keys, in order, while nothing holds them."""
        while self._held_input and not self._input_held():
            event = self._held_input.pop(0)
            if self._restamp is not None:
                if self._restamp is self.screen:
                    # Held for this screen from the key that opened it: typed for it, not "before it".
                    event.time = event_clock()
                else:
                    self._restamp = None
            self.keystats.observe(event, self.focused)
            target = self.focused or self.screen
            bound = isinstance(event, events.Key) and self._may_bind(target, event)
            await super().on_event(event)
            if bound:
                self._hold_behind(target, event)

    def _may_bind(self, target, event: events.Key) -> bool:
        """Whether a binding run by the App (once the key has bubbled back) may take this key."""
        key = event.key
        if target.check_consume_key(key, event.character):
            return False          # a character or edit key the focused widget takes: no binding sees it
        if isinstance(target, EntryForm) and target.may_close(key):
            return True           # Enter that submits a dialog's form: the keys behind are for the screen beneath
        if isinstance(target, EntryForm) and target.runs_in_place(key):
            return False          # the form runs it itself and keeps the focus (F4 Dup): the keys behind go on
        for namespace, bindings in modal_binding_chain(self.screen):
            if namespace is target and isinstance(target, EntryForm):
                continue                          # runs its own bindings, in order
            if bindings.key_to_bindings.get(key):
                return True
        return False

    def _hold_behind(self, target, key: events.Key) -> None:
        """Hold keys until a barrier posted now to `target` comes back to the App."""
        barrier = InputBarrier(target, key)
        self._in_flight = barrier
        if self._in_flight_timer is not None:
            self._in_flight_timer.stop()
        self._in_flight_timer = self.set_timer(self.HOLD_LIMIT, lambda: self._landed(barrier))
        if not (target.is_attached and target.post_message(barrier)):
            self.call_later(self._landed, barrier)

    async def _landed(self, barrier: InputBarrier) -> None:
        if barrier is self._in_flight:
            self._in_flight = None
            if self._in_flight_timer is not None:
                self._in_flight_timer.stop()
                self._in_flight_timer = None
            await self._take_held_input()

    async def on_input_barrier(self, message: InputBarrier) -> None:
        await self._landed(message)

    def input_target_gone(self, widget) -> None:
        """The widget a key's barrier was posted to is leaving (its dialog closed on that key): the
        barrier will not come back. The held keys go on once the screens have settled (a screen the
        dialog's result opens is pushed by then, and holds them until it has focus)."""
        barrier = self._in_flight
        if barrier is not None and barrier.target is widget:
            self.call_later(self._landed, barrier)

    def push_screen(self, screen, callback=None, wait_for_dismiss: bool = False):
        result = super().push_screen(screen, callback=callback, wait_for_dismiss=wait_for_dismiss)
        pushed = self.screen
        if pushed.focused is None:
            self._settling.add(pushed)
            if self._in_flight is not None:
                self._restamp = pushed             # opened by a key: everything held is typed for it
            pushed.call_after_refresh(lambda: self.call_later(self._settled, pushed))
        return result

    async def _settled(self, screen: Screen) -> None:
        """A pushed screen has mounted, refreshed and set its focus (or has nothing to focus)."""
        self._settling.discard(screen)
        await self._take_held_input()

    async def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        await self._take_held_input()

    def release_input(self) -> None:
        """The first screen has focus: replay what was typed ahead of it, in order."""
        for index, event in enumerate(self._held_input):
            if isinstance(event, events.Key) and event.key == "ctrl+j":
                # Typed while the terminal was still in line mode, Enter arrived as a newline.
                self._held_input[index] = events.Key("enter", "\r").set_sender(None)
        self._starting = False
        self.call_later(self._take_held_input)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """While locked, or until an administrator's password is replaced, only Quit works: no
        global key may reach the work underneath."""
        if self.showing("lock") and action != "quit":
            return False
        if self.showing("change_password") and action not in ("quit", "help"):
            return False
        if action == "training" and self.trainer is None:
            return False                          # not training: Ctrl+G / Ctrl+L stay ordinary keys
        if action == "print" and self._print_source() is None:
            return False                          # only screens that write a PDF print (F1 lists it there)
        return True

    def lock_if_idle(self) -> None:
        """Lock the screen after settings.idle_lock_minutes without input (0 = never). A remote
        session (SSH, web) ends instead: its lock would be one more place to guess a password."""
        minutes = self.settings.idle_lock_minutes
        if self.last_input_at is None:
            self.last_input_at = time.monotonic()
        idle = time.monotonic() - self.last_input_at
        if not minutes or idle < minutes * 60:
            return
        if self.remote:
            self.exit(return_code=3, message=f"Signed out: {minutes} minutes without input.")
        elif not any(self.showing("lock", s) for s in self.screen_stack):
            self.open("lock")

    def ask_for_own_password(self) -> None:
        """An administrator set this operator's password: they choose their own before anything else."""
        from kec_tui.services import passwords

        if self.operator.id and passwords.must_change(self.operator.id) and not self.showing("change_password"):
            self.open("change_password")

    def on_resize(self, event: events.Resize) -> None:
        self.say_if_too_narrow(event.size.width)

    def say_if_too_narrow(self, width: int) -> None:
        """Say so when the window is too narrow to draw the screens whole (a phone held upright).
        A message, not a screen: keys typed meanwhile still land where they were meant."""
        narrow = width < MIN_COLUMNS
        if narrow and not self.too_narrow:
            self.notify(f"{TOO_NARROW} (this one is {width}): widen it, zoom out or turn the phone "
                        "sideways.", title="Window too narrow", severity="warning", timeout=24 * 3600)
        elif self.too_narrow and not narrow:
            self.clear_notifications()  # all of them: Textual has no public call to withdraw one
        self.too_narrow = narrow

    def on_mount(self) -> None:
        self.set_keymap(self.user_keymap)
        self.say_if_too_narrow(self.size.width)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        if self.start_account:
            self.open_account(self.start_account)
        self.set_interval(5, self.lock_if_idle)
        self.set_interval(EMERGENCY_CHECK_SECONDS, self.check_emergencies)
        self.check_emergencies()
        self.ask_for_own_password()
        from kec_tui.keycounter import FLUSH_SECONDS

        self.set_interval(FLUSH_SECONDS, self.flush_keystats)
        if self.training:
            from kec_tui.training import attach

            attach(self, self.training)

    def check_emergencies(self) -> None:
        """A wire-down or fire call waiting for dispatch is shown at the top of every screen (the title)."""
        def read() -> None:
            from kec_tui.services import outages

            try:
                urgent = outages.emergencies()
            except Exception:  # noqa: BLE001 - no database now: the next check tries again
                return
            self.call_from_thread(self.flag_emergencies, urgent)
        self.run_worker(read, thread=True, group="emergencies", exclusive=True)

    def flag_emergencies(self, urgent: list) -> None:
        if urgent:
            from kec_tui.services.outages import CONDITIONS

            if self.calm_title is None:
                self.calm_title = self.title          # the training mark, or the app's name
            c = urgent[0]
            more = f" (+{len(urgent) - 1} more)" if len(urgent) > 1 else ""
            self.title = (f"EMERGENCY {CONDITIONS[c.condition]} at {c.address}{more}: dispatch "
                          f"({keys_text('app.outage_board')})")
        elif self.calm_title is not None:
            self.title, self.calm_title = self.calm_title, None

    # The back-office menu (Shift+F6): (action, what it opens). Runs and queues used now and then.
    OFFICE = (("capital_credit_runs", "Capital credit runs: allocation, retirement, unclaimed checks"),
              ("energy_referrals", "Energy services referrals: the consultant's queue"),
              ("outage_board", "Outage board", "app.outage_board"),
              ("credit", "Credit lists: write-offs, collection agency, bankruptcy, deposit review"),
              ("journal", "The daily GL journal: preview, close, files for accounting"),
              ("autopay", "Autopay drafts: the draft run, return and change files, processor files"),
              ("damage_claims", "Damage claims: invoices to third parties, members' claims, aging"))

    def action_office(self) -> None:
        from kec_tui.widgets.dialogs import MenuScreen, menu_items

        self.push_screen(MenuScreen("Back office", menu_items(self.OFFICE),
                                    lambda action: getattr(self, f"action_{action}")()))

    def action_outage_board(self) -> None:
        self.show("outage_board")

    def action_energy_referrals(self) -> None:
        self.show("energy_referrals")

    def action_damage_claims(self) -> None:
        self.show("damage_claims")

    def flush_keystats(self) -> None:
        """The keys counted since the last time, to the KeyStats table in a thread worker."""
        self.keystats.flush(lambda write: self.run_worker(write, thread=True, group="keystats"))

    def on_unmount(self) -> None:
        self.keystats.flush()                     # on exit, here: nothing counted is lost

    def action_training(self, what: str) -> None:
        from kec_tui.training.panel import TrainingPanel, ensure_panel

        if what == "menu":
            self.trainer.menu()
            return
        ensure_panel(self.screen)
        panels = list(self.screen.query(TrainingPanel))
        self.trainer.next_page(len(panels[0].pages()) if panels else 1)

    def action_keystats(self) -> None:
        if not keystats.can_view(self.operator):
            self.notify(f"Keystroke statistics are for supervisors ({self.operator.role} may not view them)",
                        severity="warning")
        elif not self.showing("keystats"):
            self.open("keystats")

    def get_default_screen(self):
        return self.screen_class("lookup")()

    def open_account(self, account_id: int) -> None:
        self.open("account", account_id)

    def action_lookup(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.showing("lookup"):
            self.screen.focus_search()

    def action_audit(self) -> None:
        if not self.operator.can("audit.view"):
            self.notify(f"The audit log is for supervisors ({self.operator.role} may not view it)",
                        severity="warning")
            return
        if not self.showing("audit"):
            self.open("audit")

    def leave(self, screen) -> None:
        """Close `screen` if it is the one on top. A key typed ahead of a screen change
        (Esc Esc) reaches the closing screen twice; it must not close the one beneath."""
        if self.screen is screen and len(self.screen_stack) > 1:
            self.pop_screen()

    # -- navigation: screens are leaves, so one screen opens another by name, here ------------------
    def screen_class(self, name: str) -> type[Screen]:
        """The screen class registered under `name` (SCREENS), imported on first use: the start
        loads only the lookup."""
        module, _, cls = SCREENS[name].partition(":")
        return getattr(importlib.import_module(module), cls)

    def open(self, name: str, *args, callback=None, **kwargs) -> Screen:
        """Push a new screen of the kind `name`, made with these arguments (`callback` gets its result)."""
        screen = self.screen_class(name)(*args, **kwargs)
        self.push_screen(screen, callback)
        return screen

    def showing(self, name: str, screen: Screen | None = None) -> bool:
        """The screen on top (or `screen`) is of the kind `name`."""
        return isinstance(screen if screen is not None else self.screen, self.screen_class(name))

    def show(self, name: str) -> None:
        """Back to a screen of the kind `name` if one is open underneath, else open one."""
        screen_class = self.screen_class(name)
        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, screen_class):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(screen_class())

    def open_batch(self, batch_id: int) -> None:
        """The batch's entry screen, over the batch list (which is opened first when it is not open)."""
        if not any(self.showing("batches", s) for s in self.screen_stack):
            self.show("batches")
        self.open("batch_entry", batch_id)

    def action_batches(self) -> None:
        self.show("batches")

    def action_orders(self) -> None:
        self.show("orders")

    def action_new_member(self) -> None:
        if not self.operator.can("membership.create"):
            self.notify(f"New memberships are for MSRs and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        if not self.showing("new_member"):
            self.open("new_member")

    def action_readings(self) -> None:
        if not self.operator.can("reading.key"):
            self.notify(f"Meter readings are for billing clerks and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        if not self.showing("readings"):
            self.open("readings")

    def action_billing(self) -> None:
        if not self.operator.can("billing.run"):
            self.notify(f"The billing run is for billing clerks and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        self.show("billing")

    def action_usage_report(self) -> None:
        if not self.operator.can("billing.run"):
            self.notify(f"Usage and revenue reports are for billing clerks and supervisors ({self.operator.role} "
                        f"may not)", severity="warning")
            return
        if not self.showing("usage_report"):
            self.open("usage_report")

    def action_drawer(self) -> None:
        if not self.operator.can("counter.take"):
            self.notify(f"The cash drawer is for MSRs and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        self.show("drawer")

    def open_counter(self, account_id: int | None, callback=None) -> None:
        """A counter payment on the account (None: a cash sale), if the operator's drawer is open."""
        from kec_tui.services import drawers

        if not self.operator.can("counter.take"):
            self.notify(f"Counter payments are taken by MSRs ({self.operator.role} may not)", severity="warning")
            return
        if drawers.open_drawer_of(self.operator) is None:
            self.notify("No cash drawer is open: open yours first (Shift+F5, then F5) with its float",
                        severity="error")
            return

        def taken(receipt) -> None:
            if receipt is not None:
                from kec_tui.services import counter, reports

                self.notify(counter.taken_text(receipt, reports.reports_dir(self.settings)), timeout=6)
            if callback is not None:
                callback(receipt)

        self.open("counter", account_id, callback=taken)
    def action_journal(self) -> None:
        if not self.operator.can("journal.view"):
            self.notify(f"The GL journal is for billing clerks and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        if not self.showing("journal"):
            self.open("journal")

    def action_collections(self) -> None:
        self.show("collections")

    # -- printing: the screen on top writes its PDF (pdf_to_print), lp prints it in a thread ---------
    def _print_source(self):
        """The pdf_to_print of the screen on top (under F1 help: of the screen the help is about)."""
        screen = self.screen
        if self.showing("help"):
            screen = screen.under
        source = getattr(screen, "pdf_to_print", None)
        return source if callable(source) else None

    def action_print(self) -> None:
        from kec_tui.services.errors import ServiceError, first_line

        source = None if self.showing("help") else self._print_source()
        if source is None:
            self.notify("Nothing to print on this screen", severity="warning")
            return
        try:
            pdf = source()
        except ServiceError as e:
            self.notify(e.message, severity="warning", timeout=10)
            return
        except OSError as e:
            self.notify(f"The PDF could not be written: {first_line(e)}", severity="error", timeout=10)
            return
        if pdf is None:
            return                                # the screen said why
        self.run_worker(lambda: self._send_to_printer(pdf), thread=True, group="print", exclusive=False)

    def _send_to_printer(self, pdf) -> None:
        from kec_tui.services import printing
        from kec_tui.services.errors import ServiceError

        try:
            done = printing.print_pdf(pdf, self.settings.printer)
        except ServiceError as e:
            self.call_from_thread(self.notify, e.message, title="Not printed", severity="error", timeout=15)
            return
        self.call_from_thread(self.notify, done.message, title="Printed" if done.printed else "Saved, not printed",
                              severity="information" if done.printed else "warning", timeout=15)

    def action_reference(self, document: str = "") -> None:
        """Policies, procedures, training documents and rate schedules, pushed over the screen on top
        (the account under it stays open). In training, the walkthrough's document opens first."""
        if self.showing("reference"):
            return
        if not document and self.trainer is not None:
            document = self.trainer.document() or ""
        self.open("reference", document)
    def action_credit(self) -> None:
        self.show("credit")

    def action_autopay(self) -> None:
        if not (self.operator.can("autopay.run") or self.operator.can("payment.return")):
            self.notify(f"Autopay draft runs are for billing clerks and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        self.show("autopay_run")
    def action_capital_credit_runs(self) -> None:
        if not self.operator.can("capital_credits.run"):
            self.notify(f"Capital credit runs are for billing staff and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        self.show("capital_credit_runs")

    def action_help(self) -> None:
        if not self.showing("help"):
            self.open("help", self.screen)
