"""Bankruptcy (11 U.S.C. 366): the case recorded, collection of the pre-petition debt stopped and
that debt set apart, the adequate-assurance deposit asked, the case closed by discharge or dismissal.

Recording the case (chapter 7, 11, 12 or 13, case number, filing date, court):
  - the account is flagged (Account.bankruptcy): no late fees, notices, disconnects or worklist
    action (late_fees.py, collection_holds.py and collections.py read the flag);
  - the pre-petition balance (what the account owed at the end of the filing day, if anything) is
    set apart: a transfer entry takes it off the account (reference "BK <case>"), so what the
    account owes from then on is post-petition charges only, and the case keeps the amount;
  - for an account in service, the adequate-assurance deposit is billed (deposits.py, reason
    bankruptcy: the deposit rule's amount less what is held), due `bankruptcy_assurance_days`
    (20) after the filing; not furnished by then, the co-op may discontinue service (the case's
    assurance state says "overdue").
Closing it:
  - discharge: the pre-petition balance comes back and is written off (a writeoff entry, which a
    later application's bad-debt audit finds);
  - dismissal: the pre-petition balance comes back to the account, due as of the filing day:
    it is past due and back in collection.
Either way the flag is cleared. Every step is audited; a case is closed once (a guarded update).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from peewee import fn

from kec_tui import db, money
from kec_tui.services import aging, audit, card_numbers, credit_rules, deposits, fees
from kec_tui.services.accounts import display_name
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

CHAPTERS = (7, 11, 12, 13)
OUTCOMES = {"discharged": "discharge", "dismissed": "dismissal"}
OUTCOME_NAMES = tuple(OUTCOMES)
IN_SERVICE = ("pending", "active", "disconnected")
CASE_NO = re.compile(r"[0-9A-Za-z][0-9A-Za-z:\-]{2,23}")


@dataclass(frozen=True)
class Assurance:
    requested_cents: int
    due: dt.date | None
    furnished_cents: int
    state: str                      # none, furnished, due, overdue

    def describe(self) -> str:
        if self.state == "none":
            return "No adequate-assurance deposit asked"
        if self.state == "furnished":
            return f"Adequate assurance furnished ({money.fmt_dollars(self.requested_cents)})"
        owed = money.fmt_dollars(self.requested_cents - self.furnished_cents)
        if self.state == "due":
            return f"Adequate assurance {owed} due {self.due:%m/%d/%Y}"
        return f"Adequate assurance {owed} overdue since {self.due:%m/%d/%Y}: service may be discontinued"


@dataclass(frozen=True)
class CaseInfo:
    id: int
    account_id: int
    number: int
    name: str
    chapter: int
    case_no: str
    court: str
    filed_on: dt.date
    pre_petition_cents: int
    status: str
    closed_on: dt.date | None
    assurance: Assurance


def _balance_through(account_id: int, day: dt.date) -> int:
    L = db.LedgerEntry
    return int(L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0))
               .where(L.account == account_id, L.effective <= day).scalar())


def assurance(case: db.BankruptcyCase, as_of: dt.date | None = None) -> Assurance:
    """Whether the adequate-assurance deposit is paid: what is left unpaid of its charges (aging's rules:
    credits pay the oldest charge first)."""
    as_of = as_of or dt.date.today()
    due = db.as_date(case.assurance_due)
    if not case.assurance_cents or case.assurance_deposit_id is None:
        return Assurance(0, due, 0, "none")
    I = db.DepositInstallment
    entries = [e for (e,) in I.select(I.ledger_entry).where(I.deposit == case.assurance_deposit_id,
                                                             I.ledger_entry.is_null(False)).tuples()]
    billed = int(I.select(fn.COALESCE(fn.SUM(I.amount_cents), 0)).where(
        I.deposit == case.assurance_deposit_id, I.status == "billed").scalar())
    unpaid = 0
    if entries:
        owed, params = aging.owed_sql(as_of, account_id=case.account_id)
        p = db.database.param
        rows = db.database.execute_sql(f"{owed} SELECT k, cents FROM unpaid WHERE a = {p}",
                                       (*params, case.account_id)).fetchall()
        unpaid = sum(int(c) for k, c in rows if k in entries)
    furnished = max(0, billed - unpaid)
    if furnished >= case.assurance_cents:
        return Assurance(case.assurance_cents, due, furnished, "furnished")
    return Assurance(case.assurance_cents, due, furnished, "overdue" if due is not None and as_of > due else "due")


def _info(c: db.BankruptcyCase, as_of: dt.date | None = None) -> CaseInfo:
    a = db.Account.get_by_id(c.account_id)
    m = db.Member.get_by_id(a.member_id)
    return CaseInfo(c.id, a.id, a.number, display_name(m.first_name, m.last_name), c.chapter, c.case_no, c.court,
                    db.as_date(c.filed_on), c.pre_petition_cents, c.status, db.as_date(c.closed_on),
                    assurance(c, as_of))


def _clean(chapter, case_no: str, court: str, filed_on: dt.date | None, today: dt.date) -> tuple[int, str, str]:
    try:
        chapter = int(chapter)
    except (TypeError, ValueError):
        chapter = 0
    if chapter not in CHAPTERS:
        raise ValidationError(f"Chapter: {', '.join(map(str, CHAPTERS))}", "chapter")
    case_no = (case_no or "").strip()
    if not CASE_NO.fullmatch(case_no):
        raise ValidationError("Case number: 3-24 letters, digits, - or : (as on the notice, e.g. 25-20417)",
                              "case_no")
    court = " ".join((court or "").split())
    if not court:
        raise ValidationError("Court: the bankruptcy court (e.g. D. Idaho)", "court")
    if len(court) > 80:
        raise ValidationError("Court: at most 80 characters", "court")
    if filed_on is None:
        raise ValidationError("Filing date: the day the petition was filed", "filed_on")
    if filed_on > today:
        raise ValidationError(f"Filing date {filed_on:%m/%d/%Y} is after today", "filed_on")
    if filed_on < today - dt.timedelta(days=366 * 2):
        raise ValidationError(f"Filing date {filed_on:%m/%d/%Y} is more than two years ago", "filed_on")
    return chapter, case_no, court


@db.connected
def open_case(account_id: int) -> CaseInfo | None:
    B = db.BankruptcyCase
    c = B.select().where(B.account == account_id, B.status == "open").order_by(B.id.desc()).first()
    return _info(c) if c else None


@db.connected
def record_case(op: OperatorInfo, account_id: int, chapter, case_no: str, filed_on: dt.date | None, court: str,
                *, assurance_deposit: bool = True, today: dt.date | None = None) -> CaseInfo:
    """Record the case (the module's doc): the flag, the pre-petition balance set apart, the assurance asked."""
    require(op, "bankruptcy.record")
    card_numbers.refuse_all({"case_no": case_no, "court": court})
    today = today or dt.date.today()
    chapter, case_no, court = _clean(chapter, case_no, court, filed_on, today)
    B = db.BankruptcyCase
    with db.write_txn():
        a = db.locked(db.Account, account_id)
        if a is None:
            raise NotFound("No such account", "account")
        if B.select().where(B.account == a.id, B.status == "open").exists():
            raise ValidationError(f"Account {a.number} has an open bankruptcy case already", "case_no")
        pre = max(0, _balance_through(a.id, filed_on))
        c = B.create(account=a.id, chapter=chapter, case_no=case_no, court=court, filed_on=filed_on,
                     pre_petition_cents=pre, operator=op.id)
        if pre:
            entry = fees.post(op, a.id, "transfer", -pre, f"Pre-petition balance set apart: bankruptcy {case_no}",
                              reference=f"BK {case_no}", effective=today, audit_action="bankruptcy.set_apart")
            B.update(transfer_entry=entry).where(B.id == c.id).execute()
        db.Account.update(bankruptcy=True).where(db.Account.id == a.id).execute()
        audit.record(op, "bankruptcy.record", "bankruptcy_case", c.id, account_id=a.id, field="bankruptcy",
                     before="no", after=f"chapter {chapter} case {case_no}, {court}, filed {filed_on:%m/%d/%Y}; "
                                        f"pre-petition {money.fmt(pre)}")
        if assurance_deposit and a.status in IN_SERVICE:
            found = deposits.assess(a.id, today)
            due = filed_on + dt.timedelta(days=credit_rules.rules().bankruptcy_assurance_days)
            if found.due_cents > 0:
                if found.billing_cents:
                    raise ServiceError(f"Account {a.number} has a deposit still being billed in installments: "
                                       "settle it before the assurance is asked", "account")
                d = deposits.bill(op, a.id, "bankruptcy", amount_cents=found.due_cents, today=today, due_date=due,
                                  note=f"adequate assurance, case {case_no}")
                B.update(assurance_cents=found.due_cents, assurance_due=due, assurance_deposit=d.id).where(
                    B.id == c.id).execute()
        db.Note.create(account=a.id, operator=op.id,
                       text=f"Bankruptcy chapter {chapter}, case {case_no} ({court}), filed {filed_on:%m/%d/%Y}: "
                            f"collection of the pre-petition balance {money.fmt_dollars(pre)} stopped.")
        return _info(B.get_by_id(c.id), today)


@db.connected
def close_case(op: OperatorInfo, case_id: int, outcome: str, *, on: dt.date | None = None,
               today: dt.date | None = None) -> CaseInfo:
    """Discharge (the pre-petition balance written off) or dismissal (back in collection); the flag cleared."""
    require(op, "bankruptcy.record")
    today = today or dt.date.today()
    on = on or today
    outcome = (outcome or "").strip().lower()
    if outcome not in OUTCOMES:
        raise ValidationError("Outcome: discharged or dismissed", "outcome")
    B = db.BankruptcyCase
    with db.write_txn():
        c = db.locked(B, case_id)
        if c is None:
            raise NotFound("No such bankruptcy case")
        if c.status != "open":
            raise ValidationError(f"Case {c.case_no} is {c.status} already", "outcome")
        if on > today or on < db.as_date(c.filed_on):
            raise ValidationError(f"The {OUTCOMES[outcome]} date is between the filing and today", "on")
        n = B.update(status=outcome, closed_on=on).where(B.id == c.id, B.status == "open").execute()
        if n != 1:
            raise ServiceError(f"Case {c.case_no} was closed by someone else meanwhile")
        pre = c.pre_petition_cents
        if pre and outcome == "discharged":
            fees.post(op, c.account_id, "transfer", pre, f"Pre-petition balance, bankruptcy {c.case_no}",
                      reference=f"BK {c.case_no}", effective=today, audit_action="bankruptcy.return")
            fees.post(op, c.account_id, "writeoff", -pre, f"Discharged in bankruptcy {c.case_no}",
                      reference="BK DISCHARGE", effective=today, audit_action="writeoff.discharge")
        elif pre:
            fees.post(op, c.account_id, "transfer", pre,
                      f"Pre-petition balance back in collection: bankruptcy {c.case_no} dismissed",
                      reference=f"BK {c.case_no}", effective=today, due_date=db.as_date(c.filed_on),
                      audit_action="bankruptcy.return")
        db.Account.update(bankruptcy=False).where(db.Account.id == c.account_id).execute()
        audit.record(op, f"bankruptcy.{OUTCOMES[outcome]}", "bankruptcy_case", c.id, account_id=c.account_id,
                     field="bankruptcy", before=f"open case {c.case_no}",
                     after=f"{outcome} {on:%m/%d/%Y}: pre-petition {money.fmt(pre)} "
                           + ("written off" if outcome == "discharged" else "back in collection"))
        return _info(B.get_by_id(c.id), today)


@db.connected
def cases(status: str | None = "open", as_of: dt.date | None = None, limit: int = 500) -> list[CaseInfo]:
    """Bankruptcy cases (open ones by default), the oldest filing first."""
    B = db.BankruptcyCase
    q = B.select()
    if status:
        q = q.where(B.status == status)
    return [_info(c, as_of) for c in q.order_by(B.filed_on, B.id).limit(limit)]
