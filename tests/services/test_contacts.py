import pytest

from kec_tui import db
from kec_tui.services import accounts, audit, contacts, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories


def test_phone_change_is_audited_and_searchable(database, msr):
    a = factories.account(phone="2085550100")
    changed = contacts.update_contacts(msr, a.member_id, {"phone_home": "(208) 555-7777"}, account_id=a.id)
    assert changed == ["phone_home"]
    assert db.Member.get_by_id(a.member_id).phone_home == "2085557777"
    row = audit.for_account(a.id)[0]
    assert (row.operator, row.field, row.before, row.after) == ("msr1", "phone_home", "2085550100", "2085557777")
    assert [h.number for h in accounts.lookup("555-7777").hits] == [a.number]
    assert accounts.lookup("2085550100").hits == []


def test_unchanged_values_write_nothing(database, msr):
    a = factories.account(phone="2085550100")
    assert contacts.update_contacts(msr, a.member_id, {"phone_home": "208-555-0100"}) == []
    assert db.AuditLog.select().count() == 0


@pytest.mark.parametrize("field,value,needle", [
    ("phone_home", "555-12", "10 digits"), ("phone_mobile", "abc", "digits only"),
    ("phone_work", "(108) 555-1234", "not a valid"), ("email", "bob@", "not an e-mail"),
    ("email", "bob@@x.com", "not an e-mail"), ("mail_zip", "8381", "5 digits"), ("mail_state", "XX", "two-letter"),
    ("mail_street", "", "required"), ("preferred_contact", "pigeon", "one of"),
])
def test_invalid_values_name_the_field(database, msr, field, value, needle):
    a = factories.account()
    with pytest.raises(ValidationError) as e:
        contacts.update_contacts(msr, a.member_id, {field: value})
    assert e.value.field == field and needle in e.value.message
    assert db.AuditLog.select().count() == 0


def test_preferred_email_needs_an_email(database, msr):
    a = factories.account(email="")
    with pytest.raises(ValidationError, match="no e-mail"):
        contacts.update_contacts(msr, a.member_id, {"email": "", "preferred_contact": "email"})


def test_stale_edit_is_refused(database, msr):
    a = factories.account(phone="2085550100")
    contacts.update_contacts(msr, a.member_id, {"phone_home": "2085551111"})
    with pytest.raises(contacts.StaleEdit, match="someone else"):
        contacts.update_contacts(msr, a.member_id, {"phone_home": "2085552222"},
                                 original={"phone_home": "2085550100"})


def test_role_is_checked_in_the_service(database):
    billing = operators.create("bill1", "Bea Biller", "billing")
    a = factories.account()
    with pytest.raises(PermissionDenied):
        contacts.update_contacts(billing, a.member_id, {"phone_home": "2085557777"})


def test_authorized_people_add_remove_audited(database, msr):
    a = factories.account()
    pid = contacts.add_authorized(msr, a.member_id, "Grace Hopper", "spouse", "208-555-3333", account_id=a.id)
    assert accounts.view(a.id).contact.authorized[0][1] == "Grace Hopper"
    contacts.remove_authorized(msr, pid, account_id=a.id)
    assert accounts.view(a.id).contact.authorized == []
    assert [r.action for r in audit.for_account(a.id)] == ["authorized.remove", "authorized.add"]
    with pytest.raises(ValidationError):
        contacts.add_authorized(msr, a.member_id, "  ")
