"""Many MSRs at once: real simultaneous connections (threads, each with its own
connection), on SQLite and PostgreSQL. Nothing an MSR saved is lost or doubled."""
import datetime as dt

from kec_tui import db
from kec_tui.checkdigit import valid_account_number
from kec_tui.services import accounts, batches, contacts, lockbox, memberships as ms, operators, orders
from kec_tui.services.errors import ServiceError
from tests import factories
from tests.support.concurrency import at_once  # noqa: F401 - other tests import it from here

TODAY = dt.date(2025, 6, 2)


def test_two_msrs_edit_one_members_contacts(database, msr):
    other = operators.create("msr2", "Other MSR", "msr")
    a = factories.account(phone="2085550100", email="old@example.com")
    shown = {"phone_home": "2085550100", "email": "old@example.com"}
    # Different fields at the same moment: both land.
    r = at_once(lambda: contacts.update_contacts(msr, a.member_id, {"phone_home": "2085551111"}, original=shown),
                lambda: contacts.update_contacts(other, a.member_id, {"email": "new@example.com"}, original=shown))
    assert r == [["phone_home"], ["email"]]
    m = db.Member.get_by_id(a.member_id)
    assert (m.phone_home, m.email) == ("2085551111", "new@example.com")
    # The same field from the same screen state: one lands, the other is told, nothing is overwritten silently.
    shown = {"phone_home": "2085551111"}
    r = at_once(lambda: contacts.update_contacts(msr, a.member_id, {"phone_home": "2085552222"}, original=shown),
                lambda: contacts.update_contacts(other, a.member_id, {"phone_home": "2085553333"}, original=shown))
    saved = [x for x in r if x == ["phone_home"]]
    refused = [x for x in r if isinstance(x, ServiceError)]
    assert len(saved) == 1 and len(refused) == 1, r
    assert "someone else" in refused[0].message
    final = db.Member.get_by_id(a.member_id).phone_home
    changes = [(row.before, row.after) for row in db.AuditLog.select().where(db.AuditLog.field == "phone_home")
               .order_by(db.AuditLog.id)]
    assert changes[-1][1] == final and len(changes) == 2     # the audit trail matches what is stored


def test_two_batches_post_to_one_account_at_once(database, msr):
    a = factories.account(bills=[50000])
    one = batches.open_batch(msr, "check", 1, 12345)
    two = batches.open_batch(msr, "check", 1, 20000)
    batches.key_line(msr, one.id, str(a.number), 12345, "101")
    batches.key_line(msr, two.id, str(a.number), 20000, "202")
    r = at_once(lambda: batches.post_batch(msr, one.id), lambda: batches.post_batch(msr, two.id))
    assert all(not isinstance(x, Exception) for x in r), r
    assert accounts.balance(a.id) == 50000 - 12345 - 20000
    payments = sorted(-e.amount_cents for e in db.LedgerEntry.select().where(
        db.LedgerEntry.account == a.id, db.LedgerEntry.kind == "payment"))
    assert payments == [12345, 20000]


# ---- numbers: many MSRs open a batch, an order, an account at the same instant -------------------

def consecutive(numbers: list[int]) -> bool:
    return sorted(numbers) == list(range(min(numbers), min(numbers) + len(numbers)))


def test_twenty_msrs_open_a_batch_at_the_same_instant(database, msr):
    r = at_once(*[lambda i=i: batches.open_batch(msr, "check", 1, 100 + i) for i in range(20)])
    assert all(isinstance(x, batches.BatchInfo) for x in r), r
    numbers = [b.number for b in r]
    assert consecutive(numbers) and min(numbers) == batches.BATCH_NUMBER_START, sorted(numbers)
    # Each number went to the batch it was reported for.
    assert {b.number: b.control_total_cents for b in r} == \
        {row.number: row.control_total_cents for row in db.PaymentBatch.select()}


def test_lockbox_imports_and_keyed_batches_open_at_the_same_instant(database, msr, tmp_path):
    accts = [factories.account(bills=(10000,)) for _ in range(5)]
    files = []
    for i, a in enumerate(accts):       # five bank files, each one payment
        files.append(tmp_path / f"lockbox-{i}.csv")
        files[-1].write_text(f"Account,Amount,Check Number\r\n{a.number},{10 + i}.00,{500 + i}\r\n")
    r = at_once(*[lambda f=f: lockbox.import_file(msr, f) for f in files],
                *[lambda i=i: batches.open_batch(msr, "check", 1, 100 + i) for i in range(5)])
    assert not [x for x in r if isinstance(x, Exception)], r
    numbers = [batches.get_batch(x.batch_id).number for x in r[:5]] + [b.number for b in r[5:]]
    assert consecutive(numbers) and min(numbers) == batches.BATCH_NUMBER_START, sorted(numbers)


def test_twenty_msrs_open_an_order_at_the_same_instant(database, msr):
    accts = [factories.account(base=20000 + i) for i in range(20)]
    r = at_once(*[lambda a=a: orders.create_order(msr, a.id, "meter_test") for a in accts])
    assert all(isinstance(x, orders.OrderInfo) for x in r), r
    numbers = [o.order_no for o in r]
    assert consecutive(numbers) and min(numbers) == orders.ORDER_NO_START, sorted(numbers)


def test_twenty_msrs_add_a_location_and_open_an_account_at_the_same_instant(database, msr):
    r = at_once(*[lambda i=i: ms.add_location(msr, f"{100 + i} Elm St", "Hayden", "83835") for i in range(20)])
    assert all(isinstance(x, ms.LocationInfo) for x in r), r
    assert consecutive([loc.location_no for loc in r])
    r = at_once(*[lambda loc=loc, i=i: ms.open_account(msr, loc.id, _applicant(i), acknowledged=True, today=TODAY)
                  for i, loc in enumerate(r)])
    assert all(isinstance(x, ms.OpenedAccount) for x in r), r
    assert consecutive([x.member_no for x in r])
    assert all(valid_account_number(str(x.account_number)) for x in r)      # the check digit is kept
    assert consecutive([x.account_number // 10 for x in r])
    assert consecutive([x.connect_order_no for x in r])
    assert len({x.account_id for x in r}) == 20 == db.Account.select().count()


def _applicant(i: int) -> ms.Applicant:
    return ms.Applicant(first_name=f"Applicant{chr(65 + i)}", last_name=f"Newmember{chr(65 + i)}", tax_id="",
                        birth_date=dt.date(1980, 1, 1 + i), phone_mobile=f"208555{1000 + i}",
                        mail_street=f"PO Box {i + 1}", mail_city="Hayden", mail_state="ID", mail_zip="83835")


def _forget_sequences() -> None:
    """Make the database look like one made before numbers had sequences."""
    if db.is_postgres():
        for n in db.NUMBERINGS:
            db.database.execute_sql(f"DROP SEQUENCE {n.sequence}")


def test_numbers_continue_above_the_existing_ones_after_migration(database, msr):
    a = factories.account(base=154321)
    db.ServiceOrder.create(order_no=612345, account=a.id, kind="other")
    db.PaymentBatch.create(number=7000, batch_date=TODAY, tender="check", operator=msr.id,
                           control_count=1, control_total_cents=1)
    _forget_sequences()
    db.migrate()
    assert batches.open_batch(msr, "check", 1, 100).number == 7001
    assert orders.create_order(msr, a.id, "meter_test").order_no == 612346
    loc = ms.add_location(msr, "1 Oak St", "Hayden", "83835")
    assert loc.location_no == 154322
    opened = ms.open_account(msr, loc.id, _applicant(0), acknowledged=True, today=TODAY)
    assert (opened.member_no, opened.account_number // 10) == (154322, 154322)
    assert valid_account_number(str(opened.account_number))
    # Rows loaded in bulk (not through the sequence): a number already in use is passed over,
    # and the next start continues above the highest.
    for number in (7002, 7500):
        db.PaymentBatch.create(number=number, batch_date=TODAY, tender="check", operator=msr.id,
                               control_count=1, control_total_cents=1)
        if number == 7500:
            db.migrate()
        assert batches.open_batch(msr, "check", 1, 100).number == number + 1
