"""Energy assistance: agencies, applications, pledges (agency required) and the hold they make on
disconnection, and the agency's check keyed as a batch and matched to its pledges (paid, short,
over, no pledge, not paid), posted once. SQLite and PostgreSQL."""
import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import assistance, batches, collection_holds, collections, late_fees, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.support.pdf import pdf_text

D = dt.date
PLEDGED = D(2026, 2, 2)


@pytest.fixture(autouse=True)
def default_hold():
    saved = assistance.hold_days()
    assistance._hold_days = 30
    yield
    assistance._hold_days = saved


@pytest.fixture
def msr(database):
    assistance.add_demo_agencies()
    return operators.create("msr1", "Pat Keyer", "msr")


def behind(first="Ada", cents=20_000, billed=D(2026, 1, 5)) -> db.Account:
    acct = factories.account(first=first)
    db.LedgerEntry.create(account=acct, effective=billed, kind="bill", amount_cents=cents,
                          description="Electric service", due_date=billed + dt.timedelta(days=20))
    return acct


def pledge_rows() -> list[tuple]:
    P = db.Pledge
    return list(P.select(P.account, P.amount_cents, P.status, P.paid_cents).order_by(P.id).tuples())


def test_demo_agencies_and_a_new_one(msr):
    assert [a.code for a in assistance.agencies()] == ["CAP", "ROUNDUP", "SALVARMY", "SVDP"]
    assert assistance.add_demo_agencies() == 0                  # once
    fund = assistance.add_agency(msr, "lions", "Lions Club heating fund", "local")
    assert fund.code == "LIONS"
    with pytest.raises(ValidationError, match="already an agency LIONS"):
        assistance.add_agency(msr, "LIONS", "Again")


def test_a_pledge_holds_disconnection_for_the_hold_days(msr):
    acct = behind()
    p = assistance.pledge(msr, acct.id, "cap", 15_000, pledged_on=PLEDGED, reference="L-2026-0117", today=PLEDGED)
    assert (p.agency, p.status, p.expires_on, p.holds_until) == ("CAP", "pending", D(2026, 3, 4), D(2026, 3, 4))
    assert collection_holds.held(acct.id, D(2026, 3, 4)) == {"pledge"}
    assert collection_holds.held(acct.id, D(2026, 3, 5)) == set()       # the hold days are over
    assert "pledge" in collection_holds.DISCONNECT_HOLDS
    # An earlier expiry ends the hold sooner; a longer one does not make it longer.
    short = behind(first="Short")
    assistance.pledge(msr, short.id, "SVDP", 5_000, pledged_on=PLEDGED, expires_on=D(2026, 2, 10), today=PLEDGED)
    assert collection_holds.held(short.id, D(2026, 2, 11)) == set()
    assistance._hold_days = 10
    assert collection_holds.held(acct.id, D(2026, 2, 13)) == set()
    assert assistance.flag_text(acct.id, D(2026, 2, 5)) == "PLEDGE CAP $150.00 holds until 02/12/2026"
    notes = [n.text for n in db.Note.select().where(db.Note.account == acct.id)]
    assert notes == ["Energy assistance pledge: Community Action Partnership (LIHEAP) $150.00 (02/02/2026, expires "
                     "03/04/2026, ref L-2026-0117); disconnection held through 03/04/2026"]


def test_a_pledge_without_an_agency_is_refused_and_nothing_written(msr):
    acct = behind()
    for code, message in (("", "A pledge needs the agency that made it"), (None, "needs the agency"),
                          ("NOPE", "No agency NOPE \\(agencies: CAP, ROUNDUP, SALVARMY, SVDP\\)")):
        with pytest.raises(ValidationError, match=message) as e:
            assistance.pledge(msr, acct.id, code, 15_000, today=PLEDGED)
        assert e.value.field == "agency"
    with pytest.raises(ValidationError, match="more than zero"):
        assistance.pledge(msr, acct.id, "CAP", 0, today=PLEDGED)
    with pytest.raises(ValidationError, match="expires on or after"):
        assistance.pledge(msr, acct.id, "CAP", 100, pledged_on=PLEDGED, expires_on=D(2026, 2, 1), today=PLEDGED)
    assert pledge_rows() == [] and db.Note.select().count() == 0
    billing = operators.create("bill1", "Bea Biller", "billing")
    with pytest.raises(PermissionDenied):
        assistance.pledge(billing, acct.id, "CAP", 100, today=PLEDGED)


def test_a_pledge_keeps_late_fees_off_and_shows_on_the_worklist(msr):
    acct = behind()
    other = behind(first="Grace")
    assistance.pledge(msr, acct.id, "CAP", 15_000, pledged_on=PLEDGED, today=PLEDGED)
    assert [f.account_id for f in late_fees.plan(D(2026, 2, 5), since=D(2026, 1, 20))] == [other.id]
    items = {i.account_id: i for i in collections.worklist(msr, None, D(2026, 2, 26)).items}
    assert items[acct.id].flags == ("pledge",) and items[acct.id].next_action.short == "Pledge hold"
    assert items[other.id].flags == ()


def test_an_application_is_recorded_with_a_note(msr):
    acct = behind()
    assistance.record_application(msr, acct.id, "CAP", D(2026, 1, 28), "LIHEAP winter application")
    row = db.AssistanceApplication.get()
    assert (row.account_id, row.applied_on, row.note) == (acct.id, D(2026, 1, 28), "LIHEAP winter application")
    with pytest.raises(ValidationError, match="needs the agency"):
        assistance.record_application(msr, acct.id, "")
    assert [(a.agency, a.applied_on, a.operator, a.note) for a in assistance.applications_for(acct.id)] == \
        [("CAP", D(2026, 1, 28), msr.username, "LIHEAP winter application")]


def test_the_agency_check_is_keyed_as_a_batch_and_matched_to_the_pledges(msr, tmp_path):
    full, short, over, none, unpaid = (behind(first=n) for n in ("Full", "Short", "Over", "None", "Unpaid"))
    for acct, cents in ((full, 15_000), (short, 10_000), (over, 5_000), (unpaid, 7_500)):
        assistance.pledge(msr, acct.id, "CAP", cents, pledged_on=PLEDGED, today=PLEDGED)
    assistance.pledge(msr, none.id, "SVDP", 4_000, pledged_on=PLEDGED, today=PLEDGED)     # another agency's
    assert [p.account_number for p in assistance.pending_pledges("CAP")] == [full.number, short.number, over.number,
                                                                             unpaid.number]
    pay = assistance.open_payment(msr, "CAP", "50017", 15_000 + 8_000 + 6_000 + 2_000, 4, D(2026, 2, 20))
    assert assistance.pledge_due(pay.id, str(full.number))[2] == 15_000
    assert assistance.pledge_due(pay.id, str(none.number)) is None
    for acct, cents in ((full, 15_000), (short, 8_000), (over, 6_000), (none, 2_000)):
        line = assistance.key_line(msr, pay.id, str(acct.number), cents)
        assert line.check_no == "50017"
    report = assistance.post_payment(msr, pay.id)
    got = [(m.account_number, m.result, m.pledge_cents, m.paid_cents) for m in report.matches]
    assert got == [(full.number, "paid", 15_000, 15_000), (short.number, "short", 10_000, 8_000),
                   (over.number, "over", 5_000, 6_000), (none.number, "no pledge", 0, 2_000),
                   (unpaid.number, "not paid", 7_500, 0)]
    assert [m.difference_cents for m in report.of("short") + report.of("over")] == [-2_000, 1_000]
    assert "SHORT (1)" in report.text() and "NO PLEDGE (1)" in report.text()
    csv_path, pdf_path = assistance.write_report(report, tmp_path / "reports")
    assert csv_path.read_text().splitlines()[2] == f"{short.number},Short Lovelace,100.00,80.00,-20.00,short"
    assert "OVER (1)" in pdf_text(pdf_path.read_bytes())
    assert batches.get_batch(pay.batch_id).status == "posted"
    L = db.LedgerEntry
    assert sorted(-c for (c,) in L.select(L.amount_cents).where(L.kind == "payment").tuples()) == [
        2_000, 6_000, 8_000, 15_000]
    assert [r[2:] for r in pledge_rows()] == [("paid", 15_000), ("short", 8_000), ("over", 6_000),
                                              ("pending", 0), ("pending", 0)]
    # A paid pledge holds nothing; posted once only.
    assert collection_holds.held(full.id, D(2026, 2, 21)) == set()
    with pytest.raises(batches.AlreadyPosted, match="CAP check 50017 is already posted"):
        assistance.post_payment(msr, pay.id)
    assert L.select().where(L.kind == "payment").count() == 4


def test_a_check_out_of_balance_posts_nothing(msr):
    acct = behind()
    assistance.pledge(msr, acct.id, "CAP", 15_000, pledged_on=PLEDGED, today=PLEDGED)
    pay = assistance.open_payment(msr, "CAP", "777", 20_000, 1, D(2026, 2, 20))
    assistance.key_line(msr, pay.id, str(acct.number), 15_000)
    with pytest.raises(batches.OutOfBalance):
        assistance.post_payment(msr, pay.id)
    assert pledge_rows()[0][2] == "pending" and assistance.get_payment(pay.id).status == "open"
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 0
    with pytest.raises(ValidationError, match="CAP check 777 is already keyed"):
        assistance.open_payment(msr, "CAP", "777", 20_000, 1, D(2026, 2, 20))
    with pytest.raises(ValidationError, match="needs the agency"):
        assistance.open_payment(msr, "", "778", 20_000, 1, D(2026, 2, 20))


def test_two_sessions_posting_the_check_at_once_post_it_once(msr):
    from tests.services.test_concurrency import at_once

    acct = behind()
    assistance.pledge(msr, acct.id, "CAP", 15_000, pledged_on=PLEDGED, today=PLEDGED)
    pay = assistance.open_payment(msr, "CAP", "9001", 15_000, 1, D(2026, 2, 20))
    assistance.key_line(msr, pay.id, str(acct.number), 15_000)
    other = operators.create("msr2", "Moe Keyer", "msr")
    r = at_once(lambda: assistance.post_payment(msr, pay.id), lambda: assistance.post_payment(other, pay.id))
    assert sum(isinstance(x, assistance.MatchReport) for x in r) == 1, r
    assert sum(isinstance(x, batches.AlreadyPosted) for x in r) == 1, r
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 1
    assert pledge_rows() == [(acct.id, 15_000, "paid", 15_000)]


def test_a_demo_built_before_agencies_gets_the_demo_agencies(database):
    assert assistance.agencies() == []                      # not a demo: none made up
    db.set_meta("demo_seed", "1")
    assert [a.code for a in assistance.agencies()] == ["CAP", "ROUNDUP", "SALVARMY", "SVDP"]


def test_two_sessions_opening_one_check_at_once_open_it_once(msr):
    from tests.services.test_concurrency import at_once

    other = operators.create("msr2", "Moe Keyer", "msr")
    r = at_once(lambda: assistance.open_payment(msr, "CAP", "4242", 10_000, 1, D(2026, 2, 20)),
                lambda: assistance.open_payment(other, "CAP", "4242", 10_000, 1, D(2026, 2, 20)))
    assert sum(isinstance(x, assistance.PaymentInfo) for x in r) == 1, r
    assert sum(isinstance(x, ValidationError) and "4242" in x.message for x in r) == 1, r
    assert db.AgencyPayment.select().count() == 1
    assert db.PaymentBatch.select().count() == 1
