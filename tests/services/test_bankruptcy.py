"""Bankruptcy (11 U.S.C. 366): the case recorded stops collection, sets the pre-petition balance apart
from post-petition charges, asks the adequate-assurance deposit due 20 days after the filing; discharge
writes the pre-petition balance off, dismissal returns it to collection. SQLite and PostgreSQL."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import aging, bankruptcy, collection_holds, credit_rules, late_fees, memberships, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.support.credit import balance, bill, ledger, pay

D = dt.date
FILED = D(2025, 3, 3)
TODAY = D(2025, 3, 5)


@pytest.fixture(autouse=True)
def default_rules():
    before = credit_rules.use(credit_rules.Rules())
    yield
    credit_rules.use(before)


@pytest.fixture
def collector(database_any):
    return operators.create("coll1", "Casey Collector", "collections")


def debtor():
    """$120 and $130 billed 01/10 and 02/10, unpaid: $250 owed on the filing day."""
    a = factories.account()
    bill(a, 12_000, D(2025, 1, 10))
    bill(a, 13_000, D(2025, 2, 10))
    return a


def test_the_case_sets_the_pre_petition_balance_apart_and_asks_the_assurance(database, collector):
    a = debtor()
    case = bankruptcy.record_case(collector, a.id, 7, "25-20417", FILED, "D. Idaho", today=TODAY)
    assert (case.chapter, case.case_no, case.pre_petition_cents, case.status) == (7, "25-20417", 25_000, "open")
    acct = db.Account.get_by_id(a.id)
    assert acct.bankruptcy and collection_holds.held(a.id, TODAY) == {"bankruptcy"}
    assert ledger(a, "transfer") == [("transfer", -25_000, "BK 25-20417")]
    # The adequate assurance: the deposit rule (2x the average bill of $125) due 20 days after the filing.
    assert case.assurance.requested_cents == 25_000 and case.assurance.due == D(2025, 3, 23)
    assert case.assurance.state == "due"
    dep = db.LedgerEntry.get(db.LedgerEntry.kind == "deposit")
    assert (dep.amount_cents, dep.due_date) == (25_000, D(2025, 3, 23))
    assert db.Deposit.get().reason == "bankruptcy"
    # What the account owes now is post-petition only: the assurance deposit, not yet due.
    bill(a, 14_000, D(2025, 3, 10))
    assert aging.account_aging(a.id, D(2025, 3, 20)).past_due == 0
    assert balance(a) == 25_000 + 14_000
    # No late fee while the case is open, even on the post-petition bill.
    assert [f for f in late_fees.plan(D(2025, 4, 5), since=D(2025, 3, 1)) if f.account_id == a.id] == []
    assert {"bankruptcy.record", "bankruptcy.set_apart", "deposit.bill"} <= {r.action for r in db.AuditLog.select()}


def test_the_assurance_is_overdue_after_20_days_and_furnished_when_paid(database, collector):
    a = debtor()
    c = bankruptcy.record_case(collector, a.id, 13, "25-20418", FILED, "D. Idaho", today=TODAY)
    row = db.BankruptcyCase.get_by_id(c.id)
    assert bankruptcy.assurance(row, D(2025, 3, 24)).state == "overdue"
    assert "service may be discontinued" in bankruptcy.assurance(row, D(2025, 3, 24)).describe()
    pay(a, 25_000, D(2025, 3, 20))
    assert bankruptcy.assurance(row, D(2025, 3, 24)).state == "furnished"
    assert [x.case_no for x in bankruptcy.cases(as_of=D(2025, 3, 24))] == ["25-20418"]


def test_discharge_writes_the_pre_petition_balance_off(database, collector):
    a = debtor()
    c = bankruptcy.record_case(collector, a.id, 7, "25-20419", FILED, "D. Idaho", assurance_deposit=False,
                               today=TODAY)
    owed = balance(a)
    done = bankruptcy.close_case(collector, c.id, "discharged", on=D(2025, 6, 10), today=D(2025, 6, 12))
    assert (done.status, done.closed_on) == ("discharged", D(2025, 6, 10))
    assert ledger(a, "transfer", "writeoff")[-2:] == [("transfer", 25_000, "BK 25-20419"),
                                                      ("writeoff", -25_000, "BK DISCHARGE")]
    assert balance(a) == owed and not db.Account.get_by_id(a.id).bankruptcy
    hit = memberships.bad_debt_audit(("Ada", "Lovelace"), phone="2085550100").hits[0]
    assert hit.written_off_cents == 25_000
    with pytest.raises(ValidationError, match="is discharged already"):
        bankruptcy.close_case(collector, c.id, "dismissed", today=D(2025, 6, 12))


def test_dismissal_returns_the_pre_petition_balance_to_collection(database, collector):
    a = debtor()
    c = bankruptcy.record_case(collector, a.id, 13, "25-20420", FILED, "D. Idaho", assurance_deposit=False,
                               today=TODAY)
    bankruptcy.close_case(collector, c.id, "dismissed", today=D(2025, 5, 1))
    assert not db.Account.get_by_id(a.id).bankruptcy and balance(a) == 25_000
    aged = aging.account_aging(a.id, D(2025, 5, 1))
    assert aged.past_due == 25_000 and aged.days_31_60 == 25_000       # due as of the filing, 03/03
    assert collection_holds.held(a.id, D(2025, 5, 1)) == set()


def test_bad_input_is_refused_and_nothing_is_written(database, collector):
    a = debtor()
    before = ledger(a)
    for args, needle in [((9, "25-1", FILED, "D. Idaho"), "Chapter: 7, 11, 12, 13"),
                         ((7, "2", FILED, "D. Idaho"), "Case number"),
                         ((7, "25-20421", D(2025, 3, 6), "D. Idaho"), "is after today"),
                         ((7, "25-20421", FILED, "  "), "Court")]:
        with pytest.raises(ValidationError, match=needle):
            bankruptcy.record_case(collector, a.id, *args, today=TODAY)
    msr = operators.create("msr1", "Pat Keyer", "msr")
    with pytest.raises(PermissionDenied):
        bankruptcy.record_case(msr, a.id, 7, "25-20421", FILED, "D. Idaho", today=TODAY)
    assert ledger(a) == before and db.BankruptcyCase.select().count() == 0
    assert not db.Account.get_by_id(a.id).bankruptcy
    bankruptcy.record_case(collector, a.id, 7, "25-20421", FILED, "D. Idaho", today=TODAY)
    after = ledger(a)
    with pytest.raises(ValidationError, match="open bankruptcy case already"):
        bankruptcy.record_case(collector, a.id, 13, "25-20422", FILED, "D. Idaho", today=TODAY)
    assert ledger(a) == after and db.BankruptcyCase.select().count() == 1


CHARGES = st.lists(st.tuples(st.integers(-60, 60), st.integers(100, 50_000), st.booleans()), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges=CHARGES, outcome=st.sampled_from(["discharged", "dismissed"]), close_after=st.integers(1, 90))
def test_any_case_keeps_the_ledger_whole_and_collects_only_post_petition_charges(database, collector, charges,
                                                                                   outcome, close_after):
    """Bills before and after the filing, some paid: while the case is open nothing owed at the filing is past
    due; closed, a discharge leaves the post-petition balance and a dismissal all of it; the aged trial
    balance is the ledger throughout."""
    for model in (db.BankruptcyCase, db.DepositInstallment, db.Deposit, db.Note, db.AuditLog, db.LedgerEntry):
        model.delete().execute()
    db.Account.update(bankruptcy=False, deposit_cents=0).execute()
    a = db.Account.select().first() or factories.account()
    for offset, cents, paid in charges:
        day = FILED + dt.timedelta(days=offset)
        bill(a, cents, day)
        if paid:
            pay(a, cents, day + dt.timedelta(days=5))
    owed_at_filing = sum(c for o, c, p in charges if o <= 0) - sum(c for o, c, p in charges if p and o + 5 <= 0)
    today = FILED + dt.timedelta(days=70)
    case = bankruptcy.record_case(collector, a.id, 7, "25-30001", FILED, "D. Idaho", assurance_deposit=False,
                                  today=today)
    assert case.pre_petition_cents == max(0, owed_at_filing)
    assert aging.trial_balance(None, today).balances
    post = balance(a)                                       # what the account shows: post-petition only
    assert post + case.pre_petition_cents == sum(c for _, c, _ in charges) - sum(c for o, c, p in charges if p)
    assert aging.account_aging(a.id, today).past_due <= max(0, post)
    end = today + dt.timedelta(days=close_after)
    bankruptcy.close_case(collector, case.id, outcome, on=today, today=end)
    assert aging.trial_balance(None, end).balances
    assert balance(a) == (post if outcome == "discharged" else post + case.pre_petition_cents)
    assert not db.Account.get_by_id(a.id).bankruptcy
