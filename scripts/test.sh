#!/usr/bin/env bash
# Set up, then run the whole test suite (PostgreSQL tests need 127.0.0.1:5432;
# with CI=true they are required, elsewhere they skip with the reason).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v tmux >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq tmux >/dev/null
    else
        echo "note: tmux is not installed; the real-terminal tests will skip" >&2
    fi
fi
# Lint first (pyproject.toml [tool.ruff]): a finding fails the run before the slow part.
.venv/bin/ruff check kec_tui tests
exec .venv/bin/python -m pytest -n 2 "$@"
