"""Runs the programs benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_programs.py")


def test_bench_programs_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "60"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 60
    assert "allocation_30000_s" in figures and "allocation_1000000_s" in figures
    assert figures["allocation_60_s"] >= 0 and figures["members_60"] == 55
    assert figures["margin_60_cents"] > 0
