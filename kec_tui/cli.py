"""`kec-tui` and its subcommands. Imports are lazy so the first screen comes up fast."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kec-tui", description="Member services for an electric cooperative.")
    p.add_argument("--db", help="database URL or SQLite path (default: the demo database; env KEC_TUI_DB)")
    p.add_argument("--operator", help="operator name (default: the one mapped to your OS user)")
    p.add_argument("--config", type=Path, help="settings file (default ~/.config/kec-tui/config.toml)")
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the application (the default)")
    run.add_argument("--account", type=int, help="open this account number first")
    demo = sub.add_parser("demo", help="build a demo co-op database")
    demo.add_argument("--accounts", type=int, default=30_000, help="accounts to make (up to 1,000,000)")
    demo.add_argument("--months", type=int, default=24, help="months of bills, payments and readings")
    demo.add_argument("--seed", type=int, default=1, help="random seed: the same seed makes the same co-op")
    demo.add_argument("--force", action="store_true", help="replace an existing SQLite demo file")
    imp = sub.add_parser("import-payments", help="import a bank lockbox file (CSV or BAI2) into a payment batch")
    imp.add_argument("file", type=Path, help="the bank's file; checked whole, refused if imported before")
    imp.add_argument("--post", action="store_true", help="post the matched payments' batch right away")
    ap = sub.add_parser("autopay", help="autopay: the NACHA draft file of a date, the bank's return/change files")
    ap_sub = ap.add_subparsers(dest="ap_command", required=True)
    draft = ap_sub.add_parser("draft", help="preview the draft file of a date (YYYY-MM-DD); --commit makes it, once")
    draft.add_argument("date", type=dt.date.fromisoformat, help="the draft date, YYYY-MM-DD")
    draft.add_argument("--commit", action="store_true", help="make the file and post the drafts (once per date)")
    bank = ap_sub.add_parser("bank-file", help="import the bank's NACHA return / notification-of-change file")
    bank.add_argument("file", type=Path)
    proc = ap_sub.add_parser("processor-file", help="import a card / e-check processor's settlement CSV")
    proc.add_argument("file", type=Path)
    op = sub.add_parser("operator", help="add or list operators")
    op_sub = op.add_subparsers(dest="op_command", required=True)
    add = op_sub.add_parser("add", help="add an operator")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--role", default="msr")
    add.add_argument("--os-user", help="the OS login that signs in as this operator")
    op_sub.add_parser("list", help="list operators")
    passwd = op_sub.add_parser("passwd", help="set an operator's password (read from the terminal or stdin)")
    passwd.add_argument("username")
    passwd.add_argument("--keep", action="store_true",
                        help="the operator keeps this password (default: they choose their own at the next sign-in)")
    unlock = op_sub.add_parser("unlock", help="lift the lock put on an operator after too many wrong passwords "
                               "(run as a supervisor: --operator NAME or your mapped OS login)")
    unlock.add_argument("username")
    ssh = sub.add_parser("serve-ssh", help="serve the application over SSH (one session per connection)")
    ssh.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ssh.add_argument("--port", type=int, default=2222, help="port (default 2222; 0 picks a free one)")
    ssh.add_argument("--host-key", type=Path, help="host key file (default: made on first start in the data dir)")
    ssh.add_argument("--keys-dir", type=Path, help="operators' public keys: DIR/<username>.pub "
                     "(default: ssh_keys in the data dir)")
    ssh.add_argument("--fps", type=int, default=30, help="screen updates per second at most (TEXTUAL_FPS)")
    ssh.add_argument("--escdelay", type=int, default=250, help="ms to wait after ESC for the rest of a key (ESCDELAY)")
    ssh.add_argument("--grace", type=float, default=3.0, help="seconds a dropped session's program gets to end")
    web = sub.add_parser("serve-web", help="serve the application to a browser (sign in with a password)")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    web.add_argument("--public-url", help="the URL browsers use, when behind a proxy (default http://HOST:PORT)")
    sub.add_parser("login", help="sign in with a password, then start the application")
    train = sub.add_parser("train", help="training: the application on a practice database, with guided walkthroughs")
    train.add_argument("--walkthrough", metavar="NAME", help="start this walkthrough (--list names them)")
    train.add_argument("--list", action="store_true", help="list the walkthroughs and exit")
    train.add_argument("--reset", action="store_true", help="build the practice database afresh")
    train.add_argument("--role", choices=("msr", "billing", "collections"),
                       help="the trainee's role (a new trainee is an MSR; billing to practise readings, "
                            "adjustments and the billing run)")
    train.add_argument("--practice-db", type=Path, help="the practice file (default practice.db in the data dir)")
    train.add_argument("--accounts", type=int, default=3_000, help="accounts in a new practice co-op (default 3,000)")
    train.add_argument("--months", type=int, default=12, help="months of history in a new practice co-op")
    po = sub.add_parser("portal-outbox", help="the online accounts' outbox: list the unsent messages, or --send "
                        "them through the co-op's portal connector (setting portal_connector)")
    po.add_argument("--send", action="store_true", help="deliver them (needs portal_connector)")
    mig = sub.add_parser("migrate", help="create or update the schema (as the database's owner), then exit")
    mig.add_argument("--grant-app", metavar="ROLE", help="PostgreSQL: let ROLE run the application with least "
                     "privilege (no DDL; ledger, audit log and seals: INSERT and SELECT only)")
    verify = sub.add_parser("verify", help="seal the ledger and audit rows written since the last seal, then check "
                            "every seal: exit 1 and the first rows changed, deleted or inserted if any")
    verify.add_argument("--no-seal", action="store_true", help="only check (read-only)")
    verify.add_argument("--key", type=Path, help="the seal key file (default seal.key in the data dir; made on "
                        "the first seal: keep a copy away from the database)")
    rev = sub.add_parser("review-arrangements", help="the daily tracking of payment arrangements: mark the broken "
                         "(notices resume) and the completed ones")
    rev.add_argument("--date", default="", help="the day judged, YYYY-MM-DD (default today)")
    lt = sub.add_parser("letters", help="the letter templates: list them, copy the shipped ones to edit, check them")
    lt.add_argument("--install", action="store_true", help="copy the shipped templates the co-op has no copy of "
                    "into its letters directory (setting letters_dir; default letters/ in the data dir)")
    lt.add_argument("--check", nargs="*", metavar="NAME", help="render these templates (none named: all) with sample "
                    "fields: exit 1 naming a field a letter does not have, or a line that does not parse")
    bk = sub.add_parser("backup", help="copy the live SQLite database while sessions keep keying, then check the copy "
                        "(integrity check; the seals where a seal key exists)")
    bk.add_argument("file", type=Path, help="the copy to make (must not exist), or a directory: "
                    "kec-tui-YYYYMMDD-HHMMSS.db in it")
    bk.add_argument("--keep", type=int, help="with a directory: keep the newest N backups there, remove older ones")
    bk.add_argument("--key", type=Path, help="the seal key file (default seal.key in the data dir)")
    rs = sub.add_parser("restore", help="check a backup, then copy it to a new database file (never the live one, "
                        "never one in use)")
    rs.add_argument("file", type=Path, help="the backup file")
    rs.add_argument("--to", dest="to", type=Path, required=True, help="the database file to make")
    rs.add_argument("--force", action="store_true", help="replace an existing file at --to (refused if in use)")
    rs.add_argument("--key", type=Path, help="the seal key file (default seal.key in the data dir)")
    jr = sub.add_parser("journal", help="the day's general-ledger journal: debits and credits by GL account "
                        "(billing clerks, supervisors)", formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="Files (reports directory): gl-journal-DAY.csv, gl-journal-DAY.txt (fixed width), "
                        "gl-journal-DAY-detail.csv\n\nThe fixed-width layout:\n" + _journal_layout())
    jr.add_argument("day", nargs="?", default="", help="YYYY-MM-DD or MM/DD/YYYY, today or yesterday "
                    "(default: the next day to close)")
    jr.add_argument("--close", action="store_true", help="close the day: its journal is kept and written, once")
    jr.add_argument("--write", action="store_true", help="write the files (an open day's as -PREVIEW)")
    jr.add_argument("--chart", type=Path, help="the chart of accounts (default gl_accounts.toml in the data dir "
                    "over the shipped one)")
    jr.add_argument("--out", type=Path, help="where to write the files (default the reports directory)")
    from kec_tui.services.conversion_layouts import LAYOUT_HELP

    conv = sub.add_parser("convert", help="bring a co-op's data in from its former system (CSV files)",
                          description="Convert the CSV files in DIR into this database: checked whole, then\n"
                          "loaded in one transaction (any problem and nothing is written). Run it again after\n"
                          "a correction: records are matched by their keys in the former system.",
                          epilog=LAYOUT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    conv.add_argument("dir", type=Path, help="the directory of CSV files")
    conv.add_argument("--dry-run", action="store_true", help="read everything and list every problem by file, line "
                      "and column; write nothing")
    conv.add_argument("--renumber", action="store_true", help="new account numbers with check digits (and new member "
                      "and location numbers); the former account numbers go to DIR/renumbered_accounts.csv")
    exp = sub.add_parser("export", help="every table to CSV files (the conversion's layouts where it has one)")
    exp.add_argument("dir", type=Path, help="the directory to write (made if missing; files in it are replaced)")
    exp.add_argument("--as-of", default="", help="age the balances as of this day, YYYY-MM-DD (default today)")
    report = sub.add_parser("report", help="reports for supervisors")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    ks = report_sub.add_parser("keystats", help="keys per hour and corrections per operator and day")
    ks.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7)")
    ks.add_argument("--user", default="", help="one operator only")
    us = report_sub.add_parser("usage", help="usage and revenue by rate schedule and month against a year before")
    us.add_argument("--from", dest="first", default="", help="first month YYYY-MM (default: 12 months to the last)")
    us.add_argument("--to", dest="last", default="", help="last month YYYY-MM (default: the newest bill's month)")
    us.add_argument("--schedule", default="", help="one rate schedule (RES, SGS ...)")
    us.add_argument("--cycle", default="", help="one bill cycle")
    us.add_argument("--by-cycle", action="store_true", help="a row per cycle")
    us.add_argument("--write", action="store_true", help="also write the CSV and PDF to the reports directory")
    return p


def cmd_letters(args) -> int:
    """List, install and check the letter templates (services/letters.py); no database needed."""
    from kec_tui.services import letters

    where = letters.places().templates
    if args.install:
        copied = letters.install_defaults()
        print(f"Copied {len(copied)} template{'s' * (len(copied) != 1)} to {where}" if copied
              else f"The co-op has its own copy of every shipped template in {where}")
    bad = 0
    names = letters.template_names() if not args.check else args.check
    for name in names:
        own = (where / f"{name}{letters.SUFFIX}").exists()
        line = f"{name:<24} {'the co-op' + chr(39) + 's' if own else 'shipped':<10}"
        if args.check is not None:
            try:
                r = letters.check(name)
                line += f" ok: {r.title}"
            except letters.LetterError as e:
                line += f" REFUSED: {e.message}"
                bad += 1
        print(line)
    return 1 if bad else 0
def _journal_layout() -> str:
    from kec_tui.services.gl_journal import layout_text

    return layout_text()


def fail(message: str, code: int = 2) -> int:
    print(f"kec-tui: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from kec_tui import config, db

    try:
        settings = config.load(args.config, db=args.db, operator=args.operator)
    except config.SettingsError as e:
        return fail(str(e))
    from kec_tui.services import fees

    fees.configure(settings)
    from kec_tui.services import (
        adjustments,
        autopay,
        billing_run,
        capital_credits,
        credit_rules,
        letters,
        notices,
        portal,
        products,
        readings,
        sign_in_guard,
    )

    for area in (readings, billing_run, adjustments, sign_in_guard, capital_credits, products, portal, credit_rules,
                 letters, notices, autopay):   # limits, tax, notice rules ...
        area.configure(settings)
    from kec_tui.services import arrangements, assistance

    for area in (arrangements, assistance):     # arrangement limits, the pledge hold
        area.configure(settings)
    from kec_tui.services import damage_claims

    damage_claims.configure(settings)           # the overhead percentage
    command = args.command or "run"
    try:
        if command == "train":  # its own practice database, never the one of --db / KEC_TUI_DB
            return cmd_train(settings, args)
        if command == "demo":
            return cmd_demo(settings, args)
        if command == "verify":
            return cmd_verify(settings, args)
        if command == "letters":
            return cmd_letters(args)
        if command in ("backup", "restore"):  # the live file is read (or left alone), never migrated
            return cmd_backup(settings, args) if command == "backup" else cmd_restore(settings, args)
        if command in ("serve-ssh", "serve-web", "login") and not _database_exists(settings.db_url):
            return fail(f"no database at {settings.db_url}: build one with `kec-tui demo` or pass --db")
        if command == "convert" and args.dry_run and not _database_exists(settings.db_url):
            db.connect(":memory:")          # a dry run checks against an empty database, creates none
        elif command != "run" or settings.db or Path(settings.db_url).exists():
            db.connect(settings.db_url)
        else:
            print(f"First run: building the demo co-op at {settings.db_url} (once).")
            code = cmd_demo(settings, argparse.Namespace(accounts=30_000, months=24, seed=1, force=False))
            if code:
                return code
            db.connect(settings.db_url)
    except db.DatabaseUnavailable as e:
        return fail(str(e))
    if command == "migrate":
        return cmd_migrate(args)
    if command == "import-payments":
        return cmd_import_payments(settings, args)
    if command == "autopay":
        return cmd_autopay(settings, args)
    if command == "convert":
        return cmd_convert(settings, args)
    if command == "export":
        return cmd_export(settings, args)
    if command == "operator":
        return cmd_operator(settings, args)
    if command == "report":
        return cmd_report(settings, args)
    if command == "portal-outbox":
        return cmd_portal_outbox(settings, args)
    if command == "review-arrangements":
        return cmd_review_arrangements(settings, args)
    if command == "journal":
        return cmd_journal(settings, args)
    if command in ("serve-ssh", "serve-web", "login"):
        return cmd_remote(settings, args, command)
    return cmd_run(settings, getattr(args, "account", None))


def _database_exists(url: str) -> bool:
    """A PostgreSQL URL, or a SQLite file that is there."""
    return url.startswith(("postgres://", "postgresql://")) or Path(url.removeprefix("sqlite:///")).expanduser().exists()


def cmd_run(settings, account_number: int | None) -> int:
    from kec_tui.services import operators
    from kec_tui.services.errors import ServiceError

    try:
        op = operators.resolve(settings.operator or None)
    except ServiceError as e:
        return fail(e.message)
    start = None
    if account_number:
        from kec_tui.services import accounts

        try:
            start = accounts.account_id_for_number(str(account_number))
        except ServiceError as e:
            return fail(e.message)
    from kec_tui.app import KecApp
    from kec_tui.keymap import KeymapError

    try:
        app = KecApp(settings, op, start_account=start)
    except KeymapError as e:
        return fail(str(e))
    app.run()
    return app.return_code or 0


def cmd_demo(settings, args) -> int:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn, TimeRemainingColumn

    from kec_tui import db
    from kec_tui.config import redact
    from kec_tui.demo import build_demo

    url = settings.db_url
    if args.accounts < 1 or args.accounts > 1_000_000:
        return fail("--accounts must be from 1 to 1,000,000")
    if args.months < 0 or args.months > 120:
        return fail("--months must be from 0 to 120")
    path = None if url.startswith(("postgres://", "postgresql://")) else Path(url.removeprefix("sqlite:///"))
    if path is not None and path.exists():
        if not args.force:
            return fail(f"{path} exists; add --force to replace it")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    db.connect(url)
    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn()) as progress:
        task = progress.add_task(f"Building {args.accounts:,} accounts x {args.months} months", total=args.accounts)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            summary = build_demo(accounts=args.accounts, months=args.months, seed=args.seed, progress=tick)
        except ValueError as e:
            return fail(str(e))
    from kec_tui.services import passwords

    passwords.set_password("super", DEMO_SUPERVISOR_PASSWORD)
    print(f"Demo co-op ready at {redact(url)}: {summary}")
    db_flag = f" --db {redact(url)}" if settings.db else ""
    print(f"You are msr1 (an MSR) by default. To sign in as the demo supervisor: kec-tui{db_flag} --operator super\n"
          f"The supervisor's password (asked for an override, over serve-ssh and serve-web): "
          f"{DEMO_SUPERVISOR_PASSWORD}")
    db.database.close()
    return 0


# A demo co-op is for trying the program: its supervisor gets a known password, printed by `kec-tui demo`.
DEMO_SUPERVISOR_PASSWORD = "demo-supervisor"


def cmd_portal_outbox(settings, args) -> int:
    """The online accounts' outbox: unsent messages listed; --send hands them to the co-op's connector."""
    from kec_tui.services import portal
    from kec_tui.services.errors import ServiceError

    if not args.send:
        waiting = portal.outbox(limit=1000)
        for m in waiting:
            print(f"{m.created_at:%Y-%m-%d %H:%M}  {m.account_number}  {m.kind:<14} {m.to_address}"
                  + (f"  (last try: {m.error})" if m.error else ""))
        print(f"{len(waiting)} message(s) waiting")
        return 0
    try:
        connector = portal.connector_from_settings(settings)
    except ServiceError as e:
        return fail(e.message)
    if connector is None:
        return fail("no portal connector: set portal_connector = \"module:Class\" (see services/portal.py)")
    done = portal.deliver_outbox(connector)
    print(f"{done.sent} sent, {done.failed} failed, {done.waiting} waiting")
    return 1 if done.failed else 0


def cmd_import_payments(settings, args) -> int:
    """Import a lockbox file: the summary on stdout; a refused file is exit 2 with the reason, nothing applied."""
    from kec_tui.money import fmt_dollars
    from kec_tui.services import batches, lockbox, operators
    from kec_tui.services.errors import ServiceError

    try:
        op = operators.resolve(settings.operator or None)
    except ServiceError as e:
        return fail(e.message)
    try:
        r = lockbox.import_file(op, args.file, lockbox.mapping_from_settings(settings))
    except lockbox.ImportRefused as e:
        return fail(f"{args.file}: refused, nothing applied: {' '.join(e.message.split())}")  # one line
    except ServiceError as e:
        return fail(e.message)
    print(f"Imported {r.filename} ({r.format.upper()}): {r.record_count:,} payments {fmt_dollars(r.total_cents)}")
    posted = ""
    if r.batch_id and args.post:
        try:
            batches.post_batch(op, r.batch_id)
            posted = "posted"
        except ServiceError as e:
            posted = f"NOT posted: {e.message}"
    if r.batch_id:
        state = posted or "balanced, to post (batch list F3, or --post)"
        print(f"  Batch {r.batch_number}: {r.matched_count:,} matched {fmt_dollars(r.matched_total_cents)}, {state}")
    if r.exception_count:
        print(f"  Exceptions: {r.exception_count:,} {fmt_dollars(r.exception_total_cents)} to work "
              f"(batch list F3, then Lockbox F7)")
    else:
        print("  Exceptions: none")
    for line in lockbox.skipped_lines(r):
        print(f"  {line}")
    return 1 if posted.startswith("NOT") else 0


def cmd_autopay(settings, args) -> int:
    """Autopay from the command line (a scheduler's job): a refused step is exit 2 with the reason."""
    from kec_tui.money import fmt_dollars
    from kec_tui.services import autopay, operators
    from kec_tui.services.errors import ServiceError

    try:
        op = operators.resolve(settings.operator or None)
        if args.ap_command == "draft":
            p = autopay.preview(op, args.date)
            print(f"Draft date {p.draft_date:%m/%d/%Y}: {len(p.drafts):,} drafts {fmt_dollars(p.total_cents)}, "
                  f"{len(p.prenotes):,} prenotes, {len(p.excluded):,} left out")
            for x in p.excluded:
                print(f"  left out {x.number} {x.name}: {fmt_dollars(x.amount_cents)} {x.reason}")
            if args.commit:
                info = autopay.commit(op, p.run.id)
                print(f"File {info.file_path}: {info.entry_count:,} drafts {fmt_dollars(info.total_cents)}, "
                      f"{info.prenote_count:,} prenotes, entry hash {info.entry_hash:010d}")
        elif args.ap_command == "bank-file":
            r = autopay.import_bank_file(op, args.file)
            print(f"{r.filename}: {r.returns} returns, {r.changes} changes, {r.exceptions} to the exceptions queue")
            for i in r.items:
                print(f"  {i.kind} {i.code} trace {i.trace}: {i.outcome}")
        else:
            r = autopay.import_processor_file(op, args.file)
            print(f"{args.file.name}: {r.count:,} payments {fmt_dollars(r.total_cents)}; batch {r.batch_number or '-'} "
                  f"{r.matched_count:,} matched; {r.exception_count:,} exceptions")
    except ServiceError as e:
        return fail(" ".join(e.message.split()))
    return 0


def cmd_convert(settings, args) -> int:
    """`kec-tui convert DIR [--dry-run] [--renumber]`: every problem on stdout (exit 1), or the counts."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn, TimeRemainingColumn

    from kec_tui.services import conversion, operators
    from kec_tui.services.errors import ServiceError

    if not args.dir.is_dir():
        return fail(f"{args.dir} is not a directory")
    mapping = args.dir / "renumbered_accounts.csv"
    if args.renumber and not args.dry_run and (mapping.is_dir() or not os.access(args.dir, os.W_OK)
                                               or (mapping.exists() and not os.access(mapping, os.W_OK))):
        return fail(f"{mapping} cannot be written (the former and new account numbers go there); nothing converted")
    op = None
    if not args.dry_run:
        try:
            op = operators.resolve(settings.operator or None)
            operators.require(op, "operator.manage")
        except ServiceError as e:
            return fail(f"{e.message}; nothing converted")
    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), transient=True) as progress:
        task = progress.add_task("Checking" if args.dry_run else "Converting", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if args.dry_run:
                result = conversion.check(args.dir, renumber=args.renumber, progress=tick)
            else:
                result = conversion.load(op, args.dir, renumber=args.renumber, progress=tick)
        except conversion.ConversionFailed as e:
            result = e.result
        except ServiceError as e:
            return fail(e.message)
        except Exception as exc:  # noqa: BLE001 - the database refused: the transaction rolled back
            from kec_tui import db
            return fail(f"the conversion stopped, nothing was written: {db.first_line(exc)}")
    for w in result.warnings:
        print(f"warning: {w}")
    if not result.ok:
        for problem in result.problems:
            print(problem)
        if result.more_problems:
            print(f"... and {result.more_problems:,} more")
        n = len(result.problems) + result.more_problems
        print(f"{n:,} problem(s); nothing was written. Correct the files and run again.")
        return 1
    if args.dry_run:
        print(f"No problems in {args.dir} ({result.seconds:.1f} s): would convert {result.summary()}. "
              "Nothing was written.")
        return 0
    if result.renumbered:
        conversion.write_renumbered(result, mapping)
        print(f"Former and new account numbers: {mapping}")
    print(f"Converted {args.dir} in {result.seconds:.1f} s: {result.summary()}; search index built.")
    return 0


def cmd_export(settings, args) -> int:
    import datetime as dt

    from kec_tui.services import export, operators
    from kec_tui.services.errors import ServiceError

    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        return fail(f"--as-of {args.as_of!r} is not a date (YYYY-MM-DD)")
    try:
        op = operators.resolve(settings.operator or None)
        result = export.export_all(op, args.dir, as_of, progress=lambda name, n: print(f"  {name:<28} {n:>10,}"))
    except ServiceError as e:
        return fail(e.message)
    print(f"Exported {len(result.files)} files to {result.directory} in {result.seconds:.1f} s "
          f"(balances as of {result.as_of}; bank numbers {'masked' if result.masked else 'in full'}).")
    return 0


def cmd_operator(settings, args) -> int:
    from kec_tui import db
    from kec_tui.services import operators
    from kec_tui.services.errors import ServiceError

    if args.op_command == "passwd":
        return cmd_passwd(args.username, temporary=not args.keep)
    if args.op_command == "unlock":
        return cmd_unlock(settings, args.username)
    if args.op_command == "list":
        for o in db.Operator.select().order_by(db.Operator.username):
            print(f"{o.username:<12} {o.role:<12} {o.name:<28} {o.os_user or ''}")
        return 0
    try:
        o = operators.create(args.username, args.name, args.role, args.os_user)
    except ServiceError as e:
        return fail(e.message)
    print(f"Operator {o.username} ({o.role}) ready")
    return 0


def cmd_migrate(args) -> int:
    from kec_tui import db

    print(f"Schema version {db.schema_version()}: up to date.")
    if args.grant_app:
        try:
            db.grant_application_role(args.grant_app)
        except db.DatabaseUnavailable as e:
            return fail(str(e))
        except Exception as exc:  # noqa: BLE001 - a missing role, no right to grant
            return fail(f"cannot grant to {args.grant_app}: {db.first_line(exc)}")
        print(f"Role {args.grant_app} may run kec-tui: no DDL; {', '.join(db.APPEND_ONLY)}: INSERT and SELECT only.")
    return 0


def cmd_verify(settings, args) -> int:
    """Never creates or changes a schema: a foreign or missing database is said so, untouched."""
    import time

    from kec_tui import db
    from kec_tui.config import default_data_dir, redact
    from kec_tui.services import seals

    url = settings.db_url
    if not url.startswith(("postgres://", "postgresql://")) and not Path(url.removeprefix("sqlite:///")).is_file():
        return fail(f"no database at {url}")
    try:
        db.connect(url, create=False)
        if db.schema_version() == 0 or not all(m.table_exists() for m in (db.LedgerEntry, db.AuditLog, db.Seal)):
            return fail(f"{redact(url)} is not a kec-tui database (or predates seals: run kec-tui on it once); "
                        "nothing checked")
    except Exception as exc:  # noqa: BLE001 - a file that is not a database at all
        return fail(f"cannot read {redact(url)}: {db.first_line(exc)}")
    key_path = args.key or seals.key_file(default_data_dir())
    started = time.perf_counter()
    try:
        key = seals.load_key(key_path, create=not args.no_seal and not args.key)
        sealed = None if args.no_seal else seals.seal(key)
        report = seals.verify(key)
    except seals.SealKeyError as e:
        return fail(str(e))
    took = time.perf_counter() - started
    if sealed is not None:
        print(f"Sealed {sealed.rows.get('ledger', 0):,} ledger and {sealed.rows.get('audit', 0):,} audit rows "
              f"in {sealed.seals} new seal(s).")
    print(f"Checked {report.seals} seal(s): {report.rows.get('ledger', 0):,} ledger rows, "
          f"{report.rows.get('audit', 0):,} audit rows in {took:.1f} s; not yet sealed (under "
          f"{int(seals.MARGIN.total_seconds() // 60)} minutes old): {report.unsealed.get('ledger', 0):,} ledger, "
          f"{report.unsealed.get('audit', 0):,} audit.")
    for kind, head in report.heads.items():
        if head:
            print(f"Head of the {kind} chain: {head}")
    if report.ok:
        print("OK: no row was changed, deleted or inserted behind a seal.")
        return 0
    print(f"TAMPERED: {len(report.problems)} problem(s), first first:")
    for problem in report.problems:
        print(f"  {problem}")
    return 1


def cmd_backup(settings, args) -> int:
    """`kec-tui backup FILE`: the copy, its checks, what was pruned; exit 2 with the reason if anything fails."""
    import os

    from kec_tui.config import default_data_dir
    from kec_tui.services import backup, seals

    try:
        os.nice(10)            # the sessions keying come first for the CPU (the copy and its checks wait)
    except OSError:
        pass
    try:
        source = backup.sqlite_path(settings.db_url)
        result = backup.backup(source, args.file, keep=args.keep,
                               key_path=args.key or seals.key_file(default_data_dir()))
    except backup.BackupError as e:
        return fail(f"backup: {e}; no backup made")
    print(f"Backed up {result.source} to {result.path}: {result.bytes / 1e6:,.1f} MB in {result.seconds:.1f} s "
          f"({result.steps} steps; {result.check.ledger_rows:,} ledger rows)")
    for line in result.check.lines():
        print(f"  {line}")
    for p in result.pruned:
        print(f"  Removed the older backup {p.name}")
    print("OK: the copy passed its checks.")
    return 0


def cmd_restore(settings, args) -> int:
    """`kec-tui restore FILE --to PATH`: checked first; never onto the live database or one in use."""
    from kec_tui.config import default_data_dir
    from kec_tui.services import backup, seals

    live = None
    if not settings.db_url.startswith(("postgres://", "postgresql://")):
        live = backup.sqlite_path(settings.db_url)
    try:
        result = backup.restore(args.file, args.to, live=live, force=args.force,
                                key_path=args.key or seals.key_file(default_data_dir()))
    except backup.BackupError as e:
        return fail(f"restore: {e}")
    print(f"Restored {result.source} to {result.path} ({result.bytes / 1e6:,.1f} MB"
          + (", replacing the file there" if result.replaced else "") + ")")
    for line in result.check.lines():
        print(f"  {line}")
    print(f"Open it with: kec-tui --db {shlex.quote(str(result.path))}")
    return 0


def cmd_journal(settings, args) -> int:
    """`kec-tui journal [DAY] [--close] [--write]`: the listing on stdout; refusals exit 2 with the reason."""
    from kec_tui.services import gl_journal, operators, reports
    from kec_tui.services.errors import ServiceError

    try:
        op = operators.resolve(settings.operator or None)
        day = gl_journal.parse_day(args.day) if args.day else gl_journal.next_open_day()
        chart = gl_journal.load_chart(args.chart) if args.chart else None
        if args.close:
            j = gl_journal.close_day(op, day, chart=chart)
        else:
            j = gl_journal.journal(op, day, chart=chart)
    except ServiceError as e:
        return fail(f"journal: {e.message}" + ("; nothing closed" if args.close else ""))
    print(gl_journal.journal_text(j), end="")
    if args.close or args.write:
        files = gl_journal.write_files(j, args.out or reports.reports_dir(settings))
        print(f"Written: {files.csv}\n         {files.fixed}\n         {files.detail}")
    if args.close:
        print(f"Closed {j.day:%m/%d/%Y}: entries posted for it from now on go to the next day's journal.")
    return 0 if j.tie.ok and j.balanced else 1


def cmd_unlock(settings, username: str) -> int:
    from kec_tui.services import operators, sign_in_guard
    from kec_tui.services.errors import ServiceError

    try:
        by = operators.resolve(settings.operator or None)
        op = sign_in_guard.unlock(by, username)
    except ServiceError as e:
        return fail(f"{e.message}; nothing changed")
    print(f"Operator {op.username} unlocked")
    return 0


def cmd_passwd(username: str, temporary: bool = True) -> int:
    """Set a password: asked twice on a terminal, else the first line of stdin. Never echoed or logged."""
    import getpass

    from kec_tui.services import operators, passwords
    from kec_tui.services.errors import ServiceError

    try:
        operators.by_username(username)
    except ServiceError as e:
        return fail(e.message)
    try:
        if sys.stdin.isatty():
            password = getpass.getpass(f"New password for {username}: ")
            if getpass.getpass("Again: ") != password:
                return fail("the two passwords differ; nothing changed")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    except (EOFError, KeyboardInterrupt):
        return fail("no password given; nothing changed")
    try:
        op = passwords.set_password(username, password, temporary=temporary)
    except ServiceError as e:
        return fail(e.message)
    print(f"Password set for {op.username}" + ("; they choose their own at the next sign-in" if temporary else ""))
    return 0


def cmd_remote(settings, args, command: str) -> int:
    import dataclasses

    if not settings.db_url.startswith(("postgres://", "postgresql://")):  # the sessions may start elsewhere
        path = Path(settings.db_url.removeprefix("sqlite:///")).expanduser().resolve()
        settings = dataclasses.replace(settings, db=str(path))
    if args.config is not None:
        args.config = args.config.expanduser().resolve()
    if command == "login":
        from kec_tui.remote.web import run_login

        return run_login(settings)
    if args.port < 0 or args.port > 65535:
        return fail("--port must be from 0 to 65535")
    if command == "serve-web":
        from kec_tui.remote.web import serve

        return serve(settings, host=args.host, port=args.port, public_url=args.public_url, config_path=args.config)
    from kec_tui.remote import ssh_server

    if args.fps < 1 or args.escdelay < 1 or args.grace < 0:
        return fail("--fps and --escdelay must be positive, --grace not negative")
    if args.host_key is not None and not args.host_key.is_file():
        return fail(f"no host key at {args.host_key} (leave --host-key out to make one in the data dir)")
    opts = ssh_server.Options(db_url=settings.db_url, host=args.host, port=args.port, host_key=args.host_key,
                              keys_dir=args.keys_dir, config_path=args.config, fps=args.fps,
                              escdelay_ms=args.escdelay, grace=args.grace)
    return ssh_server.serve(opts)


def cmd_train(settings, args) -> int:
    """The application on the practice database with the training guide; the live database is never opened."""
    import dataclasses

    from kec_tui import db
    from kec_tui.training import NotPractice, build_practice, open_practice, practice_path, trainee_operator
    from kec_tui.training.walkthroughs import CATALOG, by_name

    if args.list:
        for w in CATALOG:
            coming = w.coming()
            print(f"{w.name:<11} {w.title}" + (f"  ({coming})" if coming else ""))
        return 0
    if args.walkthrough and by_name(args.walkthrough) is None:
        return fail(f"no walkthrough named {args.walkthrough!r}; one of: {', '.join(w.name for w in CATALOG)}")
    if not 1 <= args.accounts <= 100_000 or not 0 <= args.months <= 60:
        return fail("--accounts must be from 1 to 100,000 and --months from 0 to 60")
    path = (args.practice_db or practice_path(settings)).expanduser().resolve()
    live = settings.db_url
    if not live.startswith(("postgres://", "postgresql://")) and \
            Path(live.removeprefix("sqlite:///")).expanduser().resolve() == path:
        return fail(f"{path} is the live database: training needs a practice file of its own (--practice-db)")
    if args.reset or not path.exists():
        print(f"Building the practice co-op at {path} ({args.accounts:,} accounts, {args.months} months) ...")
        try:
            summary = build_practice(path, accounts=args.accounts, months=args.months)
        except (ValueError, db.DatabaseUnavailable) as e:
            return fail(str(e))
        print(f"Practice co-op ready: {summary}")
    try:
        open_practice(path)
    except (NotPractice, db.DatabaseUnavailable) as e:
        return fail(str(e))
    op = trainee_operator(settings.operator or None, args.role)
    practice_dir = str(path.parent / "practice-reports")
    settings = dataclasses.replace(settings, db=str(path), reports_dir=practice_dir, tickets_dir=practice_dir)
    from kec_tui.app import KecApp
    from kec_tui.keymap import KeymapError

    try:
        app = KecApp(settings, op, training=args.walkthrough or True)
    except KeymapError as e:
        return fail(str(e))
    app.run()
    return app.return_code or 0


def cmd_review_arrangements(settings, args) -> int:
    """`kec-tui review-arrangements`: each active arrangement judged on the day; the broken and the completed
    listed (a cron job for the day's start)."""
    import datetime as dt

    from kec_tui.services import arrangements, operators
    from kec_tui.services.errors import ServiceError

    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    except ValueError:
        return fail(f"--date {args.date!r} is not a date (YYYY-MM-DD)")
    try:
        op = operators.resolve(settings.operator or None)
        r = arrangements.review(op, day)
    except ServiceError as e:
        return fail(e.message)
    print(f"Arrangements on {day:%m/%d/%Y}: {r.looked_at} active looked at, {len(r.broken)} broken, "
          f"{len(r.completed)} completed")
    for _id, number, missed in r.broken:
        print(f"  broken  {number}  {missed}")
    return 0


def cmd_report(settings, args) -> int:
    """`kec-tui report keystats`: a plain table on stdout; supervisors only (the service checks)."""
    from kec_tui.services import keystats, operators
    from kec_tui.services.errors import ServiceError

    if args.report_command == "usage":
        return cmd_report_usage(settings, args)
    try:
        op = operators.resolve(settings.operator or None)
        rows = keystats.report(op, args.days, operator=args.user)
    except ServiceError as e:
        return fail(e.message)
    print(keystats.table_text(rows, args.days))
    return 0



def cmd_report_usage(settings, args) -> int:
    """`kec-tui report usage`: the listing on stdout (billing clerks and supervisors); --write: CSV and PDF too."""
    from kec_tui.services import operators, reports, usage_report
    from kec_tui.services.errors import ServiceError

    try:
        op = operators.resolve(settings.operator or None)
        rep = usage_report.build(op, args.first, args.last, schedule=args.schedule, cycle=args.cycle,
                                 by_cycle=args.by_cycle)
        print(usage_report.report_text(rep), end="")
        if rep.empty:
            return 1
        if args.write:
            files = usage_report.write_exports(rep, reports.reports_dir(settings))
            print(f"Written: {files.csv}\n         {files.pdf}")
    except ServiceError as e:
        return fail(e.message)
    return 0

if __name__ == "__main__":
    sys.exit(main())
