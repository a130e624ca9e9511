"""Member programs benchmark on SQLite: the capital credit allocation of a year's margin over every
member's revenue of that year (preview: the revenue query and the largest-remainder shares; commit:
one allocation row per member), and its simplest alternative in the same run: the shares by
plain rounding of revenue x factor (which does not add up to the margin: the cents it misses are
printed).

    python tests/perf/bench_programs.py                     # 30,000 accounts
    python tests/perf/bench_programs.py --million           # and 1,000,000 (built once in /tmp)
    python tests/perf/bench_programs.py --accounts 60       # the smoke size

Each co-op: one member per account, every tenth member with a second account; every account billed
monthly through the year (12 bills), a few bills cancelled. Goals (issue 13): the allocation for
30,000 accounts < 2 s, for 1,000,000 < 60 s on SQLite here (preview plus commit). Prints figures,
then one line of JSON naming them `allocation_30000_s` and `allocation_1000000_s` (null when that
size was not run).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.services import capital_credits, operators  # noqa: E402

YEAR = 2025
TODAY = dt.date(2026, 3, 1)
GOALS = {30_000: 2.0, 1_000_000: 60.0}
CACHE_FROM = 100_000


def build(path: Path, accounts: int) -> float:
    """The co-op at `path`: members, accounts and a year of bills, loaded in bulk."""
    t = time.perf_counter()
    db.connect(str(path))
    conn = db.database
    conn.execute_sql("PRAGMA synchronous=OFF")
    rnd = random.Random(1)
    members = accounts - accounts // 11          # every tenth member has two accounts
    now = dt.datetime(2026, 1, 1)
    with conn.atomic():
        db.ServiceLocation.create(id=1, location_no=1, street="1 Main St", city="Athol", zip="83801")
        conn.cursor().executemany(
            'INSERT INTO "member" ("id", "member_no", "first_name", "last_name", "phone_home", "phone_mobile", '
            '"phone_work", "email", "mail_street", "mail_city", "mail_state", "mail_zip", "preferred_contact", '
            '"joined", "bank_routing", "bank_account") VALUES (?, ?, \'M\', ?, \'\', \'\', \'\', \'\', \'\', \'\', '
            '\'ID\', \'\', \'phone\', \'2000-01-01\', \'\', \'\')',
            ((m, m, f"Member{m}") for m in range(1, members + 1)))
        conn.cursor().executemany(
            'INSERT INTO "account" ("id", "number", "member_id", "location_id", "rate_class", "status", "bill_cycle", '
            '"landlord", "bankruptcy", "budget_billing", "collections", "deposit_cents", "opened") '
            'VALUES (?, ?, ?, 1, \'RES\', ?, 1, 0, 0, 0, 0, 0, \'2000-01-01\')',
            ((a, a, a if a <= members else (a - members) * 10, "active" if a % 17 else "closed")
             for a in range(1, accounts + 1)))
        days = [dt.date(YEAR, m, 10).isoformat() for m in range(1, 13)]

        def bills():
            n = 0
            for a in range(1, accounts + 1):
                base = rnd.randrange(3_000, 40_000)
                for d in days:
                    n += 1
                    yield (n, a, now, d, "bill", base + rnd.randrange(-2_000, 2_000), "Electric service", "", d)

        conn.cursor().executemany(
            'INSERT INTO "ledger_entry" ("id", "account_id", "posted_at", "effective", "kind", "amount_cents", '
            '"description", "reference", "due_date") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', bills())
        n = accounts * 12
        conn.cursor().executemany(     # every 500th bill cancelled: its reversal points at it
            'INSERT INTO "ledger_entry" ("id", "account_id", "posted_at", "effective", "kind", "amount_cents", '
            '"description", "reference", "reverses_id") SELECT ?, "account_id", "posted_at", "effective", '
            '\'reversal\', -"amount_cents", \'cancelled\', \'\', "id" FROM "ledger_entry" WHERE "id" = ?',
            ((n + i + 1, b) for i, b in enumerate(range(1, n + 1, 500))))
    operators.create("bench_biller", "Bench Biller", "billing")
    operators.create("bench_boss", "Bench Boss", "supervisor")
    conn.execute_sql("PRAGMA synchronous=FULL")
    db.database.close()
    return time.perf_counter() - t


def prepared(work: Path, accounts: int) -> tuple[Path, float, bool]:
    target = work / f"programs-{accounts}.db"
    if accounts < CACHE_FROM:
        return target, build(target, accounts), False
    cache = Path(tempfile.gettempdir()) / f"kec-bench-programs-{accounts}.db"
    hit = cache.exists()
    build_s = 0.0
    if not hit:
        partial = cache.with_suffix(".building")
        partial.unlink(missing_ok=True)
        build_s = build(partial, accounts)
        partial.rename(cache)
    shutil.copyfile(cache, target)
    return target, build_s, hit


def measure(work: Path, accounts: int) -> dict:
    path, build_s, cached = prepared(work, accounts)
    db.connect(str(path))
    biller, boss = operators.by_username("bench_biller"), operators.by_username("bench_boss")
    revenue = capital_credits.revenue(YEAR)
    margin = sum(revenue.values()) // 20          # a 5 % margin
    t, cpu = time.perf_counter(), time.process_time()
    alloc = capital_credits.preview_allocation(biller, YEAR, margin, today=TODAY)
    preview_s = time.perf_counter() - t
    capital_credits.approve(boss, alloc.run.id)
    t = time.perf_counter()
    run = capital_credits.commit_allocation(biller, alloc.run.id)
    commit_s = time.perf_counter() - t
    cpu_s = time.process_time() - cpu
    assert run.total_cents == margin and run.count == len(revenue)
    # The simplest alternative: revenue x factor, each rounded on its own.
    t = time.perf_counter()
    factor = Decimal(margin) / sum(revenue.values())
    naive = {m: int((r * factor).quantize(Decimal(1), ROUND_HALF_UP)) for m, r in revenue.items()}
    naive_s = time.perf_counter() - t
    db.database.close()
    figures = {
        f"allocation_{accounts}_s": round(preview_s + commit_s, 3),
        f"allocation_{accounts}_preview_s": round(preview_s, 3),
        f"allocation_{accounts}_commit_s": round(commit_s, 3),
        f"allocation_{accounts}_cpu_s": round(cpu_s, 3),
        f"members_{accounts}": len(revenue),
        f"margin_{accounts}_cents": margin,
        f"naive_rounding_{accounts}_s": round(naive_s, 3),
        f"naive_rounding_{accounts}_off_cents": sum(naive.values()) - margin,
        f"build_{accounts}_s": round(build_s, 1),
        f"build_{accounts}_cached": cached,
    }
    goal = GOALS[max([n for n in GOALS if n <= accounts], default=30_000)]
    print(f"{accounts:,} accounts ({len(revenue):,} members): allocation preview {preview_s:.2f} s + commit "
          f"{commit_s:.2f} s = {preview_s + commit_s:.2f} s (goal < {goal:.0f} s; {cpu_s:.2f} s of CPU); "
          f"plain rounding {naive_s:.2f} s, off the margin by {sum(naive.values()) - margin:+,} cents", flush=True)
    return figures


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--million", action="store_true", help="also 1,000,000 accounts")
    args = ap.parse_args(argv)
    figures: dict = {"backend": "sqlite", "accounts": args.accounts, "load_average": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as work:
        figures.update(measure(Path(work), args.accounts))
        if args.million and args.accounts != 1_000_000:
            figures.update(measure(Path(work), 1_000_000))
    for n in (30_000, 1_000_000):
        figures.setdefault(f"allocation_{n}_s", None)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
