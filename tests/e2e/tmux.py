"""Drive the real program in a real terminal: tmux send-keys in, capture-pane out."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest


class Terminal:
    def __init__(self, command: str, *, width: int = 80, height: int = 24, env: dict[str, str] | None = None):
        if not shutil.which("tmux"):
            pytest.skip("tmux is not installed (scripts/test.sh installs it where it can)")
        self.socket = f"kec-e2e-{uuid.uuid4().hex[:8]}"
        self.session = "t"
        full_env = {**os.environ, **(env or {}), "TERM": "xterm-256color"}
        exports = " ".join(f"{k}={v!r}" for k, v in (env or {}).items())
        # `; sleep` keeps the pane readable after the program exits, so a crash can be seen.
        self._tmux("new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
                   f"{exports} {command}; echo '[exited '$?']'; sleep 600", env=full_env)

    def _tmux(self, *args: str, env: dict | None = None) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env,
                             timeout=30)
        return out.stdout

    def send(self, *keys: str) -> None:
        """tmux key names (Enter, Escape, F6, C-s ...)."""
        self._tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        """Literal text, sent as one burst."""
        self._tmux("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", self.session, "-p")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                # The same screen twice: a frame is written in pieces, and a capture between two
                # pieces shows the new screen's top over the last one's rest (a dialog just closed).
                time.sleep(0.05)
                again = self.screen()
                if again == shown:
                    return shown
                continue
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen shows:\n{shown}")

    def pid(self) -> int:
        """The pid of the program running in the pane (the shell's child)."""
        shell = int(self._tmux("list-panes", "-t", self.session, "-F", "#{pane_pid}").strip())
        children = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout.split()
        return int(children[0]) if children else shell

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
