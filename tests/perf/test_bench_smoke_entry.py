"""Runs the EntryForm benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_entry_form.py")


def test_bench_entry_form_runs_and_reports_json():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--records", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["records"] == 20
    assert figures["keys"] > 0 and figures["keys_per_record"] == round(figures["keys"] / 20, 2)
    entry, inputs = figures["entry_form"], figures["input_form"]
    # One widget owning its fields lands every record of the burst as keyed.
    assert entry["records_correct"] == 20 and entry["misrouted_keys"] == 0
    assert entry["keys_per_s"] > 0 and entry["render_us"] > 0 and entry["render_whole_us"] > 0
    assert inputs["keys_per_s"] > 0 and inputs["render_us"] is None
    assert 0 <= inputs["records_correct"] <= 20 and inputs["misrouted_keys"] >= 0
