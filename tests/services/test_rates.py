"""Rate schedules as data: the TOML file checked whole, stored by effective date, an
invalid file named by line and key and changing nothing; and every feature of a bill
against bills worked by hand (tests/services/rate_file.py has the prices)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from kec_tui import db
from kec_tui.services import bill_calc, rates
from kec_tui.services.errors import NotFound, ValidationError
from tests.services.rate_file import RATES

D = dt.date


def versions(code: str, start, end):
    by_code: dict = {}
    for v in rates.parse(RATES):
        by_code.setdefault(v.code, []).append(v)
    return rates.versions_for(code, start, end, by_code)


def bill(code, start, end, kwh, **kw):
    return bill_calc.calculate(versions(code, start, end), start, end, kwh, **kw)


def amounts(b) -> list[tuple[str, int]]:
    return [(line.code, line.amount_cents) for line in b.lines]


# ---- hand-worked bills -----------------------------------------------------------------------


def test_blocks_pca_and_franchise_fee_in_winter():
    b = bill("RES", D(2025, 1, 3), D(2025, 2, 2), 1234, city="Coeur d'Alene")
    # 25.00; 1,000 x 0.091230 = 91.23; 234 x 0.104500 = 24.453 -> 24.45; 1,234 x 0.0031 = 3.8254 -> 3.83;
    # fee 3% of 144.51 = 4.3353 -> 4.34
    assert amounts(b) == [("customer", 2500), ("energy", 9123), ("energy", 2445), ("pca", 383), ("fee", 434)]
    assert b.total_cents == 14885
    assert b.lines[1].rate == "$0.091230/kWh" and b.lines[2].quantity == "234 kWh"


def test_summer_season_prices_the_upper_block_higher_and_no_fee_outside_the_city():
    b = bill("RES", D(2025, 6, 3), D(2025, 7, 3), 1234, city="Athol")
    # the March rates: 27.00; 1,000 x 0.095 = 95.00; 234 x 0.118000 = 27.612 -> 27.61; PCA 1,234 x 0.004 = 4.936 -> 4.94
    assert amounts(b) == [("customer", 2700), ("energy", 9500), ("energy", 2761), ("pca", 494)]
    assert b.total_cents == 15455
    assert "(summer)" in b.lines[2].description


def test_each_line_rounds_half_up_to_the_cent():
    b = bill("RES", D(2025, 1, 3), D(2025, 2, 2), 750, city="Athol")
    # 750 x 0.091230 = 68.4225 -> 68.42; PCA 750 x 0.0031 = 2.325 -> 2.33 (half up; half-even would say 2.32)
    assert amounts(b) == [("customer", 2500), ("energy", 6842), ("pca", 233)]
    assert bill_calc.to_cents(Decimal("-8.755")) == -876  # credits round away from zero too


def test_minimum_charge_tops_up_a_small_bill():
    b = bill("LGS", D(2025, 1, 3), D(2025, 2, 2), 100, city="Athol")
    # 95.00 + 100 x 0.071 = 7.10 + PCA 0.31 = 102.41 < minimum 150.00 -> 47.59
    assert amounts(b) == [("customer", 9500), ("energy", 710), ("pca", 31), ("minimum", 4759)]
    assert b.total_cents == 15000


def test_demand_over_the_threshold():
    b = bill("LGS", D(2025, 1, 3), D(2025, 2, 2), 20000, demand_kw=Decimal("45.5"), city="Athol")
    # (45.5 - 30) x 6.75 = 104.625 -> 104.63
    assert amounts(b) == [("customer", 9500), ("energy", 142000), ("demand", 10463), ("pca", 6200)]
    assert b.total_cents == 168163
    under = bill("LGS", D(2025, 1, 3), D(2025, 2, 2), 20000, demand_kw=Decimal("25"), city="Athol")
    assert "demand" not in [c for c, _ in amounts(under)]


def test_irrigation_in_season_and_out():
    b = bill("IRR", D(2025, 6, 20), D(2025, 7, 20), 8000, demand_kw=Decimal("40"), city="Athol")
    # 5,000 x 0.085 = 425.00; 3,000 x 0.0795 = 238.50; 40 kW x 2.10 = 84.00; PCA 24.80
    assert amounts(b) == [("customer", 3000), ("energy", 42500), ("energy", 23850), ("demand", 8400), ("pca", 2480)]
    winter = bill("IRR", D(2025, 1, 3), D(2025, 2, 2), 0, city="Athol")
    assert winter.total_cents == 3000


def test_net_metering_credits_reverse_kwh_before_the_franchise_fee():
    b = bill("RES", D(2025, 1, 3), D(2025, 2, 2), 600, reverse_kwh=250, city="Athol")
    # 25.00 + 600 x 0.09123 = 54.738 -> 54.74 + PCA 1.86; credit 250 x 0.035 = 8.75
    assert amounts(b) == [("customer", 2500), ("energy", 5474), ("pca", 186), ("netmeter", -875)]
    assert b.total_cents == 7285
    taxed = bill("RES", D(2025, 1, 3), D(2025, 2, 2), 600, reverse_kwh=250, city="Coeur d'Alene")
    assert taxed.lines[-1].amount_cents == 219 and taxed.total_cents == 7504  # 3% of 72.85 = 2.1855


def test_a_rate_change_mid_period_prorates_by_days():
    b = bill("RES", D(2025, 3, 1), D(2025, 3, 31), 1200, city="Athol")
    # 15 days on each version: 600 kWh each, blocks of 500; customer 12.50 and 13.50;
    # old: 500 x 0.09123 = 45.615 -> 45.62, 100 x 0.1045 = 10.45, PCA 1.86;
    # new: 500 x 0.095 = 47.50, 100 x 0.11 = 11.00, PCA 600 x 0.004 = 2.40
    assert amounts(b) == [
        ("customer", 1250),
        ("energy", 4562),
        ("energy", 1045),
        ("pca", 186),
        ("customer", 1350),
        ("energy", 4750),
        ("energy", 1100),
        ("pca", 240),
    ]
    assert b.total_cents == 14483
    assert "(03/01-03/16)" in b.lines[0].description and "(03/16-03/31)" in b.lines[4].description


def test_a_short_first_bill_pays_its_days_of_the_month():
    b = bill("RES", D(2025, 1, 21), D(2025, 1, 31), 300, city="Athol")
    # 10/30 of 25.00 = 8.33; 300 x 0.09123 = 27.369 -> 27.37; PCA 0.93
    assert amounts(b) == [("customer", 833), ("energy", 2737), ("pca", 93)]


def test_security_lights_are_flat_per_lamp_and_untaxed():
    b = bill("SL", D(2025, 1, 3), D(2025, 2, 2), 0, lamps=2, city="Coeur d'Alene")
    assert amounts(b) == [("lamp", 2400)]


def test_bad_input_to_the_calculation():
    with pytest.raises(ValidationError):
        bill("RES", D(2025, 2, 2), D(2025, 2, 2), 100)
    with pytest.raises(ValidationError):
        bill("RES", D(2025, 1, 2), D(2025, 2, 2), -5)
    with pytest.raises(NotFound):
        versions("RES", D(2024, 12, 1), D(2025, 1, 2))  # no rates in force when the period starts


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(["RES", "SGS", "LGS", "IRR", "SL"]), kwh=st.integers(0, 40_000),
       demand=st.none() | st.decimals(0, 500, places=1), reverse=st.integers(0, 2_000),
       city=st.sampled_from(["", "Athol", "Coeur d'Alene"]),
       a=st.tuples(st.dates(D(2025, 1, 1), D(2026, 12, 1)), st.integers(1, 45)),
       b=st.tuples(st.dates(D(2025, 1, 1), D(2026, 12, 1)), st.integers(1, 45)))
def test_bills_with_the_same_period_key_have_the_same_lines(code, kwh, demand, reverse, city, a, b):
    """The billing run shares bills by bill_calc.period_key: two periods with one key bill alike."""
    (start_a, days_a), (start_b, days_b) = a, b
    end_a, end_b = start_a + dt.timedelta(days=days_a), start_b + dt.timedelta(days=days_b)
    try:
        va, vb = versions(code, start_a, end_a), versions(code, start_b, end_b)
    except NotFound:
        return
    if bill_calc.period_key(va, start_a, end_a) != bill_calc.period_key(vb, start_b, end_b):
        return
    kw = dict(demand_kw=demand, reverse_kwh=reverse, city=city)
    assert bill(code, start_a, end_a, kwh, **kw).lines == bill(code, start_b, end_b, kwh, **kw).lines


SHARED = {v.code: [] for v in rates.parse(RATES)}
for _v in rates.parse(RATES):
    SHARED[_v.code].append(_v)


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(["RES", "SGS", "LGS", "IRR", "SL"]), kwh=st.integers(0, 40_000),
       demand=st.none() | st.decimals(0, 500, places=1), reverse=st.integers(0, 2_000),
       city=st.sampled_from(["", "Athol"]), lamps=st.integers(1, 4),
       start=st.dates(D(2025, 1, 1), D(2026, 12, 1)), days=st.integers(1, 45))
def test_a_bill_is_the_same_worked_afresh_as_from_the_parts_already_worked(code, kwh, demand, reverse, city, lamps,
                                                                            start, days):
    """bill_calc keeps each part's kWh-free lines (_part) for the bills after it: they bill alike."""
    end = start + dt.timedelta(days=days)
    try:
        vs = rates.versions_for(code, start, end, SHARED)
    except NotFound:
        return
    kw = dict(demand_kw=demand, reverse_kwh=reverse, city=city, lamps=lamps)
    warm = bill_calc.calculate(vs, start, end, kwh, **kw)
    bill_calc._parts.clear()
    assert bill_calc.calculate(vs, start, end, kwh, **kw) == warm


def test_a_whole_month_on_one_version_keys_by_version_and_season_only():
    jan = versions("RES", D(2025, 1, 3), D(2025, 2, 2))
    also_jan = versions("RES", D(2025, 1, 1), D(2025, 1, 31))
    assert bill_calc.period_key(jan, D(2025, 1, 3), D(2025, 2, 2)) == bill_calc.period_key(also_jan, D(2025, 1, 1),
                                                                                            D(2025, 1, 31))
    short = versions("RES", D(2025, 1, 21), D(2025, 1, 31))
    assert D(2025, 1, 21) in bill_calc.period_key(short, D(2025, 1, 21), D(2025, 1, 31))   # a short one: its dates


# ---- the file and the database -------------------------------------------------------------------


def test_the_shipped_file_bills_every_rate_class_of_the_demo(database):
    result = rates.load_file(None)
    assert result.added >= 5
    by_code = rates.all_versions()
    for rate_class in db.RATE_CLASSES:
        code = rates.schedule_for_class(rate_class, by_code)
        b = bill_calc.what_if(code, 1000, on=D(2026, 3, 3), demand_kw=Decimal("50"), versions=by_code)
        assert b.total_cents > 0
    # the calculator reads what is stored: 1,000 kWh residential in March 2026
    b = bill_calc.what_if("res", 1000, on=D(2026, 3, 3), city="Athol")
    assert amounts(b) == [("customer", 2500), ("energy", 9123), ("pca", 310)]
    assert rates.load_file(None).unchanged == result.added  # loading again changes nothing


def test_versions_are_kept_by_effective_date_and_a_change_is_audited(database):
    rates.load_text(None, RATES)
    assert [v.effective for v in rates.all_versions()["RES"]] == [D(2025, 1, 1), D(2025, 3, 16)]
    changed = RATES.replace("customer_charge = 27.00", "customer_charge = 28.00")
    r = rates.load_text(None, changed)
    assert (r.added, r.changed) == (0, 1)
    assert rates.all_versions()["RES"][1].customer_charge == Decimal("28.00")
    row = db.AuditLog.get(db.AuditLog.action == "rates.change")
    assert '"customer_charge": "27.00"' in row.before and '"customer_charge": "28.00"' in row.after


@pytest.mark.parametrize(
    "edit, expect",
    [
        (
            ("rate = 0.104500", 'rate = "abc"'),
            "line 16 (schedules.RES.version[0].energy.winter[1].rate): must be a number",
        ),
        (("customer_charge = 27.00", "customer_charge = -27.00"), "line 21 (schedules.RES.version[1].customer_charge)"),
        (("effective = 2025-03-16", "effective = 2025-01-01"), "two versions take effect on 2025-01-01"),
        (
            (
                "{ up_to = 1000, rate = 0.091230 }, { rate = 0.104500 }",
                "{ rate = 0.091230 }, { up_to = 5, rate = 0.1 }",
            ),
            "line 16 (schedules.RES.version[0].energy.winter[0].up_to): must be a whole number of kWh above 0",
        ),
        (
            (
                "{ up_to = 1000, rate = 0.091230 }, { rate = 0.104500 }",
                "{ up_to = 9, rate = 0.091230 }, { up_to = 5, rate = 0.1 }",
            ),
            "line 16 (schedules.RES.version[0].energy.winter[1].up_to): the last block has no limit",
        ),
        (("pca_per_kwh = 0.003100\nnet", "pca_per_kwh = 0.0031001\nnet"), "has more than 6 decimals"),
        (('classes = ["SGS"]', 'classes = ["RES"]'), "rate class RES is already billed on schedule RES"),
        (("taxable = false", "taxable = false\nlamps = 3"), "lamps): unknown key"),
        (("[schedules.SL]", "[schedules.SL"), "line 63"),  # TOML syntax
    ],
)
def test_an_invalid_file_names_the_line_and_the_problem_and_changes_nothing(database, edit, expect):
    rates.load_text(None, RATES)
    before = list(
        db.RateSchedule.select(db.RateSchedule.code, db.RateSchedule.body).order_by(db.RateSchedule.id).tuples()
    )
    bad = RATES.replace(*edit, 1)
    assert bad != RATES
    with pytest.raises(rates.RateFileError) as exc:
        rates.load_text(None, bad)
    assert expect in exc.value.message, exc.value.message
    after = list(
        db.RateSchedule.select(db.RateSchedule.code, db.RateSchedule.body).order_by(db.RateSchedule.id).tuples()
    )
    assert after == before


def test_the_co_ops_own_file_in_the_data_dir_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert rates.default_file().parent.name == "data"  # the shipped one
    own = tmp_path / "kec-tui" / "rates.toml"
    own.parent.mkdir()
    own.write_text(RATES)
    assert rates.default_file() == own


def test_the_run_bills_on_the_file_as_edited_and_an_invalid_edit_stops_it(database, tmp_path, monkeypatch):
    from kec_tui.services import billing_run, operators
    from tests.services import billing_data as data

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    own = tmp_path / "kec-tui" / "rates.toml"
    own.parent.mkdir()
    own.write_text(RATES)
    biller = operators.create("bill1", "Bea Biller", "billing")
    data.account(kwh=800)
    assert billing_run.preview(biller, 1, data.PERIOD).bills[0].total_cents == 10620
    own.write_text(RATES.replace("customer_charge = 27.00", "customer_charge = 28.00"))
    assert billing_run.preview(biller, 1, data.PERIOD).bills[0].total_cents == 10720  # the edit is billed
    own.write_text(RATES.replace("customer_charge = 27.00", "customer_charge = lots"))
    with pytest.raises(rates.RateFileError, match="rates.toml line 21"):
        billing_run.preview(biller, 1, data.PERIOD)
    assert rates.all_versions()["RES"][1].customer_charge == Decimal("28.00")  # nothing changed
