"""`kec-tui verify`: seals, then checks; a tampered row is named; an empty, foreign or missing
database is said so and left untouched."""
import os
import sqlite3
import subprocess

from kec_tui import db
from tests.e2e.conftest import KEC_TUI


def run(tmp_path, *args):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([KEC_TUI, *args], capture_output=True, text=True, timeout=120, env=env)


def age(path) -> None:
    """The rows were written an hour ago (the seal leaves younger rows for the next one)."""
    with sqlite3.connect(path) as c:
        c.execute("UPDATE ledger_entry SET posted_at = datetime('now', 'localtime', '-1 hour')")
        c.execute("UPDATE audit_log SET at = datetime('now', 'localtime', '-1 hour')")


def test_verify_seals_checks_and_names_a_changed_row(small_coop, tmp_path):
    age(small_coop)
    r = run(tmp_path, "--db", str(small_coop), "verify")
    assert r.returncode == 0, r.stderr
    assert "Sealed 3 ledger" in r.stdout and "OK: no row was changed" in r.stdout
    assert (tmp_path / "data" / "kec-tui" / "seal.key").stat().st_mode & 0o777 == 0o600
    again = run(tmp_path, "--db", str(small_coop), "verify", "--no-seal")
    assert again.returncode == 0 and "Checked 1 seal(s): 3 ledger rows, 0 audit rows" in again.stdout
    with sqlite3.connect(small_coop) as c:
        victim = c.execute("SELECT id FROM ledger_entry WHERE kind = 'payment'").fetchone()[0]
        c.execute("UPDATE ledger_entry SET amount_cents = -1 WHERE id = ?", (victim,))
    bad = run(tmp_path, "--db", str(small_coop), "verify")
    assert bad.returncode == 1
    assert f"ledger row {victim}: changed" in bad.stdout and "TAMPERED: 1 problem" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_verify_on_an_empty_kec_tui_database(tmp_path):
    path = tmp_path / "empty.db"
    db.connect(str(path))
    db.database.close()
    r = run(tmp_path, "--db", str(path), "verify")
    assert r.returncode == 0 and "Checked 0 seal(s): 0 ledger rows, 0 audit rows" in r.stdout


def test_verify_on_a_foreign_or_missing_database_changes_nothing(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
    r = run(tmp_path, "--db", str(path), "verify")
    assert r.returncode == 2 and "is not a kec-tui database" in r.stderr
    with sqlite3.connect(path) as c:
        assert [t for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    (tmp_path / "junk.db").write_bytes(b"this is not a database at all" * 100)
    junk = run(tmp_path, "--db", str(tmp_path / "junk.db"), "verify")
    assert junk.returncode == 2 and "Traceback" not in junk.stderr
    missing = run(tmp_path, "--db", str(tmp_path / "nowhere.db"), "verify")
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "nowhere.db").exists()
