"""Runs the usage report benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_usage_report.py")


def test_bench_usage_report_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "40", "--periods", "13"],
                          capture_output=True, text=True, timeout=150, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 40 and figures["periods_billed"] == 13
    assert figures["bills"] > 13 * 30 and figures["total_12_months_cents"] > 0
    assert figures["report_12_months_ms"] > 0 and figures["python_loop_12_months_ms"] > 0
    assert figures["report_rows_12_months"] >= 12 and figures["pdf_bytes"] > 1000
