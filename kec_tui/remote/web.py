"""`kec-tui serve-web` and `kec-tui login`: the application in a browser, behind a sign-in.

textual-serve starts one process per browser tab, with a fixed command line,
so the browser session cannot be told who the operator is from outside. The
served command is therefore ``python -m kec_tui --db URL login``: the
application starts on a sign-in screen (operator name and password, checked
against Operator.password_hash) and nothing else of it (lookup, command
palette, accounts) is reachable until the sign-in succeeds. Tries are counted with
every other session's and the SSH server's (services/sign_in_guard.py: back-off, locks, bans
of an address; the browser's address reaches the session as KEC_CLIENT_ADDRESS). Five wrong
tries end the session. An operator without a password cannot sign in on the web.

The page is ours (templates/app_index.html): it loads everything from this server, nothing
from outside the co-op's network.
"""
from __future__ import annotations

import contextvars
import os
import shlex
import sys
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from kec_tui import app as kec_app_module
from kec_tui.app import KecApp
from kec_tui.config import Settings, redact
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.entry_form import FieldSpec, Record, SubmitResult
from kec_tui.widgets.password_form import PasswordForm

TEMPLATES = Path(__file__).with_name("templates")
NOBODY = OperatorInfo(0, "", "not signed in", "")
MAX_TRIES = 5
ADDRESS_ENV = "KEC_CLIENT_ADDRESS"   # not KEC_TUI_*: those are settings
# App actions allowed before the sign-in (everything else, the command palette too, is refused).
_BEFORE_SIGN_IN = frozenset({"quit", "help_quit", "bell", "focus_next", "focus_previous"})


class SignInForm(PasswordForm):
    """The operator's name and password (asterisks)."""


class SignInScreen(Screen):
    HELP = "Key your operator name, Enter, your password, Enter. Ctrl+Q leaves."
    DEFAULT_CSS = """
    SignInScreen #title { padding: 1 2; text-style: bold; }
    SignInScreen #note { padding: 0 2; color: $text-muted; }
    SignInScreen SignInForm { margin: 1 2; width: 60; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.tries = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Sign in to kec-tui", id="title")
        yield SignInForm([
            FieldSpec("username", "Operator", "text", 32, mandatory_entry=True, dup=False),
            FieldSpec("password", "Password", "text", 64, mandatory_entry=True, dup=False),
        ], on_submit=self.sign_in, id="sign-in")
        yield Static(Text("Your password is set by an administrator: kec-tui operator passwd NAME"), id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SignInForm).focus()

    def sign_in(self, record: Record) -> SubmitResult | None:
        from kec_tui.services import sign_in_guard

        form = self.query_one(SignInForm)
        username = record["username"].strip().lower()
        address = os.environ.get(ADDRESS_ENV, "") or "web"
        # Blocks this session (one browser tab, one process) while its try waits its turn.
        op = sign_in_guard.sign_in(username, record["password"], address, f"web {address}")
        form.set_value("password", "")
        if op is None:
            self.tries += 1
            if self.tries >= MAX_TRIES:
                self.app.exit(return_code=2, message="Too many wrong passwords.")
            return SubmitResult("password", "Wrong operator name or password")
        self.app.signed_in(op)
        return None


class SignInApp(KecApp):
    """KecApp with the sign-in screen over its first screen, and no operator until it succeeds."""

    CSS_PATH = str(Path(kec_app_module.__file__).with_name("app.tcss"))  # KecApp's, not beside this file

    def __init__(self, settings: Settings):
        super().__init__(settings, NOBODY)
        self.sub_title = "sign in"
        self.remote = True

    @property
    def is_signed_in(self) -> bool:
        return self.operator.id != 0

    def on_mount(self) -> None:  # runs after KecApp.on_mount (Textual calls each class's handler)
        # The sign-in covers the lookup screen; nothing under it takes a key until it is popped.
        self.push_screen(SignInScreen())
        self.server_pid = os.getppid()
        self.set_interval(2, self.exit_if_server_gone)

    def exit_if_server_gone(self) -> None:
        """A session whose server was killed would run on, signed in, with nobody at it: end it."""
        if os.getppid() != self.server_pid:
            self.exit(return_code=1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_signed_in and action not in _BEFORE_SIGN_IN:
            return False
        return super().check_action(action, parameters)

    def signed_in(self, op: OperatorInfo) -> None:
        self.operator = op
        self.sub_title = f"{op.name} ({op.username}, {op.role})"
        self.pop_screen()
        self.ask_for_own_password()


def run_login(settings: Settings) -> int:
    from kec_tui.keymap import KeymapError

    try:
        app = SignInApp(settings)
    except KeymapError as e:
        print(f"kec-tui: {e}", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0


def served_command(settings: Settings, config_path: Path | None = None) -> str:
    """The shell command textual-serve runs for each browser session (and prints on start).

    A database URL with a password is not put in it: the sessions get it from KEC_TUI_DB."""
    parts = ["exec", sys.executable, "-m", "kec_tui"]  # exec: the session's parent is the server itself
    if redact(settings.db_url) == settings.db_url:
        parts += ["--db", settings.db_url]
    else:
        os.environ["KEC_TUI_DB"] = settings.db_url  # textual-serve passes its environment on
    if config_path:
        parts += ["--config", str(config_path)]
    parts.append("login")
    return " ".join(shlex.quote(p) for p in parts)


_client_address: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="")


def _server_class():
    from textual_serve.server import Server

    class AddressedServer(Server):
        """textual-serve's Server whose session command carries the browser's address (each
        websocket's handler runs in its own task, so a context variable keeps them apart)."""

        @property
        def command(self) -> str:
            address = _client_address.get()
            return f"{ADDRESS_ENV}={shlex.quote(address)} {self._command}" if address else self._command

        @command.setter
        def command(self, value: str) -> None:
            self._command = value

        async def handle_websocket(self, request):
            _client_address.set(str(request.remote or ""))
            return await super().handle_websocket(request)

    return AddressedServer


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, public_url: str | None = None,
          config_path: Path | None = None) -> int:
    Server = _server_class()
    # Our page, not textual-serve's: it links a font from a public CDN, and nothing may leave the co-op's network.
    server = Server(served_command(settings, config_path), host=host, port=port, title="kec-tui",
                    public_url=public_url, templates_path=TEMPLATES)
    try:
        server.serve()
    except OSError as exc:
        print(f"kec-tui: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    return 0
