"""`kec-tui serve-ssh`: the application over SSH, one real process on a PTY per connection.

How a connection goes:

1. The client authenticates as an operator (the SSH user name is the operator's
   username): by password, checked against ``Operator.password_hash``
   (``kec-tui operator passwd NAME`` sets it), or by public key, listed in
   ``<keys dir>/<username>.pub`` (authorized_keys format, one key a line;
   default keys dir: ``<data dir>/ssh_keys``). Inactive or unknown operators
   are refused either way; every refusal is logged (name, address, method,
   never the password) and, for a known operator, audited.
2. The client must ask for a terminal (``ssh -t`` is the default for an
   interactive ssh). The server then starts ``python -m kec_tui --db URL
   --operator NAME`` with the PTY as its controlling terminal, TERM from the
   client, the PTY's size from the client's request; a window change resizes
   the PTY (TIOCSWINSZ on the master: the kernel sends SIGWINCH to the app).
3. Bytes are copied both ways with flow control: a slow client pauses reading
   from the PTY (the app then blocks on its writes: frames are not queued
   without bound), and a flood of input pauses the channel.
4. When the connection drops the child is sent SIGHUP, then SIGKILL after a
   grace period; every line the application committed (each is committed on
   Enter) is already in the database.

Slow links: the child gets ESCDELAY (how long Textual waits after a lone ESC
byte before it is the Escape key: long enough that an escape sequence split
over two TCP segments is still one key), TEXTUAL_FPS (a cap on screen updates:
keys typed ahead are drawn together) and TEXTUAL_ANIMATIONS=none.
"""
from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from kec_tui.config import default_data_dir, redact
from kec_tui.services import operators, passwords, sign_in_guard

log = logging.getLogger("kec_tui.ssh")

# Variables of the server's own terminal that must not leak into a client's session.
_SERVER_TERMINAL_ENV = ("TERM", "COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLUMNS", "LINES",
                        "TMUX", "TMUX_PANE", "STY", "WINDOWID", "VTE_VERSION", "KITTY_WINDOW_ID",
                        "WT_SESSION", "TEXTUAL_DRIVER", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY")
# Variables a client may send (ssh's SendEnv) that the session honours.
_CLIENT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME", "COLORTERM", "NO_COLOR", "TZ")
MAX_FAILED_PASSWORDS = 5
READ_CHUNK = 65536
INPUT_HIGH_WATER = 64 * 1024
FIRST_FRAME_BYTES = 1000     # an 80x24 first screen is several KB; the set-up sequences are ~100 bytes
FIRST_FRAME_QUIET = 0.1      # s of no output after it: the screen is up and waiting for keys
FIRST_FRAME_TIMEOUT = 10.0   # keys are never held longer than this


def default_host_key_path() -> Path:
    return default_data_dir() / "ssh_host_key"


def default_keys_dir() -> Path:
    return default_data_dir() / "ssh_keys"


@dataclass
class Options:
    db_url: str
    host: str = "127.0.0.1"
    port: int = 2222
    host_key: Path | None = None
    keys_dir: Path | None = None
    config_path: Path | None = None
    fps: int = 30
    escdelay_ms: int = 250
    grace: float = 3.0
    keepalive: int = 15               # seconds between keepalives; 4 unanswered drop the connection
    failed_login_delay: float = 1.0
    python: str = sys.executable


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key; an Ed25519 key is made (mode 0600) on first start."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="kec-tui host key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key())
    log.info("made a new host key at %s", path)
    return key


def key_file(keys_dir: Path, username: str) -> Path | None:
    """`<keys dir>/<username>.pub`, for a name that can be an operator (never a path)."""
    name = username.strip().lower()
    if not name.isidentifier() or len(name) > 32:
        return None
    return keys_dir / f"{name}.pub"


def _secret_url(url: str) -> bool:
    return redact(url) != url


def child_command(opts: Options, username: str) -> list[str]:
    cmd = [opts.python, "-m", "kec_tui", "--operator", username]
    if not _secret_url(opts.db_url):  # a URL with a password goes in the environment, out of `ps`
        cmd[3:3] = ["--db", opts.db_url]
    if opts.config_path:
        cmd += ["--config", str(opts.config_path)]
    return cmd


def child_env(opts: Options, term: str, client_env: dict, peer: tuple[str, int], local_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_TERMINAL_ENV}
    for k in _CLIENT_ENV:
        v = client_env.get(k)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str) and v and "\0" not in v:
            env[k] = v
    if not any(env.get(k) for k in ("LC_ALL", "LC_CTYPE", "LANG")):
        env["LANG"] = "C.UTF-8"
    env["TERM"] = term or "xterm-256color"
    env.pop("KEC_TUI_DB", None)
    if _secret_url(opts.db_url):
        env["KEC_TUI_DB"] = opts.db_url
    env["ESCDELAY"] = str(opts.escdelay_ms)
    env["TEXTUAL_FPS"] = str(opts.fps)
    env["TEXTUAL_ANIMATIONS"] = "none"
    env["SSH_CLIENT"] = f"{peer[0]} {peer[1]} {local_port}"
    env["KEC_TUI_REMOTE"] = "ssh"
    return env


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _set_size(fd: int, cols: int, rows: int, pxw: int = 0, pxh: int = 0) -> None:
    cols = min(max(cols or 80, 1), 1000)
    rows = min(max(rows or 24, 1), 1000)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, pxw, pxh))


@dataclass
class Stats:
    sessions: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


class Service:
    """What the connections share: options, the database checks, the live sessions."""

    def __init__(self, opts: Options):
        self.opts = opts
        self.keys_dir = opts.keys_dir or default_keys_dir()
        self.live: set[Session] = set()
        self.stats = Stats()

    # Database work runs in a worker thread; the services open its connection and close it after.
    async def active_operator(self, username: str) -> bool:
        try:
            return await asyncio.to_thread(operators.is_active, username)
        except Exception as exc:  # noqa: BLE001 - a database error refuses, it does not crash the server
            log.error("cannot look up operator %r: %s", username, exc)
            return False

    async def check_password(self, username: str, password: str, address: str, how: str) -> bool:
        """Counted with every other connection's tries (services/sign_in_guard.py): wait for the
        operator's next slot here, without holding a thread, then check."""
        try:
            ticket = await asyncio.to_thread(sign_in_guard.reserve, username, address, how)
            if ticket.refused:
                return False
            await asyncio.sleep(ticket.wait_s)
            return await asyncio.to_thread(sign_in_guard.evaluate, username, password, address, how) is not None
        except Exception as exc:  # noqa: BLE001
            log.error("cannot check the password of %r: %s", username, type(exc).__name__)
            return False

    async def record_login(self, username: str, ok: bool, how: str) -> None:
        try:
            await asyncio.to_thread(passwords.record_login, username, ok, how)
        except Exception as exc:  # noqa: BLE001 - the audit must not break a sign-in
            log.warning("could not audit the sign-in of %r: %s", username, exc)

    async def hang_up_all(self) -> None:
        await asyncio.gather(*(s.hang_up("server stopping") for s in list(self.live)))


class Connection(asyncssh.SSHServer):
    """One SSH connection: authentication, then at most one session."""

    def __init__(self, service: Service):
        self.service = service
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer: tuple[str, int] = ("?", 0)
        self.username = ""
        self.by_password = False
        self.failed = 0
        self.session: Session | None = None

    @property
    def who(self) -> str:
        return f"{self.username!r} from {self.peer[0]}:{self.peer[1]}"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.peer = (str(peer[0]), int(peer[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session is None and not self.username:
            return
        reason = f": {exc}" if exc else ""
        log.info("connection of %s closed%s", self.who, reason)

    async def begin_auth(self, username: str) -> bool:
        self.username = username
        path = key_file(self.service.keys_dir, username)
        # Keys are offered only for an active operator; anyone else may still try (and fail).
        if path is not None and path.is_file() and await self.service.active_operator(username):
            try:
                self.conn.set_authorized_keys(str(path))
            except (OSError, ValueError, asyncssh.KeyImportError) as exc:
                log.warning("cannot read the keys of %r at %s: %s", username, path, exc)
        return True  # always ask for authentication

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        ok = await self.service.check_password(username, password, self.peer[0], f"ssh password {self.peer[0]}")
        if ok:
            self.by_password = True
            log.info("%s signed in with a password", self.who)
            return True
        self.failed += 1
        log.warning("wrong password or unknown operator: %s (attempt %d)", self.who, self.failed)
        await asyncio.sleep(self.service.opts.failed_login_delay)
        if self.failed >= MAX_FAILED_PASSWORDS:
            log.warning("%s: too many wrong passwords, disconnecting", self.who)
            self.conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "Too many wrong passwords")
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Reached only for a key that is not in the operator's keys file.
        log.warning("unknown public key %s for %s", key.get_fingerprint(), self.who)
        return False

    async def auth_completed(self) -> None:
        if self.by_password:
            return  # logged and audited in validate_password
        log.info("%s signed in with a public key", self.who)
        await self.service.record_login(self.username, True, f"ssh key {self.peer[0]}")

    def session_requested(self):
        return Session(self)


class Session(asyncssh.SSHServerSession):
    """The application on a PTY, wired to one SSH channel."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.service = connection.service
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term = ""
        self.size = (80, 24, 0, 0)
        self.has_pty = False
        self.proc: subprocess.Popen | None = None
        self.master = -1
        self._pending = bytearray()      # client input not yet taken by the PTY
        self._writer_on = False
        self._reading_pty = False
        self._closing = False
        self._reaped = asyncio.get_event_loop().create_future()
        self.started_at = time.monotonic()
        # Keys typed before the first screen is up are held here, then given to the app in order
        # (the application drops keys that come before its first screen has focus).
        self._holding = True
        self._frame_bytes = -1           # output since the app switched to the alternate screen
        self._release_timer: asyncio.TimerHandle | None = None

    # --- asyncssh callbacks -------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes) -> bool:
        self.has_pty = True
        self.term = term_type or ""
        if term_size and term_size[0] and term_size[1]:
            self.size = term_size
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        log.warning("%s asked to run a command: refused (only the application is served)", self.connection.who)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.warning("%s asked for the %r subsystem: refused", self.connection.who, subsystem)
        return False

    def session_started(self) -> None:
        if not self.has_pty:
            self.chan.write(b"kec-tui needs a terminal: connect with ssh -t\r\n")
            self.chan.exit(2)
            return
        if self.connection.session is not None:  # one application per connection
            log.warning("%s asked for a second session on one connection: refused", self.connection.who)
            self.chan.write(b"kec-tui: one session per connection\r\n")
            self.chan.exit(2)
            return
        self.connection.session = self
        try:
            self._spawn()
        except OSError as exc:
            log.error("cannot start the application for %s: %s", self.connection.who, exc)
            self.chan.write(b"kec-tui: the application could not be started; tell the administrator\r\n")
            self.chan.exit(1)

    def data_received(self, data: bytes, datatype) -> None:
        if self.master < 0:
            return
        self.service.stats.bytes_in += len(data)
        self._pending += data
        self._flush_input()

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width, height, pixwidth, pixheight)
        if self.master >= 0:
            try:
                _set_size(self.master, width, height, pixwidth, pixheight)  # the kernel sends SIGWINCH
            except OSError:
                pass

    def break_received(self, msec: int) -> bool:
        return False

    def eof_received(self) -> bool:
        return False  # the client will send no more keys: close the channel (the child is hung up)

    def pause_writing(self) -> None:  # the client is slow: stop taking the app's output
        self._stop_reading_pty()

    def resume_writing(self) -> None:
        self._start_reading_pty()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.connection.session is self:
            self.connection.session = None
        asyncio.ensure_future(self.hang_up("dropped" if exc else "disconnected"))

    # --- the child on its PTY -----------------------------------------------
    def _spawn(self) -> None:
        opts = self.service.opts
        username = self.connection.username.strip().lower()
        env = child_env(opts, self.term, self.chan.get_environment() or {}, self.connection.peer,
                        (self.connection.conn.get_extra_info("sockname") or ("", 0))[1])
        master, slave = os.openpty()
        try:
            _set_size(slave, *self.size)
            self.proc = subprocess.Popen(child_command(opts, username), stdin=slave, stdout=slave, stderr=slave,
                                         env=env,
                                         start_new_session=True, preexec_fn=_make_controlling_tty,
                                         close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.service.live.add(self)
        self.service.stats.sessions += 1
        log.info("session for %s: pid %d, TERM=%s, %dx%d", self.connection.who, self.proc.pid,
                 env["TERM"], self.size[0], self.size[1])
        self._start_reading_pty()
        asyncio.get_event_loop().call_later(FIRST_FRAME_TIMEOUT, self._release_input)

    def _start_reading_pty(self) -> None:
        if self.master >= 0 and not self._reading_pty and not self._closing:
            asyncio.get_event_loop().add_reader(self.master, self._on_pty_output)
            self._reading_pty = True

    def _stop_reading_pty(self) -> None:
        if self._reading_pty:
            asyncio.get_event_loop().remove_reader(self.master)
            self._reading_pty = False

    def _on_pty_output(self) -> None:
        try:
            data = os.read(self.master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: every slave fd is closed, the application has ended
            if exc.errno != errno.EIO:
                log.warning("reading the PTY of %s: %s", self.connection.who, exc)
            data = b""
        if not data:
            self._stop_reading_pty()
            asyncio.ensure_future(self._finish())
            return
        self.service.stats.bytes_out += len(data)
        if self._holding:
            self._watch_first_frame(data)
        try:
            self.chan.write(data)
        except (asyncssh.Error, OSError, BrokenPipeError):
            self._stop_reading_pty()

    def _watch_first_frame(self, data: bytes) -> None:
        """Release held keys once the first frame is drawn: after the switch to the alternate
        screen, a screenful of output, then a pause (the app is idle, waiting for keys)."""
        if self._frame_bytes < 0:
            at = data.find(b"\x1b[?1049h")
            if at < 0:
                return
            data = data[at:]
            self._frame_bytes = 0
        self._frame_bytes += len(data)
        if self._frame_bytes >= FIRST_FRAME_BYTES:
            if self._release_timer is not None:
                self._release_timer.cancel()
            self._release_timer = asyncio.get_event_loop().call_later(FIRST_FRAME_QUIET, self._release_input)

    def _release_input(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        if self._holding:
            self._holding = False
            log.debug("first screen of %s after %.2fs", self.connection.who, time.monotonic() - self.started_at)
            self._flush_input()

    def _flush_input(self) -> None:
        while self._pending and self.master >= 0 and not self._holding:
            try:
                n = os.write(self.master, self._pending[:4096])
            except BlockingIOError:
                break
            except OSError:
                self._pending.clear()
                break
            del self._pending[:n]
        loop = asyncio.get_event_loop()
        if self._pending and not self._writer_on and self.master >= 0 and not self._holding:
            loop.add_writer(self.master, self._flush_input)  # the PTY is full: go on when it drains
            self._writer_on = True
        elif not self._pending and self._writer_on:
            loop.remove_writer(self.master)
            self._writer_on = False
        if self.chan is not None:
            if len(self._pending) > INPUT_HIGH_WATER:
                self.chan.pause_reading()
            else:
                self.chan.resume_reading()

    async def _finish(self) -> None:
        """The application ended by itself (F-key quit, crash): pass its exit status on."""
        code = await self._reap(hang_up=False)
        log.info("application of %s exited with %s after %.0fs", self.connection.who, code,
                 time.monotonic() - self.started_at)
        try:
            self.chan.exit(code if code is not None and code >= 0 else 1)
        except (asyncssh.Error, OSError):
            pass

    async def hang_up(self, reason: str) -> None:
        if self.proc is not None and self.proc.poll() is None and not self._closing:
            log.info("%s %s; hanging up the application (pid %d)", self.connection.who, reason, self.proc.pid)
        await self._reap(hang_up=True)

    async def _reap(self, *, hang_up: bool) -> int | None:
        if self._closing:
            return await asyncio.shield(self._reaped)
        self._closing = True
        self._stop_reading_pty()
        loop = asyncio.get_event_loop()
        if self._writer_on:
            loop.remove_writer(self.master)
            self._writer_on = False
        proc = self.proc
        code = None
        if proc is not None:
            grace = self.service.opts.grace
            if hang_up and proc.poll() is None:
                self._signal(signal.SIGHUP)
            if self.master >= 0:  # closing the master hangs up the terminal as well
                os.close(self.master)
                self.master = -1
            deadline = time.monotonic() + (grace if hang_up else grace + 2.0)
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                log.warning("application pid %d of %s did not end on SIGHUP: killing it", proc.pid,
                            self.connection.who)
                self._signal(signal.SIGKILL)
                while proc.poll() is None:
                    await asyncio.sleep(0.02)
            code = proc.returncode
            # Anything the application left behind in its session (it should leave nothing).
            self._signal(signal.SIGKILL, group_only=True)
        elif self.master >= 0:
            os.close(self.master)
            self.master = -1
        self.service.live.discard(self)
        if not self._reaped.done():
            self._reaped.set_result(code)
        return code

    def _signal(self, sig: int, group_only: bool = False) -> None:
        pid = self.proc.pid
        try:
            os.killpg(pid, sig)  # the child leads its own session and process group
        except (ProcessLookupError, PermissionError):
            if not group_only:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass


async def start(opts: Options) -> tuple[asyncssh.SSHAcceptor, Service, asyncssh.SSHKey]:
    key_path = opts.host_key or default_host_key_path()
    host_key = load_or_create_host_key(key_path)
    service = Service(opts)
    acceptor = await asyncssh.create_server(
        lambda: Connection(service), opts.host, opts.port,
        server_host_keys=[host_key],
        encoding=None,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        keepalive_interval=opts.keepalive,
        keepalive_count_max=4,
        login_timeout=60,
        server_version="kec-tui",
    )
    return acceptor, service, host_key


def serve(opts: Options) -> int:
    """Run the server until SIGINT / SIGTERM; returns the exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    return asyncio.run(_serve(opts))


async def _serve(opts: Options) -> int:
    try:
        acceptor, service, host_key = await start(opts)
    except (OSError, asyncssh.Error, ValueError) as exc:
        print(f"kec-tui: cannot start the SSH server on {opts.host}:{opts.port}: {exc}", file=sys.stderr)
        return 2
    port = acceptor.sockets[0].getsockname()[1] if acceptor.sockets else opts.port
    print(f"kec-tui SSH server listening on {opts.host}:{port}", flush=True)
    print(f"  database {redact(opts.db_url)}", flush=True)
    print(f"  host key {host_key.get_fingerprint()} ({opts.host_key or default_host_key_path()})", flush=True)
    print(f"  operator keys in {service.keys_dir}/<username>.pub; passwords: kec-tui operator passwd NAME",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: %d live session(s)", len(service.live))
    acceptor.close()
    await service.hang_up_all()
    await acceptor.wait_closed()
    return 0
