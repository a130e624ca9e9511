"""Energy services: this year against last year by month (kWh and dollars), use and cost per day, the
usage pattern and its tips, the high-bill checklist (suggested from the bills, recorded with a note on the
account) and the consultant's referral queue. SQLite and PostgreSQL."""

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import energy, operators
from kec_tui.services.errors import ValidationError
from tests import factories

D = dt.date


@pytest.fixture
def msr(database_any):
    return operators.create("msr1", "Pat Keyer", "msr")


def history(acct, kwh_by_month: dict[tuple[int, int], int], cents_per_kwh: int = 12):
    """A reading on the 5th and a bill on the 6th of each month."""
    total = 0
    for (y, m), kwh in sorted(kwh_by_month.items()):
        total += kwh
        db.Reading.create(account=acct, meter=acct.meter, read_date=D(y, m, 5), reading=total, kwh=kwh)
        db.LedgerEntry.create(account=acct, effective=D(y, m, 6), kind="bill", amount_cents=kwh * cents_per_kwh,
                              description="Electric service", due_date=D(y, m, 26))


def months(y0: int, m0: int, n: int):
    d = D(y0, m0, 1)
    for _ in range(n):
        yield d.year, d.month
        d = (d + dt.timedelta(days=32)).replace(day=1)


def test_this_year_against_last_year_by_month_and_per_day(database):
    a = factories.account()
    # 24 months, Nov 2024 .. Oct 2026: last year 1,000 kWh a month, this year 1,100.
    use = {ym: (1_000 if ym < (2025, 11) else 1_100) for ym in months(2024, 11, 24)}
    history(a, use)
    u = energy.usage(a.id, today=D(2026, 11, 1))
    assert len(u.months) == 12 and u.months[0].month == D(2025, 11, 1) and u.months[-1].month == D(2026, 10, 1)
    assert {(m.kwh, m.kwh_year_ago, m.cents, m.cents_year_ago) for m in u.months} == {(1_100, 1_000, 13_200, 12_000)}
    assert u.kwh == 13_200 and u.cents == 158_400
    assert u.days == (D(2026, 10, 5) - D(2025, 10, 5)).days == 365
    assert str(u.kwh_per_day) == "36.2" and u.cents_per_day == 434        # 13,200 / 365; $1,584.00 / 365
    assert u.pattern == "flat" and u.tips == energy.TIPS["flat"]


@pytest.mark.parametrize("shape,pattern", [
    (lambda m: 2_500 if m in (12, 1, 2) else 800, "winter"),
    (lambda m: 2_000 if m in (6, 7, 8) else 700, "summer"),
    (lambda m: 400, "low"),
])
def test_the_pattern_chooses_the_tips(database, shape, pattern):
    a = factories.account()
    history(a, {(y, m): shape(m) for y, m in months(2024, 11, 24)})
    u = energy.usage(a.id, today=D(2026, 11, 1))
    assert u.pattern == pattern and u.tips == energy.TIPS[pattern]


def test_rising_use_is_named(database):
    a = factories.account()
    history(a, {(y, m): (800 if (y, m) < (2025, 11) else 1_200) for y, m in months(2024, 11, 24)})
    assert energy.usage(a.id, today=D(2026, 11, 1)).pattern == "rising"


def test_an_account_without_readings_has_no_months(database):
    a = factories.account()
    u = energy.usage(a.id)
    assert (u.months, u.kwh_per_day, u.pattern) == ([], None, "none")


def test_the_high_bill_checklist_is_recorded_with_a_note(database, msr):
    a = factories.account()
    info = energy.record_inquiry(msr, a.id, {"weather": True, "appliance": True, "days": False},
                                 "New hot tub in October")
    assert info.found == ("weather", "appliance")
    note = db.Note.get(db.Note.account == a.id)
    assert note.text.startswith("High-bill inquiry: found Colder or hotter weather") and "hot tub" in note.text
    assert [i.found for i in energy.inquiries(a.id)] == [("weather", "appliance")]
    with pytest.raises(ValidationError, match="Not on the checklist"):
        energy.record_inquiry(msr, a.id, {"ghosts": True})
    assert db.HighBillInquiry.select().count() == 1


def test_suggestions_read_the_bills(database, msr):
    a = factories.account()
    B = db.Bill
    run = db.BillingRun.create(cycle=1, period="2026-10", bill_date=D(2026, 10, 3), due_date=D(2026, 10, 23))
    for i, (start, end, est) in enumerate(((D(2026, 7, 1), D(2026, 7, 31), False),
                                           (D(2026, 7, 31), D(2026, 8, 30), False),
                                           (D(2026, 8, 30), D(2026, 10, 3), True))):
        B.create(run=run if i == 2 else None, account=a, kind="regular", bill_date=end, due_date=end,
                 period_start=start, period_end=end, schedule="RES", kwh=900, total_cents=10_000,
                 charged_cents=10_000, estimated=est, status="billed")
    got = {s.item: s for s in energy.suggestions(a.id)}
    assert got["days"].found and "34 days" in got["days"].why
    assert got["estimated"].found and not got["weather"].found


def test_the_consultants_queue(database, msr):
    a = factories.account()
    r = energy.refer(msr, a.id, "High winter bills, asks about a heat pump", home_audit=True,
                     phone="(208) 555-0199")
    assert (r.home_audit, r.phone, r.status) == (True, "2085550199", "open")
    assert [x.id for x in energy.referrals()] == [r.id]
    with pytest.raises(ValidationError, match="already referred"):
        energy.refer(msr, a.id, "again")
    energy.update_referral(msr, r.id, "scheduled")
    assert energy.referrals() == [] and [x.status for x in energy.referrals(None)] == ["scheduled"]
    with pytest.raises(ValidationError, match="what was done"):
        energy.update_referral(msr, r.id, "done")
    done = energy.update_referral(msr, r.id, "done", "Audit made: attic insulation, heat pump rebate")
    assert done.status == "done" and energy.referrals(None) == []


def test_bad_referrals_write_nothing(database, msr):
    a = factories.account()
    with pytest.raises(ValidationError, match="why"):
        energy.refer(msr, a.id, "  ")
    with pytest.raises(ValidationError, match="10 digits"):
        energy.refer(msr, a.id, "bills", phone="555-01")
    assert db.EnergyReferral.select().count() == 0
