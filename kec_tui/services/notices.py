"""Disconnect notices by the rules (Idaho PUC, IDAPA 31.21.01): the notice run, the final
contact attempt, the disconnect order from a notice, what cancels it, and the reconnect.

The notice run of a day (one a day: previewed, then committed exactly once, run_claim.py as
the late-fee run) sends a written notice to each active account past due longer than
`notice_after_days` by at least `notice_min_past_due_cents`, unless collection is held on it
for a notice (collection_holds.NOTICE_HOLDS: bankruptcy, a kept arrangement) or it has a notice
still good. Each notice is a letter (letters.py, template `disconnect_notice`: a PDF logged on
the account) and a line of the print vendor's file (CSV, fixed columns, VENDOR_COLUMNS), both in
notices-YYYY-MM-DD/ in the letters' directory.

A notice allows a disconnection from `notice_days` (7) calendar days after it (moved on to a
day a disconnection may be) up to `notice_valid_days` (21) after it; after that a new notice is
needed. The final contact attempt (phone, result) is logged at least `final_contact_hours` (24)
before the disconnection. A disconnect order from a notice is for a day in that window that is
not forbidden (weekends, US and Idaho holidays and the co-op's own, unless the settings allow),
never for an account under a medical certificate or winter protection (orders.py's rules) or
another hold (collection_holds.DISCONNECT_HOLDS), and only after the contact attempt; on a
Friday it is done before `disconnect_friday_until_hour`. Completing the order (orders.py) checks
the same rules at the moment of the disconnection (`completion_refusal`).

A payment (the past due below the threshold), an arrangement or a pledge cancels the pending
disconnect: `settle` cancels the notice and its open order; it also marks a notice expired, a
completed order as the disconnection, and once a disconnected account has paid it makes the
reconnect order (orders.py charges the reconnect fee when it is completed).

Notice life: sent -> ordered -> disconnected -> reconnect; or cancelled / expired.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import holidays as holiday_calendar
from peewee import JOIN, IntegrityError, fn

from kec_tui import config, db, money
from kec_tui.services import aging, audit, card_numbers, collection_holds, deposits, letters, orders, run_claim
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError

__all__ = ["AlreadyCommitted", "RunBusy", "RunStateError"]

TEMPLATE = "disconnect_notice"
LIVE = ("sent", "ordered")
CONTACT_RESULTS = ("reached", "no_answer", "voicemail", "busy", "wrong_number", "out_of_service")
CONTACT_LABELS = {"reached": "Reached", "no_answer": "No answer", "voicemail": "Left a message",
                  "busy": "Busy", "wrong_number": "Wrong number", "out_of_service": "Out of service"}
VENDOR_COLUMNS = ("notice", "account", "name", "street", "city", "state", "zip", "past_due", "notice_date",
                  "disconnect_from", "good_until", "letter_file")
OPENS = dt.time(8, 0)       # a disconnection day begins (the contact attempt is 24 hours before this or earlier)
CHUNK = 500


class Changed(RunStateError):
    """The notices differ from the preview: preview again."""


class DisconnectRefused(ServiceError):
    """The rules forbid this disconnection (notice too young or too old, a forbidden day, no contact
    attempt, a protection or a hold)."""


# ---- the rules' figures -----------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeRules:
    min_past_due_cents: int = 2500
    after_days: int = 30
    notice_days: int = 7
    valid_days: int = 21
    contact_hours: int = 24
    on_weekends: bool = False
    on_holidays: bool = False
    friday_until_hour: int = 12
    holidays: frozenset[dt.date] = frozenset()      # the co-op's own closed days


def rules_from(s: config.Settings) -> NoticeRules:
    return NoticeRules(s.notice_min_past_due_cents, s.notice_after_days, s.notice_days, s.notice_valid_days,
                       s.final_contact_hours, s.disconnect_on_weekends, s.disconnect_on_holidays,
                       s.disconnect_friday_until_hour, frozenset(s.holidays))


_rules = rules_from(config.Settings())


def configure(s: config.Settings) -> NoticeRules:
    global _rules
    _rules = rules_from(s)
    return _rules


def rules() -> NoticeRules:
    return _rules


@functools.lru_cache(maxsize=64)
def _public(year: int) -> dict[dt.date, str]:
    return dict(holiday_calendar.country_holidays("US", subdiv="ID", years=year))


def holiday_name(day: dt.date, r: NoticeRules | None = None) -> str | None:
    r = r or _rules
    if day in r.holidays:
        return "a day the co-op is closed"
    return _public(day.year).get(day)


def day_refusal(day: dt.date, r: NoticeRules | None = None) -> str | None:
    """Why no disconnection may be on this day at all, or None."""
    r = r or _rules
    if not r.on_weekends and day.weekday() >= 5:
        return f"{day:%A %m/%d/%Y} is a weekend day: no disconnections on weekends"
    name = holiday_name(day, r)
    if not r.on_holidays and name:
        return f"{day:%m/%d/%Y} is a holiday ({name}): no disconnections on holidays"
    return None


def time_refusal(when: dt.datetime, r: NoticeRules | None = None) -> str | None:
    """Why no disconnection may be at this moment, or None (the day's rules and Friday afternoons)."""
    r = r or _rules
    why = day_refusal(when.date(), r)
    if why:
        return why
    if when.weekday() == 4 and when.hour >= r.friday_until_hour:
        return f"No disconnections on a Friday from {r.friday_until_hour}:00 on ({when:%m/%d/%Y %H:%M})"
    return None


def allowed_day_from(day: dt.date, r: NoticeRules | None = None) -> dt.date:
    """`day` itself when a disconnection may be on it, else the next day that may."""
    r = r or _rules
    for _ in range(60):
        if day_refusal(day, r) is None:
            return day
        day += dt.timedelta(days=1)
    return day


def window(notice_date: dt.date, r: NoticeRules | None = None) -> tuple[dt.date, dt.date]:
    """(the first day, the last day) a disconnection may be on for a notice of this day."""
    r = r or _rules
    return (allowed_day_from(notice_date + dt.timedelta(days=r.notice_days), r),
            notice_date + dt.timedelta(days=r.valid_days))


def _d(day: dt.date | None) -> str:
    return f"{day:%m/%d/%Y}" if day else ""


# ---- dataclasses ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedNotice:
    account_id: int
    number: int
    name: str
    past_due_cents: int
    balance_cents: int
    days_past_due: int
    disconnect_from: dt.date
    expires: dt.date


@dataclass(frozen=True)
class RunInfo:
    id: int
    run_date: dt.date
    status: str
    preview_count: int
    preview_total_cents: int
    notice_count: int
    total_cents: int
    directory: str
    vendor_file: str


@dataclass(frozen=True)
class Settled:
    cancelled: list[tuple[int, str]]        # (notice, why)
    expired: list[int]
    disconnected: list[int]
    reconnects: list[int]                   # reconnect order numbers made


@dataclass(frozen=True)
class Register:
    run: RunInfo
    notices: list[PlannedNotice]
    held: int                       # accounts past due over the threshold held from a notice
    live: int                       # ... that have a notice still good
    settled: Settled | None = None  # what the preview's settle changed (cancelled, expired, reconnect orders)

    @property
    def total_cents(self) -> int:
        return sum(n.past_due_cents for n in self.notices)


@dataclass(frozen=True)
class ContactInfo:
    id: int
    notice_id: int
    at: dt.datetime
    phone: str
    result: str
    note: str
    operator: str


@dataclass(frozen=True)
class NoticeInfo:
    id: int
    account_id: int
    number: int
    name: str
    phone: str
    notice_date: dt.date
    past_due_cents: int
    disconnect_from: dt.date
    expires: dt.date
    status: str
    letter_id: int | None
    pdf_path: str
    order_no: int | None
    reconnect_order_no: int | None
    closed_reason: str
    contacts: tuple[ContactInfo, ...]

    @property
    def last_contact(self) -> ContactInfo | None:
        return self.contacts[-1] if self.contacts else None


def _run_info(r: db.NoticeRun) -> RunInfo:
    return RunInfo(r.id, db.as_date(r.run_date), r.status, r.preview_count, r.preview_total_cents, r.notice_count,
                   r.total_cents, r.directory, r.vendor_file)


# ---- the notice run ---------------------------------------------------------------------------------

def _live_accounts(day: dt.date, ids: list[int]) -> set[int]:
    N = db.DisconnectNotice
    out: set[int] = set()
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        out |= {a for (a,) in N.select(N.account).where(N.account.in_(part), N.status.in_(LIVE), N.expires >= day)
                .tuples()}
    return out


def plan(day: dt.date, r: NoticeRules | None = None) -> tuple[list[PlannedNotice], int, int]:
    """(the notices a run on `day` sends, accounts held, accounts with a notice still good).
    Set-based: the accounts are aged in one statement."""
    r = r or _rules
    rows = [a for a in aging.aged_rows(day, past_due_only=True)
            if a.status == "active" and a.days_past_due > r.after_days and a.aged.past_due >= r.min_past_due_cents]
    ids = [a.account_id for a in rows]
    held = {aid for aid, why in collection_holds.holds(ids, day).items() if why & collection_holds.NOTICE_HOLDS}
    live = _live_accounts(day, [a for a in ids if a not in held])
    first, last = window(day, r)
    out = [PlannedNotice(a.account_id, a.number, a.name, a.aged.past_due, a.aged.total, a.days_past_due, first, last)
           for a in rows if a.account_id not in held and a.account_id not in live]
    out.sort(key=lambda n: n.number)
    return out, len(held), len(live)


def last_run_date() -> dt.date | None:
    R = db.NoticeRun
    d = R.select(fn.MAX(R.run_date)).where(R.status == "committed").scalar()
    return db.as_date(d) if d is not None else None


def _already(run: db.NoticeRun) -> str:
    return (f"Disconnect notices were already run on {_d(db.as_date(run.run_date))} "
            f"({run.notice_count:,} notice{'s' * (run.notice_count != 1)}"
            f"{', ' + run.vendor_file if run.vendor_file else ''}): one notice run a day")


@db.connected
def preview(op: OperatorInfo, day: dt.date | None = None, *, today: dt.date | None = None) -> Register:
    """The notices a run on the day would send, recorded as the run's preview; a day already run
    is refused (one notice run a day)."""
    require(op, "collections.act")
    today = today or dt.date.today()
    day = day or today
    if day > today:
        raise ValidationError(f"A notice run is for today or an earlier day, not {_d(day)}", "run_date")
    last = last_run_date()
    if last is not None and day < last:
        raise ValidationError(f"Disconnect notices were run on {_d(last)}: a run is for that day or a later one",
                              "run_date")
    R = db.NoticeRun
    existing = R.get_or_none(R.run_date == day)
    if existing is not None and existing.status in ("committing", "committed"):
        if existing.status == "committed":
            raise AlreadyCommitted(_already(existing))
        raise RunBusy(f"The notice run of {_d(day)} is being committed by another session")
    check_template()
    settled = settle(op, day)
    planned, held, live = plan(day)
    total = sum(n.past_due_cents for n in planned)
    with db.write_txn():
        run = R.get_or_none(R.run_date == day)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(run_date=day, created_by=op.id, preview_count=len(planned),
                                      preview_total_cents=total).execute()
            except IntegrityError:
                raise RunBusy(f"The notice run of {_d(day)} was just made by another session: preview again") from None
        else:
            run_id = run.id
            n = (R.update(preview_count=len(planned), preview_total_cents=total)
                 .where(R.id == run_id, R.status == "previewed").execute())
            if n != 1:
                raise RunBusy(f"The notice run of {_d(day)} changed meanwhile: preview again")
        audit.record(op, "notices.preview", "notice_run", run_id, field=_d(day),
                     after=f"{len(planned)} notices {money.fmt(total)} past due")
    return Register(_run_info(R.get_by_id(run_id)), planned, held, live, settled)


def check_template() -> None:
    """The notice letter renders with a notice's fields (LetterError naming the field if not)."""
    letters.check(TEMPLATE, {"past_due": "$0.00", "disconnect_from": "01/01/2026", "expires": "01/01/2026"})


def _after_chunk(run_id: int, written: int) -> None:
    """Test seam: called after each committed chunk."""


def run_directory(day: dt.date) -> Path:
    return letters.places().output / f"notices-{day:%Y-%m-%d}"


@db.connected
def commit(op: OperatorInfo, run_id: int, *, takeover_after: dt.timedelta = dt.timedelta(seconds=60),
           chunk: int = CHUNK, directory: str | Path | None = None) -> RunInfo:
    """Send the previewed notices, exactly once: each a letter PDF logged on the account and a
    notice row (unique on the run and the account), then the print vendor's file; all in
    notices-YYYY-MM-DD/ under `directory` (default: the letters' directory)."""
    require(op, "collections.act")
    R, N = db.NoticeRun, db.DisconnectNotice
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("previewed",), takeover_after)
        if run is None:
            raise NotFound("No such notice run")
        if not claimed:
            if run.status == "committed":
                raise AlreadyCommitted(_already(run))
            raise RunBusy(f"The notice run of {_d(db.as_date(run.run_date))} is being committed by another session")
        audit.record(op, "notices.commit.start", "notice_run", run_id, after=f"claim {token[:8]}")
    day = db.as_date(run.run_date)
    planned, _, _ = plan(day)
    have = {a for (a,) in N.select(N.account).where(N.run == run_id).tuples()}
    todo = [p for p in planned if p.account_id not in have]
    have_total = N.select(fn.COALESCE(fn.SUM(N.past_due_cents), 0)).where(N.run == run_id).scalar()
    if (len(have) + len(todo), int(have_total) + sum(p.past_due_cents for p in todo)) != \
            (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(R, run_id, token)
            audit.record(op, "notices.commit.refused", "notice_run", run_id,
                         after="the notices differ from the preview")
        raise Changed(f"The notice run of {_d(day)}: payments or bills changed since the preview "
                      f"({run.preview_count:,} notices); preview again")
    directory = Path(directory) / f"notices-{day:%Y-%m-%d}" if directory else run_directory(day)
    written = 0
    try:
        check_template()
        for i in range(0, len(todo), chunk):
            written += _write_chunk(op, run, token, todo[i:i + chunk], directory)
            _after_chunk(run_id, written)
        vendor = write_vendor_file(run_id, directory)
    except ServiceError as e:
        if not isinstance(e, RunBusy):      # refused here (a template, the disk): free the run to commit again
            with db.write_txn():
                run_claim.release(R, run_id, token)
                audit.record(op, "notices.commit.refused", "notice_run", run_id, after=e.message[:200])
        raise
    with db.write_txn():
        count, total = N.select(fn.COUNT(N.id), fn.COALESCE(fn.SUM(N.past_due_cents), 0)).where(
            N.run == run_id).tuples()[0]
        if not run_claim.finish(R, run_id, token, notice_count=count, total_cents=int(total),
                                directory=str(directory), vendor_file=str(vendor)):
            raise RunBusy(f"The notice run of {_d(day)}: another session took the run over; it finishes it")
        audit.record(op, "notices.commit", "notice_run", run_id, before="previewed",
                     after=f"committed {count} notices {money.fmt(int(total))} {vendor.name}"[:200])
    return _run_info(R.get_by_id(run_id))


def _write_chunk(op: OperatorInfo, run: db.NoticeRun, token: str, planned: list[PlannedNotice],
                 directory: Path) -> int:
    """One transaction: for each account not yet noticed by this run, its letter (PDF written,
    logged with its text), its notice row and an audit row."""
    R, N = db.NoticeRun, db.DisconnectNotice
    day = db.as_date(run.run_date)
    std = letters.standard_fields([p.account_id for p in planned], day,
                                  {p.account_id: p.balance_cents for p in planned})
    rendered = {p.account_id: letters.render(TEMPLATE, {
        **std[p.account_id], "past_due": money.fmt_dollars(p.past_due_cents),
        "disconnect_from": _d(p.disconnect_from), "expires": _d(p.expires)}) for p in planned}
    try:
        with db.write_txn():
            if not run_claim.hold(R, run.id, token):
                raise RunBusy(f"The notice run of {_d(day)}: another session took the run over")
            done = {a for (a,) in N.select(N.account).where(
                N.run == run.id, N.account.in_([p.account_id for p in planned])).tuples()}
            n = 0
            for p in planned:
                if p.account_id in done:
                    continue
                text = rendered[p.account_id]
                letter = db.Letter.create(account=p.account_id, template=TEMPLATE, title=text.title, text=text.text,
                                          reference=f"NOTICE RUN {run.id}", operator=op.id, created_at=db.now())
                path = letters.write_pdf(directory / letters.file_name(letter.id, p.number, TEMPLATE), text)
                db.Letter.update(pdf_path=str(path)).where(db.Letter.id == letter.id).execute()
                notice = N.create(run=run.id, account=p.account_id, notice_date=day, past_due_cents=p.past_due_cents,
                                  disconnect_from=p.disconnect_from, expires=p.expires, letter=letter.id,
                                  created_at=db.now())
                audit.record(op, "notice.send", "disconnect_notice", notice.id, account_id=p.account_id,
                             field="disconnect notice",
                             after=f"{money.fmt(p.past_due_cents)} past due; disconnect from {_d(p.disconnect_from)} "
                                   f"to {_d(p.expires)}; {path.name}"[:200])
                n += 1
            run_claim.beat(R, run.id)
    except IntegrityError:
        raise RunBusy(f"The notice run of {_d(day)}: another session wrote some of these notices meanwhile; "
                      "nothing of this step was written: commit again") from None
    return n


def vendor_csv(run_id: int) -> str:
    """The print vendor's file: a header row, then one notice a row (VENDOR_COLUMNS), by account."""
    N, A, M = db.DisconnectNotice, db.Account, db.Member
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(VENDOR_COLUMNS)
    q = (N.select(N.id, A.number, M.first_name, M.last_name, M.mail_street, M.mail_city, M.mail_state, M.mail_zip,
                  N.past_due_cents, N.notice_date, N.disconnect_from, N.expires, db.Letter.pdf_path)
         .join(A, on=(N.account == A.id)).join(M, on=(A.member == M.id))
         .switch(N).join(db.Letter, on=(N.letter == db.Letter.id))
         .where(N.run == run_id).order_by(A.number).tuples())
    for nid, number, first, last, street, city, state, zip_, cents, nd, frm, exp, pdf in q:
        w.writerow([nid, number, f"{first} {last}".strip(), street, city, state, zip_,
                    str(money.to_decimal(cents)), _d(db.as_date(nd)), _d(db.as_date(frm)), _d(db.as_date(exp)),
                    Path(pdf).name if pdf else ""])
    return buf.getvalue()


def write_vendor_file(run_id: int, directory: Path) -> Path:
    day = db.as_date(db.NoticeRun.get_by_id(run_id).run_date)
    path = directory / f"notices-{day:%Y-%m-%d}-print.csv"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(vendor_csv(run_id), encoding="utf-8", newline="")
    except OSError as exc:
        raise ServiceError(f"Cannot write the print vendor's file to {directory}: {exc.strerror or exc}") from exc
    return path


@db.connected
def get_run(run_id: int) -> RunInfo:
    r = db.NoticeRun.get_or_none(db.NoticeRun.id == run_id)
    if r is None:
        raise NotFound("No such notice run")
    return _run_info(r)


@db.connected
def run_of_day(day: dt.date) -> RunInfo | None:
    r = db.NoticeRun.get_or_none(db.NoticeRun.run_date == day)
    return _run_info(r) if r else None


# ---- one notice --------------------------------------------------------------------------------------

def _contacts(notice_id: int) -> tuple[ContactInfo, ...]:
    C, O = db.ContactAttempt, db.Operator
    q = (C.select(C.id, C.notice, C.at, C.phone, C.result, C.note, O.username)
         .join(O, on=(C.operator == O.id), join_type=JOIN.LEFT_OUTER).where(C.notice == notice_id)
         .order_by(C.at, C.id).tuples())
    return tuple(ContactInfo(i, n, at, ph, res, note, user or "") for i, n, at, ph, res, note, user in q)


def _notice_info(n: db.DisconnectNotice) -> NoticeInfo:
    a = db.Account.get_by_id(n.account_id)
    m = db.Member.get_by_id(a.member_id)
    letter = db.Letter.get_or_none(db.Letter.id == n.letter_id) if n.letter_id else None
    order = db.ServiceOrder.get_or_none(db.ServiceOrder.id == n.order_id) if n.order_id else None
    recon = db.ServiceOrder.get_or_none(db.ServiceOrder.id == n.reconnect_order_id) if n.reconnect_order_id else None
    return NoticeInfo(n.id, a.id, a.number, f"{m.first_name} {m.last_name}".strip(),
                      m.phone_mobile or m.phone_home or m.phone_work or "", db.as_date(n.notice_date),
                      n.past_due_cents, db.as_date(n.disconnect_from), db.as_date(n.expires), n.status,
                      n.letter_id, letter.pdf_path if letter else "", order.order_no if order else None,
                      recon.order_no if recon else None, n.closed_reason, _contacts(n.id))


@db.connected
def get_notice(notice_id: int) -> NoticeInfo:
    n = db.DisconnectNotice.get_or_none(db.DisconnectNotice.id == notice_id)
    if n is None:
        raise NotFound(f"No disconnect notice {notice_id}")
    return _notice_info(n)


@db.connected
def latest_for_account(account_id: int) -> NoticeInfo | None:
    N = db.DisconnectNotice
    n = N.select().where(N.account == account_id).order_by(N.notice_date.desc(), N.id.desc()).first()
    return _notice_info(n) if n else None


@db.connected
def for_run(run_id: int, limit: int = 1000, offset: int = 0) -> list[NoticeInfo]:
    N, A = db.DisconnectNotice, db.Account
    q = (N.select(N).join(A, on=(N.account == A.id)).where(N.run == run_id).order_by(A.number)
         .limit(limit).offset(offset))
    return [_notice_info(n) for n in q]


def live_notices(account_ids: list[int], day: dt.date) -> dict[int, tuple[int, str, dt.date, dt.date, bool]]:
    """Account -> (notice id, status, disconnect from, good until, a contact attempt logged) of its
    live notice (sent or ordered) still good on the day (the worklist's next action)."""
    N, C = db.DisconnectNotice, db.ContactAttempt
    out: dict[int, tuple[int, str, dt.date, dt.date, bool]] = {}
    ids = list(account_ids)
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        rows = (N.select(N.id, N.account, N.status, N.disconnect_from, N.expires)
                .where(N.account.in_(part), N.status.in_(LIVE), N.expires >= day).order_by(N.id).tuples())
        rows = list(rows)
        called = {n for (n,) in C.select(C.notice).where(C.notice.in_([r[0] for r in rows])).distinct().tuples()}
        for nid, aid, status, frm, exp in rows:
            out[aid] = (nid, status, db.as_date(frm), db.as_date(exp), nid in called)
    return out


# ---- the final contact attempt ---------------------------------------------------------------------

def _phone(text: str) -> str:
    digits = "".join(c for c in (text or "") if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValidationError(f"The phone number called: 10 digits with the area code (not {text!r})", "phone")
    return digits


@db.connected
def log_contact(op: OperatorInfo, notice_id: int, phone: str, result: str, *, at: dt.datetime | None = None,
                note: str = "", now: dt.datetime | None = None) -> ContactInfo:
    """Log the final contact attempt before a disconnection: the number called and the result."""
    require(op, "note.add")
    phone = _phone(phone)
    result = (result or "").strip().lower().replace(" ", "_")
    if result not in CONTACT_RESULTS:
        raise ValidationError(f"The result is one of: {', '.join(CONTACT_RESULTS)}", "result")
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError("The note is at most 200 characters", "note")
    card_numbers.refuse(note, "note")
    now = now or db.now()
    at = (at or now).replace(microsecond=0)
    if at > now + dt.timedelta(minutes=5):
        raise ValidationError(f"A call is logged when it was made, not ahead ({at:%m/%d/%Y %H:%M})", "at")
    with db.write_txn():
        n = db.locked(db.DisconnectNotice, notice_id)
        if n is None:
            raise NotFound(f"No disconnect notice {notice_id}")
        if n.status not in LIVE:
            raise ValidationError(f"Notice {notice_id} is {n.status}: a contact attempt is for a notice still "
                                  f"pending", "notice")
        if at.date() < db.as_date(n.notice_date):
            raise ValidationError(f"The call is before the notice of {_d(db.as_date(n.notice_date))}", "at")
        db.ContactAttempt.create(notice=notice_id, account=n.account_id, at=at, phone=phone, result=result,
                                 note=note, operator=op.id)
        label = CONTACT_LABELS[result]
        audit.record(op, "notice.contact", "disconnect_notice", notice_id, account_id=n.account_id,
                     field="final contact", after=f"{at:%m/%d/%Y %H:%M} {phone[-4:].rjust(10, '*')} {label}"[:200])
        db.Note.create(account=n.account_id, operator=op.id,
                       text=f"Final contact attempt before disconnection (notice of "
                            f"{_d(db.as_date(n.notice_date))}): called {phone[:3]}-{phone[3:6]}-{phone[6:]}, "
                            f"{label.lower()}{'. ' + note if note else '.'}")
    return _contacts(notice_id)[-1]


# ---- what stops or cancels a disconnection -------------------------------------------------------------

def _past_due(account_id: int, day: dt.date) -> int:
    return aging.account_aging(account_id, day).past_due


def _cancel_reason(account_id: int, day: dt.date, r: NoticeRules) -> str | None:
    """A payment, an arrangement or a pledge cancels the pending disconnect: why, or None."""
    why = collection_holds.holds([account_id], day).get(account_id, set())
    if "arrangement" in why:
        return "a payment arrangement"
    if "pledge" in why:
        return "an energy-assistance pledge"
    if "bankruptcy" in why:
        return "bankruptcy"
    past = _past_due(account_id, day)
    if past < r.min_past_due_cents:
        return f"paid: {money.fmt_dollars(max(past, 0))} past due"
    return None


def _cancel_open_order(op: OperatorInfo | None, order_id: int | None, reason: str) -> None:
    if not order_id:
        return
    O = db.ServiceOrder
    o = O.get_by_id(order_id)
    n = O.update(status="cancelled", resolution=reason[:200]).where(O.id == order_id, O.status.in_(orders.ACTIVE)
                                                                   ).execute()
    if n == 1:
        audit.record(op, "order.cancel", "order", order_id, account_id=o.account_id, field="status",
                     before=o.status, after=f"cancelled: {reason}"[:200])


def _close(op: OperatorInfo | None, n: db.DisconnectNotice, status: str, reason: str) -> bool:
    N = db.DisconnectNotice
    k = N.update(status=status, closed_reason=reason[:120]).where(N.id == n.id, N.status == n.status).execute()
    if k != 1:
        return False
    if status in ("cancelled", "expired"):
        _cancel_open_order(op, n.order_id, f"Disconnect notice {n.id} {status}: {reason}")
    audit.record(op, f"notice.{status}", "disconnect_notice", n.id, account_id=n.account_id, field="status",
                 before=n.status, after=f"{status}: {reason}"[:200])
    return True


def _may_change(pending: list[db.DisconnectNotice], day: dt.date, r: NoticeRules) -> list[db.DisconnectNotice]:
    """The notices `settle` may have to change, found with a few set-based reads (a whole co-op's
    pending notices are aged in one statement); each is then looked at again in its own transaction."""
    if not pending:
        return []
    ids = list({n.account_id for n in pending})
    if len(ids) > 50:
        past = {a.account_id: a.aged.past_due for a in aging.aged_rows(day)}
    else:
        past = {a: _past_due(a, day) for a in ids}
    held = collection_holds.holds(ids, day)
    O, A = db.ServiceOrder, db.Account
    order_ids = [n.order_id for n in pending if n.order_id]
    order_status = {i: st for i, st in O.select(O.id, O.status).where(O.id.in_(order_ids)).tuples()} \
        if order_ids else {}
    disconnected = {n.account_id for n in pending if n.status == "disconnected"}
    acct_status = {i: st for i, st in A.select(A.id, A.status).where(A.id.in_(list(disconnected))).tuples()} \
        if disconnected else {}
    out = []
    for n in pending:
        paid = past.get(n.account_id, 0) < r.min_past_due_cents
        if (order_status.get(n.order_id) in ("completed", "cancelled")
                or n.status == "disconnected" and (acct_status.get(n.account_id) != "disconnected" or paid)
                or n.status in LIVE and (paid or held.get(n.account_id, set()) & {"arrangement", "pledge", "bankruptcy"}
                                         or db.as_date(n.expires) < day)):
            out.append(n)
    return out


@db.connected
def settle(op: OperatorInfo | None, day: dt.date | None = None, account_ids: list[int] | None = None) -> Settled:
    """Bring the pending notices up to date on the day: a payment, arrangement or pledge cancels
    the notice and its open disconnect order; a notice past its 21 days expires (its open order
    cancelled: a new notice is needed); a completed order makes it a disconnection, and once that
    account has paid, the reconnect order is made."""
    day = day or dt.date.today()
    r = _rules
    N, O, A = db.DisconnectNotice, db.ServiceOrder, db.Account
    q = N.select().where(N.status.in_(LIVE + ("disconnected",)))
    if account_ids is not None:
        q = q.where(N.account.in_(list(account_ids)))
    cancelled, expired, disconnected, reconnects = [], [], [], []
    for n in _may_change(list(q), day, r):
        with db.write_txn():
            n = db.locked(N, n.id)
            if n is None or n.status not in LIVE + ("disconnected",):
                continue
            order = O.get_or_none(O.id == n.order_id) if n.order_id else None
            if n.status == "ordered" and order is not None and order.status == "completed":
                if _close(op, n, "disconnected", f"order {order.order_no} completed"):
                    disconnected.append(n.id)
                n = N.get_by_id(n.id)
            if n.status == "ordered" and order is not None and order.status == "cancelled":
                _close(op, n, "cancelled", f"order {order.order_no} cancelled")
                cancelled.append((n.id, f"order {order.order_no} cancelled"))
                continue
            if n.status == "disconnected":
                a = A.get_by_id(n.account_id)
                if a.status != "disconnected":
                    _close(op, n, "reconnect", f"account {a.status}")
                elif _past_due(a.id, day) < r.min_past_due_cents:
                    deposit = deposits.before_reconnect(a.id, "reconnect", day)       # for the MSR who calls
                    o = orders.new_order(op, a, "reconnect", priority=1, due_date=day, today=day, check=False,
                                         notes=f"Reconnect after payment (disconnect notice {n.id})"
                                               + (f". {deposit}" if deposit else "")) \
                        if not O.select().where(O.account == a.id, O.kind.in_(orders.RECONNECT_KINDS),
                                                O.status.in_(orders.ACTIVE)).exists() else None
                    if o is not None:
                        N.update(reconnect_order=o.id).where(N.id == n.id).execute()
                        reconnects.append(o.order_no)
                    _close(op, N.get_by_id(n.id), "reconnect", "paid")
                continue
            why = _cancel_reason(n.account_id, day, r)
            if why:
                if _close(op, n, "cancelled", why):
                    cancelled.append((n.id, why))
            elif db.as_date(n.expires) < day:
                if _close(op, n, "expired", f"not disconnected by {_d(db.as_date(n.expires))}: a new notice is needed"):
                    expired.append(n.id)
    return Settled(cancelled, expired, disconnected, reconnects)


# ---- the disconnect order ------------------------------------------------------------------------------

def _contact_refusal(notice_id: int, when: dt.datetime, r: NoticeRules) -> str | None:
    C = db.ContactAttempt
    latest_ok = when - dt.timedelta(hours=r.contact_hours)
    if C.select().where(C.notice == notice_id, C.at <= latest_ok).exists():
        return None
    last = C.select(fn.MAX(C.at)).where(C.notice == notice_id).scalar()
    if last is None:
        return (f"No final contact attempt logged: call the member (log the call) at least {r.contact_hours} hours "
                f"before the disconnection")
    last = last if isinstance(last, dt.datetime) else dt.datetime.fromisoformat(str(last))
    return (f"The final contact attempt ({last:%m/%d/%Y %H:%M}) is less than {r.contact_hours} hours before "
            f"{when:%m/%d/%Y %H:%M}: a disconnection from {last + dt.timedelta(hours=r.contact_hours):%m/%d/%Y %H:%M}")


def _window_refusal(n: db.DisconnectNotice, day: dt.date, r: NoticeRules) -> str | None:
    nd = db.as_date(n.notice_date)
    first, last = db.as_date(n.disconnect_from), db.as_date(n.expires)
    age = (day - nd).days
    if day < first or age < r.notice_days:
        return (f"The notice of {_d(nd)} is {max(age, 0)} day{'s' * (age != 1)} old on {_d(day)}: the member has "
                f"{r.notice_days} days' written notice, a disconnection from {_d(first)}")
    if day > last or age > r.valid_days:
        return (f"The notice of {_d(nd)} is {age} days old on {_d(day)}, more than {r.valid_days}: send a new "
                f"notice (the next notice run)")
    return None


def earliest(notice_id: int, now: dt.datetime | None = None) -> dt.date | None:
    """The first day an order from this notice may be for, keyed now (None: none left in its window)."""
    r = _rules
    now = now or db.now()
    n = db.DisconnectNotice.get_or_none(db.DisconnectNotice.id == notice_id)
    if n is None:
        return None
    day = max(db.as_date(n.disconnect_from), now.date())
    C = db.ContactAttempt
    last = C.select(fn.MAX(C.at)).where(C.notice == notice_id).scalar()
    if last is not None:
        last = last if isinstance(last, dt.datetime) else dt.datetime.fromisoformat(str(last))
        after = last + dt.timedelta(hours=r.contact_hours)
        day = max(day, after.date() + dt.timedelta(days=1) if after.time() > OPENS else after.date())
    day = allowed_day_from(day, r)
    return day if day <= db.as_date(n.expires) else None


@db.connected
def order_disconnect(op: OperatorInfo, notice_id: int, on: dt.date, *, now: dt.datetime | None = None
                     ) -> orders.OrderInfo:
    """The disconnect order from a notice, for the day `on` (see the module's doc for the rules).
    A payment, arrangement or pledge since the notice cancels it instead (DisconnectRefused)."""
    require(op, "collections.act")
    require(op, "order.create")
    r = _rules
    now = now or db.now()
    if on < now.date():
        raise ValidationError(f"The disconnection day {_d(on)} is in the past", "on")
    n = db.DisconnectNotice.get_or_none(db.DisconnectNotice.id == notice_id)
    if n is None:
        raise NotFound(f"No disconnect notice {notice_id}")
    if n.status == "ordered":
        o = db.ServiceOrder.get_by_id(n.order_id)
        raise DisconnectRefused(f"Notice {notice_id} already has disconnect order {o.order_no} ({o.status})", "notice")
    if n.status not in LIVE:
        raise DisconnectRefused(f"Notice {notice_id} is {n.status}"
                                f"{' (' + n.closed_reason + ')' if n.closed_reason else ''}: no disconnection from it",
                                "notice")
    why = _window_refusal(n, on, r) or day_refusal(on, r)
    if why:
        raise DisconnectRefused(why, "on")
    cancel = _cancel_reason(n.account_id, now.date(), r)
    if cancel:
        with db.write_txn():
            n = db.locked(db.DisconnectNotice, notice_id)
            if n is not None and n.status in LIVE:
                _close(op, n, "cancelled", cancel)
        raise DisconnectRefused(f"Notice {notice_id} is cancelled: {cancel}; no disconnection", "notice")
    a = db.Account.get_by_id(n.account_id)
    why = orders.disconnect_protection(a, now.date()) or orders.disconnect_protection(a, on)
    held = collection_holds.held(a.id, on) & collection_holds.DISCONNECT_HOLDS
    if why or held:
        raise DisconnectRefused(why or f"Account {a.number}: collection is held ({', '.join(sorted(held))})", "on")
    why = _contact_refusal(notice_id, dt.datetime.combine(on, OPENS), r)
    if why:
        raise DisconnectRefused(why, "on")
    with db.write_txn():
        n = db.locked(db.DisconnectNotice, notice_id)
        if n is None or n.status != "sent":
            raise DisconnectRefused(f"Notice {notice_id} changed meanwhile: look again", "notice")
        a = db.locked(db.Account, n.account_id)
        friday = (f"; a Friday: before {r.friday_until_hour}:00" if on.weekday() == 4 else "")
        o = orders.new_order(op, a, "disconnect_nonpay", priority=2, due_date=on, today=now.date(),
                             notes=f"Non-pay: notice of {_d(db.as_date(n.notice_date))}, "
                                   f"{money.fmt_dollars(n.past_due_cents)} past due; disconnect {_d(on)} to "
                                   f"{_d(db.as_date(n.expires))}{friday}")
        k = (db.DisconnectNotice.update(status="ordered", order=o.id)
             .where(db.DisconnectNotice.id == notice_id, db.DisconnectNotice.status == "sent").execute())
        if k != 1:
            raise DisconnectRefused(f"Notice {notice_id} changed meanwhile: look again", "notice")
        audit.record(op, "notice.order", "disconnect_notice", notice_id, account_id=a.id, field="status",
                     before="sent", after=f"ordered #{o.order_no} for {_d(on)}")
    return orders.get_order(o.order_no)


def completion_refusal(o: db.ServiceOrder, a: db.Account, when: dt.datetime) -> str | None:
    """orders.complete asks this when a disconnect order is completed: why the rules forbid the
    disconnection at this moment (an order from a notice), or None."""
    N = db.DisconnectNotice
    n = N.get_or_none(N.order == o.id)
    if n is None:
        return None
    r = _rules
    if n.status != "ordered":
        return f"Disconnect notice {n.id} is {n.status}{': ' + n.closed_reason if n.closed_reason else ''}"
    why = _window_refusal(n, when.date(), r) or time_refusal(when, r) or _contact_refusal(n.id, when, r)
    if why:
        return why
    cancel = _cancel_reason(a.id, when.date(), r)
    return f"No disconnection: {cancel} since the notice" if cancel else None


@db.connected
def contacts_by(operator_id: int, since: dt.datetime) -> list[ContactInfo]:
    """The contact attempts an operator logged since then (training's checks)."""
    C = db.ContactAttempt
    ids = [n for (n,) in C.select(C.notice).where(C.operator == operator_id, C.at >= since).distinct().tuples()]
    return [c for n in ids for c in _contacts(n) if c.operator and c.at >= since]
