"""The practice database of training mode, and the queries its walkthroughs' checks make.

Training (kec_tui/training) runs the real screens on a practice copy of the demo
co-op. Everything it does with the database is here, so the training layer, like
the screens, reaches the data only through services: building, marking and
opening the practice copy, the trainee, the bad-debt scenario of the membership
walkthrough, the record of finished walkthroughs, and the read-only checks
(a note, an audited phone change, a batch and its lines, an order, an opened
account) that tell whether a step was done.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from kec_tui import db, money
from kec_tui.checkdigit import make_account_number
from kec_tui.demo import build_demo
from kec_tui.services import audit, billing_run, memberships, operators, passwords, readings, search_index
from kec_tui.services.accounts import format_phone
from kec_tui.services.keystats import Counts, add_counts
from kec_tui.services.operators import OperatorInfo

PRACTICE_ACCOUNTS = 3_000
PRACTICE_MONTHS = 12
PRACTICE_SEED = 1961                  # fixed: every practice copy is the same co-op
PRACTICE_PASSWORD = "practice-super"      # the practice supervisor's password (shown in the walkthrough)
PRACTICE_META = "practice"            # kec_meta key marking a practice database


class NotPractice(RuntimeError):
    """The file named as the practice database is not one (message for the user)."""


# ---- the practice database ------------------------------------------------------------------------

def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build_practice(path: Path, *, accounts: int = PRACTICE_ACCOUNTS, months: int = PRACTICE_MONTHS,
                   seed: int = PRACTICE_SEED, progress: Callable[[int, int], None] | None = None) -> str:
    """Build a fresh practice database at `path` (replacing one there, keeping its keystroke
    statistics). Built beside it and renamed, so a failed build leaves the old one."""
    path = Path(path)
    kept = _read_keystats(path) if path.exists() else []
    building = path.with_name(path.name + ".building")
    _remove(building)
    db.connect(str(building))
    try:
        summary = build_demo(accounts=accounts, months=months, seed=seed, progress=progress)
        seed_practice()
        _restore_keystats(kept)
        db.set_meta(PRACTICE_META, "1")
    finally:
        db.database.close()
    _remove(path)
    os.replace(building, path)
    return str(summary)


def seed_practice() -> None:
    """What the walkthroughs need beyond the demo: a supervisor who can sign in on the form,
    and an earlier member with an unpaid final balance whom an applicant will match."""
    if db.Operator.get_or_none(db.Operator.username == "super") is None:
        operators.create("super", "Dana Whitfield", "supervisor")
    passwords.set_password("super", PRACTICE_PASSWORD)
    ensure_bad_debt_scenario()
    ensure_billed_cycle()


def open_practice(path: Path) -> None:
    """Connect to the practice database; refuse any database not marked as practice."""
    if not Path(path).exists():
        raise NotPractice(f"No practice database at {path}")
    db.connect(str(path))
    if db.get_meta(PRACTICE_META) != "1":
        db.database.close()
        raise NotPractice(f"{path} is not a practice database (it has no practice mark): training never "
                          f"runs on live data. Rebuild it with kec-tui train --reset")


def _read_keystats(path: Path) -> list[tuple]:
    """The keystroke statistics of an old practice database (trainees' records survive a rebuild)."""
    try:
        db.connect(str(path))
        K, O = db.KeyStats, db.Operator
        rows = list(K.select(O.username, O.name, O.role, K.day, K.keys, K.pastes, K.pasted_chars, K.corrections,
                             K.active_ms).join(O, on=(K.operator == O.id)).tuples())
    except Exception:  # noqa: BLE001 - an unreadable old copy is simply replaced
        rows = []
    finally:
        db.database.close()
    return rows


def _restore_keystats(rows: list[tuple]) -> None:
    for username, name, role, day, keys, pastes, chars, corr, active in rows:
        row = db.Operator.get_or_none(db.Operator.username == username)
        op_id = row.id if row else operators.create(username, name, role).id
        add_counts(op_id, {day: Counts(keys, pastes, chars, corr, active)})


TRAINEE_ROLES = ("msr", "billing", "collections")


def trainee_operator(username: str | None = None, role: str | None = None) -> OperatorInfo:
    """The trainee in the practice database: the name given (--operator), else the OS login;
    made there on first use with `role` (default an MSR; a billing clerk practises readings,
    adjustments and the billing run). A trainee already there keeps their role unless one is asked
    for (the practice co-op's billing1 is a billing clerk)."""
    if role is not None and role not in TRAINEE_ROLES:
        raise ValueError(f"A trainee is one of {', '.join(TRAINEE_ROLES)}, not {role!r}")
    if not username:
        try:
            username = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (some containers)
            username = ""
    name = re.sub(r"\W", "_", (username or "").strip().lower())[:32].strip("_") or "trainee"
    if not name[0].isalpha():
        name = f"t_{name}"[:32]
    row = db.Operator.get_or_none(db.Operator.username == name)
    if row is not None:
        if not row.active or (role is not None and row.role != role):
            db.Operator.update(active=True, role=role or row.role).where(db.Operator.id == row.id).execute()
        return operators.by_username(name)
    return operators.create(name, f"{name} (trainee)", role or "msr")


# ---- the bad-debt scenario ---------------------------------------------------------------------------

SCENARIO_META = "training.bad_debt"
APPLICANT = {"first": "Dale", "last": "Brandvold", "tax_id": "518-44-4417", "birth": "04/12/1979",
             "phone": "2087725519", "prior_street": "311 W Ironwood Dr"}


def ensure_bad_debt_scenario() -> dict:
    """An earlier member (final account, unpaid final bill) and a vacant service location for the
    applicant who matches them; made once, a new vacant location whenever the last one is taken."""
    A, M, L, LE, Me = db.Account, db.Member, db.ServiceLocation, db.LedgerEntry, db.Meter
    stored = json.loads(db.get_meta(SCENARIO_META) or "{}")
    today = dt.date.today()
    with db.write_txn():
        prior = A.get_or_none(A.id == stored.get("prior_account_id")) if stored else None
        if prior is None:
            base = db.next_number(A.number)
            member = M.create(member_no=db.next_number(M.member_no),
                              first_name=APPLICANT["first"], last_name=APPLICANT["last"],
                              tax_id_last4=APPLICANT["tax_id"][-4:],
                              tax_id_hash=memberships.tax_id_hash(APPLICANT["tax_id"].replace("-", ""),
                                                                  create_salt=True),
                              birth_date=dt.date(1979, 4, 12), phone_mobile=APPLICANT["phone"],
                              mail_street=APPLICANT["prior_street"], mail_city="Coeur d'Alene", mail_zip="83815",
                              joined=today - dt.timedelta(days=900))
            loc = L.create(location_no=db.next_number(L.location_no), street=APPLICANT["prior_street"],
                           city="Coeur d'Alene", zip="83815", map_location="T50N R4W S02")
            opened, closed = today - dt.timedelta(days=900), today - dt.timedelta(days=240)
            prior = A.create(number=make_account_number(base), member=member, location=loc, status="final",
                             opened=opened, closed=closed)
            for i, cents in enumerate((13420, 15877, 11209)):
                day = opened + dt.timedelta(days=30 * (i + 1))
                LE.create(account=prior, effective=day, kind="bill", amount_cents=cents, description="Electric service",
                          due_date=day + dt.timedelta(days=20))
                if i < 2:
                    LE.create(account=prior, effective=day + dt.timedelta(days=18), kind="payment",
                              amount_cents=-cents, description="Payment", reference=f"chk {2201 + i}")
            LE.create(account=prior, effective=closed, kind="bill", amount_cents=17555, description="Final bill",
                      due_date=closed + dt.timedelta(days=20))
            search_index.reindex_account(prior.id)
            # Made by the system, not keyed: the audit log says so (the history shows where the bills came from).
            audit.record(None, "practice.scenario", "account", prior.id, account_id=prior.id,
                         after="earlier member with an unpaid final bill (training: bad-debt audit)")
            stored = {"prior_account_id": prior.id}
        loc = L.get_or_none(L.id == stored.get("location_id")) if stored.get("location_id") else None
        taken = loc is not None and A.select().where(A.location == loc.id,
                                                     A.status.in_(("pending", "active", "disconnected"))).exists()
        if loc is None or taken:
            n = stored.get("locations", 0) + 1
            loc = L.create(location_no=db.next_number(L.location_no), street=f"{1415 + 2 * n} E Lakeshore Dr",
                           city="Hayden", zip="83835", map_location=f"T51N R4W S{10 + n % 20:02d}")
            meter_no = f"39{loc.location_no:07d}"[-9:]
            if not Me.select().where(Me.meter_no == meter_no).exists():
                Me.create(meter_no=meter_no, location=loc, installed=today - dt.timedelta(days=3000))
            stored.update(location_id=loc.id, locations=n)
        db.set_meta(SCENARIO_META, json.dumps(stored))
    owed = int(LE.select(fn.SUM(LE.amount_cents)).where(LE.account == prior.id).scalar() or 0)
    pm = M.get_by_id(prior.member_id)
    return {**APPLICANT, "phone_fmt": format_phone(APPLICANT["phone"]), "location_no": loc.location_no,
            "location_street": f"{loc.street}, {loc.city}", "prior_account": prior.number,
            "prior_name": f"{pm.first_name} {pm.last_name}", "owed": money.fmt_dollars(owed),
            "sup_user": "super", "sup_password": PRACTICE_PASSWORD}


BILLED_META = "practice.billed_run"


def ensure_billed_cycle(today: dt.date | None = None) -> int | None:
    """Bills to explain (the bill inquiry walkthrough): the demo's history is ledger charges; here the
    cycle billed longest ago is read today (each meter its last month's use again, as a route would
    read) and billed by the real billing run for its next period, previewed by a billing clerk and
    approved by the practice supervisor. Made once; returns the run's id (None: nothing to bill)."""
    stored = db.get_meta(BILLED_META)
    if stored:
        return int(stored)
    today = today or dt.date.today()
    A, R, LE = db.Account, db.Reading, db.LedgerEntry
    last_bill: dict[int, dt.date] = {}
    for cycle in billing_run.RunSettings().cycle_days:
        day = LE.select(fn.MAX(LE.effective)).join(A, on=(LE.account == A.id)).where(
            A.bill_cycle == cycle, LE.kind == "bill").scalar()
        if day is not None:
            last_bill[cycle] = db.as_date(day)
    ready = [c for c, day in last_bill.items() if day < today]
    if not ready:
        return None
    cycle = min(ready, key=lambda c: (last_bill[c], c))
    y, m = divmod(last_bill[cycle].year * 12 + last_bill[cycle].month, 12)
    period = f"{y}-{m + 1:02d}"
    if db.BillingRun.select().where(db.BillingRun.cycle == cycle, db.BillingRun.period == period).exists():
        return None
    rows = []
    latest: dict[int, tuple] = {}
    Me = db.Meter
    for aid, meter, reading, kwh, mult in (
            R.select(R.account, R.meter, R.reading, R.kwh, Me.multiplier).join(A, on=(R.account == A.id))
            .join(Me, on=(R.meter == Me.id))
            .where(A.bill_cycle == cycle, A.status == "active", R.meter == A.meter, R.read_date < today)
            .order_by(R.account, R.read_date, R.id).tuples()):
        latest[aid] = (meter, reading, kwh, max(mult or 1, 1))
    for aid, (meter, reading, kwh, mult) in latest.items():
        dials = max(kwh // mult, 1)           # the same use as last month, on the meter's dials
        rows.append({"account": aid, "meter": meter, "read_date": today, "reading": reading + dials,
                     "kwh": dials * mult, "source": "keyed"})
    with db.write_txn():
        for i in range(0, len(rows), 500):
            R.insert_many(rows[i:i + 500]).execute()
    clerk = (operators.by_username(BILLING_TRAINEE)
             if db.Operator.get_or_none(db.Operator.username == BILLING_TRAINEE)
             else operators.create(BILLING_TRAINEE, "Bea Biller", "billing"))
    boss = operators.by_username("super")
    reg = billing_run.preview(clerk, cycle, period)
    billing_run.approve(boss, reg.run.id)
    run = billing_run.commit(clerk, reg.run.id)
    db.set_meta(BILLED_META, str(run.id))
    return run.id


def billed_candidates(limit: int = 400) -> list[int]:
    """Active, unflagged accounts with a bill of the billing run (to explain), by id."""
    B = db.Bill
    have = {a for (a,) in B.select(B.account).where(B.status == "billed").tuples()}
    return [a for a in check_candidates() if a in have][:limit]


def latest_bill(account_id: int) -> tuple[int, int, dt.date] | None:
    """(bill id, kWh, bill date) of the account's newest bill, or None."""
    B = db.Bill
    row = (B.select(B.id, B.kwh, B.bill_date).where(B.account == account_id, B.status == "billed")
           .order_by(B.bill_date.desc(), B.id.desc()).first())
    if row is None:
        return None
    day = db.as_date(row.bill_date)
    return row.id, row.kwh, day


BILLING_TRAINEE = "biller"        # the practice billing clerk who commits the practice cycle


def adjustments_since(account_id: int, operator_id: int, since: dt.datetime) -> list[tuple[str, int, str]]:
    """(reason, amount in cents, approving supervisor or "") of the adjustments the trainee posted."""
    A, O = db.Adjustment, db.Operator
    rows = (A.select(A.reason, A.amount_cents, A.approved_by).where(
        A.account == account_id, A.operator == operator_id, A.created_at >= since).order_by(A.id).tuples())
    out = []
    for reason, cents, approver in rows:
        name = O.select(O.username).where(O.id == approver).scalar() if approver else ""
        out.append((reason, int(cents), name or ""))
    return out


# ---- finished walkthroughs -----------------------------------------------------------------------------

def _done_key(username: str) -> str:
    return f"training.done.{username}"[:64]


def walkthroughs_done(username: str) -> set[str]:
    """The names of the walkthroughs this trainee has completed."""
    return set(filter(None, (db.get_meta(_done_key(username)) or "").split(",")))


def record_walkthroughs_done(username: str, names: set[str]) -> None:
    db.set_meta(_done_key(username), ",".join(sorted(names)))


def clock() -> dt.datetime:
    """The database clock (seconds) a walkthrough's checks compare times with."""
    return db.now()


# ---- what the checks look at ---------------------------------------------------------------------------

def check_candidates(limit: int = 20_000) -> list[int]:
    """Active accounts, not flagged (collections, bankruptcy, cash only, medical, winter), by id."""
    A = db.Account
    today = dt.date.today()
    return [i for (i,) in A.select(A.id).where(
        A.status == "active", A.collections == False, A.bankruptcy == False,  # noqa: E712
        (A.cash_only_until.is_null()) | (A.cash_only_until < today),
        (A.medical_cert_until.is_null()) | (A.medical_cert_until < today),
        (A.winter_protection_until.is_null()) | (A.winter_protection_until < today),
    ).order_by(A.id).limit(limit).tuples()]


def member_spoken_name(member_id: int) -> str:
    """The name as a caller says it: "Gerald Steele"."""
    m = db.Member.get_by_id(member_id)
    return f"{m.first_name} {m.last_name}".strip()


def notes_since(account_id: int, operator_id: int, since: dt.datetime) -> list[str]:
    N = db.Note
    return [t for (t,) in N.select(N.text).where(N.account == account_id, N.operator == operator_id,
                                                 N.created_at >= since).order_by(N.id).tuples()]


def contact_changes_since(member_id: int, operator_id: int, since: dt.datetime) -> list[tuple[str, str]]:
    """(field, new value) of the audited contact updates of a member by an operator, oldest first."""
    A = db.AuditLog
    return list(A.select(A.field, A.after).where(
        A.action == "contact.update", A.operator == operator_id, A.entity_id == member_id,
        A.at >= since).order_by(A.id).tuples())


@dataclass(frozen=True)
class PracticeBatch:
    id: int
    number: int
    status: str
    control_count: int
    control_total_cents: int
    accepted: bool                     # posted with a supervisor's acceptance of a difference


def latest_batch_since(operator_id: int, since: dt.datetime) -> PracticeBatch | None:
    """The operator's newest batch opened since then (not voided)."""
    B = db.PaymentBatch
    b = (B.select().where(B.operator == operator_id, B.created_at >= since, B.status != "void")
         .order_by(B.id.desc()).first())
    if b is None:
        return None
    return PracticeBatch(b.id, b.number, b.status, b.control_count, b.control_total_cents, bool(b.accepted_by_id))


def active_batch_lines(batch_id: int) -> list[tuple[int, int | None, str, int]]:
    """(seq, account id, account as keyed, cents) of a batch's active lines, in keyed order."""
    L = db.BatchLine
    return list(L.select(L.seq, L.account, L.account_text, L.amount_cents)
                .where(L.batch == batch_id, L.status == "active").order_by(L.seq).tuples())


def has_open_reread(account_id: int) -> bool:
    O = db.ServiceOrder
    return O.select().where(O.account == account_id, O.kind == "reread",
                            O.status.in_(("open", "dispatched"))).exists()


def orders_made_since(account_id: int, operator_id: int, since: dt.datetime) -> list[tuple[int, str]]:
    """(order no., kind) of the orders the operator made on the account since then, oldest first."""
    O = db.ServiceOrder
    return list(O.select(O.order_no, O.kind).where(O.account == account_id, O.operator == operator_id,
                                                    O.created_at >= since).order_by(O.id).tuples())


def accounts_opened_since(operator_id: int, since: dt.datetime) -> list[tuple[int, str, bool]]:
    """(account id, member's last name, opened with a bad-debt override) of the accounts the operator opened."""
    A = db.AuditLog
    opened = []
    for (aid,) in A.select(A.account).where(A.action == "account.open", A.operator == operator_id,
                                            A.at >= since).tuples():
        a = db.Account.get_or_none(db.Account.id == aid)
        if a is None:
            continue
        m = db.Member.get_by_id(a.member_id)
        overridden = A.select().where(A.action == "bad_debt.override", A.account == aid).exists()
        opened.append((aid, m.last_name, overridden))
    return opened


# ---- meter readings ------------------------------------------------------------------------------------

SHEET_SKIP = 6   # the reading route walkthrough keys the first meters of a route; the queue's are past them

def reading_sheet(cycle: int, count: int) -> list[dict] | None:
    """The first `count` meters of a cycle's route as a handheld sheet: each reading the last plus
    the meter's usual use (none an exception on the day), and the last one lower than its last
    reading (a mis-read to send to be read again). None when the route cannot make such a sheet."""
    today = dt.date.today()
    stops = readings.route(cycle)[:count]
    if len(stops) < count or stops[-1].last_reading is None or stops[-1].last_reading < 1000:
        return None
    sheet = []
    for i, stop in enumerate(stops):
        a = db.Account.get(db.Account.number == stop.account_number)
        if i == count - 1:
            reading = stop.last_reading - 1 - stop.last_reading % 200
        else:
            last_year, avg = readings.usage_references(a.id, today)
            reading = (stop.last_reading or 0) + max(1, (avg or last_year or 600) // max(1, a.meter.multiplier))
        issues = readings.check(stop.meter_no, str(reading), read_date=today, account_number=stop.account_number)[5]
        if [x.code for x in issues] != (["lower"] if i == count - 1 else []):
            return None
        sheet.append({"account_id": a.id, "number": stop.account_number, "meter": stop.meter_no,
                      "name": stop.name, "last": stop.last_reading, "reading": reading})
    return sheet


def readings_keyed_since(operator_id: int, since: dt.datetime) -> list[tuple[int, str, int]]:
    """(account id, meter, reading) of the readings the operator saved since then, oldest first."""
    A, R = db.AuditLog, db.Reading
    ids = [i for (i,) in A.select(A.entity_id).where(A.action == "reading.key", A.operator == operator_id,
                                                     A.at >= since).order_by(A.id).tuples()]
    rows = {r.id: (r.account_id, r.meter.meter_no, r.reading) for r in R.select().where(R.id.in_(ids))}
    return [rows[i] for i in ids if i in rows]


def reading_exceptions_scenario(cycle: int, skip: int = SHEET_SKIP) -> dict | None:
    """Three reads of a cycle's meters delivered by the AMI system into the exceptions queue (as a
    file imported by the practice supervisor): no use on an active account (to accept), letters in
    the reading (to correct: `fix` is the right reading) and lower than the last (to re-read).
    The meters are past the first `skip` of the route (the route walkthrough's) and unread today.
    None when the cycle has no three such meters."""
    today = dt.date.today()
    picked = []
    for stop in readings.route(cycle)[skip:]:
        if stop.last_reading is None or stop.last_reading < 1000 or stop.last_date == today:
            continue
        a = db.Account.get(db.Account.number == stop.account_number)
        if a.status != "active":
            continue
        last_year, avg = readings.usage_references(a.id, today)
        fix = stop.last_reading + max(1, (avg or last_year or 600) // max(1, a.meter.multiplier))
        if readings.check(stop.meter_no, str(fix), read_date=today, account_number=stop.account_number)[5]:
            continue
        picked.append({"account_id": a.id, "number": stop.account_number, "meter": stop.meter_no,
                       "name": stop.name, "last": stop.last_reading, "fix": fix})
        if len(picked) == 3:
            break
    else:
        return None
    zero, letters, lower = picked
    zero["read"] = str(zero["last"])
    letters["read"] = f"{str(letters['fix'])[:-2]}x{str(letters['fix'])[-1]}"
    lower["read"] = str(lower["last"] - 1 - lower["last"] % 200)
    text = "meter,read_at,reading\n" + "".join(f"{p['meter']},{today}T06:00,{p['read']}\n" for p in picked)
    result = readings.import_ami_csv(operators.by_username("super"), text, f"ami-cycle{cycle}-{today:%m%d}.csv")
    X = db.ReadingException
    for p in picked:
        row = (X.select(X.id).where(X.meter_no == p["meter"], X.read_date == today, X.reading_text == p["read"],
                                    X.status == "open").order_by(X.id.desc()).first())
        if row is None:
            return None
        p["exception_id"] = row.id
    return {"zero": zero, "letters": letters, "lower": lower, "file": result}


def reading_exception_states(ids: list[int]) -> dict[int, str]:
    """The status of each of these queued readings (open, accepted, corrected, reread)."""
    X = db.ReadingException
    return dict(X.select(X.id, X.status).where(X.id.in_(ids)).tuples())
# ---- the billing run walkthrough --------------------------------------------------------------------------

def ensure_billing_scenario() -> dict:
    """A cycle ready to bill: the next period of the cycle whose next bill comes first (a run of
    it not committed yet is taken up again), its meters read today or two days before that bill
    date (as a handheld route would: the last reading plus last month's use). Made again after
    each commit, for the next period."""
    from kec_tui.services import billing_register

    A, L, R, BR = db.Account, db.LedgerEntry, db.Reading, db.BillingRun
    days = billing_register.cycle_days()
    best: tuple[dt.date, int] | None = None
    for cycle, day in days.items():
        last = (L.select(fn.MAX(L.effective)).join(A, on=(L.account == A.id))
                .where(A.bill_cycle == cycle, L.kind == "bill").scalar())
        last = db.as_date(last) if last else dt.date.today() - dt.timedelta(days=31)
        y, m = divmod(last.year * 12 + last.month, 12)       # the month after the last bill
        bill = dt.date(y, m + 1, min(day, 28))
        if best is None or bill < best[0]:
            best = (bill, cycle)
    bill_date, cycle = best
    period = f"{bill_date:%Y-%m}"
    # read today, or (a bill date weeks ahead: the co-op caught up) two days before the bill date
    read_date = bill_date - dt.timedelta(days=2)
    if bill_date - dt.timedelta(days=25) < dt.date.today() < read_date:
        read_date = dt.date.today()
    accts = {aid: (meter, mult or 1) for aid, meter, mult in
             A.select(A.id, A.meter, db.Meter.multiplier).join(db.Meter, on=(A.meter == db.Meter.id)).where(
                 A.bill_cycle == cycle, A.status.in_(("active", "disconnected"))).tuples()}
    read = {a for (a,) in R.select(R.account).where(R.account.in_(list(accts)), R.read_date > bill_date
                                                   - dt.timedelta(days=20)).tuples()} if accts else set()
    last_read: dict[int, tuple[int, int]] = {}
    for aid, reading, kwh in (R.select(R.account, R.reading, R.kwh)
                              .where(R.account.in_(list(accts)), R.read_date <= read_date)
                              .order_by(R.account, R.read_date, R.id).tuples()) if accts else ():
        last_read[aid] = (reading, kwh)
    rows = []
    for aid, (meter, mult) in accts.items():
        if aid in read:
            continue
        reading, kwh = last_read.get(aid, (0, 600))
        dials = max((kwh or 600) // mult, 1)
        rows.append({"account": aid, "meter": meter, "read_date": read_date, "reading": reading + dials,
                     "kwh": dials * mult, "source": "handheld"})
    with db.write_txn():
        for i in range(0, len(rows), 500):
            R.insert_many(rows[i:i + 500]).execute()
        if rows:
            audit.record(None, "practice.scenario", "billing_run", None,
                         after=f"cycle {cycle} read for {period}: {len(rows)} meters (training: billing run)")
    run = BR.get_or_none(BR.cycle == cycle, BR.period == period)
    return {"cycle": cycle, "period": period, "bill_date": f"{bill_date:%m/%d/%Y}", "meters": len(accts),
            "run_before": run.id if run is not None else None, "sup_user": "super",
            "sup_password": PRACTICE_PASSWORD}


def billing_run_state(cycle: int, period: str) -> tuple[str, int] | None:
    """(status, bills written) of the run of the cycle and period, or None."""
    BR = db.BillingRun
    run = BR.get_or_none(BR.cycle == cycle, BR.period == period)
    return (run.status, run.bill_count) if run is not None else None


def ensure_capital_credits(account_id: int) -> tuple[int, int]:
    """The member of the account has capital credits of several years (made in the practice database if
    it has none): (balance, worth today) in cents."""
    from kec_tui.services import capital_credits

    member_id = capital_credits.member_of_account(account_id)
    CC = db.CapitalCredit
    if not CC.select().where(CC.member == member_id).exists():
        year = clock().year
        for back, cents in ((30, 3_456), (22, 5_210), (15, 8_123), (8, 9_340), (1, 7_777)):
            CC.create(member=member_id, year=year - back, allocated_cents=cents)
    st = capital_credits.statement(None, member_id)
    return st.balance_cents, capital_credits.quote(member_id, clock().date()).paid_cents
