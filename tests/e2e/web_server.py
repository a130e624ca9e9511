"""`kec-tui serve-web` started on a free loopback port for a test, and stopped after it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.e2e.conftest import KEC_TUI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve-web did not listen on 127.0.0.1:{port} (exit code {proc.poll()})")
            time.sleep(0.05)


@contextmanager
def serve_web(dbfile: Path, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen, Path]]:
    """(port, process, log file) of a serve-web on `dbfile`; its output goes to the log file."""
    port = free_port()
    log_path = tmp_path / "serve-web.log"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "COLUMNS": "200"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([KEC_TUI, "--db", str(dbfile), "serve-web", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_listening(port, proc)
            yield port, proc, log_path
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)   # the server and the sessions it started
                proc.wait()
