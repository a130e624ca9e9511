"""Runs the autopay benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_autopay.py")


def test_bench_autopay_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "50"],
                          capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["accounts"] == 50
    assert "draft_30000_s" in figures and "draft_1000000_s" in figures
    assert figures["draft_50_s"] >= 0 and figures["drafts_50"] + figures["excluded_50"] == 50
    assert figures["drafts_50_cents"] > 0
