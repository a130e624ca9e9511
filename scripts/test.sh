#!/usr/bin/env bash
# Set up, then run the whole test suite (PostgreSQL tests need 127.0.0.1:5432;
# with CI=true they are required, elsewhere they skip with the reason).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# tmux for the real-terminal tests, poppler-utils for the statement PDFs, Debian's chromium and chromium-driver for the browser tests
# (installed as root where apt-get is; elsewhere those tests skip with the reason, with CI=true they fail).
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)   # statements read back as text
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "note: ${missing[*]} not installed; the real-terminal or browser tests will skip" >&2
    fi
fi
# Lint first (pyproject.toml [tool.ruff]): a finding fails the run before the slow part.
.venv/bin/ruff check kec_tui tests
exec .venv/bin/python -m pytest -n 2 "$@"
