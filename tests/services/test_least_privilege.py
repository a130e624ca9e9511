"""PostgreSQL with least privilege: an owner role makes the schema (`kec-tui migrate`) and
grants; the application's role, with no DDL and only INSERT and SELECT on the ledger, the audit
log and the seals, runs the work (sign-in, keying and posting a batch, a contact change, seals)
and cannot change or delete a ledger or audit row."""
import datetime as dt
import os

import pytest

from kec_tui import db
from kec_tui.services import batches, contacts, operators, passwords, seals, sign_in_guard
from tests import factories
from tests.conftest import PG_BASE, _admin, pg_url
from tests.support.batch import open_batch

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(request):
    pg_url("main")                     # skips (or fails in CI) with a clear reason when no server answers
    tag = os.getpid()
    owner, app, name = f"kec_owner_{tag}", f"kec_app_{tag}", f"kec_lp_{tag}"
    for role in (owner, app):
        _admin(f"DROP ROLE IF EXISTS {role}")
    _admin(f"CREATE ROLE {owner} LOGIN")
    _admin(f"CREATE ROLE {app} LOGIN")
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}" OWNER {owner}')
    host = PG_BASE.split("@", 1)[1].rsplit("/", 1)[0]
    yield f"postgresql://{owner}@{host}/{name}", f"postgresql://{app}@{host}/{name}", app
    if not db.database.is_closed():
        db.database.close()
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for role in (app, owner):
        _admin(f"DROP ROLE IF EXISTS {role}")


def _admin_in(roles, sql: str) -> None:
    """Run `sql` as the database's owner, beside the application's connection."""
    import psycopg2

    conn = psycopg2.connect(roles[0])
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def refused(sql: str) -> str:
    with pytest.raises(Exception) as err:
        with db.database.atomic():
            db.database.execute_sql(sql)
    return str(err.value)


def test_the_application_runs_with_insert_and_select_only_on_the_books(roles):
    owner_url, app_url, app_role = roles
    db.connect(owner_url)                         # the owner's `kec-tui migrate`
    db.grant_application_role(app_role)
    db.database.close()

    db.connect(app_url)                           # the application: no DDL on a current schema
    boss = operators.create("boss", "Sam Super", "supervisor")
    passwords.set_password("boss", "boss-password-long")
    assert sign_in_guard.evaluate("boss", "boss-password-long", "10.0.0.1", "test").username == "boss"
    acct = factories.account(bills=[12_345])
    b = open_batch(boss, count=1, total_cents=12_345)
    batches.key_line(boss, b.id, str(acct.number), 12_345)
    batches.post_batch(boss, b.id)
    contacts.update_contacts(boss, acct.member_id, {"phone_home": "2085550199"})
    assert db.LedgerEntry.select().where(db.LedgerEntry.account == acct.id).count() == 2
    assert db.AuditLog.select().count() >= 2
    seals.seal(bytes(32), now=dt.datetime.now() + dt.timedelta(hours=1))
    assert seals.verify(bytes(32)).ok

    # readings changed in place are counted (the billing commit's check), also by a role granted
    # before the counter existed
    _admin_in(roles, f"REVOKE ALL ON SEQUENCE kec_in_place_changes FROM {app_role}")
    n = db.in_place_changes()
    db.Reading.create(account=acct, meter=acct.meter, read_date=dt.date(2026, 1, 2), reading=10, kwh=10)
    db.Reading.update(kwh=11).where(db.Reading.account == acct.id).execute()
    assert db.in_place_changes() > n

    assert "permission denied" in refused("UPDATE ledger_entry SET amount_cents = 1")
    assert "permission denied" in refused("DELETE FROM ledger_entry")
    assert "permission denied" in refused("UPDATE audit_log SET after = ''")
    assert "permission denied" in refused("DELETE FROM audit_log")
    assert "permission denied" in refused("TRUNCATE seal")
    assert "must be owner" in refused("DROP TABLE ledger_entry")
    assert "permission denied" in refused("CREATE TABLE evil (id int)")
    db.database.close()


def test_grant_refuses_a_bad_role_name(roles):
    owner_url, _, _ = roles
    db.connect(owner_url)
    with pytest.raises(db.DatabaseUnavailable):
        db.grant_application_role("app; DROP TABLE ledger_entry")
    db.database.close()
