"""KecApp: the screens, the global keys, the keymap, the operator."""
from __future__ import annotations

import time

from textual import events
from textual.app import App

from kec_tui.config import Settings
from kec_tui.keymap import bind, load as load_keymap, use as use_keymap
from kec_tui.services.operators import OperatorInfo

MIN_COLUMNS = 80  # the screens are laid out for 80x24
TOO_NARROW = "kec-tui needs a window at least 80 columns wide"


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
        bind("app.audit", "audit", "Audit", show=False),
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
        from kec_tui.screens.palette import AccountCommands

        self.COMMANDS = App.COMMANDS | {AccountCommands}
        super().__init__()
        self.settings = settings
        self.operator = operator
        self.start_account = start_account
        self.sub_title = f"{operator.name} ({operator.username}, {operator.role})"
        self.user_keymap = load_keymap(settings.keymap or None)
        use_keymap(self.user_keymap)              # texts that name a key name this one
        self.last_input_at: float | None = None   # monotonic time of the last key, paste or click
        from kec_tui.keycounter import KeyCounter

        self.keystats = KeyCounter(operator.id, self.user_keymap)   # counted per key, written once a minute
        self.training = training                  # kec-tui train: True, or the walkthrough to start
        self.trainer = None
        # Keys typed before the first screen has focus (a fast typist, a script) are held
        # here and replayed in order once it has; without this they would be dropped.
        self._held_input: list[events.Key | events.Paste] | None = []
        self.too_narrow = False

    async def on_event(self, event: events.Event) -> None:
        if self._held_input is not None and isinstance(event, (events.Key, events.Paste)):
            self._held_input.append(event)
            return
        if isinstance(event, (events.Key, events.Paste, events.MouseDown)):
            self.last_input_at = time.monotonic()
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self.keystats.observe(event, self.focused)
        await super().on_event(event)

    def release_input(self) -> None:
        """The first screen has focus: replay what was typed ahead of it, in order."""
        held, self._held_input = self._held_input, None
        for event in held or ():
            if isinstance(event, events.Key) and event.key == "ctrl+j":
                # Typed while the terminal was still in line mode, Enter arrived as a newline.
                # No sender, like the driver's keys: a key sent "by the App" does not bubble back
                # to it, and Enter needs to (that is where an Input's bindings are checked).
                event = events.Key("enter", "\r").set_sender(None)
            self.post_message(event)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """While locked only Quit works: no global key may reach the work underneath."""
        from kec_tui.screens.lock import LockScreen

        if isinstance(self.screen, LockScreen) and action != "quit":
            return False
        if action == "training" and self.trainer is None:
            return False                          # not training: Ctrl+G / Ctrl+L stay ordinary keys
        return True

    def lock_if_idle(self) -> None:
        """Lock the screen after settings.idle_lock_minutes without input (0 = never)."""
        from kec_tui.screens.lock import LockScreen

        minutes = self.settings.idle_lock_minutes
        if self.last_input_at is None:
            self.last_input_at = time.monotonic()
        idle = time.monotonic() - self.last_input_at
        if minutes and idle >= minutes * 60 and not any(isinstance(s, LockScreen) for s in self.screen_stack):
            self.push_screen(LockScreen())

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
        from kec_tui.keycounter import FLUSH_SECONDS

        self.set_interval(FLUSH_SECONDS, self.flush_keystats)
        if self.training:
            from kec_tui.training import attach

            attach(self, self.training)

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
        from kec_tui.screens.keystats import open_keystats

        open_keystats(self)

    def get_default_screen(self):
        from kec_tui.screens.lookup import LookupScreen

        return LookupScreen()

    def open_account(self, account_id: int) -> None:
        from kec_tui.screens.account import AccountScreen

        self.push_screen(AccountScreen(account_id))

    def action_lookup(self) -> None:
        from kec_tui.screens.lookup import LookupScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, LookupScreen):
            self.screen.focus_search()

    def action_audit(self) -> None:
        from kec_tui.screens.audit import AuditScreen

        if not self.operator.can("audit.view"):
            self.notify(f"The audit log is for supervisors ({self.operator.role} may not view it)",
                        severity="warning")
            return
        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen())

    def leave(self, screen) -> None:
        """Close `screen` if it is the one on top. A key typed ahead of a screen change
        (Esc Esc) reaches the closing screen twice; it must not close the one beneath."""
        if self.screen is screen and len(self.screen_stack) > 1:
            self.pop_screen()

    def show(self, screen_class: type) -> None:
        """Back to a screen of this class if one is open underneath, else open one."""
        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, screen_class):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(screen_class())

    def action_batches(self) -> None:
        from kec_tui.screens.batches import BatchListScreen

        self.show(BatchListScreen)

    def action_orders(self) -> None:
        from kec_tui.screens.orders import OrderQueueScreen

        self.show(OrderQueueScreen)

    def action_new_member(self) -> None:
        from kec_tui.screens.membership import NewMembershipScreen

        if not self.operator.can("membership.create"):
            self.notify(f"New memberships are for MSRs and supervisors ({self.operator.role} may not)",
                        severity="warning")
            return
        if not isinstance(self.screen, NewMembershipScreen):
            self.push_screen(NewMembershipScreen())

    def action_help(self) -> None:
        from kec_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
