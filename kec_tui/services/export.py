"""`kec-tui export DIR`: the co-op's data as CSV files for its own reports.

Members, locations, meters, accounts, flags, deposits, balances (aged as of a day), readings,
bills and notes are written in the conversion's layouts (services/conversion.py), so an export
converts back as it is; the ledger, service orders, the audit log and every other table are
written column for column. Rows are streamed from the database (a server-side cursor on
PostgreSQL), never held whole. The tax ID is only ever the last 4 here; bank routing and
account numbers (and any column of another table that holds one) are masked to their last 4
unless the operator holds `sensitive.view`; the audit log only for `audit.view`. Every export
is audited, saying which.
"""
from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kec_tui import db
from kec_tui.services import aging, audit
from kec_tui.services.conversion import BUCKETS, LAYOUTS
from kec_tui.services.errors import ValidationError
from kec_tui.services.operators import OperatorInfo, require

# Tables written in the conversion's layouts, or not at all (derived, or secrets).
_SKIP = {"kec_meta", "search_term", "search_pair", "seal", "sign_in_attempt", "member", "service_location",
         "meter", "account", "reading", "bill", "note", "location_grid", "operator"}
_AUDIT_ONLY = {"audit_log", "key_stats"}      # supervisors' (audit.view) only
_SECRET_COLUMNS = re.compile(r"password|hash|salt|secret|token|claim")
_SENSITIVE_COLUMNS = re.compile(r"bank_account|bank_routing|routing|tax_id|card_number|pan$|dfi_account")


@dataclass
class ExportResult:
    directory: Path
    files: dict[str, int] = field(default_factory=dict)     # file -> rows
    masked: bool = True
    as_of: dt.date | None = None
    seconds: float = 0.0


def _mask(value) -> str:
    text = "" if value is None else str(value)
    return f"****{text[-4:]}" if text else ""


def _dollars(cents) -> str:
    c = int(cents or 0)
    sign = "-" if c < 0 else ""
    whole, frac = divmod(abs(c), 100)
    return f"{sign}{whole}.{frac:02d}"


def _s(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0).isoformat(" ")
    if isinstance(v, (dt.date, str)):
        return v if isinstance(v, str) else v.isoformat()
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).hex()
    return str(v)


_cursor_no = itertools.count(1)


def _stream(sql: str, params: tuple = ()) -> Iterator[tuple]:
    """The rows of a query, a few thousand at a time."""
    if db.is_postgres():
        # A cursor on the server, inside the export's transaction: only 5,000 rows in memory at once.
        name = f"kec_export_{next(_cursor_no)}"
        db.database.execute_sql(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
        try:
            while rows := db.database.execute_sql(f"FETCH 5000 FROM {name}").fetchall():
                yield from rows
        finally:
            db.database.execute_sql(f"CLOSE {name}")
    else:
        cur = db.database.execute_sql(sql, params)
        while rows := cur.fetchmany(5000):
            yield from rows


def _write(directory: Path, name: str, header: Iterable[str], rows: Iterable[Iterable]) -> int:
    n = 0
    with (directory / name).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for chunk in iter(lambda: list(itertools.islice(rows, 5000)), []):
            w.writerows(chunk)
            n += len(chunk)
    return n


def _header(name: str) -> list[str]:
    required, optional = LAYOUTS[name]
    return list(required + optional)


@db.connected
def export_all(op: OperatorInfo, directory: Path | str, as_of: dt.date | None = None,
               progress: Callable[[str, int], None] | None = None) -> ExportResult:
    """Write every table to CSV in `directory` (made if missing); balances aged as of `as_of`
    (default today). `progress(file, rows)` after each file."""
    require(op, "account.view")
    started = time.perf_counter()
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"Cannot make {directory}: {exc.strerror or exc}", "directory") from exc
    as_of = as_of or dt.date.today()
    full = op.can("sensitive.view")
    result = ExportResult(directory, masked=not full, as_of=as_of)
    p = db.database.param

    def done(name: str, n: int) -> None:
        result.files[name] = n
        if progress:
            progress(name, n)

    with db.database.atomic():      # one snapshot of the data (and PostgreSQL's cursors need it)
        bank = (lambda v: _s(v)) if full else (lambda v: _mask(v) if v else "")
        done("members.csv", _write(directory, "members.csv", _header("members.csv"), (
            (no, last, first, f"***-**-{l4}" if l4 else "", _s(birth), ph, pm, pw_, email, st, city, state, zip_,
             pref, _s(joined), bank(routing), bank(acct))
            for no, last, first, l4, birth, ph, pm, pw_, email, st, city, state, zip_, pref, joined, routing, acct
            in _stream('SELECT member_no, last_name, first_name, tax_id_last4, birth_date, phone_home, phone_mobile, '
                       'phone_work, email, mail_street, mail_city, mail_state, mail_zip, preferred_contact, joined, '
                       'bank_routing, bank_account FROM "member" ORDER BY id'))))
        done("locations.csv", _write(directory, "locations.csv", _header("locations.csv"), (
            tuple(_s(v) for v in r) for r in _stream(
                'SELECT l.location_no, l.street, l.city, l.zip, l.state, l.map_location, l.owner_name, '
                'l.owner_phone, g.substation, g.feeder, g.transformer FROM "service_location" l '
                'LEFT JOIN "location_grid" g ON g.location_id = l.id ORDER BY l.id'))))
        done("meters.csv", _write(directory, "meters.csv", _header("meters.csv"), (
            tuple(_s(v) for v in r) for r in _stream(
                'SELECT m.meter_no, l.location_no, m.multiplier, m.installed FROM "meter" m '
                'LEFT JOIN "service_location" l ON l.id = m.location_id ORDER BY m.id'))))
        done("accounts.csv", _write(directory, "accounts.csv", _header("accounts.csv"), (
            tuple(_s(v) for v in r) for r in _stream(
                'SELECT a.number, m.member_no, l.location_no, a.rate_class, a.opened, mt.meter_no, a.status, '
                'a.bill_cycle, a.closed, t.number FROM "account" a JOIN "member" m ON m.id = a.member_id '
                'JOIN "service_location" l ON l.id = a.location_id LEFT JOIN "meter" mt ON mt.id = a.meter_id '
                'LEFT JOIN "account" t ON t.id = a.transferred_to_id ORDER BY a.id'))))
        done("flags.csv", _write(directory, "flags.csv", _header("flags.csv"), _flag_rows()))
        done("deposits.csv", _write(directory, "deposits.csv", _header("deposits.csv"), (
            (number, _dollars(c)) for number, c in _stream(
                'SELECT number, deposit_cents FROM "account" WHERE deposit_cents <> 0 ORDER BY id'))))
        done("balances.csv", _write(directory, "balances.csv", _header("balances.csv"), _balance_rows(as_of)))
        done("readings.csv", _write(directory, "readings.csv", _header("readings.csv"), (
            tuple(_s(v) for v in r) for r in _stream(
                'SELECT a.number, r.read_date, r.reading, r.kwh, m.meter_no, r.demand_kw, r.reverse_kwh, r.source '
                'FROM "reading" r JOIN "account" a ON a.id = r.account_id LEFT JOIN "meter" m ON m.id = r.meter_id '
                'ORDER BY r.account_id, r.read_date, r.id'))))
        done("bills.csv", _write(directory, "bills.csv", _header("bills.csv"), _bill_rows()))
        done("notes.csv", _write(directory, "notes.csv", _header("notes.csv"), (
            (number, _s(at), text, user or "") for number, at, text, user in _stream(
                'SELECT a.number, n.created_at, n.text, o.username FROM "note" n JOIN "account" a ON '
                'a.id = n.account_id LEFT JOIN "operator" o ON o.id = n.operator_id ORDER BY n.id'))))
        done("operators.csv", _write(directory, "operators.csv", ["username", "name", "role", "active"], (
            (u, nm, role, _s(active)) for u, nm, role, active in _stream(
                'SELECT username, name, role, active FROM "operator" ORDER BY id'))))
        done("ledger.csv", _write(directory, "ledger.csv", [
            "id", "account", "posted_at", "effective", "kind", "amount", "description", "reference", "due_date",
            "operator", "reverses"], (
            (i, number, _s(at), _s(eff), kind, _dollars(c), desc, ref, _s(due), user or "", _s(rev))
            for i, number, at, eff, kind, c, desc, ref, due, user, rev in _stream(
                'SELECT e.id, a.number, e.posted_at, e.effective, e.kind, e.amount_cents, e.description, '
                'e.reference, e.due_date, o.username, e.reverses_id FROM "ledger_entry" e JOIN "account" a ON '
                f'a.id = e.account_id LEFT JOIN "operator" o ON o.id = e.operator_id WHERE e.id > {p} ORDER BY e.id',
                (0,)))))
        for model in db.MODELS:
            table = model._meta.table_name
            if table in _SKIP or table == "ledger_entry" or (table in _AUDIT_ONLY and not op.can("audit.view")):
                continue
            done(f"{table}.csv", _dump(directory, model, full))
    audit.record(op, "sensitive.view" if full else "export", "export", None, field="export",
                 after=f"{len(result.files)} files to {str(directory)[:120]}; bank numbers "
                       f"{'in full' if full else 'masked'}")
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _dump(directory: Path, model, full: bool) -> int:
    """A table column for column (and the account number beside an account id); secrets left
    out, sensitive numbers masked unless `full`."""
    fields = [f for f in model._meta.sorted_fields if not _SECRET_COLUMNS.search(f.column_name)]
    cols = [f.column_name for f in fields]
    masked = [not full and bool(_SENSITIVE_COLUMNS.search(c)) for c in cols]
    table = model._meta.table_name
    order = ", ".join(f't."{f.column_name}"' for f in model._meta.get_primary_keys())
    select = ", ".join(f't."{c}"' for c in cols)
    account = model._meta.fields.get("account")
    if isinstance(account, db.pw.ForeignKeyField) and account.rel_model is db.Account:
        sql = (f'SELECT {select}, a."number" FROM "{table}" t LEFT JOIN "account" a '
               f'ON a."id" = t."{account.column_name}" ORDER BY {order}')
        cols, masked = cols + ["account_number"], masked + [False]
    else:
        sql = f'SELECT {select} FROM "{table}" t ORDER BY {order}'
    return _write(directory, f"{table}.csv", cols, (
        tuple(_mask(v) if m and v not in (None, "") else _s(v) for v, m in zip(r, masked, strict=True))
        for r in _stream(sql)))


def _flag_rows() -> Iterator[tuple]:
    for number, cash, medical, landlord, bankrupt, coll, budget, winter, household in _stream(
            'SELECT number, cash_only_until, medical_cert_until, landlord, bankruptcy, collections, budget_billing, '
            'winter_protection_until, winter_household FROM "account" WHERE cash_only_until IS NOT NULL OR '
            'medical_cert_until IS NOT NULL OR landlord OR bankruptcy OR collections OR budget_billing OR '
            'winter_protection_until IS NOT NULL ORDER BY id'):
        if cash:
            yield number, "cash_only", _s(cash), ""
        if medical:
            yield number, "medical", _s(medical), ""
        for flag, on in (("landlord", landlord), ("bankruptcy", bankrupt), ("collections", coll),
                         ("budget_billing", budget)):
            if on:
                yield number, flag, "", ""
        if winter:
            yield number, "winter_protection", _s(winter), household or ""


def _balance_rows(as_of: dt.date) -> Iterator[tuple]:
    """Every account: its balance aged as of the day (services/aging.py), with the due date of its
    oldest current charge; an account owing nothing a row of zeros, so a conversion run again
    brings a balance paid off since to zero too."""
    owed, params = aging.owed_sql(as_of)
    p = db.database.param
    due_current = {a: db.as_date(d) for a, d in db.database.execute_sql(
        f"{owed} SELECT a, MIN(due) FROM unpaid WHERE due >= {p} GROUP BY a",
        (*params, db.sql_date(as_of))).fetchall()}
    aged = {r.number: r for r in aging.aged_rows(as_of)}
    zero = (as_of.isoformat(), _dollars(0), *(_dollars(0) for _ in BUCKETS), "")
    for (number,) in _stream('SELECT "number" FROM "account" ORDER BY "number"'):
        r = aged.get(number)
        if r is None:
            yield (number, *zero)
            continue
        buckets = r.aged.buckets()
        due = due_current.get(r.account_id)
        yield (r.number, as_of.isoformat(), _dollars(r.aged.total), *(_dollars(c) for c in buckets),
               due.isoformat() if due and r.aged.current > 0 else "")
    assert len(BUCKETS) == 5


_FINAL = re.compile(r"Final bill: ([\d,]+) kWh, (\d+) days")     # as moves and the demo describe it


def _bill_rows() -> Iterator[tuple]:
    """The bills (Bill rows), and the bill entries of the ledger that have none (history
    posted without a billing run: a demo co-op, a converted one)."""
    linked = set()
    for (lid,) in _stream('SELECT ledger_entry_id FROM "bill" WHERE ledger_entry_id IS NOT NULL'):
        linked.add(lid)
    for r in _stream(
            'SELECT a.number, b.bill_date, b.due_date, b.total_cents, b.period_start, b.period_end, b.schedule, '
            'b.kwh, b.charged_cents, b.kind, b.status FROM "bill" b JOIN "account" a ON a.id = b.account_id '
            'ORDER BY b.account_id, b.bill_date, b.id'):
        number, day, due, total, start, end, sched, kwh, charged, kind, status = r
        yield (number, _s(day), _s(due), _dollars(total), _s(start), _s(end), sched, kwh, _dollars(charged), kind,
               status)
    # The kWh of such a bill: the account's reading in the days before it (the demo reads 2 days
    # before), found by walking the readings beside the bills, both in account order.
    readings = _stream('SELECT account_id, read_date, kwh FROM "reading" ORDER BY account_id, read_date')
    pending: tuple | None = next(readings, None)
    for i, aid, number, day, due, cents, rate, ref, desc in _stream(
            'SELECT e.id, e.account_id, a.number, e.effective, e.due_date, e.amount_cents, a.rate_class, '
            'e.reference, e.description FROM "ledger_entry" e JOIN "account" a ON a.id = e.account_id '
            'WHERE e.kind = \'bill\' ORDER BY e.account_id, e.effective, e.id'):
        if i in linked:
            continue
        day = db.as_date(day)
        final = ref == "FINAL" and _FINAL.match(desc or "")
        if final:       # a move's final bill (often the day of a regular one): its own kWh and days
            kwh, start = final.group(1).replace(",", ""), day - dt.timedelta(days=int(final.group(2)))
            yield (number, day.isoformat(), _s(due or day), _dollars(cents), start.isoformat(), day.isoformat(), rate,
                   kwh, "", "final", "billed")
            continue
        while pending is not None and (pending[0] < aid or (pending[0] == aid and db.as_date(pending[1]) < day
                                                            - dt.timedelta(days=6))):
            pending = next(readings, None)
        kwh = end = ""
        if pending is not None and pending[0] == aid and db.as_date(pending[1]) <= day:
            end, kwh = db.as_date(pending[1]).isoformat(), str(pending[2])
        yield (number, day.isoformat(), _s(due or day), _dollars(cents), "", end, rate, kwh, "", "regular", "billed")
    readings.close()
