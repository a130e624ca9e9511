"""The reading exceptions queue (screens/reading_exceptions.py): accept, re-read order and correct,
each as a burst of keys typed ahead from the reading entry screen; the AMI import from the TUI.

Every key of a burst is queued before anything is awaited (tests/support/keys.py); what is
asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.reading_exceptions import CorrectReadingScreen, ReadingExceptionsScreen
from kec_tui.screens.readings import ReadingEntryScreen
from kec_tui.services import operators, readings
from kec_tui.widgets.dialogs import MessageScreen
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle, settle_workers

CYCLE = 3
TODAY = dt.date.today()


@pytest.fixture
def route(sqlite_db):
    """Four meters of cycle 3, each with a last reading of 3,000 a month ago (850 kWh: the year's average)."""
    accts = [factories.account(first=f"Queue{i}", last=f"Member{i}", bills=(5_000, 5_000, 5_000), bill_cycle=CYCLE)
             for i in range(4)]
    for a in accts:
        db.Reading.create(account=a, meter=a.meter, read_date=TODAY - dt.timedelta(days=30), reading=3000, kwh=850)
    return accts


@pytest.fixture
def clerk(sqlite_db):
    return operators.create("bill1", "Robin Reader", "billing")


@pytest.fixture
def queued(route, clerk):
    """An AMI file's refused reads: no use, lower, letters, lower (one per meter, in that order)."""
    rows = [(route[0], "3000"), (route[1], "2000"), (route[2], "3x0"), (route[3], "2500")]
    text = "meter,read_at,reading\n" + "".join(f"{a.meter.meter_no},{TODAY}T06:10,{r}\n" for a, r in rows)
    result = readings.import_ami_csv(clerk, text, "route3.csv")
    assert result.exceptions == 4
    return route


def stored(accts) -> list[tuple[int, int, int]]:
    """(account id, reading, kWh) of the readings dated today."""
    R = db.Reading
    return [(r.account_id, r.reading, r.kwh) for r in
            R.select().where(R.account.in_([a.id for a in accts]), R.read_date == TODAY).order_by(R.account)]


def statuses() -> list[str]:
    X = db.ReadingException
    return [x.status for x in X.select().order_by(X.id)]


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_accept_reread_and_correct_in_one_burst_from_the_reading_screen(queued, clerk, sqlite_db, tmp_path):
    a, b, c, d = queued
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Ctrl+Y, F6 the queue; F8 accepts the no-use read, F9 sends the lower one to be re-read, Enter
        # corrects the one with letters (F8 there, with nothing refused, does nothing): 3900 Enter. One burst.
        send_burst(app, expand("ctrl+y", "f6", "f8", "f9", "enter", "f8", "3900", "enter"))
        await settle(pilot, lambda: statuses().count("open") == 1 and isinstance(app.screen, ReadingExceptionsScreen))
        screen = app.screen
        assert stored(queued) == [(a.id, 3000, 0), (c.id, 3900, 900)]
        assert statuses() == ["accepted", "reread", "corrected", "open"]
        order = db.ServiceOrder.get(db.ServiceOrder.account == b.id)
        assert order.kind == "reread" and "2000 refused (lower)" in order.notes
        assert [x.meter_no for x in screen.rows] == [d.meter.meter_no]
        assert "corrected reading 3,900 saved (900 kWh)" in text_of(screen, "#message")
        assert "Reading exceptions: 1 open" in text_of(screen, "#title")
        # The re-read's order number was shown, and each row left the table as it was worked.
        send_burst(app, ["f9"])
        await settle(pilot, lambda: not screen.rows)
        last = db.ServiceOrder.get(db.ServiceOrder.account == d.id)
        assert f"re-read order {last.order_no} made" in text_of(screen, "#message")
        assert "No open exceptions" in text_of(screen, "#detail")
        send_burst(app, ["escape"])
        await settle(pilot)
        assert isinstance(app.screen, ReadingEntryScreen)


async def test_a_refused_correction_locks_and_the_keys_typed_after_it_write_nothing(queued, clerk, sqlite_db,
                                                                                    tmp_path):
    a, b, c, d = queued
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Correct the first row with 2500: lower than the last 3,000, refused; "3900 Enter" typed behind it
        # are held, and F9 (the queue's re-read key) does nothing in the dialog.
        send_burst(app, expand("ctrl+y", "f6", "enter", "2500", "enter", "3900", "enter", "f9"))
        await settle(pilot, lambda: isinstance(app.screen, CorrectReadingScreen) and app.screen.form.locked)
        dialog = app.screen
        form = dialog.form
        assert form.held is not None and form.held[0].codes == ["lower"]
        assert form.held_keys == 5 and "lower than the last 3,000" in form.error_text
        assert "5 keys typed after it were not used" in form.error_text
        assert stored(queued) == [] and statuses() == ["open"] * 4
        assert db.ServiceOrder.select().count() == 0                    # the F9 behind it did nothing
        # Esc resets; letters are refused at the key, and what follows is held again.
        send_burst(app, expand("escape", "39a0", "enter", "f8"))
        await settle(pilot)
        assert form.locked and "digits only" in form.error and form.held is None and form.held_keys == 3
        assert stored(queued) == [] and statuses() == ["open"] * 4
        # Esc, the right reading: written, the row corrected, the dialog gone, the queue one shorter.
        send_burst(app, expand("escape", "3800", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ReadingExceptionsScreen))
        assert stored(queued) == [(a.id, 3800, 800)]
        assert statuses() == ["corrected", "open", "open", "open"]
        assert len(app.screen.rows) == 3


async def test_a_lower_correction_is_accepted_as_a_rollover_then_as_high(queued, clerk, sqlite_db, tmp_path):
    a = queued[0]
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+y", "f6", "enter", "2500", "enter", "f8"))
        await settle(pilot, lambda: isinstance(app.screen, CorrectReadingScreen) and app.screen.form.locked
                     and app.screen.form.held is not None and app.screen.form.held[0].codes == ["high"])
        assert "99,500 kWh is high" in app.screen.form.error and stored(queued) == []
        send_burst(app, ["f8"])
        await settle(pilot, lambda: isinstance(app.screen, ReadingExceptionsScreen))
        assert stored(queued) == [(a.id, 2500, 99_500)]
        assert db.AuditLog.get(db.AuditLog.action == "reading.key").after.endswith("ack high,rollover")


async def test_accept_refuses_what_cannot_be_accepted_and_a_rollover_needs_f8_twice(queued, clerk, sqlite_db,
                                                                                  tmp_path):
    a, b, c, d = queued
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        # Row 3 (letters) cannot be accepted; row 2 (lower) as a rollover is high: F8 again accepts that.
        send_burst(app, expand("ctrl+y", "f6", "down", "down", "f8"))
        await settle(pilot, lambda: isinstance(app.screen, ReadingExceptionsScreen))
        screen = app.screen
        assert "not a reading cannot be accepted" in text_of(screen, "#message")
        send_burst(app, expand("up", "f8"))
        await settle(pilot)
        assert "is high" in text_of(screen, "#message") and "F8 again accepts that too" in text_of(screen, "#message")
        assert stored(queued) == [] and statuses() == ["open"] * 4
        send_burst(app, ["f8"])
        await settle(pilot, lambda: statuses()[1] == "accepted")
        assert stored(queued) == [(b.id, 2000, 99_000)]
        assert "2,000 saved (99,000 kWh), accepted: high use, rollover" in text_of(screen, "#message")


async def test_f6_typed_after_a_refused_reading_is_held(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+y", str(CYCLE), "enter", "2000", "enter", "f6", "1"))
        await settle(pilot, lambda: isinstance(app.screen, ReadingEntryScreen) and app.screen.form.locked)
        await settle(pilot)
        screen = app.screen
        assert isinstance(app.screen, ReadingEntryScreen) and screen.form.held_keys == 2
        assert "2 keys typed after it were not used" in screen.form.error_text
        assert stored(route) == [] and screen.form.values["reading"] == "2000"


def queue_file(tmp_path, route, rows: list[str], name="reads.csv"):
    path = tmp_path / name
    path.write_text("meter,read_at,reading,demand_kw\n" + "".join(r + "\n" for r in rows))
    return path


def imported(app) -> bool:
    """The import's result is up (a MessageScreen), or its refusal is the queue's message."""
    if isinstance(app.screen, MessageScreen):
        return True
    return (isinstance(app.screen, ReadingExceptionsScreen) and not app.screen.importing
            and app.screen.query_one("#message").has_class("error"))


async def import_keys(app, pilot, path, keys=("ctrl+y", "f6")) -> None:
    send_burst(app, expand(*keys, "f7", str(path), "enter"))
    await settle(pilot, lambda: imported(app))
    await settle_workers(pilot)
    await settle(pilot)


async def test_an_ami_file_imported_from_the_queue(route, clerk, sqlite_db, tmp_path):
    a, b, c, d = route
    path = queue_file(tmp_path, route, [f"{a.meter.meter_no},{TODAY},3850,2.5", f"{b.meter.meter_no},{TODAY},2000,",
                                        f"{c.meter.meter_no},{TODAY},38x0,", f"NOPE9,{TODAY},100,",
                                        f"{d.meter.meter_no},{TODAY},3900,"])
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await import_keys(app, pilot, path)
        assert isinstance(app.screen, MessageScreen)
        body = str(app.screen.body)
        assert "reads.csv: 5 rows read, 2 written, 3 to the exceptions queue (2 of them not a reading" in body
        assert "line 3: meter " + b.meter.meter_no in body and "lower than the last" in body
        assert "line 4: " in body and "line 5: meter NOPE9: No meter NOPE9" in body
        assert stored(route) == [(a.id, 3850, 850), (d.id, 3900, 900)]
        send_burst(app, ["enter"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReadingExceptionsScreen)
        assert [x.record_no for x in screen.rows] == [3, 4, 5]
        assert "AMI 3" in str(screen.table.get_row_at(0)[6]) and not screen.importing
        assert "reads.csv line 3" in text_of(screen, "#detail")
        # The same file again: nothing written or queued twice.
        await import_keys(app, pilot, path, keys=())
        assert "0 written, 0 to the exceptions queue" in str(app.screen.body)
        assert len(stored(route)) == 2 and db.ReadingException.select().count() == 3


@pytest.mark.parametrize("content,message", [
    (None, "No file "),
    ("meter,reading\n1,2\n", "Refused, nothing imported: bad.csv: the header must name meter, read_at, reading"),
    (b"\xff\xfe\x00m\x00e", "bad.csv cannot be read as a text CSV"),
])
async def test_a_bad_file_is_a_message_and_changes_nothing(route, clerk, sqlite_db, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    app = make_app(sqlite_db, clerk, tmp_path)
    before = db.Reading.select().count(), db.AuditLog.select().count()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await import_keys(app, pilot, path)
        screen = app.screen
        assert isinstance(screen, ReadingExceptionsScreen)
        assert message in text_of(screen, "#message") and screen.query_one("#message").has_class("error")
        assert not screen.importing and not screen.query_one("#progress").has_class("busy")
    assert (db.Reading.select().count(), db.AuditLog.select().count()) == before
    assert db.ReadingException.select().count() == 0


async def test_the_queue_is_paged_from_the_database(route, clerk, sqlite_db, tmp_path):
    a = route[0]
    for n in range(55):                                  # 55 keyed reads sent to the queue, oldest first
        db.ReadingException.create(source="keyed", meter_no=a.meter.meter_no, account=a.id, read_date=TODAY,
                                   reading_text=str(2000 + n), codes="lower", message=f"Reading {2000 + n} is lower")
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+y", "f6"))
        await settle(pilot, lambda: isinstance(app.screen, ReadingExceptionsScreen))
        screen = app.screen
        assert len(screen.rows) == 50 and "55 open   showing 50" in text_of(screen, "#title")
        send_burst(app, ["pagedown"] * 4 + ["up", "up"])
        await settle(pilot)
        assert [x.reading_text for x in screen.rows] == [str(2000 + n) for n in range(55)]
        assert screen.table.cursor_row == 52
        at = screen.table.cursor_row
        worked = screen.rows[at]
        send_burst(app, ["f9"])                          # the row leaves; the cursor is on the one after it
        await settle(pilot, lambda: len(screen.rows) == 54)
        assert worked not in screen.rows and "54 open" in text_of(screen, "#title")
        assert screen.current() is not None and screen.current().id > worked.id
        assert db.ReadingException.get_by_id(worked.id).status == "reread"


async def test_an_import_that_ends_after_the_queue_was_left_is_a_notification(route, clerk, sqlite_db, tmp_path,
                                                                               monkeypatch):
    a = route[0]
    path = queue_file(tmp_path, route, [f"{a.meter.meter_no},{TODAY},3850,", f"NOPE9,{TODAY},100,"])
    app = make_app(sqlite_db, clerk, tmp_path)
    texts: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: texts.append(message))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+y", "f6"))
        await settle(pilot, lambda: isinstance(app.screen, ReadingExceptionsScreen))
        queue = app.screen
        send_burst(app, ["escape"])                      # left while a (slow) import would still run
        await settle(pilot, lambda: isinstance(app.screen, ReadingEntryScreen))
        result = readings.import_ami_csv(clerk, path.read_text(), path.name)
        queue._progress(1, 2)
        queue._imported(path.name, result)
        queue._import_failed("Refused, nothing imported: a message")
        await settle(pilot)
        assert any("reads.csv: 2 rows read, 1 written, 1 to the exceptions queue" in t for t in texts)
        assert any("line 3: meter NOPE9" in t for t in texts) and "a message" in texts[-1]
        assert app.is_running and isinstance(app.screen, ReadingEntryScreen)
        assert stored(route) == [(a.id, 3850, 850)]
