"""Conversion benchmark on SQLite: CSV files in the conversion's layouts for N accounts (members,
locations with their grid, meters, accounts, flags, deposits, opening balances with aging,
months of readings and bills, notes) are written, then `conversion.load` converts them into an
empty database in one transaction (search index included); a dry run (`conversion.check`) is
timed too, and an export of the converted database (not at a million).

    python tests/perf/bench_convert.py                        # 30,000 accounts x 24 months
    python tests/perf/bench_convert.py --million              # and 1,000,000 accounts (--million-months, 12)
    python tests/perf/bench_convert.py --accounts 50 --months 3   # the smoke size

Goals (issue 15): 30,000 accounts < 20 s, 1,000,000 < 10 min on SQLite here. CPU time beside
wall time (on a shared machine the wall time also counts the others' work). Prints figures,
then one line of JSON naming `convert_30000_s` and `convert_1000000_s` (null when not run).
Then the largest database converted is backed up while an MSR keys payments (`backup_figures`:
`backup_<accounts>_s`, `backup_longest_wait_ms`, the restore's check).
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
from kec_tui.checkdigit import make_account_number  # noqa: E402
from kec_tui.services import conversion, export, operators  # noqa: E402

AS_OF = dt.date(2026, 2, 28)
GOALS = {30_000: 20.0, 1_000_000: 600.0}
CITIES = [("Coeur d'Alene", "83814"), ("Post Falls", "83854"), ("Hayden", "83835"), ("Rathdrum", "83858")]
STREETS = ["N Government Way", "W Prairie Ave", "E Seltice Way", "W Lancaster Rd", "N Ramsey Rd", "E Hwy 54"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Mary", "Linus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Smith", "Olson"]


def write_files(d: Path, n: int, months: int) -> int:
    """The conversion's CSV files for n accounts (deterministic); returns their bytes."""
    d.mkdir(parents=True, exist_ok=True)

    def out(name: str, header: str, rows) -> None:
        with (d / name).open("w", encoding="utf-8", newline="") as f:
            f.write(header + "\n")
            buf = []
            for r in rows:
                buf.append(r)
                if len(buf) >= 20000:
                    f.write("\n".join(buf) + "\n")
                    buf = []
            if buf:
                f.write("\n".join(buf) + "\n")

    numbers = [make_account_number(10000 + i) for i in range(n)]
    out("members.csv", "member,first_name,last_name,tax_id,birth_date,phone_home,email,mail_street,mail_city,mail_zip",
        (f"{100001 + i},{FIRST[i % 10]},{LAST[(i // 10) % 10]},5{i % 100:02d}-{i % 89 + 10}-{i % 9000 + 1000},"
         f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9},208{6640000 + i % 3000000:07d},m{i}@example.com,"
         f"{100 + i % 9000} {STREETS[i % 6]},{CITIES[i % 4][0]},{CITIES[i % 4][1]}" for i in range(n)))
    out("locations.csv", "location,street,city,zip,map_location,substation,feeder,transformer",
        (f"{i + 1},{100 + i % 9000} {STREETS[i % 6]} Unit {i},\"{CITIES[i % 4][0]}\",{CITIES[i % 4][1]},"
         f"T51N R4W S{1 + i % 36},Sub {i % 7},F{i % 40},T-{i // 8}" for i in range(n)))
    out("meters.csv", "meter,location,multiplier,installed",
        (f"{300000000 + i},{i + 1},1,2015-0{1 + i % 9}-01" for i in range(n)))
    out("accounts.csv", "account,member,location,meter,rate_class,status,bill_cycle,opened",
        (f"{numbers[i]},{100001 + i},{i + 1},{300000000 + i},{'SGS' if i % 25 == 0 else 'RES'},active,"
         f"{1 + i % 4},2012-0{1 + i % 9}-15" for i in range(n)))
    out("flags.csv", "account,flag,until,detail",
        (f"{numbers[i]},{('landlord,,', 'cash_only,2026-09-01,', 'medical,2026-03-20,', 'bankruptcy,,')[i % 4]}"
         for i in range(0, n, 20)))
    out("deposits.csv", "account,amount", (f"{numbers[i]},200.00" for i in range(0, n, 10)))

    def balance(i: int) -> str:
        c, b1, b2, b3, b4 = (i % 9000, (i % 7) * 1000, (i % 5) * 700 if i % 3 == 0 else 0,
                             (i % 4) * 500 if i % 6 == 0 else 0, 1234 if i % 12 == 0 else 0)
        t = c + b1 + b2 + b3 + b4
        return (f"{numbers[i]},{AS_OF},{t // 100}.{t % 100:02d},{c // 100}.{c % 100:02d},{b1 // 100}.{b1 % 100:02d},"
                f"{b2 // 100}.{b2 % 100:02d},{b3 // 100}.{b3 % 100:02d},{b4 // 100}.{b4 % 100:02d},2026-03-10")
    out("balances.csv", "account,as_of,balance,current,days_1_30,days_31_60,days_61_90,over_90,current_due",
        (balance(i) for i in range(0, n, 3)))
    first = AS_OF.year * 12 + AS_OF.month - 1 - months
    days = [dt.date((first + k) // 12, (first + k) % 12 + 1, 8).isoformat() for k in range(months)]
    dues = [(dt.date.fromisoformat(x) + dt.timedelta(days=22)).isoformat() for x in days]

    def readings():
        for i in range(n):
            num, reg = numbers[i], 10000 + i % 50000
            for k, day in enumerate(days):
                kwh = 600 + (i * 7 + k * 13) % 900
                reg += kwh
                yield f"{num},{day},{reg},{kwh}"
    out("readings.csv", "account,read_date,reading,kwh", readings())

    def bills():
        for i in range(n):
            num = numbers[i]
            for k, day in enumerate(days):
                kwh = 600 + (i * 7 + k * 13) % 900
                c = 2500 + kwh * 9
                yield f"{num},{day},{dues[k]},{c // 100}.{c % 100:02d},{kwh}"
    out("bills.csv", "account,bill_date,due_date,amount,kwh", bills())
    out("notes.csv", "account,created_at,text",
        (f"{numbers[i]},2025-0{1 + i % 9}-11 10:15:00,\"Called about the bill, account {i}\"" for i in range(0, n, 7)))
    return sum(f.stat().st_size for f in d.iterdir())


def timed(fn):
    t, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - t, time.process_time() - cpu


def measure(n: int, months: int, work: Path, dry_run: bool = True, export_too: bool = True) -> dict:
    src = work / f"in-{n}"
    _, s_gen, _ = timed(lambda: write_files(src, n, months))
    size = sum(f.stat().st_size for f in src.iterdir())
    path = work / f"convert-{n}.db"
    db.connect(str(path))
    admin = operators.create("admin", "Bench Admin", "admin")
    out: dict = {f"files_{n}_mb": round(size / 1e6, 1), f"write_files_{n}_s": round(s_gen, 1)}
    if dry_run:
        checked, s, cpu = timed(lambda: conversion.check(src))
        assert checked.ok, checked.problems[:5]
        out[f"dry_run_{n}_s"], out[f"dry_run_{n}_cpu_s"] = round(s, 2), round(cpu, 2)
    result, s, cpu = timed(lambda: conversion.load(admin, src))
    assert result.ok and result.added["accounts"] == n, result.summary()
    out[f"convert_{n}_s"], out[f"convert_{n}_cpu_s"] = round(s, 2), round(cpu, 2)
    out[f"readings_{n}"] = result.added.get("readings", 0)
    out[f"bills_{n}"] = result.added.get("bills", 0)
    assert db.SearchTerm.select().where(db.SearchTerm.term == str(make_account_number(10000 + n - 1))).exists()
    print(f"{n:>9,} accounts x {months} months ({size / 1e6:,.0f} MB of CSV): dry run "
          f"{out.get(f'dry_run_{n}_s', '-')} s, convert {s:.1f} s (CPU {cpu:.1f} s); goal "
          f"{GOALS.get(n, '-')} s; {result.summary()}")
    if export_too:
        sup = operators.create("super", "Bench Supervisor", "supervisor")
        done, s, cpu = timed(lambda: export.export_all(sup, work / f"out-{n}", AS_OF))
        out[f"export_{n}_s"], out[f"export_{n}_cpu_s"] = round(s, 2), round(cpu, 2)
        print(f"{'':>9} export of the converted database: {s:.1f} s (CPU {cpu:.1f} s), "
              f"{sum(done.files.values()):,} rows in {len(done.files)} files")
        shutil.rmtree(work / f"out-{n}", ignore_errors=True)
    db.database.close()
    shutil.rmtree(src, ignore_errors=True)
    out[f"db_{n}_path"] = str(path)
    return out


def backup_figures(figures: dict, baseline: float = 3.0) -> dict:
    """The backup of the largest database this run converted (1,000,000 accounts with --million)
    while an MSR keys payments, the longest wait a keyed line sees during it and the restore's
    check (bench_backup.measure), its keys prefixed backup_."""
    from tests.perf import bench_backup

    converted = sorted((int(k[3:-5]), Path(v)) for k, v in figures.items()
                       if k.startswith("db_") and k.endswith("_path"))
    if not converted:
        return {}
    n, path = converted[-1]
    work = path.parent / f"backup-{n}"
    work.mkdir(exist_ok=True)
    got = bench_backup.measure(path, work, baseline=baseline, accounts=n)
    print(f"{'':>9} backup of the {n:,}-account database: {got[f'backup_{n}_s']:.1f} s, longest keyed wait "
          f"during it {got['longest_wait_ms']} ms ({got['lines_during']} lines keyed meanwhile)")
    return {k if k.startswith("backup_") else f"backup_{k}": v for k, v in got.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--million", action="store_true", help="also 1,000,000 accounts")
    ap.add_argument("--million-months", type=int, default=12)
    ap.add_argument("--keep", action="store_true", help="keep the databases (in the temp dir)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kec-bench-convert-"))
    figures: dict = {"backend": "sqlite", "accounts": args.accounts, "months": args.months,
                     "cpus": os.cpu_count(), "load_avg": round(os.getloadavg()[0], 2)}
    try:
        figures.update(measure(args.accounts, args.months, work))
        if args.million:
            figures.update(measure(1_000_000, args.million_months, work, dry_run=False, export_too=False))
            figures["million_months"] = args.million_months
        figures.update(backup_figures(figures))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures.setdefault("convert_30000_s", None)
    figures.setdefault("convert_1000000_s", None)
    figures = {k: v for k, v in figures.items() if not k.startswith("db_") or args.keep}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
