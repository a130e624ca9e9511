"""Write-offs and collection agencies: bad debt of final accounts.

The write-off list of a day: every final or closed account (not in bankruptcy: bankruptcy.py
closes those) still owing, whose final bill (its last bill, else the day it closed) is at least
`write_off_after_days` (90) old. A collector previews it; a supervisor approves it (with
accounts left out, if any), which commits it exactly once (run_claim.py, a CreditRun of kind
"writeoff"): for each account a ledger entry of kind writeoff for the whole balance, a WriteOff
row (unique on the account: written off once), the account closed, audited. A later applicant's
bad-debt audit (memberships.py) finds the member by the writeoff entries: the member is marked by
them, and a recovery lowers what it shows. One account may be written off on its own the same way
(a supervisor approves); an account still in service (active, pending, disconnected) is refused.

Collection agencies: final accounts still owing (written off or not) are referred to the agency
(`collection_agency`) as a CSV file in its layout, one row per account (the member's tax ID
only as its last 4); an account is referred once while its referral is open. The agency's
payments are recorded as it reports them, gross: the agency keeps `agency_commission_percent`
(30%) and remits the rest, so the account is credited the payment remitted (a payment entry)
and the commission (an adjustment, reference AGENCY FEE). A payment on a written-off account
is a recovery: first a writeoff entry back (positive) of the gross, so the ledger shows the bad
debt recovered and the bad-debt audit the debt still written off. A member who pays the co-op
after the write-off is recorded the same way, without commission (`recover`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError, fn

from kec_tui import db, money
from kec_tui.services import audit, card_numbers, credit_rules, fees, run_claim
from kec_tui.services.accounts import display_name
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.run_claim import AlreadyCommitted, RunBusy, RunStateError

__all__ = ["AlreadyCommitted", "RunBusy", "RunStateError", "Changed"]

KIND = "writeoff"
FINAL = ("final", "closed")
IN_SERVICE = ("pending", "active", "disconnected")
AGENCY_COLUMNS = ("Account", "Member No", "Last Name", "First Name", "Tax ID Last 4", "Birth Date", "Phone",
                  "Mailing Address", "City", "State", "Zip", "Service Address", "Amount Owed", "Written Off",
                  "Final Bill Date", "Last Payment Date", "Referred On")


class Changed(RunStateError):
    """The list differs from the preview: preview again."""


@dataclass(frozen=True)
class Candidate:
    account_id: int
    number: int
    name: str
    status: str
    balance_cents: int
    final_bill_on: dt.date | None
    days: int                       # since the final bill


@dataclass(frozen=True)
class WriteOffList:
    run_id: int
    run_date: dt.date
    status: str
    items: list[Candidate]
    after_days: int

    @property
    def total_cents(self) -> int:
        return sum(c.balance_cents for c in self.items)


@dataclass(frozen=True)
class WriteOffInfo:
    account_id: int
    number: int
    amount_cents: int
    approved_by: str
    ledger_entry_id: int


@dataclass(frozen=True)
class Referral:
    id: int
    account_id: int
    number: int
    name: str
    agency: str
    referred_on: dt.date
    amount_cents: int
    collected_cents: int
    commission_cents: int
    status: str


@dataclass(frozen=True)
class ReferralFile:
    path: Path
    referrals: list[Referral]

    @property
    def total_cents(self) -> int:
        return sum(r.amount_cents for r in self.referrals)


@dataclass(frozen=True)
class AgencyPayment:
    account_id: int
    number: int
    gross_cents: int
    commission_cents: int
    net_cents: int
    recovered_cents: int            # of the gross, bad debt recovered after the write-off


# ---- what is owed ----------------------------------------------------------------------------------------

def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def written_off(account_ids: list[int]) -> dict[int, int]:
    """Bad debt still written off per account (writeoff entries, recoveries netted; positive)."""
    L = db.LedgerEntry
    out: dict[int, int] = {}
    for part in _chunks(list(account_ids)):
        for aid, s in (L.select(L.account, fn.SUM(L.amount_cents))
                       .where(L.account.in_(part), L.kind == "writeoff").group_by(L.account).tuples()):
            if -int(s or 0) > 0:
                out[aid] = -int(s)
    return out


def _balance(account_id: int) -> int:
    L = db.LedgerEntry
    return int(L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0)).where(L.account == account_id).scalar())


def final_bill_days(account_ids: list[int]) -> dict[int, dt.date | None]:
    """The day each account's write-off clock starts: its last bill, else the day it closed (None: neither)."""
    L, A = db.LedgerEntry, db.Account
    out: dict[int, dt.date | None] = {}
    for part in _chunks(list(account_ids)):
        for aid, closed in A.select(A.id, A.closed).where(A.id.in_(part)).tuples():
            out[aid] = db.as_date(closed)
        for aid, d in (L.select(L.account, fn.MAX(L.effective)).where(L.account.in_(part), L.kind == "bill")
                       .group_by(L.account).tuples()):
            out[aid] = db.as_date(d)
    return out


def candidates(as_of: dt.date) -> list[Candidate]:
    """The write-off list of the day (the module's doc), the oldest final bill first."""
    after = credit_rules.rules().write_off_after_days
    A, M, L, W = db.Account, db.Member, db.LedgerEntry, db.WriteOff
    bal = (L.select(L.account.alias("a"), fn.SUM(L.amount_cents).alias("b"))
           .where(L.effective <= as_of).group_by(L.account).having(fn.SUM(L.amount_cents) > 0).alias("bal"))
    rows = list(A.select(A.id, A.number, A.status, A.closed, M.first_name, M.last_name, bal.c.b)
                .join(M, on=(A.member == M.id)).switch(A).join(bal, on=(bal.c.a == A.id))
                .where(A.status.in_(FINAL), A.bankruptcy == False,                       # noqa: E712
                       ~fn.EXISTS(W.select(W.id).where(W.account == A.id)))
                .tuples())
    finals = final_bill_days([r[0] for r in rows])
    out = []
    for aid, number, status, _closed, first, last, b in rows:
        day = finals.get(aid)
        if day is None or (as_of - day).days < after:
            continue
        out.append(Candidate(aid, number, display_name(first, last), status, int(b), day, (as_of - day).days))
    out.sort(key=lambda c: (c.final_bill_on, c.number))
    return out


# ---- the write-off list: preview, a supervisor's approval commits it once ----------------------------------

def _run_row(run_date: dt.date) -> db.CreditRun | None:
    R = db.CreditRun
    return R.get_or_none(R.kind == KIND, R.run_date == run_date)


@db.connected
def preview(op: OperatorInfo, run_date: dt.date | None = None, *, today: dt.date | None = None) -> WriteOffList:
    """The write-off list of the day, recorded as the run's preview (again: replaced, until approved)."""
    require(op, "collections.act")
    today = today or dt.date.today()
    run_date = run_date or today
    if run_date > today:
        raise ValidationError(f"The write-off list is for today or an earlier day, not {run_date:%m/%d/%Y}",
                              "run_date")
    items = candidates(run_date)
    total = sum(c.balance_cents for c in items)
    R = db.CreditRun
    with db.write_txn():
        run = _run_row(run_date)
        if run is None:
            try:
                with db.database.atomic():
                    run_id = R.insert(kind=KIND, run_date=run_date, created_by=op.id, preview_count=len(items),
                                      preview_total_cents=total).execute()
            except IntegrityError:
                raise RunBusy(f"The write-off list of {run_date:%m/%d/%Y} was just made by another session: "
                              "preview again") from None
        else:
            run_id = run.id
            if run.status != "previewed":
                raise (AlreadyCommitted if run.status == "committed" else RunBusy)(
                    f"The write-off list of {run_date:%m/%d/%Y} is {run.status}"
                    + (f" ({run.item_count} accounts, {money.fmt_dollars(run.total_cents)})"
                       if run.status == "committed" else ""))
            R.update(preview_count=len(items), preview_total_cents=total).where(R.id == run_id).execute()
        audit.record(op, "writeoff.preview", "credit_run", run_id, field=f"{run_date:%m/%d/%Y}",
                     after=f"{len(items)} accounts {money.fmt(total)}")
    return WriteOffList(run_id, run_date, "previewed", items, credit_rules.rules().write_off_after_days)


def _approver(op: OperatorInfo, supervisor: OperatorInfo | None) -> OperatorInfo:
    who = supervisor or op
    if not who.can("writeoff"):
        raise PermissionDenied(f"A write-off needs a supervisor's approval; {who.username} ({who.role}) may not "
                               "approve it", "supervisor")
    return who


def _write_off(op: OperatorInfo, approver: OperatorInfo, a: db.Account, cents: int, day: dt.date,
               final_bill_on: dt.date | None, note: str, run_id: int | None) -> int:
    """One account's write-off, in the caller's write transaction: the ledger entry, the WriteOff row
    (unique on the account), the account closed; audited and noted on the account."""
    entry = fees.post(op, a.id, "writeoff", -cents, f"Bad debt written off (approved by {approver.username})",
                      reference="WRITEOFF", effective=day, audit_action="writeoff.post")
    db.WriteOff.create(account=a.id, run=run_id, amount_cents=cents, final_bill_on=final_bill_on, note=note[:200],
                       ledger_entry=entry, operator=op.id, approved_by=approver.id)
    if a.status != "closed":
        db.Account.update(status="closed", closed=a.closed or day).where(db.Account.id == a.id).execute()
        audit.record(op, "account.status", "account", a.id, account_id=a.id, field="status", before=a.status,
                     after="closed (written off)")
    db.Note.create(account=a.id, operator=op.id,
                   text=f"Written off as bad debt: {money.fmt_dollars(cents)}, approved by {approver.username}"
                        + (f". {note}" if note else "") + ". A later application finds it in the bad-debt audit.")
    return entry


@db.connected
def approve(op: OperatorInfo, run_id: int, *, supervisor: OperatorInfo | None = None,
            leave_out: tuple[int, ...] = (), takeover_after: dt.timedelta = dt.timedelta(seconds=60)
            ) -> WriteOffList:
    """A supervisor approves the previewed list (`supervisor` signed in, or the operator is one): it is
    written off, exactly once, but for the accounts left out (by id). Refused (Changed) if the list
    differs from the preview."""
    require(op, "collections.act")
    approver = _approver(op, supervisor)
    R = db.CreditRun
    token = uuid.uuid4().hex
    with db.write_txn():
        claimed, run = run_claim.claim(R, run_id, token, op.id, ("previewed",), takeover_after)
        if run is None or run.kind != KIND:
            raise NotFound("No such write-off list")
        what = f"The write-off list of {db.as_date(run.run_date):%m/%d/%Y}"
        if not claimed:
            if run.status == "committed":
                raise AlreadyCommitted(f"{what} is already approved ({run.item_count} accounts, "
                                       f"{money.fmt_dollars(run.total_cents)})")
            raise RunBusy(f"{what} is being approved by another session")
    run_date = db.as_date(run.run_date)
    items = candidates(run_date)
    if (len(items), sum(c.balance_cents for c in items)) != (run.preview_count, run.preview_total_cents):
        with db.write_txn():
            run_claim.release(R, run_id, token)
            audit.record(op, "writeoff.refused", "credit_run", run_id, after="differs from the preview")
        raise Changed(f"{what}: payments or accounts changed since the preview: preview again")
    skip = set(leave_out)
    done = []
    try:
        with db.write_txn():
            if not run_claim.hold(R, run_id, token):
                raise RunBusy(f"{what}: another session took it over")
            for c in items:
                if c.account_id in skip:
                    continue
                a = db.locked(db.Account, c.account_id)
                if a is None or a.status not in FINAL or _balance(a.id) != c.balance_cents:
                    continue
                _write_off(op, approver, a, c.balance_cents, run_date, c.final_bill_on, "", run_id)
                done.append(c)
            total = sum(c.balance_cents for c in done)
            R.update(approved_by=approver.id).where(R.id == run_id).execute()
            if not run_claim.finish(R, run_id, token, item_count=len(done), total_cents=total):
                raise RunBusy(f"{what}: another session took it over")
            audit.record(approver, "writeoff.approve", "credit_run", run_id, before="previewed",
                         after=f"{len(done)} accounts {money.fmt(total)} written off"
                               + (f", {len(skip)} left out" if skip else "") + f" (keyed by {op.username})")
    except IntegrityError:
        raise RunBusy(f"{what}: an account on it was written off meanwhile; nothing was written: preview again"
                      ) from None
    return WriteOffList(run_id, run_date, "committed", done, credit_rules.rules().write_off_after_days)


def _refusal(a: db.Account) -> str | None:
    if a.status in IN_SERVICE:
        return (f"Account {a.number} is {a.status}: only a final account's unpaid balance is written off "
                "(close it with its final bill first)")
    if a.bankruptcy:
        return f"Account {a.number} is in bankruptcy: the discharge writes it off"
    if db.WriteOff.select().where(db.WriteOff.account == a.id).exists():
        return f"Account {a.number} is already written off"
    if _balance(a.id) <= 0:
        return f"Account {a.number} owes nothing to write off"
    return None


@db.connected
def refusal(account_id: int) -> str | None:
    """Why the account cannot be written off now (None: it can): the form asks before anything is keyed."""
    a = db.Account.get_or_none(db.Account.id == account_id)
    return "No such account" if a is None else _refusal(a)


@db.connected
def write_off_account(op: OperatorInfo, account_id: int, *, supervisor: OperatorInfo | None = None,
                      note: str = "", today: dt.date | None = None) -> WriteOffInfo:
    """Write off one final account's balance now, a supervisor approving. Refused for an account in
    service, one in bankruptcy, one owing nothing, one written off already."""
    require(op, "collections.act")
    card_numbers.refuse(note, "note")
    approver = _approver(op, supervisor)
    today = today or dt.date.today()
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError("The note is at most 200 characters", "note")
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("No such account", "account")
        why = _refusal(a)
        if why:
            raise ValidationError(why, "account")
        owed = _balance(a.id)
        final = final_bill_days([a.id]).get(a.id)
        entry = _write_off(op, approver, a, owed, today, final, note, None)
        if approver.id != op.id:
            audit.record(approver, "writeoff.approve", "account", a.id, account_id=a.id, field="writeoff",
                         after=f"{money.fmt(owed)} (keyed by {op.username})")
    return WriteOffInfo(a.id, a.number, owed, approver.username, entry)


@db.connected
def recover(op: OperatorInfo, account_id: int, amount_cents: int, *, reference: str = "",
            today: dt.date | None = None) -> int:
    """The member pays the co-op after the write-off: the bad debt recovered (a writeoff entry back) and
    the payment. Refused for more than is written off."""
    require(op, "collections.act")
    today = today or dt.date.today()
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Amount: more than zero", "amount")
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("No such account", "account")
        out = written_off([a.id]).get(a.id, 0)
        if amount_cents > out:
            raise ValidationError(f"Account {a.number} has {money.fmt_dollars(out)} written off: a recovery is at "
                                  "most that", "amount")
        fees.post(op, a.id, "writeoff", amount_cents, "Bad debt recovered", reference="RECOVERY", effective=today,
                  audit_action="writeoff.recover")
        return fees.post(op, a.id, "payment", -amount_cents, "Payment after write-off",
                         reference=(reference or "RECOVERY")[:40], effective=today, audit_action="payment.recovery")


# ---- collection agencies --------------------------------------------------------------------------------

def _referral(r: db.AgencyReferral, number: int, name: str) -> Referral:
    return Referral(r.id, r.account_id, number, name, r.agency, db.as_date(r.referred_on), r.amount_cents,
                    r.collected_cents, r.commission_cents, r.status)


def owed_to_collect(account_ids: list[int]) -> dict[int, int]:
    """What each account owes, written off or not: its balance and its bad debt still written off."""
    L = db.LedgerEntry
    out: dict[int, int] = {}
    wo = written_off(account_ids)
    for part in _chunks(list(account_ids)):
        for aid, s in L.select(L.account, fn.SUM(L.amount_cents)).where(L.account.in_(part)).group_by(
                L.account).tuples():
            out[aid] = int(s or 0)
    return {aid: max(out.get(aid, 0), 0) + wo.get(aid, 0) for aid in account_ids}


@db.connected
def referral_candidates(as_of: dt.date | None = None) -> list[Candidate]:
    """Final accounts owing (written off or not), not in bankruptcy, not referred already (an open
    referral), the oldest final bill first."""
    A, M, AR = db.Account, db.Member, db.AgencyReferral
    rows = list(A.select(A.id, A.number, A.status, A.closed, M.first_name, M.last_name)
                .join(M, on=(A.member == M.id))
                .where(A.status.in_(FINAL), A.bankruptcy == False,                       # noqa: E712
                       ~fn.EXISTS(AR.select(AR.id).where(AR.account == A.id, AR.status == "open"))).tuples())
    as_of = as_of or dt.date.today()
    owed = owed_to_collect([r[0] for r in rows])
    finals = final_bill_days([r[0] for r in rows])
    out = []
    for aid, number, status, _closed, first, last in rows:
        if owed.get(aid, 0) <= 0:
            continue
        day = finals.get(aid)
        out.append(Candidate(aid, number, display_name(first, last), status, owed[aid], day,
                             (as_of - day).days if day else 0))
    out.sort(key=lambda c: (c.final_bill_on or dt.date.min, c.number))
    return out


def agency_csv(referrals: list[Referral]) -> str:
    """The agency's file: a header row, one row per account (tax ID: last 4 only), amounts in dollars."""
    A, M, L = db.Account, db.Member, db.LedgerEntry
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(AGENCY_COLUMNS)
    for r in referrals:
        a = A.get_by_id(r.account_id)
        m = M.get_by_id(a.member_id)
        loc = db.ServiceLocation.get_by_id(a.location_id)
        wo = db.WriteOff.get_or_none(db.WriteOff.account == a.id)
        last_pay = L.select(fn.MAX(L.effective)).where(L.account == a.id, L.kind == "payment").scalar()
        final = final_bill_days([a.id]).get(a.id)
        w.writerow([a.number, m.member_no, m.last_name, m.first_name, m.tax_id_last4 or "",
                    m.birth_date.isoformat() if m.birth_date else "", m.phone_mobile or m.phone_home or "",
                    m.mail_street, m.mail_city, m.mail_state, m.mail_zip, f"{loc.street}, {loc.city}",
                    money.fmt(r.amount_cents), db.as_date(wo.ledger_entry.effective).isoformat() if wo else "",
                    final.isoformat() if final else "", db.as_date(last_pay).isoformat() if last_pay else "",
                    r.referred_on.isoformat()])
    return buf.getvalue()


@db.connected
def refer(op: OperatorInfo, account_ids: list[int], directory: Path, *, agency: str = "",
          today: dt.date | None = None) -> ReferralFile:
    """Refer these final accounts to the collection agency: a referral each and the agency's CSV file
    (agency-YYYYMMDD-N.csv in `directory`). All or nothing: an account in service, in bankruptcy,
    owing nothing or referred already refuses the whole file."""
    require(op, "agency.refer")
    today = today or dt.date.today()
    agency = (agency or credit_rules.rules().collection_agency).strip()[:80]
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        raise ValidationError("No accounts to refer", "accounts")
    out: list[Referral] = []
    with db.write_txn():
        owed = owed_to_collect(ids)
        for aid in ids:
            a = db.locked(db.Account, aid)
            if a is None:
                raise NotFound("No such account", "account")
            if a.status not in FINAL:
                raise ValidationError(f"Account {a.number} is {a.status}: only final accounts go to the agency",
                                      "account")
            if a.bankruptcy:
                raise ValidationError(f"Account {a.number} is in bankruptcy: no collection", "account")
            if owed[aid] <= 0:
                raise ValidationError(f"Account {a.number} owes nothing", "account")
            AR = db.AgencyReferral
            if AR.select().where(AR.account == aid, AR.status == "open").exists():
                raise ValidationError(f"Account {a.number} is with the agency already", "account")
            r = AR.create(account=aid, agency=agency, referred_on=today, amount_cents=owed[aid], operator=op.id)
            m = db.Member.get_by_id(a.member_id)
            audit.record(op, "agency.refer", "agency_referral", r.id, account_id=aid, field="agency",
                         after=f"{agency}: {money.fmt(owed[aid])}")
            db.Account.update(collections=True).where(db.Account.id == aid).execute()
            out.append(_referral(r, a.number, display_name(m.first_name, m.last_name)))
        directory = Path(directory).expanduser()
        directory.mkdir(parents=True, exist_ok=True)
        n = 1
        while (directory / f"agency-{today:%Y%m%d}-{n}.csv").exists():
            n += 1
        path = directory / f"agency-{today:%Y%m%d}-{n}.csv"
        db.AgencyReferral.update(file_name=path.name).where(db.AgencyReferral.id.in_([r.id for r in out])).execute()
        text = agency_csv(out)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(path)
    return ReferralFile(path, out)


@db.connected
def referrals(status: str | None = "open", limit: int = 500) -> list[Referral]:
    AR, A, M = db.AgencyReferral, db.Account, db.Member
    q = (AR.select(AR, A.number, M.first_name, M.last_name).join(A, on=(AR.account == A.id))
         .join(M, on=(A.member == M.id)))
    if status:
        q = q.where(AR.status == status)
    return [_referral(r, r.account.number, display_name(r.account.member.first_name, r.account.member.last_name))
            for r in q.order_by(AR.id.desc()).limit(limit)]


def commission_cents(gross_cents: int) -> int:
    return credit_rules.percent_of(gross_cents, credit_rules.rules().agency_commission_percent)


@db.connected
def agency_payment(op: OperatorInfo, account_id: int, gross_cents: int, *, reference: str = "",
                   today: dt.date | None = None) -> AgencyPayment:
    """What the agency collected from the member (gross), recorded net of its commission (module doc).
    Refused without an open referral, or for more than the referral still has to collect."""
    require(op, "agency.refer")
    today = today or dt.date.today()
    if isinstance(gross_cents, bool) or not isinstance(gross_cents, int) or gross_cents <= 0:
        raise ValidationError("Amount collected: more than zero", "amount")
    reference = (reference or "").strip()[:30]
    AR = db.AgencyReferral
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("No such account", "account")
        r = AR.select().where(AR.account == a.id, AR.status == "open").order_by(AR.id.desc()).first()
        if r is None:
            raise ValidationError(f"Account {a.number} is not with the agency", "account")
        left = r.amount_cents - r.collected_cents
        if gross_cents > left:
            raise ValidationError(f"Account {a.number}: the agency has {money.fmt_dollars(left)} left to collect",
                                  "amount")
        commission = commission_cents(gross_cents)
        net = gross_cents - commission
        recovered = min(gross_cents, written_off([a.id]).get(a.id, 0))
        if recovered:
            fees.post(op, a.id, "writeoff", recovered, f"Bad debt recovered by {r.agency}", reference="RECOVERY",
                      effective=today, audit_action="writeoff.recover")
        if net:
            fees.post(op, a.id, "payment", -net, f"Payment from {r.agency} (net of commission)",
                      reference=f"AGENCY {reference}".strip(), effective=today, audit_action="agency.payment")
        if commission:
            fees.post(op, a.id, "adjustment", -commission,
                      f"{r.agency} commission {credit_rules.rules().agency_commission_percent}%",
                      reference="AGENCY FEE", effective=today, audit_action="agency.commission")
        n = (AR.update(collected_cents=AR.collected_cents + gross_cents,
                       commission_cents=AR.commission_cents + commission,
                       status="paid" if gross_cents == left else "open")
             .where(AR.id == r.id, AR.collected_cents == r.collected_cents).execute())
        if n != 1:
            raise ServiceError("The referral changed meanwhile: key the payment again")
    return AgencyPayment(a.id, a.number, gross_cents, commission, net, recovered)


@db.connected
def agency_remittance(op: OperatorInfo, text: str, *, reference: str = "",
                      today: dt.date | None = None) -> list[AgencyPayment]:
    """The agency's remittance list (CSV: Account, Collected; one check for many members): each row
    recorded as `agency_payment`, all or nothing (a row refused: none is recorded, the line is named)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationError("The remittance file is empty", "file")
    head = [h.strip().lower() for h in rows[0]]
    try:
        ai, ci = head.index("account"), head.index("collected")
    except ValueError:
        raise ValidationError("The remittance file needs the columns Account and Collected", "file") from None
    done = []
    with db.write_txn():
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            try:
                a = db.Account.get_or_none(db.Account.number == int(row[ai].strip()))
                if a is None:
                    raise NotFound(f"no account {row[ai].strip()}")
                done.append(agency_payment(op, a.id, money.parse(row[ci]), reference=reference, today=today))
            except (ServiceError, money.MoneyError, ValueError, IndexError) as e:
                raise ValidationError(f"Line {n}: {getattr(e, 'message', None) or e}; nothing was recorded",
                                      "file") from None
    return done


@dataclass(frozen=True)
class AccountCredit:
    """What the agency-payment form shows: the account's balance, its bad debt still written off, its
    open referral (if any) and what the agency keeps."""
    account_id: int
    number: int
    name: str
    status: str
    balance_cents: int
    written_off_cents: int
    referral: Referral | None
    commission_percent: str


@db.connected
def account_credit(account_id: int) -> AccountCredit:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("No such account", "account")
    m = db.Member.get_by_id(a.member_id)
    name = display_name(m.first_name, m.last_name)
    AR = db.AgencyReferral
    r = AR.select().where(AR.account == a.id, AR.status == "open").order_by(AR.id.desc()).first()
    return AccountCredit(a.id, a.number, name, a.status, _balance(a.id), written_off([a.id]).get(a.id, 0),
                         _referral(r, a.number, name) if r else None,
                         str(credit_rules.rules().agency_commission_percent))
