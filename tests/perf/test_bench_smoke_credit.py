"""Runs the credit benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_credit.py")


def test_bench_credit_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "60", "--months", "4"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 60
    assert all(figures[k] >= 0 for k in ("writeoff_list_60_s", "writeoff_approve_60_s", "referral_candidates_60_s",
                                         "deposit_review_preview_60_s", "deposit_review_commit_60_s",
                                         "assess_100_60_s"))
