"""Capital credits: allocation to the cent (largest remainder; a property over random revenues),
revenue by member across accounts, runs previewed, approved and committed exactly once, general
retirement (credits to active members, checks over the minimum, the rest held), early and estate
retirement at hand-worked present values, unclaimed checks, and the bad input the issue names.
SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from kec_tui import db
from kec_tui.services import capital_credits as cc, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from kec_tui.services.run_claim import AlreadyCommitted, RunStateError
from tests import factories
from tests.services.test_concurrency import at_once

D = dt.date
TODAY = D(2026, 6, 1)


@pytest.fixture
def clerk(database_any):
    return operators.create("billing1", "Bea Biller", "billing")


@pytest.fixture
def boss(database_any):
    return operators.create("boss1", "Sam Boss", "supervisor")


def bill(account, cents, day=D(2025, 3, 10)):
    return db.LedgerEntry.create(account=account, effective=day, kind="bill", amount_cents=cents,
                                 description="Electric service", due_date=day + dt.timedelta(days=20))


def member_with(cents_by_account, *, status="active", last="Lovelace"):
    """A member with one account per figure, each billed that much in 2025."""
    first = factories.account(last=last, status=status)
    for cents in cents_by_account[:1]:
        bill(first, cents)
    for cents in cents_by_account[1:]:
        other = factories.account(last=last, status=status)
        other.member = first.member
        other.save()
        bill(other, cents)
    return first.member


def allocate_2025(clerk, boss, margin):
    alloc = cc.preview_allocation(clerk, 2025, margin, today=TODAY)
    cc.approve(boss, alloc.run.id)
    return alloc, cc.commit_allocation(clerk, alloc.run.id)


# ---- allocation ------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(margin=st.integers(1, 10**10), revenue=st.dictionaries(st.integers(1, 10**6), st.integers(0, 10**8),
                                                              min_size=1, max_size=60))
def test_an_allocation_adds_up_to_the_margin_to_the_cent(margin, revenue):
    if not any(revenue.values()):
        return
    shares = cc.allocate(margin, revenue)
    assert sum(shares.values()) == margin
    total = sum(revenue.values())
    for member, cents in shares.items():       # each share within a cent of its exact value
        assert abs(cents * total - margin * revenue[member]) < total


def test_largest_remainders_get_the_odd_cents():
    # 100 cents over 1:1:1 -> 33.33 each: one cent left, to the lowest member of the tie
    assert cc.allocate(100, {7: 1, 3: 1, 5: 1}) == {3: 34, 5: 33, 7: 33}
    # 10 cents over 2:3:5 in thirds... 10 x 0.2 = 2, 10 x 0.3 = 3, 10 x 0.5 = 5 exactly
    assert cc.allocate(10, {1: 2, 2: 3, 3: 5}) == {1: 2, 2: 3, 3: 5}


def test_revenue_is_by_member_across_accounts_without_cancelled_bills(database, clerk):
    m = member_with([10_000, 5_000])
    other = member_with([2_500], last="Hopper")
    cancelled = bill(db.Account.get(db.Account.member == other), 99_999)
    db.LedgerEntry.create(account=cancelled.account, effective=D(2025, 4, 1), kind="reversal",
                          amount_cents=-99_999, description="cancelled", reverses=cancelled)
    bill(db.Account.get(db.Account.member == other), 7_000, day=D(2024, 12, 31))    # another year
    gone = member_with([], last="Lamarr")                                           # only a cancelled bill
    only = bill(db.Account.get(db.Account.member == gone), 4_000)
    db.LedgerEntry.create(account=only.account, effective=D(2025, 5, 1), kind="reversal", amount_cents=-4_000,
                          description="cancelled", reverses=only)
    assert cc.revenue(2025) == {m.id: 15_000, other.id: 2_500}


def test_allocation_preview_approve_commit_once(database, clerk, boss):
    a, b = member_with([20_000]), member_with([10_000], last="Hopper")
    alloc, run = allocate_2025(clerk, boss, 100_001)
    assert alloc.shares == {a.id: 66_667, b.id: 33_334} and alloc.revenue_cents == 30_000
    assert (run.status, run.count, run.total_cents) == ("committed", 2, 100_001)
    assert cc.statement(clerk, a.id).years == [cc.YearLine(2025, 66_667, 0)]
    with pytest.raises(AlreadyCommitted):
        cc.commit_allocation(clerk, alloc.run.id)
    with pytest.raises(AlreadyCommitted):
        cc.preview_allocation(clerk, 2025, 5, today=TODAY)
    assert db.CapitalCredit.select().count() == 2
    actions = [r.action for r in db.AuditLog.select().order_by(db.AuditLog.id)]
    assert actions[-4:] == ["capcredit.allocation.preview", "capcredit.allocation.approve",
                            "capcredit.allocation.commit.start", "capcredit.allocation.commit"]


def test_two_sessions_commit_one_allocation_at_once_and_it_is_written_once(database, clerk, boss):
    for i in range(5):
        member_with([1_000 * (i + 1)], last=f"Member{i}")
    alloc = cc.preview_allocation(clerk, 2025, 1_000_000, today=TODAY)
    cc.approve(boss, alloc.run.id)
    results = at_once(lambda: cc.commit_allocation(clerk, alloc.run.id),
                      lambda: cc.commit_allocation(clerk, alloc.run.id))
    assert sum(isinstance(r, cc.RunInfo) for r in results) == 1
    assert sum(isinstance(r, RunStateError) for r in results) == 1
    CC = db.CapitalCredit
    assert CC.select().count() == 5 and sum(c.allocated_cents for c in CC.select()) == 1_000_000


def test_a_run_needs_a_supervisor_and_an_approval(database, clerk, boss):
    member_with([1_000])
    alloc = cc.preview_allocation(clerk, 2025, 500, today=TODAY)
    with pytest.raises(PermissionDenied):
        cc.approve(clerk, alloc.run.id)
    with pytest.raises(RunStateError, match="not approved"):
        cc.commit_allocation(clerk, alloc.run.id)
    assert db.CapitalCredit.select().count() == 0


def test_revenue_changed_after_approval_is_refused(database, clerk, boss):
    m = member_with([1_000])
    alloc = cc.preview_allocation(clerk, 2025, 500, today=TODAY)
    cc.approve(boss, alloc.run.id)
    member_with([3_000], last="Late")                  # a bill keyed into 2025 after the approval
    with pytest.raises(cc.Changed):
        cc.commit_allocation(clerk, alloc.run.id)
    assert db.CapitalCredit.select().count() == 0
    assert cc.get_run(alloc.run.id).status == "previewed"
    assert m.id


def test_bad_allocations(database, clerk):
    member_with([1_000])
    with pytest.raises(ValidationError, match="margin"):
        cc.preview_allocation(clerk, 2025, 0, today=TODAY)
    with pytest.raises(ValidationError, match="No member paid"):
        cc.preview_allocation(clerk, 2019, 500, today=TODAY)
    with pytest.raises(ValidationError, match="has ended"):
        cc.preview_allocation(clerk, 2026, 500, today=TODAY)
    assert db.CapitalCreditRun.select().count() == 0


# ---- retirement ----------------------------------------------------------------------------------------------

def credits(member, year, cents):
    db.CapitalCredit.create(member=member, year=year, allocated_cents=cents)


def test_a_general_retirement_credits_active_members_and_checks_inactive_ones_over_the_minimum(database, clerk,
                                                                                                boss):
    active = member_with([1], last="Active")
    inactive = member_with([1], status="closed", last="Gone")
    small = member_with([1], status="closed", last="Small")
    for m, cents in ((active, 4_000), (inactive, 6_000), (small, 1_500)):
        credits(m, 1998, cents)
        credits(m, 1999, cents)
    ret = cc.preview_retirement(clerk, [1998], "50", on=TODAY)
    # 50% of 1998: active 20.00 (bill credit), inactive 30.00 (check), small 7.50 < 10.00 minimum: held
    assert [(p.member_no, p.method, p.cents) for p in ret.payments] == [
        (active.member_no, "credit", 2_000), (inactive.member_no, "check", 3_000)]
    assert [(p.member_no, p.cents) for p in ret.held] == [(small.member_no, 750)]
    cc.approve(boss, ret.run.id)
    run = cc.commit_retirement(clerk, ret.run.id)
    assert (run.count, run.total_cents) == (2, 5_000)
    acct = db.Account.get(db.Account.member == active)
    credit = db.LedgerEntry.get(db.LedgerEntry.account == acct, db.LedgerEntry.kind == "capcredit")
    assert credit.amount_cents == -2_000
    st_active = cc.statement(clerk, active.id)
    assert st_active.years[0] == cc.YearLine(1998, 4_000, 2_000) and st_active.balance_cents == 6_000
    check = db.CapitalRetirement.get(db.CapitalRetirement.member == inactive)
    assert (check.method, check.status, check.check_no) == ("check", "issued", 100_001)
    assert cc.statement(clerk, small.id).retired_cents == 0
    with pytest.raises(AlreadyCommitted):
        cc.commit_retirement(clerk, ret.run.id)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "capcredit").count() == 1


def test_oldest_years_come_first_and_nothing_is_retired_twice(database, clerk, boss):
    m = member_with([1])
    for year in (2001, 1999, 2000):
        credits(m, year, 1_000)
    assert cc.oldest_years(2) == [1999, 2000]
    ret = cc.preview_retirement(clerk, cc.oldest_years(2), "100", on=TODAY)
    cc.approve(boss, ret.run.id)
    cc.commit_retirement(clerk, ret.run.id)
    assert cc.oldest_years(5) == [2001]
    with pytest.raises(ValidationError, match="Nothing to retire"):
        cc.preview_retirement(clerk, [1999, 2000], "100", on=TODAY + dt.timedelta(days=1))


def test_present_values_against_hand_worked_figures():
    # $1,000.00 due in 12 years at 6.31 %: 100,000 / 1.0631^12 = 100,000 / 2.08396 = 47,985.56 -> 47,986
    assert cc.present_value(100_000, 12, Decimal("6.31")) == 47_986
    # $250.00 in 3 years: 25,000 / 1.201505 = 20,807.39 -> 20,807
    assert cc.present_value(25_000, 3, Decimal("6.31")) == 20_807
    assert cc.present_value(25_000, 0, Decimal("6.31")) == 25_000     # due now: its face


def test_early_retirement_pays_the_present_value_and_needs_a_supervisor(database, clerk, boss):
    m = member_with([1])
    credits(m, 2010, 100_000)       # rotation 28: due 2038, 12 years after 2026
    credits(m, 1990, 25_000)        # due 2018: already due, paid at face
    with pytest.raises(PermissionDenied):
        cc.retire_early(clerk, None, m.id, on=TODAY)
    paid = cc.retire_early(clerk, boss, m.id, on=TODAY)
    assert paid == 47_986 + 25_000
    assert cc.statement(clerk, m.id).balance_cents == 0
    entry = db.LedgerEntry.get(db.LedgerEntry.kind == "capcredit")
    assert entry.amount_cents == -(47_986 + 25_000)


def test_a_retirement_above_the_allocated_balance_is_refused(database, clerk, boss):
    m = member_with([1])
    credits(m, 2010, 10_000)
    with pytest.raises(ValidationError, match="above the allocated balance"):
        cc.retire_early(clerk, boss, m.id, amount_cents=10_001, on=TODAY)
    assert cc.statement(clerk, m.id).retired_cents == 0
    assert db.CapitalRetirement.select().count() == 0


def test_estate_retirement_pays_the_heirs_by_check_with_the_paperwork(database, clerk, boss):
    m = member_with([1], status="closed")
    credits(m, 2023, 25_000)        # due 2051: 25 years left
    with pytest.raises(ValidationError, match="heirs"):
        cc.retire_estate(clerk, boss, m.id, heirs=" ", paperwork="death certificate", on=TODAY)
    paid = cc.retire_estate(clerk, boss, m.id, heirs="Estate of Ada Lovelace, Byron L. executor",
                            paperwork="death certificate, letters testamentary", on=TODAY)
    assert paid == cc.present_value(25_000, 25, Decimal("6.31")) < 25_000
    r = db.CapitalRetirement.get(db.CapitalRetirement.member == m)
    assert (r.kind, r.method, r.status, r.payee) == ("estate", "check", "issued",
                                                     "Estate of Ada Lovelace, Byron L. executor")
    assert "letters testamentary" in r.paperwork


def test_checks_not_cashed_become_unclaimed_property(database, clerk, boss, tmp_path):
    gone, cashed = member_with([1], status="closed", last="Gone"), member_with([1], status="closed", last="Cashed")
    credits(gone, 1995, 5_000)
    credits(cashed, 1995, 6_000)
    ret = cc.preview_retirement(clerk, [1995], "100", on=D(2022, 5, 1))
    cc.approve(boss, ret.run.id)
    cc.commit_retirement(clerk, ret.run.id)
    cashed_check = db.CapitalRetirement.get(db.CapitalRetirement.member == cashed).check_no
    cc.record_cashed(clerk, cashed_check, D(2022, 6, 1))
    with pytest.raises(ValidationError, match="already"):
        cc.record_cashed(clerk, cashed_check, D(2022, 6, 2))
    assert cc.unclaimed(D(2025, 4, 29)) == []              # 1,094 days: not yet
    items, (csv_path, pdf_path) = cc.unclaimed_report(clerk, tmp_path, D(2025, 5, 1))
    assert [(u.member_no, u.cents) for u in items] == [(gone.member_no, 5_000)]
    assert f"{gone.member_no}" in csv_path.read_text() and pdf_path.read_bytes().startswith(b"%PDF")
    assert db.CapitalRetirement.get(db.CapitalRetirement.member == gone).status == "unclaimed"
