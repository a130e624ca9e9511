"""Runs the lookup benchmark at a tiny size so it cannot rot, on SQLite and on PostgreSQL."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pg_url, worker_id

BENCH = Path(__file__).with_name("bench_lookup.py")
FIGURES = ("account_p95_ms", "name_common_p95_ms", "name_rare_p95_ms", "address_common_p95_ms",
           "two_words_common_p95_ms", "two_words_sparse_p95_ms", "address_as_typed_p95_ms",
           "two_words_common_term_plan_p95_ms", "like_name_common_p95_ms", "like_two_words_p95_ms",
           "account_raw_sql_p95_ms")


def run_bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCH), "--accounts", "400", "--queries", "40", *args],
                          capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["accounts"] == 400 and figures["best_first_ok"] is True
    for key in FIGURES:
        assert figures[key] > 0, key
    assert figures["address_as_typed_found"] >= 3      # the whole street finds it first
    return figures


def test_bench_lookup_runs_and_reports_json(tmp_path):
    figures = run_bench("--db", str(tmp_path / "b.db"))
    assert figures["db"] == "sqlite"
    if figures.get("start_to_first_screen_s") is not None:      # tmux present
        assert figures["start_to_first_screen_s"] > 0 and figures["peak_rss_mb"] > 0


@pytest.mark.postgres
def test_bench_lookup_on_postgresql(request):
    url = pg_url("bench" + worker_id(request))      # a database of its own, dropped at exit
    figures = run_bench("--db", url, "--no-terminal")
    assert figures["db"] == "postgresql"
