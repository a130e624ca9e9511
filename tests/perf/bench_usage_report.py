"""Usage and revenue report benchmark on SQLite: the demo co-op billed month after month by the
real billing run (every cycle read, previewed, approved, committed), then the report timed:
one month against the year before, twelve months, by cycle, and the exports; beside it the
simplest alternative, a Python loop over the bills, for the same figures.

    python tests/perf/bench_usage_report.py                        # 30,000 accounts, 13 months billed
    python tests/perf/bench_usage_report.py --accounts 60          # the smoke size

Prints figures, then one line of JSON.
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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.demo import build_demo  # noqa: E402
from kec_tui.services import billing_run, operators, rates, usage_report  # noqa: E402
from tests.services.billing_data import read_cycle  # noqa: E402

FIRST_PERIOD = "2025-03"  # the demo's history ends the day before: the runs bill from here


def python_loop(first: str, last: str) -> tuple[dict, int]:
    """The simplest alternative: every bill of the range and the year before read into Python and
    added up there. (schedule, month) -> [bills, kWh, cents]; and how many rows it read."""
    start = dt.date(int(first[:4]) - 1, int(first[5:7]), 1)
    end = usage_report._first_day(usage_report.shift(last, 1))
    out: dict = defaultdict(lambda: [0, 0, 0])
    n = 0
    for b in db.Bill.select().where(db.Bill.bill_date >= start, db.Bill.bill_date < end):
        n += 1
        if b.status == "cancelled":
            continue
        f = out[(b.schedule, str(b.bill_date)[:7])]
        f[0], f[1], f[2] = f[0] + 1, f[1] + b.kwh, f[2] + b.total_cents
    return out, n


def timed(fn, *args, repeat: int = 3, **kw):
    best, result = None, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(*args, **kw)
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    return result, best


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--periods", type=int, default=13, help="months billed by the run, from 2025-03")
    ap.add_argument("--keep", metavar="PATH", help="keep the billed database there; reuse it if it exists")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-usage-"))
    path = Path(args.keep) if args.keep else tmp / "bench.db"
    reuse = path.exists()
    try:
        db.connect(str(path))
        periods = [usage_report.shift(FIRST_PERIOD, k) for k in range(args.periods)]
        build_s = billing_s = commit_s = 0.0
        if reuse:
            biller = operators.by_username("bench_biller")
        else:
            t = time.perf_counter()
            build_demo(accounts=args.accounts, months=13, seed=1, today=dt.date(2025, 2, 28))
            build_s = time.perf_counter() - t
            rates.load_file(None)
            biller = operators.create("bench_biller", "Bench Biller", "billing")
            boss = operators.create("bench_boss", "Bench Boss", "supervisor")
            t = time.perf_counter()
            for period in periods:
                for c in (1, 2, 3, 4):
                    read_cycle(c, billing_run.bill_date_of(c, period) - dt.timedelta(days=2))
                    reg = billing_run.preview(biller, c, period)
                    billing_run.approve(boss, reg.run.id)
                    k = time.perf_counter()
                    billing_run.commit(biller, reg.run.id)
                    commit_s += time.perf_counter() - k
            billing_s = time.perf_counter() - t
        bills = db.Bill.select().count()
        lines = db.BillLine.select().count()
        last = periods[-1]
        year = usage_report.shift(last, -11)
        one, one_s = timed(usage_report.build, biller, last, last)
        twelve, twelve_s = timed(usage_report.build, biller, year, last)
        cycles, cycles_s = timed(usage_report.build, biller, year, last, by_cycle=True)
        (loop, loop_rows), loop_s = timed(python_loop, year, last, repeat=1)
        # The same figures either way, to the cent.
        sql_cells = {(r.schedule, r.month): [r.now.bills, r.now.kwh, r.now.revenue_cents] for r in twelve.rows
                     if r.now.bills}
        loop_cells = {k: v for k, v in loop.items() if k[1] >= year}
        assert sql_cells == loop_cells, "the grouped query and the loop disagree"
        assert cycles.total.now == twelve.total.now
        files, export_s = timed(usage_report.write_exports, twelve, tmp / "reports", repeat=1)
        figures = {
            "backend": "sqlite",
            "accounts": args.accounts,
            "demo_build_s": round(build_s, 1),
            "periods_billed": len(periods),
            "reused_database": reuse,
            "billing_s": round(billing_s, 1),
            "commit_s_per_period": round(commit_s / len(periods), 2) if not reuse else None,
            "bills": bills,
            "bill_lines": lines,
            "report_1_month_ms": round(one_s * 1000, 1),
            "report_12_months_ms": round(twelve_s * 1000, 1),
            "report_12_months_by_cycle_ms": round(cycles_s * 1000, 1),
            "python_loop_12_months_ms": round(loop_s * 1000, 1),
            "python_loop_rows": loop_rows,
            "speedup_vs_loop": round(loop_s / twelve_s, 1) if twelve_s else None,
            "report_rows_12_months": len(twelve.rows),
            "export_csv_pdf_ms": round(export_s * 1000, 1),
            "pdf_bytes": files.pdf.stat().st_size,
            "total_12_months_cents": twelve.total.now.revenue_cents,
            "one_month_bills": one.total.now.bills,
            "load_average": round(os.getloadavg()[0], 2),
        }
        print(f"{args.accounts:,} accounts billed {len(periods)} months: {bills:,} bills, {lines:,} lines "
              f"(demo {build_s:.0f} s, runs {billing_s:.0f} s)")
        print(f"report {last}: {one_s * 1000:.0f} ms; {year}..{last}: {twelve_s * 1000:.0f} ms "
              f"(by cycle {cycles_s * 1000:.0f} ms); Python loop over {loop_rows:,} bills: {loop_s * 1000:.0f} ms "
              f"({figures['speedup_vs_loop']}x); CSV+PDF {export_s * 1000:.0f} ms")
        print(json.dumps(figures))
        return figures
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
