"""Benchmark: many operators over `kec-tui serve-ssh` against one PostgreSQL database (issue 9).

    python tests/perf/bench_ssh.py                        # 50 sessions, 20 stubs each
    python tests/perf/bench_ssh.py --sessions 2 --stubs 3  # the smoke size (test_bench_smoke_ssh.py)

A temporary database is created on the PostgreSQL server of --pg (default
KEC_TUI_TEST_PG or postgresql://postgres@127.0.0.1:5432/test) and dropped after.
One `kec-tui serve-ssh` serves it on loopback; every session is a real SSH client
(asyncssh, a PTY at 80x24, the output fed to a terminal emulator) signed in with
an operator of its own. All sessions, at the same instant:
* sign in (timed to the first screen),
* open a batch from its tape (F3, F5, the controls): every open must succeed,
  with distinct consecutive batch numbers,
* key ten single digits one at a time: key-to-echo time and the bytes the
  server sent for each echoed key,
* key their stubs in one burst (type-ahead),
* post.
Then the database is checked: every line as keyed, every batch posted once
(one ledger payment per line). The memory is the PSS (/proc/PID/smaps_rollup)
of the server and its session processes, taken while every session is open.
Ends with one line of JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402
import psycopg2  # noqa: E402
import pyte  # noqa: E402

from kec_tui import db  # noqa: E402
from kec_tui.services import batches, operators, passwords  # noqa: E402
from tests import factories  # noqa: E402

KEC_TUI = str(Path(sys.executable).with_name("kec-tui"))
PASSWORD = "bench-pass-1"
ENTER, CTRL_E = "\r", "\x05"
F3, F5, F10 = "\x1bOR", "\x1b[15~", "\x1b[21~"
COLS, ROWS = 80, 24
ECHO_PROBES = 10
DUE = 50_000            # each account's bill: every keyed amount is below it (no overpayment warning)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the database --------------------------------------------------------------------------------

class TempDatabase:
    """A database of this run's own on the server of `admin_url`, dropped by drop()."""

    def __init__(self, admin_url: str):
        host = urlparse(admin_url).hostname or ""
        if host not in LOOPBACK:
            raise SystemExit(f"--pg must be on loopback (127.0.0.1), not {host!r}")
        self.admin_url = admin_url
        self.name = f"kec_bench_ssh_{os.getpid()}"
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def _admin(self, sql: str) -> None:
        conn = psycopg2.connect(self.admin_url, connect_timeout=5)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Plan:
    """What session i keys: its operator, its stubs (account, cents, check no.)."""

    def __init__(self, accounts: list[int], sessions: int, stubs: int):
        self.users = [f"bench{i:03d}" for i in range(sessions)]
        self.stubs = [[(accounts[i * stubs + s], 1_000 + (i * stubs + s) % 40_000, str(10_000 + i * stubs + s))
                       for s in range(stubs)] for i in range(sessions)]

    def keys(self, i: int) -> str:
        return "".join(f"{acct}{ENTER}{cents // 100}.{cents % 100:02d}{ENTER}{check}{ENTER}"
                       for acct, cents, check in self.stubs[i])

    def total(self, i: int) -> int:
        return sum(cents for _, cents, _ in self.stubs[i])


def seed(url: str, sessions: int, stubs: int) -> Plan:
    db.connect(url)
    try:
        with db.database.atomic():
            numbers = [factories.account(first=f"Bench{n}", last=f"Payer{n}", street=f"{n} Bench Rd",
                                         phone=f"208{5_000_000 + n}", email=f"b{n}@example.com",
                                         meter_no=f"9{n:08d}", base=20_000 + n, bills=(DUE,)).number
                       for n in range(sessions * stubs)]
        plan = Plan(numbers, sessions, stubs)
        for user in plan.users:
            operators.create(user, f"Bench {user}", "msr")
            passwords.set_password(user, PASSWORD)
    finally:
        db.database.close()
    return plan


# ---- memory --------------------------------------------------------------------------------------

def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found += kids
            todo += kids
    return found


# ---- the server and its clients ------------------------------------------------------------------

class Server:
    def __init__(self, url: str, tmp: Path):
        keys = tmp / "keys"
        keys.mkdir()
        env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
        self.log_path = tmp / "serve-ssh.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen([KEC_TUI, "--db", url, "serve-ssh", "--host", "127.0.0.1", "--port", "0",
                                      "--keys-dir", str(keys), "--grace", "2"],
                                     stdout=subprocess.PIPE, stderr=self.log, env=env)
        banner: list[str] = []
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:
                banner.append(line.decode())
                ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60) or self.proc.poll() is not None or "listening on" not in banner[0]:
            self.stop()
            raise SystemExit(f"serve-ssh did not start: {banner} {self.log_path.read_text()}")
        self.port = int(re.search(r":(\d+)\s*$", banner[0]).group(1))

    def pss(self) -> tuple[int, int, int]:
        """(server kB, sessions kB, session processes)."""
        kids = descendants(self.proc.pid)
        return pss_kb(self.proc.pid), sum(pss_kb(p) for p in kids), len(kids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Terminal:
    """One SSH session with a PTY at 80x24; the screen as a terminal emulator draws it."""

    def __init__(self, conn, proc):
        self.conn, self.proc = conn, proc
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.received = 0
        self.closed = asyncio.Event()
        self.changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, username: str) -> Terminal:
        conn = await asyncssh.connect("127.0.0.1", port, username=username, password=PASSWORD, client_keys=None,
                                      known_hosts=None, agent_path=None, preferred_auth="password",
                                      connect_timeout=300)
        proc = await conn.create_process(term_type="xterm-256color", term_size=(COLS, ROWS), encoding=None)
        return cls(conn, proc)

    async def _read(self) -> None:
        try:
            while data := await self.proc.stdout.read(65536):
                self.received += len(data)
                self.stream.feed(data)
                self.changed.set()
        except (asyncssh.Error, OSError):
            pass
        finally:
            self.closed.set()
            self.changed.set()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def type(self, keys: str) -> None:
        self.proc.stdin.write(keys.encode())

    async def until(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed.is_set():
                raise RuntimeError(f"{what} not shown within {timeout:.0f}s; the screen:\n{self.text()}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    async def wait_for(self, text: str, timeout: float) -> None:
        await self.until(lambda: text in self.text(), timeout, repr(text))

    async def quiet(self, seconds: float, timeout: float = 10.0) -> None:
        """Until nothing more has come for `seconds` (the app drew all it will for that key)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), seconds)
            except asyncio.TimeoutError:
                return

    def account_field(self) -> str:
        """What the entry form's Account field shows (the line with its label)."""
        for line in self.screen.display:
            if "Account" in line and "#" not in line:
                return line.split("Account", 1)[1].strip()
        return ""

    async def close(self) -> None:
        self.conn.close()
        try:
            await asyncio.wait_for(self.conn.wait_closed(), 10)
        except (asyncio.TimeoutError, asyncssh.Error, OSError):
            pass
        self._reader.cancel()


# ---- one operator's session, phase by phase (every phase starts in all sessions at once) ---------

class Session:
    def __init__(self, i: int, plan: Plan):
        self.i, self.plan = i, plan
        self.term: Terminal | None = None
        self.signin_s = 0.0
        self.echo_ms: list[float] = []
        self.echo_bytes: list[int] = []
        self.batch_number: int | None = None
        self.error = ""

    async def sign_in(self, port: int) -> None:
        started = time.monotonic()
        self.term = await Terminal.open(port, self.plan.users[self.i])
        await self.term.wait_for("Type an account number", 300)
        self.signin_s = time.monotonic() - started

    async def to_batch_form(self) -> None:
        self.term.type(F3)
        await self.term.wait_for("Payment batches", 120)
        self.term.type(F5)
        await self.term.wait_for("Control total", 120)

    async def open_batch(self) -> None:
        total, count = self.plan.total(self.i), len(self.plan.stubs[self.i])
        self.term.type(f"{ENTER}{ENTER}{count}{ENTER}{total // 100}.{total % 100:02d}{ENTER}")
        await self.term.until(lambda: f"Keyed 0 / {count}" in self.term.text() or "try again" in self.term.text(),
                              300, "the open batch")
        if "try again" in self.term.text():
            raise RuntimeError("the batch was not opened: " + self.term.text())

    async def echo(self) -> None:
        """Single keys into the Account field, each after the last one's echo: its time and bytes."""
        typed = ""
        await self.term.quiet(0.3)
        for n in range(ECHO_PROBES):
            digit = str((self.i + n) % 9 + 1)
            typed += digit
            before = self.term.received
            sent = time.monotonic()
            self.term.type(digit)
            await self.term.until(lambda: self.term.account_field().startswith(typed), 60, f"the echo of {typed}")
            self.echo_ms.append((time.monotonic() - sent) * 1000)
            await self.term.quiet(0.25)
            self.echo_bytes.append(self.term.received - before)
        self.term.type(CTRL_E)                      # Erase Input: the field is empty again
        await self.term.until(lambda: not self.term.account_field()[:1].isdigit(), 60, "the erased field")

    async def burst(self) -> None:
        count = len(self.plan.stubs[self.i])
        self.term.type(self.plan.keys(self.i))
        await self.term.wait_for(f"Keyed {count} / {count}", 600)
        await self.term.wait_for("BALANCED", 120)

    async def post(self) -> None:
        self.term.type(F10)
        await self.term.until(lambda: re.search(r"Post batch (\d+)\?", self.term.text()), 120, "the post question")
        self.batch_number = int(re.search(r"Post batch (\d+)\?", self.term.text()).group(1))
        self.term.type(ENTER)
        await self.term.wait_for(f"Batch {self.batch_number} posted", 600)


async def phase(sessions: list[Session], name: str, *args) -> float:
    """Run one phase in every session that is still going, all started at the same instant."""
    live = [s for s in sessions if not s.error]
    started = time.monotonic()
    results = await asyncio.gather(*(getattr(s, name)(*args) for s in live), return_exceptions=True)
    for s, r in zip(live, results):
        if isinstance(r, BaseException):
            s.error = f"{name}: {type(r).__name__}: {str(r).strip()[:2000]}"
    return time.monotonic() - started


async def drive(server: Server, plan: Plan, n: int) -> dict:
    sessions = [Session(i, plan) for i in range(n)]
    idle_server_kb = server.pss()[0]
    took = {"sign_in_s": await phase(sessions, "sign_in", server.port)}
    await phase(sessions, "to_batch_form")
    took["open_s"] = await phase(sessions, "open_batch")
    await phase(sessions, "echo")
    took["burst_s"] = await phase(sessions, "burst")
    server_kb, sessions_kb, processes = server.pss()        # every session open, its batch keyed
    took["post_s"] = await phase(sessions, "post")
    await asyncio.gather(*(s.term.close() for s in sessions if s.term))
    return {"sessions": sessions, "took": took, "idle_server_kb": idle_server_kb, "server_kb": server_kb,
            "sessions_kb": sessions_kb, "processes": processes}


# ---- checking the database -----------------------------------------------------------------------

def check(url: str, plan: Plan, sessions: list) -> dict:
    db.connect(url)
    try:
        rows = {b.number: b for b in db.PaymentBatch.select()}
        numbers = sorted(rows)
        lines_right = posted_once = 0
        for s in sessions:
            b = rows.get(s.batch_number)
            if b is None:
                continue
            keyed = [(ln.account_number, ln.amount_cents, ln.check_no) for ln in batches.lines(b.id)]
            lines_right += keyed == plan.stubs[s.i]
            L = db.LedgerEntry
            paid = [(e.account.number, -e.amount_cents) for e in
                    L.select().where(L.kind == "payment", L.reference.startswith(f"B{b.number}-")).order_by(L.id)]
            posted_once += b.status == "posted" and paid == [(a, c) for a, c, _ in plan.stubs[s.i]]
        return {"batches": len(numbers), "lines_right": lines_right, "posted_once": posted_once,
                "numbers_consecutive": numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers
                else False}
    finally:
        db.database.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--stubs", type=int, default=20)
    ap.add_argument("--pg", default=os.environ.get("KEC_TUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
                    help="a database on the PostgreSQL server to use (a temporary one is made beside it)")
    args = ap.parse_args(argv)
    n, stubs = args.sessions, args.stubs
    temp = TempDatabase(args.pg)
    server = None
    try:
        plan = seed(temp.url, n, stubs)
        with tempfile.TemporaryDirectory(prefix="bench-ssh-") as tmp:
            server = Server(temp.url, Path(tmp))
            try:
                run = asyncio.run(drive(server, plan, n))
            finally:
                server.stop()
            log = server.log_path.read_text(errors="replace")
        sessions = run["sessions"]
        found = check(temp.url, plan, sessions)
    finally:
        temp.drop()
    errors = [f"session {s.i}: {s.error}" for s in sessions if s.error]
    for e in errors[:5]:
        print(e, file=sys.stderr)
    if errors and "Traceback" in log:
        print(log[-3000:], file=sys.stderr)
    echo_ms = [ms for s in sessions for ms in s.echo_ms]
    echo_bytes = [b for s in sessions for b in s.echo_bytes]
    signin = [s.signin_s for s in sessions if s.signin_s]
    mb = 1024
    figures = {
        "sessions": n, "stubs": stubs, "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
        "failed_sessions": len(errors),
        "batches_opened": found["batches"], "batch_numbers_consecutive": found["numbers_consecutive"],
        "all_lines_right": found["lines_right"] == n, "sessions_lines_right": found["lines_right"],
        "all_posted_once": found["posted_once"] == n, "sessions_posted_once": found["posted_once"],
        "echo_p50_ms": round(pct(echo_ms, 0.5), 1) if echo_ms else None,
        "echo_p95_ms": round(pct(echo_ms, 0.95), 1) if echo_ms else None,
        "bytes_per_echoed_key_p50": pct(echo_bytes, 0.5), "bytes_per_echoed_key_max": max(echo_bytes, default=None),
        "signin_to_first_screen_p50_s": round(pct(signin, 0.5), 2) if signin else None,
        "signin_to_first_screen_p95_s": round(pct(signin, 0.95), 2) if signin else None,
        "all_signed_in_s": round(run["took"]["sign_in_s"], 2), "all_opened_s": round(run["took"]["open_s"], 2),
        "all_keyed_s": round(run["took"]["burst_s"], 2), "all_posted_s": round(run["took"]["post_s"], 2),
        "server_idle_pss_mb": round(run["idle_server_kb"] / mb, 1),
        "server_pss_mb": round(run["server_kb"] / mb, 1),
        "sessions_pss_mb": round(run["sessions_kb"] / mb, 1),
        "total_pss_mb": round((run["server_kb"] + run["sessions_kb"]) / mb, 1),
        "pss_per_session_mb": round((run["server_kb"] - run["idle_server_kb"] + run["sessions_kb"]) / mb / n, 1),
        "session_processes": run["processes"],
    }
    print(json.dumps(figures))
    return 0 if not errors and figures["all_lines_right"] and figures["all_posted_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
