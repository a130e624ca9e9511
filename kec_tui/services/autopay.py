"""Autopay: enrollment, the NACHA PPD draft file of each draft date, the bank's return and change files.

Enrollment (enroll, change, stop) is on the account: a routing number that passes its ABA check
digit (weights 3, 7, 1), a bank account number, checking or savings, and the day the member
signed the authorization. The numbers are also the member's bank account on file (masked
everywhere; Ctrl+B shows it to a supervisor). Every enrollment or change of bank details sends
a prenote (a zero-dollar entry, code 28/38) with the next draft run; the account is drafted
from `autopay_prenote_wait_days` after the prenote's draft date on, if no return came for it.

The draft run of a draft date (a bill's due date less `autopay_days_before_due`) drafts every
active, prenoted enrollment whose account has a bill due that day: the bill's charge (the
levelized amount for budget billing), or the balance if less is owed. Left out and listed:
accounts on cash-only, in bankruptcy, closed, or with a stopped authorization (and those
still in the prenote's waiting period). Preview, then commit exactly once (run_claim.py): one
file per draft date, written readable by its owner only, with one trace number per entry kept
on the entry; each draft posts to the ledger as an electronic payment (reference ACH + trace)
effective on the settlement date (the file's effective entry date, the draft date).

The bank's return file (entries with a type 99 addenda) is matched by original trace number:
a returned draft goes through the returned-payment flow of returns.py (reversal, fee, count,
cash-only after two in twelve months); R02, R03, R04, R07 and R10 also stop the authorization,
as does any return of a prenote. A notification of change (COR, addenda 98) updates the bank
details (C01 account, C02 routing, C03 both, C05 type, C06 account and type, C07 all three),
audited and masked. What matches nothing goes to the exceptions queue of lockbox.py. A file is
known by its content: the same file twice is refused.

A processor's settlement CSV (card and e-check payments taken on the web or the phone) is
imported as a lockbox file is, into a batch, each line keeping the processor's reference.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError, fn

from kec_tui import config, db, money
from kec_tui.checkdigit import valid_routing
from kec_tui.services import audit, batches, card_numbers, fees, lockbox, nacha, returns, run_claim
from kec_tui.services.accounts import mask_bank
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError  # noqa: F401 - re-exported

ACCOUNT_TYPES = ("checking", "savings")
STOP_CODES = frozenset({"R02", "R03", "R04", "R07", "R10"})
CHANGE_CODES = {
    "C01": "Incorrect account number", "C02": "Incorrect routing number",
    "C03": "Incorrect routing and account number", "C05": "Incorrect transaction code (account type)",
    "C06": "Incorrect account number and transaction code",
    "C07": "Incorrect routing, account number and transaction code",
}
SEQ_MOD = 10 ** 7               # a trace number's sequence: 7 digits after the ODFI's 8
CHUNK = 25_000
NAME_MAX = 22
_settings = config.Settings()


def configure(settings: config.Settings) -> None:
    """Take the autopay settings (the application calls this at start)."""
    global _settings
    _settings = settings


def settings() -> config.Settings:
    return _settings


def origin(s: config.Settings | None = None) -> nacha.Origin:
    s = s or _settings
    return nacha.Origin(s.ach_immediate_destination, s.ach_destination_name, s.ach_immediate_origin,
                        s.ach_origin_name, s.ach_company_name, s.ach_company_id, s.ach_immediate_destination[:8],
                        s.ach_entry_description)


def files_dir(s: config.Settings | None = None) -> Path:
    s = s or _settings
    return Path(s.autopay_dir or config.default_data_dir() / "ach").expanduser()


# ---- enrollment -------------------------------------------------------------------------------

@dataclass(frozen=True)
class EnrollmentInfo:
    account_id: int
    number: int
    routing: str
    bank_masked: str
    account_type: str
    authorized_on: dt.date
    status: str
    prenote_sent_on: dt.date | None
    drafting_from: dt.date | None       # the first draft date it can be drafted (None: prenote not sent)
    stop_reason: str

    @property
    def summary(self) -> str:
        if self.status == "stopped":
            return f"Autopay stopped: {self.stop_reason}"
        if self.prenote_sent_on is None:
            return f"Autopay {self.account_type} {self.bank_masked}: prenote goes with the next draft run"
        return f"Autopay {self.account_type} {self.bank_masked}: drafted from {self.drafting_from:%m/%d/%Y}"


def check_routing(text: str) -> str:
    """The routing number, or ValidationError saying what is wrong with it."""
    t = (text or "").strip()
    if not t.isdigit() or len(t) != 9:
        raise ValidationError("A routing number is 9 digits", "routing")
    if not valid_routing(t):
        raise ValidationError(f"Routing number {t} fails its check digit (3-7-1): check the 9 digits", "routing")
    return t


def check_bank_account(text: str) -> str:
    t = (text or "").strip().replace("-", "").replace(" ", "")
    if not t.isdigit() or not 4 <= len(t) <= 17:
        raise ValidationError("A bank account number is 4 to 17 digits", "bank_account")
    return t


def _info(e: db.AutopayEnrollment, number: int) -> EnrollmentInfo:
    sent = db.as_date(e.prenote_sent_on)
    start = sent + dt.timedelta(days=_settings.autopay_prenote_wait_days) if sent else None
    return EnrollmentInfo(e.account_id, number, e.routing, mask_bank(e.bank_account), e.account_type,
                          db.as_date(e.authorized_on), e.status, sent, start, e.stop_reason)


@db.connected
def get_enrollment(account_id: int) -> EnrollmentInfo | None:
    e = db.AutopayEnrollment.get_or_none(db.AutopayEnrollment.account == account_id)
    if e is None:
        return None
    return _info(e, db.Account.get_by_id(account_id).number)


def _describe(routing: str, bank_account: str, account_type: str) -> str:
    return f"{account_type} routing {routing} account {mask_bank(bank_account)}"


@db.connected
def enroll(op: OperatorInfo, account_id: int, routing: str, bank_account: str, account_type: str,
           authorized_on: dt.date, *, today: dt.date | None = None) -> EnrollmentInfo:
    """Enroll the account, or change its bank details (a new prenote is sent), or restart a stopped one."""
    require(op, "autopay.enroll")
    routing = check_routing(routing)
    bank_account = check_bank_account(bank_account)
    if account_type not in ACCOUNT_TYPES:
        raise ValidationError("The account type is checking or savings", "account_type")
    today = today or dt.date.today()
    if not isinstance(authorized_on, dt.date) or authorized_on > today:
        raise ValidationError("The authorization date is the day the member signed: not in the future",
                              "authorized_on")
    with db.write_txn():
        account = db.locked(db.Account, account_id)
        if account is None:
            raise NotFound("No such account")
        if account.status == "closed":
            raise ValidationError(f"Account {account.number} is closed: it cannot be enrolled", "account")
        E = db.AutopayEnrollment
        old = E.get_or_none(E.account == account_id)
        after = _describe(routing, bank_account, account_type)
        if old is None:
            e = E.create(account=account_id, routing=routing, bank_account=bank_account, account_type=account_type,
                         authorized_on=authorized_on, created_by=op.id)
            audit.record(op, "autopay.enroll", "autopay_enrollment", e.id, account_id=account_id, field="autopay",
                         after=f"{after}; authorized {authorized_on:%m/%d/%Y}; prenote to send")
        else:
            before = _describe(old.routing, old.bank_account, old.account_type) + f" ({old.status})"
            same_bank = (old.routing, old.bank_account, old.account_type) == (routing, bank_account, account_type)
            fields = dict(routing=routing, bank_account=bank_account, account_type=account_type,
                          authorized_on=authorized_on, status="active", stop_reason="", stopped_on=None,
                          updated_at=db.now())
            if not (same_bank and old.status == "active"):
                fields.update(prenote_sent_on=None, prenote_trace="")    # new details: prenote again
            E.update(**fields).where(E.id == old.id).execute()
            audit.record(op, "autopay.change", "autopay_enrollment", old.id, account_id=account_id, field="autopay",
                         before=before, after=f"{after}; authorized {authorized_on:%m/%d/%Y}")
            e = E.get_by_id(old.id)
        _set_member_bank(op, account, routing, bank_account)
    return _info(e, account.number)


def _set_member_bank(op: OperatorInfo | None, account: db.Account, routing: str, bank_account: str) -> None:
    m = db.Member.get_by_id(account.member_id)
    if (m.bank_routing, m.bank_account) != (routing, bank_account):
        db.Member.update(bank_routing=routing, bank_account=bank_account).where(db.Member.id == m.id).execute()
        audit.record(op, "member.bank", "member", m.id, account_id=account.id, field="bank_account",
                     before=f"{m.bank_routing} {mask_bank(m.bank_account)}".strip(),
                     after=f"{routing} {mask_bank(bank_account)}")


@db.connected
def stop(op: OperatorInfo, account_id: int, reason: str, *, today: dt.date | None = None) -> EnrollmentInfo:
    """The member stops autopay (or the co-op does): no more drafts or prenotes."""
    require(op, "autopay.enroll")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for stopping autopay", "reason")
    card_numbers.refuse(reason, "reason", "The reason")
    with db.write_txn():
        E = db.AutopayEnrollment
        e = E.get_or_none(E.account == account_id)
        if e is None:
            raise NotFound("This account is not enrolled in autopay")
        if e.status == "stopped":
            raise ValidationError(f"Autopay is already stopped: {e.stop_reason}")
        _stop(op, e, reason, today or dt.date.today())
    return get_enrollment(account_id)


def _stop(op: OperatorInfo | None, e: db.AutopayEnrollment, reason: str, when: dt.date) -> None:
    db.AutopayEnrollment.update(status="stopped", stop_reason=reason[:120], stopped_on=when, updated_at=db.now()) \
        .where(db.AutopayEnrollment.id == e.id).execute()
    audit.record(op, "autopay.stop", "autopay_enrollment", e.id, account_id=e.account_id, field="autopay",
                 before=f"{e.status} {_describe(e.routing, e.bank_account, e.account_type)}",
                 after=f"stopped: {reason[:150]}")


# ---- the draft run ----------------------------------------------------------------------------

@dataclass(slots=True)          # not frozen: a million of them are made per run, and frozen ones cost twice
class PlannedEntry:
    account_id: int
    number: int
    name: str
    enrollment_id: int
    kind: str                       # draft, prenote
    tx_code: str
    routing: str
    bank_account: str
    amount_cents: int

    def __repr__(self) -> str:      # never the full bank account in a log or a traceback
        return (f"PlannedEntry({self.number}, {self.kind}, {self.tx_code}, {self.routing}, "
                f"{mask_bank(self.bank_account)}, {self.amount_cents})")


@dataclass(slots=True)
class Excluded:
    account_id: int
    number: int
    name: str
    amount_cents: int
    reason: str                     # cash-only, bankruptcy, closed, stopped, prenote waiting


@dataclass(frozen=True)
class RunInfo:
    id: int
    draft_date: dt.date
    status: str
    preview_count: int
    preview_total_cents: int
    preview_prenotes: int
    entry_count: int
    total_cents: int
    prenote_count: int
    file_path: str
    entry_hash: int


@dataclass(frozen=True)
class DraftPlan:
    run: RunInfo | None
    draft_date: dt.date
    due_date: dt.date
    entries: list[PlannedEntry]
    excluded: list[Excluded]

    @property
    def drafts(self) -> list[PlannedEntry]:
        return [e for e in self.entries if e.kind == "draft"]

    @property
    def prenotes(self) -> list[PlannedEntry]:
        return [e for e in self.entries if e.kind == "prenote"]

    @property
    def total_cents(self) -> int:
        return sum(e.amount_cents for e in self.entries)


def _run_info(r: db.AutopayRun) -> RunInfo:
    return RunInfo(r.id, db.as_date(r.draft_date), r.status, r.preview_count, r.preview_total_cents,
                   r.preview_prenotes, r.entry_count, r.total_cents, r.prenote_count, r.file_path, r.entry_hash)


def due_for(draft_date: dt.date) -> dt.date:
    return draft_date + dt.timedelta(days=_settings.autopay_days_before_due)


def plan(draft_date: dt.date) -> tuple[list[PlannedEntry], list[Excluded]]:
    """The entries of the draft date's file (prenotes first, then drafts by account number) and the
    accounts left out. Set-based: one statement for the bills due, one for the prenotes."""
    due = due_for(draft_date)
    wait = dt.timedelta(days=_settings.autopay_prenote_wait_days)
    p = db.database.param
    rows = db.database.execute_sql(f"""
SELECT e."id", e."account_id", ac."number", m."first_name", m."last_name", e."routing", e."bank_account",
       e."account_type", e."status", e."prenote_sent_on", ac."status", ac."bankruptcy", ac."cash_only_until",
       b.charged,
       (SELECT COALESCE(SUM(l."amount_cents"), 0) FROM "ledger_entry" l WHERE l."account_id" = e."account_id")
FROM "autopay_enrollment" e
JOIN (SELECT "account_id" AS aid, SUM("amount_cents") AS charged FROM "ledger_entry"
      WHERE "kind" = 'bill' AND "due_date" = {p} GROUP BY "account_id") b ON b.aid = e."account_id"
JOIN "account" ac ON ac."id" = e."account_id"
JOIN "member" m ON m."id" = ac."member_id"
WHERE NOT EXISTS (SELECT 1 FROM "autopay_entry" x JOIN "autopay_run" r ON r."id" = x."run_id"
                  WHERE x."account_id" = e."account_id" AND x."kind" = 'draft' AND r."draft_date" = {p})
ORDER BY ac."number"
""", (db.sql_date(due), db.sql_date(draft_date))).fetchall()
    entries: list[PlannedEntry] = []
    excluded: list[Excluded] = []
    dates: dict = {None: None}

    def day(value):                                         # a date column (ISO text on SQLite), parsed once
        if value not in dates:
            dates[value] = db.as_date(value)
        return dates[value]

    for (eid, aid, number, first, last, routing, bank, atype, estatus, sent, astatus, bk, cash_only, charged,
         balance) in rows:
        name = f"{first} {last}".strip()
        amount = min(int(charged or 0), int(balance or 0))
        if amount <= 0:
            continue                                        # paid already: nothing to draft
        cash_only = day(cash_only)
        sent = day(sent)
        reason = ("closed" if astatus == "closed" else "bankruptcy" if bk else
                  f"cash-only until {cash_only:%m/%d/%Y}" if cash_only and cash_only >= draft_date else
                  "autopay stopped" if estatus != "active" else
                  "prenote not yet sent" if sent is None else
                  f"prenote waiting until {sent + wait:%m/%d/%Y}" if sent + wait > draft_date else "")
        if reason:
            excluded.append(Excluded(aid, number, name, amount, reason))
            continue
        entries.append(PlannedEntry(aid, number, name, eid, "draft", nacha.DEBIT_CODE[atype], routing, bank,
                                    amount))
    E, A, M = db.AutopayEnrollment, db.Account, db.Member
    prenotes = (E.select(E.id, E.account, A.number, M.first_name, M.last_name, E.routing, E.bank_account,
                         E.account_type)
                .join(A, on=(E.account == A.id)).join(M, on=(A.member == M.id))
                .where(E.status == "active", E.prenote_sent_on.is_null(), A.status != "closed")
                .order_by(A.number).tuples())
    pre = [PlannedEntry(aid, number, f"{first} {last}".strip(), eid, "prenote", nacha.PRENOTE_CODE[atype],
                        routing, bank, 0)
           for eid, aid, number, first, last, routing, bank, atype in prenotes]
    return pre + entries, excluded


@db.connected
def preview(op: OperatorInfo, draft_date: dt.date) -> DraftPlan:
    """What the draft date's file would hold, recorded as the run's preview. A date already drafted
    is refused: its file was made once."""
    require(op, "autopay.run")
    R = db.AutopayRun
    done = R.get_or_none(R.draft_date == draft_date)
    if done is not None and done.status != "previewed":
        raise _made(done)
    entries, excluded = plan(draft_date)
    drafts = [e for e in entries if e.kind == "draft"]
    total = sum(e.amount_cents for e in drafts)
    with db.write_txn():
        run = R.get_or_none(R.draft_date == draft_date)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(draft_date=draft_date, created_by=op.id, preview_count=len(drafts),
                                      preview_total_cents=total, preview_prenotes=len(entries) - len(drafts)
                                      ).execute()
            except IntegrityError:
                raise RunBusy(f"The draft run of {draft_date:%m/%d/%Y} was just made by another session: "
                              "preview again") from None
        else:
            run_id = run.id
            n = (R.update(preview_count=len(drafts), preview_total_cents=total,
                          preview_prenotes=len(entries) - len(drafts))
                 .where(R.id == run_id, R.status == "previewed").execute())
            if n != 1:
                raise _made(R.get_by_id(run_id))
        audit.record(op, "autopay.preview", "autopay_run", run_id, field=f"{draft_date:%m/%d/%Y}",
                     after=f"{len(drafts)} drafts {money.fmt(total)}; {len(entries) - len(drafts)} prenotes; "
                           f"{len(excluded)} left out")
    return DraftPlan(_run_info(R.get_by_id(run_id)), draft_date, due_for(draft_date), entries, excluded)


def _made(run: db.AutopayRun) -> RunStateError:
    day = db.as_date(run.draft_date)
    if run.status == "committed":
        return AlreadyCommitted(f"The autopay drafts of {day:%m/%d/%Y} were already made ({run.entry_count} drafts, "
                                f"{money.fmt_dollars(run.total_cents)}, file {run.file_path}): nothing made again")
    return RunBusy(f"The autopay draft run of {day:%m/%d/%Y} is being made by another session")


def _after_chunk(run_id: int, written: int) -> None:
    """Test seam: called after each committed chunk."""


class Changed(RunStateError):
    """The drafts differ from the preview: preview again."""


@db.connected
def commit(op: OperatorInfo, run_id: int, *, now: dt.datetime | None = None,
           takeover_after: dt.timedelta = dt.timedelta(seconds=60), chunk: int = CHUNK) -> RunInfo:
    """Make the draft file of the previewed run, exactly once: entries with trace numbers, each draft
    posted as a payment on the settlement date, prenotes marked sent, the file written 0600."""
    require(op, "autopay.run")
    R, X = db.AutopayRun, db.AutopayEntry
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("previewed",), takeover_after)
        if run is None:
            raise NotFound("No such draft run")
        if not claimed:
            raise _made(run)
        if not run.first_seq:
            # Trace numbers count on from the last run's (or the last a run committing now will use).
            top = max(int(X.select(fn.MAX(X.seq)).scalar() or 0) + 1,
                      int(R.select(fn.MAX(R.first_seq + R.preview_count + R.preview_prenotes))
                          .where(R.id != run_id, R.first_seq > 0).scalar() or 0) + 1)
            R.update(first_seq=top).where(R.id == run_id).execute()
            run = R.get_by_id(run_id)
        audit.record(op, "autopay.commit.start", "autopay_run", run_id, after=f"claim {token[:8]}")
    draft_date = db.as_date(run.draft_date)
    what = f"The autopay draft run of {draft_date:%m/%d/%Y}"
    have = {(a, k) for a, k in X.select(X.account, X.kind).where(X.run == run_id).tuples()}
    entries, _ = plan(draft_date)
    # A prenote written by this run before a stop is no longer "unsent": keep it in the file.
    todo = [e for e in entries if (e.account_id, e.kind) not in have]
    d_count, d_total = X.select(fn.COUNT(X.id), fn.COALESCE(fn.SUM(X.amount_cents), 0)).where(
        X.run == run_id, X.kind == "draft").tuples()[0]
    drafts = [e for e in todo if e.kind == "draft"]
    if (d_count + len(drafts), int(d_total) + sum(e.amount_cents for e in drafts)) != \
            (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(R, run_id, token)
            audit.record(op, "autopay.commit.refused", "autopay_run", run_id,
                         after="the drafts differ from the preview")
        raise Changed(f"{what}: bills, payments or enrollments changed since the preview ({run.preview_count} "
                      f"drafts {money.fmt_dollars(run.preview_total_cents)}); preview again")
    seq = run.first_seq + len(have)
    for i in range(0, len(todo), chunk):
        part = todo[i:i + chunk]
        _write_chunk(op, run, token, part, seq)
        seq += len(part)
        _after_chunk(run_id, i + len(part))
    path, digest, count, total, prenotes, ehash = _write_file(run, now or db.now())
    with db.write_txn():
        if not run_claim.finish(R, run_id, token, entry_count=count, total_cents=total, prenote_count=prenotes,
                                entry_hash=ehash, file_path=str(path), file_sha256=digest):
            raise RunBusy(f"{what}: another session took the run over; it finishes it")
        audit.record(op, "autopay.commit", "autopay_run", run_id, before="previewed",
                     after=f"{path.name}: {count} drafts {money.fmt(total)}, {prenotes} prenotes, "
                           f"entry hash {ehash:010d}")
    return _run_info(R.get_by_id(run_id))


def _trace(odfi: str, seq: int) -> str:
    return f"{odfi}{seq % SEQ_MOD:07d}"


def _write_chunk(op: OperatorInfo, run: db.AutopayRun, token: str, part: list[PlannedEntry], first_seq: int) -> None:
    R, X = db.AutopayRun, db.AutopayEntry
    draft_date = db.as_date(run.draft_date)
    with db.write_txn():
        if not run_claim.hold(R, run.id, token):
            raise RunBusy(f"The autopay draft run of {draft_date:%m/%d/%Y}: another session took the run over")
        now = db.now()
        now_v = now if db.is_postgres() else now.isoformat(" ")        # converted once, not per row
        day_v = draft_date if db.is_postgres() else draft_date.isoformat()
        odfi = origin().odfi
        traces = {e.account_id: _trace(odfi, first_seq + k) for k, e in enumerate(part)}
        drafts = [e for e in part if e.kind == "draft"]
        payment_of: dict[str, int] = {}
        if drafts:
            sql, p = db.database.execute_sql, db.database.param
            before = sql('SELECT MAX("id") FROM "ledger_entry"').fetchone()[0] or 0
            cols = ("account_id", "posted_at", "effective", "kind", "amount_cents", "description", "reference",
                    "operator_id")
            db.database.cursor().executemany(
                f'INSERT INTO "ledger_entry" ({", ".join(cols)}) VALUES ({", ".join([p] * len(cols))})',
                [(e.account_id, now_v, day_v, "payment", -e.amount_cents, "Autopay bank draft",
                  f"ACH {traces[e.account_id]}", op.id) for e in drafts])
            payment_of = {ref: i for i, ref in sql(
                f'SELECT "id", "reference" FROM "ledger_entry" WHERE "id" > {p} AND "kind" = {p} '
                f'AND "reference" LIKE {p}', (before, "payment", "ACH %")).fetchall()}
        rows = [(run.id, e.account_id, e.enrollment_id, e.kind, first_seq + k, traces[e.account_id], e.tx_code,
                 e.routing, e.bank_account[-4:], e.amount_cents, payment_of.get(f"ACH {traces[e.account_id]}"),
                 "sent", "")
                for k, e in enumerate(part)]
        batches.insert_rows(X, (X.run, X.account, X.enrollment, X.kind, X.seq, X.trace, X.tx_code, X.routing,
                                X.account_last4, X.amount_cents, X.payment, X.status, X.return_code), rows)
        E = db.AutopayEnrollment
        for e in part:
            if e.kind == "prenote":
                E.update(prenote_sent_on=draft_date, prenote_trace=traces[e.account_id]).where(
                    E.id == e.enrollment_id).execute()
        run_claim.beat(R, run.id)


def _write_file(run: db.AutopayRun, now: dt.datetime) -> tuple[Path, str, int, int, int, int]:
    """The file from the run's entries (the bank numbers as enrolled now), written 0600 at once
    under a temporary name, then moved into place: a reader never sees half a file."""
    q = db.database.execute_sql(f"""
SELECT x."tx_code", x."routing", e."bank_account", x."amount_cents", ac."number", m."first_name", m."last_name",
       x."trace", x."kind"
FROM "autopay_entry" x JOIN "autopay_enrollment" e ON e."id" = x."enrollment_id"
JOIN "account" ac ON ac."id" = x."account_id" JOIN "member" m ON m."id" = ac."member_id"
WHERE x."run_id" = {db.database.param} ORDER BY x."seq"
""", (run.id,))
    entries, drafts, total, prenotes = [], 0, 0, 0
    for tx, routing, bank, amount, number, first, last, trace, kind in q:
        entries.append((tx, routing, bank, amount, str(number), f"{first} {last}".strip(), trace))   # an Entry
        if kind == "draft":
            drafts += 1
            total += amount
        else:
            prenotes += 1
    draft_date = db.as_date(run.draft_date)
    text = nacha.write_ppd_debits(origin(), entries, effective=draft_date, created=now)
    folder = files_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)      # the files hold full bank account numbers
    path = folder / f"autopay-{draft_date:%Y%m%d}.ach"
    tmp = folder / f".{path.name}.{uuid.uuid4().hex[:8]}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path, hashlib.sha256(text.encode()).hexdigest(), drafts, total, prenotes, \
        nacha.entry_hash(e[1] for e in entries)


@db.connected
def get_run(draft_date: dt.date) -> RunInfo | None:
    r = db.AutopayRun.get_or_none(db.AutopayRun.draft_date == draft_date)
    return _run_info(r) if r else None


@db.connected
def recent_runs(limit: int = 10) -> list[RunInfo]:
    R = db.AutopayRun
    return [_run_info(r) for r in R.select().order_by(R.draft_date.desc()).limit(limit)]


# ---- the bank's return and change files -------------------------------------------------------

@dataclass(frozen=True)
class BankItem:
    line_no: int
    kind: str                       # return, change
    code: str
    trace: str                      # the original trace number
    account_number: int | None
    amount_cents: int
    outcome: str                    # what was done, or why it went to the exceptions queue
    matched: bool


@dataclass(frozen=True)
class BankFileResult:
    import_id: int
    filename: str
    returns: int
    changes: int
    exceptions: int
    items: list[BankItem]


def _when(entry_day: dt.date, file_day: dt.date | None, today: dt.date) -> dt.date:
    return max(entry_day, min(file_day or today, today))


@db.connected
def import_bank_file(op: OperatorInfo, path: str | Path, *, today: dt.date | None = None) -> BankFileResult:
    """Import the bank's NACHA return / notification-of-change file: checked whole first (a wrong
    control total or a truncated file is refused with nothing applied), refused if seen before,
    then every entry matched by its original trace number, in one transaction."""
    require(op, "payment.return")
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise lockbox.ImportRefused(f"Cannot read {p}: {exc.strerror or exc}") from exc
    try:
        parsed = nacha.parse(lockbox.decode(data))
    except nacha.NachaError as exc:
        raise lockbox.ImportRefused(f"{p.name} refused, nothing applied: {exc}") from None
    if not parsed.entries:
        raise lockbox.ImportRefused(f"{p.name} has no entries")
    digest = hashlib.sha256(parsed.normalised().encode()).hexdigest()
    lockbox._refuse_if_seen(lockbox.ParsedFile("ach", [], 0, digest=digest), hashlib.sha256(data).hexdigest())
    today = today or dt.date.today()
    file_day = parsed.created.date() if parsed.created else None
    items: list[BankItem] = []
    with db.write_txn():
        try:
            with db.database.atomic():
                imp = db.PaymentImport.create(sha256=digest, filename=p.name[:255], format="ach", operator=op.id,
                                              record_count=len(parsed.entries), total_cents=parsed.debit_cents
                                              + parsed.credit_cents)
        except IntegrityError:
            raise lockbox.DuplicateImport(f"{p.name} was already imported (the same bank file)") from None
        for entry in parsed.entries:
            if entry.return_addenda is not None:
                items.append(_apply_return(op, imp.id, entry, file_day, today))
            elif entry.change_addenda is not None:
                items.append(_apply_change(op, imp.id, entry, today))
            else:
                items.append(_exception(imp.id, entry, "entry", "", entry.trace, None,
                                        "not a return or a change (no addenda 98 or 99)"))
        n_ret = sum(1 for i in items if i.kind == "return" and i.matched)
        n_chg = sum(1 for i in items if i.kind == "change" and i.matched)
        n_exc = sum(1 for i in items if not i.matched)
        db.PaymentImport.update(matched_count=n_ret + n_chg, exception_count=n_exc,
                                exception_total_cents=sum(i.amount_cents for i in items if not i.matched),
                                matched_total_cents=sum(i.amount_cents for i in items if i.matched)
                                ).where(db.PaymentImport.id == imp.id).execute()
        audit.record(op, "autopay.bank_file", "payment_import", imp.id,
                     after=f"{p.name}: {n_ret} returns, {n_chg} changes, {n_exc} to the exceptions queue")
    return BankFileResult(imp.id, p.name, n_ret, n_chg, n_exc, items)


def _find(trace: str) -> db.AutopayEntry | None:
    X = db.AutopayEntry
    return X.select().where(X.trace == trace).order_by(X.id.desc()).first()


def _exception(import_id: int, entry: nacha.ParsedEntry, kind: str, code: str, trace: str, number: int | None,
               reason: str) -> BankItem:
    db.PaymentException.create(payment_import=import_id, record_no=entry.line_no,
                               account_text=(entry.individual_id or "")[:40], amount_cents=entry.amount_cents,
                               check_no=trace[:20], payer_name=entry.name[:80],
                               reason=f"ACH {kind} {code}: {reason}"[:120].replace("  ", " "))
    return BankItem(entry.line_no, kind, code, trace, number, entry.amount_cents, reason, False)


def _apply_return(op: OperatorInfo, import_id: int, entry: nacha.ParsedEntry, file_day: dt.date | None,
                  today: dt.date) -> BankItem:
    a = entry.return_addenda
    code, trace = a.code.strip().upper(), a.original_trace.strip()
    x = _find(trace)
    if x is None:
        return _exception(import_id, entry, "return", code, trace, None, f"trace {trace} was never sent")
    number = db.Account.get_by_id(x.account_id).number
    e = db.AutopayEnrollment.get_by_id(x.enrollment_id)
    if x.status == "returned":
        return _exception(import_id, entry, "return", code, trace, number, f"trace {trace} was already returned")
    if x.kind == "prenote":
        db.AutopayEntry.update(status="returned", return_code=code).where(db.AutopayEntry.id == x.id).execute()
        if e.status == "active":
            _stop(op, e, f"prenote returned {code} {returns.RETURN_CODES.get(code, '')}".strip(), today)
        return BankItem(entry.line_no, "return", code, trace, number, 0, "prenote returned: autopay stopped", True)
    if entry.amount_cents != x.amount_cents:
        return _exception(import_id, entry, "return", code, trace, number,
                          f"amount {money.fmt_dollars(entry.amount_cents)} is not the draft's "
                          f"{money.fmt_dollars(x.amount_cents)}")
    if code not in returns.RETURN_CODES:
        return _exception(import_id, entry, "return", code, trace, number, f"code {code} is worked by hand")
    pay = db.LedgerEntry.get_by_id(x.payment_id)
    try:
        r = returns.return_payment(op, x.payment_id, code, _when(db.as_date(pay.effective), file_day, today),
                                   fee_cents=fees.schedule().returned_payment_cents)
    except ServiceError as exc:
        return _exception(import_id, entry, "return", code, trace, number, exc.message)
    db.AutopayEntry.update(status="returned", return_code=code).where(db.AutopayEntry.id == x.id).execute()
    outcome = f"reversed {money.fmt_dollars(r.amount_cents)}, fee {money.fmt_dollars(r.fee_cents)}, " \
              f"{r.returns_in_window} in 12 months" + (
                  f", cash-only to {r.cash_only_until:%m/%d/%Y}" if r.cash_only_until else "")
    if code in STOP_CODES and e.status == "active":
        _stop(op, e, f"return {code} {returns.RETURN_CODES[code]}", today)
        outcome += "; autopay stopped"
    return BankItem(entry.line_no, "return", code, trace, number, entry.amount_cents, outcome, True)


def _apply_change(op: OperatorInfo, import_id: int, entry: nacha.ParsedEntry, today: dt.date) -> BankItem:
    a = entry.change_addenda
    code, trace = a.code.strip().upper(), a.original_trace.strip()
    x = _find(trace)
    if x is None:
        return _exception(import_id, entry, "change", code, trace, None, f"trace {trace} was never sent")
    number = db.Account.get_by_id(x.account_id).number
    e = db.AutopayEnrollment.get_by_id(x.enrollment_id)
    data = a.corrected_data.ljust(29)
    routing, bank, atype = e.routing, e.bank_account, e.account_type
    try:
        if code == "C01":
            bank = check_bank_account(data[:17])
        elif code == "C02":
            routing = check_routing(data[:9])
        elif code == "C03":
            routing, bank = check_routing(data[:9]), check_bank_account(data[12:29])
        elif code == "C05":
            atype = nacha.ACCOUNT_TYPE_OF_CODE[data[:2]]
        elif code == "C06":
            bank, atype = check_bank_account(data[:17]), nacha.ACCOUNT_TYPE_OF_CODE[data[20:22]]
        elif code == "C07":
            routing, bank = check_routing(data[:9]), check_bank_account(data[9:26])
            atype = nacha.ACCOUNT_TYPE_OF_CODE[data[26:28]]
        else:
            return _exception(import_id, entry, "change", code, trace, number, f"change code {code} is worked by hand")
    except (ValidationError, KeyError) as exc:
        why = exc.message if isinstance(exc, ValidationError) else "the corrected account type is not a known code"
        return _exception(import_id, entry, "change", code, trace, number, f"corrected data refused: {why}")
    before = _describe(e.routing, e.bank_account, e.account_type)
    after = _describe(routing, bank, atype)
    db.AutopayEnrollment.update(routing=routing, bank_account=bank, account_type=atype, updated_at=db.now()) \
        .where(db.AutopayEnrollment.id == e.id).execute()
    audit.record(op, "autopay.noc", "autopay_enrollment", e.id, account_id=e.account_id, field="autopay",
                 before=before, after=f"{after} ({code} {CHANGE_CODES[code]}, trace {trace})")
    _set_member_bank(op, db.Account.get_by_id(e.account_id), routing, bank)
    return BankItem(entry.line_no, "change", code, trace, number, 0, f"{CHANGE_CODES[code]}: now {after}", True)


# ---- the processor's settlement file ----------------------------------------------------------

REFERENCE_COLUMNS = ("reference", "processor reference", "transaction id", "transaction", "confirmation",
                     "confirmation no", "ref", "txn id")
METHOD_COLUMNS = ("method", "payment method", "payment type", "type", "tender")


@dataclass(frozen=True)
class ProcessorResult:
    import_id: int
    batch_id: int | None
    batch_number: int | None
    count: int
    total_cents: int
    matched_count: int
    matched_total_cents: int
    exception_count: int
    exception_total_cents: int


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@db.connected
def import_processor_file(op: OperatorInfo, path: str | Path, *, batch_date: dt.date | None = None
                          ) -> ProcessorResult:
    """A card / e-check processor's settlement CSV (a header row naming at least account, amount and the
    processor's reference): checked whole, refused if seen, matched into one batch, the rest to the
    exceptions queue; each line keeps its reference (and method)."""
    require(op, "payment.import")
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise lockbox.ImportRefused(f"Cannot read {p}: {exc.strerror or exc}") from exc
    text = lockbox.decode(data)
    parsed = lockbox.parse_csv(text)
    rows = list(csv.reader(io.StringIO(text)))
    header = [lockbox._norm(h) for h in rows[0]] if rows else []
    ref_col = next((header.index(n) for n in REFERENCE_COLUMNS if n in header), None)
    if ref_col is None:
        raise lockbox.ImportRefused("A processor file names its reference column (reference, transaction id or "
                                    f"confirmation); it has: {', '.join(h.strip() for h in rows[0])[:120]}")
    method_col = next((header.index(n) for n in METHOD_COLUMNS if n in header), None)
    refs: dict[int, tuple[str, str]] = {}
    for fp in parsed.payments:
        row = rows[fp.record_no - 1]
        ref = row[ref_col].strip()
        if not ref:
            raise lockbox.ImportRefused(f"Line {fp.record_no}: no processor reference")
        if len(ref) > 64:
            raise lockbox.ImportRefused(f"Line {fp.record_no}: the reference is longer than 64 characters")
        bare = ref.replace(" ", "").replace("-", "")
        if bare.isdigit() and 13 <= len(bare) <= 19 and _luhn(bare):
            raise lockbox.ImportRefused(f"Line {fp.record_no}: the reference looks like a card number: a card "
                                        "number is never stored; ask the processor for its transaction id")
        method = row[method_col].strip().lower()[:12] if method_col is not None else ""
        refs[fp.record_no] = (ref, method)
    payments = [dataclasses.replace(fp, check_no=refs[fp.record_no][0][:lockbox.CHECK_NO_MAX])
                for fp in parsed.payments]
    parsed = dataclasses.replace(parsed, payments=payments)
    lockbox._refuse_if_seen(parsed, hashlib.sha256(data).hexdigest())
    classified = lockbox._classify(parsed.payments)
    matched = [(fp, aid) for fp, aid, reason in classified if aid is not None]
    excepted = [(fp, reason) for fp, aid, reason in classified if aid is None]
    with db.write_txn():
        imp_id, batch_id, number = lockbox._apply(op, p.name, parsed, matched, excepted, "lockbox", batch_date)
        if batch_id:
            L = db.BatchLine
            line_of = dict(L.select(L.seq, L.id).where(L.batch == batch_id).tuples())
            db.ProcessorPayment.insert_many(
                [{"batch_line": line_of[seq], "reference": refs[fp.record_no][0], "method": refs[fp.record_no][1]}
                 for seq, (fp, _) in enumerate(matched, start=1)]).execute()
        db.PaymentImport.update(format="proc").where(db.PaymentImport.id == imp_id).execute()
    m_total = sum(fp.amount_cents for fp, _ in matched)
    return ProcessorResult(imp_id, batch_id, number, len(parsed.payments), parsed.total_cents, len(matched),
                           m_total, len(excepted), parsed.total_cents - m_total)


@db.connected
def processor_reference(batch_line_id: int) -> str:
    row = db.ProcessorPayment.get_or_none(db.ProcessorPayment.batch_line == batch_line_id)
    return row.reference if row else ""


@db.connected
def enrolled_since(account_id: int, operator_id: int, since: dt.datetime) -> EnrollmentInfo | None:
    """The account's enrollment, if this operator enrolled or changed it since `since` (training's check)."""
    A = db.AuditLog
    if not A.select().where(A.account == account_id, A.operator == operator_id, A.at >= since,
                            A.action.in_(("autopay.enroll", "autopay.change"))).exists():
        return None
    return get_enrollment(account_id)
