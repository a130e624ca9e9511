"""Collections benchmark on SQLite: aging (the aged trial balance: every account aged in one
statement; and every account's aged row), the delinquency worklist of a cycle and of all
cycles, a late-fee run and a disconnect-notice run (preview, commit: a letter PDF per notice and the
print vendor's file) on a demo co-op.

    python tests/perf/bench_collections.py                       # 30,000 accounts x 13 months
    python tests/perf/bench_collections.py --million             # and 1,000,000 accounts x 4 months
                                                                 # (builds /tmp/kec-bench-collections-1000000.db once)
    python tests/perf/bench_collections.py --accounts 60 --months 4   # the smoke size

Goals (issue 11): aging and the worklist for 30,000 accounts < 1 s, for 1,000,000 < 30 s on SQLite
here. CPU time beside wall time (on a shared machine the wall time also counts the others' work).
Prints figures, then one line of JSON in which aging is named `aging_<accounts>_s`
(aging_30000_s, aging_1000000_s; null when that size was not run).
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
from kec_tui.services import aging, collections, late_fees, letters, notices, operators  # noqa: E402

TODAY = dt.date(2026, 2, 28)          # the demo's last day
FEE_DAY = dt.date(2026, 3, 31)        # the late-fee run: the bills due in March left unpaid
GOALS = {30_000: 1.0, 1_000_000: 30.0}
MILLION_DB = "/tmp/kec-bench-collections-1000000.db"


def timed(fn):
    t, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return result, time.perf_counter() - t, time.thread_time() - cpu


def measure(accounts: int, fees_run: bool, letters_dir: Path | None = None) -> dict:
    """The figures of the connected demo database of `accounts` accounts."""
    out: dict = {}
    tb, s, cpu = timed(lambda: aging.trial_balance(None, TODAY))
    assert tb.balances, f"the aged trial balance {tb.aged.total} is not the ledger {tb.ledger_cents}"
    out[f"aging_{accounts}_s"] = round(s, 3)
    out[f"aging_{accounts}_cpu_s"] = round(cpu, 3)
    out[f"trial_balance_{accounts}_cents"] = tb.ledger_cents
    out[f"past_due_{accounts}_cents"] = tb.aged.past_due
    out[f"with_balance_{accounts}"] = tb.accounts
    out[f"past_due_accounts_{accounts}"] = tb.past_due_accounts
    rows, s, cpu = timed(lambda: aging.aged_rows(TODAY))
    assert sum(r.aged.total for r in rows) == tb.ledger_cents
    out[f"aged_rows_{accounts}_s"] = round(s, 3)
    out[f"aged_rows_{accounts}_cpu_s"] = round(cpu, 3)
    wl, s, cpu = timed(lambda: collections.worklist(None, 1, TODAY))
    out[f"worklist_cycle1_{accounts}_s"] = round(s, 3)
    out[f"worklist_cycle1_{accounts}_cpu_s"] = round(cpu, 3)
    out[f"worklist_cycle1_{accounts}_accounts"] = len(wl.items)
    wl, s, cpu = timed(lambda: collections.worklist(None, None, TODAY))
    out[f"worklist_all_{accounts}_s"] = round(s, 3)
    out[f"worklist_all_{accounts}_cpu_s"] = round(cpu, 3)
    out[f"worklist_all_{accounts}_accounts"] = len(wl.items)
    assert len(wl.items) == tb.past_due_accounts
    if fees_run:
        op = operators.create("bench_coll", "Bench Collector", "collections")
        reg, s, cpu = timed(lambda: late_fees.preview(op, FEE_DAY, today=FEE_DAY))
        out[f"late_fee_preview_{accounts}_s"] = round(s, 3)
        out[f"late_fee_preview_{accounts}_cpu_s"] = round(cpu, 3)
        run, s, cpu = timed(lambda: late_fees.commit(op, reg.run.id))
        assert (run.fee_count, run.total_cents) == (len(reg.fees), reg.total_cents)
        out[f"late_fee_commit_{accounts}_s"] = round(s, 3)
        out[f"late_fee_commit_{accounts}_cpu_s"] = round(cpu, 3)
        out[f"late_fees_{accounts}"] = run.fee_count
        out[f"late_fees_{accounts}_cents"] = run.total_cents
        tb2 = aging.trial_balance(None, FEE_DAY)
        assert tb2.balances
        letters.use(letters_dir / "templates", letters_dir / "letters")
        reg, s, cpu = timed(lambda: notices.preview(op, FEE_DAY, today=FEE_DAY))
        out[f"notice_preview_{accounts}_s"] = round(s, 3)
        out[f"notice_preview_{accounts}_cpu_s"] = round(cpu, 3)
        run, s, cpu = timed(lambda: notices.commit(op, reg.run.id))
        assert run.notice_count == len(reg.notices)
        out[f"notice_commit_{accounts}_s"] = round(s, 3)
        out[f"notice_commit_{accounts}_cpu_s"] = round(cpu, 3)
        out[f"notices_{accounts}"] = run.notice_count
    return out


def build(path: str, accounts: int, months: int) -> float:
    db.connect(path)
    t = time.perf_counter()
    last = [t]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            print(f"  building {done:,}/{total:,}", flush=True)

    build_demo(accounts=accounts, months=months, seed=11, today=TODAY, progress=progress)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--million", action="store_true", help="also 1,000,000 accounts (built once, kept in /tmp)")
    ap.add_argument("--million-months", type=int, default=4)
    args = ap.parse_args(argv)
    figures: dict = {"backend": "sqlite", "accounts": args.accounts, "months": args.months,
                     "aging_30000_s": None, "aging_1000000_s": None}
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-collections-"))
    try:
        figures["demo_build_s"] = round(build(str(tmp / "bench.db"), args.accounts, args.months), 1)
        figures.update(measure(args.accounts, fees_run=True, letters_dir=tmp))
        db.database.close()
        if args.million:
            n = 1_000_000
            if not Path(MILLION_DB).exists():
                print(f"Building {n:,} accounts x {args.million_months} months at {MILLION_DB} ...", flush=True)
                figures["million_build_s"] = round(build(MILLION_DB, n, args.million_months), 1)
                db.database.close()
            db.connect(MILLION_DB)
            figures.update(measure(n, fees_run=False))
            db.database.close()
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)
    figures["load_average"] = round(os.getloadavg()[0], 2)
    for n, goal in GOALS.items():
        if figures.get(f"aging_{n}_s") is not None:
            figures[f"aging_{n}_goal_met"] = figures[f"aging_{n}_s"] < goal
            print(f"{n:,} accounts: aging {figures[f'aging_{n}_s']:.2f} s "
                  f"({figures[f'aging_{n}_cpu_s']:.2f} s CPU; goal < {goal:g} s), worklist cycle 1 "
                  f"{figures[f'worklist_cycle1_{n}_s']:.2f} s, all cycles {figures[f'worklist_all_{n}_s']:.2f} s")
    n = args.accounts
    print(f"{n:,} accounts: aging {figures[f'aging_{n}_s']:.2f} s, aged rows {figures[f'aged_rows_{n}_s']:.2f} s, "
          f"{figures[f'past_due_accounts_{n}']:,} past due; late-fee run {figures[f'late_fees_{n}']:,} fees: preview "
          f"{figures[f'late_fee_preview_{n}_s']:.2f} s, commit {figures[f'late_fee_commit_{n}_s']:.2f} s; notice run "
          f"{figures[f'notices_{n}']:,} notices: preview {figures[f'notice_preview_{n}_s']:.2f} s, commit "
          f"{figures[f'notice_commit_{n}_s']:.2f} s (load average {figures['load_average']})")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
