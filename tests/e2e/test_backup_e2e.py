"""A backup taken while an MSR keys a burst of 500 payments in the real program (tmux): the copy
passes its checks and holds every line committed before the backup began; `kec-tui restore` to a
new path (never onto the live database) and the restored file opens in the application.

Meanwhile a probe session keys lines through the same service the form uses and times each
commit: the longest wait a keyed line sees during the backup is printed (the figure; the
non-blocking itself is proven deterministically in tests/services/test_backup.py).
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.demo import build_demo
from kec_tui.services import backup, batches, operators
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e

STUBS = 500
PROBES = 120
BASELINE = 30           # probe lines keyed during the burst before the backup begins


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}


def kec_tui() -> Path:
    import sys

    return Path(sys.executable).with_name("kec-tui")


def payable_accounts(n: int) -> list[tuple[int, int]]:
    """(account number, balance) of active accounts owing something that a check may pay."""
    rows = db.database.execute_sql(
        "SELECT a.number, SUM(l.amount_cents) FROM account a JOIN ledger_entry l ON l.account_id = a.id "
        "WHERE a.status = 'active' AND a.cash_only_until IS NULL GROUP BY a.id, a.number "
        "HAVING SUM(l.amount_cents) BETWEEN 100 AND 90000 ORDER BY a.number LIMIT ?", (n,)).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def test_backup_during_a_burst_of_500_payments_then_restore_opens(tmp_path):
    exe = kec_tui()
    if not exe.exists():
        pytest.skip(f"{exe} is not installed")
    live = tmp_path / "coop.db"
    db.connect(str(live))
    build_demo(accounts=3_000, months=4, seed=7)
    probe_op = operators.create("probe1", "Probe Keyer", "msr")
    accts = payable_accounts(STUBS + PROBES)
    assert len(accts) == STUBS + PROBES, "the demo co-op has enough accounts owing"
    keyed, probes = accts[:STUBS], accts[STUBS:]
    total = sum(b for _, b in keyed)
    db.database.close()

    term = Terminal(f"{exe} --db {live} --operator msr1", width=80, height=24, env=env_for(tmp_path))
    try:
        term.wait_for("Lookup", timeout=40)
        term.send("F3")
        term.wait_for("Payment batches")
        term.send("F5")
        term.wait_for("Control total")
        term.type(f"\r\r{STUBS}\r{total // 100}.{total % 100:02d}\r")
        term.wait_for(f"Keyed 0 / {STUBS}")
        burst = "".join(f"{n}\r{b // 100}.{b % 100:02d}\r\r" for n, b in keyed)
        chunk = len(burst) // 10 + 1
        for i in range(0, len(burst), chunk):            # one burst, in a few send-keys calls
            term.type(burst[i:i + chunk])
        # Some lines are in: the backup begins while the rest of the burst is still being keyed.
        deadline = time.monotonic() + 60
        while True:
            with sqlite3.connect(live) as c:
                done = c.execute("SELECT COUNT(*) FROM batch_line").fetchone()[0]
            if done >= 50 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert done >= 50, term.screen()
        # The probe: another MSR keying through the service, each line timed, while the copy runs.
        db.connect(str(live))
        probe_batch = batches.open_batch(probe_op, "check", PROBES, sum(b for _, b in probes))
        db.database.close()
        waits: list[float] = []
        baseline: list[float] = []
        copying = threading.Event()
        stop = threading.Event()
        ready = threading.Event()

        def probe() -> None:
            with db.database.connection_context():
                for i, (n, b) in enumerate(probes):
                    if stop.is_set():
                        break
                    if i == BASELINE:
                        ready.set()
                    t = time.perf_counter()
                    during = copying.is_set()
                    batches.key_line(probe_op, probe_batch.id, str(n), b)
                    (waits if during and copying.is_set() else baseline).append(time.perf_counter() - t)
                    time.sleep(0.01)
            ready.set()

        worker = threading.Thread(target=probe)
        worker.start()
        ready.wait(timeout=60)
        with sqlite3.connect(live) as c:
            before = {r[0] for r in c.execute("SELECT id FROM batch_line")}
        copying.set()
        started = time.perf_counter()
        result = backup.backup(live, tmp_path / "copy.db", pages=4, pause=0.005)
        took = time.perf_counter() - started
        copying.clear()
        stop.set()
        worker.join(timeout=60)
        term.wait_for("BALANCED", timeout=120)
        with sqlite3.connect(live) as c:
            after = c.execute("SELECT COUNT(*) FROM batch_line").fetchone()[0]
    finally:
        term.close()

    assert result.check.ok and result.check.integrity == "ok", result.check.lines()
    with sqlite3.connect(result.path) as c:
        copied = {r[0] for r in c.execute("SELECT id FROM batch_line")}
    assert before <= copied, "every line committed before the backup began is in the copy"
    assert after >= STUBS                # the burst's 500 and the probe's lines
    longest = max(waits) if waits else 0.0
    print(f"\nbackup of {result.bytes / 1e6:.1f} MB in {took:.2f} s ({result.steps} steps) during the burst: "
          f"{len(before)} lines before it, {len(copied)} in the copy, {after} keyed by the end; "
          f"probe lines: {len(waits)} during the copy, longest wait {longest * 1000:.0f} ms; "
          f"{len(baseline)} outside it (the burst alone), longest {max(baseline, default=0) * 1000:.0f} ms")
    assert waits and longest < 5.0        # a blocked writer would wait the whole copy out (busy timeout 10 s)

    env = {**os.environ, **env_for(tmp_path)}
    onto_live = subprocess.run([str(exe), "--db", str(live), "restore", str(result.path), "--to", str(live)],
                               capture_output=True, text=True, env=env, timeout=60)
    assert onto_live.returncode == 2 and "is the live database" in onto_live.stderr
    restored = tmp_path / "restored.db"
    done = subprocess.run([str(exe), "--db", str(live), "restore", str(result.path), "--to", str(restored)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Integrity check: ok" in done.stdout
    term = Terminal(f"{exe} --db {restored} --operator msr1", width=80, height=24, env=env_for(tmp_path))
    try:
        term.wait_for("Lookup", timeout=40)
        term.send("F3")
        shown = term.wait_for("Payment batches")
        assert "open" in shown.lower()
    finally:
        term.close()
    with sqlite3.connect(restored) as c:
        assert {r[0] for r in c.execute("SELECT id FROM batch_line")} == copied
