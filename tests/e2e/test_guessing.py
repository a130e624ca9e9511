"""Twenty SSH connections guess one operator's password in parallel for a minute: the server
checks at most `signin_lock_failures` of the guesses, locks the operator, audits it, and a
supervisor unlocks them with `kec-tui operator unlock`."""
from __future__ import annotations

import asyncio
import datetime as dt
import subprocess

import pytest

asyncssh = pytest.importorskip("asyncssh")
pytest.importorskip("pyte")

from kec_tui import db  # noqa: E402
from kec_tui.services import operators, passwords, sign_in_guard  # noqa: E402
from tests.e2e.conftest import KEC_TUI  # noqa: E402
from tests.e2e.test_ssh import PASSWORD, SSHServer, SSHTerminal  # noqa: E402

pytestmark = pytest.mark.e2e

CONNECTIONS = 20
MINUTE = 60.0


async def guess(port: int, who: int, stop: asyncio.Event, results: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            conn = await asyncio.wait_for(asyncssh.connect(
                "127.0.0.1", port, username="msr1", password=f"guess-{who:02d}-{n:04d}", known_hosts=None,
                agent_path=None, client_keys=None, preferred_auth="password", connect_timeout=15), 90)
            conn.close()
            results.append("in")                       # never: no guess is the password
        except asyncssh.PermissionDenied:
            results.append("refused")
        except (asyncssh.Error, OSError, asyncio.TimeoutError):
            results.append("dropped")


async def test_twenty_connections_guessing_for_a_minute(ssh_coop, tmp_path, capsys):
    server = SSHServer(ssh_coop, tmp_path)
    try:
        started = dt.datetime.now()
        stop = asyncio.Event()
        results: list[str] = []
        guessing = asyncio.gather(*(guess(server.port, i, stop, results) for i in range(CONNECTIONS)))
        await asyncio.sleep(MINUTE)
        db.connect(str(ssh_coop))
        in_the_minute = sign_in_guard.guesses_evaluated("msr1", started)
        for _ in range(120):                      # a very busy machine: go on until the lock comes
            if sign_in_guard.locked_operators():
                break
            await asyncio.sleep(1)
        stop.set()
        await asyncio.wait_for(guessing, 120)
        evaluated = sign_in_guard.guesses_evaluated("msr1", started)
        tried = db.SignInAttempt.select().where(db.SignInAttempt.username == "msr1").count()
        locked = [o.username for o in sign_in_guard.locked_operators()]
        audit = {a: db.AuditLog.select().where(db.AuditLog.action == a).count()
                 for a in ("operator.locked", "login.refused")}
        db.database.close()
        with capsys.disabled():
            print(f"\n{CONNECTIONS} connections guessing for {MINUTE:.0f} s: {len(results)} guesses sent, "
                  f"{tried} reached the check, {in_the_minute} passwords evaluated in the minute, {evaluated} in all "
                  f"(bound: {sign_in_guard.GuardSettings().lock_failures}), locked: {locked}, audit: {audit}")
        assert "in" not in results
        assert len(results) > CONNECTIONS                       # they kept guessing all minute
        assert 1 <= in_the_minute <= evaluated <= sign_in_guard.GuardSettings().lock_failures
        assert locked == ["msr1"]
        assert audit["operator.locked"] == 1 and audit["login.refused"] >= evaluated

        # Locked: the right password is refused like a wrong one.
        with pytest.raises(asyncssh.PermissionDenied):
            await SSHTerminal.open(server.port, "msr1", PASSWORD)
        # An MSR may not unlock; a supervisor may.
        env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "PATH": "/usr/bin:/bin"}
        refused = subprocess.run([KEC_TUI, "--db", str(ssh_coop), "--operator", "msr2", "operator", "unlock",
                                  "msr1"], capture_output=True, text=True, env=env, timeout=60)
        assert refused.returncode != 0 and "supervisor" in refused.stderr
        done = subprocess.run([KEC_TUI, "--db", str(ssh_coop), "--operator", "super", "operator", "unlock",
                               "msr1"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        term = await SSHTerminal.open(server.port, "msr1", PASSWORD)
        try:
            await term.wait_for("Pat Keyer (msr1, msr)")
        finally:
            await term.close()
        db.connect(str(ssh_coop))
        unlocked = db.AuditLog.get(db.AuditLog.action == "operator.unlocked")
        assert unlocked.operator.username == "super"
        db.database.close()
    finally:
        server.stop()


@pytest.fixture
def ssh_coop(small_coop):
    db.connect(str(small_coop))
    passwords.set_password("msr1", PASSWORD)
    operators.create("msr2", "Casey Lindquist", "msr")
    operators.create("super", "Dana Whitfield", "supervisor")
    db.database.close()
    return small_coop


class Window:
    """The minute of guessing: it starts once every tab shows its sign-in (twenty programs take
    a while to start on a busy machine), and runs on past the minute until the lock comes."""

    def __init__(self, tabs: int):
        self.ready = 0
        self.tabs = tabs
        self.go = asyncio.Event()
        self.stop = asyncio.Event()

    def arrived(self) -> None:
        self.ready += 1
        if self.ready == self.tabs:
            self.go.set()


async def web_guess(port: int, who: int, window: Window, results: list[str]) -> None:
    """One browser tab after another, each typing guesses until the session ends it (5 tries)."""
    import aiohttp

    from tests.e2e.test_web import WebTerminal

    n, first = 0, True
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        while not window.stop.is_set():
            try:
                async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24") as ws:
                    term = WebTerminal(ws)
                    await term.wait_for("Sign in to kec-tui", timeout=120)
                    if first:
                        first = False
                        window.arrived()
                        await window.go.wait()
                    name = "msr1\r"                   # after a refusal the name stays, the password is asked again
                    while not window.stop.is_set() and not term.closed.is_set():
                        n += 1
                        await term.type(f"{name}guess-{who:02d}-{n:04d}\r")
                        name = ""
                        shown = await term.wait_for("Wrong operator name or password", timeout=60)
                        results.append("in" if "Pat Keyer (msr1" in shown else "refused")
                        await term.type("\x1b")
                        await asyncio.sleep(0.4)       # beyond the escape delay: a lone Esc
            except (AssertionError, aiohttp.ClientError, asyncio.TimeoutError):
                results.append("dropped")


async def test_twenty_browser_sessions_guessing_for_a_minute(ssh_coop, tmp_path, capsys):
    from tests.e2e.web_server import serve_web

    with serve_web(ssh_coop, tmp_path) as (port, _proc, _log):
        window = Window(CONNECTIONS)
        results: list[str] = []
        tabs = asyncio.gather(*(web_guess(port, i, window, results) for i in range(CONNECTIONS)))
        await asyncio.wait_for(window.go.wait(), 180)
        started = dt.datetime.now()
        await asyncio.sleep(MINUTE)
        db.connect(str(ssh_coop))
        in_the_minute = sign_in_guard.guesses_evaluated("msr1", started)
        for _ in range(120):                      # a very busy machine: go on until the lock comes
            if sign_in_guard.locked_operators():
                break
            await asyncio.sleep(1)
        window.stop.set()
        evaluated = sign_in_guard.guesses_evaluated("msr1", started)
        locked = [o.username for o in sign_in_guard.locked_operators()]
        db.database.close()
        await asyncio.wait_for(tabs, 120)
        with capsys.disabled():
            print(f"\n{CONNECTIONS} browser sessions guessing for {MINUTE:.0f} s: {results.count('refused')} "
                  f"refusals shown, {in_the_minute} passwords evaluated in the minute, {evaluated} in all (bound: "
                  f"{sign_in_guard.GuardSettings().lock_failures}), locked: {locked}")
        assert "in" not in results and len(results) >= CONNECTIONS   # every tab kept guessing
        assert in_the_minute <= evaluated <= sign_in_guard.GuardSettings().lock_failures
        assert locked == ["msr1"]
