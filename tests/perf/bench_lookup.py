"""Lookup benchmark: account-number and name/address search through the service
layer on a large demo co-op, beside the simplest alternatives in the same run;
start to first screen and peak memory of the real program in tmux.

    python tests/perf/bench_lookup.py                      # 1,000,000 accounts (builds /tmp/kec-bench-1000000.db once)
    python tests/perf/bench_lookup.py --accounts 2000 --queries 50   # the smoke size
    python tests/perf/bench_lookup.py --db postgresql://postgres@127.0.0.1:5432/bench   # fills it if empty

Prints figures, then one line of JSON.
"""
from __future__ import annotations

import argparse
import json
import os
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
from kec_tui.config import redact  # noqa: E402
from kec_tui.services import accounts, search_index as si  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def timed(fn, args_list, clock=time.perf_counter) -> list[float]:
    out = []
    for a in args_list:
        t = clock()
        fn(a)
        out.append((clock() - t) * 1000)
    return out


def build(target: str, n: int, months: int) -> float:
    from kec_tui.demo import build_demo

    t = time.perf_counter()
    db.connect(target)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            print(f"  building {done:,}/{total:,}", flush=True)

    build_demo(accounts=n, months=months, seed=7, progress=progress)
    db.database.close()
    return time.perf_counter() - t


class Raw:
    """The same SQL straight through the driver (sqlite3 or psycopg2): the floor the service is measured against."""

    def __init__(self, target: str):
        self.pg = target.startswith(("postgres://", "postgresql://"))
        if self.pg:
            import psycopg2
            self.conn = psycopg2.connect(target)
            self.conn.autocommit = True
        else:
            self.conn = sqlite3.connect(target)

    def rows(self, sql: str, params=()) -> list[tuple]:
        if not self.pg:
            return self.conn.execute(sql, params).fetchall()
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s").replace("LIKE", "ILIKE"), params)
            return cur.fetchall()


def prefix_counts(raw: Raw, kind: int) -> list[tuple[str, int]]:
    """3-letter prefixes of one kind of word with how many terms start with each."""
    letters = "term ~ '^[a-z]{3}'" if raw.pg else "term GLOB '[a-z][a-z][a-z]*'"
    rows = raw.rows(f"SELECT substr(term,1,3) p, count(*) c FROM search_term WHERE kind=? AND length(term)>=3 "
                    f"AND {letters} GROUP BY p ORDER BY c DESC, p", (kind,))
    return [(p, c) for p, c in rows]


def pair_count(raw: Raw, a: str, b: str) -> int:
    """Accounts with a word starting with a and another starting with b (b: 3 letters)."""
    lo = f"{b} {a}"
    return raw.rows("SELECT count(*) FROM search_pair WHERE key >= ? AND key < ?", (lo, lo + "{"))[0][0]


def start_and_rss(target: str) -> tuple[float | None, float | None]:
    """Seconds from launch to the first screen, and peak RSS (MB) after some searches, in tmux."""
    if not shutil.which("tmux"):
        return None, None
    sock = f"kec-bench-{uuid.uuid4().hex[:6]}"
    exe = str(Path(sys.executable).with_name("kec-tui"))
    t0 = time.perf_counter()
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "80", "-y", "24",
                    f"{exe} --db {target} --operator msr1; sleep 60"], check=True)
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
    ap.add_argument("--db", help="a SQLite file to reuse or build (default /tmp/kec-bench-N.db), or a "
                                 "postgresql:// URL of a database to reuse or fill")
    ap.add_argument("--no-terminal", action="store_true", help="skip the tmux start/RSS measurement")
    args = ap.parse_args()
    target = args.db or f"/tmp/kec-bench-{args.accounts}.db"
    postgres = target.startswith(("postgres://", "postgresql://"))
    build_s = None
    if postgres:
        db.connect(target)
        if not db.Account.select().exists():
            print(f"Building {args.accounts:,} accounts x {args.months} months in {redact(target)} ...", flush=True)
            build_s = build(target, args.accounts, args.months)
    elif not Path(target).exists():
        print(f"Building {args.accounts:,} accounts x {args.months} months at {target} ...", flush=True)
        build_s = build(target, args.accounts, args.months)
        print(f"  built in {build_s:.1f} s, {Path(target).stat().st_size / 1e6:,.0f} MB")
    db.connect(target)
    raw = Raw(target)
    if postgres:    # fresh statistics after a bulk load, as autovacuum would leave them in a while
        raw.conn.cursor().execute("ANALYZE")
    rng = random.Random(1)
    n_accounts = raw.rows("SELECT count(*) FROM account")[0][0]
    numbers = [r[0] for r in raw.rows("SELECT number FROM account ORDER BY random() LIMIT ?", (args.queries,))]

    # 1. Account number: service layer (check digit, exact hit with name and address) vs raw SQL.
    accounts.lookup(str(numbers[0]))
    svc = timed(lambda n: accounts.lookup(str(n)), numbers)
    raw_ms = timed(lambda n: raw.rows("SELECT id FROM account WHERE number=?", (n,)), numbers)
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
    common = sets["name_common"]
    two_word = [f"{rng.choice(common)} {rng.choice(common)}" for _ in range(k)]
    # Sparse pairs: two common prefixes that rarely meet in one account (dav jos).
    pairs = sorted((pair_count(raw, a, b), a, b) for a in common for b in common if a != b)
    sparse = [f"{a} {b}" for c, a, b in pairs if c > 0][:k - 1] + ["dav jos"]
    # Addresses as people type them: the whole street, and house number with the street's name.
    located = raw.rows("SELECT l.street FROM account a JOIN service_location l ON l.id=a.location_id "
                       "ORDER BY random() LIMIT ?", (k,))
    as_typed = [s for (s,) in located] + [" ".join(s.lower().split()[:3]) for (s,) in located]
    figures: dict[str, float | int | str | None] = {
        "db": "postgresql" if postgres else "sqlite", "accounts": n_accounts, "queries": args.queries,
        "load_avg_1m": round(os.getloadavg()[0], 1)}      # other work on the machine during the run
    reps = max(1, args.queries // (4 * k))
    for label, queries in [*sets.items(), ("two_words_common", two_word), ("two_words_sparse", sparse),
                           ("address_as_typed", as_typed)]:
        ms = timed(lambda q: accounts.lookup(q, limit=30), queries * reps)
        figures[f"{label}_p50_ms"] = round(pct(ms, 50), 3)
        figures[f"{label}_p95_ms"] = round(pct(ms, 95), 3)
    if not postgres:
        # This thread's CPU time (SQLite runs in it): what a query costs on a busy machine,
        # without the waits for a core that other processes hold.
        for label, queries in (("two_words_common", two_word), ("two_words_sparse", sparse)):
            ms = timed(lambda q: accounts.lookup(q, limit=30), queries * reps, clock=time.thread_time)
            figures[f"{label}_cpu_p95_ms"] = round(pct(ms, 95), 3)
    figures["address_as_typed_found"] = sum(
        accounts.lookup(q, limit=30).hits[0].service_address.startswith(q + ",") for q in as_typed[:k])
    # Best matches first: an exact word leads, then shorter/alphabetical words.
    r = accounts.lookup(names[0][0], limit=30)
    figures["best_first_ok"] = all(a.term <= b.term for a, b in zip(r.hits, r.hits[1:]))

    # Beside them, in the same run: the plan without the pair index (walk the rarer
    # word's terms, probe each row for the other) ...
    def term_plan(q: str):
        return accounts._page(*accounts._term_query(si.query_words(q).words), 30, None)

    for label, queries in (("two_words_common", two_word), ("two_words_sparse", sparse)):
        ms = timed(term_plan, queries * reps)
        figures[f"{label}_term_plan_p95_ms"] = round(pct(ms, 95), 3)
    # ... and the simplest alternative: LIKE over the member names, best-first by name.
    like = timed(lambda p: raw.rows(
        "SELECT a.id FROM account a JOIN member m ON m.id=a.member_id WHERE m.last_name LIKE ? OR m.first_name LIKE ? "
        "ORDER BY m.last_name, m.first_name LIMIT 30", (p + "%", p + "%")), common * reps)
    figures["like_name_common_p95_ms"] = round(pct(like, 95), 3)
    like2 = timed(lambda q: raw.rows(
        "SELECT a.id FROM account a JOIN member m ON m.id=a.member_id "
        "WHERE (m.first_name LIKE ? AND m.last_name LIKE ?) OR (m.last_name LIKE ? AND m.first_name LIKE ?) "
        "ORDER BY m.last_name, m.first_name LIMIT 30",
        (q.split()[0] + "%", q.split()[1] + "%") * 2), (two_word + sparse) * reps)
    figures["like_two_words_p95_ms"] = round(pct(like2, 95), 3)

    figures.update({
        "account_p50_ms": round(pct(svc, 50), 4), "account_p95_ms": round(pct(svc, 95), 4),
        "account_raw_sql_p50_ms": round(pct(raw_ms, 50), 4), "account_raw_sql_p95_ms": round(pct(raw_ms, 95), 4),
        "build_s": round(build_s, 1) if build_s else None,
        "db_mb": None if postgres else round(Path(target).stat().st_size / 1e6),
    })
    if not args.no_terminal:
        start_s, rss = start_and_rss(target)
        figures["start_to_first_screen_s"] = round(start_s, 3) if start_s else None
        figures["peak_rss_mb"] = round(rss, 1) if rss else None

    print(f"accounts                      {n_accounts:>12,}")
    for key, value in figures.items():
        if key != "accounts":
            print(f"{key:<34}{value!s:>12}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
