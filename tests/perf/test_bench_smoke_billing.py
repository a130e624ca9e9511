"""Runs the billing benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_billing.py")


def test_bench_billing_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "60", "--statements", "3", "--also", "40"],
                          capture_output=True, text=True, timeout=180, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 60
    assert figures["bills"] > 20 and figures["billed_total_cents"] > 0
    assert figures["preview_s"] > 0 and figures["commit_s"] > 0 and figures["run_60_s"] > 0
    assert figures["statement_pdf_ms_mean"] > 0 and figures["print_file_statements"] > 0
    assert figures["reading_burst_meters"] >= 3 and figures["reading_all_written"] is True
    assert figures["reading_keys_per_s"] > 0 and figures["reading_direct_keys_per_s"] > 0
    assert figures["run_peak_rss_mb"] > 0 and figures["run_cpu_s"] > 0
    # --also N (what --million does for 1,000,000): the run for N accounts in a child, named in the same line
    assert figures["run_40_s"] > 0 and figures["also_40"]["bills"] > 10 and figures["also_40"]["run_cpu_s"] > 0
