"""Backup benchmark: `kec-tui backup` (services/backup.py) of a demo co-op's SQLite file while an
MSR keys payments, and the longest wait a keyed line sees during it (against the same keying
without a backup). Then the restore's check.

    python tests/perf/bench_backup.py                              # 30,000 accounts, 24 months
    python tests/perf/bench_backup.py --accounts 1000000 --months 4    # the 1,000,000-account co-op
    python tests/perf/bench_backup.py --accounts 200 --months 2        # the smoke size

Goal (issue 15): no keyed line waits more than 100 ms for the backup. Prints figures, then one line
of JSON with `backup_<accounts>_s` and `longest_wait_ms`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kec_tui import db  # noqa: E402
from kec_tui.demo import build_demo  # noqa: E402
from kec_tui.services import backup, batches, operators  # noqa: E402


def payable(n: int) -> list[tuple[int, int]]:
    rows = db.database.execute_sql(
        "SELECT a.number, SUM(l.amount_cents) FROM account a JOIN ledger_entry l ON l.account_id = a.id "
        "WHERE a.status = 'active' AND a.cash_only_until IS NULL GROUP BY a.id, a.number "
        "HAVING SUM(l.amount_cents) BETWEEN 100 AND 90000 ORDER BY a.number LIMIT ?", (n,)).fetchall()
    return [(int(a), int(b)) for a, b in rows]


class Keyer(threading.Thread):
    """An MSR keying a line every `gap` seconds through the batch service; each commit timed."""

    def __init__(self, op, batch_id: int, accounts: list[tuple[int, int]], gap: float = 0.02):
        super().__init__(daemon=True)
        self.op, self.batch_id, self.accounts, self.gap = op, batch_id, accounts, gap
        self.phase = "baseline"
        self.waits: dict[str, list[float]] = {"baseline": [], "backup": [], "check": []}
        self.stop = threading.Event()

    def run(self) -> None:
        with db.database.connection_context():
            for n, cents in self.accounts:
                if self.stop.is_set():
                    return
                phase = self.phase
                t = time.perf_counter()
                batches.key_line(self.op, self.batch_id, str(n), cents)
                if phase == self.phase:
                    self.waits[phase].append(time.perf_counter() - t)
                time.sleep(self.gap)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def measure(live: Path, work: Path, *, baseline: float = 3.0, accounts: int | None = None) -> dict:
    """Back `live` up into `work` while an MSR keys lines (after `baseline` seconds of keying
    alone), restore the copy, and return the figures (bench_convert.py may call this with its
    1,000,000-account database). Leaves the database connection closed."""
    db.connect(str(live))
    op = operators.create("bench1", "Bench Keyer", "msr")
    accounts_owing = payable(5_000)
    b = batches.open_batch(op, "check", len(accounts_owing), sum(c for _, c in accounts_owing))
    n = accounts if accounts is not None else db.Account.select().count()
    db.database.close()
    keyer = Keyer(op, b.id, accounts_owing)
    keyer.start()
    time.sleep(baseline)
    keyer.phase = "backup"

    def step(remaining: int, total: int) -> None:
        if remaining == 0:
            keyer.phase = "check"       # the copy is made: integrity check (and seals) from here

    t = time.perf_counter()
    result = backup.backup(live, work / "copy.db", step=step)
    total_s = time.perf_counter() - t
    keyer.phase = "after"
    keyer.waits["after"] = []
    keyer.stop.set()
    keyer.join(timeout=30)
    t = time.perf_counter()
    restored = backup.restore(result.path, work / "restored.db")
    restore_s = time.perf_counter() - t
    assert restored.check.ok
    during, base, check = keyer.waits["backup"], keyer.waits["baseline"], keyer.waits["check"]
    for p in (result.path, restored.path):
        p.unlink(missing_ok=True)
    return {
        "db_mb": round(result.bytes / 1e6, 1), "ledger_rows": result.check.ledger_rows,
        f"backup_{n}_s": round(result.seconds, 3), "backup_and_check_s": round(total_s, 3),
        "steps": result.steps, "restore_s": round(restore_s, 3), "integrity": result.check.integrity,
        "lines_during": len(during), "longest_wait_ms": round(max(during, default=0) * 1000, 1),
        "p99_wait_ms": round(pct(during, 0.99) * 1000, 1), "median_wait_ms": round(pct(during, 0.5) * 1000, 1),
        "check_lines": len(check), "check_longest_wait_ms": round(max(check, default=0) * 1000, 1),
        "check_p99_wait_ms": round(pct(check, 0.99) * 1000, 1),
        "baseline_lines": len(base), "baseline_longest_wait_ms": round(max(base, default=0) * 1000, 1),
        "baseline_median_wait_ms": round(pct(base, 0.5) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--baseline", type=float, default=3.0, help="seconds of keying without a backup first")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kec-bench-backup-"))
    try:
        live = tmp / "live.db"
        db.connect(str(live))
        t = time.perf_counter()
        build_demo(accounts=args.accounts, months=args.months, seed=5)
        build_s = time.perf_counter() - t
        db.database.close()
        figures = {"bench": "backup", "backend": "sqlite", "accounts": args.accounts, "months": args.months}
        figures.update(measure(live, tmp, baseline=args.baseline, accounts=args.accounts))
        figures.update({"load_1m": round(os.getloadavg()[0], 2), "build_s": round(build_s, 1)})
        f = figures
        print(f"SQLite: {args.accounts:,} accounts x {args.months} months, {f['db_mb']:,.1f} MB, "
              f"{f['ledger_rows']:,} ledger rows")
        print(f"  backup {f[f'backup_{args.accounts}_s']:7.2f} s ({f['steps']} steps), with its checks "
              f"{f['backup_and_check_s']:.2f} s; restore with its check {f['restore_s']:.2f} s")
        print(f"  keyed lines during the copy: {f['lines_during']}, longest wait {f['longest_wait_ms']} ms "
              f"(p99 {f['p99_wait_ms']}, median {f['median_wait_ms']}); during the check of the copy: "
              f"{f['check_lines']}, longest {f['check_longest_wait_ms']} ms (p99 {f['check_p99_wait_ms']}); "
              f"without a backup: {f['baseline_lines']}, longest {f['baseline_longest_wait_ms']} ms "
              f"(load {os.getloadavg()[0]:.1f})")
        print(json.dumps(figures))
        return figures
    finally:
        if not db.database.is_closed():
            db.database.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
