"""Counter benchmark on SQLite: counter transactions (a payment with a sale, cash and a check) taken one
after another in one drawer, as the counter screen takes them (each committed whole), then the drawer's
system totals, its close with the count, the deposit slip and the day summary.

    python tests/perf/bench_counter.py                 # 2,000 transactions in one drawer
    python tests/perf/bench_counter.py --txns 20       # the smoke size

A busy counter takes a few hundred transactions a day; each must commit well under the time an Enter
takes to feel instant (goal: < 50 ms each, the close < 1 s). Prints figures, then one line of JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.services import counter, drawers, operators, products  # noqa: E402
from kec_tui.services.counter import Sale, Tender  # noqa: E402
from tests import factories  # noqa: E402

TODAY = dt.date(2026, 3, 2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--txns", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-counter-"))
    try:
        db.connect(str(tmp / "bench.db"))
        op = operators.create("msr1", "Pat Keyer", "msr")
        products.seed_demo()
        accts = [factories.account(first=f"M{i}", last=f"Test{i}", street=f"{i} Main St", bills=(1_000_000,)).number
                 for i in range(20)]
        drawers.open_drawer(op, 10_000, TODAY)
        times = []
        for i in range(args.txns):
            t = time.perf_counter()
            counter.take(op, accts[i % len(accts)], 1_000, [Tender("cash", 1_000), Tender("check", 265, str(1000 + i))],
                         [Sale("LED9", 1)], today=TODAY)
            times.append(time.perf_counter() - t)
        d = drawers.open_drawer_of(op)
        t = time.perf_counter()
        exp = drawers.expected(d.id)
        expected_s = time.perf_counter() - t
        t = time.perf_counter()
        hundreds, rest = divmod(exp["cash"], 10_000)
        drawers.close_drawer(op, d.id, {10_000: hundreds, 1: rest},
                             [drawers.CheckItem("check", str(1000 + i), 265) for i in range(args.txns)])
        close_s = time.perf_counter() - t
        t = time.perf_counter()
        drawers.write_deposit_slip(d.id, tmp / "reports")
        drawers.write_day_summary(TODAY, tmp / "reports")
        reports_s = time.perf_counter() - t
        times.sort()
        figures = {"backend": "sqlite", "txns": args.txns,
                   "take_mean_ms": round(1000 * sum(times) / len(times), 2),
                   "take_p95_ms": round(1000 * times[int(len(times) * 0.95) - 1 if len(times) > 1 else 0], 2),
                   "expected_s": round(expected_s, 4), "close_s": round(close_s, 3), "reports_s": round(reports_s, 3),
                   "cash_cents": exp["cash"], "check_cents": exp["check"]}
        print(f"{args.txns} counter transactions: mean {figures['take_mean_ms']} ms, p95 {figures['take_p95_ms']} ms;"
              f" drawer totals {figures['expected_s']} s, close {figures['close_s']} s, "
              f"slip + day summary {figures['reports_s']} s")
        print(json.dumps(figures))
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
