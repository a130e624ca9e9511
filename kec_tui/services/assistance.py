"""Energy assistance: agencies, applications helped, pledges, and the agency's payment.

In Idaho LIHEAP is run through the regional community action agencies; churches and local funds
help too. An MSR helps a member apply (an application, recorded), and when the agency commits
money for the household it sends a pledge: the agency (required), the amount, the day, when it
expires and the agency's reference. A pending pledge holds disconnection for `pledge_hold_days`
days from the day pledged (never past its expiry): collection_holds' "pledge" reason.

The agency later pays many pledges with one check and a list. The check is keyed as a payment
batch (services/batches.py: the check amount is the control total, the members on the list
the control count; each line committed on Enter, the check number on every line); posting
posts the batch once (batches.post_batch's guard) and matches each line to the account's
oldest pending pledge of that agency: paid in full, short or over. Lines for an account with no
pledge of the agency, and the agency's pledges the check did not pay, are reported.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError

from kec_tui import config, db, money
from kec_tui.services import audit, batches, card_numbers, reports
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

KINDS = {"liheap": "LIHEAP (community action agency)", "church": "Church", "local": "Local fund"}
MAX_CENTS = 1_000_000           # one pledge is at most $10,000.00
MAX_REFERENCE = 20
DEMO_AGENCIES = (
    ("CAP", "Community Action Partnership (LIHEAP)", "liheap", "2087461144"),
    ("SVDP", "St. Vincent de Paul North Idaho", "church", "2086647376"),
    ("ROUNDUP", "KEC Operation Round Up fund", "local", "2087651200"),
    ("SALVARMY", "Salvation Army Coeur d'Alene", "church", "2086673065"),
)

_hold_days = config.Settings().pledge_hold_days


def configure(settings: config.Settings) -> int:
    global _hold_days
    _hold_days = settings.pledge_hold_days
    return _hold_days


def hold_days() -> int:
    return _hold_days


@dataclass(frozen=True)
class AgencyInfo:
    id: int
    code: str
    name: str
    kind: str
    phone: str


@dataclass(frozen=True)
class PledgeInfo:
    id: int
    account_id: int
    account_number: int
    name: str
    agency: str                     # code
    amount_cents: int
    pledged_on: dt.date
    expires_on: dt.date
    holds_until: dt.date            # disconnection held through this day while pending
    status: str                     # pending, paid, short, over, cancelled
    paid_cents: int
    reference: str


@dataclass(frozen=True)
class PaymentInfo:
    id: int
    agency: str
    check_no: str
    amount_cents: int
    received_on: dt.date
    batch_id: int
    batch_number: int
    status: str
    count: int = 0                  # members on the agency's list (the batch's control count)


@dataclass(frozen=True)
class Match:
    account_number: int
    name: str
    pledge_cents: int               # 0: no pending pledge of the agency
    paid_cents: int
    result: str                     # paid, short, over, no pledge, not paid

    @property
    def difference_cents(self) -> int:
        return self.paid_cents - self.pledge_cents


@dataclass(frozen=True)
class MatchReport:
    payment: PaymentInfo
    matches: list[Match]

    def of(self, result: str) -> list[Match]:
        return [m for m in self.matches if m.result == result]

    def text(self) -> str:
        p = self.payment
        out = [f"Agency payment {p.agency} check {p.check_no} {money.fmt_dollars(p.amount_cents)} "
               f"received {p.received_on:%m/%d/%Y}, batch {p.batch_number}", ""]
        for result in ("paid", "short", "over", "no pledge", "not paid"):
            rows = self.of(result)
            if not rows:
                continue
            out.append(f"{result.upper()} ({len(rows)})")
            for m in rows:
                diff = f" {money.fmt(m.difference_cents, sign=True)}" if result in ("short", "over") else ""
                out.append(f"  {m.account_number:>10} {m.name[:24]:<24} pledge {money.fmt(m.pledge_cents):>10} "
                           f"paid {money.fmt(m.paid_cents):>10}{diff}")
        return "\n".join(out) + "\n"

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["account", "name", "pledge", "paid", "difference", "result"])
        for m in self.matches:
            w.writerow([m.account_number, m.name, str(money.to_decimal(m.pledge_cents)),
                        str(money.to_decimal(m.paid_cents)), str(money.to_decimal(m.difference_cents)), m.result])
        return buf.getvalue()


def write_report(report: MatchReport, directory: str | Path) -> tuple[Path, Path]:
    """agency-<code>-check-<no>.csv and .pdf in the directory: the match, short and over payments listed."""
    p = report.payment
    stem = f"agency-{p.agency}-check-{''.join(c for c in p.check_no if c.isalnum()) or p.id}"
    return reports.write_csv_pdf(directory, stem, report.csv(), reports.text_pdf(report.text()),
                                 "the agency payment report")


# ---- agencies and applications ------------------------------------------------------------------

def _agency_info(a: db.AssistanceAgency) -> AgencyInfo:
    return AgencyInfo(a.id, a.code, a.name, a.kind, a.phone)


@db.connected
def agencies(active_only: bool = True) -> list[AgencyInfo]:
    """The agencies on file, by code. A demo co-op built before agencies existed gets the demo's."""
    G = db.AssistanceAgency
    if db.get_meta("demo_seed") is not None and not G.select().exists():
        with db.write_txn():
            add_demo_agencies()
    q = G.select().order_by(G.code)
    if active_only:
        q = q.where(G.active == True)  # noqa: E712
    return [_agency_info(a) for a in q]


def add_agency(op: OperatorInfo | None, code: str, name: str, kind: str = "local", phone: str = "") -> AgencyInfo:
    card_numbers.refuse(name, "name")
    code = (code or "").strip().upper()
    if not code or len(code) > 12 or not code.isalnum():
        raise ValidationError("An agency code is 1-12 letters and digits", "code")
    if kind not in KINDS:
        raise ValidationError(f"An agency is one of {', '.join(KINDS)}", "kind")
    if not (name or "").strip():
        raise ValidationError("The agency's name", "name")
    with db.write_txn():
        try:
            with db.database.atomic():
                row = db.AssistanceAgency.create(code=code, name=name.strip()[:80], kind=kind, phone=phone[:10])
        except IntegrityError:
            raise ValidationError(f"There is already an agency {code}", "code") from None
        audit.record(op, "assistance.agency", "assistance_agency", row.id, after=f"{code} {name}"[:200])
    return _agency_info(row)


def add_demo_agencies() -> int:
    """The demo co-op's agencies (those missing): LIHEAP through the community action agency, churches, a fund."""
    have = {c for (c,) in db.AssistanceAgency.select(db.AssistanceAgency.code).tuples()}
    n = 0
    for code, name, kind, phone in DEMO_AGENCIES:
        if code not in have:
            db.AssistanceAgency.create(code=code, name=name, kind=kind, phone=phone)
            n += 1
    return n


def agency(code: str | None) -> db.AssistanceAgency:
    code = (code or "").strip().upper()
    if not code:
        raise ValidationError("A pledge needs the agency that made it", "agency")
    G = db.AssistanceAgency
    row = G.get_or_none(G.code == code)
    if row is None or not row.active:
        known = ", ".join(a.code for a in agencies())
        raise ValidationError(f"No agency {code}" + (f" (agencies: {known})" if known else ""), "agency")
    return row


@db.connected
def record_application(op: OperatorInfo, account_id: int, agency_code: str, applied_on: dt.date | None = None,
                       note: str = "") -> int:
    """An application for assistance the MSR helped with (a note on the account too)."""
    require(op, "assistance.record")
    card_numbers.refuse(note, "note")
    g = agency(agency_code)
    acct = db.Account.get_or_none(db.Account.id == account_id)
    if acct is None:
        raise NotFound("No such account", "account")
    applied_on = applied_on or dt.date.today()
    with db.write_txn():
        row = db.AssistanceApplication.create(account=account_id, agency=g.id, applied_on=applied_on,
                                              note=(note or "").strip()[:200], operator=op.id)
        audit.record(op, "assistance.apply", "assistance_application", row.id, account_id=account_id,
                     field=g.code, after=f"applied {applied_on:%m/%d/%Y} {note}".strip()[:200])
        db.Note.create(account=account_id, operator=op.id,
                       text=f"Helped apply for energy assistance with {g.name} on {applied_on:%m/%d/%Y}"
                            + (f": {note.strip()}" if note and note.strip() else ""))
    return row.id


@dataclass(frozen=True)
class ApplicationInfo:
    id: int
    agency: str                 # the agency's code
    applied_on: dt.date
    operator: str               # who helped
    note: str


@db.connected
def applications_for(account_id: int) -> list[ApplicationInfo]:
    """The applications helped on the account, oldest first."""
    A = db.AssistanceApplication
    return [ApplicationInfo(a.id, a.agency.code, db.as_date(a.applied_on), a.operator.username if a.operator else "",
                            a.note)
            for a in A.select().where(A.account == account_id).order_by(A.id)]


# ---- pledges ----------------------------------------------------------------------------------------

def holds_until(pledged_on: dt.date, expires_on: dt.date) -> dt.date:
    return min(expires_on, pledged_on + dt.timedelta(days=_hold_days))


def _pledge_info(p: db.Pledge, acct: db.Account, member: db.Member, code: str) -> PledgeInfo:
    pledged, expires = db.as_date(p.pledged_on), db.as_date(p.expires_on)
    return PledgeInfo(p.id, acct.id, acct.number, f"{member.first_name} {member.last_name}".strip(), code,
                      p.amount_cents, pledged, expires, holds_until(pledged, expires), p.status, p.paid_cents,
                      p.reference)


@db.connected
def pledge(op: OperatorInfo, account_id: int, agency_code: str | None, amount_cents: int, *,
           pledged_on: dt.date | None = None, expires_on: dt.date | None = None, reference: str = "",
           today: dt.date | None = None) -> PledgeInfo:
    """Record an agency's pledge on the account. Expiry: the day keyed, else the hold days after."""
    require(op, "assistance.record")
    card_numbers.refuse(reference, "reference")
    g = agency(agency_code)
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("The pledge's amount must be more than zero", "amount")
    if amount_cents > MAX_CENTS:
        raise ValidationError(f"A pledge is at most {money.fmt_dollars(MAX_CENTS)}", "amount")
    today = today or dt.date.today()
    pledged_on = pledged_on or today
    if pledged_on > today:
        raise ValidationError("The pledge date is today or earlier", "pledged_on")
    expires_on = expires_on or pledged_on + dt.timedelta(days=_hold_days)
    if expires_on < pledged_on:
        raise ValidationError("A pledge expires on or after the day it was made", "expires_on")
    reference = (reference or "").strip()
    if len(reference) > MAX_REFERENCE:
        raise ValidationError(f"The agency's reference is at most {MAX_REFERENCE} characters", "reference")
    acct = db.Account.get_or_none(db.Account.id == account_id)
    if acct is None:
        raise NotFound("No such account", "account")
    if acct.status == "closed":
        raise ValidationError(f"Account {acct.number} is closed: no pledge", "account")
    with db.write_txn():
        row = db.Pledge.create(account=account_id, agency=g.id, amount_cents=amount_cents, pledged_on=pledged_on,
                               expires_on=expires_on, reference=reference, operator=op.id)
        info = _pledge_info(row, acct, db.Member.get_by_id(acct.member_id), g.code)
        audit.record(op, "assistance.pledge", "pledge", row.id, account_id=account_id, field=g.code,
                     after=f"{money.fmt(amount_cents)} pledged {pledged_on:%m/%d/%Y} expires {expires_on:%m/%d/%Y}"
                           f" {reference}".strip())
        db.Note.create(account=account_id, operator=op.id,
                       text=f"Energy assistance pledge: {g.name} {money.fmt_dollars(amount_cents)} "
                            f"({pledged_on:%m/%d/%Y}, expires {expires_on:%m/%d/%Y}"
                            + (f", ref {reference}" if reference else "")
                            + f"); disconnection held through {info.holds_until:%m/%d/%Y}")
    return info


def _pledges(q) -> list[PledgeInfo]:
    P, A, M, G = db.Pledge, db.Account, db.Member, db.AssistanceAgency
    rows = (q.select(P, A, M, G.code).join(A, on=(P.account == A.id)).join(M, on=(A.member == M.id))
            .switch(P).join(G, on=(P.agency == G.id)))
    return [_pledge_info(p, p.account, p.account.member, p.agency.code) for p in rows]


@db.connected
def pledges_for(account_id: int) -> list[PledgeInfo]:
    P = db.Pledge
    return _pledges(P.select().where(P.account == account_id).order_by(P.pledged_on.desc(), P.id.desc()))


@db.connected
def pending_pledges(agency_code: str) -> list[PledgeInfo]:
    """The agency's pledges not yet paid, the oldest first (what its check should pay)."""
    g = agency(agency_code)
    P = db.Pledge
    return _pledges(P.select().where(P.agency == g.id, P.status == "pending").order_by(P.pledged_on, P.id))


def holding_accounts(account_ids: list[int], on: dt.date) -> set[int]:
    """The accounts (of these) with a pending pledge holding disconnection on the day:
    collection_holds' "pledge"."""
    P = db.Pledge
    out: set[int] = set()
    ids = list(account_ids)
    for i in range(0, len(ids), 900):
        q = (P.select(P.account, P.pledged_on, P.expires_on)
             .where(P.account.in_(ids[i:i + 900]), P.status == "pending", P.pledged_on <= on,
                    P.pledged_on >= on - dt.timedelta(days=_hold_days), P.expires_on >= on).tuples())
        out.update(aid for aid, _p, _e in q)
    return out


def flag_text(account_id: int, on: dt.date | None = None) -> str:
    """The account screen's flag: the pending pledge holding disconnection, if any."""
    on = on or dt.date.today()
    for p in pledges_for(account_id):
        if p.status == "pending" and p.pledged_on <= on <= p.holds_until:
            return f"PLEDGE {p.agency} {money.fmt_dollars(p.amount_cents)} holds until {p.holds_until:%m/%d/%Y}"
    return ""


# ---- the agency's payment ------------------------------------------------------------------------------

def _payment_info(p: db.AgencyPayment) -> PaymentInfo:
    b = db.PaymentBatch.get_by_id(p.batch_id)
    g = db.AssistanceAgency.get_by_id(p.agency_id)
    return PaymentInfo(p.id, g.code, p.check_no, p.amount_cents, db.as_date(p.received_on), b.id, b.number,
                       p.status, b.control_count)


@db.connected
def get_payment(payment_id: int) -> PaymentInfo:
    p = db.AgencyPayment.get_or_none(db.AgencyPayment.id == payment_id)
    if p is None:
        raise NotFound("No such agency payment")
    return _payment_info(p)


@db.connected
def open_payment(op: OperatorInfo, agency_code: str, check_no: str, amount_cents: int, count: int,
                 received_on: dt.date | None = None) -> PaymentInfo:
    """An agency's check, opened as a payment batch: the check amount is its control total and the
    members on the agency's list its control count."""
    require(op, "payment.key")
    card_numbers.refuse(check_no, "check_no", "Check no.")
    g = agency(agency_code)
    check_no = batches.clean_check_no(check_no)
    if not check_no:
        raise ValidationError("The agency's check number", "check_no")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError("How many members the check pays (its list)", "count")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("The check amount must be more than zero", "amount")
    if amount_cents > count * batches.MAX_LINE_CENTS:
        raise ValidationError("The check amount is more than that many members' lines can carry", "amount")
    received_on = received_on or dt.date.today()
    A = db.AgencyPayment
    if A.select().where(A.agency == g.id, A.check_no == check_no).exists():
        raise ValidationError(f"{g.code} check {check_no} is already keyed", "check_no")
    try:
        with db.write_txn():
            batch_id = batches.create_batch(op, "check", count, amount_cents, batch_date=received_on)
            row = A.create(agency=g.id, check_no=check_no, amount_cents=amount_cents, received_on=received_on,
                           batch=batch_id, operator=op.id)
            audit.record(op, "assistance.payment.open", "agency_payment", row.id, field=g.code,
                         after=f"check {check_no} {money.fmt(amount_cents)} {count} members")
    except IntegrityError:
        raise ValidationError(f"{g.code} check {check_no} was just keyed by another session", "check_no") from None
    return _payment_info(row)


def _pending_of(agency_id: int, account_id: int) -> db.Pledge | None:
    P = db.Pledge
    return (P.select().where(P.agency == agency_id, P.account == account_id, P.status == "pending")
            .order_by(P.pledged_on, P.id).first())


@db.connected
def pledge_due(payment_id: int, account_text: str) -> tuple[int, str, int] | None:
    """(account id, name, pledge cents) of the account's oldest pending pledge of the payment's
    agency, for the keyed line's default amount; None without one."""
    p = db.AgencyPayment.get_or_none(db.AgencyPayment.id == payment_id)
    if p is None:
        raise NotFound("No such agency payment")
    acct = batches.account_row(account_text)
    member = db.Member.get_by_id(acct.member_id)
    found = _pending_of(p.agency_id, acct.id)
    if found is None:
        return None
    return acct.id, f"{member.first_name} {member.last_name}".strip(), found.amount_cents


@db.connected
def key_line(op: OperatorInfo, payment_id: int, account_text: str, amount_cents: int) -> batches.LineInfo:
    """One member of the agency's list: a line of the check's batch (committed on return)."""
    p = db.AgencyPayment.get_or_none(db.AgencyPayment.id == payment_id)
    if p is None:
        raise NotFound("No such agency payment")
    if p.status != "open":
        raise ServiceError(f"Check {p.check_no} is already posted")
    # The agency decides what it pays: a pledge more than twice the amount due is not questioned.
    return batches.key_line(op, p.batch_id, account_text, amount_cents, p.check_no, ack=("overpayment",))


@db.connected
def post_payment(op: OperatorInfo, payment_id: int) -> MatchReport:
    """Post the check's batch (once) and match each line to a pending pledge of the agency."""
    require(op, "payment.key")
    A, P, L = db.AgencyPayment, db.Pledge, db.BatchLine
    p0 = A.get_or_none(A.id == payment_id)
    if p0 is None:
        raise NotFound("No such agency payment")
    with db.write_txn():
        if A.update(status="posted", posted_at=db.now()).where(A.id == payment_id, A.status == "open").execute() != 1:
            raise batches.AlreadyPosted(f"{_payment_info(p0).agency} check {p0.check_no} is already posted")
        batches.post_batch(op, p0.batch_id)
        matches: list[Match] = []
        lines = list(L.select(L.account, L.amount_cents).where(L.batch == p0.batch_id, L.status == "active")
                     .order_by(L.seq).tuples())
        for account_id, cents in lines:
            acct = db.Account.get_by_id(account_id)
            member = db.Member.get_by_id(acct.member_id)
            name = f"{member.first_name} {member.last_name}".strip()
            found = _pending_of(p0.agency_id, account_id)
            if found is None:
                matches.append(Match(acct.number, name, 0, cents, "no pledge"))
                continue
            result = "paid" if cents == found.amount_cents else ("short" if cents < found.amount_cents else "over")
            P.update(status=result, paid_cents=cents, payment=payment_id).where(P.id == found.id).execute()
            audit.record(op, "assistance.pledge.paid", "pledge", found.id, account_id=account_id, field="status",
                         before="pending", after=f"{result}: {money.fmt(cents)} of {money.fmt(found.amount_cents)}"
                                                 f" by check {p0.check_no}")
            matches.append(Match(acct.number, name, found.amount_cents, cents, result))
        for left in _pledges(P.select().where(P.agency == p0.agency_id, P.status == "pending")
                             .order_by(P.pledged_on, P.id)):
            matches.append(Match(left.account_number, left.name, left.amount_cents, 0, "not paid"))
        report = MatchReport(_payment_info(A.get_by_id(payment_id)), matches)
        audit.record(op, "assistance.payment.post", "agency_payment", payment_id,
                     after=f"{len(lines)} lines; " + ", ".join(f"{r} {len(report.of(r))}" for r in
                                                             ("paid", "short", "over", "no pledge")))
    return report


@db.connected
def open_payments() -> list[PaymentInfo]:
    A = db.AgencyPayment
    return [_payment_info(p) for p in A.select().where(A.status == "open").order_by(A.id)]


@db.connected
def find_payment(agency_code: str, check_no: str) -> PaymentInfo | None:
    """The agency's check of that number, if keyed (to go on keying an open one)."""
    g = agency(agency_code)
    A = db.AgencyPayment
    p = A.get_or_none(A.agency == g.id, A.check_no == batches.clean_check_no(check_no))
    return _payment_info(p) if p is not None else None


@db.connected
def payment_lines(payment_id: int) -> list[tuple[int, str, int, int]]:
    """The lines keyed on the check so far: (account number, name, pending pledge cents or 0, paid cents)."""
    p = db.AgencyPayment.get_or_none(db.AgencyPayment.id == payment_id)
    if p is None:
        raise NotFound("No such agency payment")
    out = []
    for line in batches.lines(p.batch_id, limit=1000, include_void=False):
        found = _pending_of(p.agency_id, line.account_id) if line.account_id else None
        out.append((line.account_number or 0, line.name, found.amount_cents if found else 0, line.amount_cents))
    return out
