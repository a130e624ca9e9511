"""Seals over the ledger and the audit log: an untouched database verifies; a changed amount, a
deleted row, a row inserted behind a seal and an altered or removed seal are each found."""
import datetime as dt
import threading

import pytest

from kec_tui import db
from kec_tui.services import audit, operators, seals
from tests import factories

KEY = bytes(range(32))
LATER = dt.datetime.now() + dt.timedelta(hours=1)     # every row is older than the margin


@pytest.fixture
def books(database):
    op = operators.create("msr1", "Pat Keyer", "msr")
    accounts = [factories.account(first=f"A{i}", last="Member", bills=[10_000 + i, 12_000], payments=[10_000 + i])
                for i in range(5)]
    for a in accounts:
        audit.record(op, "contact.update", "member", a.member_id, account_id=a.id, field="phone_home",
                     before="2085550100", after="2085550199")
    return accounts


def sealed() -> seals.Report:
    seals.seal(KEY, now=LATER)
    return seals.verify(KEY)


def test_an_untouched_database_verifies(books):
    report = sealed()
    ledger = db.LedgerEntry.select().count()
    assert report.ok and report.rows == {"ledger": ledger, "audit": db.AuditLog.select().count()}
    assert ledger == 15 and report.unsealed == {"ledger": 0, "audit": 0} and report.heads["ledger"]
    # New rows are sealed by the next seal, chained to the last.
    factories.account(first="New", last="Member", bills=[5_000])
    assert seals.verify(KEY).unsealed["ledger"] == 1
    report = sealed()
    assert report.ok and report.rows["ledger"] == 16 and db.Seal.select().where(db.Seal.kind == "ledger").count() == 2


def test_young_rows_wait_for_the_next_seal(books):
    result = seals.seal(KEY)                  # everything was written just now: under the margin
    assert result.rows == {"ledger": 0, "audit": 0}
    assert seals.verify(KEY).unsealed["ledger"] == 15


def test_a_changed_amount_is_found_by_its_row(books):
    sealed()
    victim = db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").order_by(db.LedgerEntry.id)[2]
    db.database.execute_sql("UPDATE ledger_entry SET amount_cents = amount_cents + 100 WHERE id = %s"
                            if db.is_postgres() else "UPDATE ledger_entry SET amount_cents = amount_cents + 100 "
                            "WHERE id = ?", (victim.id,))
    report = seals.verify(KEY)
    assert not report.ok
    assert [(p.kind, p.row_id, p.what) for p in report.problems] == [("ledger", victim.id, "changed")]


def test_a_deleted_row_is_found(books):
    sealed()
    victim = db.AuditLog.select().order_by(db.AuditLog.id)[1]
    db.AuditLog.delete().where(db.AuditLog.id == victim.id).execute()
    report = seals.verify(KEY)
    assert [(p.kind, p.row_id, p.what) for p in report.problems] == [("audit", victim.id, "deleted")]


def test_a_row_inserted_behind_the_seal_is_found(books):
    gap = db.LedgerEntry.select().order_by(db.LedgerEntry.id)[7]
    data = dict(gap.__data__)
    db.LedgerEntry.delete().where(db.LedgerEntry.id == gap.id).execute()   # a gap, as a rolled-back id leaves
    sealed()
    db.LedgerEntry.insert(**data).execute()                                  # a row slipped into it later
    report = seals.verify(KEY)
    assert [(p.kind, p.row_id, p.what) for p in report.problems] == [("ledger", gap.id, "inserted")]


def test_an_altered_or_removed_seal_and_a_wrong_key_are_found(books):
    seals.seal(KEY, now=LATER)
    factories.account(first="New", last="Member", bills=[5_000])
    seals.seal(KEY, now=LATER)
    first, second = db.Seal.select().where(db.Seal.kind == "ledger").order_by(db.Seal.first_id)
    assert seals.verify(bytes(32)).problems[0].what == "seal"            # made without this key
    # Rewriting a row and its link together still breaks the seal's HMAC.
    row = db.LedgerEntry.get_by_id(first.first_id)
    links = bytearray(first.links)
    db.LedgerEntry.update(amount_cents=row.amount_cents + 1).where(db.LedgerEntry.id == row.id).execute()
    values = db.LedgerEntry.select(*db.LedgerEntry._meta.sorted_fields).where(
        db.LedgerEntry.id == row.id).tuples().get()
    links[8:16] = seals._row_hash(values)
    db.Seal.update(links=bytes(links)).where(db.Seal.id == first.id).execute()
    report = seals.verify(KEY)
    assert [(p.row_id, p.what) for p in report.problems] == [(first.first_id, "seal")]
    db.Seal.delete().where(db.Seal.id == first.id).execute()
    report = seals.verify(KEY)
    assert any(p.what == "seal" and "chain" in p.detail for p in report.problems)


def test_two_sealers_at_once_seal_each_row_once(books):
    errors = []

    def run():
        try:
            seals.seal(KEY, now=LATER)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = seals.verify(KEY)
    assert report.ok and report.rows["ledger"] == 15
    assert db.Seal.select().where(db.Seal.kind == "ledger").count() == 1


def test_the_key_file(tmp_path):
    path = tmp_path / "keys" / "seal.key"
    with pytest.raises(seals.SealKeyError):
        seals.load_key(path)
    key = seals.load_key(path, create=True)
    assert len(key) == 32 and seals.load_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("not a key")
    with pytest.raises(seals.SealKeyError):
        seals.load_key(path)
