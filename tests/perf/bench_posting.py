"""Posting benchmark on SQLite: key a batch line by line (each committed, as
on Enter), post it, write its reports; then import a lockbox file (BAI2 and
CSV) and post the imported batch.

    python tests/perf/bench_posting.py                                   # 1,000 lines, 10,000-line files
    python tests/perf/bench_posting.py --lines 20 --import-lines 50      # the smoke size

Goals (issue 3): posting a 1,000-line batch < 0.5 s on SQLite. Prints
figures, then one line of JSON.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.checkdigit import make_account_number  # noqa: E402
from kec_tui.services import batches, lockbox, operators, reports  # noqa: E402

BASE = 200000
CHUNK = 400


def build_accounts(n: int) -> list[int]:
    """n accounts with one bill each, inserted in bulk; returns their numbers."""
    today = dt.date.today()
    with db.database.atomic():
        for i in range(0, n, CHUNK):
            rng = range(i, min(n, i + CHUNK))
            db.Member.insert_many([dict(member_no=BASE + k, first_name="Bench", last_name=f"Member{k}")
                                   for k in rng]).execute()
            db.ServiceLocation.insert_many([dict(location_no=BASE + k, street=f"{k} N Bench Rd", city="Hayden",
                                                 zip="83835") for k in rng]).execute()
        members = dict(db.Member.select(db.Member.member_no, db.Member.id).tuples())
        locs = dict(db.ServiceLocation.select(db.ServiceLocation.location_no, db.ServiceLocation.id).tuples())
        for i in range(0, n, CHUNK):
            rng = range(i, min(n, i + CHUNK))
            db.Account.insert_many([dict(number=make_account_number(BASE + k), member=members[BASE + k],
                                         location=locs[BASE + k]) for k in rng]).execute()
        ids = dict(db.Account.select(db.Account.number, db.Account.id).tuples())
        numbers = [make_account_number(BASE + k) for k in range(n)]
        for i in range(0, n, CHUNK):
            db.LedgerEntry.insert_many([dict(account=ids[num], effective=today, kind="bill", amount_cents=45000,
                                             description="Electric service", due_date=today)
                                        for num in numbers[i:i + CHUNK]]).execute()
    return numbers


def bai2_file(path: Path, payments: list[tuple[str, int, str]]) -> None:
    total = sum(c for _, c, _ in payments)
    recs = ["01,BANK,KEC,250110,0800,1,80,,2/", "02,KEC,BANK,1,250110,0800,USD,2/", "03,000987654321,USD/"]
    recs += [f"16,115,{c},0,LBX{i:06d},{acct},CHECK {chk}" for i, (acct, c, chk) in enumerate(payments, 1)]
    n_acct = len(payments) + 2
    recs += [f"49,{total},{n_acct}/", f"98,{total},1,{n_acct + 2}/", f"99,{total},1,{n_acct + 4}/"]
    path.write_text("\n".join(recs) + "\n")


def csv_file(path: Path, payments: list[tuple[str, int, str]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Account", "Amount", "Check Number", "Payment Date", "Payer Name"])
        for acct, cents, chk in payments:
            w.writerow([acct, f"{cents // 100}.{cents % 100:02d}", chk, "01/10/2025", "BENCH PAYER"])


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1000, help="lines keyed into the batch that is posted")
    ap.add_argument("--import-lines", type=int, default=10000, help="payments in each imported file")
    ap.add_argument("--accounts", type=int, default=0, help="accounts (default: lines + 1,000, at least 2,000)")
    ap.add_argument("--unknown-percent", type=float, default=1.0, help="imported payments with no account")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database and files")
    args = ap.parse_args(argv)
    n_accounts = args.accounts or max(args.lines + 1000, 2000)
    rnd = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-posting-"))
    db.connect(str(tmp / "bench.db"))
    op = operators.create("bench", "Bench Keyer", "msr")

    t = time.perf_counter()
    numbers = build_accounts(n_accounts)
    build_s = time.perf_counter() - t

    # Key the batch, one committed line at a time (what Enter does), distinct accounts.
    amounts = [rnd.randint(1000, 40000) for _ in range(args.lines)]
    b = batches.open_batch(op, "check", args.lines, sum(amounts))
    key_ms = []
    for i, cents in enumerate(amounts):
        t = time.perf_counter()
        batches.key_line(op, b.id, str(numbers[i]), cents, str(10000 + i))
        key_ms.append((time.perf_counter() - t) * 1000)
    info_samples = []
    for num in rnd.sample(numbers, min(200, len(numbers))):
        t = time.perf_counter()
        info = batches.account_info_for_entry(str(num))
        info_samples.append((time.perf_counter() - t) * 1000)
        assert info.amount_due_cents == 45000 or info.number in numbers[:args.lines]
    info_ms = statistics.mean(info_samples)

    t = time.perf_counter()
    result = batches.post_batch(op, b.id)
    post_s = time.perf_counter() - t
    assert result.entries == args.lines
    t = time.perf_counter()
    reports.write_batch_reports(b.id, tmp / "reports")
    reports_s = time.perf_counter() - t

    # Import files: 1% unknown accounts go to exceptions.
    imports = {}
    for fmt in ("bai2", "csv"):
        payments = []
        for i in range(args.import_lines):
            acct = str(numbers[rnd.randrange(n_accounts)])
            if rnd.random() * 100 < args.unknown_percent:
                acct = str(make_account_number(900000 + i))
            payments.append((acct, rnd.randint(500, 60000), str(50000 + i)))
        path = tmp / f"lockbox.{fmt}"
        (bai2_file if fmt == "bai2" else csv_file)(path, payments)
        t = time.perf_counter()
        r = lockbox.import_file(op, path)
        import_s = time.perf_counter() - t
        t = time.perf_counter()
        batches.post_batch(op, r.batch_id)
        post_import_s = time.perf_counter() - t
        imports[fmt] = {"import_s": round(import_s, 3), "lines_per_s": round(args.import_lines / import_s),
                        "matched": r.matched_count, "exceptions": r.exception_count,
                        "post_s": round(post_import_s, 3), "bytes": path.stat().st_size}

    figures = {
        "backend": "sqlite", "accounts": n_accounts, "lines": args.lines,
        "key_line_ms_mean": round(statistics.mean(key_ms), 2), "key_line_ms_p95": round(pct(key_ms, 95), 2),
        "account_info_ms": round(info_ms, 2),
        "post_s": round(post_s, 3), "post_lines_per_s": round(args.lines / post_s),
        "post_goal_met": args.lines < 1000 or post_s < 0.5,
        "reports_s": round(reports_s, 3),
        "import_lines": args.import_lines, "import": imports, "build_accounts_s": round(build_s, 2),
    }
    print(f"SQLite, {n_accounts:,} accounts (built in {build_s:.2f} s), "
          f"scratch {tmp}{'' if args.keep else ' (removed)'}")
    print(f"key_line (committed each): mean {figures['key_line_ms_mean']} ms, p95 {figures['key_line_ms_p95']} ms;"
          f" account lookup for entry (mean of {len(info_samples)}) {figures['account_info_ms']} ms")
    print(f"post a {args.lines:,}-line batch: {post_s * 1000:.1f} ms ({figures['post_lines_per_s']:,} lines/s;"
          f" goal < 500 ms for 1,000)")
    print(f"reports (text, PDF, deposit CSV): {reports_s * 1000:.1f} ms")
    for fmt, f in imports.items():
        print(f"import {args.import_lines:,}-line {fmt.upper()} ({f['bytes']:,} bytes): {f['import_s']} s "
              f"({f['lines_per_s']:,} lines/s), {f['matched']:,} matched, {f['exceptions']} exceptions; "
              f"post {f['post_s']} s")
    db.database.close()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
