"""Tamper evidence for the ledger and the audit log: rows sealed in ranges, the seals chained.

Keying never waits on this: rows are written as always, and `seal` later covers the rows
written since the last seal (older than `margin`, so a transaction still open cannot commit a
row behind a seal). A seal keeps every row's id and the first 8 bytes of the SHA-256 of its
content, the digest of the seal before it, and an HMAC-SHA-256 over all of that with a key that
is kept in a file outside the database (`key_file`): whoever can write the database can change
rows and seals, but cannot make seals that verify.

`verify` walks every seal in order and reports the first problems it finds, by row:
  changed   the row's content no longer hashes to its link
  deleted   a sealed row id is gone
  inserted  a row inside a sealed range that no seal lists (written behind the seal)
  seal      a seal whose HMAC fails, or whose chain (previous digest, ranges) is broken
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from peewee import IntegrityError, fn

from kec_tui import db

KEY_FILE = "seal.key"
LINK = struct.Struct(">q8s")          # row id, first 8 bytes of the row's SHA-256
SEAL_ROWS = 50_000                    # rows per seal at most
MARGIN = dt.timedelta(minutes=10)     # rows younger than this wait for the next seal


def _kinds() -> dict[str, tuple[type[db.BaseModel], object]]:
    return {"ledger": (db.LedgerEntry, db.LedgerEntry.posted_at), "audit": (db.AuditLog, db.AuditLog.at)}


KINDS = ("ledger", "audit")


class SealKeyError(RuntimeError):
    pass


def key_file(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def load_key(path: Path, *, create: bool = False) -> bytes:
    """The HMAC key (64 hex digits in a file only its owner may read); made on first use if `create`."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise SealKeyError(f"no seal key at {path}: the seals cannot be checked without it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SealKeyError(f"{path} is not a seal key (64 hex digits)")
    return key


def _row_hash(values: tuple) -> bytes:
    text = "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.sha256(text.encode("utf-8")).digest()[:8]


def _digest(key: bytes, kind: str, prev: str, first_id: int, last_id: int, links: bytes) -> str:
    head = f"{kind}|{prev}|{first_id}|{last_id}|".encode()
    return hmac.new(key, head + links, hashlib.sha256).hexdigest()


def _rows(model, first_id: int, last_id: int):
    """The rows as the database returns them (no conversion to Python types: a third of the
    time), in id order. SQLite's text and PostgreSQL's values print the same way for these
    columns (integers, text, dates and times), and a database is only ever checked against itself."""
    cols = ", ".join(f'"{f.column_name}"' for f in model._meta.sorted_fields)
    p = db.database.param
    cursor = db.database.execute_sql(
        f'SELECT {cols} FROM "{model._meta.table_name}" WHERE id >= {p} AND id <= {p} ORDER BY id',
        (first_id, last_id))
    while batch := cursor.fetchmany(5000):
        yield from batch


@dataclass
class SealResult:
    seals: int = 0
    rows: dict[str, int] = field(default_factory=dict)


@db.connected
def seal(key: bytes, *, margin: dt.timedelta = MARGIN, now: dt.datetime | None = None,
         progress: Callable[[str, int], None] | None = None) -> SealResult:
    """Seal the rows written since the last seal and older than `margin`."""
    result = SealResult()
    cutoff = (now or db.now()) - margin
    for kind, (model, stamp) in _kinds().items():
        result.rows[kind] = 0
        while True:
            # One sealer at a time: SQLite's write lock; on PostgreSQL the unique (kind, first_id)
            # refuses a second seal of the same range, and that sealer stops.
            with db.write_txn():
                last = db.Seal.select().where(db.Seal.kind == kind).order_by(db.Seal.first_id.desc()).first()
                start = (last.last_id + 1) if last else 1
                ids = (model.select(model.id).where(model.id >= start, stamp <= cutoff)
                       .order_by(model.id).limit(SEAL_ROWS).tuples())
                ids = [r[0] for r in ids]
                if not ids:
                    break
                end = ids[-1]
                links = b"".join(LINK.pack(values[0], _row_hash(values)) for values in _rows(model, start, end))
                prev = last.digest if last else ""
                count = len(links) // LINK.size
                try:
                    with db.database.atomic():
                        db.Seal.create(kind=kind, first_id=start, last_id=end, rows=count, links=links, prev=prev,
                                       digest=_digest(key, kind, prev, start, end, links))
                except IntegrityError:
                    break                 # another sealer sealed this range meanwhile
            result.seals += 1
            result.rows[kind] += count
            if progress:
                progress(kind, result.rows[kind])
    return result


@dataclass(frozen=True)
class Problem:
    kind: str
    row_id: int | None
    what: str          # changed | deleted | inserted | seal
    detail: str

    def __str__(self) -> str:
        row = f" row {self.row_id}" if self.row_id is not None else ""
        return f"{self.kind}{row}: {self.what}: {self.detail}"


@dataclass
class Report:
    seals: int = 0
    rows: dict[str, int] = field(default_factory=dict)       # sealed rows checked
    unsealed: dict[str, int] = field(default_factory=dict)   # rows after the last seal
    problems: list[Problem] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)      # the last seal's digest, per kind

    @property
    def ok(self) -> bool:
        return not self.problems


@db.connected
def verify(key: bytes, *, limit: int = 20, progress: Callable[[str, int], None] | None = None) -> Report:
    """Check every seal and the rows it covers; up to `limit` problems per kind, first first."""
    report = Report()
    for kind, (model, _stamp) in _kinds().items():
        problems: list[Problem] = []
        checked, prev, expected_first = 0, "", 1
        for s in db.Seal.select().where(db.Seal.kind == kind).order_by(db.Seal.first_id).iterator():
            report.seals += 1
            links = bytes(s.links)
            if s.prev != prev or s.first_id != expected_first:
                problems.append(Problem(kind, s.first_id, "seal",
                                        f"the chain breaks at the seal of rows {s.first_id}-{s.last_id} "
                                        "(a seal before it was removed or replaced)"))
            if not hmac.compare_digest(s.digest, _digest(key, kind, s.prev, s.first_id, s.last_id, links)):
                problems.append(Problem(kind, s.first_id, "seal",
                                        f"the seal of rows {s.first_id}-{s.last_id} was altered or made without "
                                        "the key"))
            sealed = dict(LINK.iter_unpack(links)) if len(links) % LINK.size == 0 else {}
            seen = set()
            for values in _rows(model, s.first_id, s.last_id):
                row_id = values[0]
                seen.add(row_id)
                want = sealed.get(row_id)
                if want is None:
                    problems.append(Problem(kind, row_id, "inserted", "not in the seal of its range"))
                elif want != _row_hash(values):
                    problems.append(Problem(kind, row_id, "changed", "its content differs from when it was sealed"))
            for row_id in sealed.keys() - seen:
                problems.append(Problem(kind, row_id, "deleted", "sealed, and now missing"))
            checked += len(seen)
            prev, expected_first = s.digest, s.last_id + 1
            if progress:
                progress(kind, checked)
        report.rows[kind] = checked
        report.heads[kind] = prev
        report.unsealed[kind] = model.select(fn.COUNT(model.id)).where(model.id >= expected_first).scalar() or 0
        problems.sort(key=lambda p: (p.row_id is None, p.row_id or 0))
        report.problems += problems[:limit]
    return report
