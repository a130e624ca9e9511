"""Backup and restore of a SQLite database while MSRs keep keying.

`backup` copies the live file with SQLite's online backup API (`sqlite3.Connection.backup`)
into `FILE.part`, then checks the copy and only then names it FILE:

- The copy is one consistent snapshot: a read transaction is held on the source for the whole
  copy. In WAL mode (kec-tui always runs in WAL) a reader never blocks a writer, so a keyed
  line commits as always while the copy runs; without the held snapshot SQLite would restart
  the copy each time another connection writes (a copy of a busy database would never end).
- The copy goes in steps of `pages` pages with a short pause between them, so the disk and the
  CPU (two cores on a small office server) are shared with the sessions keying; each step is
  synced as it is made, so no sync of the whole copy holds up the sessions' syncs at the end.
- Then `PRAGMA integrity_check` on the copy, and where a seal key exists the seals are checked
  (`kec-tui verify --no-seal` on the copy: every sealed ledger and audit row as it was sealed).

`restore` checks the file the same way first, then copies it to a path that is not the live
database and is not in use: an existing file there is tried with an exclusive lock (an open
kec-tui session, even an idle one, holds the database open and the lock is refused).

PostgreSQL is backed up with pg_dump / pg_restore (README); these functions are for SQLite.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PAGES_PER_STEP = 1024           # 4 MiB of 4 KiB pages per step
PAUSE_SECONDS = 0.005           # between steps: the keying sessions get the disk
SQLITE_HEADER = b"SQLite format 3\x00"
BACKUP_NAME = re.compile(r"^kec-tui-(\d{8}-\d{6})\.db$")


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message is for the user, one line."""


@dataclass
class CopyCheck:
    integrity: str = ""                         # "ok", or the first problems integrity_check found
    seals_checked: int | None = None            # None: no seal key, the seals were not checked
    sealed_rows: int = 0
    unsealed_rows: int = 0
    seal_problems: list[str] = field(default_factory=list)
    seal_note: str = ""                         # why the seals were not checked
    ledger_rows: int = 0
    schema_version: int = 0

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.seal_problems

    def lines(self) -> list[str]:
        out = [f"Integrity check: {self.integrity}"]
        if self.seals_checked is None:
            out.append(f"Seals: not checked ({self.seal_note or 'the copy failed its integrity check'})")
        elif self.seal_problems:
            out.append(f"Seals: TAMPERED: {len(self.seal_problems)} problem(s): {self.seal_problems[0]}")
        else:
            out.append(f"Seals: {self.seals_checked} checked: {self.sealed_rows:,} rows as they were sealed "
                       f"({self.unsealed_rows:,} newer rows not yet sealed)")
        return out


@dataclass
class BackupResult:
    source: Path
    path: Path
    bytes: int
    seconds: float
    steps: int
    check: CopyCheck
    pruned: list[Path] = field(default_factory=list)


def sqlite_path(url: str) -> Path:
    """The file of a SQLite database URL or path; BackupError for PostgreSQL."""
    if url.startswith(("postgres://", "postgresql://")):
        raise BackupError("this database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
                          "(README, Backups)")
    return Path(url.removeprefix("sqlite:///")).expanduser().resolve()


def is_sqlite_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_HEADER
    except OSError:
        return False


def backup(source: Path | str, target: Path | str, *, pages: int = PAGES_PER_STEP, pause: float = PAUSE_SECONDS,
           keep: int | None = None, key_path: Path | None = None,
           step: Callable[[int, int], None] | None = None, now: dt.datetime | None = None) -> BackupResult:
    """Copy the live database `source` to `target` (a file that must not exist yet, or a
    directory: then kec-tui-YYYYMMDD-HHMMSS.db in it), check the copy, and with `keep` (a
    directory target) remove the oldest kec-tui-*.db there beyond `keep`. `step(remaining,
    total)` is called after each step (a progress bar; tests pause there)."""
    source = Path(source).expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if not is_sqlite_file(source):
        raise BackupError(f"{source} is not a SQLite database")
    target = Path(target).expanduser()
    directory = target.is_dir()
    if directory:
        target = target / f"kec-tui-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}.db"
    elif keep is not None:
        raise BackupError("--keep needs a directory to keep the backups in (FILE is a directory)")
    target = target.resolve()
    if keep is not None and keep < 1:
        raise BackupError("--keep must be 1 or more")
    if target == source:
        raise BackupError(f"{target} is the database itself: back it up to another file")
    if target.exists():
        raise BackupError(f"{target} exists: give a new file name (or a directory)")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent}")
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    started = time.perf_counter()
    steps = 0
    src = sqlite3.connect(source, timeout=10, isolation_level=None)
    try:
        wal = src.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        if wal:
            # One snapshot for the whole copy: writers go on (WAL), and the copy never restarts.
            src.execute("BEGIN")
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(part)
        sync_fd = os.open(part, os.O_RDONLY)
        try:
            dst.execute("PRAGMA synchronous=OFF")    # the copy is synced step by step, below

            def progress(_status: int, remaining: int, total: int) -> None:
                nonlocal steps
                steps += 1
                # Each step on disk as it is made: one sync of the whole copy at the end would make
                # the sessions' own syncs wait behind it (the file system's journal writes it first).
                os.fdatasync(sync_fd)
                if step:
                    step(remaining, total)
                if remaining and pause:
                    time.sleep(pause)

            src.backup(dst, pages=pages, progress=progress)
            # One self-contained file (no -wal beside it): the app turns WAL on again when it opens it.
            dst.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            os.close(sync_fd)
            dst.close()
        if wal:
            src.execute("COMMIT")
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"the copy failed: {exc}") from exc
    finally:
        src.close()
    _fsync(part)
    seconds = time.perf_counter() - started
    check = check_copy(part, key_path)
    if not check.ok:
        bad = target.with_name(target.name + ".bad")
        part.replace(bad)
        raise BackupError(f"the copy failed its checks (kept as {bad}): " + "; ".join(check.lines()))
    part.replace(target)
    _fsync_dir(target.parent)
    pruned = prune(target.parent, keep) if keep else []
    return BackupResult(source, target, target.stat().st_size, seconds, steps, check, pruned)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove the oldest kec-tui-YYYYMMDD-HHMMSS.db in `directory` beyond the newest `keep`."""
    found = sorted((p for p in Path(directory).iterdir() if BACKUP_NAME.match(p.name)), key=lambda p: p.name)
    old = found[:-keep] if keep else []
    for p in old:
        p.unlink()
    return old


def check_copy(path: Path | str, key_path: Path | None = None) -> CopyCheck:
    """integrity_check, and the seals where a key exists, on a copy (never changed: read-only)."""
    path = Path(path)
    result = CopyCheck()
    if not is_sqlite_file(path):
        result.integrity = "not a SQLite database"
        return result
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        result.integrity = "ok" if rows == ["ok"] else "; ".join(rows[:5])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "kec_meta" not in tables or "ledger_entry" not in tables:
            result.integrity = "not a kec-tui database" if result.integrity == "ok" else result.integrity
            return result
        version = conn.execute("SELECT value FROM kec_meta WHERE key = 'schema_version'").fetchone()
        result.schema_version = int(version[0]) if version else 0
        result.ledger_rows = conn.execute("SELECT COUNT(*) FROM ledger_entry").fetchone()[0]
    except sqlite3.Error as exc:
        result.integrity = f"cannot be read: {exc}"
        return result
    finally:
        conn.close()
    if result.integrity != "ok":
        return result
    if key_path is None or not Path(key_path).exists():
        result.seal_note = f"no seal key at {key_path}" if key_path else "no seal key"
        return result
    _check_seals(path, Path(key_path), result)
    return result


def _check_seals(path: Path, key_path: Path, result: CopyCheck) -> None:
    """`kec-tui verify --no-seal` on the copy, in a process of its own: the copy is opened
    read-only there and this process's database connection is left alone."""
    import subprocess
    import sys

    code = ("import sys, json; from kec_tui import db; from kec_tui.services import seals\n"
            "import peewee as pw\n"
            "d = pw.SqliteDatabase('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
            "d.connect(); db.database.initialize(d)\n"
            "r = seals.verify(seals.load_key(sys.argv[2]))\n"
            "print(json.dumps({'seals': r.seals, 'rows': sum(r.rows.values()), "
            "'unsealed': sum(r.unsealed.values()), 'problems': [str(p) for p in r.problems]}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(path), str(key_path)], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        result.seal_problems = [f"the seals could not be checked: {last}"]
        result.seals_checked = 0
        return
    import json

    r = json.loads(done.stdout.strip().splitlines()[-1])
    result.seals_checked, result.sealed_rows, result.unsealed_rows = r["seals"], r["rows"], r["unsealed"]
    result.seal_problems = r["problems"]


def in_use(path: Path) -> bool:
    """True when another connection has the database open (even idle, in WAL mode) or locked:
    an exclusive lock is tried without waiting."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@dataclass
class RestoreResult:
    source: Path
    path: Path
    bytes: int
    check: CopyCheck
    replaced: bool


def restore(source: Path | str, target: Path | str, *, live: Path | None = None, force: bool = False,
            key_path: Path | None = None) -> RestoreResult:
    """Check the backup `source`, then copy it to `target`: never the live database, never a
    database in use; an existing file only with `force`."""
    source = Path(source).expanduser().resolve()
    target = Path(target).expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: --to names the database file to make")
    if live is not None and target == Path(live).expanduser().resolve():
        raise BackupError(f"{target} is the live database (--db / settings): restore to a new path, then stop "
                          "kec-tui and put it in place; nothing was changed")
    if target == source:
        raise BackupError("the backup and --to are the same file")
    check = check_copy(source, key_path)
    if not check.ok:
        raise BackupError(f"{source} failed its checks, nothing restored: " + "; ".join(check.lines()))
    replaced = target.exists()
    if replaced:
        if is_sqlite_file(target) and in_use(target):
            raise BackupError(f"{target} is in use (a kec-tui session or another program has it open): "
                              "nothing was changed")
        if not force:
            raise BackupError(f"{target} exists: add --force to replace it (it is not in use)")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent}")
    part = target.with_name(target.name + ".part")
    _copy_synced(source, part)
    for suffix in ("-wal", "-shm"):                # an old WAL must not be applied to the restored file
        Path(str(target) + suffix).unlink(missing_ok=True)
    part.replace(target)
    _fsync_dir(target.parent)
    return RestoreResult(source, target, target.stat().st_size, check, replaced)


def _copy_synced(source: Path, target: Path, chunk: int = PAGES_PER_STEP * 4096) -> None:
    """Copy a file, each chunk synced as it is written (as the backup's steps: module doc)."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        while block := src.read(chunk):
            dst.write(block)
            dst.flush()
            os.fdatasync(dst.fileno())
        os.fsync(dst.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
