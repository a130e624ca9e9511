"""Runs the lookup benchmark at a tiny size so it cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_lookup.py")


def test_bench_lookup_runs_and_reports_json(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--accounts", "400", "--queries", "40", "--db", str(tmp_path / "b.db")],
        capture_output=True, text=True, timeout=180, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["accounts"] == 400 and figures["best_first_ok"] is True
    for key in ("account_p95_ms", "name_common_p95_ms", "name_rare_p95_ms", "address_common_p95_ms",
                "two_words_common_p95_ms", "like_name_common_p95_ms", "account_raw_sql_p95_ms"):
        assert figures[key] > 0, key
    if figures.get("start_to_first_screen_s") is not None:      # tmux present
        assert figures["start_to_first_screen_s"] > 0 and figures["peak_rss_mb"] > 0
