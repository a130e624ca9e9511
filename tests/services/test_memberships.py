"""New memberships and accounts: identity, bad-debt audit and override, deposit, fee, landlord, connect order."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.checkdigit import valid_account_number
from kec_tui.services import accounts, audit, fees, memberships as ms, operators, orders
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from tests import factories

TODAY = dt.date(2025, 6, 2)
FULL_TAX_ID = "123-45-6789"


def _location(op, street="77 Pine St", city="Hayden", **kw) -> ms.LocationInfo:
    return ms.add_location(op, street, city, "83835", map_location="T51N R4W S1", **kw)


def _applicant(**kw) -> ms.Applicant:
    base = dict(first_name="Grace", last_name="Hopper", tax_id=FULL_TAX_ID, birth_date=dt.date(1980, 5, 5),
                phone_mobile="208-555-0199", email="grace@example.com", mail_street="PO Box 12",
                mail_city="Hayden", mail_state="ID", mail_zip="83835")
    base.update(kw)
    return ms.Applicant(**base)


def _debtor(status="final", **kw):
    """An earlier member whose final account still owes $120.00."""
    kw.setdefault("bills", (12000,))
    return factories.account(status=status, closed=dt.date(2025, 2, 1), **kw)


def _ledger(account_id):
    L = db.LedgerEntry
    return [(e.kind, e.amount_cents, e.description) for e in L.select().where(L.account == account_id).order_by(L.id)]


# ---- opening ------------------------------------------------------------------------------------

def test_new_membership_and_account(database, msr):
    loc = _location(msr)
    r = ms.open_account(msr, loc.id, _applicant(), today=TODAY)
    assert r.new_member and r.status == "pending" and valid_account_number(str(r.account_number))
    assert (r.deposit_cents, r.membership_fee_cents) == (fees.DEPOSIT_FLAT_CENTS, fees.MEMBERSHIP_FEE_CENTS)
    assert "no billing history" in r.deposit_basis
    assert _ledger(r.account_id) == [("fee", 500, "Membership fee"), ("deposit", 20000, "Security deposit billed")]
    view = accounts.view(r.account_id, today=TODAY)
    assert (view.name, view.status, view.balance_cents, view.deposit_cents, view.tax_id_masked) == \
        ("Hopper, Grace", "pending", 20500, 20000, "***-**-6789")
    assert view.contact.mail_street == "PO Box 12" and view.contact.phone_mobile == "2085550199"
    m = db.Member.get_by_id(r.member_id)
    assert m.tax_id_last4 == "6789" and len(m.tax_id_hash) == 64 and m.member_no == r.member_no
    # the full tax ID is nowhere: not in the member, not in the audit log
    for row in db.AuditLog.select():
        assert "123456789" not in row.before + row.after and FULL_TAX_ID not in row.before + row.after
    assert "123456789" not in " ".join(str(v) for v in m.__data__.values())
    o = orders.get_order(r.connect_order_no)
    assert (o.kind, o.status, o.account_id, o.due_date) == ("connect", "open", r.account_id, dt.date(2025, 6, 3))
    assert [h.number for h in accounts.lookup("hopper").hits] == [r.account_number]
    assert [h.number for h in accounts.lookup("555-0199").hits] == [r.account_number]
    actions = {row.action for row in audit.for_account(r.account_id)}
    assert {"account.open", "bad_debt.audit", "deposit.bill", "order.create", "ledger.fee"} <= actions
    # The connect completes: the account is in service.
    done = orders.complete_order(msr, r.connect_order_no, reading=0, meter_no="N100")
    assert done.account_status == "active"
    # Same tax ID, same hash: the second applicant is matched by the full number.
    assert ms.bad_debt_audit("Someone Else", tax_id=FULL_TAX_ID).hits[0].matched == ("tax_id",)
    assert ms.bad_debt_audit("Someone Else", tax_id="999-45-6789").hits == []      # same last 4, other person


def test_deposit_is_twice_the_average_bill_or_waived(database, msr):
    old = factories.account(status="closed", bills=(10000, 12100), payments=(22100,), closed=dt.date(2025, 3, 1))
    quote = ms.deposit_quote(old.location_id, today=TODAY)
    assert (quote.amount_cents, quote.average_bill_cents, quote.bills) == (22100, 11050, 2)
    assert "2x the average bill $110.50 (2 bills" in quote.basis
    assert ms.deposit_quote(old.location_id, today=TODAY + dt.timedelta(days=400)).amount_cents == 20000
    r = ms.open_account(msr, old.location_id, _applicant(), today=TODAY)
    assert r.deposit_cents == 22100 and db.Account.get_by_id(r.account_id).deposit_cents == 22100
    assert db.Account.get_by_id(r.account_id).bill_cycle == old.bill_cycle
    loc = _location(msr)
    w = ms.open_account(msr, loc.id, _applicant(first_name="Alan", last_name="Turing", tax_id="",
                                                phone_mobile="2085550123"), good_credit=True, today=TODAY)
    assert (w.deposit_cents, w.deposit_basis) == (0, "waived: good credit")
    assert [k for k, _, _ in _ledger(w.account_id)] == ["fee"]
    row = db.AuditLog.get(db.AuditLog.action == "deposit.waive")
    assert (row.after, row.account_id) == ("good credit", w.account_id) and "200.00" in row.before


def test_location_already_in_service_is_refused(database, msr):
    a = factories.account()
    members = db.Member.select().count()
    with pytest.raises(ServiceError, match=f"already in service on account {a.number} \\(Lovelace, Ada, active\\)") \
            as e:
        ms.open_account(msr, a.location_id, _applicant(), today=TODAY)
    assert e.value.field == "location"
    assert db.Member.select().count() == members and db.Account.select().count() == 1
    info = ms.find_locations("government")[0]
    assert (info.in_service_account, info.in_service_name) == (a.number, "Lovelace, Ada")
    with pytest.raises(NotFound):
        ms.open_account(msr, 99999, _applicant(), today=TODAY)


def test_landlord_for_a_rental(database, msr):
    loc = _location(msr)
    r = ms.open_account(msr, loc.id, _applicant(), landlord=ms.Landlord("Pine Rentals LLC", "208-555-0111"),
                        today=TODAY)
    assert db.Account.get_by_id(r.account_id).landlord
    assert ms.get_location(loc.id).owner == "Pine Rentals LLC (208) 555-0111"
    assert accounts.view(r.account_id).owner == "Pine Rentals LLC (208) 555-0111"
    assert "LANDLORD" in accounts.view(r.account_id).flags
    row = db.AuditLog.get(db.AuditLog.action == "location.owner")
    assert (row.before, row.after) == ("", "Pine Rentals LLC 2085550111")
    with pytest.raises(ValidationError, match="Owner") as e:
        ms.open_account(msr, _location(msr, "8 Oak St").id, _applicant(), landlord=ms.Landlord(" "))
    assert e.value.field == "owner_name"


@pytest.mark.parametrize("kw,field,needle", [
    ({"last_name": " "}, "last_name", "required"), ({"tax_id": "12-345"}, "tax_id", "9 digits"),
    ({"tax_id": "12a-45-6789"}, "tax_id", "digits only"), ({"phone_mobile": "555-01"}, "phone_mobile", "10 digits"),
    ({"phone_mobile": ""}, "phone_home", "At least one phone"), ({"email": "x@"}, "email", "not an e-mail"),
    ({"birth_date": dt.date(2015, 1, 1)}, "birth_date", "18 or older"), ({"mail_zip": "1"}, "mail_zip", "5 digits"),
])
def test_applicant_is_validated(database, msr, kw, field, needle):
    loc = _location(msr)
    with pytest.raises(ValidationError, match=needle) as e:
        ms.open_account(msr, loc.id, _applicant(**kw), today=TODAY)
    assert e.value.field == field
    assert db.Member.select().count() == 0 and db.Account.select().count() == 0


def test_roles(database, msr):
    billing = operators.create("bill1", "Bea Biller", "billing")
    loc = _location(msr)
    with pytest.raises(PermissionDenied):
        ms.open_account(billing, loc.id, _applicant(), today=TODAY)


# ---- the bad-debt audit ----------------------------------------------------------------------------

def test_audit_finds_each_criterion(database, msr):
    d = _debtor()                                   # Ada Lovelace, last 4 1234, born 1970-01-02, 2085550100
    L = db.LedgerEntry
    wo = factories.account(first="Ada", last="Byron", phone="2085550177", street="9 Lake Rd", status="closed",
                           bills=(5000,), closed=dt.date(2024, 1, 1))
    L.create(account=wo, effective=dt.date(2024, 6, 1), kind="writeoff", amount_cents=-5000, description="WO")
    db.Member.update(tax_id_last4="5555", birth_date=dt.date(1990, 3, 3)).where(db.Member.id == wo.member_id).execute()
    cases = {
        "name": dict(name="ada LOVELACE"),
        "tax_id_last4": dict(name="Zed Q", tax_id_last4="1234"),
        "birth_date": dict(name="Zed Q", birth_date=dt.date(1970, 1, 2)),
        "phone": dict(name="Zed Q", phone="(208) 555-0100"),
        "address": dict(name="Zed Q", prior_addresses=["1234 North Government Way, Coeur d'Alene ID"]),
    }
    for criterion, kw in cases.items():
        found = ms.bad_debt_audit(**kw)
        assert [(h.account_number, h.matched) for h in found.hits] == [(d.number, (criterion,))], criterion
        hit = found.hits[0]
        assert (hit.status, hit.balance_cents, hit.unpaid_final_cents, hit.written_off_cents) == \
            ("final", 12000, 12000, 0)
        assert hit.strong == (criterion in ("phone", "address")) and hit.blocking == hit.strong
    both = ms.bad_debt_audit("Ada Lovelace", birth_date=dt.date(1970, 1, 2))
    assert both.hits[0].matched == ("name", "birth_date") and both.blocking
    w = ms.bad_debt_audit("X Y", phone="208-555-0177").hits[0]
    assert (w.account_number, w.balance_cents, w.unpaid_final_cents, w.written_off_cents, w.owed_cents) == \
        (wo.number, 0, 0, 5000, 5000)
    assert "written off $50.00" in w.describe()
    # A mailing address counts as a prior address too.
    db.Member.update(mail_street="PO Box 55").where(db.Member.id == wo.member_id).execute()
    assert [h.account_number for h in ms.bad_debt_audit("Q", prior_addresses=["po box 55"]).hits] == [wo.number]
    assert ms.bad_debt_audit("Nobody Here", phone="2085559999").hits == []
    assert "no earlier membership" in ms.bad_debt_audit("Nobody Here").summary()


def test_hit_with_unpaid_balance_needs_ack_and_supervisor_override(database, msr, supervisor):
    d = _debtor()
    loc = _location(msr)
    ap = _applicant(first_name="Ada", last_name="Lovelace", phone_mobile="2085550100", tax_id="")
    found = ms.audit_applicant(ap, loc.id)
    assert [h.account_number for h in found.blocking] == [d.number]

    with pytest.raises(ms.BadDebtHold, match="unpaid final balance \\$120.00.*Acknowledge the hit") as e:
        ms.open_account(msr, loc.id, ap, today=TODAY)
    assert e.value.field == "bad_debt" and e.value.audit.hits[0].account_number == d.number
    with pytest.raises(ms.BadDebtHold, match="A supervisor must override"):
        ms.open_account(msr, loc.id, ap, acknowledged=True, today=TODAY)
    with pytest.raises(PermissionDenied, match="Only a supervisor may override .*msr1 \\(msr\\)"):
        ms.open_account(msr, loc.id, ap, acknowledged=True, override=ms.Override(msr, "I say so"), today=TODAY)
    with pytest.raises(ValidationError, match="needs a reason") as e:
        ms.open_account(msr, loc.id, ap, acknowledged=True, override=ms.Override(supervisor, " "), today=TODAY)
    assert e.value.field == "override_reason"
    assert db.Account.select().count() == 1 and db.Member.select().count() == 1   # nothing written so far

    r = ms.open_account(msr, loc.id, ap, acknowledged=True,
                        override=ms.Override(supervisor, "Paid in full at the counter, receipt 5512"), today=TODAY)
    assert r.overridden_by == "super" and r.audit.blocking
    row = db.AuditLog.get(db.AuditLog.action == "bad_debt.override")
    assert (row.operator.username, row.after, row.account_id) == \
        ("super", "Paid in full at the counter, receipt 5512", r.account_id)
    assert str(d.number) in row.before
    assert "(acknowledged)" in db.AuditLog.get(db.AuditLog.action == "bad_debt.audit").after
    assert db.AuditLog.get(db.AuditLog.action == "account.open").operator.username == "msr1"


def test_weak_hit_needs_only_the_acknowledgement(database, msr):
    _debtor()
    loc = _location(msr)
    ap = _applicant(first_name="Ada", last_name="Lovelace", birth_date=None, tax_id="")   # the name alone
    with pytest.raises(ms.BadDebtHold, match="Acknowledge"):
        ms.open_account(msr, loc.id, ap, today=TODAY)
    r = ms.open_account(msr, loc.id, ap, acknowledged=True, today=TODAY)
    assert r.overridden_by == "" and r.audit.owing and not r.audit.blocking


def test_paid_hits_and_the_new_address_do_not_hold(database, msr):
    paid = factories.account(status="closed", bills=(5000,), payments=(5000,), closed=dt.date(2025, 1, 1))
    r = ms.open_account(msr, paid.location_id, _applicant(first_name="Ada", last_name="Lovelace", tax_id="",
                                                           mail_street=""), today=TODAY)
    assert r.audit.hits and not r.audit.owing
    # The previous occupant's debt at the address applied for is not the applicant's.
    owed = _debtor(first="Bob", last="Prior", phone="2085550155", street="5 Birch Ln")
    found = ms.bad_debt_audit("Carl New", prior_addresses=["5 Birch Ln"], location_id=owed.location_id)
    assert found.hits == []


def test_existing_member_second_account(database, msr, supervisor):
    a = factories.account(bills=(10000,))
    loc = _location(msr)
    r = ms.open_account(msr, loc.id, member_id=a.member_id, rate_class="SGS", today=TODAY)
    assert not r.new_member and r.member_id == a.member_id and r.membership_fee_cents == 0
    assert [k for k, _, _ in _ledger(r.account_id)] == ["deposit"]
    assert db.Account.get_by_id(r.account_id).rate_class == "SGS"
    # An own final account that still owes holds the next one.
    db.Account.update(status="final").where(db.Account.id == a.id).execute()
    with pytest.raises(ms.BadDebtHold, match=str(a.number)):
        ms.open_account(msr, _location(msr, "3 Fir St").id, member_id=a.member_id, acknowledged=True,
                        today=TODAY)
    with pytest.raises(ValidationError, match="not both"):
        ms.open_account(msr, loc.id, _applicant(), member_id=a.member_id)


def test_add_location_refuses_a_duplicate(database, msr):
    _location(msr)
    with pytest.raises(ValidationError, match="already location") as e:
        _location(msr, street="77 PINE ST")
    assert e.value.field == "street"
    assert [i.address for i in ms.find_locations("pine")] == ["77 Pine St, Hayden, ID 83835"]


def test_a_returning_member_gets_a_new_account_of_the_same_membership(database, msr):
    first = ms.open_account(msr, _location(msr).id, _applicant(), today=TODAY)
    # Paid up and gone: the account is closed with nothing owed.
    fees.post(msr, first.account_id, "payment", -20_500, "Payment", reference="chk 1", effective=TODAY)
    db.Account.update(status="closed", closed=TODAY).where(db.Account.id == first.account_id).execute()
    members = db.Member.select().count()

    loc = _location(msr, "3 Fir St")
    found = ms.audit_applicant(_applicant(phone_mobile="2085550111"), loc.id)
    assert found.returning.member_id == first.member_id and not found.owing
    assert f"none owes: account {first.account_number} (Hopper, Grace, closed) matched by" in found.summary()
    r = ms.open_account(msr, loc.id, _applicant(phone_mobile="2085550111"), today=TODAY)
    assert (r.member_id, r.member_no, r.new_member, r.membership_fee_cents) == \
        (first.member_id, first.member_no, False, 0)
    assert db.Member.select().count() == members
    assert [k for k, _, _ in _ledger(r.account_id)] == ["deposit"]          # no second membership fee
    row = db.AuditLog.get(db.AuditLog.action == "member.returning")
    assert str(first.account_number) in row.after and "123456789" not in row.after


def test_same_tax_id_with_another_birth_date_is_not_a_returning_member(database, msr):
    first = ms.open_account(msr, _location(msr).id, _applicant(), today=TODAY)
    loc = _location(msr, "3 Fir St")
    ap = _applicant(first_name="Greta", birth_date=dt.date(1981, 6, 6))
    found = ms.audit_applicant(ap, loc.id)
    assert found.hits and found.returning is None
    r = ms.open_account(msr, loc.id, ap, acknowledged=True, today=TODAY)
    assert r.new_member and r.member_id != first.member_id and r.membership_fee_cents == fees.MEMBERSHIP_FEE_CENTS
