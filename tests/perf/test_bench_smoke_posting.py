"""Runs the posting benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_posting.py")


def test_bench_posting_runs_and_reports_json():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--lines", "20", "--import-lines", "60", "--accounts", "200",
         "--unknown-percent", "10"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["backend"] == "sqlite" and figures["lines"] == 20 and figures["import_lines"] == 60
    assert figures["post_s"] > 0 and figures["post_lines_per_s"] > 0 and figures["post_goal_met"] is True
    assert figures["key_line_ms_mean"] > 0 and figures["account_info_ms"] > 0
    for fmt in ("bai2", "csv"):
        f = figures["import"][fmt]
        assert f["matched"] + f["exceptions"] == 60 and f["import_s"] > 0 and f["post_s"] > 0
