"""Small hand-made records for service and screen tests (the demo builder makes the big ones)."""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.checkdigit import make_account_number
from kec_tui.services import search_index

# Fixed dates, so screens (and their snapshots) look the same on any day.
FIRST_BILL = dt.date(2025, 1, 10)
PAID_ON = dt.date(2025, 9, 1)
OPENED = dt.date(2019, 5, 1)


def account(*, first="Ada", last="Lovelace", street="1234 N Government Way", city="Coeur d'Alene",
            phone="2085550100", email="ada@example.com", meter_no=None, status="active",
            bills=(), payments=(), base=None, **flags) -> db.Account:
    base = base or 10000 + (db.Account.select().count() + 1) * 7
    member = db.Member.create(member_no=base, first_name=first, last_name=last, tax_id_last4="1234",
                              phone_home=phone, email=email, mail_street=street, mail_city=city,
                              mail_state="ID", mail_zip="83814", birth_date=dt.date(1970, 1, 2))
    loc = db.ServiceLocation.create(location_no=base, street=street, city=city, zip="83814",
                                    map_location="T51N R4W S12")
    meter = db.Meter.create(meter_no=meter_no or f"3{base:08d}", location=loc)
    flags.setdefault("opened", OPENED)
    acct = db.Account.create(number=make_account_number(base), member=member, location=loc, meter=meter,
                             status=status, **flags)
    for i, cents in enumerate(bills):
        day = FIRST_BILL + dt.timedelta(days=30 * i)
        db.LedgerEntry.create(account=acct, effective=day, kind="bill", amount_cents=cents,
                              description="Electric service", due_date=day + dt.timedelta(days=20))
        db.Reading.create(account=acct, meter=meter, read_date=day, reading=1000 * (i + 1), kwh=800 + 50 * i)
    for cents in payments:
        db.LedgerEntry.create(account=acct, effective=PAID_ON, kind="payment", amount_cents=-cents,
                              description="Payment", reference="chk 101")
    search_index.reindex_account(acct.id)
    return acct
