"""Seal and verify benchmark: `seals.seal` then `seals.verify` over a demo co-op's ledger and
audit log, beside the simplest alternative in the same run (one SHA-256 over every row: it says
whether anything changed, never which row).

    python tests/perf/bench_verify.py                          # 30,000 accounts, 24 months
    python tests/perf/bench_verify.py --accounts 200 --months 3    # the smoke size
    python tests/perf/bench_verify.py --db postgresql://postgres@127.0.0.1:5432/bench_verify

Goal (issue 14): seconds on the demo co-op, minutes at 1,000,000 accounts (rows per second
printed: the 1,000,000 figure follows from it, the work being one pass over the rows).
Prints figures, then one line of JSON with `verify_<accounts>_s`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.config import redact  # noqa: E402
from kec_tui.demo import build_demo  # noqa: E402
from kec_tui.services import seals  # noqa: E402

KEY = bytes(range(32))


def whole_table_sha256() -> float:
    t = time.perf_counter()
    h = hashlib.sha256()
    for model in (db.LedgerEntry, db.AuditLog):
        for row in model.select(*model._meta.sorted_fields).order_by(model.id).tuples().iterator():
            h.update("\x1f".join("" if v is None else str(v) for v in row).encode())
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--db", default="", help="a PostgreSQL URL (emptied and filled); default a SQLite file in /tmp")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-verify-"))
    try:
        target = args.db or str(tmp / "bench.db")
        db.connect(target)
        if args.db:
            db.drop_all()
            db.migrate()
        t = time.perf_counter()
        build_demo(accounts=args.accounts, months=args.months, seed=3)
        build_s = time.perf_counter() - t
        later = dt.datetime.now() + dt.timedelta(hours=1)
        t = time.perf_counter()
        sealed = seals.seal(KEY, now=later)
        seal_s = time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        report = seals.verify(KEY)
        verify_s, verify_cpu_s = time.perf_counter() - t, time.process_time() - cpu
        assert report.ok, report.problems
        rows = sum(report.rows.values())
        plain_s = whole_table_sha256()
        figures = {
            "bench": "verify", "backend": "postgresql" if args.db else "sqlite", "accounts": args.accounts,
            "months": args.months, "ledger_rows": report.rows["ledger"], "audit_rows": report.rows["audit"],
            "seals": report.seals, "seal_s": round(seal_s, 3), f"verify_{args.accounts}_s": round(verify_s, 3),
            "verify_cpu_s": round(verify_cpu_s, 3),
            "verify_rows_per_s": round(rows / verify_s), "plain_sha256_s": round(plain_s, 3),
            "seal_bytes_per_row": round(sum(len(bytes(s.links)) for s in db.Seal.select()) / max(rows, 1), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "load_1m": round(os.getloadavg()[0], 2), "build_s": round(build_s, 1),
        }
        print(f"{redact(target) if args.db else 'SQLite'}: {args.accounts:,} accounts, {rows:,} rows "
              f"({report.rows['ledger']:,} ledger, {report.rows['audit']:,} audit) in {report.seals} seals")
        print(f"  seal   {seal_s:7.2f} s   ({sealed.seals} seals)")
        print(f"  verify {verify_s:7.2f} s   (CPU {verify_cpu_s:.2f} s, load {os.getloadavg()[0]:.1f}; "
              f"{rows / verify_s:,.0f} rows/s; at 1,000,000 accounts, "
              f"~{rows / args.accounts * 1_000_000 / (rows / verify_s) / 60:.1f} min)")
        print(f"  plain SHA-256 over every row (no seals, no row named): {plain_s:.2f} s")
        print(json.dumps(figures))
        return figures
    finally:
        if not db.database.is_closed():
            db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
