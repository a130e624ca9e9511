"""Lookup benchmark: account-number and name/address search through the service
layer on a large demo co-op, beside the simplest alternatives in the same run;
start to first screen and peak memory of the real program in tmux.

    python tests/perf/bench_lookup.py                      # 1,000,000 accounts (builds /tmp/kec-bench-1000000.db once)
    python tests/perf/bench_lookup.py --accounts 2000 --queries 50   # the smoke size

Prints figures, then one line of JSON.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.services import accounts  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def timed(fn, args_list) -> list[float]:
    out = []
    for a in args_list:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1000)
    return out


def build(path: Path, n: int, months: int) -> float:
    from kec_tui.demo import build_demo

    t = time.perf_counter()
    db.connect(str(path))
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            print(f"  building {done:,}/{total:,}", flush=True)

    build_demo(accounts=n, months=months, seed=7, progress=progress)
    db.database.close()
    return time.perf_counter() - t


def prefix_counts(raw: sqlite3.Connection, kind: int) -> list[tuple[str, int]]:
    """3-letter prefixes of one kind of word with how many terms start with each."""
    rows = raw.execute("SELECT substr(term,1,3) p, count(*) c FROM search_term WHERE kind=? AND length(term)>=3 "
                       "AND term GLOB '[a-z][a-z][a-z]*' GROUP BY p ORDER BY c DESC", (kind,)).fetchall()
    return [(p, c) for p, c in rows]


def start_and_rss(path: Path) -> tuple[float | None, float | None]:
    """Seconds from launch to the first screen, and peak RSS (MB) after some searches, in tmux."""
    if not shutil.which("tmux"):
        return None, None
    sock = f"kec-bench-{uuid.uuid4().hex[:6]}"
    exe = str(Path(sys.executable).with_name("kec-tui"))
    t0 = time.perf_counter()
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "80", "-y", "24",
                    f"{exe} --db {path} --operator msr1; sleep 60"], check=True)
    started = None
    try:
        while time.perf_counter() - t0 < 20:
            screen = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if "Type an account number" in screen:
                started = time.perf_counter() - t0
                break
            time.sleep(0.005)
        for q in ("smi", "joh mil", "2085", "gov"):
            subprocess.run(["tmux", "-L", sock, "send-keys", "-l", q])
            time.sleep(0.5)
            subprocess.run(["tmux", "-L", sock, "send-keys", "C-u"])
        shell = subprocess.run(["tmux", "-L", sock, "list-panes", "-F", "#{pane_pid}"], capture_output=True,
                               text=True).stdout.strip()
        child = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        rss = None
        if child:
            for line in Path(f"/proc/{child[0]}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) / 1024
        return started, rss
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=1, help="history per account (lookups do not read it)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--db", type=Path, help="reuse or build this file (default /tmp/kec-bench-N.db)")
    ap.add_argument("--no-terminal", action="store_true", help="skip the tmux start/RSS measurement")
    args = ap.parse_args()
    path = args.db or Path(f"/tmp/kec-bench-{args.accounts}.db")
    build_s = None
    if not path.exists():
        print(f"Building {args.accounts:,} accounts x {args.months} months at {path} ...", flush=True)
        build_s = build(path, args.accounts, args.months)
        print(f"  built in {build_s:.1f} s, {path.stat().st_size / 1e6:,.0f} MB")
    db.connect(str(path))
    raw = sqlite3.connect(str(path))
    rng = random.Random(1)
    n_accounts = raw.execute("SELECT count(*) FROM account").fetchone()[0]
    numbers = [r[0] for r in raw.execute("SELECT number FROM account ORDER BY random() LIMIT ?", (args.queries,))]

    # 1. Account number: service layer (check digit, exact hit with name and address) vs raw SQL.
    accounts.lookup(str(numbers[0]))
    svc = timed(lambda n: accounts.lookup(str(n)), numbers)
    raw_ms = timed(lambda n: raw.execute("SELECT id FROM account WHERE number=?", (n,)).fetchone(), numbers)
    assert all(accounts.lookup(str(n)).hits[0].number == n for n in numbers[:20])

    # 2. Name and address: 3-letter prefixes, the most common and the rarest of each kind.
    names = prefix_counts(raw, 1)
    streets = prefix_counts(raw, 2)
    k = max(3, min(20, len(names) // 4))
    sets = {
        "name_common": [p for p, _ in names[:k]],
        "name_rare": [p for p, _ in names[-k:]],
        "address_common": [p for p, _ in streets[:k]],
        "address_rare": [p for p, _ in streets[-k:]],
    }
    two_word = [f"{rng.choice(sets['name_common'])} {rng.choice(sets['name_common'])}" for _ in range(k)]
    figures: dict[str, float | int | None] = {"accounts": n_accounts, "queries": args.queries}
    reps = max(1, args.queries // (4 * k))
    for label, prefixes in [*sets.items(), ("two_words_common", two_word)]:
        qs = prefixes * reps
        ms = timed(lambda q: accounts.lookup(q, limit=30), qs)
        figures[f"{label}_p50_ms"] = round(pct(ms, 50), 3)
        figures[f"{label}_p95_ms"] = round(pct(ms, 95), 3)
    # Best matches first: an exact word leads, then shorter/alphabetical words.
    r = accounts.lookup(names[0][0], limit=30)
    figures["best_first_ok"] = all(a.term <= b.term for a, b in zip(r.hits, r.hits[1:]))

    # The simplest alternative: LIKE over the member names, best-first by name.
    like = timed(lambda p: raw.execute(
        "SELECT a.id FROM account a JOIN member m ON m.id=a.member_id WHERE m.last_name LIKE ? OR m.first_name LIKE ? "
        "ORDER BY m.last_name, m.first_name LIMIT 30", (p + "%", p + "%")).fetchall(),
        sets["name_common"] * reps)
    figures["like_name_common_p95_ms"] = round(pct(like, 95), 3)

    figures.update({
        "account_p50_ms": round(pct(svc, 50), 4), "account_p95_ms": round(pct(svc, 95), 4),
        "account_raw_sql_p95_ms": round(pct(raw_ms, 95), 4),
        "build_s": round(build_s, 1) if build_s else None,
        "db_mb": round(path.stat().st_size / 1e6),
    })
    if not args.no_terminal:
        start_s, rss = start_and_rss(path)
        figures["start_to_first_screen_s"] = round(start_s, 3) if start_s else None
        figures["peak_rss_mb"] = round(rss, 1) if rss else None

    print(f"accounts                      {n_accounts:>12,}")
    for key, value in figures.items():
        if key != "accounts":
            print(f"{key:<30}{value!s:>12}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
