"""The reading exceptions queue (services/readings.py): a page of open exceptions with whose they
are, accept / correct / re-read each, and the AMI import's progress and refused lines."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import operators, readings
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from tests import factories

DAY = dt.date(2025, 5, 1)


@pytest.fixture
def biller(database):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def meters(database):
    """Three accounts, each with a last reading of 3,000 (03/12/2025)."""
    return [factories.account(first=f"Queue{i}", last=f"Member{i}", bills=(5_000, 5_000, 5_000), bill_cycle=2)
            for i in range(3)]


def ami(accts, *rows: str) -> str:
    return "meter,read_at,reading\n" + "".join(r + "\n" for r in rows)


def test_the_queue_shows_whose_each_exception_is_and_why_in_words(meters, biller):
    a, b, _ = meters
    text = ami(meters, f"{a.meter.meter_no},2025-05-01T06:00,2500", "NOPE1,2025-05-01,123",
               f"{b.meter.meter_no},2025-05-01,12x")
    r = readings.import_ami_csv(biller, text, "route2.csv")
    assert (r.rows, r.saved, r.exceptions, r.refused) == (3, 0, 3, 2)
    assert [(x.line, x.codes, x.queued) for x in r.lines] == [(2, ("lower",), True), (3, ("meter",), True),
                                                              (4, ("reading",), True)]
    assert readings.open_exception_count() == 3
    rows = readings.exception_rows()
    first = rows[0]
    assert (first.meter_no, first.account_number, first.name, first.reading_text) == (
        a.meter.meter_no, a.number, "Queue0 Member0", "2500")
    assert (first.last_reading, first.where, readings.codes_in_words(first.codes)) == (
        3000, "route2.csv line 2", "lower than last")
    assert (rows[1].account_number, rows[1].name, rows[1].last_reading) == (None, "", None)
    assert readings.codes_in_words(rows[2].codes) == "not a reading"
    assert [x.id for x in readings.exception_rows(limit=2, offset=1)] == [rows[1].id, rows[2].id]


def test_accept_correct_and_reread_each_close_the_row_once(meters, biller):
    a, b, c = meters
    text = ami(meters, f"{a.meter.meter_no},2025-05-01,2500", f"{b.meter.meter_no},2025-05-01,2600",
               f"{c.meter.meter_no},2025-05-01,3x0")
    readings.import_ami_csv(biller, text, "route2.csv")
    x_a, x_b, x_c = readings.exception_rows()
    assert readings.acknowledgement(x_a.codes) == ("rollover",) and readings.acknowledgement(x_c.codes) is None

    # As a rollover the dials went round to 99,500 kWh: high too, acknowledged in turn.
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.accept_exception(biller, x_a.id, readings.acknowledgement(x_a.codes))
    assert exc.value.codes == ["high"] and readings.open_exception_count() == 3
    saved = readings.accept_exception(biller, x_a.id, ("rollover", "high"))
    assert (saved.reading, saved.kwh, saved.acknowledged) == (2500, 99_500, ("high", "rollover"))
    with pytest.raises(NotFound):
        readings.accept_exception(biller, x_a.id, ("rollover",))          # worked once

    # A correction goes through the same checks: lower again is refused, nothing written, still open.
    with pytest.raises(readings.ReadingRefused) as exc:
        readings.correct_exception(biller, x_c.id, "2999")
    assert exc.value.codes == ["lower"]
    with pytest.raises(ValidationError):
        readings.correct_exception(biller, x_c.id, "39a0")
    assert readings.open_exception_count() == 2
    fixed = readings.correct_exception(biller, x_c.id, "3900")
    assert (fixed.reading, fixed.kwh, fixed.read_date) == (3900, 900, DAY)
    assert db.ReadingException.get_by_id(x_c.id).status == "corrected"
    assert db.AuditLog.get(db.AuditLog.action == "reading.correct").before == "3x0"

    order_no = readings.reread_order(biller, x_b.id)
    assert db.ServiceOrder.get(db.ServiceOrder.order_no == order_no).account_id == b.id
    assert readings.exception_rows() == [] and readings.open_exception_count() == 0
    stored = db.Reading.select().where(db.Reading.read_date == DAY)
    assert sorted((r.account_id, r.reading) for r in stored) == [(a.id, 2500), (c.id, 3900)]
    with pytest.raises(ServiceError):
        readings.correct_exception(biller, x_b.id, "3100")                # sent to re-read: closed


def test_the_import_reports_progress_and_a_bad_header_changes_nothing(meters, biller):
    rows = [f"{a.meter.meter_no},2025-05-0{i + 1},{3800 + i}" for i, a in enumerate(meters)]
    seen: list[tuple[int, int]] = []
    r = readings.import_ami_csv(biller, ami(meters, *rows), "ok.csv", progress=lambda d, t: seen.append((d, t)))
    assert (r.rows, r.saved, r.lines) == (3, 3, ())
    assert seen[0] == (0, 3) and seen[-1] == (3, 3) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    before = db.Reading.select().count(), db.ReadingException.select().count(), db.AuditLog.select().count()
    with pytest.raises(ValidationError, match="header must name meter, read_at, reading"):
        readings.import_ami_csv(biller, "meter,reading\n1,2\n", "bad.csv", progress=lambda d, t: seen.append(d))
    with pytest.raises(ValidationError, match="not a CSV row"):
        readings.import_ami_csv(biller, f"meter,read_at,reading\n{rows[0]}\n{'9' * 200_000},1,2\n", "huge.csv")
    assert (db.Reading.select().count(), db.ReadingException.select().count(),
            db.AuditLog.select().count()) == before


def test_a_read_dated_in_the_future_is_refused_keyed_or_imported(meters, biller):
    """A typo in the year (2027 for 2026) would make the read every later one is checked against."""
    a, b, _ = meters
    later = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(ValidationError, match="is in the future"):
        readings.key_reading(biller, a.meter.meter_no, "3500", read_date=later)
    tomorrow = dt.date.today() + dt.timedelta(days=1)      # a head-end's clock in UTC: taken
    readings.key_reading(biller, a.meter.meter_no, "3500", read_date=tomorrow)
    r = readings.import_ami_csv(biller, ami(meters, f"{b.meter.meter_no},{later.isoformat()}T06:00,3600"), "ami.csv")
    assert (r.saved, r.exceptions) == (0, 1) and r.lines[0].codes == ("date",)
    assert "is in the future" in r.lines[0].message
    assert not db.Reading.select().where(db.Reading.meter == b.meter.id, db.Reading.read_date == later).exists()


def test_a_reading_with_more_digits_than_the_dials_is_refused_not_acknowledged(meters, biller):
    """999,999,999 on a 5-dial meter is a mis-key, not high use one key accepts."""
    a, b, _ = meters
    with pytest.raises(ValidationError, match=r"has 9 digits, meter \d+ 5 \(last 3,000\): a mis-key"):
        readings.key_reading(biller, a.meter.meter_no, "999999999", ack=["high"])
    with pytest.raises(ValidationError, match="has 7 digits"):
        readings.key_reading(biller, a.meter.meter_no, "1000000", ack=["high"])
    r = readings.import_ami_csv(biller, ami(meters, f"{b.meter.meter_no},{DAY.isoformat()},999999999"), "ami.csv")
    assert (r.saved, r.exceptions) == (0, 1) and r.lines[0].codes == ("reading",)
    assert readings.acknowledgement(r.lines[0].codes) is None
    readings.key_reading(biller, a.meter.meter_no, "3900")          # read as ever
    # A register going past 99,999 (a meter with more dials than the setting): one digit more is read.
    db.Reading.update(reading=99_500).where(db.Reading.meter == b.meter.id).execute()
    assert readings.key_reading(biller, b.meter.meter_no, "100880").kwh == 1380


def test_a_row_of_empty_cells_in_an_ami_file_is_no_read(meters, biller):
    a, _, _ = meters
    r = readings.import_ami_csv(biller, ami(meters, ",,", f"{a.meter.meter_no},{DAY.isoformat()},3400", " , , "),
                                "ami.csv")
    assert (r.rows, r.saved, r.exceptions) == (1, 1, 0) and readings.open_exception_count() == 0
