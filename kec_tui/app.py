"""KecApp: the screens, the global keys, the keymap, the operator."""
from __future__ import annotations

from textual.app import App

from kec_tui.config import Settings
from kec_tui.keymap import bind, load as load_keymap
from kec_tui.services.operators import OperatorInfo


class KecApp(App):
    TITLE = "kec-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        bind("app.help", "help", "Help"),
        bind("app.lookup", "lookup", "Lookup"),
        bind("app.batches", "batches", "Batches"),
        bind("app.audit", "audit", "Audit", show=False),
        bind("app.quit", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, settings: Settings, operator: OperatorInfo, *, start_account: int | None = None):
        from kec_tui.screens.palette import AccountCommands

        self.COMMANDS = App.COMMANDS | {AccountCommands}
        super().__init__()
        self.settings = settings
        self.operator = operator
        self.start_account = start_account
        self.sub_title = f"{operator.name} ({operator.username}, {operator.role})"
        self.user_keymap = load_keymap(settings.keymap or None)

    def on_mount(self) -> None:
        self.set_keymap(self.user_keymap)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        if self.start_account:
            self.open_account(self.start_account)

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

    def action_batches(self) -> None:
        """The payment batch list: back to it if it is open underneath, else open it."""
        from kec_tui.screens.batches import BatchListScreen

        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, BatchListScreen):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(BatchListScreen())

    def action_help(self) -> None:
        from kec_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
