"""The real program over a real SSH connection on loopback.

`kec-tui serve-ssh` runs as a subprocess; the client is asyncssh with a PTY
(xterm-256color, 80x24), its output fed into a terminal emulator (pyte) so the
test reads the screen as an operator would see it.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

asyncssh = pytest.importorskip("asyncssh")
pyte = pytest.importorskip("pyte")

from kec_tui import db  # noqa: E402
from kec_tui.services import passwords  # noqa: E402
from tests.e2e.conftest import KEC_TUI  # noqa: E402

pytestmark = pytest.mark.e2e

PASSWORD = "keyer-pass-1"
ENTER, ESC, CTRL_E, CTRL_Q = "\r", "\x1b", "\x05", "\x11"
F3, F5, F6, F10, F12 = "\x1bOR", "\x1b[15~", "\x1b[17~", "\x1b[21~", "\x1b[24~"


class SSHServer:
    """`kec-tui serve-ssh` on a free loopback port; its log kept for the test to read."""

    def __init__(self, db_path: Path, tmp: Path, *extra: str):
        self.log_path = tmp / "serve-ssh.log"
        self.keys_dir = tmp / "ssh_keys"
        self.keys_dir.mkdir(exist_ok=True)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [KEC_TUI, "--db", str(db_path), "serve-ssh", "--port", "0", "--keys-dir", str(self.keys_dir),
             "--grace", "2", *extra],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.banner: list[str] = []
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:
                self.banner.append(line.decode())
                if b"listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(20) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError(f"serve-ssh did not start: {self.banner} {self.log_path.read_text()}")
        self.port = int(re.search(r":(\d+)\s*$", self.banner[0]).group(1))

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"session for .*?: pid (\d+)", self.text())]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class SSHTerminal:
    """One SSH session with a PTY; the screen as pyte renders it."""

    def __init__(self, conn, proc, cols: int, rows: int):
        self.conn, self.proc = conn, proc
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, username: str = "msr1", password: str | None = PASSWORD, *,
                   client_keys=None, cols: int = 80, rows: int = 24) -> SSHTerminal:
        conn = await asyncio.wait_for(asyncssh.connect(
            "127.0.0.1", port, username=username, password=password, client_keys=client_keys or None,
            known_hosts=None, agent_path=None, preferred_auth="publickey" if client_keys else "password",
            connect_timeout=15), 20)
        proc = await asyncio.wait_for(
            conn.create_process(term_type="xterm-256color", term_size=(cols, rows), encoding=None), 10)
        return cls(conn, proc, cols, rows)

    async def _read(self) -> None:
        try:
            while data := await self.proc.stdout.read(65536):
                self.raw += data
                self.stream.feed(data)
        except (asyncssh.Error, OSError):
            pass
        finally:
            self.closed.set()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def type(self, keys: str) -> None:
        """Keys as one burst (type-ahead), the way a fast operator's keys arrive."""
        self.proc.stdin.write(keys.encode())

    async def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.text()
            if text in shown:
                return shown
            if self.closed.is_set():
                break
            await asyncio.sleep(0.03)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen shows:\n{self.text()}")

    async def wait_until(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not so within {timeout}s; the screen shows:\n{self.text()}")
            await asyncio.sleep(0.03)

    async def wait_quiet(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Until no output has come for `quiet` seconds (the app has drawn what it will)."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.raw), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.03)
            if len(self.raw) != seen:
                seen, since = len(self.raw), time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.proc.change_terminal_size(cols, rows)

    def drop(self) -> None:
        """The connection dies: no SSH goodbye, the socket just closes."""
        self.conn.abort()

    async def close(self) -> None:
        self.conn.close()
        try:
            await asyncio.wait_for(self.conn.wait_closed(), 5)
        except (asyncio.TimeoutError, asyncssh.Error, OSError):
            pass
        self._reader.cancel()


def _gone(pid: int) -> bool:
    """No process with this pid, not even a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "X"
    except (FileNotFoundError, IndexError):
        return True


async def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the session's program (pid {pid}) is still running {timeout}s after the drop")


@pytest.fixture
def ssh_coop(small_coop):
    db.connect(str(small_coop))
    passwords.set_password("msr1", PASSWORD)
    db.database.close()
    return small_coop


@pytest.fixture
def server(ssh_coop, tmp_path):
    s = SSHServer(ssh_coop, tmp_path)
    yield s
    s.stop()
    for pid in s.child_pids():  # stopping the server hangs up every session it had
        assert _gone(pid), f"pid {pid} outlived the server"


async def test_find_an_account_over_ssh_in_256_colors(server, capsys):
    started = time.monotonic()
    term = await SSHTerminal.open(server.port)
    try:
        await term.wait_for("Type an account number")
        first_screen = time.monotonic() - started
        term.type("smith john")
        await term.wait_for("Smith, John")
        term.type(ENTER)
        shown = await term.wait_for("Past due")
        assert "(208) 666-1234" in shown
        assert "Pat Keyer (msr1, msr)" in shown
        # 256 colours (xterm-256color): 8-bit colour codes, never 24-bit ones.
        assert re.search(rb"\x1b\[[0-9;]*38;5;\d+", term.raw)
        assert b"38;2;" not in term.raw
        # One key's echo in a heads-down form: what a keystroke costs on a slow link.
        term.type(F6)
        await term.wait_for("Contacts of Smith, John")
        term.type(CTRL_E)
        await term.wait_quiet()
        before = len(term.raw)
        term.type("2")
        await term.wait_for("2     ")
        await term.wait_quiet()
        echo_bytes = len(term.raw) - before
        if os.environ.get("KEC_DUMP_ECHO"):
            Path(os.environ["KEC_DUMP_ECHO"]).write_bytes(bytes(term.raw[before:]))
        term.type(ESC)
        await term.wait_for("Past due")
        # The window grows: the PTY is resized and the app redraws to fill it.
        term.resize(100, 30)
        await term.wait_until(lambda: "palette" in term.screen.display[29] and "Past due" in term.text())
        term.type(CTRL_Q)
        await asyncio.wait_for(term.closed.wait(), 10)
        assert term.proc.exit_status == 0
    finally:
        await term.close()
    with capsys.disabled():
        print(f"\n  ssh: connect to first screen {first_screen:.2f}s; one key echoed in {echo_bytes} bytes")
    assert "msr1" in server.text() and PASSWORD not in server.text()


async def test_wrong_password_unknown_operator_and_unknown_key_refused(server, ssh_coop, tmp_path):
    for user, password in [("msr1", "not-the-password"), ("nobody", PASSWORD), ("msr1", "")]:
        with pytest.raises(asyncssh.PermissionDenied):
            await SSHTerminal.open(server.port, user, password)
    # A key of msr1's is let in; any other key is refused.
    good = asyncssh.generate_private_key("ssh-ed25519")
    other = asyncssh.generate_private_key("ssh-ed25519")
    (server.keys_dir / "msr1.pub").write_bytes(good.export_public_key())
    with pytest.raises(asyncssh.PermissionDenied):
        await SSHTerminal.open(server.port, "msr1", None, client_keys=[other])
    with pytest.raises(asyncssh.PermissionDenied):  # a key in msr1's file is not a key of another name's
        await SSHTerminal.open(server.port, "super", None, client_keys=[good])
    term = await SSHTerminal.open(server.port, "msr1", None, client_keys=[good])
    try:
        await term.wait_for("Pat Keyer (msr1, msr)")
    finally:
        await term.close()
    log = server.text()
    assert log.count("wrong password or unknown operator") == 3
    assert "unknown public key" in log
    for secret in ("not-the-password", PASSWORD):
        assert secret not in log
    db.connect(str(ssh_coop))
    refused = [r.after for r in db.AuditLog.select().where(db.AuditLog.action == "login.refused")]
    signed_in = [r.after for r in db.AuditLog.select().where(db.AuditLog.action == "login")]
    assert len(refused) == 2 and all(r.startswith("ssh password") for r in refused)
    assert any(r.startswith("ssh key") for r in signed_in)
    db.database.close()


async def test_only_the_application_is_served(server):
    conn = await asyncio.wait_for(asyncssh.connect("127.0.0.1", server.port, username="msr1", password=PASSWORD,
                                                   known_hosts=None, client_keys=None, agent_path=None,
                                                   connect_timeout=15), 20)
    try:
        with pytest.raises(asyncssh.ChannelOpenError):  # no port forwarding
            await conn.open_connection("127.0.0.1", server.port)
        with pytest.raises(asyncssh.ChannelOpenError):  # no commands
            await conn.run("cat /etc/passwd", check=False)
        with pytest.raises(asyncssh.ChannelOpenError):  # no sftp
            await conn.start_sftp_client()
        no_pty = await conn.run(check=False, term_type=None)  # a shell without a terminal: refused politely
        assert no_pty.exit_status == 2 and "needs a terminal" in no_pty.stdout
        assert server.child_pids() == []
        first = await conn.create_process(term_type="xterm-256color", term_size=(80, 24))
        second = await conn.run(check=False, term_type="xterm-256color", term_size=(80, 24))
        assert second.exit_status == 2 and "one session per connection" in second.stdout
        first.close()
    finally:
        conn.close()
    assert len(server.child_pids()) == 1


async def test_dropped_connection_cleans_up_and_loses_nothing_committed(server, ssh_coop):
    term = await SSHTerminal.open(server.port)
    term.type("smith john")
    await term.wait_for("Smith, John")
    term.type(ENTER)
    await term.wait_for("Past due")
    term.type(F6)
    await term.wait_for("Contacts of Smith, John")
    term.type(CTRL_E + "208 555 4321" + F10)  # committed when F10 returns
    await term.wait_for("(208) 555-4321")
    term.type(F6)
    await term.wait_for("Contacts of Smith, John")
    term.type(CTRL_E + "208 999")             # half keyed, never saved, when the line dies
    await term.wait_for("Home phone  208 999")
    [pid] = server.child_pids()
    assert not _gone(pid)
    term.drop()
    await wait_gone(pid, timeout=6)           # SIGHUP, then SIGKILL after the 2 s grace: never an orphan
    assert "dropped; hanging up the application" in server.text()
    db.connect(str(ssh_coop))
    m = db.Member.get(db.Member.last_name == "Smith")
    assert m.phone_home == "2085554321"
    assert db.AuditLog.get(db.AuditLog.field == "phone_home").operator.username == "msr1"
    db.database.close()
    # Reconnect: the saved phone is there.
    term = await SSHTerminal.open(server.port)
    try:
        term.type("smith john")
        await term.wait_for("Smith, John")
        term.type(ENTER)
        await term.wait_for("(208) 555-4321")
    finally:
        await term.close()


def stub(number: int, amount: str = "", check: str = "") -> str:
    """A keyed stub: account, Enter, amount (empty: the amount due), Enter, check no., Enter."""
    return f"{number}\r{amount}\r{check}\r"


async def test_payment_batch_over_ssh_dropped_midway_reopened_and_posted(tmp_path):
    """Key a batch over SSH, lose the connection mid-stub, reconnect: every entered line is there;
    finish, balance and post it, and the ledger matches the keyed lines to the cent."""
    from kec_tui.checkdigit import make_scan_line
    from kec_tui.services import batches, operators
    from tests import factories

    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    operators.create("msr1", "Pat Keyer", "msr")
    passwords.set_password("msr1", PASSWORD)
    n = [factories.account(first=f"Ssh{i}", last=f"Member{i}", bills=(10_000 + 1_000 * i,)).number
         for i in range(4)]
    db.database.close()
    before_drop = [(n[0], 4_512, "3001"), (n[1], 11_000, "")]
    after_reconnect = [(n[2], 2_299, "3003"), (n[3], 13_000, "")]
    total = sum(c for _, c, _ in before_drop + after_reconnect)

    server = SSHServer(dbfile, tmp_path)
    try:
        term = await SSHTerminal.open(server.port)
        term.type(F3)
        await term.wait_for("Payment batches")
        term.type(F5)
        await term.wait_for("Control total")
        term.type(f"\r\r4\r{total // 100}.{total % 100:02d}\r")  # today, Check, 4 stubs, the tape's total
        await term.wait_for("Keyed 0 / 4")
        # one burst over the wire: a keyed odd amount, then a scanned stub
        term.type(stub(n[0], "45.12", "3001") + make_scan_line(n[1], 11_000) + "\r")
        await term.wait_for("Keyed 2 / 4")
        term.type(f"{n[2]}\r22")  # half a stub in the form when the line dies: never committed
        await term.wait_for("Amount  22")
        [pid] = server.child_pids()
        term.drop()
        await wait_gone(pid, timeout=6)

        db.connect(str(dbfile))
        b = batches.list_batches()[0]
        keyed = [(ln.account_number, ln.amount_cents, ln.check_no) for ln in batches.lines(b.id)]
        assert keyed == before_drop and b.status == "open"  # every entered line is there
        db.database.close()

        term = await SSHTerminal.open(server.port)
        try:
            term.type(F3)
            await term.wait_for(f"{b.number}")
            term.type(ENTER)  # reopen the batch where keying stopped
            await term.wait_for("Keyed 2 / 4")
            term.type(stub(n[2], "22.99", "3003") + make_scan_line(n[3], 13_000) + "\r")
            await term.wait_for("BALANCED")
            term.type(F10)
            await term.wait_for(f"Post batch {b.number}?")
            term.type(ENTER)
            shown = await term.wait_for(f"Batch {b.number} posted", timeout=20)
            assert "4 payments" in shown
        finally:
            await term.close()
    finally:
        server.stop()
    db.connect(str(dbfile))
    try:
        posted = batches.get_batch(b.id)
        assert posted.status == "posted" and (posted.count, posted.total_cents) == (4, total)
        L = db.LedgerEntry
        ledger = [(e.account.number, -e.amount_cents) for e in
                  L.select().where(L.kind == "payment", L.reference.startswith(f"B{b.number}-")).order_by(L.id)]
        assert ledger == [(acct, cents) for acct, cents, _ in before_drop + after_reconnect]
    finally:
        db.database.close()
