"""Runs the seal and verify benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_verify.py")


def test_bench_verify_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "60", "--months", "3"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["accounts"] == 60 and figures["ledger_rows"] > 60 and figures["seals"] >= 1
    assert figures["verify_60_s"] > 0 and figures["verify_rows_per_s"] > 0
