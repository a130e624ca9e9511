"""`kec-tui serve-web` on loopback: the page, then a session through its websocket behind the sign-in."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

aiohttp = pytest.importorskip("aiohttp")
pyte = pytest.importorskip("pyte")

from kec_tui import db  # noqa: E402
from kec_tui.services import passwords  # noqa: E402
from tests.e2e.web_server import serve_web  # noqa: E402

pytestmark = pytest.mark.e2e

PASSWORD = "keyer-pass-1"


@pytest.fixture
def web_server(small_coop, tmp_path):
    db.connect(str(small_coop))
    passwords.set_password("msr1", PASSWORD)
    db.database.close()
    with serve_web(small_coop, tmp_path) as server:
        yield server


async def get_page(port: int, timeout: float = 15.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/") as r:
                    return r.status, await r.text()
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


class WebTerminal:
    def __init__(self, ws):
        self.ws = ws
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    self.stream.feed(msg.data)
        finally:
            self.closed.set()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def type(self, keys: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", keys]))

    async def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed.is_set():
            if text in self.text():
                return self.text()
            await asyncio.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen shows:\n{self.text()}")


async def test_serve_web_answers_with_the_page_and_signs_in(web_server):
    port, proc, log_path = web_server
    status, html = await get_page(port)
    assert status == 200
    assert "kec-tui" in html and f"ws://127.0.0.1:{port}/ws" in html
    # every stylesheet, script and font the page names comes from this server (no public CDN)
    assert "fonts.googleapis" not in html
    urls = re.findall(r"""\w+://[^"')\s]+""", html)
    assert len(urls) >= 4 and all(url.split("/")[2] == f"127.0.0.1:{port}" for url in urls), urls
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24") as ws:
            term = WebTerminal(ws)
            await term.wait_for("Sign in to kec-tui")
            await term.type("\x10")                       # Ctrl+P: no command palette before signing in
            await term.type("msr1\rnot-the-password\r")   # typed ahead, as one burst
            shown = await term.wait_for("Wrong operator name or password")
            assert "not-the-password" not in shown and "****" not in shown.split("Password", 1)[1][:6]
            assert "Search for" not in shown              # the palette did not open
            await term.type("\x1b")                       # the refusal locked the form: Esc (Reset) goes on
            await term.wait_for("Password  ", timeout=5)
            await asyncio.sleep(0.5)                      # beyond the escape delay: a lone Esc
            await term.type(PASSWORD)
            shown = await term.wait_for("*" * len(PASSWORD))  # shown as asterisks, never as typed
            assert PASSWORD not in shown
            await term.type("\r")
            shown = await term.wait_for("Type an account number")
            assert "Pat Keyer (msr1, msr)" in shown
            await term.type("smith john")
            await term.wait_for("Smith, John")
    assert PASSWORD not in log_path.read_text(errors="replace")
    db.connect(str(web_server[2].parent / "coop.db"))
    actions = [(r.action, r.after) for r in db.AuditLog.select().where(db.AuditLog.action.startswith("login"))]
    assert actions == [("login.refused", "web 127.0.0.1"), ("login", "web 127.0.0.1")]  # the browser's address
    db.database.close()


def session_ended(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"   # a zombie: it exited
    except FileNotFoundError:
        return True


async def test_a_killed_server_leaves_no_session_running(web_server):
    """Killed (not stopped), the server cannot end its sessions; each notices and ends itself."""
    port, proc, _log = web_server
    await get_page(port)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24") as ws:
            term = WebTerminal(ws)
            await term.wait_for("Sign in to kec-tui")
            [session] = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                            text=True).stdout.split()]
            proc.kill()
            proc.wait()
            deadline = time.monotonic() + 15
            while not session_ended(session) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            ended = session_ended(session)
            if not ended:
                os.kill(session, signal.SIGKILL)
            assert ended, "the session ran on after its server was killed"
