"""Twenty SSH connections guess one operator's password in parallel for a minute: the server
checks at most `signin_lock_failures` of the guesses, locks the operator, audits it, and a
supervisor unlocks them with `kec-tui operator unlock`."""
from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import time

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


async def guess(port: int, who: int, deadline: float, results: list[str]) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            conn = await asyncio.wait_for(asyncssh.connect(
                "127.0.0.1", port, username="msr1", password=f"guess-{who:02d}-{n:04d}", known_hosts=None,
                agent_path=None, client_keys=None, preferred_auth="password", connect_timeout=15),
                max(1.0, deadline - time.monotonic() + 5))
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
        deadline = time.monotonic() + MINUTE
        results: list[str] = []
        await asyncio.gather(*(guess(server.port, i, deadline, results) for i in range(CONNECTIONS)))
        db.connect(str(ssh_coop))
        evaluated = sign_in_guard.guesses_evaluated("msr1", started)
        tried = db.SignInAttempt.select().where(db.SignInAttempt.username == "msr1").count()
        locked = [o.username for o in sign_in_guard.locked_operators()]
        audit = {a: db.AuditLog.select().where(db.AuditLog.action == a).count()
                 for a in ("operator.locked", "login.refused")}
        db.database.close()
        with capsys.disabled():
            print(f"\n{CONNECTIONS} connections guessing for {MINUTE:.0f} s: {len(results)} guesses sent, "
                  f"{tried} reached the check, {evaluated} passwords evaluated (bound: "
                  f"{sign_in_guard.GuardSettings().lock_failures}), locked: {locked}, audit: {audit}")
        assert "in" not in results
        assert len(results) > CONNECTIONS                       # they kept guessing all minute
        assert 1 <= evaluated <= sign_in_guard.GuardSettings().lock_failures
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
