"""Keystroke statistics: counting in memory, active time, flushing per day, the supervisors' report."""
import datetime as dt
from types import SimpleNamespace

import pytest

from kec_tui import db
from kec_tui.keycounter import KeyCounter
from kec_tui.services import audit, keystats, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from kec_tui.widgets.entry_form import EntryForm, FieldSpec

DAY = dt.date(2025, 11, 28)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.day = DAY

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def counter(op_id, clock: Clock, keymap=None) -> KeyCounter:
    return KeyCounter(op_id, keymap, clock=clock, today=lambda: clock.day)


def entry_form() -> EntryForm:
    return EntryForm([FieldSpec("amount", "Amount", "money", 9)])


def key(k: str):
    return SimpleNamespace(key=k)


def test_counts_keys_corrections_and_active_time_without_a_database():
    clock = Clock()
    c = counter(None, clock)
    form = entry_form()
    for k in "12345":
        c.observe(key(k), form)
        clock.advance(0.2)
    c.observe(key("backspace"), None)        # anywhere
    clock.advance(0.2)
    c.observe(key("ctrl+e"), form)           # Erase Input in a form
    clock.advance(0.2)
    c.observe(key("up"), form)               # Field Back in a form
    clock.advance(0.2)
    c.observe(key("up"), object())           # Up in a list is not a correction
    clock.advance(90)                        # a pause: not active time
    c.observe(SimpleNamespace(text="2085551234"), None)
    (day, counts), = c.pending().items()
    assert day == DAY
    assert (counts.keys, counts.corrections, counts.pastes, counts.pasted_chars) == (9, 3, 1, 10)
    assert counts.active_ms == 8 * 200       # 8 gaps of 0.2 s; the 90 s gap is left out


def test_a_rebound_erase_key_counts_as_a_correction():
    clock = Clock()
    c = counter(None, clock, keymap={"entry_form.erase_input": "f12", "entry_form.field_back": "shift+tab"})
    c.observe(key("f12"), entry_form())
    c.observe(key("ctrl+e"), entry_form())
    assert c.pending()[DAY].corrections == 1


def test_flush_adds_to_one_row_per_operator_and_day(database):
    op = operators.create("msr1", "Pat Keyer", "msr")
    clock = Clock()
    c = counter(op.id, clock)
    for _ in range(10):
        c.key("1")
        clock.advance(1)
    assert c.flush() == 1
    assert c.flush() == 0                    # nothing new: no write
    other_session = counter(op.id, Clock())  # a second session of the same operator the same day
    for _ in range(5):
        other_session.key("backspace", correction=True)
    other_session.flush()
    clock.day = DAY + dt.timedelta(days=1)   # past midnight: a new row
    clock.advance(1)
    c.key("2")
    c.flush()
    rows = {r.day: r for r in db.KeyStats.select().where(db.KeyStats.operator == op.id)}
    assert (rows[DAY].keys, rows[DAY].corrections, rows[DAY].active_ms) == (15, 5, 9000)
    assert rows[DAY + dt.timedelta(days=1)].keys == 1
    assert rows[DAY + dt.timedelta(days=1)].active_ms == 2000   # the gap across midnight counts on the new day


def test_a_failed_flush_keeps_the_counts(sqlite_db, tmp_path):
    import peewee

    op = operators.create("msr1", "Pat Keyer", "msr")
    c = counter(op.id, Clock())
    c.key("1")
    db.database.close()                      # the database went away (a directory is no database)
    db.database.initialize(peewee.SqliteDatabase(str(tmp_path)))
    c.flush()
    assert c.pending()[DAY].keys == 1 and c.last_error
    db.connect(sqlite_db)
    c.flush()
    assert db.KeyStats.get().keys == 1 and not c.pending()


def test_flush_in_a_thread_uses_its_own_connection(sqlite_db):
    import threading

    op = operators.create("msr1", "Pat Keyer", "msr")
    c = counter(op.id, Clock())
    c.key("1")

    def run(write):
        t = threading.Thread(target=write)
        t.start()
        t.join()

    c.flush(run)
    assert db.KeyStats.get().keys == 1
    assert not db.database.is_closed()       # the main thread's connection stays open


def test_report_for_supervisors_only(database):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    boss = operators.create("super", "Sam Boss", "supervisor")
    with pytest.raises(PermissionDenied, match="supervisors"):
        keystats.report(msr)
    with pytest.raises(ValidationError):
        keystats.report(boss, days=0)
    assert keystats.report(boss, today=DAY) == []


def test_report_rates_days_and_line_corrections(database):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    msr2 = operators.create("msr2", "Casey Lind", "msr")
    boss = operators.create("super", "Sam Boss", "supervisor")
    old = DAY - dt.timedelta(days=10)
    keystats.add_counts(msr.id, {DAY: keystats.Counts(keys=9000, corrections=270, active_ms=3_600_000),
                                 old: keystats.Counts(keys=5, active_ms=1000)})
    keystats.add_counts(msr2.id, {DAY - dt.timedelta(days=1): keystats.Counts(keys=40, active_ms=30_000)})
    at = dt.datetime.combine(DAY, dt.time(10, 0))
    for i in range(2):                       # a line changed in two fields at once counts once
        db.AuditLog.create(at=at, operator=msr.id, action="batch_line.update", entity="batch_line", entity_id=7,
                           field=["account", "amount"][i])
    audit.record(msr, "batch_line.void", "batch_line", 8)      # today (real clock): outside the period
    db.AuditLog.update(at=at).where(db.AuditLog.action == "batch_line.void").execute()
    rows = keystats.report(boss, days=7, today=DAY)
    assert [(r.day, r.username) for r in rows] == [(DAY, "msr1"), (DAY - dt.timedelta(days=1), "msr2")]
    r = rows[0]
    assert (r.keys_per_hour, r.correction_rate, r.line_corrections) == (9000, 0.03, 2)
    assert rows[1].keys_per_hour is None     # under a minute of active time: no honest rate
    text = keystats.table_text(rows, 7)
    assert "9,000" in text and "3.0%" in text and "msr2" in text and "7 days" in text
    assert keystats.report(boss, days=30, today=DAY, operator="MSR1")[-1].day == old
