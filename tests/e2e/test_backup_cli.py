"""`kec-tui backup`, `restore` and `journal` as commands: what they print, their exit codes, and
that a refusal (onto the live database, a future day) writes nothing."""
from __future__ import annotations

import datetime as dt
import os
import subprocess

from kec_tui import db
from kec_tui.services import operators
from tests.e2e.conftest import KEC_TUI


def run(tmp_path, *args):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    return subprocess.run([KEC_TUI, *args], capture_output=True, text=True, timeout=120, env=env)


def test_backup_keep_and_restore_from_the_command_line(small_coop, tmp_path):
    keep = tmp_path / "backups"
    keep.mkdir()
    r = run(tmp_path, "--db", str(small_coop), "backup", str(keep), "--keep", "2")
    assert r.returncode == 0, r.stderr
    assert "Integrity check: ok" in r.stdout and "OK: the copy passed its checks." in r.stdout
    (copy,) = list(keep.iterdir())
    assert copy.name.startswith("kec-tui-") and copy.suffix == ".db"
    again = run(tmp_path, "--db", str(small_coop), "backup", str(copy))
    assert again.returncode == 2 and "exists" in again.stderr and "no backup made" in again.stderr
    live = run(tmp_path, "--db", str(small_coop), "restore", str(copy), "--to", str(small_coop))
    assert live.returncode == 2 and "is the live database" in live.stderr
    out = tmp_path / "restored.db"
    done = run(tmp_path, "--db", str(small_coop), "restore", str(copy), "--to", str(out))
    assert done.returncode == 0 and f"kec-tui --db {out}" in done.stdout
    pg = run(tmp_path, "--db", "postgresql://kec@127.0.0.1:1/none", "backup", str(tmp_path / "x.db"))
    assert pg.returncode == 2 and "pg_dump" in pg.stderr and "Traceback" not in pg.stderr


def test_journal_from_the_command_line(small_coop, tmp_path):
    db.connect(str(small_coop))
    operators.create("bill1", "Bea Ledger", "billing")
    db.database.close()
    future = dt.date.today() + dt.timedelta(days=2)
    r = run(tmp_path, "--db", str(small_coop), "--operator", "bill1", "journal", future.isoformat(), "--close")
    assert r.returncode == 2 and "in the future" in r.stderr
    day = dt.date(2025, 9, 1)           # the factories' payment day
    r = run(tmp_path, "--db", str(small_coop), "--operator", "bill1", "journal", day.isoformat(), "--close")
    assert r.returncode == 0, r.stderr
    assert "closed" in r.stdout and "ties" in r.stdout and "balanced" in r.stdout
    reports = tmp_path / "data" / "kec-tui" / "reports"
    assert (reports / "gl-journal-2025-09-01.csv").exists() and (reports / "gl-journal-2025-09-01.txt").exists()
    twice = run(tmp_path, "--db", str(small_coop), "--operator", "bill1", "journal", day.isoformat(), "--close")
    assert twice.returncode == 2 and "already closed" in twice.stderr
    msr = run(tmp_path, "--db", str(small_coop), "--operator", "msr1", "journal", day.isoformat())
    assert msr.returncode == 2 and "may not" in msr.stderr
    helped = run(tmp_path, "journal", "--help")
    assert "D debit or C credit" in helped.stdout
