"""The billing run: register, approval, commit exactly once (two sessions at once, a
process killed midway), estimates, cancel/rebill; and readings keyed and imported with
their exceptions. SQLite and PostgreSQL."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import accounts, billing_run, due_dates, operators, rates, readings, statements
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories
from tests.services import billing_data as data
from tests.services.test_concurrency import at_once

D = dt.date
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def biller(database_any):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def cycle_db(database, biller, supervisor):
    data.load_rates()
    return database


def bills_of(account_id: int) -> list[db.Bill]:
    return list(db.Bill.select().where(db.Bill.account == account_id).order_by(db.Bill.id))


def approved_run(biller, supervisor, cycle=1):
    reg = billing_run.preview(biller, cycle, data.PERIOD)
    billing_run.approve(supervisor, reg.run.id)
    return reg


# ---- the register, approval and commit ---------------------------------------------------------


def test_preview_approve_commit_bills_each_account_once_with_lines_and_a_ledger_charge(
    cycle_db, biller, supervisor, msr
):
    plain = data.account(kwh=800)
    high = data.account(kwh=2000)
    low = data.account(kwh=300)
    zero = data.account(kwh=0)
    unread = data.account(kwh=None)
    big = data.account(kwh=40000, history=30000, rate_class="LGS", demand_kw=Decimal("45.5"))
    new = factories.account(bill_cycle=1, city="Athol", opened=D(2025, 4, 10))
    db.Reading.create(account=new, meter=new.meter, read_date=D(2025, 4, 10), reading=500, kwh=0)
    db.Reading.create(account=new, meter=new.meter, read_date=data.THIS_READ, reading=800, kwh=300)
    other_cycle = data.account(kwh=800, cycle=2)
    before = {a.id: accounts.balance(a.id) for a in (plain, high, unread)}

    reg = billing_run.preview(biller, 1, data.PERIOD)
    assert [v.effective for v in rates.all_versions()["RES"]] == [D(2025, 1, 1), D(2025, 3, 16)]  # as loaded
    by_id = {b.account_id: b for b in reg.bills}
    assert set(by_id) == {plain.id, high.id, low.id, zero.id, unread.id, big.id, new.id}
    assert other_cycle.id not in by_id
    # 30 days 04/01-05/01 on the March rates: 27.00 + 800 x 0.095 = 76.00 + PCA 800 x 0.004 = 3.20
    assert [(ln.code, ln.amount_cents) for ln in by_id[plain.id].lines] == [
        ("customer", 2700),
        ("energy", 7600),
        ("pca", 320),
    ]
    assert by_id[plain.id].total_cents == 10620 and by_id[plain.id].exceptions == ()
    assert by_id[high.id].exceptions == ("high",) and by_id[low.id].exceptions == ("low",)
    assert by_id[zero.id].exceptions == ("zero",)
    assert by_id[unread.id].exceptions == ("no_reading", "estimated") and by_id[unread.id].kwh == 900
    assert "over_limit" in by_id[big.id].exceptions and by_id[big.id].total_cents == 9500 + 284000 + 10463 + 12400
    # the first bill: 21 days of a month (04/10-05/01): 18.90 + 300 x 0.095 = 28.50 + PCA 1.20
    assert by_id[new.id].exceptions == ("first",) and by_id[new.id].total_cents == 1890 + 2850 + 120
    assert (
        reg.run.status == "previewed" and reg.run.preview_count == 7 and reg.run.preview_total_cents == reg.total_cents
    )
    assert reg.run.due_date == D(2025, 5, 23)

    with pytest.raises(billing_run.NotApproved):
        billing_run.commit(biller, reg.run.id)  # not approved yet
    for who in (biller, msr):
        with pytest.raises(PermissionDenied):
            billing_run.approve(who, reg.run.id)
    billing_run.approve(supervisor, reg.run.id)
    run = billing_run.commit(biller, reg.run.id)
    assert (run.status, run.bill_count, run.total_cents) == ("committed", 7, reg.total_cents)

    for a in (plain, high, low, zero, unread, big, new):
        (bill,) = bills_of(a.id)
        entry = db.LedgerEntry.get_by_id(bill.ledger_entry_id)
        assert (entry.kind, entry.amount_cents, entry.due_date) == ("bill", bill.total_cents, D(2025, 5, 23))
        assert sum(ln.amount_cents for ln in bill.lines) == bill.total_cents
    assert accounts.balance(plain.id) == before[plain.id] + 10620
    assert bills_of(other_cycle.id) == []
    est = bills_of(unread.id)[0]
    assert est.estimated and "(estimated)" in db.LedgerEntry.get_by_id(est.ledger_entry_id).description
    # the estimate is a reading, so the next actual read bills only the rest
    stored = db.Reading.get_by_id(est.reading_row_id)
    assert (stored.source, stored.kwh, stored.reading) == ("estimated", 900, 10000 + 13 * 900 + 900)
    assert readings.last_reading(unread.id, unread.meter_id).id == stored.id
    assert db.AuditLog.select().where(db.AuditLog.action == "billing.approve").count() == 1

    with pytest.raises(billing_run.AlreadyCommitted):
        billing_run.commit(biller, reg.run.id)  # a second commit of the same period
    with pytest.raises(billing_run.AlreadyCommitted):
        billing_run.preview(biller, 1, data.PERIOD)
    assert db.Bill.select().count() == 7


def test_readings_changed_after_approval_are_not_billed_unseen(cycle_db, biller, supervisor):
    a = data.account(kwh=800)
    reg = approved_run(biller, supervisor)
    db.Reading.update(kwh=950).where(db.Reading.account == a.id, db.Reading.read_date == data.THIS_READ).execute()
    with pytest.raises(billing_run.NotApproved, match="changed since the register was approved"):
        billing_run.commit(biller, reg.run.id)
    assert db.Bill.select().count() == 0 and billing_run.get_run(reg.run.id).status == "previewed"
    reg = approved_run(biller, supervisor)
    assert billing_run.commit(biller, reg.run.id).total_cents == 2700 + 9025 + 380


def spy_on_plan(monkeypatch) -> list:
    calls = []
    real = billing_run.plan
    monkeypatch.setattr(billing_run, "plan", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_the_commit_bills_the_previewed_plan_without_planning_the_cycle_again(
    cycle_db, biller, supervisor, monkeypatch
):
    data.cycle(4)
    data.account(kwh=None)  # estimated: its reading is stored by the commit
    data.account(kwh=800, budget_billing=True)
    reg = approved_run(biller, supervisor)
    calls = spy_on_plan(monkeypatch)
    run = billing_run.commit(biller, reg.run.id)
    assert calls == []
    assert (run.bill_count, run.total_cents) == (6, reg.total_cents)
    for b in reg.bills:
        (bill,) = bills_of(b.account_id)
        assert (bill.kwh, bill.total_cents, bill.charged_cents, bill.estimated, bill.budget) == (
            b.kwh,
            b.total_cents,
            b.charged_cents,
            b.estimated,
            b.budget,
        )
        assert [(ln.code, ln.amount_cents) for ln in bill.lines] == [(ln.code, ln.amount_cents) for ln in b.lines]


AFTER_APPROVAL = {
    "a reading keyed": lambda a: db.Reading.create(
        account=a, meter=a.meter, read_date=data.THIS_READ + dt.timedelta(days=1), reading=99_999, kwh=950
    ),
    "a reading corrected in SQL": lambda a: db.Reading.update(kwh=950)
    .where(db.Reading.account == a.id, db.Reading.read_date == data.THIS_READ)
    .execute(),
    "a reading deleted": lambda a: db.Reading.delete()
    .where(db.Reading.account == a.id, db.Reading.read_date == data.THIS_READ)
    .execute(),
    "a bill charged": lambda a: db.LedgerEntry.create(
        account=a, effective=data.THIS_READ, kind="bill", amount_cents=500, description="Final bill"
    ),
    "the account's rate class": lambda a: db.Account.update(rate_class="SGS").where(db.Account.id == a.id).execute(),
    "budget billing": lambda a: db.Account.update(budget_billing=True).where(db.Account.id == a.id).execute(),
    "the city": lambda a: db.ServiceLocation.update(city="Orange")
    .where(db.ServiceLocation.id == a.location_id)
    .execute(),
    "the meter's multiplier": lambda a: db.Meter.update(multiplier=2).where(db.Meter.id == a.meter_id).execute(),
}


@pytest.mark.parametrize("change", AFTER_APPROVAL)
def test_a_change_after_the_preview_makes_the_commit_plan_again(cycle_db, biller, supervisor, monkeypatch, change):
    a = data.account(kwh=800)
    data.account(kwh=700)
    reg = approved_run(biller, supervisor)
    AFTER_APPROVAL[change](db.Account.get_by_id(a.id))
    calls = spy_on_plan(monkeypatch)
    fresh = billing_run.plan(1, data.PERIOD)[0]
    calls.clear()
    if sum(b.charged_cents for b in fresh) != reg.total_cents or len(fresh) != len(reg.bills):
        with pytest.raises(billing_run.NotApproved, match="changed since the register was approved"):
            billing_run.commit(biller, reg.run.id)
        assert db.Bill.select().count() == 0
    else:
        billing_run.commit(biller, reg.run.id)
        assert {b.account_id: b.total_cents for b in fresh} == {
            b.account_id: b.total_cents for b in db.Bill.select()
        }
    assert len(calls) == 1  # the commit planned the cycle again


def test_a_cycle_with_no_readings_bills_nobody_and_says_why(cycle_db, biller, supervisor):
    a = data.account(kwh=None, months=0, cycle=3)
    reg = billing_run.preview(biller, 3, data.PERIOD)
    assert reg.bills == [] and reg.not_billed == [(a.number, "no reading this period and no use to estimate from")]
    with pytest.raises(ValidationError):
        billing_run.preview(biller, 9, data.PERIOD)  # no such cycle
    with pytest.raises(ValidationError):
        billing_run.preview(biller, 1, "2025-13")


def former_bill(a: db.Account, day: dt.date) -> None:
    """A bill of the former system, as a conversion writes it: history, no run, no ledger charge."""
    db.Bill.create(account=a, bill_date=day, due_date=day + dt.timedelta(days=20),
                   period_start=day - dt.timedelta(days=30), period_end=day - dt.timedelta(days=2), schedule="RES",
                   kwh=800, total_cents=10620, charged_cents=10620)


def test_a_period_billed_outside_a_run_is_not_billed_again(cycle_db, biller, supervisor):
    """The demo's history and a converted co-op's bills are made outside any run: a run of a
    period they already billed (or of an older one) leaves those accounts out and says why."""
    plain = data.account(kwh=800)
    demo = data.account(kwh=800)            # its 05/03 bill is a ledger charge with no run (the demo's)
    db.LedgerEntry.create(account=demo, effective=data.BILL_DATE, kind="bill", amount_cents=10620,
                          description="Electric service", reference="Cycle 1", due_date=D(2025, 5, 23))
    converted = data.account(kwh=800)       # its 05/03 bill came over from the former system
    former_bill(converted, data.BILL_DATE)
    reg = billing_run.preview(biller, 1, data.PERIOD)
    why = "billed already this period: a bill dated 04/18/2025 or later"
    assert [b.account_number for b in reg.bills] == [plain.number]
    assert sorted(reg.not_billed) == sorted([(demo.number, why), (converted.number, why)])
    older = billing_run.preview(biller, 1, "2025-04")      # every account billed since
    assert older.bills == [] and {w for _, w in older.not_billed} == {
        "billed already this period: a bill dated 03/19/2025 or later"}


def test_a_converted_account_is_billed_as_regular_and_a_rebill_is_not_this_periods_bill(cycle_db, biller, supervisor):
    """A converted account's last bill is its former system's (a regular bill follows, not a first);
    a rebill bills an old period again, so the period it is dated in is still billed."""
    converted = data.account(kwh=800)
    db.LedgerEntry.delete().where(db.LedgerEntry.account == converted.id, db.LedgerEntry.kind == "bill").execute()
    former_bill(converted, D(2025, 4, 3))
    plain = data.account(kwh=800)
    reg = approved_run(biller, supervisor)
    assert {b.account_number: b.kind for b in reg.bills} == {converted.number: "regular", plain.number: "regular"}
    billing_run.commit(biller, reg.run.id)
    bill_id = next(b.id for b in bills_of(plain.id))
    billing_run.rebill(biller, bill_id, "meter re-read", kwh=780)          # dated today: after any period here
    db.Reading.create(account=plain, meter=plain.meter, read_date=D(2025, 6, 1), reading=20000, kwh=820,
                      source="keyed")
    june = billing_run.preview(biller, 1, "2025-06")
    assert [(b.account_number, b.kwh, b.estimated) for b in june.bills if b.account_number == plain.number] == [
        (plain.number, 820, False)]


def test_a_meter_read_twice_since_the_last_bill_is_billed_for_all_its_use(cycle_db, biller, supervisor):
    """Keyed twice (a check read, or the route keyed again the same day): the bill is the use since
    the last billed reading, not the last reading's own few kWh."""
    a = data.account(kwh=800)
    first = db.Reading.get(db.Reading.account == a.id, db.Reading.read_date == data.THIS_READ)
    db.Reading.create(account=a, meter=a.meter, read_date=data.THIS_READ, reading=first.reading + 50, kwh=50,
                      source="keyed")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    (b,) = reg.bills
    assert (b.kwh, b.reading, b.prev_reading, b.period_start) == (850, first.reading + 50, first.reading - 800,
                                                                  data.LAST_READ)


def test_two_sessions_commit_at_once_and_each_account_is_billed_once(cycle_db, biller, supervisor):
    accts = data.cycle(12)
    reg = approved_run(biller, supervisor)
    other = operators.create("bill2", "Other Biller", "billing")
    r = at_once(
        lambda: billing_run.commit(biller, reg.run.id, chunk=3), lambda: billing_run.commit(other, reg.run.id, chunk=3)
    )
    done = [x for x in r if isinstance(x, billing_run.RunInfo)]
    refused = [x for x in r if isinstance(x, billing_run.RunStateError)]
    assert len(done) == 1 and len(refused) == 1, r
    assert isinstance(refused[0], (billing_run.RunBusy, billing_run.AlreadyCommitted))
    for a in accts:
        assert len(bills_of(a.id)) == 1
        assert (
            db.LedgerEntry.select()
            .where(
                db.LedgerEntry.account == a.id,
                db.LedgerEntry.kind == "bill",
                db.LedgerEntry.effective == data.BILL_DATE,
            )
            .count()
            == 1
        )


KILLED_COMMIT = """
import sys, time
from kec_tui import db
from kec_tui.services import billing_run, operators
db.connect(sys.argv[1], create=False)
billing_run._after_chunk = lambda run_id, n: (print(n, flush=True), time.sleep(0.3))
billing_run.commit(operators.by_username("bill1"), int(sys.argv[2]), chunk=2)
"""


def test_a_commit_killed_midway_is_run_again_no_bill_twice_none_missing(cycle_db, biller, supervisor):
    accts = data.cycle(10)
    reg = approved_run(biller, supervisor)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_COMMIT, cycle_db, str(reg.run.id)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # a chunk is committed: the process is midway
        assert first.strip(), proc.stderr.read()
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()
    written = db.Bill.select().count()
    assert 0 < written < 10, written
    assert billing_run.get_run(reg.run.id).status == "committing"
    with pytest.raises(billing_run.RunBusy):
        billing_run.commit(biller, reg.run.id)  # the claim is fresh: not taken over yet
    run = billing_run.commit(biller, reg.run.id, takeover_after=dt.timedelta(0))
    assert (run.status, run.bill_count, run.total_cents) == ("committed", 10, reg.total_cents)
    for a in accts:
        assert len(bills_of(a.id)) == 1
        assert (
            db.LedgerEntry.select()
            .where(
                db.LedgerEntry.account == a.id,
                db.LedgerEntry.kind == "bill",
                db.LedgerEntry.effective == data.BILL_DATE,
            )
            .count()
            == 1
        )
        assert db.BillLine.select().join(db.Bill).where(db.Bill.account == a.id).count() == 3


def test_cancel_and_rebill_reverse_the_charge_and_are_audited(cycle_db, biller, supervisor, msr):
    a = data.account(kwh=800)
    reg = approved_run(biller, supervisor)
    billing_run.commit(biller, reg.run.id)
    bill_id = billing_run.bills_of_run(reg.run.id)[0]
    balance = accounts.balance(a.id)
    with pytest.raises(PermissionDenied):
        billing_run.rebill(msr, bill_id, "mis-read")
    with pytest.raises(ValidationError):
        billing_run.rebill(biller, bill_id, "  ")
    new = billing_run.rebill(biller, bill_id, "meter re-read: 780 kWh", kwh=780)
    # 27.00 + 780 x 0.095 = 74.10 + PCA 3.12
    assert (new.kind, new.total_cents, new.kwh) == ("rebill", 2700 + 7410 + 312, 780)
    assert accounts.balance(a.id) == balance - 10620 + new.total_cents
    old = billing_run.get_bill(bill_id)
    assert old.status == "cancelled"
    reversal = db.LedgerEntry.get(db.LedgerEntry.reverses == old.ledger_entry_id)
    assert (reversal.kind, reversal.amount_cents) == ("reversal", -10620)
    with pytest.raises(billing_run.RunStateError):
        billing_run.cancel_bill(biller, bill_id, "again")
    billing_run.cancel_bill(biller, new.id, "member moved out before the period")
    assert accounts.balance(a.id) == balance - 10620
    actions = [r.action for r in db.AuditLog.select().where(db.AuditLog.account == a.id).order_by(db.AuditLog.id)]
    assert actions == ["bill.cancel", "bill.rebill", "bill.cancel"]


def test_due_dates_skip_weekends_and_holidays():
    assert due_dates.due_date(D(2025, 5, 3)) == D(2025, 5, 23)  # a Friday
    assert due_dates.due_date(D(2025, 5, 6)) == D(2025, 5, 27)  # 05/26 is Memorial Day
    assert due_dates.due_date(D(2025, 5, 4)) == D(2025, 5, 27)  # Saturday, Sunday, Memorial Day
    assert due_dates.due_date(D(2025, 12, 5)) == D(2025, 12, 26)  # Christmas Day


# ---- readings -------------------------------------------------------------------------------------


def test_key_reading_and_its_exceptions(cycle_db, biller, msr):
    a = data.account(kwh=None)
    meter = a.meter.meter_no
    last = readings.last_reading(a.id, a.meter_id).reading
    with pytest.raises(ValidationError, match="digits on the register"):
        readings.key_reading(biller, meter, "12a45", read_date=data.THIS_READ)
    with pytest.raises(PermissionDenied):
        readings.key_reading(msr, meter, str(last + 800), read_date=data.THIS_READ)
    with pytest.raises(NotFound):
        readings.key_reading(biller, "NOPE", "1", read_date=data.THIS_READ)
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(biller, meter, str(last - 5), read_date=data.THIS_READ)
    assert exc.value.codes == ["lower"] and "rollover gives" in exc.value.message
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(biller, meter, str(last), read_date=data.THIS_READ)
    assert exc.value.codes == ["zero"]
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(biller, meter, str(last + 2500), read_date=data.THIS_READ)
    assert exc.value.codes == ["high"] and "12-month average 900" in exc.value.message
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(biller, meter, str(last + 100), read_date=data.THIS_READ)
    assert exc.value.codes == ["low"]
    other = data.account(kwh=None)
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(
            biller, meter, str(last + 800), read_date=data.THIS_READ, account_number=other.number, ack=["wrong_meter"]
        )
    assert exc.value.codes == ["wrong_meter"]  # never acknowledged
    assert db.Reading.select().where(db.Reading.read_date == data.THIS_READ).count() == 0
    r = readings.key_reading(biller, meter, str(last + 2500), read_date=data.THIS_READ, ack=["high"], demand_kw="12.5")
    assert (r.kwh, r.acknowledged) == (2500, ("high",))
    assert db.Reading.get_by_id(r.id).demand_kw == Decimal("12.5")
    assert db.AuditLog.get(db.AuditLog.action == "reading.key").after.endswith("ack high")


def test_a_rollover_is_acknowledged_and_bills_the_dials_going_round(cycle_db, biller):
    a = factories.account(bill_cycle=1)
    db.Reading.create(account=a, meter=a.meter, read_date=D(2025, 4, 1), reading=99987, kwh=150)
    r = readings.key_reading(biller, a.meter.meter_no, "00112", read_date=D(2025, 5, 1), ack=["rollover"])
    assert r.kwh == 125


def test_ami_import_saves_good_reads_and_queues_the_rest(cycle_db, biller):
    good = data.account(kwh=None)
    lower = data.account(kwh=None)
    last = readings.last_reading(good.id, good.meter_id).reading
    low_last = readings.last_reading(lower.id, lower.meter_id).reading
    text = (
        "meter,read_at,reading,demand_kw\n"
        f"{good.meter.meter_no},2025-05-01T06:00,{last + 850},3.2\n"
        f"{lower.meter.meter_no},2025-05-01,{low_last - 10},\n"
        f"NOPE1,2025-05-01,123,\n"
        f"{good.meter.meter_no},2025-05-02,12x,\n"
    )
    r = readings.import_ami_csv(biller, text, "ami-0501.csv")
    assert (r.rows, r.saved, r.duplicates, r.exceptions) == (4, 1, 0, 3)
    queue = readings.open_exceptions()
    assert [q.codes for q in queue] == [("lower",), ("meter",), ("reading",)]
    again = readings.import_ami_csv(biller, text, "ami-0501.csv")  # nothing stored or queued twice
    assert (again.saved, again.duplicates, again.exceptions) == (0, 4, 0)
    saved = readings.accept_exception(biller, queue[0].id, ["rollover", "high"])
    assert saved.kwh == 100000 - 10
    with pytest.raises(ValidationError):
        readings.import_ami_csv(biller, "account,amount\n1,2\n", "wrong.csv")


def test_budget_billing_charges_the_levelized_amount_and_trues_up_in_the_settlement_month(cycle_db, biller, supervisor):
    a = data.account(kwh=800, budget_billing=True)
    reg = approved_run(biller, supervisor)
    (plan,) = reg.bills
    # actual: 27.00 + 76.00 + 3.20 = 106.20; budget: the 12-month average 900 kWh at today's rates,
    # 27.00 + 85.50 + 3.60 = 116.10, to the dollar: 116.00
    assert (plan.total_cents, plan.charged_cents, plan.budget, plan.exceptions) == (
        10620,
        11600,
        "levelized",
        ("budget",),
    )
    assert reg.total_cents == 11600
    billing_run.commit(biller, reg.run.id)
    (bill,) = bills_of(a.id)
    entry = db.LedgerEntry.get_by_id(bill.ledger_entry_id)
    assert (bill.total_cents, bill.charged_cents, entry.amount_cents) == (10620, 11600, 11600)
    assert entry.description.startswith("Budget billing (actual 106.20, 800 kWh)")
    s = statements.build(bill.id)
    assert (s.charges_cents, s.current_cents, s.amount_due_cents) == (10620, 11600, 11600)
    assert any(m.startswith("Budget billing: you pay $116.00") for m in s.messages)
    assert statements.render([s]).startswith(b"%PDF")


def test_the_true_up_settles_what_budget_billing_deferred(cycle_db, biller, supervisor):
    from kec_tui import config

    a = data.account(kwh=800, budget_billing=True)
    # two earlier budget months: charged 116.00 against 120.00 and 110.00 of charges (+4.00, -6.00)
    for total in (12000, 11000):
        db.Bill.create(
            account=a,
            bill_date=D(2025, 3, 3),
            due_date=D(2025, 3, 24),
            period_start=D(2025, 2, 1),
            period_end=D(2025, 3, 1),
            schedule="RES",
            kwh=900,
            total_cents=total,
            charged_cents=11600,
            budget="levelized",
        )
    billing_run.configure(config.Settings(budget_settlement_month=5))
    try:
        reg = approved_run(biller, supervisor)
    finally:
        billing_run.configure(config.Settings())
    (plan,) = reg.bills
    assert (plan.total_cents, plan.charged_cents, plan.budget) == (10620, 10620 + 400 - 600, "trueup")


def test_a_refused_reading_becomes_a_reread_order(cycle_db, biller):
    a = data.account(kwh=None)
    last = readings.last_reading(a.id, a.meter_id).reading
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.key_reading(biller, a.meter.meter_no, str(last - 40), read_date=data.THIS_READ)
    queued = readings.queue_refused(biller, a.meter.meter_no, str(last - 40), exc.value, read_date=data.THIS_READ)
    order_no = readings.reread_order(biller, queued)
    o = db.ServiceOrder.get(db.ServiceOrder.order_no == order_no)
    assert (o.kind, o.status, o.account_id) == ("reread", "open", a.id) and "lower" in o.notes
    assert db.ReadingException.get_by_id(queued).status == "reread"
    with pytest.raises(NotFound):
        readings.reread_order(biller, queued)  # once


def test_a_final_read_not_yet_billed_is_a_final_bill_and_a_billed_one_is_left_alone(cycle_db, biller):
    moving = data.account(kwh=600, status="final", closed=data.THIS_READ)
    gone = data.account(kwh=None, status="final", closed=D(2025, 4, 1))
    reg = billing_run.preview(biller, 1, data.PERIOD)
    assert [(b.account_id, b.kind, b.exceptions) for b in reg.bills] == [(moving.id, "final", ("final",))]
    assert gone.id not in {b.account_id for b in reg.bills} and reg.not_billed == []
