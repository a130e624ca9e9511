import peewee as pw

from kec_tui import db
from tests.services import billing_data as data


def test_migrate_adds_a_column_added_to_a_model(database):
    """A database made before a field existed gets the column on the next start."""
    db.database.execute_sql('ALTER TABLE account DROP COLUMN "budget_billing"')
    assert "budget_billing" not in {c.name for c in db.database.get_columns("account")}
    db.migrate()
    assert "budget_billing" in {c.name for c in db.database.get_columns("account")}
    assert db.schema_version() == db.SCHEMA_VERSION


def test_newer_schema_is_refused_with_a_message(database):
    db.set_meta("schema_version", str(db.SCHEMA_VERSION + 1))
    try:
        db.migrate()
    except db.DatabaseUnavailable as e:
        assert "Upgrade kec-tui" in str(e)
    else:
        raise AssertionError("a newer schema must be refused")


def test_unreachable_database_has_a_clear_message():
    try:
        db.connect("postgresql://postgres@127.0.0.1:1/none")
    except db.DatabaseUnavailable as e:
        assert "Cannot open the database" in str(e) and "127.0.0.1:1" in str(e)
    else:
        raise AssertionError("expected DatabaseUnavailable")
    assert isinstance(db.make_database("/tmp/x.db"), pw.SqliteDatabase)


def test_new_column_with_an_index_is_added_before_its_index(database):
    """An older database lacking a column that a new index covers still opens."""
    if not db.is_postgres():
        import pytest
        pytest.skip("SQLite cannot drop a foreign-key column to rebuild the old schema; PostgreSQL shows it")
    db.database.execute_sql('DROP INDEX IF EXISTS "account_transferred_to_id"')
    db.database.execute_sql('ALTER TABLE account DROP COLUMN "transferred_to_id"')
    db.migrate()
    assert "transferred_to_id" in {c.name for c in db.database.get_columns("account")}


def test_in_place_changes_to_readings_and_ledger_entries_are_counted(database):
    """The billing run's commit trusts its preview only while this count holds still."""
    a = data.account(kwh=800)
    n = db.in_place_changes()
    db.Reading.create(account=a, meter=a.meter, read_date=data.THIS_READ, reading=1, kwh=1)  # an addition
    db.LedgerEntry.create(account=a, effective=data.THIS_READ, kind="payment", amount_cents=-1, description="x")
    assert db.in_place_changes() == n
    db.Reading.update(kwh=2).where(db.Reading.account == a.id).execute()
    assert db.in_place_changes() > n
    n = db.in_place_changes()
    db.LedgerEntry.delete().where(db.LedgerEntry.account == a.id, db.LedgerEntry.kind == "payment").execute()
    assert db.in_place_changes() > n


def test_a_version_1_database_gets_the_change_count_on_migrate(database):
    data.account(kwh=800)
    if db.is_postgres():
        for table in db.CHANGE_COUNTED:
            db.database.execute_sql(f"DROP TRIGGER {table}_changed ON {table}")
    else:
        for table in db.CHANGE_COUNTED:
            db.database.execute_sql(f"DROP TRIGGER {table}_updated")
            db.database.execute_sql(f"DROP TRIGGER {table}_deleted")
        db.database.execute_sql("DELETE FROM kec_meta WHERE key = 'in_place_changes'")
    db.set_meta("schema_version", "1")
    n = db.in_place_changes()
    db.migrate()
    assert db.schema_version() == 2
    db.database.execute_sql("UPDATE reading SET kwh = kwh")
    assert db.in_place_changes() > n


def test_the_ledger_and_readings_are_found_by_account_through_their_composite_indexes(database):
    """No single-column account index beside (account, effective) and (account, read_date): the
    composite ones serve every look-up by account, and one index less is kept up on each write."""
    indexes = {t: {i.name for i in db.database.get_indexes(t)} for t in ("ledger_entry", "reading")}
    assert "ledger_entry_account_id" not in indexes["ledger_entry"]
    assert "ledger_entry_account_id_effective" in indexes["ledger_entry"]
    assert "reading_account_id" not in indexes["reading"] and "reading_account_id_read_date" in indexes["reading"]
    if not db.is_postgres():
        for sql, index in (("SELECT SUM(amount_cents) FROM ledger_entry WHERE account_id = 1",
                            "ledger_entry_account_id_effective"),
                           ("SELECT * FROM reading WHERE account_id = 1 ORDER BY read_date DESC LIMIT 1",
                            "reading_account_id_read_date")):
            plan = " ".join(str(r) for r in db.database.execute_sql("EXPLAIN QUERY PLAN " + sql).fetchall())
            assert index in plan, plan


def test_a_version_1_database_loses_the_redundant_account_indexes_on_migrate(database):
    db.database.execute_sql("CREATE INDEX ledger_entry_account_id ON ledger_entry (account_id)")
    db.database.execute_sql("CREATE INDEX reading_account_id ON reading (account_id)")
    db.set_meta("schema_version", "1")
    db.migrate()
    assert "ledger_entry_account_id" not in {i.name for i in db.database.get_indexes("ledger_entry")}
    assert "reading_account_id" not in {i.name for i in db.database.get_indexes("reading")}
