"""Energy use on the account (F8, 2, screens/energy.py): the months shown, a high-bill inquiry keyed in
one burst and kept on the account, a referral refused for a short phone (the keys after it held), then
taken; the consultant's queue (Shift+F6, 2) closes it. What is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.energy import EnergyScreen, ReferDialog, ReferralQueueScreen
from kec_tui.services import operators
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def people(sqlite_db):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    a = factories.account(last="Lovelace", phone="2085550100")
    today = dt.date.today().replace(day=1)
    total = 0
    for back in range(24, 0, -1):
        d = (today - dt.timedelta(days=31 * back)).replace(day=5)
        kwh = 900 + (300 if d.month in (12, 1, 2) else 0)
        total += kwh
        db.Reading.create(account=a, meter=a.meter, read_date=d, reading=total, kwh=kwh)
        db.LedgerEntry.create(account=a, effective=d, kind="bill", amount_cents=kwh * 12, description="Electric",
                              due_date=d + dt.timedelta(days=20))
    return msr, a


async def on_energy(pilot, acct) -> EnergyScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    send_burst(pilot.app, ["f8", "2"])
    await settle(pilot, lambda: isinstance(pilot.app.screen, EnergyScreen))
    return pilot.app.screen


async def test_a_high_bill_inquiry_keyed_in_one_burst_is_kept_on_the_account(people, sqlite_db, tmp_path):
    msr, a = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_energy(pilot, a)
        assert screen.query_one("#months").row_count == 12
        assert "kWh a day" in str(screen.query_one("#summary").render())
        # F6: days N, estimated N, weather Y, appliance Y, household N, rate N, leak N, a note.
        send_burst(app, expand("f6", "enter", "enter", "y", "enter", "y", "enter", "enter", "enter", "enter",
                               "New shop heater", "enter"))
        await settle(pilot, lambda: app.screen is screen and db.HighBillInquiry.select().count() == 1)
        i = db.HighBillInquiry.get()
        assert (i.found, i.note) == ("weather,appliance", "New shop heater")
        assert db.Note.select().where(db.Note.account == a.id, db.Note.text.contains("High-bill inquiry")).exists()


async def test_a_short_phone_holds_the_keys_then_the_referral_is_queued_and_closed(people, sqlite_db, tmp_path):
    msr, a = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_energy(pilot, a)
        send_burst(app, expand("f7", "Heat pump questions", "enter", "y", "enter", "ctrl+e", "55501", "enter",
                               "enter", "f7"))
        await settle(pilot, lambda: isinstance(app.screen, ReferDialog) and app.screen.query_one("#form").locked)
        assert app.screen.query_one("#form").held_keys >= 1
        assert db.EnergyReferral.select().count() == 0
        send_burst(app, expand("escape", "2085550199", "enter"))
        await settle(pilot, lambda: app.screen is screen and db.EnergyReferral.select().count() == 1)
        r = db.EnergyReferral.get()
        assert (r.reason, r.home_audit, r.phone, r.status) == ("Heat pump questions", True, "2085550199", "open")
        send_burst(app, ["shift+f6", "2"])
        await settle(pilot, lambda: isinstance(app.screen, ReferralQueueScreen) and app.screen.items)
        send_burst(app, expand("f7", "Audit made, heat pump rebate", "enter"))
        await settle(pilot, lambda: db.EnergyReferral.get().status == "done")
        assert db.EnergyReferral.get().outcome == "Audit made, heat pump rebate"
