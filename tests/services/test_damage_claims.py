"""Damage claims: totals with overhead against hand-worked figures, the invoice (a PDF, logged), payments
and partial payments (never over the balance), reductions, settlements and write-offs a supervisor
approves (refused without one, nothing written), a member's claim decided and paid, letters, aging.
SQLite and PostgreSQL."""

import datetime as dt
import threading
from decimal import Decimal

import pytest

from kec_tui import config, db
from kec_tui.services import damage_claims as dc, operators
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories

D = dt.date
INCIDENT, INVOICED = D(2026, 1, 3), D(2026, 1, 10)


@pytest.fixture(autouse=True)
def overhead():
    saved = dc.rules()
    dc.configure(config.Settings())                 # the default 15 %
    yield
    dc._rules = saved


def car_hits_pole(op) -> dc.Claim:
    return dc.open_claim(op, incident_on=INCIDENT, place="Hwy 95 at Lancaster Rd", damaged="pole",
                         party_name="Dale Driver", party_address="12 Elm St, Rathdrum ID 83858",
                         party_phone="208-555-0142", insurer="Gem State Mutual", insurer_claim_no="GS-26-0042",
                         adjuster_name="Ann Adjuster", adjuster_phone="(208) 555-0199",
                         description="Pickup slid off the road and broke the pole", today=INVOICED)


def with_lines(op, c: dc.Claim) -> dc.Claim:
    dc.add_line(op, c.id, "labor", "Line crew, 2 linemen", Decimal("6.5"), 85_00)          # $552.50
    dc.add_line(op, c.id, "material", "Class 4 pole, 40 ft", 1, 1_234_56)                  # $1,234.56
    dc.add_line(op, c.id, "equipment", "Bucket truck", Decimal("3.25"), 120_00)             # $390.00
    return dc.add_line(op, c.id, "labor", "Flagger", Decimal("2.33"), 47_17)                # 109.9061 -> $109.91


def invoiced(op, tmp_path) -> dc.Claim:
    c = with_lines(op, car_hits_pole(op))
    return dc.invoice(op, c.id, today=INVOICED, directory=tmp_path / "out")


def test_totals_with_overhead_against_hand_worked_figures(database, msr):
    c = with_lines(msr, car_hits_pole(msr))
    assert [ln.amount_cents for ln in c.lines] == [552_50, 1_234_56, 390_00, 109_91]
    assert c.direct_cents == 2_286_97
    assert c.overhead_percent == Decimal("15")
    assert c.overhead_cents == 343_05                # 2,286.97 x 15 % = 343.0455 -> 343.05
    assert c.total_cents == 2_630_02
    assert c.balance_cents == 2_630_02 and c.status == "open"
    assert (c.party_phone, c.adjuster_phone) == ("2085550142", "2085550199")
    assert c.claim_no == dc.FIRST_CLAIM_NO
    assert dc.line_amount(Decimal("0.5"), 1) == 1 and dc.overhead(10, Decimal("15")) == 2   # half up


def test_the_overhead_setting_is_kept_on_the_claim(database, msr):
    assert config.Settings().damage_claim_overhead_percent == "15"
    dc.configure(config.Settings(damage_claim_overhead_percent="12.5"))
    c = car_hits_pole(msr)
    dc.configure(config.Settings())
    c = dc.add_line(msr, c.id, "labor", "Crew", 10, 80_00)
    assert (c.overhead_percent, c.overhead_cents, c.total_cents) == (Decimal("12.5"), 100_00, 900_00)


def test_the_invoice_is_a_pdf_logged_and_audited(database, msr, tmp_path):
    c = invoiced(msr, tmp_path)
    assert (c.status, c.invoiced_on) == ("invoiced", INVOICED)
    assert c.invoice_path.endswith(f"claim-{c.claim_no}-invoice.pdf")
    assert open(c.invoice_path, "rb").read(4) == b"%PDF"
    (letter,) = c.letters
    row = db.ClaimLetter.get_by_id(letter.id)
    assert row.title == "INVOICE FOR DAMAGE TO COOPERATIVE PROPERTY"
    assert "Overhead 15%" in row.text and "$2,630.02" in row.text and "GS-26-0042" in row.text
    assert db.DamageClaim.get_by_id(c.id).invoice_cents == 2_630_02
    with pytest.raises(ValidationError, match="already invoiced"):
        dc.invoice(msr, c.id, today=INVOICED, directory=tmp_path / "out")
    with pytest.raises(ValidationError, match="cost lines are added before the invoice"):
        dc.add_line(msr, c.id, "labor", "More", 1, 100)
    actions = [a for (a,) in db.AuditLog.select(db.AuditLog.action).where(db.AuditLog.entity == "damage_claim")
               .order_by(db.AuditLog.id).tuples()]
    assert actions == ["claim.open"] + ["claim.line"] * 4 + ["claim.invoice"]


def test_a_claim_without_lines_is_not_invoiced(database, msr, tmp_path):
    c = car_hits_pole(msr)
    with pytest.raises(ValidationError, match="no cost lines"):
        dc.invoice(msr, c.id, today=INVOICED, directory=tmp_path / "out")
    assert dc.get(c.id).status == "open" and not (tmp_path / "out").exists()


def test_payments_and_partial_payments(database, msr, tmp_path):
    c = invoiced(msr, tmp_path)
    c = dc.pay(msr, c.id, 1_000_00, reference="GS check 5521", on=D(2026, 2, 1))
    assert (c.paid_cents, c.balance_cents, c.status) == (1_000_00, 1_630_02, "invoiced")
    c = dc.pay(msr, c.id, 630_02, reference="GS check 5600", on=D(2026, 2, 15))
    assert (c.balance_cents, c.status) == (1_000_00, "invoiced")
    c = dc.pay(msr, c.id, 1_000_00, on=D(2026, 3, 1))
    assert (c.balance_cents, c.status) == (0, "closed")
    assert [t.amount_cents for t in c.transactions] == [1_000_00, 630_02, 1_000_00]


def test_a_payment_over_the_balance_is_refused_and_nothing_written(database, msr, tmp_path):
    c = invoiced(msr, tmp_path)
    dc.pay(msr, c.id, 2_000_00, on=D(2026, 2, 1))
    audits = db.AuditLog.select().count()
    with pytest.raises(ValidationError, match=r"Payment \$630.03 is more than the balance .* \$630.02"):
        dc.pay(msr, c.id, 630_03, on=D(2026, 2, 2))
    c = dc.get(c.id)
    assert (c.balance_cents, len(c.transactions), c.status) == (630_02, 1, "invoiced")
    assert db.AuditLog.select().count() == audits
    with pytest.raises(ValidationError, match="more than zero"):
        dc.pay(msr, c.id, 0)


def test_a_payment_before_the_invoice_is_refused(database, msr):
    c = with_lines(msr, car_hits_pole(msr))
    with pytest.raises(ValidationError, match="not invoiced yet"):
        dc.pay(msr, c.id, 100_00)
    assert db.ClaimTransaction.select().count() == 0


def test_settlement_approved_by_a_supervisor(database, msr, supervisor, tmp_path):
    c = invoiced(msr, tmp_path)
    dc.pay(msr, c.id, 1_000_00, on=D(2026, 2, 1))
    c = dc.negotiate(msr, c.id, "insurer disputes the flagger")
    assert c.status == "negotiating"
    c = dc.settle(msr, supervisor, c.id, 2_500_00, "agreed with the adjuster", on=D(2026, 2, 20))
    # owed 2,630.02, settled for 2,500.00 in all: 130.02 off; 1,000.00 paid, 1,500.00 left
    assert (c.reduced_cents, c.balance_cents, c.status) == (130_02, 1_500_00, "settled")
    t = c.transactions[-1]
    assert (t.kind, t.amount_cents, t.approver) == ("settlement", 130_02, "super")
    c = dc.pay(msr, c.id, 1_500_00, on=D(2026, 3, 1))
    assert (c.balance_cents, c.status) == (0, "closed")


def test_a_settlement_without_a_supervisor_is_refused_and_nothing_written(database, msr, tmp_path):
    c = invoiced(msr, tmp_path)
    audits = db.AuditLog.select().count()
    with pytest.raises(PermissionDenied, match="A supervisor signs in to approve a settlement"):
        dc.settle(msr, None, c.id, 2_000_00)
    with pytest.raises(PermissionDenied, match="Only a supervisor approves a settlement; msr1"):
        dc.settle(msr, msr, c.id, 2_000_00)
    c = dc.get(c.id)
    assert (c.status, c.balance_cents, c.transactions) == ("invoiced", 2_630_02, ())
    assert db.AuditLog.select().count() == audits


def test_settlement_bounds(database, msr, supervisor, tmp_path):
    c = invoiced(msr, tmp_path)
    dc.pay(msr, c.id, 500_00)
    with pytest.raises(ValidationError, match=r"at least what was paid, \$500.00"):
        dc.settle(msr, supervisor, c.id, 400_00)
    with pytest.raises(ValidationError, match=r"at most what is owed, \$2,630.02"):
        dc.settle(msr, supervisor, c.id, 2_630_03)
    c = dc.settle(msr, supervisor, c.id, 500_00)          # settled for what was paid: closed
    assert (c.balance_cents, c.status) == (0, "closed")


def test_a_reduction_then_a_write_off(database, msr, supervisor, tmp_path):
    c = dc.open_claim(msr, incident_on=INCIDENT, place="Seltice Way", damaged="line", party_name="Dig Co",
                      today=INVOICED)
    dc.add_line(msr, c.id, "labor", "Splice crew", 10, 50_00)            # 500.00 + 15 % = 575.00
    c = dc.invoice(msr, c.id, today=INVOICED, directory=tmp_path / "out")
    assert c.total_cents == 575_00
    with pytest.raises(PermissionDenied):
        dc.reduce(msr, None, c.id, 75_00, "locate ticket was wrong")
    c = dc.reduce(msr, supervisor, c.id, 75_00, "locate ticket was wrong")
    assert (c.balance_cents, c.status) == (500_00, "negotiating")
    dc.pay(msr, c.id, 200_00)
    with pytest.raises(PermissionDenied, match="approve a write-off"):
        dc.write_off(msr, None, c.id, "company dissolved")
    with pytest.raises(ValidationError, match="Key a note"):
        dc.write_off(msr, supervisor, c.id, "")
    c = dc.write_off(msr, supervisor, c.id, "company dissolved")
    assert (c.written_off_cents, c.balance_cents, c.status) == (300_00, 0, "written_off")
    with pytest.raises(ValidationError, match="written off"):
        dc.pay(msr, c.id, 1)
    assert c not in dc.claims() and dc.claims(include_closed=True)[0].id == c.id


def test_a_members_claim_decided_and_paid(database, msr, supervisor, tmp_path):
    a = factories.account()
    c = dc.open_claim(msr, direction="member", incident_on=INCIDENT, place="1234 N Government Way",
                      damaged="appliance", party_name="Ada Lovelace", account_id=a.id, claimed_cents=800_00,
                      description="Surge after the feeder fault burned the furnace board", today=INVOICED)
    assert (c.total_cents, c.status, c.overhead_percent) == (0, "open", 0)
    with pytest.raises(ValidationError, match="not decided yet"):
        dc.pay(msr, c.id, 100_00)
    with pytest.raises(ValidationError, match="no cost lines"):
        dc.add_line(msr, c.id, "labor", "x", 1, 1)
    with pytest.raises(PermissionDenied):
        dc.decide(msr, None, c.id, 500_00, "partly pre-existing")
    with pytest.raises(ValidationError, match=r"0 to the amount claimed, \$800.00"):
        dc.decide(msr, supervisor, c.id, 800_01, "too much")
    c = dc.decide(msr, supervisor, c.id, 500_00, "board replaced, labor not covered")
    assert (c.total_cents, c.balance_cents, c.status) == (500_00, 500_00, "settled")
    with pytest.raises(ValidationError, match="more than the balance"):
        dc.pay(msr, c.id, 500_01)
    c = dc.pay(msr, c.id, 500_00, reference="check 7001")
    assert (c.balance_cents, c.status) == (0, "closed")
    letter = dc.send_letter(msr, c.id, "claim_decision", today=INVOICED, directory=tmp_path / "out")
    assert "The cooperative will pay $500.00" in db.ClaimLetter.get_by_id(letter.id).text
    assert db.AuditLog.select().where(db.AuditLog.account == a.id, db.AuditLog.action == "claim.decide").exists()


def test_a_denied_members_claim_is_closed(database, msr, supervisor, tmp_path):
    c = dc.open_claim(msr, direction="member", incident_on=INCIDENT, place="Hayden", damaged="electronics",
                      party_name="Ed Member", claimed_cents=300_00, today=INVOICED)
    c = dc.decide(msr, supervisor, c.id, 0, "no fault on the system that day")
    assert (c.status, c.balance_cents) == ("closed", 0)
    letter = dc.send_letter(msr, c.id, "claim_decision", today=INVOICED, directory=tmp_path / "out")
    assert "is denied" in db.ClaimLetter.get_by_id(letter.id).text


def test_correspondence_from_templates_is_logged(database, msr, tmp_path):
    c = invoiced(msr, tmp_path)
    dc.pay(msr, c.id, 630_02)
    letter = dc.send_letter(msr, c.id, "claim_reminder", today=D(2026, 2, 20), directory=tmp_path / "out")
    row = db.ClaimLetter.get_by_id(letter.id)
    assert row.title == f"REMINDER: DAMAGE CLAIM {c.claim_no} UNPAID"
    assert "$2,000.00 is still due" in row.text and open(letter.pdf_path, "rb").read(4) == b"%PDF"
    with pytest.raises(ValidationError, match="No claim letter"):
        dc.send_letter(msr, c.id, "thank_you", directory=tmp_path / "out")
    assert len(dc.get(c.id).letters) == 2


def test_the_coops_own_claim_letter_is_used_and_a_bad_edit_refused_with_nothing_logged(database, msr, tmp_path):
    from kec_tui.services import letters

    saved = letters.places()
    own = letters.use(tmp_path / "own", tmp_path / "letters").templates
    try:
        c = invoiced(msr, tmp_path)
        own.mkdir()
        (own / "claim_reminder.txt.j2").write_text("SECOND NOTICE: CLAIM {{ claim_no }}\n{{ balance }} is past due.\n")
        letter = dc.send_letter(msr, c.id, "claim_reminder", today=D(2026, 2, 20), directory=tmp_path / "out")
        assert letter.title == f"SECOND NOTICE: CLAIM {c.claim_no}"
        (own / "claim_reminder.txt.j2").write_text("SECOND NOTICE\n{{ balanse }}\n")
        with pytest.raises(ValidationError, match="'balanse'"):
            dc.send_letter(msr, c.id, "claim_reminder", today=D(2026, 2, 21), directory=tmp_path / "out")
        assert [x.title for x in dc.get(c.id).letters][1:] == [f"SECOND NOTICE: CLAIM {c.claim_no}"]
    finally:
        letters.use(saved.templates, saved.output)


def test_a_party_change_keeps_a_name_and_refuses_a_card_number(database, msr):
    c = car_hits_pole(msr)
    with pytest.raises(ValidationError, match="name .* is required"):
        dc.update_party(msr, c.id, party_name="  ", insurer="Other Mutual")
    with pytest.raises(ValidationError, match="[Cc]ard number"):
        dc.update_party(msr, c.id, party_address="4111 1111 1111 1111")
    assert (dc.get(c.id).party_name, dc.get(c.id).insurer) == ("Dale Driver", "Gem State Mutual")
    assert dc.update_party(msr, c.id, insurer="Other Mutual").insurer == "Other Mutual"


def test_aging_by_days_since_the_invoice(database, msr, supervisor, tmp_path):
    old = invoiced(msr, tmp_path)                                       # 01/10, 2,630.02
    newer = dc.open_claim(msr, incident_on=INCIDENT, place="Prairie Ave", damaged="meter", party_name="Van Co",
                          today=INVOICED)
    dc.add_line(msr, newer.id, "material", "Meter", 1, 200_00)        # 230.00 with overhead
    dc.invoice(msr, newer.id, today=D(2026, 3, 1), directory=tmp_path / "out")
    dc.pay(msr, old.id, 630_02)
    ag = dc.aging(D(2026, 3, 25))
    assert [(c.claim_no, days, b) for c, days, b in ag.rows] == [(old.claim_no, 74, "61-90"),
                                                                  (newer.claim_no, 24, "0-30")]
    assert ag.totals == {"0-30": 230_00, "31-60": 0, "61-90": 2_000_00, "Over 90": 0}
    assert [dc.bucket(d) for d in (0, 30, 31, 60, 61, 90, 91)] == ["0-30", "0-30", "31-60", "31-60", "61-90",
                                                                    "61-90", "Over 90"]
    dc.write_off(msr, supervisor, old.id, "uncollectable")
    assert [c.id for c, _, _ in dc.aging(D(2026, 3, 25)).rows] == [newer.id]


@pytest.mark.parametrize("kw,field", [
    (dict(place=""), "place"), (dict(party_name=" "), "party_name"), (dict(damaged="tree"), "damaged"),
    (dict(party_phone="555-0142"), "party_phone"), (dict(incident_on=D(2026, 2, 1)), "incident_on"),
    (dict(direction="both"), "direction"),
])
def test_bad_claims_are_refused(database, msr, kw, field):
    base = dict(incident_on=INCIDENT, place="Hwy 95", damaged="pole", party_name="Dale", today=INVOICED)
    with pytest.raises(ValidationError) as e:
        dc.open_claim(msr, **(base | kw))
    assert e.value.field == field
    assert db.DamageClaim.select().count() == 0


def test_who_may_handle_claims(database, msr):
    reader = operators.OperatorInfo(99, "nobody", "No One", "reader")
    with pytest.raises(PermissionDenied):
        car_hits_pole(reader)
    with pytest.raises(NotFound):
        dc.get(12345)
    c = car_hits_pole(msr)
    c = dc.update_party(msr, c.id, insurer_claim_no="GS-26-0043", adjuster_phone="2085550100")
    assert (c.insurer_claim_no, c.adjuster_phone) == ("GS-26-0043", "2085550100")
    assert db.AuditLog.select().where(db.AuditLog.action == "claim.update").count() == 2


def test_two_sessions_paying_at_once_never_pay_more_than_the_balance(database, msr, tmp_path):
    c = dc.open_claim(msr, incident_on=INCIDENT, place="Seltice Way", damaged="line", party_name="Dig Co",
                      today=INVOICED)
    dc.add_line(msr, c.id, "labor", "Splice crew", 10, 50_00)            # 575.00
    dc.invoice(msr, c.id, today=INVOICED, directory=tmp_path / "out")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def session():
        with db.database.connection_context():
            barrier.wait()
            try:
                dc.pay(msr, c.id, 400_00)
                results.append("paid")
            except ValidationError as e:
                results.append("refused" if "more than the balance" in e.message else e.message)
            except Exception as e:  # noqa: BLE001 - any other outcome fails the test
                results.append(repr(e))

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["paid", "refused"]
    assert dc.get(c.id).balance_cents == 175_00


def test_a_members_claim_names_their_account_by_number(database, msr):
    a = factories.account()
    c = dc.open_claim(msr, direction="member", incident_on=INCIDENT, place="Hayden", damaged="wiring",
                      party_name="Ada Lovelace", account_number=a.number, claimed_cents=100_00, today=INVOICED)
    assert c.account_id == a.id
    with pytest.raises(ValidationError, match="No account 999") as e:
        dc.open_claim(msr, direction="member", incident_on=INCIDENT, place="Hayden", damaged="wiring",
                      party_name="Ada Lovelace", account_number=999, claimed_cents=100_00, today=INVOICED)
    assert e.value.field == "account_number" and db.DamageClaim.select().count() == 1


def test_a_reduction_after_a_settlement_keeps_it_settled(database, msr, supervisor, tmp_path):
    c = invoiced(msr, tmp_path)
    dc.settle(msr, supervisor, c.id, 2_500_00, "agreed")
    c = dc.reduce(msr, supervisor, c.id, 100_00, "goodwill")
    assert (c.balance_cents, c.status) == (2_400_00, "settled")
    assert dc.update_party(msr, c.id).status == "settled"           # nothing to change: nothing written
