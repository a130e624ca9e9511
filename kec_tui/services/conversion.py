"""Conversion: a co-op's members, locations, meters, accounts, balances and history from the
system it runs today, as CSV files in one directory (the layouts below; `kec-tui export`
writes the same layouts, so an export converts back as it is).

`check(dir)` (`kec-tui convert DIR --dry-run`) reads every file whole and returns every
problem by file, line and column, writing nothing. `load(op, dir)` reads and writes in one
transaction: any problem and nothing is kept. Rows are matched by their legacy keys
(LegacyKey): a run repeated after a correction updates what changed (audited, field by
field), adds what is new and posts the difference of an opening balance as a new ledger
entry (the ledger stays append-only). Readings and bills are matched by account, meter
and date; notes by account, time and text.

Opening balances: one ledger entry per aging bucket (kind "transfer", reference
"CONV <bucket>"), effective on the balance's as-of day and due so that the account ages
as it did there: current on `current_due` (default: the as-of day), 1-30 on the day before,
31-60 31 days before, 61-90 61 days before, over 90 91 days before (each bucket's youngest
day). Bills are history (Bill rows without a ledger entry): the balance is the opening one.

Speed: rows are written with executemany / execute_values in chunks, ids given here; on
SQLite into empty tables the secondary indexes are made once at the end and, into a database
without accounts (a first conversion), the load runs with synchronous=OFF and a rollback journal
(restored after), as the demo builder does; a database with accounts stays durable. On
PostgreSQL other sessions' inserts wait for the load and the id sequences move past its rows.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from kec_tui import db
from kec_tui.checkdigit import make_account_number, valid_account_number
from kec_tui.money import MoneyError, parse as parse_money
from kec_tui.services import audit, search_index
from kec_tui.services.conversion_layouts import FILES, LAYOUT_HELP, LAYOUTS  # noqa: F401 - the layouts
from kec_tui.services.errors import ValidationError
from kec_tui.services.operators import OperatorInfo, require

FLAGS = ("cash_only", "medical", "landlord", "bankruptcy", "collections", "budget_billing", "winter_protection")
DATED_FLAGS = {"cash_only": "cash_only_until", "medical": "medical_cert_until",
               "winter_protection": "winter_protection_until"}
BOOL_FLAGS = ("landlord", "bankruptcy", "collections", "budget_billing")
BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
BUCKET_AGE = {"days_1_30": 1, "days_31_60": 31, "days_61_90": 61, "over_90": 91}
OPEN_STATUSES = ("pending", "active", "disconnected")
READING_SOURCES = ("keyed", "ami", "estimated")
CONTACTS = ("phone", "email", "text", "mail")
MAX_PROBLEMS = 10_000
_SSN = re.compile(r"\b\d{3}-\d{2}-(\d{4})\b")
CHUNK = 5000


@dataclass(frozen=True)
class Problem:
    file: str
    line: int          # 0: the file as a whole
    column: str        # "" : the line as a whole
    message: str

    def __str__(self) -> str:
        where = self.file + (f" line {self.line}" if self.line else "")
        where += f", column {self.column}" if self.column else ""
        return f"{where}: {self.message}"


@dataclass
class Result:
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0                                  # beyond MAX_PROBLEMS, not kept
    added: dict[str, int] = field(default_factory=dict)     # rows new in this run, by kind
    updated: dict[str, int] = field(default_factory=dict)   # rows changed
    warnings: list[str] = field(default_factory=list)
    renumbered: list[tuple[str, int]] = field(default_factory=list)   # (legacy, new account number)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds = sorted(set(self.added) | set(self.updated))
        parts = [f"{k} {self.added.get(k, 0):,} new" + (f", {self.updated[k]:,} changed" if self.updated.get(k)
                                                         else "") for k in kinds]
        return "; ".join(parts) or "nothing"


class ConversionFailed(ValidationError):
    """A load refused for problems: nothing was written. `.result` holds them all."""

    def __init__(self, result: Result):
        n = len(result.problems) + result.more_problems
        super().__init__(f"{n:,} problem(s) in the files: nothing was converted", "files")
        self.result = result


class _Stop(Exception):
    pass


BAD = -1        # a record refused for its key
KEEP = object()  # a value the file does not give (masked, or the last 4 only): an update leaves it as it is


# ---- parsing helpers ----------------------------------------------------------------------------

class _Bad(ValueError):
    pass


def _date(text: str) -> str:
    """ISO text of a date written YYYY-MM-DD or MM/DD/YYYY, of the years 1900 to 2100."""
    try:
        if len(text) == 10 and text[4] == "-":
            day = dt.date.fromisoformat(text)
        else:
            m, d, y = text.split("/")
            if len(y) != 4:
                raise ValueError
            day = dt.date(int(y), int(m), int(d))
    except ValueError:
        raise _Bad(f"not a date: {text[:30]!r} (YYYY-MM-DD or MM/DD/YYYY)") from None
    if not 1900 <= day.year <= 2100:
        raise _Bad(f"not a date of this co-op: {text[:30]!r} (the years 1900 to 2100)")
    return day.isoformat()


def _datetime(text: str) -> str:
    if len(text) <= 10:
        return _date(text) + " 00:00:00"
    try:
        return dt.datetime.fromisoformat(text.replace("T", " ")).replace(microsecond=0).isoformat(" ")
    except ValueError:
        raise _Bad(f"not a date and time: {text[:30]!r} (YYYY-MM-DD HH:MM:SS)") from None


MAX_CENTS = 10**13     # $100 billion: more is a mis-key, and beyond what a database integer holds


def _cents(text: str) -> int:
    try:
        if not text.isascii():
            raise MoneyError(text)
        cents = parse_money(text)
    except MoneyError:
        raise _Bad(f"not an amount: {text[:30]!r} (dollars: 123.45)") from None
    if abs(cents) >= MAX_CENTS:
        raise _Bad(f"not an amount: {text[:30]!r} (more than $100 billion)")
    return cents


def _int(text: str, what: str = "a whole number") -> int:
    try:
        return int(text.replace(",", ""))
    except ValueError:
        raise _Bad(f"not {what}: {text[:30]!r}") from None


_DIGITS = re.compile(r"\D")


def _digits(text: str) -> str:
    return _DIGITS.sub("", text)


# ---- reading a file -------------------------------------------------------------------------------

class _File:
    """One CSV file: its rows as lists of the layout's columns in order (missing optional ones ""),
    with the line each came from. Problems of form go to the converter."""

    def __init__(self, conv: _Converter, name: str):
        self.conv, self.name = conv, name
        self.path = conv.directory / name
        required, optional = LAYOUTS[name]
        self.columns = required + optional
        self.required = required

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        conv = self.conv
        try:
            f = self.path.open(encoding="utf-8-sig", errors=_NOT_UTF8, newline="")
        except OSError as exc:
            self._unread(0, "", f"cannot be read: {exc.strerror or exc}")
            return
        _not_utf8.seen = False
        with f:
            conv.reading = f.buffer              # its position is the progress within the file
            reader = csv.reader(f)
            try:
                header = next(reader, None)
                if header is None:
                    self._unread(1, "", "is empty: a header row is needed")
                    return
                have = {h.strip().lower(): i for i, h in enumerate(header)}
                missing = [c for c in self.required if c not in have]
                for c in missing:
                    self._unread(1, c, f"missing column {c!r} (the header has: {', '.join(header)[:200]})")
                if missing:
                    return
                width = len(header)
                # Columns the file lacks read as the "" appended to each row.
                get = itemgetter(*[have.get(c, width) for c in self.columns])
                strip = str.strip
                if len(self.columns) == 1:
                    get = (lambda g: lambda r: (g(r),))(get)
                for row in reader:
                    if len(row) != width:
                        if not row or (len(row) == 1 and not row[0].strip()):
                            continue
                        conv.problem(self.name, reader.line_num, "",
                                     f"has {len(row)} fields, the header {width}")
                        continue
                    if _not_utf8.seen:           # the decoder met a byte that is not UTF-8: find its row
                        self._not_utf8(row, header, reader.line_num)
                    row.append("")
                    yield reader.line_num, list(map(strip, get(row)))
            except csv.Error as exc:
                self._unread(reader.line_num, "", f"is not valid CSV: {exc}")
            finally:
                conv.done_bytes += self.path.stat().st_size
                conv.reading = None

    def _unread(self, line: int, column: str, message: str) -> None:
        """A problem that stops the file being read through: references into it are only counted."""
        self.conv.problem(self.name, line, column, message)
        self.conv.unread.add(self.name)

    def _not_utf8(self, row: list[str], header: list[str], line: int) -> None:
        """Each field of the row holding bytes that are not UTF-8: a problem at its line and
        column; the field reads on with U+FFFD so the rest of the file is still checked."""
        for i, value in enumerate(row):
            if _SURROGATES.search(value):
                column = header[i].strip() if i < len(header) else f"field {i + 1}"
                self.conv.problem(self.name, line, column, "is not UTF-8 text (the former system wrote another "
                                  "encoding, e.g. Windows-1252): save it as UTF-8 and run again")
                row[i] = _SURROGATES.sub("\ufffd", value)


# Bytes that are not UTF-8 decode as lone surrogates (as surrogateescape does) and mark that the file
# has some: only then is each row searched for them, so a clean file costs nothing more.
_not_utf8 = threading.local()
_NOT_UTF8 = "kec-convert-not-utf8"
_SURROGATES = re.compile("[\udc80-\udcff]")


def _mark_not_utf8(exc: UnicodeDecodeError) -> tuple[str, int]:
    _not_utf8.seen = True
    return codecs.lookup_error("surrogateescape")(exc)


codecs.register_error(_NOT_UTF8, _mark_not_utf8)


# ---- writing in bulk --------------------------------------------------------------------------------

class _Bulk:
    """Rows of one table, written CHUNK at a time (nothing in a dry run)."""

    def __init__(self, conv: _Converter, model, names: list[str]):
        self.conv, self.model = conv, model
        self.rows: list[tuple] = []
        self.defaults: tuple = ()
        extra = []
        for f in model._meta.sorted_fields:      # the other columns: their defaults (NULL where allowed)
            if f.name in names or f.primary_key:
                continue
            if f.default is None:
                if not f.null:
                    raise RuntimeError(f"conversion: {model._meta.table_name}.{f.column_name} needs a value")
                continue
            extra.append(f.name)
            value = f.db_value(f.default() if callable(f.default) else f.default)
            if not conv.postgres and isinstance(value, (dt.datetime, dt.date)):
                # As sqlite3's adapter writes it: once here, not once a row (seconds at a million rows).
                value = value.isoformat(" ") if isinstance(value, dt.datetime) else value.isoformat()
            self.defaults += (value,)
        self.columns = [model._meta.fields[n].column_name for n in names + extra]
        cols = ", ".join(f'"{c}"' for c in self.columns)
        t = model._meta.table_name
        self.sql = (f'INSERT INTO "{t}" ({cols}) VALUES %s' if conv.postgres
                    else f'INSERT INTO "{t}" ({cols}) VALUES ({", ".join("?" * len(self.columns))})')

    def add(self, row: tuple) -> None:
        rows = self.rows
        rows.append(row)
        if len(rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows or not self.conv.writing:
            self.rows = []
            return
        rows = self.rows
        if self.defaults:
            d = self.defaults
            rows = [r + d for r in rows]
        cursor = db.database.cursor()
        if self.conv.postgres:
            from psycopg2.extras import execute_values
            execute_values(cursor, self.sql, rows, page_size=CHUNK)
        else:
            cursor.executemany(self.sql, rows)
        self.rows = []


# ---- the converter ------------------------------------------------------------------------------------

MEMBER_FIELDS = ["first_name", "last_name", "tax_id_last4", "tax_id_hash", "birth_date", "phone_home",
                 "phone_mobile", "phone_work", "email", "mail_street", "mail_city", "mail_state", "mail_zip",
                 "preferred_contact", "joined", "bank_routing", "bank_account"]
LOCATION_FIELDS = ["street", "city", "state", "zip", "map_location", "owner_name", "owner_phone"]
METER_FIELDS = ["location", "multiplier", "installed"]
ACCOUNT_FIELDS = ["member", "location", "meter", "rate_class", "status", "bill_cycle", "opened", "closed",
                  "cash_only_until", "medical_cert_until", "landlord", "bankruptcy", "collections",
                  "budget_billing", "winter_protection_until", "winter_household", "deposit_cents"]
SENSITIVE = {"bank_account", "bank_routing", "tax_id_hash"}


class _Converter:
    def __init__(self, directory: Path, *, dry_run: bool, renumber: bool, op: OperatorInfo | None,
                 progress: Callable[[int, int], None] | None):
        self.directory = directory
        self.result = Result(dry_run=dry_run)
        self.dry_run, self.renumber, self.op = dry_run, renumber, op
        self.progress = progress
        self.postgres = db.is_postgres()
        self.writing = not dry_run
        self.done_bytes = 0             # the files read whole
        self.reading = None             # the binary file being read
        self.present = [n for n in FILES if (directory / n).is_file()]
        self.total_bytes = sum((directory / n).stat().st_size for n in self.present) or 1
        self.keys: dict[str, dict[str, int]] = {}       # kind -> legacy -> id (database and this run)
        self.new_keys: list[tuple[str, str, int]] = []
        self.seen: dict[str, dict[str, int]] = {}       # kind -> legacy keys read in this run -> line
        self.unread: set[str] = set()                   # files not read through (a problem says why)
        self.unchecked: dict[tuple[str, str, str], int] = {}   # (file, column, kind) -> references left
        self.today = dt.date.today()
        self.dates = _Dates()

    # -- problems ------------------------------------------------------------------------------
    def problem(self, file: str, line: int, column: str, message: str) -> None:
        message = _SSN.sub(lambda m: "***-**-" + m.group(1), message)   # a tax ID in the wrong column
        r = self.result
        if len(r.problems) < MAX_PROBLEMS:
            r.problems.append(Problem(file, line, column, message))
        else:
            r.more_problems += 1
        if self.writing:
            self.writing = False        # keep reading to report everything; nothing more is written

    def count(self, kind: str, added: int = 0, updated: int = 0) -> None:
        if added:
            self.result.added[kind] = self.result.added.get(kind, 0) + added
        if updated:
            self.result.updated[kind] = self.result.updated.get(kind, 0) + updated

    def tick(self) -> None:
        if self.progress:
            done = self.done_bytes + (self.reading.tell() if self.reading is not None else 0)
            self.progress(min(done, self.total_bytes), self.total_bytes)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        if not self.directory.is_dir():
            self.problem(str(self.directory), 0, "", "is not a directory")
            return
        if not self.present:
            self.problem(str(self.directory), 0, "", f"holds none of the files ({', '.join(FILES)})")
            return
        self._load_keys()
        self._next_ids()
        self.known_classes = _known_classes()
        self.known_schedules = _known_schedules() | self.known_classes
        self.operators = {u: i for i, u in db.Operator.select(db.Operator.id, db.Operator.username).tuples()}
        self._members()
        self._locations()
        self._meters()
        flags = self._flags()
        deposits = self._deposits()
        self._accounts(flags, deposits)
        self._balances()
        self._readings()
        self._bills()
        self._notes()
        self._report_unchecked()
        if self.writing:
            self._finish()

    def _load_keys(self) -> None:
        LK = db.LegacyKey
        for kind in ("member", "location", "meter", "account"):
            self.keys[kind] = {}
        for kind, legacy, eid in LK.select(LK.kind, LK.legacy, LK.entity_id).tuples():
            self.keys.setdefault(kind, {})[legacy] = eid
        self.existing = {k: dict(v) for k, v in self.keys.items()}     # before this run
        self.fresh = not any(self.existing.values())

    def _next_ids(self) -> None:
        self.next_id = {}
        for model in (db.Member, db.ServiceLocation, db.Meter, db.Account, db.LedgerEntry, db.Reading, db.Bill,
                      db.Note, db.LocationGrid):
            self.next_id[model] = int(model.select(db.pw.fn.MAX(model.id)).scalar() or 0) + 1

    def _id(self, model) -> int:
        i = self.next_id[model]
        self.next_id[model] = i + 1
        return i

    def _key(self, kind: str, legacy: str, name: str, line: int, seen: dict[str, int]) -> int | None:
        """The id for a record's legacy key: its row from an earlier run, or None for a new one;
        BAD (and a problem) for an empty key or one seen before in this file."""
        column = LAYOUTS[name][0][0]
        if not legacy:
            self.problem(name, line, column, "is empty: every record needs its key")
            return BAD
        if len(legacy) > 40:
            self.problem(name, line, column, f"key longer than 40 characters: {legacy[:40]}...")
            return BAD
        first = seen.get(legacy)
        if first is not None:
            self.problem(name, line, column, f"duplicated key {legacy!r} (first on line {first})")
            return BAD
        seen[legacy] = line
        self.seen[kind] = seen
        return self.keys[kind].get(legacy)

    def _ref(self, kind: str, legacy: str, name: str, line: int, column: str, required: bool = True) -> int | None:
        if not legacy:
            if required:
                self.problem(name, line, column, "is empty")
            return None
        eid = self.keys[kind].get(legacy)
        if eid is None and legacy in self.seen.get(kind, ()):
            return None                 # a record refused for its own problem, reported there
        if eid is None:
            self._missing(kind, legacy, name, line, column)
        return eid

    def _missing(self, kind: str, legacy: str, name: str, line: int, column: str) -> None:
        """A reference to a record neither in its file nor converted before; when that file could not
        be read, one problem counts them all (each would only repeat the file's own)."""
        if f"{kind}s.csv" in self.unread:
            where = (name, column, kind)
            self.unchecked[where] = self.unchecked.get(where, 0) + 1
        else:
            self.problem(name, line, column, f"no {kind} {legacy!r} (not in {kind}s.csv nor converted before)")

    def _report_unchecked(self) -> None:
        for (name, column, kind), n in self.unchecked.items():
            self.problem(name, 0, column, f"{n:,} {kind} reference(s) not checked: {kind}s.csv could not be "
                         "read (its problem is above)")

    # -- members ---------------------------------------------------------------------------------
    def _members(self) -> None:
        name = "members.csv"
        if name not in self.present:
            return
        from kec_tui.services import memberships
        # The salt of the tax-ID match key (made now if this database has none).
        salt = memberships._salt(self.writing) or ""
        bulk = _Bulk(self, db.Member, ["id", "member_no"] + MEMBER_FIELDS)
        seen: dict[str, int] = {}
        numbers = _in_use(db.Member.member_no)
        next_no = max(int(db.Member.select(db.pw.fn.MAX(db.Member.member_no)).scalar() or 0) + 1, 100001)
        updates = []
        masked = 0
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, last, first, tax, birth, ph, pm, pw_, email, street, city, state, zip_, pref, joined, routing, \
                bank = r
            eid = self._key("member", key, name, line, seen)
            if eid == BAD:
                continue
            try:
                last4, hash_ = "", None
                tax_d = _digits(tax)
                if tax and "*" in tax and len(tax_d) == 4:
                    last4, hash_ = tax_d, KEEP          # an export's masked form: the last 4 only
                elif tax_d:
                    if len(tax_d) not in (4, 9):
                        raise _Bad("tax_id", "9 digits, or the last 4")
                    last4 = tax_d[-4:]
                    hash_ = KEEP
                    if len(tax_d) == 9 and salt:
                        hash_ = memberships.hash_tax_id(salt, tax_d)
                for column, value, most in (("first_name", first, 40), ("last_name", last, 60), ("email", email, 120),
                                            ("mail_street", street, 80), ("mail_city", city, 40),
                                            ("mail_zip", zip_, 10)):
                    if len(value) > most:
                        raise _Bad(column, f"longer than {most} characters ({len(value)})")
                if state and not (len(state) == 2 and state.isascii() and state.isalpha()):
                    raise _Bad("mail_state", f"a state is its two letters (ID, WA, MT ...), not {state[:20]!r}")
                values = [first, last, last4 or None, hash_,
                          _col(name, "birth_date", _date, birth), _phone(ph, "phone_home"),
                          _phone(pm, "phone_mobile"), _phone(pw_, "phone_work"), email, street, city,
                          (state or "ID").upper(), zip_, pref.lower() or "phone",
                          _col(name, "joined", _date, joined) or self.today.isoformat(),
                          KEEP if "*" in routing else _digits(routing), ""]
                if "*" in bank:
                    masked += 1
                    values[-1] = KEEP
                elif bank:
                    if not bank.isdigit() or len(bank) > 17:
                        raise _Bad("bank_account", "digits only, at most 17")
                    values[-1] = bank
                if values[15] and values[15] is not KEEP and len(values[15]) != 9:
                    raise _Bad("bank_routing", "9 digits")
                if values[13] not in CONTACTS:
                    raise _Bad("preferred_contact", f"one of {', '.join(CONTACTS)}")
                if not last:
                    raise _Bad("last_name", "is empty")
            except _Bad as exc:
                self._bad(name, line, exc)
                continue
            except _ColBad as exc:
                self.problem(name, line, exc.column, exc.message)
                continue
            if eid is None:
                if self.renumber or not key.isdigit() or len(key) > 9:
                    if not self.renumber:
                        self.problem(name, line, "member", f"member key {key!r} is not a member number (digits): "
                                     "use --renumber to number members anew")
                        continue
                    while next_no in numbers:
                        next_no += 1
                    member_no = next_no
                    next_no += 1
                else:
                    member_no = int(key)
                if member_no in numbers:
                    self.problem(name, line, "member", f"member number {member_no} given twice, or already in use")
                    continue
                numbers.add(member_no)
                eid = self._id(db.Member)
                self.keys["member"][key] = eid
                self.new_keys.append(("member", key, eid))
                new = list(values)
                if new[3] is KEEP:
                    new[3] = None                       # no match key without the whole tax ID
                new[15:17] = ["" if v is KEEP else v for v in new[15:17]]
                bulk.add((eid, member_no, *new))
                self.count("members", added=1)
            else:
                updates.append((eid, values))
            if n % 2000 == 0:
                self.tick()
        bulk.flush()
        if masked:
            self.result.warnings.append(f"{name}: {masked:,} bank account number(s) were masked (exported without "
                                        "sensitive.view): left empty")
        self._update(db.Member, MEMBER_FIELDS, updates, "members")

    def _bad(self, name: str, line: int, exc: _Bad) -> None:
        if len(exc.args) == 2:
            self.problem(name, line, exc.args[0], exc.args[1])
        else:
            self.problem(name, line, "", exc.args[0])

    def _update(self, model, names: list[str], updates: list[tuple[int, list]], kind: str,
                account_of: Callable[[int], int | None] | None = None) -> None:
        """Rows converted before: write the fields that changed, each change audited."""
        if not updates:
            return
        fields = [model._meta.fields[n] for n in names]
        current = {}
        ids = [eid for eid, _ in updates]
        for i in range(0, len(ids), 500):
            for row in model.select(model.id, *fields).where(model.id.in_(ids[i:i + 500])).tuples():
                current[row[0]] = list(row[1:])
        changed = 0
        for eid, values in updates:
            before = current.get(eid)
            if before is None:
                continue
            diff = {}
            for f, old, new in zip(fields, before, values, strict=True):
                if new is not KEEP and _norm(old) != _norm(new):
                    diff[f] = (old, new)
            if not diff:
                continue
            changed += 1
            if not self.writing:
                continue
            model.update({f: new for f, (_old, new) in diff.items()}).where(model.id == eid).execute()
            for f, (old, new) in diff.items():
                if f.name == "tax_id_hash":
                    continue
                shown = (lambda v: f"****{str(v)[-4:]}" if v else "") if f.name in SENSITIVE else _text
                audit.record(self.op, "conversion.change", model._meta.table_name, eid,
                             account_id=account_of(eid) if account_of else None, field=f.name,
                             before=shown(old), after=shown(new))
        self.count(kind, updated=changed)

    # -- locations and meters ---------------------------------------------------------------------------
    def _locations(self) -> None:
        name = "locations.csv"
        if name not in self.present:
            return
        bulk = _Bulk(self, db.ServiceLocation, ["id", "location_no"] + LOCATION_FIELDS)
        grid = _Bulk(self, db.LocationGrid, ["id", "location", "substation", "feeder", "transformer"])
        seen: dict[str, int] = {}
        numbers = _in_use(db.ServiceLocation.location_no)
        next_no = int(db.ServiceLocation.select(db.pw.fn.MAX(db.ServiceLocation.location_no)).scalar() or 0) + 1
        updates, grid_updates = [], []
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, street, city, zip_, state, mapl, owner, owner_phone, sub, feeder, xfmr = r
            eid = self._key("location", key, name, line, seen)
            if eid == BAD:
                continue
            try:
                for col, v in (("street", street), ("city", city), ("zip", zip_)):
                    if not v:
                        raise _Bad(col, "is empty")
                values = [street[:80], city[:40], (state or "ID")[:2].upper(), zip_[:10], mapl[:40], owner[:80],
                          _phone(owner_phone, "owner_phone")]
            except _Bad as exc:
                self._bad(name, line, exc)
                continue
            except _ColBad as exc:
                self.problem(name, line, exc.column, exc.message)
                continue
            g = (sub[:40], feeder[:40], xfmr[:40])
            if eid is None:
                if self.renumber:
                    location_no = next_no
                    next_no += 1
                elif key.isdigit() and len(key) <= 9:
                    location_no = int(key)
                else:
                    self.problem(name, line, "location", f"location key {key!r} is not a location number (digits): "
                                 "use --renumber to number locations anew")
                    continue
                if location_no in numbers:
                    self.problem(name, line, "location", f"location number {location_no} given twice, or already "
                                 "in use")
                    continue
                numbers.add(location_no)
                eid = self._id(db.ServiceLocation)
                self.keys["location"][key] = eid
                self.new_keys.append(("location", key, eid))
                bulk.add((eid, location_no, *values))
                if any(g):
                    grid.add((self._id(db.LocationGrid), eid, *g))
                self.count("locations", added=1)
            else:
                updates.append((eid, values))
                grid_updates.append((eid, g))
            if n % 2000 == 0:
                self.tick()
        bulk.flush()
        grid.flush()
        self._update(db.ServiceLocation, LOCATION_FIELDS, updates, "locations")
        if self.writing:
            G = db.LocationGrid
            for eid, g in grid_updates:
                if not any(g):
                    G.delete().where(G.location == eid).execute()
                    continue
                G.insert(id=self._id(G), location=eid, substation=g[0], feeder=g[1], transformer=g[2]).on_conflict(
                    conflict_target=[G.location],
                    update={G.substation: g[0], G.feeder: g[1], G.transformer: g[2]}).execute()

    def _meters(self) -> None:
        name = "meters.csv"
        if name not in self.present:
            return
        bulk = _Bulk(self, db.Meter, ["id", "meter_no"] + METER_FIELDS)
        meters_in_use = _in_use(db.Meter.meter_no)
        seen: dict[str, int] = {}
        updates = []
        self.meter_location: dict[int, int | None] = {}
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, loc, mult, installed = r
            eid = self._key("meter", key, name, line, seen)
            if eid == BAD:
                continue
            if len(key) > 12:
                self.problem(name, line, "meter", f"meter number longer than 12 characters: {key!r}")
                continue
            loc_id = self._ref("location", loc, name, line, "location", required=False)
            if loc and loc_id is None:
                continue
            try:
                values = [loc_id, _int(mult) if mult else 1, _date(installed) if installed else None]
                if values[1] < 1:
                    raise _Bad("multiplier", "must be 1 or more")
            except _Bad as exc:
                col = "installed" if "date" in exc.args[0] else "multiplier"
                self.problem(name, line, exc.args[0] if len(exc.args) == 2 else col, exc.args[-1])
                continue
            if eid is None and key in meters_in_use:
                self.problem(name, line, "meter", f"meter {key} is already in use in this database")
                continue
            if eid is None:
                eid = self._id(db.Meter)
                self.keys["meter"][key] = eid
                self.new_keys.append(("meter", key, eid))
                bulk.add((eid, key, *values))
                self.count("meters", added=1)
            else:
                updates.append((eid, values))
            self.meter_location[eid] = loc_id
            if n % 2000 == 0:
                self.tick()
        bulk.flush()
        self._update(db.Meter, METER_FIELDS, updates, "meters")

    # -- flags and deposits (read before the accounts: they go on the account's row) ------------------
    def _flags(self) -> dict[str, dict] | None:
        name = "flags.csv"
        if name not in self.present:
            return None
        out: dict[str, dict] = {}
        self.flag_lines: dict[str, int] = {}
        for line, (key, flag, until, detail) in _File(self, name).rows():
            flag = flag.lower()
            f = out.setdefault(key, {})
            self.flag_lines.setdefault(key, line)
            if flag not in FLAGS:
                self.problem(name, line, "flag", f"unknown flag {flag!r} (one of {', '.join(FLAGS)})")
                continue
            if flag in f:
                self.problem(name, line, "flag", f"flag {flag} given twice for account {key}")
                continue
            if flag in DATED_FLAGS:
                if not until:
                    self.problem(name, line, "until", f"{flag} needs the day it holds until")
                    continue
                try:
                    f[flag] = _date(until)
                except _Bad as exc:
                    self.problem(name, line, "until", exc.args[0])
                    continue
                if flag == "winter_protection":
                    f["winter_household"] = detail[:40]
            else:
                f[flag] = True
        return out

    def _deposits(self) -> dict[str, int] | None:
        name = "deposits.csv"
        if name not in self.present:
            return None
        out: dict[str, int] = {}
        self.deposit_lines: dict[str, int] = {}
        for line, (key, amount) in _File(self, name).rows():
            if key in out:
                self.problem(name, line, "account", f"duplicated key {key!r} (first on line {self.deposit_lines[key]})")
                continue
            try:
                cents = _cents(amount)
            except _Bad as exc:
                self.problem(name, line, "amount", exc.args[0])
                continue
            if cents < 0:
                self.problem(name, line, "amount", "a deposit held cannot be negative")
                continue
            out[key] = cents
            self.deposit_lines[key] = line
        return out

    # -- accounts ------------------------------------------------------------------------------------
    def _accounts(self, flags: dict | None, deposits: dict | None) -> None:
        name = "accounts.csv"
        self.account_meter: dict[int, int | None] = {}
        self.account_rate: dict[int, str] = {}
        self.run_accounts: set[int] = set()
        if name not in self.present:
            self._flags_and_deposits_alone(flags, deposits)
            return
        bulk = _Bulk(self, db.Account, ["id", "number"] + ACCOUNT_FIELDS)
        seen: dict[str, int] = {}
        used_numbers = _in_use(db.Account.number)
        next_base = max(int(db.Account.select(db.pw.fn.MAX(db.Account.number)).scalar() or 0) // 10 + 1, 10000)
        meter_open: dict[int, tuple[str, int]] = {}
        if not self.fresh:
            # Open accounts converted before keep their meters.
            for aid, mid, st in db.Account.select(db.Account.id, db.Account.meter, db.Account.status).tuples():
                if mid and st in OPEN_STATUSES:
                    meter_open[mid] = (f"account id {aid}", -aid)
        transfers = []
        updates = []
        meter_location = getattr(self, "meter_location", {})
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, member, loc, rate, opened, meter, status, cycle, closed, transferred = r
            eid = self._key("account", key, name, line, seen)
            if eid == BAD:
                continue
            member_id = self._ref("member", member, name, line, "member")
            loc_id = self._ref("location", loc, name, line, "location")
            meter_id = self._ref("meter", meter, name, line, "meter", required=False)
            if member_id is None or loc_id is None or (meter and meter_id is None):
                continue
            rate = rate.upper()
            status = (status or "active").lower()
            bad = False                     # every problem of the row is reported, not only the first
            if rate not in self.known_classes:
                self.problem(name, line, "rate_class", f"unknown rate schedule {rate!r} (known: "
                             f"{', '.join(sorted(self.known_classes))})")
                bad = True
            if status not in db.ACCOUNT_STATUSES:
                self.problem(name, line, "status", f"unknown status {status!r} (one of "
                             f"{', '.join(db.ACCOUNT_STATUSES)})")
                bad = True
            parsed = self._slow(name, line, (("opened", _date, opened), ("closed", _date, closed),
                                             ("bill_cycle", _cycle, cycle)))
            if parsed is None or bad:
                continue
            opened_d, closed_d, cyc = parsed
            cyc = cyc or 1
            if closed_d and closed_d < opened_d:
                self.problem(name, line, "closed", f"closed {closed_d} before it opened {opened_d}")
                continue
            if meter_id is not None and status in OPEN_STATUSES:
                other = meter_open.get(meter_id)
                if other is not None and other[0] != key and not (other[1] < 0 and eid == -other[1]):
                    where = f"line {other[1]}" if other[1] > 0 else "converted before"
                    self.problem(name, line, "meter", f"meter {meter} is on two accounts: {other[0]} ({where}) "
                                 f"and {key}, both {status if status == 'active' else 'open'}")
                    continue
                meter_open[meter_id] = (key, line)
            if meter_id is not None and meter_location.get(meter_id) not in (None, loc_id):
                self.problem(name, line, "meter", f"meter {meter} is at another location than {loc}")
                continue
            f = (flags or {}).get(key, {})
            values = [member_id, loc_id, meter_id, rate, status, cyc, opened_d, closed_d,
                      f.get("cash_only"), f.get("medical"), bool(f.get("landlord")), bool(f.get("bankruptcy")),
                      bool(f.get("collections")), bool(f.get("budget_billing")), f.get("winter_protection"),
                      f.get("winter_household", ""), (deposits or {}).get(key, 0)]
            if eid is None:
                if self.renumber:
                    while make_account_number(next_base) in used_numbers:
                        next_base += 1
                    number = make_account_number(next_base)
                    next_base += 1
                    self.result.renumbered.append((key, number))
                else:
                    if not valid_account_number(key) or len(key) > 15:
                        self.problem(name, line, "account", f"account number {key!r} fails its check digit (or is "
                                     "not a number): fix it, or use --renumber for new numbers with check digits")
                        continue
                    number = int(key)
                if number in used_numbers:
                    self.problem(name, line, "account", f"account number {number} given twice, or already in use")
                    continue
                used_numbers.add(number)
                eid = self._id(db.Account)
                self.keys["account"][key] = eid
                self.new_keys.append(("account", key, eid))
                bulk.add((eid, number, *values))
                self.count("accounts", added=1)
            else:
                if flags is None or deposits is None:
                    # A file left out leaves its part as it is.
                    cur = db.Account.get_by_id(eid)
                    if flags is None:
                        values[8:16] = [_iso(cur.cash_only_until), _iso(cur.medical_cert_until), cur.landlord,
                                        cur.bankruptcy, cur.collections, cur.budget_billing,
                                        _iso(cur.winter_protection_until), cur.winter_household]
                    if deposits is None:
                        values[16] = cur.deposit_cents
                updates.append((eid, values))
            self.account_meter[eid] = meter_id
            self.account_rate[eid] = rate
            self.run_accounts.add(eid)
            if transferred:
                transfers.append((eid, transferred, line))
            if n % 2000 == 0:
                self.tick()
        bulk.flush()
        for what, keyed, lines in (("flags.csv", flags, getattr(self, "flag_lines", {})),
                                   ("deposits.csv", deposits, getattr(self, "deposit_lines", {}))):
            for key in keyed or {}:
                if key not in seen and key not in self.existing["account"]:
                    self._missing("account", key, what, lines.get(key, 0), "account")
        self._update(db.Account, ACCOUNT_FIELDS, updates, "accounts", account_of=lambda i: i)
        for eid, to, line in transfers:
            to_id = self._ref("account", to, name, line, "transferred_to")
            if to_id is not None and self.writing:
                db.Account.update(transferred_to=to_id).where(db.Account.id == eid).execute()

    def _flags_and_deposits_alone(self, flags: dict | None, deposits: dict | None) -> None:
        """flags.csv / deposits.csv without accounts.csv: for accounts converted before."""
        A = db.Account
        for what, keyed, lines in (("flags.csv", flags, getattr(self, "flag_lines", {})),
                                   ("deposits.csv", deposits, getattr(self, "deposit_lines", {}))):
            updates = []
            for key, v in (keyed or {}).items():
                aid = self._ref("account", key, what, lines.get(key, 0), "account")
                if aid is None:
                    continue
                if what == "flags.csv":
                    updates.append((aid, [v.get("cash_only"), v.get("medical"), bool(v.get("landlord")),
                                          bool(v.get("bankruptcy")), bool(v.get("collections")),
                                          bool(v.get("budget_billing")), v.get("winter_protection"),
                                          v.get("winter_household", "")]))
                else:
                    updates.append((aid, [v]))
            names = ACCOUNT_FIELDS[8:16] if what == "flags.csv" else ["deposit_cents"]
            self._update(A, names, updates, "accounts", account_of=lambda i: i)

    # -- opening balances -------------------------------------------------------------------------------
    def _balances(self) -> None:
        name = "balances.csv"
        if name not in self.present:
            return
        bulk = _Bulk(self, db.LedgerEntry, ["id", "account", "posted_at", "effective", "kind", "amount_cents",
                                            "description", "reference", "due_date", "operator", "reverses"])
        seen: dict[str, int] = {}
        have: dict[tuple[int, str], int] = {}
        first_entry: dict[tuple[int, str], int] = {}
        if not self.fresh:
            L = db.LedgerEntry
            for aid, ref, s, first in (L.select(L.account, L.reference, db.pw.fn.SUM(L.amount_cents),
                                                db.pw.fn.MIN(L.id))
                                       .where(L.kind == "transfer", L.reference.startswith("CONV "))
                                       .group_by(L.account, L.reference).tuples()):
                have[(aid, ref)] = int(s)
                first_entry[(aid, ref)] = first
        posted_at = db.now().isoformat(" ")
        op_id = self.op.id if self.op else None
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, as_of, balance, *rest = r
            buckets, current_due = rest[:5], rest[5]
            if key in seen:
                self.problem(name, line, "account", f"duplicated key {key!r} (first on line {seen[key]})")
                continue
            seen[key] = line
            aid = self._ref("account", key, name, line, "account")
            if aid is None:
                continue
            try:
                day = _col(name, "as_of", _date, as_of)
                total = _col(name, "balance", _cents, balance)
                amounts = [_col(name, b, _cents, v) if v else 0 for b, v in zip(BUCKETS, buckets, strict=True)]
                due_current = _col(name, "current_due", _date, current_due) if current_due else day
            except _ColBad as exc:
                self.problem(name, line, exc.column, exc.message)
                continue
            if day > self.today.isoformat():
                self.problem(name, line, "as_of", f"{day} is in the future: a balance is as of a day that has been")
                continue
            if not any(buckets):
                amounts[0] = total          # no aging given: all current
            if sum(amounts) != total:
                self.problem(name, line, "balance", f"balance {_money(total)} does not match its aging: the buckets "
                             f"add up to {_money(sum(amounts))}")
                continue
            if total < 0 and any(amounts[1:]):
                self.problem(name, line, "current", "a credit balance is current: the past-due buckets must be 0")
                continue
            if total >= 0 and any(a < 0 for a in amounts):
                bad = BUCKETS[[a < 0 for a in amounts].index(True)]
                self.problem(name, line, bad, "a bucket of a balance owed cannot be negative")
                continue
            d = dt.date.fromisoformat(day)
            for bucket, cents in zip(BUCKETS, amounts, strict=True):
                ref = f"CONV {bucket}"
                diff = cents - have.get((aid, ref), 0)
                if not diff:
                    continue
                due = due_current if bucket == "current" else (d - dt.timedelta(days=BUCKET_AGE[bucket])).isoformat()
                label = bucket.replace("days_", "").replace("_", "-").replace("over-90", "over 90")
                desc = (f"Opening balance from the former system ({label})" if (aid, ref) not in have
                        else f"Opening balance corrected ({label})")
                # Less owed in a bucket: the correction reverses the bucket's entry, so aging takes it from
                # that bucket (a credit on its own would pay the oldest charge first).
                reverses = first_entry.get((aid, ref)) if diff < 0 and have.get((aid, ref), 0) > 0 else None
                bulk.add((self._id(db.LedgerEntry), aid, posted_at, day, "transfer", diff, desc, ref, due, op_id,
                          reverses))
                self.count("opening balance entries", added=1)
            if n % 2000 == 0:
                self.tick()
        bulk.flush()

    # -- history: readings, bills, notes ------------------------------------------------------------------
    def _existing(self, model, cols, key_len: int) -> _Existing:
        return _Existing(set(self.existing["account"].values()), model, cols, key_len)

    def _slow(self, name: str, line: int, checks: tuple) -> list | None:
        """Each value parsed, every column at fault named (a problem each) and None; or the values
        (also where the fast path refused a row the slow parsers take)."""
        out, bad = [], False
        for column, fn, text in checks:
            try:
                out.append(_col(name, column, fn, text) if text or column in LAYOUTS[name][0] else None)
            except _ColBad as exc:
                self.problem(name, line, exc.column, exc.message)
                bad = True
        return None if bad else out

    def _readings(self) -> None:
        name = "readings.csv"
        if name not in self.present:
            return
        R = db.Reading
        bulk = _Bulk(self, R, ["id", "account", "meter", "read_date", "reading", "kwh", "demand_kw", "reverse_kwh",
                               "source"])
        have = self._existing(R, [R.account, R.meter, R.read_date, R.reading, R.kwh, R.demand_kw, R.reverse_kwh,
                                  R.source], 3)
        account_meter = self.account_meter
        keys_acct, keys_meter = self.keys["account"], self.keys["meter"]
        dates = self.dates
        group_aid, group = None, {}       # the account being read: its readings' lines by (meter, day)
        changed = added = 0
        next_id = self.next_id[R]
        rows = bulk.rows
        for n, (line, (key, read_date, reading, kwh, meter, demand, reverse, source)) in enumerate(
                _File(self, name).rows()):
            aid = keys_acct.get(key)
            if aid is None:
                self._ref("account", key, name, line, "account")
                continue
            if meter:
                mid = keys_meter.get(meter)
                if mid is None:
                    self._ref("meter", meter, name, line, "meter")
                    continue
            else:
                mid = account_meter.get(aid, -1)
                if mid == -1:
                    mid = account_meter[aid] = _meter_of(aid)
            try:
                day = dates[read_date]
                value = int(reading)
                used = int(kwh)
                dem = _decimal(demand) if demand else None
                rev = int(reverse) if reverse else 0
            except (ValueError, _Bad):
                parsed = self._slow(name, line, (("read_date", _date, read_date), ("reading", _int, reading),
                                                 ("kwh", _int, kwh), ("demand_kw", _decimal, demand),
                                                 ("reverse_kwh", _int, reverse)))
                if parsed is None:
                    continue
                day, value, used, dem, rev = parsed
                rev = rev or 0
            if source:
                source = source.lower()
                if source not in READING_SOURCES:
                    self.problem(name, line, "source", f"unknown source {source!r} (one of "
                                 f"{', '.join(READING_SOURCES)})")
                    continue
            else:
                source = "keyed"
            if used < 0 or value < 0:
                self.problem(name, line, "kwh" if used < 0 else "reading", "cannot be negative")
                continue
            if aid != group_aid:
                group_aid, group = aid, {}
            first = group.get((mid, day))
            if first is not None:
                self.problem(name, line, "read_date", f"a second reading of account {key} on {day} (first on line "
                             f"{first})")
                continue
            group[(mid, day)] = line
            old = have.get(aid, (aid, mid, day)) if have else None
            if old is None:
                rows.append((next_id, aid, mid, day, value, used, dem, rev, source))
                next_id += 1
                added += 1
                if len(rows) >= CHUNK:
                    bulk.flush()
                    rows = bulk.rows
                    if n % 50_000 < CHUNK:
                        self.tick()
            elif old[1] != (value, used, _norm(dem), rev, source):
                changed += 1
                if self.writing:
                    R.update(reading=value, kwh=used, demand_kw=dem, reverse_kwh=rev, source=source).where(
                        R.id == old[0]).execute()
                    audit.record(self.op, "conversion.change", "reading", old[0], account_id=aid, field="reading",
                                 before=f"{old[1][0]} ({old[1][1]} kWh)", after=f"{value} ({used} kWh)")
        self.next_id[R] = next_id
        bulk.flush()
        self.count("readings", added=added, updated=changed)

    def _bills(self) -> None:
        name = "bills.csv"
        if name not in self.present:
            return
        B = db.Bill
        bulk = _Bulk(self, B, ["id", "account", "kind", "bill_date", "due_date", "period_start", "period_end",
                               "schedule", "kwh", "total_cents", "charged_cents", "status", "estimated",
                               "reverse_kwh", "budget", "cancel_reason"])
        have = self._existing(B, [B.account, B.bill_date, B.kind, B.due_date, B.period_start, B.period_end,
                                  B.schedule, B.kwh, B.total_cents, B.charged_cents, B.status], 3)
        keys_acct = self.keys["account"]
        dates = self.dates
        month_before: dict[str, str] = {}
        known = self.known_schedules
        group_aid, group = None, {}
        changed = added = 0
        rate_of = self.account_rate
        next_id = self.next_id[B]
        rows = bulk.rows
        for n, (line, r) in enumerate(_File(self, name).rows()):
            key, bill_date, due_date, amount, p_start, p_end, schedule, kwh, charged, kind, status = r
            aid = keys_acct.get(key)
            if aid is None:
                self._ref("account", key, name, line, "account")
                continue
            try:
                day = dates[bill_date]
                due = dates[due_date]
                total = _fast_cents(amount)
                charged_c = _fast_cents(charged) if charged else total
                end = dates[p_end] if p_end else day
                start = dates[p_start] if p_start else None
                used = int(kwh) if kwh else 0
            except (ValueError, _Bad):
                parsed = self._slow(name, line, (("bill_date", _date, bill_date), ("due_date", _date, due_date),
                                                 ("amount", _cents, amount), ("charged", _cents, charged),
                                                 ("period_end", _date, p_end), ("period_start", _date, p_start),
                                                 ("kwh", _int, kwh)))
                if parsed is None:
                    continue
                day, due, total, charged_c, end, start, used = parsed
                charged_c = total if charged_c is None else charged_c
                end, used = end or day, used or 0
            if start is None:
                start = month_before.get(end)
                if start is None:
                    start = month_before[end] = (dt.date.fromisoformat(end) - dt.timedelta(days=30)).isoformat()
            if schedule:
                schedule = schedule.upper()
            else:
                schedule = rate_of.get(aid) or _rate_of(aid)
                rate_of[aid] = schedule
            if schedule not in known:
                self.problem(name, line, "schedule", f"unknown rate schedule {schedule!r} (known: "
                             f"{', '.join(sorted(known))})")
                continue
            kind = kind.lower() if kind else "regular"
            if kind not in db.BILL_KINDS:
                self.problem(name, line, "kind", f"unknown kind {kind!r} (one of {', '.join(db.BILL_KINDS)})")
                continue
            status = status.lower() if status else "billed"
            if status not in ("billed", "cancelled"):
                self.problem(name, line, "status", f"unknown status {status!r} (billed or cancelled)")
                continue
            if due < day:
                self.problem(name, line, "due_date", f"due {due} before the bill date {day}")
                continue
            if start > end:
                self.problem(name, line, "period_start", f"the period starts {start} after it ends {end}")
                continue
            if aid != group_aid:
                group_aid, group = aid, {}
            first = group.get((day, kind))
            if first is not None:
                self.problem(name, line, "bill_date", f"a second {kind} bill of account {key} on {day} (first on "
                             f"line {first})")
                continue
            group[(day, kind)] = line
            old = have.get(aid, (aid, day, kind)) if have else None
            if old is None:
                rows.append((next_id, aid, kind, day, due, start, end, schedule, used, total, charged_c, status,
                             False, 0, "", "Converted from the former system" if status == "cancelled" else ""))
                next_id += 1
                added += 1
                if len(rows) >= CHUNK:
                    bulk.flush()
                    rows = bulk.rows
                    if n % 50_000 < CHUNK:
                        self.tick()
            elif old[1] != (due, start, end, schedule, used, total, charged_c, status):
                changed += 1
                if self.writing:
                    B.update(due_date=due, period_start=start, period_end=end, schedule=schedule, kwh=used,
                             total_cents=total, charged_cents=charged_c, status=status).where(B.id == old[0]).execute()
                    audit.record(self.op, "conversion.change", "bill", old[0], account_id=aid, field="bill",
                                 before=_money(old[1][5]), after=_money(total))
        self.next_id[B] = next_id
        bulk.flush()
        self.count("bills", added=added, updated=changed)

    def _notes(self) -> None:
        name = "notes.csv"
        if name not in self.present:
            return
        N = db.Note
        bulk = _Bulk(self, N, ["id", "account", "created_at", "operator", "text"])
        have = self._existing(N, [N.account, N.created_at, N.text], 3)
        added_now: set[tuple] = set()
        keys_acct = self.keys["account"]
        for n, (line, (key, created, text, operator)) in enumerate(_File(self, name).rows()):
            aid = keys_acct.get(key)
            if aid is None:
                self._ref("account", key, name, line, "account")
                continue
            try:
                at = _col(name, "created_at", _datetime, created)
            except _ColBad as exc:
                self.problem(name, line, exc.column, exc.message)
                continue
            if not text:
                self.problem(name, line, "text", "is empty")
                continue
            op_id = self.operators.get(operator.lower()) if operator else None
            k = (aid, at, text)
            if k in added_now or (have and have.get(aid, (aid, at, _norm(text))) is not None):
                continue
            added_now.add(k)
            bulk.add((self._id(N), aid, at, op_id, text))
            self.count("notes", added=1)
            if n % 5000 == 0:
                self.tick()
        bulk.flush()

    # -- the end ---------------------------------------------------------------------------------------
    def _finish(self) -> None:
        bulk = _Bulk(self, db.LegacyKey, ["kind", "legacy", "entity_id", "converted_at"])
        now = db.now().isoformat(" ")
        for k, legacy, eid in self.new_keys:
            bulk.add((k, legacy, eid, now))
        bulk.flush()
        self.new_keys = []


class _Existing:
    """Rows of the accounts converted before, by their natural key, read an account at a time
    (a run repeated after a correction; a first conversion has none and reads nothing)."""

    def __init__(self, ids: set[int], model, cols, key_len: int):
        self.ids, self.model, self.cols, self.key_len = ids, model, cols, key_len
        self.aid, self.rows = None, {}

    def __bool__(self) -> bool:
        return bool(self.ids)

    def get(self, aid: int, key: tuple):
        if aid not in self.ids:
            return None
        if aid != self.aid:
            k, m = self.key_len, self.model
            self.aid = aid
            self.rows = {tuple(_norm(v) for v in r[1:1 + k]): (r[0], tuple(_norm(v) for v in r[1 + k:]))
                         for r in m.select(m.id, *self.cols).where(self.cols[0] == aid).tuples()}
        return self.rows.get(key)


class _Dates(dict):
    """Date text -> ISO text, each different text checked once (a file has few distinct days)."""

    def __missing__(self, text: str) -> str:
        value = self[text] = _date(text)
        return value


def _fast_cents(text: str) -> int:
    whole, dot, frac = text.partition(".")
    if dot and len(frac) == 2 and len(whole) <= 11 and whole.isascii() and whole.isdigit() and frac.isdigit():
        return int(whole) * 100 + int(frac)
    return _cents(text)


class _ColBad(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def _col(name: str, column: str, fn, text: str):
    """fn(text), or _ColBad naming the column; "" -> None for optional values."""
    if text == "":
        if column in LAYOUTS[name][0]:
            raise _ColBad(column, "is empty")
        return None
    try:
        return fn(text)
    except _Bad as exc:
        raise _ColBad(column, exc.args[-1]) from None


def _cycle(text: str) -> int:
    cyc = _int(text, "a bill cycle number")
    if not 1 <= cyc <= 99:
        raise _Bad(f"bill cycle {cyc} is not 1-99")
    return cyc


def _decimal(text: str):
    from decimal import Decimal, InvalidOperation
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise _Bad(f"not a number: {text[:30]!r}") from None
    if not v.is_finite() or v < 0:
        raise _Bad(f"not a demand in kW: {text[:30]!r}")
    return str(v)


def _phone(text: str, column: str) -> str:
    d = _digits(text)
    if len(d) == 11 and d[0] == "1":
        d = d[1:]
    if d and len(d) != 10:
        raise _ColBad(column, f"not a 10-digit phone number: {text[:20]!r}")
    return d


def _norm(v):
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if hasattr(v, "normalize"):
        return str(v.normalize())
    if isinstance(v, str):
        try:
            from decimal import Decimal
            if "." in v and v.replace(".", "", 1).isdigit():
                return str(Decimal(v).normalize())
        except Exception:  # noqa: BLE001
            pass
    return v


def _text(v) -> str:
    return "" if v is None else str(v)[:200]


def _iso(v) -> str | None:
    return v.isoformat() if v else None


def _money(cents: int) -> str:
    from kec_tui.money import fmt_dollars
    return fmt_dollars(cents)


def _in_use(column) -> set:
    """The numbers a numbered column already holds (none in an empty table: a first conversion)."""
    return {v for (v,) in column.model.select(column).tuples()}


def _meter_of(aid: int) -> int | None:
    return db.Account.select(db.Account.meter).where(db.Account.id == aid).scalar()


def _rate_of(aid: int) -> str:
    return db.Account.select(db.Account.rate_class).where(db.Account.id == aid).scalar() or ""


def _known_classes() -> set[str]:
    """Rate classes an account may have: the schedules' classes (as loaded) and the built-in ones."""
    from kec_tui.services import rates
    out = set(db.RATE_CLASSES)
    try:
        for vs in rates.all_versions().values():
            out.update(vs[-1].classes)
    except Exception:  # noqa: BLE001 - no schedules loaded: the built-in classes
        pass
    return out


def _known_schedules() -> set[str]:
    from kec_tui.services import rates
    try:
        return set(rates.all_versions())
    except Exception:  # noqa: BLE001
        return set()


# ---- SQLite bulk-load settings (as the demo builder) ---------------------------------------------------

_BIG = (db.Member, db.ServiceLocation, db.Meter, db.Account, db.LedgerEntry, db.Reading, db.Bill, db.Note)


def _sqlite_fast_begin(empty: bool) -> dict[str, object]:
    """Bulk-load settings for this connection; returns what to restore. Into a database without
    accounts (a first conversion) the load is not synced to disk as it goes (synchronous=OFF, a
    rollback journal): a crash leaves a file to make again. A database with accounts stays durable."""
    conn = db.database
    saved = {n: conn.execute_sql(f"PRAGMA {n}").fetchone()[0]
             for n in ("synchronous", "cache_size", "foreign_keys", "temp_store", "threads")}
    conn.execute_sql("PRAGMA foreign_keys=OFF")     # the files' references are checked here
    conn.execute_sql("PRAGMA cache_size=-262144")   # 256 MiB while loading
    conn.execute_sql("PRAGMA temp_store=MEMORY")    # the search index's rows are sorted in temp tables
    # The indexes made at the end and the search index's sort use the other cores (30,000 accounts: 4.6 s -> 3.7 s).
    conn.execute_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
    saved["journal_mode"] = conn.execute_sql("PRAGMA journal_mode").fetchone()[0]
    if not empty:
        saved["journal_mode"] = ""
        return saved
    conn.execute_sql("PRAGMA synchronous=OFF")
    if str(saved["journal_mode"]).lower() == "wal":
        # One big transaction in WAL mode writes every page twice (the WAL, then the checkpoint);
        # a rollback journal of tables being filled holds next to nothing.
        try:
            conn.execute_sql("PRAGMA journal_mode=DELETE")
        except Exception:  # noqa: BLE001 - another connection holds the WAL open: keep WAL
            pass
    return saved


def _sqlite_fast_end(saved: dict[str, object]) -> None:
    conn = db.database
    if str(saved["journal_mode"]).lower() == "wal":
        try:
            conn.execute_sql("PRAGMA journal_mode=WAL")
        except Exception:  # noqa: BLE001
            pass
    conn.execute_sql(f"PRAGMA cache_size={int(saved['cache_size'])}")
    conn.execute_sql(f"PRAGMA foreign_keys={int(saved['foreign_keys'])}")
    conn.execute_sql(f"PRAGMA synchronous={int(saved['synchronous'])}")
    conn.execute_sql(f"PRAGMA temp_store={int(saved['temp_store'])}")
    conn.execute_sql(f"PRAGMA threads={int(saved['threads'])}")


# ---- the entry points ------------------------------------------------------------------------------------

@db.connected
def check(directory: Path | str, *, renumber: bool = False,
          progress: Callable[[int, int], None] | None = None) -> Result:
    """Read every file and report every problem; writes nothing (a dry run)."""
    started = time.perf_counter()
    conv = _Converter(Path(directory), dry_run=True, renumber=renumber, op=None, progress=progress)
    conv.run()
    conv.result.seconds = round(time.perf_counter() - started, 2)
    return conv.result


@db.connected
def load(op: OperatorInfo, directory: Path | str, *, renumber: bool = False,
         progress: Callable[[int, int], None] | None = None) -> Result:
    """Convert the files in one transaction; any problem and nothing is written
    (ConversionFailed carries every problem). Idempotent by legacy keys."""
    require(op, "operator.manage")
    started = time.perf_counter()
    directory = Path(directory)
    conv = _Converter(directory, dry_run=False, renumber=renumber, op=op, progress=progress)
    sqlite = not db.is_postgres()
    saved = _sqlite_fast_begin(not db.Account.select().exists()) if sqlite else None
    dropped = []
    try:
        with db.write_txn():
            if not sqlite:
                # The rows get their ids here: other sessions' inserts wait for the load (reading goes
                # on), and the sequences are moved past the new rows before it commits.
                tables = ", ".join(f'"{m._meta.table_name}"' for m in _BIG + (db.LegacyKey, db.LocationGrid))
                db.database.execute_sql(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            if sqlite:
                # Empty tables fill fastest without their secondary indexes: made once at the end.
                for model in _BIG + (db.LegacyKey, db.LocationGrid):
                    if not model.select().exists():
                        model._schema.drop_indexes(safe=True)
                        dropped.append(model)
            conv.run()
            if not conv.result.ok:
                raise _Stop
            for model in dropped:
                model._schema.create_indexes(safe=True)
            if conv.progress:
                conv.progress(conv.total_bytes, conv.total_bytes)
            if conv.result.added.get("accounts") or conv.result.updated:
                search_index.rebuild_all()
            audit.record(op, "conversion.load", "conversion", None, field=str(directory)[:40],
                         after=conv.result.summary()[:2000])
            db.set_meta("conversion_last", f"{db.now().isoformat(' ')} {directory}")
            if not sqlite:
                _advance_sequences()
    except _Stop:
        pass
    finally:
        if saved is not None:
            _sqlite_fast_end(saved)
    if not conv.result.ok:
        conv.result.seconds = round(time.perf_counter() - started, 2)
        raise ConversionFailed(conv.result)
    conv.result.seconds = round(time.perf_counter() - started, 2)
    return conv.result


def _advance_sequences() -> None:
    """PostgreSQL: the id sequences and the numbering sequences past the rows written with ids."""
    for model in _BIG + (db.LegacyKey, db.LocationGrid):
        t = model._meta.table_name
        db.database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), "
                                f"COALESCE(MAX(id), 0) + 1, false) FROM \"{t}\"")
    for n in db.NUMBERINGS:
        db._catch_up(n)


def write_renumbered(result: Result, path: Path) -> None:
    """The former account numbers and the new ones (after --renumber), as CSV."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["legacy_account", "account"])
        w.writerows(result.renumbered)
