"""Billing benchmark on SQLite: the demo co-op read for next month, then each cycle's run
(preview, approval, commit timed apart), then statements (PDF ms each) and a cycle's
print file.

    python tests/perf/bench_billing.py                                 # 30,000 accounts
    python tests/perf/bench_billing.py --accounts 60 --statements 5    # the smoke size

Reading entry keys per second (reading_entry): a cycle's route keyed as ONE burst into the
reading entry screen (headless Pilot, each reading committed on Enter, every one checked in the
database), against the simplest alternative: readings.key_reading called per meter.

Goal (issue 10): the run for 30,000 accounts (preview plus commit, all cycles) < 5 s on
SQLite on this machine. The CPU time of the run and the load average are printed too: on a
shared machine the wall time also counts the others' work. Prints figures, then one line of JSON
in which the run is named `run_<accounts>_s` (run_30000_s at the full size).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.demo import build_demo  # noqa: E402
from kec_tui.services import billing_run, operators, rates, readings, statements  # noqa: E402
from tests.services.billing_data import read_cycle  # noqa: E402

TODAY = dt.date(2026, 2, 28)  # every cycle billed in February; March is the period run
PERIOD = "2026-03"
GOAL_S = 5.0


def reading_entry(db_path: Path, op, cycle: int = 1, meters: int = 300) -> dict:
    """Key `meters` readings of `cycle`'s route as one burst into the reading entry screen, then as
    many more meters by readings.key_reading directly (the same keys counted): keys per second of
    each, and whether every reading landed. Each reading is the last plus the meter's 12-month
    average use over its multiplier (so none is an exception), checked with readings.check first."""
    from kec_tui.app import KecApp
    from kec_tui.config import Settings
    from tests.support.keys import send_burst

    today = dt.date.today()
    stops = readings.route(cycle)
    n = max(1, min(meters, len(stops) // 2))
    plan = []  # (meter, account, reading text) in route order: the screen's n, then the direct n
    for stop in stops[: 2 * n]:
        acct = db.Account.get(db.Account.number == stop.account_number)
        last_year, avg = readings.usage_references(acct.id, today)
        use = (avg or last_year or 500) // max(1, acct.meter.multiplier)   # the dials turn kWh / multiplier
        text = str((stop.last_reading or 0) + max(1, use))
        issues = readings.check(stop.meter_no, text, read_date=today, account_number=stop.account_number)[5]
        assert not issues, (stop.meter_no, issues)
        plan.append((stop.meter_no, acct.id, text))
    screen_plan, direct_plan = plan[:n], plan[n:]
    keys = [k for _, _, text in screen_plan for k in [*text, "enter"]]

    async def burst() -> float:
        app = KecApp(Settings(db=str(db_path)), op)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.open("readings", cycle)
            while not (app.screen is screen and screen.focused is not None and screen.route):
                await pilot.pause()
            start = time.perf_counter()
            send_burst(app, keys)
            while screen.saved < len(screen_plan) and not screen.form.locked:
                if time.perf_counter() - start > 600:
                    raise SystemExit("reading entry: burst not processed in time")
                await pilot.pause(0.005)
            return time.perf_counter() - start

    screen_s = asyncio.run(burst())
    t = time.perf_counter()
    for meter_no, _acct, text in direct_plan:
        readings.key_reading(op, meter_no, text)
    direct_s = time.perf_counter() - t
    R = db.Reading
    got = dict(R.select(R.account, R.reading).where(R.read_date == today,
                                                   R.account.in_([a for _, a, _ in plan])).tuples())
    written = sum(got.get(a) == int(text) for _, a, text in plan)
    direct_keys = sum(len(text) + 1 for _, _, text in direct_plan)
    out = {
        "reading_burst_meters": len(screen_plan),
        "reading_keys_per_s": round(len(keys) / screen_s),
        "reading_direct_keys_per_s": round(direct_keys / direct_s) if direct_plan else None,
        "reading_all_written": written == len(plan),
    }
    print(f"reading entry, cycle {cycle}: {len(screen_plan):,} readings ({len(keys):,} keys) in one burst: "
          f"{out['reading_keys_per_s']:,} keys/s; key_reading per meter: {out['reading_direct_keys_per_s']} "
          f"keys/s; {written:,} of {len(plan):,} readings written as keyed")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--statements", type=int, default=200, help="statements rendered one by one (PDF ms each)")
    ap.add_argument("--reading-meters", type=int, default=300, help="readings keyed in one burst (and as many direct)")
    ap.add_argument("--print-cycle", type=int, default=1, help="the cycle whose print file is written (0: none)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-billing-"))
    try:
        db.connect(str(tmp / "bench.db"))
        t = time.perf_counter()
        build_demo(accounts=args.accounts, months=args.months, seed=1, today=TODAY)
        build_s = time.perf_counter() - t
        rates.load_file(None)
        biller = operators.create("bench_biller", "Bench Biller", "billing")
        boss = operators.create("bench_boss", "Bench Boss", "supervisor")
        cycles = [1, 2, 3, 4]
        read = sum(read_cycle(c, billing_run.bill_date_of(c, PERIOD) - dt.timedelta(days=2)) for c in cycles)
        preview_s = commit_s = cpu_s = 0.0
        bills = total = 0
        per_cycle = {}
        runs = {}
        for c in cycles:
            t, cpu = time.perf_counter(), time.process_time()
            reg = billing_run.preview(biller, c, PERIOD)
            p = time.perf_counter() - t
            cpu_s += time.process_time() - cpu
            billing_run.approve(boss, reg.run.id)
            t, cpu = time.perf_counter(), time.process_time()
            run = billing_run.commit(biller, reg.run.id)
            k = time.perf_counter() - t
            cpu_s += time.process_time() - cpu
            assert run.bill_count == len(reg.bills) and run.total_cents == reg.total_cents
            preview_s += p
            commit_s += k
            bills += run.bill_count
            total += run.total_cents
            runs[c] = run.id
            per_cycle[c] = {"bills": run.bill_count, "preview_s": round(p, 3), "commit_s": round(k, 3)}
        run_s = preview_s + commit_s
        # statements one by one
        sample = [b for (b,) in db.Bill.select(db.Bill.id).order_by(db.Bill.id).limit(args.statements).tuples()]
        times = []
        for bill_id in sample:
            t = time.perf_counter()
            statements.statement_pdf(bill_id)
            times.append((time.perf_counter() - t) * 1000)
        reading_figures = reading_entry(tmp / "bench.db", biller, meters=args.reading_meters)
        print_s = None
        printed = 0
        if args.print_cycle in runs:
            t = time.perf_counter()
            out = statements.print_cycle(runs[args.print_cycle], tmp / "print")
            print_s = time.perf_counter() - t
            printed = out.statements
        figures = {
            "backend": "sqlite",
            "accounts": args.accounts,
            "months": args.months,
            "demo_build_s": round(build_s, 1),
            "readings": read,
            "bills": bills,
            "billed_total_cents": total,
            "preview_s": round(preview_s, 3),
            "commit_s": round(commit_s, 3),
            f"run_{args.accounts}_s": round(run_s, 3),
            "run_cpu_s": round(cpu_s, 3),
            "run_goal_s": GOAL_S,
            "load_average": round(os.getloadavg()[0], 2),
            "run_goal_met": run_s < GOAL_S if args.accounts >= 30_000 else None,
            "cycles": per_cycle,
            "statement_pdf_ms_mean": round(statistics.mean(times), 2) if times else None,
            "statement_pdf_ms_p95": round(sorted(times)[int(len(times) * 0.95) - 1], 2) if len(times) >= 20 else None,
            "print_file_statements": printed,
            "print_file_s": round(print_s, 2) if print_s is not None else None,
            "print_file_ms_each": round(print_s * 1000 / printed, 2) if printed else None,
            **reading_figures,
        }
        print(
            f"{args.accounts:,} accounts: {bills:,} bills; preview {preview_s:.2f} s + commit {commit_s:.2f} s "
            f"= {run_s:.2f} s (goal < {GOAL_S} s; {cpu_s:.2f} s of CPU, load average {os.getloadavg()[0]:.1f})"
        )
        if times:
            print(f"statement PDF: {figures['statement_pdf_ms_mean']} ms each ({len(times)} statements)")
        if printed:
            print(f"print file of cycle {args.print_cycle}: {printed:,} statements in {print_s:.1f} s")
        print(json.dumps(figures))
        return figures
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
