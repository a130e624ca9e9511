"""Runs the collections benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_collections.py")


def test_bench_collections_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "60", "--months", "4"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 60
    assert "aging_30000_s" in figures and "aging_1000000_s" in figures
    assert all(figures[k] >= 0 for k in ("aging_60_s", "aged_rows_60_s", "worklist_all_60_s", "late_fee_preview_60_s"))
    assert figures["trial_balance_60_cents"] > 0 and figures["past_due_accounts_60"] >= 1
    assert figures["late_fee_commit_60_s"] >= 0 and figures["late_fees_60"] >= 0
    assert figures["worklist_all_60_accounts"] == figures["past_due_accounts_60"]
    assert figures["notices_60"] >= 0 and figures["notice_commit_60_s"] >= 0
