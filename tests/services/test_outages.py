"""Outage calls grouped into events on the failed device (a transformer; a feeder when three of its
transformers are out), the estimate read back, restoration and the callbacks owed, emergencies
flagged until dispatched, two sessions logging calls on one feeder at once, and the bad input the
issue names. SQLite and PostgreSQL."""

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import operators, outages
from kec_tui.services.errors import NotFound, ValidationError
from tests import factories
from tests.services.test_concurrency import at_once


@pytest.fixture
def msr(database_any):
    return operators.create("msr1", "Pat Keyer", "msr")


def located(transformer: str, feeder: str = "F1", sub: str = "Rathdrum", **kw) -> db.Account:
    a = factories.account(**kw)
    db.LocationGrid.create(location=a.location_id, substation=sub, feeder=feeder, transformer=transformer)
    return a


def test_calls_on_one_transformer_are_one_outage(database, msr):
    a, b = located("T1", last="One"), located("T1", last="Two")
    c = located("T2", last="Other")
    first = outages.log_call(msr, a.location_id, "out", caller="Ann", callback_phone="208-555-0101",
                             wants_callback=True)
    second = outages.log_call(msr, b.location_id, "partial")
    other = outages.log_call(msr, c.location_id, "out")
    assert first.event_id == second.event_id != other.event_id
    assert first.account_number == a.number
    board = outages.board()
    assert [(e.level, e.device.split()[1], e.calls, e.locations) for e in board] == [
        ("transformer", "T1", 2, 2), ("transformer", "T2", 1, 1)]
    assert outages.open_event_at(b.location_id).id == first.event_id


def test_three_transformers_out_on_a_feeder_make_it_a_feeder_outage(database, msr):
    accts = [located(f"T{i}", last=f"L{i}") for i in range(1, 4)]
    later = located("T9", last="Late")
    other_feeder = located("T1", feeder="F2", last="F2")
    events = [outages.log_call(msr, a.location_id, "out").event_id for a in accts]
    assert len(set(events[:2])) == 2
    feeder_event = events[2]
    assert outages.get_event(feeder_event).level == "feeder"
    assert {c.event_id for c in map(outages.get_call, range(1, 4))} == {feeder_event}   # the calls moved in
    assert outages.log_call(msr, later.location_id, "out").event_id == feeder_event
    assert outages.log_call(msr, other_feeder.location_id, "out").event_id != feeder_event
    assert [e.level for e in outages.board()] == ["feeder", "transformer"]


def test_the_estimate_is_read_back_and_restoration_lists_the_callbacks(database, msr):
    a, b = located("T1", last="One"), located("T1", last="Two")
    call = outages.log_call(msr, a.location_id, "out", caller="Ann", callback_phone="2085550101",
                            wants_callback=True)
    outages.log_call(msr, b.location_id, "out", caller="Bob")
    eta = db.now() + dt.timedelta(hours=2)
    e = outages.update(msr, call.event_id, cause="Squirrel on transformer", crew_status="dispatched", eta=eta)
    assert (e.cause, e.crew_status, e.eta.replace(microsecond=0)) == ("Squirrel on transformer", "dispatched",
                                                                        eta.replace(microsecond=0))
    backs = outages.restore(msr, call.event_id)
    assert [(x.caller, x.phone) for x in backs] == [("Ann", "2085550101")]
    assert outages.board() == [] and outages.open_event_at(a.location_id) is None
    outages.called_back(msr, backs[0].call_id)
    assert outages.callbacks(call.event_id) == []
    with pytest.raises(ValidationError, match="already restored"):
        outages.restore(msr, call.event_id)
    # the next call there is a new outage
    assert outages.log_call(msr, a.location_id, "flicker").event_id != call.event_id
    assert [c.condition for c, _ in outages.history(a.id)] == ["flicker", "out"]


def test_a_wire_down_is_an_emergency_until_dispatched(database, msr):
    a = located("T1")
    call = outages.log_call(msr, a.location_id, "wire", caller="Passer-by")
    assert call.emergency and [c.id for c in outages.emergencies()] == [call.id]
    assert outages.board()[0].emergency
    outages.dispatched(msr, call.id)
    assert outages.emergencies() == []
    with pytest.raises(ValidationError):
        outages.dispatched(msr, call.id)


def test_a_location_off_the_grid_map_is_an_outage_of_its_own(database, msr):
    a = factories.account(last="Nowhere")
    call = outages.log_call(msr, a.location_id, "out")
    assert outages.get_event(call.event_id).level == "location"
    assert outages.log_call(msr, a.location_id, "out").event_id == call.event_id


def test_two_sessions_logging_calls_on_one_feeder_see_one_event(database, msr):
    accts = [located("T1", last=f"Same{i}") for i in range(2)]
    results = at_once(*[lambda a=a: outages.log_call(msr, a.location_id, "out") for a in accts])
    assert all(isinstance(r, outages.CallInfo) for r in results), results
    assert results[0].event_id == results[1].event_id
    assert db.OutageEvent.select().count() == 1
    # each session reads the same board
    boards = at_once(outages.board, outages.board)
    assert [[(e.id, e.calls) for e in b] for b in boards] == [[(results[0].event_id, 2)]] * 2


def test_bad_outage_calls_write_nothing(database, msr):
    a = located("T1")
    with pytest.raises(NotFound, match="No service location"):
        outages.log_call(msr, 999_999, "out")
    with pytest.raises(ValidationError, match="What the caller sees"):
        outages.log_call(msr, a.location_id, "dark")
    with pytest.raises(ValidationError, match="10 digits"):
        outages.log_call(msr, a.location_id, "out", callback_phone="555-0101", wants_callback=True)
    with pytest.raises(ValidationError, match="needs the phone"):
        outages.log_call(msr, a.location_id, "out", wants_callback=True)
    assert db.OutageCall.select().count() == 0 and db.OutageEvent.select().count() == 0
