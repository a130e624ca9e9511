"""Autopay benchmark on SQLite: the NACHA draft file of one draft date (preview, then commit: the
entries with their trace numbers, a payment posted for each draft, the file written and parsed back).

    python tests/perf/bench_autopay.py                      # 30,000 enrolled accounts
    python tests/perf/bench_autopay.py --million            # and 1,000,000 (builds
                                                            # /tmp/kec-bench-autopay-1000000.db once, copies it)
    python tests/perf/bench_autopay.py --accounts 50        # the smoke size

Goals (issue 16): the draft file for 30,000 accounts < 2 s, for 1,000,000 < 60 s on SQLite here.
CPU time beside wall time: on a shared machine the wall time also counts the others' work.
The database is built with bulk inserts (members, locations, accounts, one bill due on the draft
date, an enrollment whose prenote went out long ago), as bench_collections builds its own.
Prints figures, then one line of JSON naming `draft_30000_s` and `draft_1000000_s` (null when that
size was not run).
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

from kec_tui import config, db  # noqa: E402
from kec_tui.checkdigit import make_account_number  # noqa: E402
from kec_tui.services import autopay, nacha, operators  # noqa: E402

DRAFT = dt.date(2026, 3, 20)
GOALS = {30_000: 2.0, 1_000_000: 60.0}
MILLION_DB = "/tmp/kec-bench-autopay-1000000.db"
ROUTINGS = ("091000019", "121042882", "021000021", "011000138", "122105278")
CHUNK = 20_000


def build(path: str, accounts: int) -> None:
    """A database of `accounts` enrolled accounts, each with a bill due on DRAFT."""
    db.connect(path)
    cur = db.database.cursor()
    p = db.database.param
    today = dt.date(2026, 3, 1)
    with db.database.atomic():
        for start in range(0, accounts, CHUNK):
            ids = range(start + 1, min(accounts, start + CHUNK) + 1)
            cur.executemany(f'INSERT INTO "member" ("id", "member_no", "first_name", "last_name", "phone_home", '
                            f'"phone_mobile", "phone_work", "email", "mail_street", "mail_city", "mail_state", '
                            f'"mail_zip", "preferred_contact", "joined", "bank_routing", "bank_account") '
                            f'VALUES ({", ".join([p] * 16)})',
                            [(i, 100000 + i, "Pat", f"Member{i}", "", "", "", "", "1 Main", "Hayden", "ID", "83835",
                              "phone", today, ROUTINGS[i % 5], f"{1000000 + i}") for i in ids])
            cur.executemany(f'INSERT INTO "service_location" ("id", "location_no", "street", "city", "state", "zip", '
                            f'"map_location", "owner_name", "owner_phone") VALUES ({", ".join([p] * 9)})',
                            [(i, i, f"{i} Main", "Hayden", "ID", "83835", "", "", "") for i in ids])
            cur.executemany(f'INSERT INTO "account" ("id", "number", "member_id", "location_id", "rate_class", '
                            f'"status", "bill_cycle", "landlord", "bankruptcy", "budget_billing", "collections", '
                            f'"deposit_cents", "opened", "winter_household") VALUES ({", ".join([p] * 14)})',
                            [(i, make_account_number(10000 + i), i, i, "RES", "active", 1, False, i % 97 == 0,
                              False, False, 0, today, "") for i in ids])
            cur.executemany(f'INSERT INTO "ledger_entry" ("account_id", "posted_at", "effective", "kind", '
                            f'"amount_cents", "description", "reference", "due_date") VALUES ({", ".join([p] * 8)})',
                            [(i, db.now(), DRAFT - dt.timedelta(days=20), "bill", 5000 + i % 20000,
                              "Electric service", "", DRAFT) for i in ids])
            cur.executemany(f'INSERT INTO "autopay_enrollment" ("account_id", "routing", "bank_account", '
                            f'"account_type", "authorized_on", "status", "prenote_sent_on", "prenote_trace", '
                            f'"stop_reason", "created_at", "updated_at") VALUES ({", ".join([p] * 11)})',
                            [(i, ROUTINGS[i % 5], f"{1000000 + i}", "savings" if i % 7 == 0 else "checking",
                              today, "active", dt.date(2026, 1, 5), "", "", db.now(), db.now()) for i in ids])
    db.database.execute_sql("ANALYZE")
    db.database.close()


def timed(fn):
    t, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return result, time.perf_counter() - t, time.thread_time() - cpu


def measure(path: str, accounts: int, files: str) -> dict:
    db.connect(path)
    autopay.configure(config.Settings(autopay_dir=files))
    op = operators.create("bench_ach", "Bench Billing", "billing")
    out: dict = {}
    plan, s1, c1 = timed(lambda: autopay.preview(op, DRAFT))
    info, s2, c2 = timed(lambda: autopay.commit(op, plan.run.id))
    out[f"draft_preview_{accounts}_s"] = round(s1, 3)
    out[f"draft_commit_{accounts}_s"] = round(s2, 3)
    out[f"draft_{accounts}_s"] = round(s1 + s2, 3)
    out[f"draft_{accounts}_cpu_s"] = round(c1 + c2, 3)
    out[f"draft_preview_{accounts}_cpu_s"] = round(c1, 3)
    out[f"draft_commit_{accounts}_cpu_s"] = round(c2, 3)
    out[f"drafts_{accounts}"] = info.entry_count
    out[f"excluded_{accounts}"] = len(plan.excluded)
    out[f"drafts_{accounts}_cents"] = info.total_cents
    parsed, s3, _ = timed(lambda: nacha.parse(Path(info.file_path).read_text()))
    assert (parsed.debit_cents, len(parsed.entries), parsed.entry_hash) == \
        (info.total_cents, info.entry_count, info.entry_hash)
    out[f"parse_{accounts}_s"] = round(s3, 3)
    out[f"file_{accounts}_bytes"] = Path(info.file_path).stat().st_size
    db.database.close()
    return out


def run_size(accounts: int, cached: str | None) -> dict:
    tmp = tempfile.mkdtemp(prefix="kec-bench-autopay-")
    try:
        path = os.path.join(tmp, "bench.db")
        t = time.perf_counter()
        if cached:
            if not os.path.exists(cached):
                build(cached, accounts)
            shutil.copyfile(cached, path)
        else:
            build(path, accounts)
        built = time.perf_counter() - t
        out = measure(path, accounts, os.path.join(tmp, "ach"))
        out[f"build_{accounts}_s"] = round(built, 1)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--million", action="store_true", help="also 1,000,000 accounts")
    args = ap.parse_args()
    figures: dict = {"backend": "sqlite", "accounts": args.accounts, "draft_30000_s": None, "draft_1000000_s": None}
    figures.update(run_size(args.accounts, None))
    if args.million:
        figures.update(run_size(1_000_000, MILLION_DB))
    for size, goal in GOALS.items():
        got = figures.get(f"draft_{size}_s")
        if got is not None:
            cpu = figures.get(f"draft_{size}_cpu_s")
            print(f"draft file for {size:,} accounts: {got:.2f} s wall, {cpu:.2f} s CPU (goal < {goal:.0f} s)"
                  f"{'' if got < goal else '  OVER GOAL (wall)'}")
    for k, v in figures.items():
        if k.startswith(("draft_", "parse_", "build_")) and v is not None:
            print(f"  {k} = {v}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
