"""Payment arrangements: a member behind on the bill agrees to pay what is owed over time.

The terms: the amount arranged (at most the balance), a down payment due the day agreed, and
installments, each added to one of the next N bills ("bills": it is due on that bill's due
date) or due on set dates ("dates": the first date keyed, then monthly). Limits are settings:
at most `arrangement_max_months` installments, and `arrangement_limit_12m` arrangements on an
account in 12 months (beyond that a supervisor signs in; `arrangement.approve`). One active
arrangement on an account at a time. The printed agreement is `agreement_text` (one function,
so it can move to a letter template) written as a PDF by `write_agreement`.

Kept or broken (`standing`): from the day agreed, the member pays the down payment, each
installment and each new bill by its due date. At every such due date D, once the grace
(`arrangement_grace_days`) has passed, the payments since the day agreed (returned payments
taken off) must cover everything due by D; the first time they do not, the arrangement is broken
the day after the grace ran out. When the last installment's grace has passed unbroken it is
completed. A kept arrangement is the "arrangement" reason of collection_holds (no late fee, no
notice, no disconnection); a broken one holds nothing, so notices resume. `review` is the daily
tracking run: it marks broken and completed arrangements (audited, with a note on the account).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from dateutil.relativedelta import relativedelta
from peewee import fn

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers, reports
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

MODES = {"bills": "added to the next bills", "dates": "on set dates"}
MAX_CENTS = 10_000_000          # one arrangement is at most $100,000.00


@dataclass(frozen=True)
class Policy:
    max_months: int = 12
    limit_12m: int = 2
    grace_days: int = 5


def policy_from(settings: config.Settings) -> Policy:
    return Policy(settings.arrangement_max_months, settings.arrangement_limit_12m, settings.arrangement_grace_days)


_policy = policy_from(config.Settings())


def configure(settings: config.Settings) -> Policy:
    """Take the limits from the settings (the application calls this at start)."""
    global _policy
    _policy = policy_from(settings)
    return _policy


def policy() -> Policy:
    return _policy


@dataclass(frozen=True)
class Installment:
    seq: int                        # 0: the down payment
    due_date: dt.date | None        # None: rides on a bill not made yet
    amount_cents: int

    @property
    def label(self) -> str:
        return "Down payment" if self.seq == 0 else f"Installment {self.seq}"


@dataclass(frozen=True)
class ArrangementInfo:
    id: int
    account_id: int
    account_number: int
    name: str
    agreed_on: dt.date
    mode: str
    total_cents: int
    down_cents: int
    installments: int
    status: str                     # active, broken, completed, cancelled (as stored)
    broken_on: dt.date | None
    schedule: tuple[Installment, ...]
    operator: str
    approved_by: str
    note: str


@dataclass(frozen=True)
class Standing:
    """How an arrangement stands on a day."""
    arrangement_id: int
    account_id: int
    on: dt.date
    state: str                      # kept, broken, completed
    required_cents: int             # due by the day (down, installments and new bills)
    paid_cents: int                 # paid since the day agreed
    broken_on: dt.date | None = None
    missed: str = ""                # what was missed ("Installment 2 due 03/01/2027")
    next_due: Installment | None = None
    schedule: tuple[Installment, ...] = field(default=(), compare=False)

    @property
    def kept(self) -> bool:
        return self.state == "kept"


# ---- terms -------------------------------------------------------------------------------------------

def split(total_cents: int, down_cents: int, installments: int) -> list[int]:
    """The installments' amounts: what is left after the down payment, evenly, the odd cents on the first."""
    rest = total_cents - down_cents
    base, extra = divmod(rest, installments)
    return [base + (1 if i < extra else 0) for i in range(installments)]


def schedule(agreed_on: dt.date, mode: str, total_cents: int, down_cents: int, installments: int,
             first_due: dt.date | None = None) -> list[Installment]:
    """The down payment and the installments (their due dates for set dates; None for bills not made)."""
    out = [Installment(0, agreed_on, down_cents)] if down_cents else []
    for i, cents in enumerate(split(total_cents, down_cents, installments)):
        due = first_due + relativedelta(months=i) if mode == "dates" and first_due else None
        out.append(Installment(i + 1, due, cents))
    return out


def count_12m(account_id: int, on: dt.date) -> int:
    """Arrangements made on the account in the 12 months up to the day (cancelled ones too: they were made)."""
    A = db.Arrangement
    return A.select().where(A.account == account_id, A.agreed_on > on - relativedelta(years=1),
                            A.agreed_on <= on).count()


def needs_supervisor(op: OperatorInfo, account_id: int, on: dt.date | None = None) -> bool:
    """Over the limit per 12 months, by an operator who may not approve it: a supervisor signs in."""
    return count_12m(account_id, on or dt.date.today()) >= _policy.limit_12m and not op.can("arrangement.approve")


def _account(account_id: int) -> db.Account:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("No such account", "account")
    return a


def _balance(account_id: int) -> int:
    L = db.LedgerEntry
    return int(L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0)).where(L.account == account_id).scalar())


def check_terms(total_cents: int, down_cents: int, installments: int, mode: str, agreed_on: dt.date,
                first_due: dt.date | None, balance_cents: int | None = None) -> None:
    """Refuse terms the rules do not allow, naming the field."""
    if mode not in MODES:
        raise ValidationError(f"The installments are added to bills or on dates ({', '.join(MODES)})", "mode")
    for name, cents in (("total", total_cents), ("down", down_cents)):
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise ValidationError("Amounts are whole cents", name)
    if total_cents <= 0:
        raise ValidationError("The amount arranged must be more than zero", "total")
    if total_cents > MAX_CENTS:
        raise ValidationError(f"An arrangement is at most {money.fmt_dollars(MAX_CENTS)}", "total")
    if balance_cents is not None and total_cents > balance_cents:
        raise ValidationError(f"The amount arranged ({money.fmt_dollars(total_cents)}) is more than the balance "
                              f"({money.fmt_dollars(max(balance_cents, 0))})", "total")
    if down_cents < 0 or down_cents >= total_cents:
        raise ValidationError("The down payment is less than the amount arranged (zero for none)", "down")
    if isinstance(installments, bool) or not isinstance(installments, int) or installments < 1:
        raise ValidationError("At least one installment", "installments")
    most = _policy.max_months
    if installments > most:
        raise ValidationError(f"An arrangement is at most {most} months: {installments} installments is longer "
                              f"than allowed", "installments")
    if total_cents - down_cents < installments:
        raise ValidationError("Each installment must be at least one cent: fewer installments", "installments")
    if mode == "dates":
        if first_due is None:
            raise ValidationError("The first installment's date", "first_due")
        if first_due <= agreed_on:
            raise ValidationError("The first installment is due after the day agreed", "first_due")
        last = first_due + relativedelta(months=installments - 1)
        if last > agreed_on + relativedelta(months=most):
            raise ValidationError(f"The last installment ({last:%m/%d/%Y}) is more than {most} months away: "
                                  f"longer than allowed", "first_due")


# ---- making one --------------------------------------------------------------------------------------

@db.connected
def make(op: OperatorInfo, account_id: int, *, total_cents: int, down_cents: int = 0, installments: int,
         mode: str = "bills", first_due: dt.date | None = None, note: str = "",
         approver: OperatorInfo | None = None, on: dt.date | None = None) -> ArrangementInfo:
    """Agree an arrangement on the account. `approver`: the supervisor who signed
    in because the account is over the limit per 12 months (the screen checks the password)."""
    require(op, "arrangement.make")
    card_numbers.refuse(note, "note")
    on = on or dt.date.today()
    a = _account(account_id)
    if a.status == "closed":
        raise ValidationError(f"Account {a.number} is closed: no arrangement", "account")
    note = (note or "").strip()
    check_terms(total_cents, down_cents, installments, mode, on, first_due, _balance(a.id))
    A = db.Arrangement
    with db.write_txn():
        locked = db.locked(db.Account, a.id)          # one arrangement at a time, even from two sessions
        if locked is None:
            raise NotFound("No such account", "account")
        if A.select().where(A.account == a.id, A.status == "active").exists():
            raise ValidationError(f"Account {a.number} already has an active arrangement", "account")
        approved_by = None
        made = count_12m(a.id, on)
        if made >= _policy.limit_12m:
            if op.can("arrangement.approve"):
                approved_by = op
            elif approver is None:
                raise PermissionDenied(f"Account {a.number} has had {made} arrangement{'s' * (made != 1)} in 12 "
                                       f"months (the limit is {_policy.limit_12m}): a supervisor must sign in")
            elif not approver.can("arrangement.approve") or approver.id == op.id:
                raise PermissionDenied(f"{approver.username} ({approver.role}) may not approve an arrangement "
                                       f"over the limit")
            else:
                approved_by = approver
        row = A.create(account=a.id, agreed_on=on, mode=mode, total_cents=total_cents, down_cents=down_cents,
                       installments=installments, note=note[:200], operator=op.id,
                       approved_by=approved_by.id if approved_by else None)
        plan = schedule(on, mode, total_cents, down_cents, installments, first_due)
        db.ArrangementInstallment.insert_many(
            [{"arrangement": row.id, "seq": i.seq, "due_date": i.due_date, "amount_cents": i.amount_cents}
             for i in plan]).execute()
        terms = terms_text(total_cents, down_cents, installments, mode, first_due)
        audit.record(op, "arrangement.make", "arrangement", row.id, account_id=a.id, field="terms",
                     after=(terms + (f"; over the limit, approved by {approved_by.username}" if approved_by else ""))
                     [:200])
        db.Note.create(account=a.id, operator=op.id, text=f"Payment arrangement agreed: {terms}"
                       + (f". {note}" if note else ""))
    return get(row.id)


def terms_text(total_cents: int, down_cents: int, installments: int, mode: str, first_due: dt.date | None) -> str:
    amounts = split(total_cents, down_cents, installments)
    each = money.fmt_dollars(amounts[-1]) + (f" (the first {money.fmt_dollars(amounts[0])})"
                                             if amounts[0] != amounts[-1] else "")
    where = (f"added to the next {installments} bill{'s' * (installments != 1)}" if mode == "bills"
             else f"monthly from {first_due:%m/%d/%Y}")
    down = f"{money.fmt_dollars(down_cents)} down, " if down_cents else ""
    return f"{money.fmt_dollars(total_cents)}: {down}{installments} x {each} {where}"


@db.connected
def get(arrangement_id: int) -> ArrangementInfo:
    A = db.Arrangement
    r = A.get_or_none(A.id == arrangement_id)
    if r is None:
        raise NotFound("No such arrangement")
    return _info(r, _resolved(r))


def _info(r: db.Arrangement, plan: tuple[Installment, ...]) -> ArrangementInfo:
    acct = db.Account.get_by_id(r.account_id)
    member = db.Member.get_by_id(acct.member_id)
    op = db.Operator.get_or_none(db.Operator.id == r.operator_id) if r.operator_id else None
    sup = db.Operator.get_or_none(db.Operator.id == r.approved_by_id) if r.approved_by_id else None
    return ArrangementInfo(r.id, acct.id, acct.number, f"{member.first_name} {member.last_name}".strip(),
                           db.as_date(r.agreed_on), r.mode, r.total_cents, r.down_cents, r.installments, r.status,
                           db.as_date(r.broken_on), plan, op.username if op else "",
                           sup.username if sup else "", r.note)


def _resolved(r: db.Arrangement, bills: list[tuple[dt.date, dt.date, int]] | None = None) -> tuple[Installment, ...]:
    """The schedule with each bill-borne installment's due date taken from its bill, once made."""
    I = db.ArrangementInstallment
    rows = list(I.select(I.seq, I.due_date, I.amount_cents).where(I.arrangement == r.id).order_by(I.seq).tuples())
    if bills is None:
        bills = _new_bills(r.account_id, db.as_date(r.agreed_on))
    out = []
    for seq, due, cents in rows:
        due = db.as_date(due)
        if r.mode == "bills" and seq > 0:
            due = bills[seq - 1][1] if seq - 1 < len(bills) else None
        out.append(Installment(seq, due, int(cents)))
    return tuple(out)


def _new_bills(account_id: int, agreed_on: dt.date) -> list[tuple[dt.date, dt.date, int]]:
    """The bills made after the day agreed and not cancelled: (bill date, due date, cents), oldest first."""
    L = db.LedgerEntry
    R = L.alias()
    cancelled = R.select(R.reverses).where(R.account == account_id, R.reverses.is_null(False))
    q = (L.select(L.effective, L.due_date, L.amount_cents)
         .where(L.account == account_id, L.kind == "bill", L.effective > agreed_on, L.due_date.is_null(False),
                L.id.not_in(cancelled))
         .order_by(L.effective, L.id).tuples())
    return [(db.as_date(e), db.as_date(d), int(c)) for e, d, c in q]


# ---- kept or broken ----------------------------------------------------------------------------------

def _paid_by(credits: list[tuple[dt.date, int]], day: dt.date) -> int:
    return sum(c for d, c in credits if d <= day)


def _credits(account_id: int, agreed_on: dt.date, on: dt.date) -> list[tuple[dt.date, int]]:
    """Payments since the day agreed (positive cents), a returned payment taken off on its day."""
    L = db.LedgerEntry
    q = (L.select(L.effective, L.kind, L.amount_cents)
         .where(L.account == account_id, L.effective >= agreed_on, L.effective <= on,
                (L.kind == "payment") | ((L.kind == "reversal") & (L.amount_cents > 0)))
         .tuples())
    return [(db.as_date(e), -int(c)) for e, _k, c in q]


Judged = tuple[str, int, int, dt.date | None, str]


def judge(agreed_on: dt.date, plan: tuple[Installment, ...], bills: list[tuple[dt.date, dt.date, int]],
          credits: list[tuple[dt.date, int]], on: dt.date, grace_days: int) -> Judged:
    """(state, required by the day, paid by the day, broken on, what was missed): the rule in the
    module's doc, as a pure function of the schedule, the new bills and the payments."""
    grace = dt.timedelta(days=grace_days)
    dues: list[tuple[dt.date, int, str]] = [(i.due_date, i.amount_cents, f"{i.label} due {i.due_date:%m/%d/%Y}")
                                            for i in plan if i.due_date is not None]
    dues += [(due, cents, f"The bill due {due:%m/%d/%Y}") for _bill, due, cents in bills if cents > 0]
    dues.sort(key=lambda d: d[0])
    for due, _cents, what in dues:
        if due + grace >= on:
            break                           # its grace has not run out yet
        need = sum(c for d, c, _w in dues if d <= due)
        if _paid_by(credits, due + grace) < need:
            return ("broken", sum(c for d, c, _w in dues if d <= on), _paid_by(credits, on),
                    due + grace + dt.timedelta(days=1), what)
    required = sum(c for d, c, _w in dues if d <= on)
    paid = _paid_by(credits, on)
    last = max((i.due_date for i in plan if i.due_date is not None), default=None)
    all_set = all(i.due_date is not None for i in plan)
    if all_set and last is not None and last + grace < on:
        return "completed", required, paid, None, ""
    return "kept", required, paid, None, ""


def _standing(r: db.Arrangement, on: dt.date) -> Standing:
    agreed = db.as_date(r.agreed_on)
    bills = _new_bills(r.account_id, agreed)
    plan = _resolved(r, bills)
    nxt = next((i for i in plan if i.due_date is None or i.due_date >= on), None)
    if r.status == "broken":
        return Standing(r.id, r.account_id, on, "broken", 0, 0, db.as_date(r.broken_on), "", nxt, plan)
    if r.status in ("completed", "cancelled"):
        return Standing(r.id, r.account_id, on, r.status, 0, 0, None, "", None, plan)
    if on < agreed:
        return Standing(r.id, r.account_id, on, "kept", 0, 0, None, "", nxt, plan)
    state, required, paid, broken_on, missed = judge(agreed, plan, bills, _credits(r.account_id, agreed, on), on,
                                                     _policy.grace_days)
    return Standing(r.id, r.account_id, on, state, required, paid, broken_on, missed, nxt, plan)


@db.connected
def standing(arrangement_id: int, on: dt.date | None = None) -> Standing:
    r = db.Arrangement.get_or_none(db.Arrangement.id == arrangement_id)
    if r is None:
        raise NotFound("No such arrangement")
    return _standing(r, on or dt.date.today())


def kept_accounts(account_ids: list[int], on: dt.date) -> set[int]:
    """The accounts (of these) with an arrangement kept on the day: collection_holds' "arrangement".
    Only accounts with an active arrangement are looked at further (a few among thousands)."""
    A = db.Arrangement
    out: set[int] = set()
    ids = list(account_ids)
    for i in range(0, len(ids), 900):
        for r in A.select().where(A.account.in_(ids[i:i + 900]), A.status == "active", A.agreed_on <= on):
            if _standing(r, on).kept:
                out.add(r.account_id)
    return out


@db.connected
def current(account_id: int, on: dt.date | None = None) -> tuple[ArrangementInfo, Standing] | None:
    """The account's latest arrangement (active, else the last one made in 12 months) and how it stands."""
    on = on or dt.date.today()
    A = db.Arrangement
    r = (A.select().where(A.account == account_id, A.status == "active").order_by(A.id.desc()).first()
         or A.select().where(A.account == account_id, A.agreed_on > on - relativedelta(years=1))
         .order_by(A.id.desc()).first())
    if r is None:
        return None
    s = _standing(r, on)
    return _info(r, s.schedule), s


def flag_text(account_id: int, on: dt.date | None = None) -> str:
    """The account screen's flag: "ARRANGEMENT kept, next $50.00 due 02/20/2027" or broken."""
    found = current(account_id, on)
    if found is None:
        return ""
    info, s = found
    if s.state == "kept":
        nxt = s.next_due
        when = (f", next {money.fmt_dollars(nxt.amount_cents)} "
                + (f"due {nxt.due_date:%m/%d/%Y}" if nxt.due_date else "with the next bill")) if nxt else ""
        return f"ARRANGEMENT kept{when}"
    if s.state == "broken":
        return f"ARRANGEMENT BROKEN {s.broken_on:%m/%d/%Y}" if s.broken_on else "ARRANGEMENT BROKEN"
    if s.state == "completed" and info.status == "active":
        return "ARRANGEMENT completed"
    return ""


@dataclass(frozen=True)
class ReviewResult:
    on: dt.date
    looked_at: int
    broken: list[tuple[int, int, str]]        # (arrangement, account number, what was missed)
    completed: list[int]


@db.connected
def review(op: OperatorInfo, on: dt.date | None = None) -> ReviewResult:
    """The daily tracking run: every active arrangement judged on the day; the broken and the
    completed ones marked (each once: a conditional update), audited, a note on a broken one's
    account. Run twice on a day, the second finds nothing new."""
    require(op, "arrangement.make")
    on = on or dt.date.today()
    A = db.Arrangement
    broken, completed, n = [], [], 0
    for r in list(A.select().where(A.status == "active", A.agreed_on <= on).order_by(A.id)):
        n += 1
        s = _standing(r, on)
        if s.state == "kept":
            continue
        with db.write_txn():
            if s.state == "broken":
                changed = (A.update(status="broken", broken_on=s.broken_on)
                           .where(A.id == r.id, A.status == "active").execute())
                if changed:
                    number = db.Account.get_by_id(r.account_id).number
                    audit.record(op, "arrangement.broken", "arrangement", r.id, account_id=r.account_id,
                                 field="status", before="active", after=f"broken {s.broken_on:%m/%d/%Y}: {s.missed}")
                    db.Note.create(account=r.account_id, operator=op.id,
                                   text=f"Payment arrangement broken {s.broken_on:%m/%d/%Y}: {s.missed} was not "
                                        f"paid ({money.fmt_dollars(s.paid_cents)} paid of "
                                        f"{money.fmt_dollars(s.required_cents)} due). Collection notices resume.")
                    broken.append((r.id, number, s.missed))
            else:
                changed = A.update(status="completed").where(A.id == r.id, A.status == "active").execute()
                if changed:
                    audit.record(op, "arrangement.completed", "arrangement", r.id, account_id=r.account_id,
                                 field="status", before="active", after="completed")
                    completed.append(r.id)
    return ReviewResult(on, n, broken, completed)


@db.connected
def cancel(op: OperatorInfo, arrangement_id: int, reason: str) -> ArrangementInfo:
    """End an active arrangement at the member's request (audited); collection resumes."""
    require(op, "arrangement.make")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the arrangement is cancelled", "reason")
    A = db.Arrangement
    with db.write_txn():
        r = A.get_or_none(A.id == arrangement_id)
        if r is None:
            raise NotFound("No such arrangement")
        if not A.update(status="cancelled").where(A.id == arrangement_id, A.status == "active").execute():
            raise ServiceError(f"The arrangement is {r.status}: only an active one is cancelled")
        audit.record(op, "arrangement.cancel", "arrangement", r.id, account_id=r.account_id, field="status",
                     before="active", after=f"cancelled: {reason}"[:200])
    return get(arrangement_id)


# ---- the printed agreement ---------------------------------------------------------------------------

def agreement_text(info: ArrangementInfo, address: str = "") -> str:
    """The agreement's words, in one place (a letter template can take them over)."""
    w = reports.WIDTH
    out = [reports.COOP_NAME.center(w).rstrip(), "PAYMENT ARRANGEMENT AGREEMENT".center(w).rstrip(), "",
           f"Account  {info.account_number}          Date agreed  {info.agreed_on:%m/%d/%Y}",
           f"Member   {info.name}"]
    if address:
        out.append(f"Service  {address}")
    out += ["", f"The member agrees to pay {money.fmt_dollars(info.total_cents)} of the balance owed as follows:", ""]
    for i in info.schedule:
        if i.due_date is not None:
            when = f"due {i.due_date:%m/%d/%Y}"
        else:
            when = f"added to bill {i.seq} after today, due on its due date"
        out.append(f"  {i.label:<16} {money.fmt_dollars(i.amount_cents):>12}  {when}")
    out += ["",
            "Each new bill is also paid in full by its due date. While the arrangement is kept, no late",
            "fee is charged and no disconnect notice is sent for the amount arranged. If an installment",
            f"or a new bill is not paid within {_policy.grace_days} days after its due date, the arrangement is",
            "broken: the whole balance is due and the usual collection notices resume, including a",
            "written notice before disconnection under the rules of the Idaho Public Utilities",
            "Commission (IDAPA 31.21.01).",
            "",
            f"Arranged by {info.operator or '-'}" + (f", approved by {info.approved_by}" if info.approved_by else ""),
            "",
            "Member's signature ______________________________   Date ______________",
            "",
            "For the Cooperative ______________________________   Date ______________"]
    if info.note:
        out[-9:-9] = [f"Note: {info.note}"]
    return "\n".join(out) + "\n"


@db.connected
def write_agreement(arrangement_id: int, directory: str | Path) -> Path:
    """arrangement-<account>-<id>.pdf in the directory (made if missing); returns its path."""
    info = get(arrangement_id)
    acct = db.Account.get_by_id(info.account_id)
    loc = db.ServiceLocation.get_by_id(acct.location_id)
    text = agreement_text(info, f"{loc.street}, {loc.city} {loc.state} {loc.zip}")
    d = Path(directory).expanduser()
    try:
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"arrangement-{info.account_number}-{info.id}.pdf"
        path.write_bytes(reports.text_pdf(text, font_size=10, lines_per_page=60))
    except OSError as exc:
        raise ServiceError(f"Cannot write the agreement to {d}: {exc.strerror or exc}") from exc
    return path
