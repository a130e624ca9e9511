"""Write-offs and collection agencies: the write-off list (final accounts unpaid 90 days after the final
bill), a supervisor's approval committing it once, the member marked for the bad-debt audit; referral
to the agency as its CSV file, the agency's payments net of commission, recoveries. SQLite and PostgreSQL."""
import csv
import datetime as dt
import io

import pytest

from kec_tui import db
from kec_tui.services import credit_rules, memberships, operators, write_offs
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.services.test_concurrency import at_once
from tests.support.credit import balance, bill, ledger

D = dt.date
FINAL_BILL = D(2025, 1, 10)


@pytest.fixture(autouse=True)
def default_rules():
    before = credit_rules.use(credit_rules.Rules())
    yield
    credit_rules.use(before)


@pytest.fixture
def people(database_any):
    return (operators.create("coll1", "Casey Collector", "collections"),
            operators.create("super", "Sam Boss", "supervisor"))


def final_account(cents=15_000, **kw):
    kw.setdefault("status", "final")
    kw.setdefault("closed", FINAL_BILL)
    a = factories.account(**kw)
    bill(a, cents, FINAL_BILL)
    return a


def test_the_list_is_final_accounts_unpaid_90_days_after_the_final_bill(database, people):
    collector, _ = people
    old = final_account()
    final_account(first="Recent", last="Closer", closed=D(2025, 3, 1))
    db.LedgerEntry.update(effective=D(2025, 3, 1)).where(
        db.LedgerEntry.account == db.Account.select(db.Account.id).where(db.Account.status == "final")
        .order_by(db.Account.id.desc()).limit(1)).execute()
    paid = final_account(first="Paid", last="Up")
    db.LedgerEntry.create(account=paid.id, effective=D(2025, 2, 1), kind="payment", amount_cents=-15_000)
    active = factories.account(first="Still", last="Here")
    bill(active, 9_000, FINAL_BILL)
    factories_bk = final_account(first="In", last="Bankruptcy", bankruptcy=True)
    assert factories_bk.bankruptcy
    assert write_offs.preview(collector, D(2025, 4, 9), today=D(2025, 5, 1)).items == []     # 89 days
    found = write_offs.preview(collector, D(2025, 4, 10), today=D(2025, 5, 1))
    assert [(c.number, c.balance_cents, c.days) for c in found.items] == [(old.number, 15_000, 90)]


def test_the_collections_worklist_asks_for_the_write_off_review_the_day_the_list_takes_the_account(database,
                                                                                                  people):
    from kec_tui.services import collections

    collector, _ = people
    acct = final_account()
    for day, on_list in ((D(2025, 4, 9), False), (D(2025, 4, 10), True)):        # 89 and 90 days after the bill
        listed = [c.account_id for c in write_offs.candidates(day)] == [acct.id]
        action = collections.worklist(collector, None, day).items[0].next_action
        assert listed == on_list
        assert action == (collections.NextAction("Write-off review", day) if on_list else
                          collections.NextAction("Collect the final bill", D(2025, 4, 10)))
    credit_rules.use(credit_rules.Rules(write_off_after_days=120))              # the co-op's own setting: both
    assert write_offs.candidates(D(2025, 4, 10)) == []
    assert collections.worklist(collector, None, D(2025, 4, 10)).items[0].next_action.what == "Collect the final bill"


def test_a_supervisor_approves_the_list_once_and_the_bad_debt_audit_finds_the_member(database, people):
    collector, boss = people
    a = final_account()
    skipped = final_account(first="Grace", last="Hopper", phone="2085550199")
    found = write_offs.preview(collector, D(2025, 4, 15), today=D(2025, 5, 1))
    assert found.total_cents == 30_000
    with pytest.raises(PermissionDenied, match="supervisor's approval"):
        write_offs.approve(collector, found.run_id)
    done = write_offs.approve(collector, found.run_id, supervisor=boss, leave_out=(skipped.id,))
    assert [c.number for c in done.items] == [a.number]
    assert ledger(a, "writeoff") == [("writeoff", -15_000, "WRITEOFF")] and balance(a) == 0
    assert db.Account.get_by_id(a.id).status == "closed"
    assert balance(skipped) == 15_000 and ledger(skipped, "writeoff") == []
    assert db.CreditRun.get_by_id(found.run_id).approved_by_id == boss.id
    with pytest.raises(write_offs.AlreadyCommitted):
        write_offs.approve(collector, found.run_id, supervisor=boss)
    hit = memberships.bad_debt_audit(("Ada", "Lovelace"), phone="2085550100").hits[0]
    assert (hit.account_number, hit.written_off_cents, hit.owed_cents) == (a.number, 15_000, 15_000)
    assert "writeoff.approve" in {r.action for r in db.AuditLog.select()}


def test_a_payment_after_the_preview_refuses_the_approval(database, people):
    collector, boss = people
    a = final_account()
    found = write_offs.preview(collector, D(2025, 4, 15), today=D(2025, 5, 1))
    db.LedgerEntry.create(account=a.id, effective=D(2025, 4, 12), kind="payment", amount_cents=-5_000)
    with pytest.raises(write_offs.Changed):
        write_offs.approve(collector, found.run_id, supervisor=boss)
    assert ledger(a, "writeoff") == [] and db.WriteOff.select().count() == 0


def test_two_supervisors_approving_at_once_write_off_once(database, people):
    collector, boss = people
    other = operators.create("super2", "Sue Boss", "supervisor")
    a = final_account()
    found = write_offs.preview(collector, D(2025, 4, 15), today=D(2025, 5, 1))
    r = at_once(lambda: write_offs.approve(boss, found.run_id), lambda: write_offs.approve(other, found.run_id))
    assert sum(isinstance(x, write_offs.WriteOffList) for x in r) == 1, r
    assert all(isinstance(x, (write_offs.WriteOffList, write_offs.RunStateError)) for x in r), r
    assert ledger(a, "writeoff") == [("writeoff", -15_000, "WRITEOFF")]


def test_a_write_off_of_an_active_account_is_refused_and_nothing_is_written(database, people):
    collector, boss = people
    a = factories.account()
    bill(a, 9_000, FINAL_BILL)
    before = ledger(a)
    with pytest.raises(ValidationError, match="is active: only a final account"):
        write_offs.write_off_account(collector, a.id, supervisor=boss, today=D(2025, 5, 1))
    assert ledger(a) == before and db.WriteOff.select().count() == 0 and db.Account.get_by_id(a.id).status == "active"
    f = final_account(first="Fin")
    done = write_offs.write_off_account(collector, f.id, supervisor=boss, note="Moved out of state",
                                        today=D(2025, 5, 1))
    assert (done.amount_cents, done.approved_by) == (15_000, "super")
    with pytest.raises(ValidationError, match="already written off"):
        write_offs.write_off_account(collector, f.id, supervisor=boss, today=D(2025, 5, 1))


def written_off_account(people):
    collector, boss = people
    a = final_account(cents=20_000)
    write_offs.write_off_account(collector, a.id, supervisor=boss, today=D(2025, 5, 1))
    return a


def test_referral_writes_the_agency_file_with_the_last_4_only(database, people, tmp_path):
    collector, _ = people
    a = written_off_account(people)
    owing = final_account(first="Owes", last="Still", phone="2085550177")
    assert [c.number for c in write_offs.referral_candidates(D(2025, 5, 2))] == [a.number, owing.number]
    f = write_offs.refer(collector, [a.id, owing.id], tmp_path, today=D(2025, 5, 2))
    assert f.path.name == "agency-20250502-1.csv" and f.total_cents == 35_000
    rows = list(csv.DictReader(io.StringIO(f.path.read_text())))
    assert [(r["Account"], r["Amount Owed"], r["Tax ID Last 4"]) for r in rows] == \
        [(str(a.number), "200.00", "1234"), (str(owing.number), "150.00", "1234")]
    assert rows[0]["Written Off"] == "2025-05-01" and rows[1]["Written Off"] == ""
    assert db.Account.get_by_id(a.id).collections
    assert write_offs.referral_candidates(D(2025, 5, 2)) == []
    with pytest.raises(ValidationError, match="with the agency already"):
        write_offs.refer(collector, [a.id], tmp_path, today=D(2025, 5, 2))


def test_referral_of_an_active_account_is_refused_whole(database, people, tmp_path):
    collector, _ = people
    a = written_off_account(people)
    active = factories.account(first="Active")
    bill(active, 5_000, FINAL_BILL)
    out = tmp_path / "agency"
    with pytest.raises(ValidationError, match="is active: only final accounts go to the agency"):
        write_offs.refer(collector, [a.id, active.id], out, today=D(2025, 5, 2))
    assert db.AgencyReferral.select().count() == 0 and not out.exists()


def test_the_agencys_payment_is_recorded_net_of_commission_as_a_recovery(database, people, tmp_path):
    collector, _ = people
    a = written_off_account(people)
    write_offs.refer(collector, [a.id], tmp_path, today=D(2025, 5, 2))
    p = write_offs.agency_payment(collector, a.id, 10_000, reference="CK 881", today=D(2025, 6, 1))
    assert (p.gross_cents, p.commission_cents, p.net_cents, p.recovered_cents) == (10_000, 3_000, 7_000, 10_000)
    assert ledger(a)[-3:] == [("writeoff", 10_000, "RECOVERY"), ("payment", -7_000, "AGENCY CK 881"),
                              ("adjustment", -3_000, "AGENCY FEE")]
    assert balance(a) == 0 and write_offs.written_off([a.id]) == {a.id: 10_000}
    hit = memberships.bad_debt_audit(("Ada", "Lovelace"), phone="2085550100").hits[0]
    assert hit.written_off_cents == 10_000
    with pytest.raises(ValidationError, match=r"\$100.00 left to collect"):
        write_offs.agency_payment(collector, a.id, 10_001, today=D(2025, 6, 2))
    write_offs.agency_payment(collector, a.id, 10_000, today=D(2025, 6, 2))
    assert db.AgencyReferral.get().status == "paid" and write_offs.written_off([a.id]) == {}


def test_the_agencys_remittance_list_is_all_or_nothing(database, people, tmp_path):
    collector, _ = people
    a = written_off_account(people)
    b = final_account(first="Bo", last="Diddley", phone="2085550155")
    write_offs.refer(collector, [a.id, b.id], tmp_path, today=D(2025, 5, 2))
    before = db.LedgerEntry.select().count()
    with pytest.raises(ValidationError, match="Line 3: .*left to collect; nothing was recorded"):
        write_offs.agency_remittance(collector, f"Account,Collected\n{a.number},50.00\n{b.number},999.00\n",
                                     today=D(2025, 6, 1))
    assert db.LedgerEntry.select().count() == before
    done = write_offs.agency_remittance(collector, f"Account,Collected\n{a.number},50.00\n{b.number},15.00\n",
                                        today=D(2025, 6, 1))
    assert [(p.number, p.net_cents) for p in done] == [(a.number, 3_500), (b.number, 1_050)]


def test_a_member_paying_after_the_write_off_is_a_recovery(database, people):
    collector, _ = people
    a = written_off_account(people)
    with pytest.raises(ValidationError, match="at most that"):
        write_offs.recover(collector, a.id, 20_001, today=D(2025, 6, 1))
    write_offs.recover(collector, a.id, 5_000, reference="chk 12", today=D(2025, 6, 1))
    assert ledger(a)[-2:] == [("writeoff", 5_000, "RECOVERY"), ("payment", -5_000, "chk 12")]
    assert write_offs.written_off([a.id]) == {a.id: 15_000} and balance(a) == 0
