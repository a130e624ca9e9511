"""Runs the SSH benchmark at a tiny size so it cannot rot (it needs PostgreSQL: skipped with the
reason when no server answers, required when CI=true, as in tests/conftest.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, PG_BASE

BENCH = Path(__file__).with_name("bench_ssh.py")

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_server():
    import psycopg2

    try:
        psycopg2.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).strip().splitlines()[0]
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but {PG_BASE} does not answer: {reason}")
        pytest.skip(f"no PostgreSQL server at {PG_BASE}: {reason}")
    return PG_BASE


def test_bench_ssh_runs_small_and_reports_json(postgres_server):
    done = subprocess.run([sys.executable, str(BENCH), "--sessions", "2", "--stubs", "3", "--pg", postgres_server],
                          capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert (figures["sessions"], figures["stubs"], figures["failed_sessions"]) == (2, 3, 0)
    assert figures["batches_opened"] == 2 and figures["batch_numbers_consecutive"]
    assert figures["all_lines_right"] and figures["all_posted_once"]
    assert figures["echo_p95_ms"] > 0 and figures["bytes_per_echoed_key_p50"] > 0
    assert figures["signin_to_first_screen_p50_s"] > 0 and figures["session_processes"] == 2
    assert figures["pss_per_session_mb"] > 0 and figures["total_pss_mb"] > figures["server_pss_mb"] > 0
