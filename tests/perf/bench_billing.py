"""Billing benchmark on SQLite: the demo co-op read for next month, then each cycle's run
(preview, approval, commit timed apart), then statements (PDF ms each) and a cycle's
print file.

    python tests/perf/bench_billing.py                                 # 30,000 accounts
    python tests/perf/bench_billing.py --million                       # and the run for 1,000,000 accounts
    python tests/perf/bench_billing.py --accounts 1000000 --statements 0 --print-cycle 0   # only the 1M run
    python tests/perf/bench_billing.py --accounts 60 --statements 5    # the smoke size

Goals (issue 10), on SQLite on this machine: the run (preview plus commit, all cycles) for
30,000 accounts < 5 s, for 1,000,000 accounts < 3 min. The CPU time of the run, the load
average and the peak RSS are printed too: on a shared machine the wall time also counts the
others' work. A co-op of 100,000 accounts or more is built once and kept, read for the period,
in /tmp (keyed by its size, months, seed and day: see `prepared`); each run bills a copy.

Prints figures, then one line of JSON in which the run is named `run_<accounts>_s`:
run_30000_s by default; with --million also run_1000000_s (the 1M run in a child process,
so its peak RSS is its own; --also N does the same for N accounts). The 1M co-op takes about
25 minutes to build the first time on this machine (then it is copied from /tmp in a minute).

Reading entry keys per second (reading_entry): a cycle's route keyed as ONE burst into the
reading entry screen (headless Pilot, each reading committed on Enter, every one checked in the
database), against the simplest alternative: readings.key_reading called per meter.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
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
CYCLES = [1, 2, 3, 4]
GOALS_S = {30_000: 5.0, 1_000_000: 180.0}
CACHE_FROM = 100_000  # a co-op this big or bigger is built once and kept in /tmp
SEED = 1


def goal_of(accounts: int) -> float:
    return GOALS_S[max([n for n in GOALS_S if n <= accounts], default=30_000)]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _build_read(path: Path, accounts: int, months: int) -> tuple[float, int]:
    """Build the demo co-op into `path` and read every cycle for the period."""
    db.connect(str(path))
    t = time.perf_counter()
    last = [t]

    def progress(done: int, total: int) -> None:
        if accounts >= CACHE_FROM and time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            print(f"  building {done:,}/{total:,}", file=sys.stderr, flush=True)

    build_demo(accounts=accounts, months=months, seed=SEED, today=TODAY, progress=progress)
    rates.load_file(None)
    operators.create("bench_biller", "Bench Biller", "billing")
    operators.create("bench_boss", "Bench Boss", "supervisor")
    read = sum(read_cycle(c, billing_run.bill_date_of(c, PERIOD) - dt.timedelta(days=2)) for c in CYCLES)
    build_s = time.perf_counter() - t
    db.database.close()
    return build_s, read


def prepared(work: Path, accounts: int, months: int) -> tuple[float, int, bool]:
    """A database ready to bill at work/bench.db: (build seconds, readings, whether it came from the cache).
    Big co-ops are built once into /tmp/kec-bench-billing-<accounts>-<months>-s<seed>-<today>.db
    (with a .json of its build figures beside it) and copied for each run."""
    target = work / "bench.db"
    if accounts < CACHE_FROM:
        return (*_build_read(target, accounts, months), False)
    cache = Path(tempfile.gettempdir()) / f"kec-bench-billing-{accounts}-{months}-s{SEED}-{TODAY:%Y%m%d}.db"
    facts = cache.with_suffix(".json")
    hit = cache.exists() and facts.exists()
    if not hit:
        partial = cache.with_suffix(".building")
        partial.unlink(missing_ok=True)
        build_s, read = _build_read(partial, accounts, months)
        partial.rename(cache)
        facts.write_text(json.dumps({"build_s": build_s, "readings": read}))
    known = json.loads(facts.read_text())
    shutil.copyfile(cache, target)
    return known["build_s"], known["readings"], hit


def run_cycles(biller, boss) -> dict:
    """Preview, approve and commit every cycle; the figures and the runs' ids."""
    preview_s = commit_s = cpu_s = 0.0
    bills = total = 0
    per_cycle, runs = {}, {}
    for c in CYCLES:
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
        del reg
        preview_s += p
        commit_s += k
        bills += run.bill_count
        total += run.total_cents
        runs[c] = run.id
        per_cycle[c] = {"bills": run.bill_count, "preview_s": round(p, 3), "commit_s": round(k, 3)}
    return {"preview_s": preview_s, "commit_s": commit_s, "cpu_s": cpu_s, "bills": bills, "total": total,
            "per_cycle": per_cycle, "runs": runs}


def child_run(accounts: int, months: int) -> dict:
    """The run for `accounts` in a child process (its own peak RSS): its JSON figures."""
    done = subprocess.run([sys.executable, __file__, "--accounts", str(accounts), "--months", str(months),
                           "--statements", "0", "--print-cycle", "0"], stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    ap.add_argument("--million", dest="also", action="append_const", const=1_000_000, default=[],
                    help="also the run for 1,000,000 accounts (run_1000000_s)")
    ap.add_argument("--also", type=int, action="append", default=[], metavar="ACCOUNTS",
                    help="also the run for this many accounts (run_<ACCOUNTS>_s), in a child process")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the runs (preview and commit) to this file")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-billing-"))
    try:
        build_s, read, cached = prepared(tmp, args.accounts, args.months)
        db.connect(str(tmp / "bench.db"))
        biller = operators.by_username("bench_biller")
        boss = operators.by_username("bench_boss")
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            r = prof.runcall(run_cycles, biller, boss)
            prof.dump_stats(str(args.profile))
        else:
            r = run_cycles(biller, boss)
        run_s = r["preview_s"] + r["commit_s"]
        goal = goal_of(args.accounts)
        run_rss = peak_rss_mb()
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
        if args.print_cycle in r["runs"]:
            t = time.perf_counter()
            out = statements.print_cycle(r["runs"][args.print_cycle], tmp / "print")
            print_s = time.perf_counter() - t
            printed = out.statements
        figures = {
            "backend": "sqlite",
            "accounts": args.accounts,
            "months": args.months,
            "demo_build_s": round(build_s, 1),
            "demo_cached": cached,
            "readings": read,
            "bills": r["bills"],
            "billed_total_cents": r["total"],
            "preview_s": round(r["preview_s"], 3),
            "commit_s": round(r["commit_s"], 3),
            f"run_{args.accounts}_s": round(run_s, 3),
            "run_cpu_s": round(r["cpu_s"], 3),
            "run_goal_s": goal,
            "load_average": round(os.getloadavg()[0], 2),
            "run_goal_met": run_s < goal if args.accounts >= 30_000 else None,
            "run_peak_rss_mb": run_rss,
            "cycles": r["per_cycle"],
            "statement_pdf_ms_mean": round(statistics.mean(times), 2) if times else None,
            "statement_pdf_ms_p95": round(sorted(times)[int(len(times) * 0.95) - 1], 2) if len(times) >= 20 else None,
            "print_file_statements": printed,
            "print_file_s": round(print_s, 2) if print_s is not None else None,
            "print_file_ms_each": round(print_s * 1000 / printed, 2) if printed else None,
            **reading_figures,
        }
        print(
            f"{args.accounts:,} accounts: {r['bills']:,} bills; preview {r['preview_s']:.2f} s + commit "
            f"{r['commit_s']:.2f} s = {run_s:.2f} s (goal < {goal:g} s; {r['cpu_s']:.2f} s of CPU, load average "
            f"{os.getloadavg()[0]:.1f}, peak RSS {run_rss:,.0f} MB)"
        )
        if times:
            print(f"statement PDF: {figures['statement_pdf_ms_mean']} ms each ({len(times)} statements)")
        if printed:
            print(f"print file of cycle {args.print_cycle}: {printed:,} statements in {print_s:.1f} s")
        db.database.close()
        for n in sorted(set(args.also) - {args.accounts}):
            m = child_run(n, args.months)
            figures[f"run_{n}_s"] = m[f"run_{n}_s"]
            figures[f"also_{n}"] = {k: m[k] for k in ("bills", "preview_s", "commit_s", "run_cpu_s", "run_goal_s",
                                                      "run_goal_met", "load_average", "run_peak_rss_mb",
                                                      "demo_build_s", "demo_cached", "cycles")}
            print(f"{n:,} accounts: {m['bills']:,} bills; run {m[f'run_{n}_s']:.1f} s (goal < {m['run_goal_s']:g} s; "
                  f"{m['run_cpu_s']:.1f} s of CPU, load average {m['load_average']:.1f}, "
                  f"peak RSS {m['run_peak_rss_mb']:,.0f} MB)")
        print(json.dumps(figures))
        return figures
    finally:
        db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
