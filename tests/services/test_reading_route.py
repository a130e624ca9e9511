"""readings.route: the meters of a bill cycle in route order, each with its last reading
(what the reading entry screen walks)."""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.services import readings
from tests import factories


def test_route_lists_a_cycles_billed_meters_in_route_order_with_the_last_reading(database):
    late = factories.account(first="Zed", last="Late", street="9 Pole Rd", bills=(100, 100), bill_cycle=2)
    early = factories.account(first="Amy", last="Early", street="1 Pole Rd", bills=(100,), bill_cycle=2)
    db.ServiceLocation.update(map_location="A-001").where(db.ServiceLocation.id == early.location_id).execute()
    new = factories.account(first="New", last="Service", bill_cycle=2)               # never read
    factories.account(first="Gone", last="Closed", bills=(100,), bill_cycle=2, status="closed")
    factories.account(first="Other", last="Cycle", bills=(100,), bill_cycle=1)
    # A second reading the same day as the last: the later one (by id) is the last.
    db.Reading.create(account=late, meter=late.meter, read_date=dt.date(2025, 2, 9), reading=2050, kwh=1050)

    stops = readings.route(2)

    assert [s.account_number for s in stops] == [early.number, late.number, new.number]
    assert [(s.meter_no, s.last_reading, s.last_date) for s in stops] == [
        (early.meter.meter_no, 1000, dt.date(2025, 1, 10)),
        (late.meter.meter_no, 2050, dt.date(2025, 2, 9)),
        (new.meter.meter_no, None, None),
    ]
    assert stops[0].name == "Amy Early" and stops[0].address.startswith("1 Pole Rd, ")
    assert readings.route(7) == []
