"""The late-fee run: after due date + grace, 1.5% of the past-due amount ($2 at least), once per
bill; preview, then commit exactly once (two sessions at once, a commit stopped midway). A
property over dates: never twice per bill, never before due + grace. SQLite and PostgreSQL."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import fees, late_fees, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.services.test_aging import entry
from tests.services.test_collections import bill
from tests.services.test_concurrency import at_once

D = dt.date
RUN = D(2026, 1, 15)


@pytest.fixture
def collector(database_any):
    return operators.create("coll1", "Casey Collector", "collections")


@pytest.fixture(autouse=True)
def default_schedule():
    saved = fees.schedule()
    fees._current = fees.FeeSchedule()
    yield
    fees._current = saved


def fees_of(acct) -> list[tuple[int, str]]:
    L = db.LedgerEntry
    return [(a, r) for a, r in L.select(L.amount_cents, L.reference).where(L.account == acct.id, L.kind == "fee")
            .order_by(L.id).tuples()]


def test_a_run_charges_each_unpaid_bill_once_after_its_due_date(database, collector):
    big = factories.account(first="Big")
    bill(big, 30_000, D(2026, 1, 5))                               # 1.5% of 300.00 = 4.50
    small = factories.account(first="Small")
    bill(small, 10_000, D(2026, 1, 10), paid_on=D(2026, 1, 8), paid=9_000)     # 100.00 unpaid: the $2 minimum
    paid = factories.account(first="Paid")
    bill(paid, 10_000, D(2026, 1, 10), paid_on=D(2026, 1, 12))    # paid late but paid: no fee
    today = factories.account(first="Today")
    bill(today, 10_000, RUN)                                        # due today: not late yet
    broke = factories.account(first="Broke", bankruptcy=True)
    bill(broke, 10_000, D(2026, 1, 5))
    reg = late_fees.preview(collector, RUN, today=RUN)
    assert [(f.account_id, f.basis_cents, f.fee_cents) for f in reg.fees] == [(big.id, 30_000, 450),
                                                                               (small.id, 1_000, 200)]
    assert (reg.run.status, reg.run.preview_count, reg.run.preview_total_cents) == ("previewed", 2, 650)
    assert fees_of(big) == []                                       # a preview charges nothing
    run = late_fees.commit(collector, reg.run.id)
    assert (run.status, run.fee_count, run.total_cents) == ("committed", 2, 650)
    big_bill = db.LedgerEntry.get(db.LedgerEntry.account == big.id, db.LedgerEntry.kind == "bill")
    assert fees_of(big) == [(450, f"LATE {big_bill.id}")] and fees_of(small)[0][0] == 200
    assert fees_of(paid) == fees_of(today) == fees_of(broke) == []
    assert db.AuditLog.select().where(db.AuditLog.account == big.id, db.AuditLog.action == "ledger.fee").count() == 1
    with pytest.raises(late_fees.AlreadyCommitted):
        late_fees.commit(collector, reg.run.id)
    with pytest.raises(late_fees.AlreadyCommitted):
        late_fees.preview(collector, RUN, today=RUN)
    # The next run, a month on: the same bills are not charged again; the bill due on the last run's
    # day is now; so is the new past-due bill, on the past due before it too (no fee on a fee).
    bill(big, 20_000, D(2026, 2, 5))
    reg2 = late_fees.preview(collector, D(2026, 2, 16), today=D(2026, 2, 16))
    assert [(f.account_id, f.basis_cents, f.fee_cents) for f in reg2.fees] == [(today.id, 10_000, 200),
                                                                                (big.id, 50_000, 750)]
    assert reg2.since == RUN
    late_fees.commit(collector, reg2.run.id)
    assert [a for a, _ in fees_of(big)] == [450, 750]


def test_grace_days_a_cancelled_bill_and_a_fee_from_before_the_runs(database, collector):
    fees._current = dataclasses.replace(fees.FeeSchedule(), late_fee_grace_days=5)
    a = factories.account(first="Grace")
    bill(a, 10_000, D(2026, 1, 10))                                 # 10 + 5 = the 15th: not yet
    b = factories.account(first="Over")
    bill(b, 10_000, D(2026, 1, 9))                                  # 9 + 5 < 15: charged
    c = factories.account(first="Cancelled")
    wrong = entry(c, "bill", 10_000, D(2025, 12, 20), due=D(2026, 1, 8))
    entry(c, "reversal", -10_000, D(2026, 1, 9), reverses=wrong)
    d = factories.account(first="Legacy")
    bill(d, 10_000, D(2026, 1, 2))
    db.LedgerEntry.create(account=d.id, effective=D(2026, 1, 3), kind="fee", amount_cents=200, reference="LATE")
    reg = late_fees.preview(collector, RUN, today=RUN)
    assert [f.account_id for f in reg.fees] == [b.id]


def test_bad_days_and_roles_are_refused(database, collector, msr):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 5))
    with pytest.raises(ValidationError, match="today or an earlier day"):
        late_fees.preview(collector, RUN + dt.timedelta(days=1), today=RUN)
    with pytest.raises(PermissionDenied):
        late_fees.preview(msr, RUN, today=RUN)
    late_fees.commit(collector, late_fees.preview(collector, RUN, today=RUN).run.id)
    with pytest.raises(ValidationError, match="Late fees were run on 01/15/2026"):
        late_fees.preview(collector, RUN - dt.timedelta(days=3), today=RUN)
    assert db.LateFee.select().count() == 1


def test_a_payment_after_the_preview_is_not_charged_unseen(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 5))
    reg = late_fees.preview(collector, RUN, today=RUN)
    entry(a, "payment", -10_000, RUN)
    with pytest.raises(late_fees.Changed, match="preview again"):
        late_fees.commit(collector, reg.run.id)
    assert late_fees.get_run(reg.run.id).status == "previewed" and fees_of(a) == []
    reg = late_fees.preview(collector, RUN, today=RUN)
    assert reg.fees == [] and late_fees.commit(collector, reg.run.id).fee_count == 0


def test_two_sessions_commit_at_once_and_each_bill_is_charged_once(database, collector):
    accts = [factories.account(first=f"Late{i}") for i in range(9)]
    for i, a in enumerate(accts):
        bill(a, 5_000 + 1_000 * i, D(2026, 1, 5))
    reg = late_fees.preview(collector, RUN, today=RUN)
    other = operators.create("coll2", "Other Collector", "collections")
    r = at_once(lambda: late_fees.commit(collector, reg.run.id, chunk=2),
                lambda: late_fees.commit(other, reg.run.id, chunk=2))
    done = [x for x in r if isinstance(x, late_fees.RunInfo)]
    refused = [x for x in r if isinstance(x, late_fees.RunStateError)]
    assert len(done) == 1 and len(refused) == 1, r
    assert isinstance(refused[0], (late_fees.RunBusy, late_fees.AlreadyCommitted))
    for a in accts:
        assert len(fees_of(a)) == 1
    assert db.LateFee.select().count() == 9 and done[0].fee_count == 9


def test_a_commit_stopped_midway_is_taken_over_and_finished_without_a_second_fee(database, collector, monkeypatch):
    accts = [factories.account(first=f"Late{i}") for i in range(5)]
    for a in accts:
        bill(a, 10_000, D(2026, 1, 5))
    reg = late_fees.preview(collector, RUN, today=RUN)

    def crash(run_id, written):
        raise RuntimeError("the session died")
    monkeypatch.setattr(late_fees, "_after_chunk", crash)
    with pytest.raises(RuntimeError):
        late_fees.commit(collector, reg.run.id, chunk=2)
    monkeypatch.undo()
    assert db.LateFee.select().count() == 2 and late_fees.get_run(reg.run.id).status == "committing"
    with pytest.raises(late_fees.RunBusy):
        late_fees.commit(collector, reg.run.id)                     # the claim is fresh: not taken over yet
    run = late_fees.commit(collector, reg.run.id, takeover_after=dt.timedelta(0))
    assert (run.status, run.fee_count, run.total_cents) == ("committed", 5, 1_000)
    assert all(len(fees_of(a)) == 1 for a in accts)


# ---- the property over dates ---------------------------------------------------------------------------------

BILLS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 120), st.integers(500, 40_000),
                           st.sampled_from([None, 0, 5, 30]), st.integers(0, 100)), min_size=1, max_size=10)
RUNS = st.lists(st.integers(0, 150), min_size=1, max_size=6, unique=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bills=BILLS, run_days=RUNS, grace=st.integers(0, 10))
def test_runs_on_any_days_never_charge_a_bill_twice_or_before_due_plus_grace(database, collector, bills, run_days,
                                                                              grace):
    for model in (db.LateFee, db.LateFeeRun, db.AuditLog, db.LedgerEntry):
        model.delete().execute()
    accts = list(db.Account.select().order_by(db.Account.id))
    if not accts:
        accts = [factories.account(first=f"P{i}") for i in range(3)]
    fees._current = dataclasses.replace(fees.FeeSchedule(), late_fee_grace_days=grace)
    start = D(2025, 10, 1)
    due_of = {}
    for who, day, cents, paid_after, share in bills:
        due = start + dt.timedelta(days=day)
        bill_id = entry(accts[who], "bill", cents, due - dt.timedelta(days=20), due=due)
        due_of[bill_id] = due
        if paid_after is not None:
            entry(accts[who], "payment", -(cents * share // 100), due + dt.timedelta(days=paid_after))
    last = start + dt.timedelta(days=max(run_days) + 1)
    for day in sorted(run_days):
        run_date = start + dt.timedelta(days=day)
        reg = late_fees.preview(collector, run_date, today=last)
        for f in reg.fees:
            assert run_date > f.bill_due + dt.timedelta(days=grace)
            assert f.fee_cents >= 200 and f.basis_cents > 0
        late_fees.commit(collector, reg.run.id)
    LF = db.LateFee
    charged = list(LF.select(LF.bill_entry, LF.amount_cents, db.LateFeeRun.run_date).join(db.LateFeeRun).tuples())
    assert len({b for b, _, _ in charged}) == len(charged)                  # never twice per bill
    for bill_id, amount, run_date in charged:
        run_date = run_date if isinstance(run_date, dt.date) else D.fromisoformat(str(run_date))
        assert run_date > due_of[bill_id] + dt.timedelta(days=grace)        # never before due + grace
        assert amount >= 200
    fee_entries = db.LedgerEntry.select().where(db.LedgerEntry.kind == "fee").count()
    assert fee_entries == len(charged)                                      # one ledger fee per LateFee
