"""Electronic payments: bank lockbox CSV and BAI2 files, imported once, with an exceptions queue.

Everything in a file is checked before anything is applied: a BAI2 file's
49/98/99 control totals and record counts, a CSV's header and every row (and
its total row, if the bank sends one). A file that fails is refused whole
with a message naming the line or record. The sha256 of the file's bytes
refuses the same file twice.

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

from peewee import JOIN, IntegrityError

from kec_tui import db, money
from kec_tui.checkdigit import valid_account_number
from kec_tui.services import audit, batches
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
class ParsedFile:
    format: str               # csv, bai2
    payments: list[FilePayment]
    total_cents: int
    as_of: dt.date | None = None


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


def _dollars(text: str, where: str) -> int:
    raw = text.strip()
    m = _DOLLARS.match(raw)
    if not m:
        if raw.startswith("-") or raw.startswith("(") or raw.endswith("-"):
            raise ImportRefused(f"{where}: amount {raw[:20]!r} is negative: not a payment")
        raise ImportRefused(f"{where}: amount {raw[:20]!r} is not dollars with a decimal point (like 123.45)")
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
        payments.append(FilePayment(line_no, account, cents, cell("check_no")[:20], cell("payer_name")[:80],
                                    _parse_date(cell("payment_date"), where)))
        total += cents
    if not payments:
        raise ImportRefused("The file has a header row but no payments")
    return ParsedFile("csv", payments, total)


# ---- BAI2 ---------------------------------------------------------------------------

@dataclass
class _Record:
    no: int                 # physical record number of its first line
    code: str
    raw: str                # fields after the record code, continuations joined
    physical: int = 1       # 1 + its 88 continuation records


def _bai2_records(text: str) -> list[_Record]:
    out: list[_Record] = []
    n = 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        n += 1
        code, _, rest = line.partition(",")
        code = code.strip()
        if code == "88":
            if not out:
                raise ImportRefused(f"Record {n} (88): a continuation with nothing before it")
            prev = out[-1]
            prev.raw = (prev.raw[:-1] if prev.raw.endswith("/") else prev.raw) + "," + rest
            prev.physical += 1
            continue
        if code not in ("01", "02", "03", "16", "49", "98", "99"):
            raise ImportRefused(f"Record {n}: unknown BAI2 record type {code[:4]!r}")
        out.append(_Record(n, code, rest))
    return out


def _fields(rec: _Record) -> list[str]:
    """Fields of a record up to its '/' delimiter (a 16's text runs to the end)."""
    if rec.code == "16":
        raw = rec.raw[:-1] if rec.raw.endswith("/") else rec.raw
        return raw.split(",")
    return rec.raw.split("/", 1)[0].split(",")


def _amount(text: str, rec: _Record, what: str, signed: bool = False) -> int:
    t = text.strip()
    if t == "":
        return 0
    body = t[1:] if signed and t[:1] in "+-" else t
    if not body.isdigit():
        raise ImportRefused(f"Record {rec.no} ({rec.code}): {what} {t[:20]!r} is not an amount in cents")
    return -int(body) if t.startswith("-") else int(body)


def _int(text: str, rec: _Record, what: str) -> int:
    t = text.strip()
    if not t.isdigit():
        raise ImportRefused(f"Record {rec.no} ({rec.code}): {what} {t[:20]!r} is not a number")
    return int(t)


def _yymmdd(text: str, rec: _Record) -> dt.date | None:
    t = text.strip()
    if not t:
        return None
    try:
        return dt.datetime.strptime(t, "%y%m%d").date()
    except ValueError:
        raise ImportRefused(f"Record {rec.no} ({rec.code}): date {t[:10]!r} is not YYMMDD") from None


def _skip_funds(fields: list[str], i: int, rec: _Record) -> int:
    """fields[i] is a funds type; return the index after it and its extra fields."""
    ftype = fields[i].strip().upper() if i < len(fields) else ""
    i += 1
    if ftype == "S":
        return i + 3
    if ftype == "V":
        return i + 2
    if ftype == "D":
        n = _int(fields[i] if i < len(fields) else "", rec, "distribution count")
        return i + 1 + 2 * n
    if ftype not in ("", "0", "1", "2", "Z"):
        raise ImportRefused(f"Record {rec.no} ({rec.code}): unknown funds type {ftype!r}")
    return i


def parse_bai2(text: str) -> ParsedFile:
    """Parse a BAI2 file and check every control total and record count."""
    recs = _bai2_records(text)
    if not recs or recs[0].code != "01":
        raise ImportRefused("Not a BAI2 file: the first record must be 01 (file header)")
    payments: list[FilePayment] = []
    state = "file"          # file -> group -> account
    file_total = group_total = acct_total = 0
    file_records = group_records = acct_records = 0
    groups = accounts_in_group = 0
    acct_no = ""
    as_of: dt.date | None = None
    ended = False
    for rec in recs:
        if ended:
            raise ImportRefused(f"Record {rec.no} ({rec.code}): after the 99 file trailer")
        f = _fields(rec)
        file_records += rec.physical
        group_records += rec.physical
        acct_records += rec.physical
        where = f"Record {rec.no} ({rec.code})"
        if rec.code == "01":
            if rec is not recs[0]:
                raise ImportRefused(f"{where}: a second file header")
            file_records = rec.physical
        elif rec.code == "02":
            if state != "file":
                raise ImportRefused(f"{where}: group header inside a group (98 trailer missing?)")
            state, group_total, group_records, accounts_in_group = "group", 0, rec.physical, 0
            as_of = _yymmdd(f[3] if len(f) > 3 else "", rec) or as_of
            groups += 1
        elif rec.code == "03":
            if state != "group":
                raise ImportRefused(f"{where}: account header outside a group, or inside an account "
                                    f"(49 trailer missing?)")
            state, acct_total, acct_records = "account", 0, rec.physical
            accounts_in_group += 1
            acct_no = f[0].strip() if f else ""
            i = 2
            while i < len(f) and f[i].strip():
                acct_total += _amount(f[i + 1] if i + 1 < len(f) else "", rec, "summary amount", signed=True)
                i = _skip_funds(f, i + 3, rec)   # type code, amount, item count, funds type
        elif rec.code == "16":
            if state != "account":
                raise ImportRefused(f"{where}: transaction detail outside an account (no 03 before it)")
            if len(f) < 3:
                raise ImportRefused(f"{where}: too few fields for a transaction detail")
            type_code = _int(f[0], rec, "type code")
            cents = _amount(f[1], rec, "amount")
            i = _skip_funds(f, 2, rec)
            bank_ref = f[i].strip() if i < len(f) else ""
            cust_ref = f[i + 1].strip() if i + 1 < len(f) else ""
            note = ",".join(f[i + 2:]).strip() if i + 2 < len(f) else ""
            if not 100 <= type_code <= 399:
                raise ImportRefused(f"{where}: type code {type_code} is not a credit; only payments "
                                    f"(credits 100-399) can be imported")
            if cents <= 0:
                raise ImportRefused(f"{where}: amount is zero: not a payment")
            acct_total += cents
            m = _CHECK_IN_TEXT.search(note)
            check_no = m.group(1) if m else ""
            payer = (_CHECK_IN_TEXT.sub("", note) if m else note).strip(" ,;-")
            payments.append(FilePayment(rec.no, cust_ref, cents, check_no[:20], payer[:80], as_of, bank_ref[:40]))
        elif rec.code == "49":
            if state != "account":
                raise ImportRefused(f"{where}: account trailer without an account header")
            stated = _amount(f[0] if f else "", rec, "account control total", signed=True)
            count = _int(f[1] if len(f) > 1 else "", rec, "number of records")
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
            stated = _amount(f[0] if f else "", rec, "group control total", signed=True)
            n_accts = _int(f[1] if len(f) > 1 else "", rec, "number of accounts")
            count = _int(f[2] if len(f) > 2 else "", rec, "number of records")
            if stated != group_total:
                raise ImportRefused(f"{where}: group control total {money.fmt(stated)} but its accounts add "
                                    f"to {money.fmt(group_total)}")
            if n_accts != accounts_in_group:
                raise ImportRefused(f"{where}: group says {n_accts} accounts but has {accounts_in_group}")
            if count != group_records:
                raise ImportRefused(f"{where}: group says {count} records but has {group_records}")
            file_total += group_total
            state = "file"
        elif rec.code == "99":
            if state != "file":
                raise ImportRefused(f"{where}: file trailer inside a group or account (a trailer is missing)")
            stated = _amount(f[0] if f else "", rec, "file control total", signed=True)
            n_groups = _int(f[1] if len(f) > 1 else "", rec, "number of groups")
            count = _int(f[2] if len(f) > 2 else "", rec, "number of records")
            if stated != file_total:
                raise ImportRefused(f"{where}: file control total {money.fmt(stated)} but its groups add to "
                                    f"{money.fmt(file_total)}")
            if n_groups != groups:
                raise ImportRefused(f"{where}: file says {n_groups} groups but has {groups}")
            if count != file_records:
                raise ImportRefused(f"{where}: file says {count} records but has {file_records}")
            ended = True
    if not ended:
        raise ImportRefused(f"The file ends without its 99 trailer after record {recs[-1].no}: truncated?")
    if not payments:
        raise ImportRefused("The BAI2 file has no payments (16 records)")
    return ParsedFile("bai2", payments, sum(p.amount_cents for p in payments), as_of)


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
        if t.isdigit() and valid_account_number(t):
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
    digest = hashlib.sha256(data).hexdigest()
    _refuse_if_seen(digest)
    parsed = parse_bytes(data, mapping)
    classified = _classify(parsed.payments)
    matched = [(fp, aid) for fp, aid, reason in classified if aid is not None]
    excepted = [(fp, reason) for fp, aid, reason in classified if aid is None]
    m_total = sum(fp.amount_cents for fp, _ in matched)
    x_total = sum(fp.amount_cents for fp, _ in excepted)
    assert m_total + x_total == parsed.total_cents
    batch_id = batch_number = None
    with db.write_txn():
        try:
            with db.database.atomic():
                imp = db.PaymentImport.create(
                    sha256=digest, filename=p.name[:255], format=parsed.format, operator=op.id,
                    record_count=len(parsed.payments), total_cents=parsed.total_cents,
                    matched_count=len(matched), matched_total_cents=m_total,
                    exception_count=len(excepted), exception_total_cents=x_total)
        except IntegrityError:
            raise DuplicateImport(f"{p.name} was already imported (the same file content)") from None
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
            [(imp.id, fp.record_no, fp.account_text.strip()[:40], fp.amount_cents, fp.check_no, fp.payer_name,
              fp.payment_date, reason[:120], "open", "") for fp, reason in excepted])
        audit.record(op, "payment.import", "payment_import", imp.id,
                     after=f"{p.name} {parsed.format} {len(parsed.payments)} payments "
                           f"{money.fmt(parsed.total_cents)}; batch {batch_number or '-'} {len(matched)}; "
                           f"exceptions {len(excepted)} {money.fmt(x_total)}")
    posted = False
    if post and batch_id:
        batches.post_batch(op, batch_id)
        posted = True
    return ImportResult(imp.id, parsed.format, p.name, len(parsed.payments), parsed.total_cents, batch_id,
                        batch_number, len(matched), m_total, len(excepted), x_total, posted)


def _refuse_if_seen(digest: str) -> None:
    I = db.PaymentImport
    row = (I.select(I.filename, I.imported_at, db.Operator.username).join(db.Operator, JOIN.LEFT_OUTER)
           .where(I.sha256 == digest).tuples().first())
    if row:
        name, at, user = row
        raise DuplicateImport(f"This file was already imported as {name} on {at:%m/%d/%Y %H:%M} by "
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
                                      b.tender, "imported", batches.ack_codes(ack), reason)
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
