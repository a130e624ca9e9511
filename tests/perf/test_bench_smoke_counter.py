"""Runs the counter benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_counter.py")


def test_bench_counter_runs_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--txns", "20"], capture_output=True, text=True,
                          timeout=120, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["txns"] == 20
    assert figures["cash_cents"] == 10_000 + 20 * 1_000          # the float and the cash of 20 (no change)
    assert figures["check_cents"] == 20 * 265 and figures["take_mean_ms"] > 0
