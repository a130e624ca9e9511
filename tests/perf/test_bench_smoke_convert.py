"""Runs the conversion benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_convert.py")


def test_bench_convert_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "40", "--months", "3"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 40
    assert "convert_30000_s" in figures and "convert_1000000_s" in figures
    assert figures["convert_40_s"] >= 0 and figures["dry_run_40_s"] >= 0 and figures["export_40_s"] >= 0
    assert figures["readings_40"] == 120 and figures["bills_40"] == 120
    assert figures["backup_40_s"] >= 0 and figures["backup_integrity"] == "ok" and "backup_longest_wait_ms" in figures
