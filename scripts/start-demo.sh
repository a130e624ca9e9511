#!/usr/bin/env bash
# Set up, then start kec-tui on the demo co-op (built on first run, SQLite, no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kec-tui "$@"
