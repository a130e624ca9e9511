"""Runs the backup benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_backup.py")


def test_bench_backup_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "200", "--months", "2", "--baseline", "0.3"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["accounts"] == 200 and figures["backup_200_s"] > 0 and figures["integrity"] == "ok"
    assert "longest_wait_ms" in figures and figures["ledger_rows"] > 200
