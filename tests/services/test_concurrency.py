"""Many MSRs at once: real simultaneous connections (threads, each with its own
connection), on SQLite and PostgreSQL. Nothing an MSR saved is lost or doubled."""
import threading

from kec_tui import db
from kec_tui.services import accounts, batches, contacts, operators
from kec_tui.services.errors import ServiceError
from tests import factories


def at_once(*jobs) -> list:
    """Run each job in its own thread and connection, released together; return what each gave or raised."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        with db.database.connection_context():
            barrier.wait()
            try:
                results[i] = job()
            except Exception as exc:  # noqa: BLE001 - the test looks at what happened
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


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
