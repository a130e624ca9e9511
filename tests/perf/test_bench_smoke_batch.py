"""Runs the batch entry benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_batch.py")


def test_bench_batch_runs_small_and_reports_json():
    done = subprocess.run([sys.executable, str(BENCH), "--small"], capture_output=True, text=True, timeout=180,
                          check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["payments"] == 40 and figures["keys"] > 40 * 10
    strokes = figures["keystrokes"]
    assert strokes["scanned_exact"] <= 2 and strokes["scanned_goal_met"]
    assert strokes["keyed_odd_goal_met"] and strokes["keyed_odd_tenkey_cash"] == strokes["account_digits"] + 4 + 2
    screen = figures["batch_screen"]
    assert screen["all_exact"] and screen["lines_exact"] == 40 and screen["misrouted_keys"] == 0
    assert screen["keys_per_s"] > 0 and screen["form_error"] is None
    assert figures["input_form"]["keys_per_s"] > 0 and figures["input_form"]["misrouted_keys"] >= 0
    assert figures["post_lines"] == 20 and figures["post_s"] > 0 and figures["import_lines"] == 60
