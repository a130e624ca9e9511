"""Credit benchmark on SQLite: the write-off list, the accounts to refer to the agency, the deposit
review (installments, refunds after prompt payment, interest) previewed and committed, and the
deposit rule for one account, on a demo co-op.

    python tests/perf/bench_credit.py                           # 30,000 accounts x 13 months
    python tests/perf/bench_credit.py --accounts 60 --months 4  # the smoke size

CPU time beside wall time (on a shared machine the wall time also counts the others' work). Prints
figures, then one line of JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.demo import build_demo  # noqa: E402
from kec_tui.services import aging, deposits, operators, write_offs  # noqa: E402

TODAY = dt.date(2026, 2, 28)          # the demo's last day


def timed(fn):
    t, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return result, time.perf_counter() - t, time.thread_time() - cpu


def measure(n: int) -> dict:
    out: dict = {}
    op = operators.create("bench_coll", "Bench Collector", "collections")
    boss = operators.create("bench_super", "Bench Super", "supervisor")

    def put(name, s, cpu):
        out[f"{name}_{n}_s"], out[f"{name}_{n}_cpu_s"] = round(s, 3), round(cpu, 3)

    wl, s, cpu = timed(lambda: write_offs.preview(op, TODAY, today=TODAY))
    put("writeoff_list", s, cpu)
    out[f"writeoff_list_{n}_accounts"], out[f"writeoff_list_{n}_cents"] = len(wl.items), wl.total_cents
    done, s, cpu = timed(lambda: write_offs.approve(op, wl.run_id, supervisor=boss))
    put("writeoff_approve", s, cpu)
    assert len(done.items) == len(wl.items)
    refer, s, cpu = timed(lambda: write_offs.referral_candidates(TODAY))
    put("referral_candidates", s, cpu)
    out[f"to_refer_{n}"] = len(refer)
    review, s, cpu = timed(lambda: deposits.preview(op, TODAY, today=TODAY))
    put("deposit_review_preview", s, cpu)
    out[f"deposit_review_{n}_items"] = len(review.items)
    out[f"deposit_refunds_{n}"] = sum(i.kind == "refund" for i in review.items)
    committed, s, cpu = timed(lambda: deposits.commit(op, review.run_id))
    put("deposit_review_commit", s, cpu)
    assert len(committed.items) == len(review.items)
    ids = [a for (a,) in db.Account.select(db.Account.id).where(db.Account.status == "active")
           .order_by(db.Account.id).limit(100).tuples()]
    _, s, cpu = timed(lambda: [deposits.assess(a, TODAY) for a in ids])
    put("assess_100", s, cpu)
    tb = aging.trial_balance(None, TODAY)
    assert tb.balances
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=13)
    args = ap.parse_args(argv)
    figures: dict = {"backend": "sqlite", "accounts": args.accounts, "months": args.months}
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-credit-"))
    try:
        db.connect(str(tmp / "bench.db"))
        t = time.perf_counter()
        build_demo(accounts=args.accounts, months=args.months, seed=11, today=TODAY)
        figures["demo_build_s"] = round(time.perf_counter() - t, 1)
        figures.update(measure(args.accounts))
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)
    figures["load_average"] = round(os.getloadavg()[0], 2)
    n = args.accounts
    print(f"{n:,} accounts: write-off list {figures[f'writeoff_list_{n}_s']:.2f} s "
          f"({figures[f'writeoff_list_{n}_accounts']:,} accounts), approved {figures[f'writeoff_approve_{n}_s']:.2f} s;"
          f" to refer {figures[f'referral_candidates_{n}_s']:.2f} s; deposit review "
          f"{figures[f'deposit_review_{n}_items']:,} items ({figures[f'deposit_refunds_{n}']:,} refunds) preview "
          f"{figures[f'deposit_review_preview_{n}_s']:.2f} s, commit {figures[f'deposit_review_commit_{n}_s']:.2f} s; "
          f"the deposit rule for 100 accounts {figures[f'assess_100_{n}_s']:.2f} s "
          f"(load average {figures['load_average']})")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
