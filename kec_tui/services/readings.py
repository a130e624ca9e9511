"""Meter readings for billing: one keyed at the line, or many from an AMI/handheld CSV.

A reading is refused with the reasons at the line, and saved once the operator has
acknowledged each one it may acknowledge (the way batches.key_line takes `ack`):
- `lower`: below the last reading. Acknowledged as `rollover` (the dials went round:
  a 5-dial meter from 99,987 to 00,112 used 125 kWh); otherwise it is a mis-read.
- `zero`: no use on an active account.
- `high` / `low`: far above / below the same month last year and the 12 months'
  average (factors are settings: `reading_high_factor`, `reading_low_factor`).
- `wrong_meter`: the meter is not the account's (never acknowledged: key the right one).
An AMI import saves the good reads and puts every refused one in the exceptions queue.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from peewee import JOIN, fn

from kec_tui import config, db
from kec_tui.services import audit, orders
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

MAX_READING = 999_999_999
ACKABLE = {"rollover", "zero", "high", "low"}
BILLED_STATUSES = ("active", "disconnected", "pending")


@dataclass(frozen=True)
class ReadingRules:
    high_factor: Decimal = Decimal("2.0")  # above this many times the reference use: high
    low_factor: Decimal = Decimal("0.4")  # below this many times: low
    dials: int = 5  # a meter's register rolls over at 10**dials
    same_month_days: int = 20  # "same month last year": a read within this many days of a year ago


def rules_from(settings: config.Settings) -> ReadingRules:
    try:
        return ReadingRules(
            Decimal(str(settings.reading_high_factor)),
            Decimal(str(settings.reading_low_factor)),
            int(settings.meter_dials),
        )
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"Reading thresholds must be numbers: {exc}") from exc


_rules = ReadingRules()


def configure(settings: config.Settings) -> ReadingRules:
    global _rules
    _rules = rules_from(settings)
    return _rules


@dataclass(frozen=True)
class Issue:
    code: str
    message: str


class ReadingRefused(ServiceError):
    """The reading has exceptions the operator has not acknowledged."""

    def __init__(self, issues: list[Issue]):
        super().__init__("; ".join(i.message for i in issues), "reading")
        self.issues = issues

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.issues]


@dataclass(frozen=True)
class ReadingResult:
    id: int
    account_number: int
    meter_no: str
    read_date: dt.date
    reading: int
    kwh: int
    acknowledged: tuple[str, ...]


def parse_reading(text: str | int, field: str = "reading") -> int:
    if isinstance(text, bool):
        raise ValidationError("A reading is the digits on the register", field)
    if isinstance(text, int):
        value = text
    else:
        t = str(text).strip().replace(",", "")
        if not t.isdigit():
            raise ValidationError(f"A reading is the digits on the register, not {str(text).strip()[:12]!r}", field)
        value = int(t)
    if not 0 <= value <= MAX_READING:
        raise ValidationError("A reading is a whole number, 0 or more", field)
    return value


def parse_demand(text: str | Decimal | None) -> Decimal | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        d = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValidationError(f"Demand is kW such as 45.5, not {str(text)[:12]!r}", "demand") from exc
    if not d.is_finite() or d < 0 or d > 100000:
        raise ValidationError("Demand is kW, 0 or more", "demand")
    return d.quantize(Decimal("0.001"))


def _meter(meter_no: str) -> db.Meter:
    row = db.Meter.get_or_none(db.Meter.meter_no == str(meter_no).strip())
    if row is None:
        raise NotFound(f"No meter {str(meter_no).strip()}", "meter")
    return row


def _account_for(meter: db.Meter, account_number: int | None) -> tuple[db.Account | None, list[Issue]]:
    """The account billed on this meter; with `account_number`, that account (and an
    issue if the meter is not its own)."""
    if account_number is not None:
        a = db.Account.get_or_none(db.Account.number == int(account_number))
        if a is None:
            raise NotFound(f"No account {account_number}", "account")
        if a.meter_id != meter.id:
            return a, [Issue("wrong_meter", f"Meter {meter.meter_no} is not on account {a.number}: key its own meter")]
        return a, []
    a = (
        db.Account.select()
        .where(db.Account.meter == meter.id, db.Account.status.in_(BILLED_STATUSES))
        .order_by(db.Account.id.desc())
        .first()
    )
    if a is None:
        raise NotFound(f"Meter {meter.meter_no} is on no open account", "meter")
    return a, []


def last_reading(account_id: int, meter_id: int) -> db.Reading | None:
    R = db.Reading
    return (
        R.select().where(R.account == account_id, R.meter == meter_id).order_by(R.read_date.desc(), R.id.desc()).first()
    )


def usage_references(
    account_id: int, read_date: dt.date, rules: ReadingRules | None = None
) -> tuple[int | None, int | None]:
    """(kWh of the read nearest a year before, average kWh of the 12 months before), None where unknown."""
    rules = rules or _rules
    R = db.Reading
    year_ago = read_date - dt.timedelta(days=365)
    window = dt.timedelta(days=rules.same_month_days)
    near_rows = list(
        R.select(R.read_date, R.kwh)
        .where(
            R.account == account_id, R.source != "estimated", R.read_date.between(year_ago - window, year_ago + window)
        )
        .tuples()
    )
    near = min(near_rows, key=lambda r: abs((r[0] - year_ago).days))[1] if near_rows else None
    avg = (
        R.select(fn.AVG(R.kwh))
        .where(R.account == account_id, R.read_date > year_ago, R.read_date < read_date, R.source != "estimated")
        .scalar()
    )
    return near, (int(Decimal(str(avg)).quantize(Decimal(1))) if avg is not None else None)


def usage_issues(
    kwh: int, last_year: int | None, average: int | None, rules: ReadingRules | None = None
) -> list[Issue]:
    """High or low against every reference there is (and each is far off)."""
    rules = rules or _rules
    refs = [
        (name, v)
        for name, v in (("same month last year", last_year), ("12-month average", average))
        if v is not None and v > 0
    ]
    if not refs or kwh == 0:
        return []
    if all(kwh > v * rules.high_factor for _, v in refs):
        return [Issue("high", f"{kwh:,} kWh is high: {_words(refs)}")]
    if all(kwh < v * rules.low_factor for _, v in refs):
        return [Issue("low", f"{kwh:,} kWh is low: {_words(refs)}")]
    return []


def _words(refs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {v:,}" for name, v in refs)


def check(
    meter_no: str,
    reading_text: str | int,
    *,
    read_date: dt.date | None = None,
    account_number: int | None = None,
    ack: Iterable[str] = (),
) -> tuple[db.Account, db.Meter, db.Reading | None, int, int, list[Issue]]:
    """Everything key_reading checks, without writing: (account, meter, last, reading, kWh, issues)."""
    reading = parse_reading(reading_text)
    read_date = read_date or dt.date.today()
    meter = _meter(meter_no)
    account, issues = _account_for(meter, account_number)
    last = last_reading(account.id, meter.id)
    ack = set(ack)
    kwh = 0
    if last is not None:
        # Digits beyond the meter's dials (or its register so far) and one more (a register going past
        # 99,999 on a meter with more dials than the setting says) are a mis-key, never high use.
        shows = max(_rules.dials, len(str(last.reading)))
        if len(str(reading)) > shows + 1:
            raise ValidationError(f"Reading {reading:,} has {len(str(reading))} digits, meter {meter.meter_no} "
                                  f"{shows} (last {last.reading:,}): a mis-key", "reading")
        if read_date < last.read_date:
            raise ValidationError(
                f"The last reading is dated {last.read_date:%m/%d/%Y}, after {read_date:%m/%d/%Y}", "date"
            )
        if reading < last.reading:
            turn = 10 ** max(_rules.dials, len(str(last.reading)))
            over = (turn - last.reading + reading) * meter.multiplier
            if "rollover" in ack:
                kwh = over
            else:
                issues.append(
                    Issue(
                        "lower",
                        f"Reading {reading:,} is lower than the last {last.reading:,} "
                        f"({last.read_date:%m/%d/%Y}): a rollover gives {over:,} kWh, "
                        f"or it is a mis-read",
                    )
                )
        else:
            kwh = (reading - last.reading) * meter.multiplier
    if last is not None and kwh == 0 and account.status == "active" and not any(i.code == "lower" for i in issues):
        issues.append(Issue("zero", f"No use since {last.read_date:%m/%d/%Y} on an active account"))
    if kwh:
        issues += usage_issues(kwh, *usage_references(account.id, read_date))
    return account, meter, last, reading, kwh, issues


@db.connected
def key_reading(
    op: OperatorInfo,
    meter_no: str,
    reading_text: str | int,
    *,
    read_date: dt.date | None = None,
    demand_kw: str | Decimal | None = None,
    reverse_kwh: int = 0,
    account_number: int | None = None,
    ack: Iterable[str] = (),
    source: str = "keyed",
) -> ReadingResult:
    """Check and save one reading, committed before this returns. Raises ReadingRefused
    with the exceptions not acknowledged in `ack` (codes, `rollover` for `lower`)."""
    require(op, "reading.key")
    demand = parse_demand(demand_kw)
    if isinstance(reverse_kwh, bool) or not isinstance(reverse_kwh, int) or reverse_kwh < 0:
        raise ValidationError("Reverse kWh is a whole number, 0 or more", "reverse")
    read_date = read_date or dt.date.today()
    if read_date > dt.date.today() + dt.timedelta(days=1):     # a day's slack: a head-end's clock in UTC
        raise ValidationError(f"Read date {read_date:%m/%d/%Y} is in the future: a meter is read on or before "
                              "today", "date")
    ack = set(ack)
    with db.write_txn():
        account, meter, last, reading, kwh, issues = check(
            meter_no, reading_text, read_date=read_date, account_number=account_number, ack=ack
        )
        open_ = [i for i in issues if i.code not in ack or i.code not in ACKABLE]
        if open_:
            raise ReadingRefused(open_)
        taken = tuple(sorted(ack & ({"rollover"} | {i.code for i in issues})))
        row = db.Reading.create(
            account=account.id,
            meter=meter.id,
            read_date=read_date,
            reading=reading,
            kwh=kwh,
            demand_kw=demand,
            reverse_kwh=reverse_kwh,
            source=source,
        )
        audit.record(
            op,
            "reading.key",
            "reading",
            row.id,
            account_id=account.id,
            field=meter.meter_no,
            before=str(last.reading) if last else "",
            after=f"{reading} ({kwh:,} kWh) {read_date:%m/%d/%Y} {source}"
            + (f" ack {','.join(taken)}" if taken else ""),
        )
    return ReadingResult(row.id, account.number, meter.meter_no, read_date, reading, kwh, taken)


# ---- the route: what the reading entry screen walks, meter by meter ----------------------------------


@dataclass(frozen=True)
class RouteMeter:
    account_number: int
    meter_no: str
    name: str
    address: str
    last_reading: int | None
    last_date: dt.date | None


@db.connected
def route(cycle: int) -> list[RouteMeter]:
    """The meters to read in a bill cycle, in route order (the service location's map location,
    then its number: the data has no routes of their own), with each one's last reading."""
    A, M, L, Mb, R = db.Account, db.Meter, db.ServiceLocation, db.Member, db.Reading
    rows = list(
        A.select(A.id, A.number, A.meter, M.meter_no, Mb.first_name, Mb.last_name, L.street, L.city)
        .join(M, on=(A.meter == M.id))
        .switch(A)
        .join(L, on=(A.location == L.id))
        .switch(A)
        .join(Mb, on=(A.member == Mb.id))
        .where(A.bill_cycle == int(cycle), A.status.in_(BILLED_STATUSES))
        .order_by(L.map_location, L.location_no, A.number)
        .tuples()
    )
    latest = (
        R.select(R.account, R.meter, fn.MAX(R.read_date).alias("day"))
        .where(R.account.in_([r[0] for r in rows]))
        .group_by(R.account, R.meter)
    )
    last: dict[tuple[int, int], tuple[dt.date, int, int]] = {}
    for aid, mid, day, rid, reading in (
        R.select(R.account, R.meter, R.read_date, R.id, R.reading)
        .join(
            latest,
            on=(
                (R.account == latest.c.account_id) & (R.meter == latest.c.meter_id) & (R.read_date == latest.c.day)
            ),
        )
        .tuples()
    ):
        if last.get((aid, mid), (day, -1))[1] < rid:
            last[(aid, mid)] = (day, rid, reading)
    out = []
    for aid, number, mid, meter_no, first, last_name, street, city in rows:
        seen = last.get((aid, mid))
        out.append(
            RouteMeter(
                number,
                meter_no,
                f"{first} {last_name}".strip(),
                f"{street}, {city}",
                seen[2] if seen else None,
                seen[0] if seen else None,
            )
        )
    return out


# ---- AMI / handheld import and the exceptions queue -------------------------------------------------


@dataclass(frozen=True)
class ImportLine:
    """A row of an import that was not written: its line in the file and why."""

    line: int
    meter_no: str
    codes: tuple[str, ...]
    message: str
    queued: bool  # False: the same read was in the queue already


@dataclass(frozen=True)
class ImportResult:
    rows: int
    saved: int
    duplicates: int
    exceptions: int
    lines: tuple[ImportLine, ...] = ()

    @property
    def refused(self) -> int:
        """Rows whose values are not a reading at all (letters, an unknown meter, a bad date), queued too."""
        return sum(1 for x in self.lines if x.queued and not set(x.codes) & (ACKABLE | {"lower", "wrong_meter"}))


AMI_COLUMNS = {"meter", "read_at", "reading"}


def _read_day(text: str) -> dt.date:
    t = text.strip()
    try:
        return dt.datetime.fromisoformat(t).date() if ("T" in t or " " in t) else dt.date.fromisoformat(t)
    except ValueError as exc:
        raise ValidationError(f"Read date {t[:20]!r} is not YYYY-MM-DD[ HH:MM]", "date") from exc


@db.connected
def import_ami_csv(
    op: OperatorInfo, text: str, name: str = "ami.csv", progress: Callable[[int, int], None] | None = None
) -> ImportResult:
    """Register reads from a CSV with a header (meter, read_at, reading, optional demand_kw
    and reverse_kwh). A header without those columns refuses the file whole (nothing is
    written). Otherwise each row stands alone: good reads are saved, each committed; a read
    already stored (meter and day) is skipped, so a file imported twice adds nothing; every
    refused read (an exception, or a value that is no reading) goes to the queue, and is
    listed in the result with its line number. `progress(done, total)` is called as rows
    are done (about every 1%, and at the end)."""
    require(op, "reading.key")
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower() for c in (reader.fieldnames or [])}
    if not AMI_COLUMNS <= cols:
        raise ValidationError(
            f"{name}: the header must name {', '.join(sorted(AMI_COLUMNS))} "
            f"(found {', '.join(sorted(cols)) or 'nothing'})",
            "file",
        )
    try:
        records = [(reader.line_num, raw) for raw in reader]
    except csv.Error as exc:
        raise ValidationError(f"{name} line {reader.line_num}: not a CSV row ({exc})", "file") from exc
    total = len(records)
    step = max(1, total // 100)
    if progress:
        progress(0, total)
    rows = saved = dups = exceptions = 0
    lines: list[ImportLine] = []
    for done, (n, raw) in enumerate(records, start=1):
        rec = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        if not any(rec.values()):
            continue                        # a row of empty cells (,,,): no read, nothing to queue
        rows += 1
        if progress and done % step == 0 and done < total:
            progress(done, total)
        try:
            day = _read_day(rec["read_at"])
            meter = db.Meter.get_or_none(db.Meter.meter_no == rec["meter"])
            if meter and db.Reading.select().where(db.Reading.meter == meter.id, db.Reading.read_date == day).exists():
                dups += 1
                continue
            key_reading(
                op,
                rec["meter"],
                rec["reading"],
                read_date=day,
                demand_kw=rec.get("demand_kw") or None,
                reverse_kwh=int(rec.get("reverse_kwh") or 0) if (rec.get("reverse_kwh") or "0").isdigit() else -1,
                source="ami",
            )
            saved += 1
        except ReadingRefused as exc:
            codes, message = ",".join(exc.codes), exc.message
        except ServiceError as exc:
            codes, message = exc.field or "invalid", exc.message
        else:
            continue
        queued = _queue("ami", name, n, rec, codes, message)
        lines.append(ImportLine(n, rec.get("meter", ""), tuple(codes.split(",")), message, queued))
        exceptions += queued
        dups += not queued
    if progress:
        progress(total, total)
    audit.record(
        op,
        "reading.import",
        "reading_import",
        None,
        field=name[:40],
        after=f"{rows} rows: {saved} saved, {dups} already stored, {exceptions} to the queue",
    )
    return ImportResult(rows, saved, dups, exceptions, tuple(lines))


def _queue(source, name, record_no, rec, codes, message) -> bool:
    """Put a refused read in the queue, once (the same meter, day and reading are queued once)."""
    X = db.ReadingException
    meter = db.Meter.get_or_none(db.Meter.meter_no == rec.get("meter", ""))
    account = None
    if meter:
        account = (
            db.Account.select(db.Account.id).where(db.Account.meter == meter.id).order_by(db.Account.id.desc()).scalar()
        )
    try:
        day = _read_day(rec.get("read_at", ""))
    except ValidationError:
        day = None
    with db.write_txn():
        if (
            X.select()
            .where(
                X.meter_no == rec.get("meter", "")[:20],
                X.read_date == day,
                X.reading_text == rec.get("reading", "")[:20],
            )
            .exists()
        ):
            return False
        X.create(
            source=source,
            import_name=name[:255],
            record_no=record_no,
            meter_no=rec.get("meter", "")[:20],
            account=account,
            read_date=day,
            reading_text=rec.get("reading", "")[:20],
            demand_text=rec.get("demand_kw", "")[:20],
            codes=codes[:80],
            message=message[:300],
        )
    return True


@dataclass(frozen=True)
class QueuedReading:
    id: int
    source: str
    meter_no: str
    read_date: dt.date | None
    reading_text: str
    codes: tuple[str, ...]
    message: str


@db.connected
def open_exceptions(limit: int = 100, offset: int = 0) -> list[QueuedReading]:
    X = db.ReadingException
    q = X.select().where(X.status == "open").order_by(X.id).limit(limit).offset(offset)
    return [
        QueuedReading(x.id, x.source, x.meter_no, x.read_date, x.reading_text, tuple(x.codes.split(",")), x.message)
        for x in q
    ]


CODE_WORDS = {
    "lower": "lower than last",
    "zero": "no use",
    "high": "high use",
    "low": "low use",
    "wrong_meter": "not its meter",
    "reading": "not a reading",
    "meter": "unknown meter",
    "date": "bad date",
    "demand": "bad demand kW",
    "reverse": "bad reverse kWh",
    "account": "no such account",
    "invalid": "invalid",
}


def codes_in_words(codes: Iterable[str]) -> str:
    """"lower,high" as a person says it: "lower than the last, high use"."""
    return ", ".join(CODE_WORDS.get(c, c) for c in codes if c)


def acknowledgement(codes: Iterable[str]) -> tuple[str, ...] | None:
    """The ack that saves a reading refused for `codes` (a lower one as a rollover), or None
    when one of them may not be acknowledged (a meter not the account's, no reading at all)."""
    ack = tuple("rollover" if c == "lower" else c for c in codes)
    return ack if all(c in ACKABLE for c in ack) else None


@dataclass(frozen=True)
class ExceptionRow:
    """A queued reading as the queue screen shows it: whose it is, what was read, why it was refused."""

    id: int
    source: str  # keyed, ami
    import_name: str
    record_no: int  # the line of the AMI file
    meter_no: str
    account_number: int | None
    name: str
    read_date: dt.date | None
    reading_text: str
    last_reading: int | None
    last_date: dt.date | None
    codes: tuple[str, ...]
    message: str

    @property
    def where(self) -> str:
        return f"{self.import_name or 'AMI file'} line {self.record_no}" if self.source == "ami" else "keyed"


@db.connected
def open_exception_count() -> int:
    return db.ReadingException.select().where(db.ReadingException.status == "open").count()


@db.connected
def exception_rows(limit: int = 50, offset: int = 0, after_id: int | None = None) -> list[ExceptionRow]:
    """A page of the open exceptions, oldest first, with each account, member and last reading
    (`after_id`: the page after that row, however many before it were worked meanwhile)."""
    X, A, Mb = db.ReadingException, db.Account, db.Member
    q = (
        X.select(X, A.number.alias("acct_number"), A.meter.alias("acct_meter"), Mb.first_name, Mb.last_name)
        .join(A, JOIN.LEFT_OUTER, on=(X.account == A.id))
        .join(Mb, JOIN.LEFT_OUTER, on=(A.member == Mb.id))
        .where(X.status == "open", X.id > (after_id or 0))
        .order_by(X.id)
        .limit(limit)
        .offset(offset)
        .objects()
    )
    out = []
    for x in q:
        last = last_reading(x.account_id, x.acct_meter) if x.account_id is not None else None
        out.append(
            ExceptionRow(
                x.id,
                x.source,
                x.import_name,
                x.record_no,
                x.meter_no,
                x.acct_number,
                f"{x.first_name or ''} {x.last_name or ''}".strip(),
                x.read_date,
                x.reading_text,
                last.reading if last else None,
                last.read_date if last else None,
                tuple(c for c in x.codes.split(",") if c),
                x.message,
            )
        )
    return out


def _close(op: OperatorInfo, x_id: int, status: str) -> None:
    n = (
        db.ReadingException.update(status=status, resolved_by=op.id, resolved_at=db.now())
        .where(db.ReadingException.id == x_id, db.ReadingException.status == "open")
        .execute()
    )
    if n != 1:
        raise ServiceError("Someone else worked this exception meanwhile")


def _open_exception(exception_id: int) -> db.ReadingException:
    x = db.ReadingException.get_or_none(db.ReadingException.id == exception_id)
    if x is None or x.status != "open":
        raise NotFound("No open reading exception with that id")
    return x


@db.connected
def accept_exception(op: OperatorInfo, exception_id: int, ack: Iterable[str]) -> ReadingResult:
    """Save a queued read with the exceptions the operator acknowledged; the queue row is closed
    (in the same transaction: saved and closed, or neither)."""
    x = _open_exception(exception_id)
    with db.write_txn():
        result = key_reading(
            op,
            x.meter_no,
            x.reading_text,
            read_date=x.read_date,
            demand_kw=x.demand_text or None,
            ack=ack,
            source=x.source,
        )
        _close(op, x.id, "accepted")
    return result


@db.connected
def correct_exception(op: OperatorInfo, exception_id: int, reading_text: str, ack: Iterable[str] = ()) -> ReadingResult:
    """Save the corrected reading of a queued read (the same checks as one keyed at the line:
    ReadingRefused with what is still wrong); the queue row is closed as corrected."""
    x = _open_exception(exception_id)
    with db.write_txn():
        result = key_reading(
            op,
            x.meter_no,
            reading_text,
            read_date=x.read_date,
            demand_kw=x.demand_text or None,
            ack=ack,
            source=x.source,
        )
        _close(op, x.id, "corrected")
        audit.record(
            op,
            "reading.correct",
            "reading_exception",
            x.id,
            account_id=x.account_id,
            field=x.meter_no,
            before=x.reading_text,
            after=str(result.reading),
        )
    return result


@db.connected
def queue_refused(
    op: OperatorInfo, meter_no: str, reading_text: str, refused: ReadingRefused, *, read_date: dt.date | None = None
) -> int:
    """A reading refused at the line goes to the exceptions queue (to be re-read or worked later)."""
    require(op, "reading.key")
    rec = {
        "meter": str(meter_no).strip(),
        "read_at": (read_date or dt.date.today()).isoformat(),
        "reading": str(reading_text).strip(),
    }
    _queue("keyed", "", 0, rec, ",".join(refused.codes), refused.message)
    X = db.ReadingException
    return (
        X.select(X.id)
        .where(X.meter_no == rec["meter"][:20], X.reading_text == rec["reading"][:20])
        .order_by(X.id.desc())
        .scalar()
    )


@db.connected
def reread_order(op: OperatorInfo, exception_id: int, due_date: dt.date | None = None) -> int:
    """An exception becomes a meter re-read service order (one key on the screen): the order
    names the refused reading and why; the exception is closed as sent to re-read. Returns
    the order number."""
    require(op, "reading.key")
    X = db.ReadingException
    with db.write_txn():
        x = db.locked(X, exception_id)
        if x is None or x.status != "open":
            raise NotFound("No open reading exception with that id")
        if x.account_id is None:
            raise ValidationError(f"Meter {x.meter_no or '?'} is on no account: fix the meter number instead", "meter")
        a = db.Account.get_by_id(x.account_id)
        o = orders.new_order(
            op,
            a,
            "reread",
            priority=2,
            due_date=due_date,
            notes=f"Re-read meter {x.meter_no}: {x.reading_text} refused ({x.codes}): {x.message}"[:500],
        )
        X.update(status="reread", resolved_by=op.id, resolved_at=db.now()).where(X.id == x.id).execute()
        audit.record(
            op, "reading.reread", "reading_exception", x.id, account_id=a.id, field=x.codes, after=f"order {o.order_no}"
        )
    return o.order_no
