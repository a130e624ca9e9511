"""`kec-tui train` and `kec-tui report keystats` from the command line and in a real 80x24 terminal."""
import subprocess

import pytest

from kec_tui import db
from tests.e2e.conftest import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def run(*args):
    return subprocess.run([KEC_TUI, *args], capture_output=True, text=True, timeout=60)


def test_list_and_bad_names():
    r = run("train", "--list")
    assert r.returncode == 0 and "contact" in r.stdout and "Key and post a payment batch" in r.stdout
    r = run("train", "--walkthrough", "juggling")
    assert r.returncode == 2 and "no walkthrough named 'juggling'" in r.stderr and "Traceback" not in r.stderr


def test_training_never_runs_on_the_live_database(small_coop):
    r = run("--db", str(small_coop), "train", "--practice-db", str(small_coop))
    assert r.returncode == 2 and "is the live database" in r.stderr
    other = small_coop.with_name("copy.db")
    other.write_bytes(small_coop.read_bytes())
    r = run("train", "--practice-db", str(other))                  # a live copy is no practice database
    assert r.returncode == 2 and "not a practice database" in r.stderr


def test_report_keystats_for_supervisors(small_coop):
    r = run("--db", str(small_coop), "--operator", "msr1", "report", "keystats")
    assert r.returncode == 2 and "for supervisors" in r.stderr
    assert run("--db", str(small_coop), "operator", "add", "boss", "--name", "Sam Boss",
               "--role", "supervisor").returncode == 0
    r = run("--db", str(small_coop), "--operator", "boss", "report", "keystats", "--days", "3")
    assert r.returncode == 0 and "No keystrokes recorded in the last 3 days" in r.stdout


def test_train_at_80x24_marker_panel_and_keys_recorded(tmp_path):
    practice = tmp_path / "practice.db"
    term = Terminal(f"{KEC_TUI} --operator pat train --practice-db {practice} --accounts 150 --months 2 "
                    f"--walkthrough contact", width=80, height=24)
    try:
        term.wait_for("TRAINING — practice database")                 # the title
        shown = term.wait_for("step 1 of 4")                           # the panel
        lines = shown.splitlines()
        panel = next(i for i, line in enumerate(lines) if "step 1 of 4" in line)
        assert panel >= 18 and "Help" in lines[-1]                     # a band at the bottom, above the Footer
        term.type("zzqx")                                              # the keys go to the lookup box
        term.wait_for("zzqx")
        term.send("C-g")
        term.wait_for("Hint 1/")
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
    db.connect(str(practice))
    try:
        row = db.KeyStats.select().join(db.Operator).where(db.Operator.username == "pat").get()
        assert row.keys >= 6
    finally:
        db.database.close()
