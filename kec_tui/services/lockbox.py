"""Electronic payments: bank lockbox CSV and BAI2 files, imported once, with an exceptions queue.

Everything in a file is checked before anything is applied: a BAI2 file's
49/98/99 control totals and record counts, a CSV's header and every row (and
its total row, if the bank sends one), and every number against what its
column holds. A file that fails is refused whole with a message naming the
line or record. The same file twice is refused: it is known by its content
with line endings and padding normalised, and a BAI2 file also by its 01
record (sender, receiver, creation date and time, file id), so a copy sent
again with CRLF line endings or 80-column records is the same file.

A BAI2 file's debits (fees, transfers) and other non-credit details are not
payments: they are listed in the import's report as skipped.

Matched payments become one batch (tender 'lockbox', source 'imported'). Its
controls are the matched count and total, so it is balanced as imported and
can post at once; the file's own totals are kept on the PaymentImport row,
where file total = batch total + exceptions total. Payments that match no
account (no number, a bad check digit, an unknown number), or a final/closed
account, or an amount over the line limit, go to the exceptions queue: an MSR
applies each to an account (into the open exceptions batch, which grows its
controls as it is worked) or returns it. The line warnings of keyed entry
(cash-only, overpayment, duplicate stub) are not asked of imported payments:
the bank has already taken the money.

CSV column mapping: our names (account, amount, check_no, payment_date,
payer_name) to the file's header names. Without a mapping the usual headers
are recognized (see CSV_COLUMNS); a bank with other headers is a setting:
`[lockbox_csv_columns]` in the config file, e.g. `account = "Cust Ref"`,
read by `mapping_from_settings`.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from peewee import JOIN, DataError, IntegrityError

from kec_tui import db, money
from kec_tui.checkdigit import valid_account_number
from kec_tui.services import audit, batches, card_numbers
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("account", "account number", "account no", "acct", "acct no", "account id", "customer reference",
                "cust ref", "customer ref", "reference"),
    "amount": ("amount", "payment amount", "amt", "paid amount", "amount paid"),
    "check_no": ("check no", "check number", "check", "check num", "serial", "serial no", "item no"),
    "payment_date": ("payment date", "date", "deposit date", "paid date", "process date"),
    "payer_name": ("payer name", "payer", "name", "remitter", "customer name"),
}
REQUIRED_COLUMNS = ("account", "amount")
TOTAL_ROW_WORDS = ("total", "totals", "trailer", "control total", "file total")
_DOLLARS = re.compile(r"^\$?(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})$")
_CHECK_IN_TEXT = re.compile(r"\b(?:CHECK|CHK|CK)\s*(?:NO\.?|#)?\s*(\d{1,20})\b", re.I)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%m-%d-%Y")
CHUNK = 500
# Bounds of what the columns hold, checked before anything is written (a 64-bit
# amount column would overflow on a 20-digit amount, and a file's sums must fit too).
MAX_AMOUNT_DIGITS = 15                          # cents: $9,999,999,999,999.99
MAX_AMOUNT_CENTS = 10 ** MAX_AMOUNT_DIGITS - 1
MAX_LEDGER_CENTS = 2 ** 63 - 1                  # BIGINT
MAX_COUNT_DIGITS = 9                            # record and item counts (INTEGER columns)
MAX_ACCOUNT_DIGITS = 18                         # an account number (BIGINT)
ACCOUNT_TEXT_MAX = 40                           # the account or reference as sent
CHECK_NO_MAX = 20
BANK_FILE_ID_MAX = 200


class ImportRefused(ServiceError):
    """The file was refused whole; nothing was applied."""


class DuplicateImport(ImportRefused):
    pass


@dataclass(frozen=True)
class FilePayment:
    record_no: int            # CSV line number, or BAI2 physical record number of the 16
    account_text: str
    amount_cents: int
    check_no: str = ""
    payer_name: str = ""
    payment_date: dt.date | None = None
    bank_ref: str = ""


@dataclass(frozen=True)
class SkippedItem:
    """A BAI2 detail that is not a payment (a debit such as a fee or a transfer): reported, not applied."""
    record_no: int
    type_code: int
    amount_cents: int
    bank_ref: str
    customer_ref: str
    text: str
    why: str

    def line(self) -> str:
        what = ", ".join(x for x in (self.bank_ref, self.customer_ref, self.text[:60]) if x)
        return f"Record {self.record_no}: {money.fmt_dollars(self.amount_cents)} {self.why}" + \
            (f", {what}" if what else "")


@dataclass(frozen=True)
class ParsedFile:
    format: str               # csv, bai2
    payments: list[FilePayment]
    total_cents: int
    as_of: dt.date | None = None
    skipped: tuple[SkippedItem, ...] = ()
    digest: str = ""          # sha256 of the normalised content
    bank_file_id: str = ""    # BAI2: sender|receiver|creation date|time|file id


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    format: str
    filename: str
    record_count: int
    total_cents: int
    batch_id: int | None
    batch_number: int | None
    matched_count: int
    matched_total_cents: int
    exception_count: int
    exception_total_cents: int
    posted: bool = False
    skipped: tuple[SkippedItem, ...] = ()

    @property
    def skipped_total_cents(self) -> int:
        return sum(s.amount_cents for s in self.skipped)


def skipped_lines(r: ImportResult) -> list[str]:
    """The report's lines on what was in the file but is not a payment (CLI and screen)."""
    if not r.skipped:
        return []
    debits = all(s.why.startswith("debit") for s in r.skipped)
    return [f"Not payments, skipped: {len(r.skipped):,} {money.fmt_dollars(r.skipped_total_cents)}"
            + (" (fees, transfers and other debits)" if debits else "")] + ["  " + s.line() for s in r.skipped]


@dataclass(frozen=True)
class ExceptionInfo:
    id: int
    import_id: int
    filename: str
    record_no: int
    account_text: str
    amount_cents: int
    check_no: str
    payer_name: str
    payment_date: dt.date | None
    reason: str
    status: str
    resolution: str
    resolved_by: str
    resolved_at: dt.datetime | None
    batch_line_id: int | None


# ---- CSV ----------------------------------------------------------------------------

def _norm(header: str) -> str:
    h = header.strip().lower().replace("#", " no ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", h).split())


def _parse_date(text: str, where: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ImportRefused(f"{where}: date {text[:20]!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY)")


def _digest(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _dollars(text: str, where: str) -> int:
    raw = text.strip()
    m = _DOLLARS.match(raw)
    if not m:
        if raw.startswith("-") or raw.startswith("(") or raw.endswith("-"):
            raise ImportRefused(f"{where}: amount {raw[:20]!r} is negative: not a payment")
        raise ImportRefused(f"{where}: amount {raw[:24]!r} is not dollars with a decimal point (like 123.45)")
    digits = len((m.group(1).replace(",", "") + m.group(2)).lstrip("0"))
    if digits > MAX_AMOUNT_DIGITS:
        raise ImportRefused(f"{where}: amount {raw[:28]!r} is too large for the ledger "
                            f"(at most {money.fmt_dollars(MAX_AMOUNT_CENTS)})")
    return money.from_decimal(Decimal(m.group(1).replace(",", "") + "." + m.group(2)))


def _columns(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, int]:
    normed = [_norm(h) for h in header]
    cols: dict[str, int] = {}
    if mapping:
        unknown = set(mapping) - set(CSV_COLUMNS)
        if unknown:
            raise ImportRefused(f"CSV column mapping names {', '.join(sorted(unknown))}: "
                                f"use {', '.join(CSV_COLUMNS)}")
        for ours, theirs in mapping.items():
            if _norm(theirs) not in normed:
                raise ImportRefused(f"The CSV header has no column {theirs!r} (mapped to {ours}); "
                                    f"it has: {', '.join(h.strip() for h in header)}")
            cols[ours] = normed.index(_norm(theirs))
    for ours, names in CSV_COLUMNS.items():
        if ours in cols:
            continue
        for name in names:
            if name in normed and normed.index(name) not in cols.values():
                cols[ours] = normed.index(name)
                break
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise ImportRefused(f"The CSV header row must name {' and '.join(missing)} column(s); "
                            f"it has: {', '.join(h.strip() for h in header)[:120]} "
                            f"(map other names in the lockbox_csv_columns setting)")
    return cols


def parse_csv(text: str, mapping: Mapping[str, str] | None = None) -> ParsedFile:
    rows = list(csv.reader(io.StringIO(text)))
    numbered = [(i, r) for i, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise ImportRefused("The file is empty")
    # The same rows with other line endings or blanks around the cells are the same file.
    digest = _digest("\n".join("\x1f".join(c.strip() for c in r) for _, r in numbered))
    header_line, header = numbered[0]
    cols = _columns(header, mapping)
    payments: list[FilePayment] = []
    total = 0
    trailer_seen = False
    for line_no, row in numbered[1:]:
        where = f"Line {line_no}"
        if trailer_seen:
            raise ImportRefused(f"{where}: a row after the total row")
        if len(row) != len(header):
            raise ImportRefused(f"{where} has {len(row)} fields; the header has {len(header)}")

        def cell(name: str) -> str:
            return row[cols[name]].strip() if name in cols else ""

        account = cell("account")
        if _norm(account) in TOTAL_ROW_WORDS:
            trailer_seen = True
            stated = _dollars(cell("amount"), f"{where} (total row)")
            if stated != total:
                raise ImportRefused(f"{where} (total row): the file says {money.fmt_dollars(stated)} but its "
                                    f"{len(payments)} payments add to {money.fmt_dollars(total)}")
            continue
        cents = _dollars(cell("amount"), where)
        if cents == 0:
            raise ImportRefused(f"{where}: amount is zero: not a payment")
        if len(account) > ACCOUNT_TEXT_MAX:
            raise ImportRefused(f"{where}: account {account[:20]!r}... has {len(account)} characters "
                                f"(at most {ACCOUNT_TEXT_MAX})")
        check_no = cell("check_no")
        if len(check_no) > CHECK_NO_MAX:
            raise ImportRefused(f"{where}: check number {check_no[:24]!r} is longer than {CHECK_NO_MAX} characters")
        payments.append(FilePayment(line_no, account, cents, check_no, cell("payer_name")[:80],
                                    _parse_date(cell("payment_date"), where)))
        total += cents
    if not payments:
        raise ImportRefused("The file has a header row but no payments")
    return ParsedFile("csv", payments, total, digest=digest)


# ---- BAI2 ---------------------------------------------------------------------------
# The BAI2 subset read (the Cash Management Balance Reporting Specification, version 2):
# 01 file header, 02 group header, 03 account identifier with its summary and balance
# amounts, 16 transaction detail, 88 continuation of any of them, 49/98/99 trailers.
# A record ends with "/" (a 16's text runs to the end of the record); an 88 carries
# on with the next field of the record before it. Amounts are cents without a decimal
# point; balances and control totals may be signed. The 49 total is the sum of every
# amount of the 03 (and its 88s) and of the account's 16s; availability amounts of
# funds types S and D are not in it.

RECORD_CODES = ("01", "02", "03", "16", "49", "98", "99")
GROUP_STATUSES = {"2": "deletion", "3": "correction", "4": "test only"}
MAX_DISTRIBUTIONS = 99


@dataclass
class _Record:
    no: int                 # physical record number of its first line
    code: str
    parts: list[str]        # each physical record after its record code: the record, then its 88s

    @property
    def physical(self) -> int:
        return len(self.parts)

    @property
    def where(self) -> str:
        return f"Record {self.no} ({self.code})"


def _bai2_lines(text: str) -> list[str]:
    """The records, whatever the line endings and however padded (80-column records)."""
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def _bai2_records(lines: list[str]) -> list[_Record]:
    out: list[_Record] = []
    for n, line in enumerate(lines, start=1):
        code, _, rest = line.partition(",")
        code = code.strip()
        if code == "88":
            if not out:
                raise ImportRefused(f"Record {n} (88): a continuation with nothing before it")
            out[-1].parts.append(rest)
        elif code in RECORD_CODES:
            out.append(_Record(n, code, [rest]))
        else:
            raise ImportRefused(f"Record {n}: unknown BAI2 record type {code[:4]!r}")
    return out


def _fields(rec: _Record) -> list[str]:
    """The fields of a record and its continuations: each physical record ends at its '/'."""
    out: list[str] = []
    for part in rec.parts:
        out.extend(part.split("/", 1)[0].split(","))
    return out


def _field(fields: list[str], i: int) -> str:
    return fields[i].strip() if i < len(fields) else ""


def _amount(text: str, rec: _Record, what: str, signed: bool = False) -> int:
    """Cents without a decimal point; blank is no amount (0). Bounded by what the ledger holds."""
    t = text.strip()
    if t == "":
        return 0
    body = t[1:] if signed and t[:1] in "+-" else t
    if not body.isdigit():
        raise ImportRefused(f"{rec.where}: {what} {t[:24]!r} is not an amount in cents")
    digits = len(body.lstrip("0"))
    if digits > MAX_AMOUNT_DIGITS:
        raise ImportRefused(f"{rec.where}: {what} {t[:24]!r} has {digits} digits: too large for the ledger "
                            f"(at most {money.fmt_dollars(MAX_AMOUNT_CENTS)})")
    return -int(body) if t.startswith("-") else int(body)


def _int(text: str, rec: _Record, what: str) -> int:
    t = text.strip()
    if not t.isdigit():
        raise ImportRefused(f"{rec.where}: {what} {t[:24]!r} is not a number")
    if len(t.lstrip("0")) > MAX_COUNT_DIGITS:
        raise ImportRefused(f"{rec.where}: {what} {t[:24]!r} is too large (at most {MAX_COUNT_DIGITS} digits)")
    return int(t)


def _type_code(text: str, rec: _Record) -> int:
    t = text.strip()
    if len(t) != 3 or not t.isdigit():
        raise ImportRefused(f"{rec.where}: type code {t[:10]!r} is not three digits")
    return int(t)


def _yymmdd(text: str, rec: _Record, what: str = "date") -> dt.date | None:
    t = text.strip()
    if not t:
        return None
    try:
        return dt.datetime.strptime(t, "%y%m%d").date()
    except ValueError:
        raise ImportRefused(f"{rec.where}: {what} {t[:10]!r} is not YYMMDD") from None


def _hhmm(text: str, rec: _Record, what: str) -> str:
    """A time as HHMM; banks also write HH:MM. 2400 and 9999 both mean the end of the day."""
    t = text.strip()
    if not t:
        return ""
    hhmm = t.replace(":", "")
    if len(hhmm) == 4 and hhmm.isdigit() and (hhmm == "9999" or (int(hhmm[:2]) <= 24 and int(hhmm[2:]) <= 59
                                                                  and (hhmm[:2] != "24" or hhmm == "2400"))):
        return hhmm
    raise ImportRefused(f"{rec.where}: {what} {t[:10]!r} is not a time (HHMM or HH:MM)")


def _funds(fields: list[str], i: int, rec: _Record) -> int:
    """fields[i] is a funds type: read it and what it carries; return the index after them.
    0, 1, 2: availability in days; Z or blank: unknown; S: immediate, one-day and
    two-or-more-day amounts; V: value date and time; D: a count, then days and amount pairs."""
    ftype = _field(fields, i).upper()
    i += 1
    if ftype in ("", "0", "1", "2", "Z"):
        return i
    if ftype == "S":
        for k, what in enumerate(("immediate", "one-day", "two-or-more-day")):
            _amount(_field(fields, i + k), rec, f"{what} availability amount", signed=True)
        return i + 3
    if ftype == "V":
        if _yymmdd(_field(fields, i), rec, "value date") is None:
            raise ImportRefused(f"{rec.where}: funds type V without its value date")
        _hhmm(_field(fields, i + 1), rec, "value time")
        return i + 2
    if ftype == "D":
        n = _int(_field(fields, i), rec, "number of distributions")
        if n > MAX_DISTRIBUTIONS:
            raise ImportRefused(f"{rec.where}: {n} availability distributions (at most {MAX_DISTRIBUTIONS})")
        for k in range(n):
            _int(_field(fields, i + 1 + 2 * k), rec, "availability days")
            _amount(_field(fields, i + 2 + 2 * k), rec, "distributed amount", signed=True)
        return i + 1 + 2 * n
    raise ImportRefused(f"{rec.where}: unknown funds type {ftype[:4]!r} (0, 1, 2, S, V, D or Z)")


def _detail(rec: _Record) -> tuple[list[str], str]:
    """A 16's fields before its text, and the text: it runs to the end of the record and on
    through its 88 continuations (joined by a space); a '/' at the end of a record is no text."""
    tokens: list[tuple[int, str]] = []
    for k, part in enumerate(rec.parts):
        body = part.rstrip()
        body = body[:-1] if body.endswith("/") else body
        tokens.extend((k, f) for f in body.split(","))
    fields = [f for _, f in tokens]
    i = _funds(fields, 2, rec) + 2            # type code, amount, funds type (and its fields), bank ref, customer ref
    text_parts: dict[int, list[str]] = {}
    for k, f in tokens[i:]:
        text_parts.setdefault(k, []).append(f)
    text = " ".join(",".join(fs).strip() for fs in text_parts.values()).strip()
    return [f.strip() for f in fields[:i]] + [""] * max(0, i - len(fields)), " ".join(text.split())


def _not_a_payment(type_code: int) -> str:
    """Why a 16 of this type code is not a payment ('' for a credit, which is)."""
    if 100 <= type_code <= 399:
        return ""
    if 400 <= type_code <= 699:
        return f"debit (type {type_code})"
    if 700 <= type_code <= 799:
        return f"loan detail (type {type_code})"
    return f"type {type_code} is neither a credit nor a debit"


def _file_identity(rec: _Record, f: list[str]) -> tuple[str, dt.date | None]:
    """The 01 record's sender, receiver, creation date and time, file id: the bank's name for this file."""
    sender, receiver, file_id = _field(f, 0), _field(f, 1), _field(f, 4)
    created = _yymmdd(_field(f, 2), rec, "file creation date")
    at = _hhmm(_field(f, 3), rec, "file creation time")
    version = _field(f, 7)
    if version not in ("", "2"):
        raise ImportRefused(f"{rec.where}: BAI version {version[:4]!r}: only version 2 files are read")
    if not (sender and receiver and created and file_id):
        raise ImportRefused(f"{rec.where}: the file header needs the sender, receiver, creation date and "
                            f"file id")
    key = "|".join((sender, receiver, f"{created:%y%m%d}", at, file_id))
    if len(key) > BANK_FILE_ID_MAX:
        raise ImportRefused(f"{rec.where}: the file header's identifiers are too long ({len(key)} characters)")
    return key, created


def _currency(text: str, rec: _Record, default: str) -> str:
    cur = text.strip().upper() or default
    if cur != "USD":
        what = "group" if rec.code == "02" else "account"
        raise ImportRefused(f"{rec.where}: the {what} is in {cur[:8]}, not US dollars (USD): "
                            f"only US dollar payments are imported")
    return cur


def parse_bai2(text: str) -> ParsedFile:
    """Parse a BAI2 file and check every control total and record count. Credits
    (type codes 100-399) are the payments; debits and other details are listed as skipped."""
    lines = _bai2_lines(text)
    recs = _bai2_records(lines)
    if not recs or recs[0].code != "01":
        raise ImportRefused("Not a BAI2 file: the first record must be 01 (file header)")
    payments: list[FilePayment] = []
    skipped: list[SkippedItem] = []
    state = "file"          # file -> group -> account
    file_total = group_total = acct_total = 0
    file_records = group_records = acct_records = 0
    groups = accounts_in_group = 0
    acct_no = group_currency = ""
    bank_file_id = ""
    as_of: dt.date | None = None
    ended = False
    for rec in recs:
        where = rec.where
        if ended:
            raise ImportRefused(f"{where}: after the 99 file trailer")
        file_records += rec.physical
        group_records += rec.physical
        acct_records += rec.physical
        if rec.code == "16":
            if state != "account":
                raise ImportRefused(f"{where}: transaction detail outside an account (no 03 before it)")
            f, note = _detail(rec)
            type_code = _type_code(f[0], rec)
            cents = _amount(f[1], rec, "amount")
            acct_total += cents
            bank_ref, cust_ref = f[-2], f[-1]
            why = _not_a_payment(type_code) or ("" if cents else "zero amount")
            if why:
                skipped.append(SkippedItem(rec.no, type_code, cents, bank_ref, cust_ref, note, why))
                continue
            if len(cust_ref) > ACCOUNT_TEXT_MAX:
                raise ImportRefused(f"{where}: customer reference {cust_ref[:20]!r}... has {len(cust_ref)} "
                                    f"characters (at most {ACCOUNT_TEXT_MAX})")
            m = _CHECK_IN_TEXT.search(note)
            check_no = m.group(1) if m else ""
            payer = (_CHECK_IN_TEXT.sub("", note) if m else note).strip(" ,;-")
            payments.append(FilePayment(rec.no, cust_ref, cents, check_no, payer[:80], as_of, bank_ref[:40]))
            continue
        f = _fields(rec)
        if rec.code == "01":
            if rec is not recs[0]:
                raise ImportRefused(f"{where}: a second file header")
            bank_file_id, _ = _file_identity(rec, f)
        elif rec.code == "02":
            if state != "file":
                raise ImportRefused(f"{where}: group header inside a group (98 trailer missing?)")
            status = _field(f, 2)
            if status in GROUP_STATUSES:
                raise ImportRefused(f"{where}: group status {status} ({GROUP_STATUSES[status]}): only a group "
                                    f"sent as an update (1) is imported")
            if status not in ("", "1"):
                raise ImportRefused(f"{where}: unknown group status {status[:4]!r}")
            as_of = _yymmdd(_field(f, 3), rec, "as-of date") or as_of
            _hhmm(_field(f, 4), rec, "as-of time")
            group_currency = _currency(_field(f, 5), rec, "USD")
            state, group_total, group_records, accounts_in_group = "group", 0, rec.physical, 0
            groups += 1
        elif rec.code == "03":
            if state != "group":
                raise ImportRefused(f"{where}: account header outside a group, or inside an account "
                                    f"(49 trailer missing?)")
            state, acct_total, acct_records = "account", 0, rec.physical
            accounts_in_group += 1
            acct_no = _field(f, 0)
            _currency(_field(f, 1), rec, group_currency)
            i = 2
            while i < len(f):    # type code, amount, item count, funds type: balances and summaries
                if not f[i].strip():
                    if any(x.strip() for x in f[i:]):
                        raise ImportRefused(f"{where}: an amount without its type code (field {i + 2})")
                    break
                _type_code(f[i], rec)
                acct_total += _amount(_field(f, i + 1), rec, "summary amount", signed=True)
                if _field(f, i + 2):
                    _int(f[i + 2], rec, "item count")
                i = _funds(f, i + 3, rec)
        elif rec.code == "49":
            if state != "account":
                raise ImportRefused(f"{where}: account trailer without an account header")
            if not _field(f, 0):
                raise ImportRefused(f"{where}: account {acct_no} has no control total")
            stated = _amount(_field(f, 0), rec, "account control total", signed=True)
            count = _int(_field(f, 1), rec, "number of records")
            if stated != acct_total:
                raise ImportRefused(f"{where}: account {acct_no} control total {money.fmt(stated)} but its "
                                    f"records add to {money.fmt(acct_total)}")
            if count != acct_records:
                raise ImportRefused(f"{where}: account {acct_no} says {count} records but has {acct_records}")
            group_total += acct_total
            state = "group"
        elif rec.code == "98":
            if state != "group":
                raise ImportRefused(f"{where}: group trailer " +
                                    ("inside an account (49 trailer missing?)" if state == "account"
                                     else "without a group header"))
            n_accts = _int(_field(f, 1), rec, "number of accounts")
            count = _int(_field(f, 2), rec, "number of records")
            if _field(f, 0):     # some banks leave a trailer's total blank: the 49s have checked the amounts
                stated = _amount(f[0], rec, "group control total", signed=True)
                if stated != group_total:
                    raise ImportRefused(f"{where}: group control total {money.fmt(stated)} but its accounts "
                                        f"add to {money.fmt(group_total)}")
            if n_accts != accounts_in_group:
                raise ImportRefused(f"{where}: group says {n_accts} accounts but has {accounts_in_group}")
            if count != group_records:
                raise ImportRefused(f"{where}: group says {count} records but has {group_records}")
            file_total += group_total
            state = "file"
        elif rec.code == "99":
            if state != "file":
                raise ImportRefused(f"{where}: file trailer inside a group or account (a trailer is missing)")
            n_groups = _int(_field(f, 1), rec, "number of groups")
            count = _int(_field(f, 2), rec, "number of records")
            if _field(f, 0):
                stated = _amount(f[0], rec, "file control total", signed=True)
                if stated != file_total:
                    raise ImportRefused(f"{where}: file control total {money.fmt(stated)} but its groups add "
                                        f"to {money.fmt(file_total)}")
            if n_groups != groups:
                raise ImportRefused(f"{where}: file says {n_groups} groups but has {groups}")
            if count != file_records:
                raise ImportRefused(f"{where}: file says {count} records but has {file_records}")
            ended = True
    if not ended:
        raise ImportRefused(f"The file ends without its 99 trailer after record {len(lines)}: truncated?")
    if not payments and not skipped:
        raise ImportRefused("The BAI2 file has no transactions (16 records)")
    return ParsedFile("bai2", payments, sum(p.amount_cents for p in payments), as_of, tuple(skipped),
                      _digest("\n".join(lines)), bank_file_id)


# ---- detection and import -------------------------------------------------------------

def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_bytes(data: bytes, mapping: Mapping[str, str] | None = None) -> ParsedFile:
    """Detect the format (BAI2 starts with an 01 record, else a CSV with a header row) and parse."""
    if b"\x00" in data[:4096]:
        raise ImportRefused("This is not a text file (a CSV or BAI2 bank file was expected)")
    text = decode(data)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise ImportRefused("The file is empty")
    if first.startswith("01,"):
        return parse_bai2(text)
    if "," not in first and "\t" not in first:
        raise ImportRefused("Not a bank file: neither a CSV with a header row nor BAI2 (01 record first)")
    if "\t" in first and "," not in first:
        text = text.replace("\t", ",")
    return parse_csv(text, mapping)


def mapping_from_settings(settings) -> dict[str, str] | None:
    """The CSV column mapping from the config file's [lockbox_csv_columns] table, if any."""
    m = settings.lockbox_csv_columns
    return dict(m) if m else None


def _classify(payments: list[FilePayment]) -> list[tuple[FilePayment, int | None, str]]:
    """-> (payment, account id or None, exception reason or '')."""
    numbers = set()
    for p in payments:
        t = p.account_text.strip().lstrip("0")
        if t.isdigit() and len(t) <= MAX_ACCOUNT_DIGITS and valid_account_number(t):
            numbers.add(int(t))
    found: dict[int, tuple[int, str]] = {}
    listed = sorted(numbers)
    for i in range(0, len(listed), CHUNK):
        for aid, number, status in (db.Account.select(db.Account.id, db.Account.number, db.Account.status)
                                    .where(db.Account.number.in_(listed[i:i + CHUNK])).tuples()):
            found[number] = (aid, status)
    out = []
    for p in payments:
        raw = p.account_text.strip()
        t = raw.lstrip("0")
        if not raw:
            reason = "no account number"
        elif not raw.isdigit():
            reason = f"account {raw[:20]!r} is not digits"
        elif len(t) > MAX_ACCOUNT_DIGITS:
            reason = f"account {raw[:24]} is too long for an account number"
        elif not valid_account_number(t or "0"):
            reason = f"account {raw[:20]} fails its check digit"
        elif int(t) not in found:
            reason = f"no account {t}"
        elif found[int(t)][1] in batches.CLOSED_STATUSES:
            reason = f"account {t} is {'final-billed' if found[int(t)][1] == 'final' else 'closed'}"
        elif p.amount_cents > batches.MAX_LINE_CENTS:
            reason = f"amount over the {money.fmt_dollars(batches.MAX_LINE_CENTS)} line limit"
        else:
            out.append((p, found[int(t)][0], ""))
            continue
        out.append((p, None, reason))
    return out


@db.connected
def import_file(op: OperatorInfo, path: str | Path, mapping: Mapping[str, str] | None = None, *,
                post: bool = False, tender: str = "lockbox", batch_date: dt.date | None = None) -> ImportResult:
    """Import a lockbox CSV or BAI2 file: check it whole, refuse a file seen
    before, make a batch of the matched payments and queue the rest as
    exceptions, in one transaction. With `post`, post the batch after."""
    require(op, "payment.import")
    if tender not in ("lockbox", "ach"):
        raise ValidationError("An imported batch is tender lockbox or ach", "tender")
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImportRefused(f"Cannot read {p}: {exc.strerror or exc}") from exc
    parsed = parse_bytes(data, mapping)
    # Files imported before normalised digests were kept are known by their bytes.
    _refuse_if_seen(parsed, hashlib.sha256(data).hexdigest())
    if parsed.total_cents > MAX_LEDGER_CENTS:
        raise ImportRefused(f"The file's {len(parsed.payments):,} payments add to more than the ledger holds")
    classified = _classify(parsed.payments)
    matched = [(fp, aid) for fp, aid, reason in classified if aid is not None]
    excepted = [(fp, reason) for fp, aid, reason in classified if aid is None]
    m_total = sum(fp.amount_cents for fp, _ in matched)
    x_total = sum(fp.amount_cents for fp, _ in excepted)
    assert m_total + x_total == parsed.total_cents
    try:
        imp_id, batch_id, batch_number = _apply(op, p.name, parsed, matched, excepted, tender, batch_date)
    except (OverflowError, DataError) as exc:
        # The bounds above keep every number inside its column; should one still not fit,
        # the transaction is rolled back and the operator gets a reason, not a traceback.
        raise ImportRefused(f"A number in {p.name} is too large for the database: nothing applied "
                            f"({type(exc).__name__})") from exc
    posted = False
    if post and batch_id:
        batches.post_batch(op, batch_id)
        posted = True
    return ImportResult(imp_id, parsed.format, p.name, len(parsed.payments), parsed.total_cents, batch_id,
                        batch_number, len(matched), m_total, len(excepted), x_total, posted, parsed.skipped)


def _apply(op: OperatorInfo, name: str, parsed: ParsedFile, matched: list[tuple[FilePayment, int]],
           excepted: list[tuple[FilePayment, str]], tender: str,
           batch_date: dt.date | None) -> tuple[int, int | None, int | None]:
    """Write the import, its batch and its exceptions in one transaction."""
    m_total = sum(fp.amount_cents for fp, _ in matched)
    x_total = sum(fp.amount_cents for fp, _ in excepted)
    batch_id = batch_number = None
    with db.write_txn():
        try:
            with db.database.atomic():
                imp = db.PaymentImport.create(
                    sha256=parsed.digest, bank_file_id=parsed.bank_file_id or None, filename=name[:255],
                    format=parsed.format, operator=op.id, record_count=len(parsed.payments),
                    total_cents=parsed.total_cents, matched_count=len(matched), matched_total_cents=m_total,
                    exception_count=len(excepted), exception_total_cents=x_total)
        except IntegrityError:
            raise DuplicateImport(f"{name} was already imported (the same bank file)") from None
        if matched:
            day = batch_date or parsed.as_of or dt.date.today()
            batch_id = batches.create_batch(op, tender, len(matched), m_total, batch_date=day, source="imported",
                                            payment_import_id=imp.id)
            batch_number = db.PaymentBatch.get_by_id(batch_id).number
            now = db.now()
            L = db.BatchLine
            batches.insert_rows(
                L, (L.batch, L.seq, L.account, L.account_text, L.amount_cents, L.check_no, L.tender, L.source,
                    L.status, L.unapplied, L.unapplied_reason, L.warnings_ack, L.created_at, L.operator),
                [(batch_id, seq, aid, fp.account_text.strip()[:24], fp.amount_cents, fp.check_no, tender,
                  "imported", "active", False, "", "", now, op.id)
                 for seq, (fp, aid) in enumerate(matched, start=1)])
            db.PaymentBatch.update(status="balanced").where(db.PaymentBatch.id == batch_id).execute()
        X = db.PaymentException
        batches.insert_rows(
            X, (X.payment_import, X.record_no, X.account_text, X.amount_cents, X.check_no, X.payer_name,
                X.payment_date, X.reason, X.status, X.resolution),
            [(imp.id, fp.record_no, fp.account_text.strip(), fp.amount_cents, fp.check_no, fp.payer_name,
              fp.payment_date, reason[:120], "open", "") for fp, reason in excepted])
        skipped = (f"; skipped {len(parsed.skipped)} not payments "
                   f"{money.fmt(sum(s.amount_cents for s in parsed.skipped))}" if parsed.skipped else "")
        audit.record(op, "payment.import", "payment_import", imp.id,
                     after=f"{name} {parsed.format} {len(parsed.payments)} payments "
                           f"{money.fmt(parsed.total_cents)}; batch {batch_number or '-'} {len(matched)}; "
                           f"exceptions {len(excepted)} {money.fmt(x_total)}{skipped}")
    return imp.id, batch_id, batch_number


def _refuse_if_seen(parsed: ParsedFile, raw_digest: str) -> None:
    I = db.PaymentImport
    seen = I.sha256.in_([parsed.digest, raw_digest])
    if parsed.bank_file_id:
        seen |= I.bank_file_id == parsed.bank_file_id
    row = (I.select(I.filename, I.imported_at, db.Operator.username, I.sha256).join(db.Operator, JOIN.LEFT_OUTER)
           .where(seen).tuples().first())
    if row:
        name, at, user, digest = row
        same = "This file" if digest in (parsed.digest, raw_digest) else \
            f"The bank's file {parsed.bank_file_id.split('|')[-1]} (same sender, receiver, creation date and time)"
        raise DuplicateImport(f"{same} was already imported as {name} on {at:%m/%d/%Y %H:%M} by "
                              f"{user or 'system'}: not applied again")


# ---- the exceptions queue -------------------------------------------------------------------

def _exception_query():
    X, I, O = db.PaymentException, db.PaymentImport, db.Operator
    return (X.select(X.id, X.payment_import, I.filename, X.record_no, X.account_text, X.amount_cents, X.check_no,
                     X.payer_name, X.payment_date, X.reason, X.status, X.resolution, O.username, X.resolved_at,
                     X.batch_line)
            .join(I, on=(X.payment_import == I.id))
            .switch(X).join(O, JOIN.LEFT_OUTER, on=(X.resolved_by == O.id)))


def _exceptions(q) -> list[ExceptionInfo]:
    return [ExceptionInfo(*r[:12], r[12] or "", r[13], r[14]) for r in q.tuples()]


def get_exception(exc_id: int) -> ExceptionInfo:
    found = _exceptions(_exception_query().where(db.PaymentException.id == exc_id))
    if not found:
        raise NotFound("No such exception")
    return found[0]


def list_exceptions(status: str | None = "open", limit: int = 50, offset: int = 0) -> list[ExceptionInfo]:
    """Oldest first (work the queue in order); status None for all."""
    q = _exception_query()
    if status:
        q = q.where(db.PaymentException.status == status)
    return _exceptions(q.order_by(db.PaymentException.id).limit(limit).offset(offset))


def open_exception_count() -> int:
    """How many payments wait in the exceptions queue."""
    return db.PaymentException.select().where(db.PaymentException.status == "open").count()


def open_exceptions_batch(op: OperatorInfo) -> int:
    """The open batch that worked exceptions go into, made when there is none (caller's transaction)."""
    B = db.PaymentBatch
    row = (B.select(B.id).where(B.source == "exceptions", B.status.in_(batches.EDITABLE))
           .order_by(B.id.desc()).first())
    if row:
        return row.id
    return batches.create_batch(op, "lockbox", 0, 0, source="exceptions")


def resolve_exception(op: OperatorInfo, exc_id: int, account_text: str, *, batch_id: int | None = None,
                      ack: Iterable[str | batches.LineWarning] = (), reason: str = "") -> batches.LineInfo:
    """Apply an exception to the account the MSR found: a line in `batch_id`
    or in the open exceptions batch (whose controls grow by this payment).
    The line warnings apply as in keying (`ack`, `reason`)."""
    require(op, "payment.key")
    account = batches.account_row(account_text)
    with db.write_txn():
        x = db.PaymentException.get_or_none(db.PaymentException.id == exc_id)
        if x is None:
            raise NotFound("No such exception")
        if db.PaymentImport.get_by_id(x.payment_import_id).format == "ach":
            raise ValidationError("This is an ACH return or change from the bank, not a payment: work it by hand "
                                  "and return it from the queue with what was done", "exception")
        batches.check_amount(x.amount_cents)
        target = batch_id or open_exceptions_batch(op)
        b = batches.locked_batch(target)
        batches.require_editable(b)
        claimed = (db.PaymentException.update(status="applied", resolved_by=op.id, resolved_at=db.now(),
                                              resolution=f"applied to {account.number} in batch {b.number}")
                   .where(db.PaymentException.id == exc_id, db.PaymentException.status == "open").execute())
        if claimed != 1:
            raise ServiceError(f"This exception was already {db.PaymentException.get_by_id(exc_id).status}")
        line_id = batches.insert_line(op, b, account, str(account_text).strip(), x.amount_cents, x.check_no,
                                      b.tender, "imported", batches.ack_codes(ack), reason).id
        if b.source == "exceptions":
            db.PaymentBatch.update(control_count=db.PaymentBatch.control_count + 1,
                                   control_total_cents=db.PaymentBatch.control_total_cents + x.amount_cents
                                   ).where(db.PaymentBatch.id == b.id).execute()
        db.PaymentException.update(batch_line=line_id).where(db.PaymentException.id == exc_id).execute()
        audit.record(op, "exception.apply", "payment_exception", exc_id, account_id=account.id,
                     before=f"{x.account_text or '(none)'}: {x.reason}",
                     after=f"applied to {account.number} batch {b.number} {money.fmt(x.amount_cents)}")
    return batches.get_line(line_id)


def return_exception(op: OperatorInfo, exc_id: int, reason: str) -> ExceptionInfo:
    """Send an exception back (to the bank / the payer): never applied to any account."""
    require(op, "payment.key")
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give a reason for returning the payment", "reason")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        x = db.PaymentException.get_or_none(db.PaymentException.id == exc_id)
        if x is None:
            raise NotFound("No such exception")
        claimed = (db.PaymentException.update(status="returned", resolved_by=op.id, resolved_at=db.now(),
                                              resolution=reason[:200])
                   .where(db.PaymentException.id == exc_id, db.PaymentException.status == "open").execute())
        if claimed != 1:
            raise ServiceError(f"This exception was already {db.PaymentException.get_by_id(exc_id).status}")
        audit.record(op, "exception.return", "payment_exception", exc_id,
                     before=f"{x.account_text or '(none)'} {money.fmt(x.amount_cents)}: {x.reason}",
                     after=f"returned: {reason[:150]}")
    return get_exception(exc_id)
