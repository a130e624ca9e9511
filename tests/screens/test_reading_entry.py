"""Meter reading entry (screens/readings.py): a cycle's meters keyed in route order, as bursts.

Every key of a test is queued before anything is awaited (tests/support/keys.py), so the
readings land by type-ahead alone; what is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.readings import ReadingEntryScreen
from kec_tui.services import operators, readings
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle

CYCLE = 3


@pytest.fixture
def route(sqlite_db):
    """Four meters of cycle 3 (last readings 3,000: three bills each) and one of cycle 1."""
    accts = [factories.account(first=f"Reader{i}", last=f"Route{i}", bills=(5_000, 5_000, 5_000), bill_cycle=CYCLE)
             for i in range(4)]
    factories.account(first="Other", last="Cycle", bills=(5_000,), bill_cycle=1)
    return accts


@pytest.fixture
def clerk(sqlite_db):
    return operators.create("bill1", "Robin Reader", "billing")


def keyed(accts) -> list[tuple[str, int, int]]:
    """(meter, reading, kWh) of the readings keyed today, in the route's order."""
    R = db.Reading
    rows = R.select(R.meter, R.reading, R.kwh).where(R.account.in_([a.id for a in accts]),
                                                     R.read_date == dt.date.today()).order_by(R.id)
    meters = {a.meter_id: a.meter.meter_no for a in accts}
    return [(meters[r.meter_id], r.reading, r.kwh) for r in rows]


async def reading_screen(pilot, cycle=None) -> ReadingEntryScreen:
    screen = ReadingEntryScreen(cycle) if cycle else None
    if screen is None:
        pilot.app.action_readings()
    else:
        await pilot.app.push_screen(screen)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReadingEntryScreen)
    return pilot.app.screen


def meter_text(screen) -> str:
    return str(screen.query_one("#meter").render())


async def test_a_cycle_keyed_as_one_burst_lands_meter_by_meter(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Ctrl+Y opens the screen, then the cycle and four readings: one burst, nothing awaited.
        keys = expand("ctrl+y", str(CYCLE), "enter", "3850", "enter", "3901", "enter", "3777", "tab", "3999", "plus")
        send_burst(app, keys)
        await settle(pilot, lambda: isinstance(app.screen, ReadingEntryScreen) and app.screen.saved >= 4)
        screen = app.screen
        assert keyed(route) == [(route[0].meter.meter_no, 3850, 850), (route[1].meter.meter_no, 3901, 901),
                                (route[2].meter.meter_no, 3777, 777), (route[3].meter.meter_no, 3999, 999)]
        assert screen.form.error is None and not screen.form.locked
        assert screen.form.values == {"cycle": str(CYCLE), "reading": ""}
        assert "every meter on the route was read" in meter_text(screen)
        assert readings.route(1)[0].last_reading == 1000         # the other cycle untouched


async def test_a_lower_reading_locks_and_the_keys_typed_after_it_are_held(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await reading_screen(pilot, CYCLE)
        first = route[0].meter.meter_no
        assert f"Meter {first}" in meter_text(screen) and "Last reading 3,000" in meter_text(screen)
        # 2000 is below the last 3,000: refused; "3900 Enter 3950 Enter" typed behind it are held.
        send_burst(app, expand("2000", "enter", "3900", "enter", "3950", "enter"))
        await settle(pilot)
        form = screen.form
        assert form.locked and form.held is not None and form.held[0].codes == ["lower"]
        assert form.held_keys == 10
        assert "lower than the last" in form.error_text and "10 keys typed after it were not used" in form.error_text
        assert keyed(route) == []                     # nothing wrong written, nothing typed ahead written
        assert f"Meter {first}" in meter_text(screen)
        # Esc resets: the right reading is keyed and written, and the next meter comes up.
        send_burst(app, expand("escape", "3900", "enter", "3x"))
        await settle(pilot)
        assert keyed(route) == [(first, 3900, 900)]
        assert f"Meter {route[1].meter.meter_no}" in meter_text(screen)
        # Letters are refused at the key: the lock holds the rest, Esc and the digits write it.
        assert form.locked and "digits only" in form.error and form.values["reading"] == "3"
        send_burst(app, expand("950", "enter", "escape", "3950", "enter"))
        await settle(pilot)
        assert keyed(route) == [(first, 3900, 900), (route[1].meter.meter_no, 3950, 950)]
        assert not form.locked and form.values == {"cycle": str(CYCLE), "reading": ""}


async def test_a_mis_keyed_reading_is_refused_and_the_keys_behind_it_are_held(route, clerk, sqlite_db, tmp_path):
    """999,999,999 after 3,000 is a mis-key (more digits than the dials), not high use: F8 behind it
    accepts nothing, and the next reading typed ahead is held, not written."""
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await reading_screen(pilot, CYCLE)
        send_burst(app, expand("999999999", "enter", "f8", "3900", "enter"))
        await settle(pilot)
        form = screen.form
        assert form.locked and "a mis-key" in form.error and keyed(route) == []
        assert form.held_keys >= 5 and "typed after it were not used" in form.error_text
        send_burst(app, expand("escape", "3900", "enter"))
        await settle(pilot)
        assert keyed(route) == [(route[0].meter.meter_no, 3900, 900)]


async def test_accept_and_reread_keys_on_a_held_reading(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await reading_screen(pilot, CYCLE)
        m = [a.meter.meter_no for a in route]
        # Meter 1: 2000 is lower; F8 takes it as a rollover of the 5 dials. Meter 2: no use; F8 accepts.
        # Meter 3: lower; F9 makes a re-read order and meter 4 comes up, keyed at once.
        send_burst(app, expand("2000", "enter", "f8", "3000", "enter", "f8", "1", "enter", "f9", "3100", "enter"))
        await settle(pilot, lambda: screen.saved >= 3)
        assert keyed(route) == [(m[0], 2000, 99_000), (m[1], 3000, 0), (m[3], 3100, 100)]
        order = db.ServiceOrder.get(db.ServiceOrder.account == route[2].id)
        assert order.kind == "reread" and "lower" in order.notes
        assert readings.open_exceptions() == []       # the refused reading went to the re-read
        assert not screen.form.locked and "every meter on the route was read" in meter_text(screen)


async def test_a_meter_no_longer_on_the_account_cannot_be_accepted(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await reading_screen(pilot, CYCLE)
        old = route[0].meter.meter_no
        swapped = db.Meter.create(meter_no="999000111", location=route[0].location_id)   # changed out meanwhile
        db.Account.update(meter=swapped.id).where(db.Account.id == route[0].id).execute()
        send_burst(app, expand("3850", "enter", "f8", "3900", "enter"))
        await settle(pilot)
        form = screen.form
        assert form.locked and form.held is not None and form.held[0].codes == ["wrong_meter"]
        assert f"Meter {old} is not on account" in form.error and "cannot be accepted" in form.error
        assert form.held_keys == 5 and keyed(route) == []
        assert db.Reading.select().where(db.Reading.read_date == dt.date.today()).count() == 0


async def test_a_cycle_without_meters_is_refused_and_the_keys_after_it_held(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await reading_screen(pilot)
        send_burst(app, expand("9", "enter", "3850", "enter"))
        await settle(pilot)
        assert screen.form.locked and "No meters to read in cycle 9" in screen.form.error
        assert screen.form.held_keys == 5 and keyed(route) == []
        send_burst(app, expand("escape", str(CYCLE), "enter", "3850", "enter"))
        await settle(pilot, lambda: screen.saved >= 1)
        assert keyed(route) == [(route[0].meter.meter_no, 3850, 850)]


async def test_readings_are_for_those_who_may_key_them(route, sqlite_db, tmp_path):
    app = make_app(sqlite_db, operators.create("msr1", "Pat Keyer", "msr"), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, ["ctrl+y"])
        await settle(pilot)
        assert not isinstance(app.screen, ReadingEntryScreen)


async def test_accept_and_reread_keys_with_nothing_refused_do_nothing(route, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await reading_screen(pilot, CYCLE)
        send_burst(app, expand("f8", "f9", "3850", "enter", "f8", "3900", "enter"))
        await settle(pilot, lambda: screen.saved >= 2)
        assert keyed(route) == [(route[0].meter.meter_no, 3850, 850), (route[1].meter.meter_no, 3900, 900)]
        assert not screen.form.locked and db.ServiceOrder.select().count() == 0
