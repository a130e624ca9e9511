"""The usage and revenue report: figures from committed bills by schedule, month and cycle against
the same month a year before; totals equal the bills to the cent; cancelled bills left out, a
rebill counted once; CSV and PDF. SQLite and PostgreSQL."""

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest

from kec_tui import db
from kec_tui.services import billing_run, operators, usage_report
from kec_tui.services.errors import PermissionDenied, ServiceError, ValidationError
from tests.services import billing_data as data
from tests.support.pdf import pdf_text
from tests.support.usage import AGO, NOW, billed_coop

D = dt.date


@pytest.fixture
def biller(database_any):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def billed(database, biller, supervisor):
    """Cycle 1 (RES, SGS, LGS) and cycle 2 (RES) billed for May 2025 and again for May 2026."""
    return billed_coop(biller, supervisor)


def expected(first: dt.date, end: dt.date, *, cycle: int | None = None):
    """The simplest alternative: a Python loop over the bills. (schedule, month) -> [bills, kWh, cents]."""
    out: dict = defaultdict(lambda: [0, 0, 0])
    for b in db.Bill.select():
        bill_date = b.bill_date if isinstance(b.bill_date, dt.date) else D.fromisoformat(str(b.bill_date))
        if b.status == "cancelled" or not first <= bill_date < end:
            continue
        bill_cycle = b.run.cycle if b.run_id else db.Account.get_by_id(b.account_id).bill_cycle
        if cycle is not None and bill_cycle != cycle:
            continue
        f = out[(b.schedule, f"{bill_date:%Y-%m}")]
        f[0], f[1], f[2] = f[0] + 1, f[1] + b.kwh, f[2] + b.total_cents
    return out


def test_totals_equal_the_bills_to_the_cent_with_the_same_month_a_year_before(billed, biller):
    rep = usage_report.build(biller, NOW, NOW)
    want = expected(D(2026, 5, 1), D(2026, 6, 1))
    ago = expected(D(2025, 5, 1), D(2025, 6, 1))
    assert sum(f[0] for f in want.values()) == len(billed) == rep.total.now.bills
    assert rep.total.now.kwh == sum(f[1] for f in want.values())
    assert rep.total.now.revenue_cents == sum(f[2] for f in want.values())
    bills_2026 = db.Bill.select().where(db.Bill.bill_date >= D(2026, 5, 1))
    assert rep.total.now.revenue_cents == sum(b.total_cents for b in bills_2026)   # every bill, to the cent
    assert rep.total.year_ago.revenue_cents == sum(f[2] for f in ago.values()) > 0
    assert {(r.schedule, r.month): [r.now.bills, r.now.kwh, r.now.revenue_cents] for r in rep.rows} == {
        (s, NOW): v for (s, _m), v in want.items()}
    res = next(r for r in rep.rows if r.schedule == "RES")
    assert [res.year_ago.bills, res.year_ago.kwh, res.year_ago.revenue_cents] == ago[("RES", AGO)]
    assert res.kwh_change == res.now.kwh - res.year_ago.kwh
    assert res.kwh_pct == (Decimal(res.kwh_change) * 100 / res.year_ago.kwh).quantize(Decimal("0.1"))
    # Each schedule's total and the month's total add up to the grand total.
    assert sum((r.now for r in rep.schedules), usage_report.Figures()) == rep.total.now
    assert rep.months[0].now == rep.total.now and rep.months[0].year_ago == rep.total.year_ago
    assert {r.schedule for r in rep.rows} == {"RES", "SGS", "LGS"}
    assert rep.names["RES"] and "bills" in rep.message


def test_by_cycle_and_one_cycle_or_schedule(billed, biller):
    rep = usage_report.build(biller, NOW, NOW, by_cycle=True)
    assert {(r.schedule, r.cycle): r.now.bills for r in rep.rows} == {
        ("RES", 1): 4, ("SGS", 1): 1, ("LGS", 1): 1, ("RES", 2): 2}
    assert rep.total.now == usage_report.build(biller, NOW, NOW).total.now
    two = usage_report.build(biller, NOW, NOW, cycle="2")
    want = expected(D(2026, 5, 1), D(2026, 6, 1), cycle=2)
    assert two.total.now.revenue_cents == sum(f[2] for f in want.values())
    assert two.total.year_ago.bills == 2 and two.total.now.bills == 2
    sgs = usage_report.build(biller, NOW, NOW, schedule="sgs")
    assert [r.schedule for r in sgs.rows] == ["SGS"] and sgs.total.now.bills == 1


def test_a_cancelled_bill_is_left_out_and_a_rebill_counts_once_in_its_month(billed, biller, supervisor):
    before = usage_report.build(biller, NOW, NOW)
    cancelled = db.Bill.get(db.Bill.account == billed[0].id, db.Bill.bill_date >= D(2026, 5, 1))
    redone = db.Bill.get(db.Bill.account == billed[1].id, db.Bill.bill_date >= D(2026, 5, 1))
    billing_run.cancel_bill(supervisor, cancelled.id, "Meter belongs to the neighbour")
    new = billing_run.rebill(supervisor, redone.id, "Misread: 100 kWh less", kwh=redone.kwh - 100)
    after = usage_report.build(biller, NOW, NOW)
    assert after.total.now.bills == before.total.now.bills - 2
    assert after.total.now.revenue_cents == (before.total.now.revenue_cents - cancelled.total_cents
                                             - redone.total_cents)
    month = f"{new.bill_date:%Y-%m}"                       # a rebill counts in the month it was made
    rebilled = usage_report.build(biller, month, month)
    assert rebilled.total.now.bills == 1 and rebilled.total.now.kwh == redone.kwh - 100
    assert rebilled.total.now.revenue_cents == new.total_cents
    everything = usage_report.build(biller, NOW, max(NOW, month))
    assert everything.total.now.bills == before.total.now.bills - 1   # the rebill once, its original not


def test_an_empty_period_says_so_and_exports_nothing(billed, biller, tmp_path):
    rep = usage_report.build(biller, "2026-07", "2026-08")
    assert rep.empty and rep.rows == ()
    assert rep.message.startswith("No bills in 2026-07 to 2026-08: no billing run committed there")
    assert [r.month for r in rep.months] == ["2026-07", "2026-08"]
    with pytest.raises(ServiceError, match="Nothing to export: No bills"):
        usage_report.write_exports(rep, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # A month with nothing now but bills a year before is listed, to compare.
    rep = usage_report.build(biller, "2027-05", "2027-05")
    assert rep.empty and rep.total.year_ago.bills == len(billed) and "a year before: 8 bills" in rep.message


@pytest.mark.parametrize("first,last,needle", [
    ("2026-13", "2026-13", "there is no month 13"),
    ("20x6-05", "2026-05", "YYYY-MM"),
    ("2026-05", "2026-04", "before the first"),
    ("2020-01", "2026-05", "At most 36 months"),
    ("2026-05", "May", "YYYY-MM"),
])
def test_bad_months_are_refused(database, biller, first, last, needle):
    with pytest.raises(ValidationError, match=needle):
        usage_report.build(biller, first, last)


def test_bad_filters_and_who_may_see_it(database, biller, msr):
    data.load_rates()
    with pytest.raises(ValidationError, match="No rate schedule XYZ"):
        usage_report.build(biller, NOW, NOW, schedule="xyz")
    with pytest.raises(ValidationError, match="A cycle is a number"):
        usage_report.build(biller, NOW, NOW, cycle="1a")
    with pytest.raises(PermissionDenied):
        usage_report.build(msr, NOW, NOW)


def test_csv_and_pdf_carry_the_same_figures(billed, biller, tmp_path):
    rep = usage_report.build(biller, "2026-04", NOW)
    files = usage_report.write_exports(rep, tmp_path / "reports")
    assert files.csv.name == "usage-2026-04-to-2026-05.csv" and files.pdf.name == "usage-2026-04-to-2026-05.pdf"
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text())))
    total = rows[-1]
    assert total["schedule"] == "TOTAL" and Decimal(total["revenue"]) * 100 == rep.total.now.revenue_cents
    assert sum(Decimal(r["revenue"]) for r in rows if r["month"] == NOW) * 100 == rep.total.now.revenue_cents
    assert int(total["kwh"]) == rep.total.now.kwh and int(total["year_ago_bills"]) == len(billed)
    text = pdf_text(files.pdf.read_bytes())
    assert "Usage and revenue 2026-04 to 2026-05" in text and "kWh by month" in text
    from kec_tui import money
    assert money.fmt(rep.total.now.revenue_cents) in text


def test_months_and_percentages():
    assert usage_report.parse_month("3/2026") == "2026-03" and usage_report.parse_month(" 2026-3 ") == "2026-03"
    assert usage_report.shift("2026-01", -12) == "2025-01" and usage_report.shift("2025-12", 1) == "2026-01"
    assert usage_report.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert usage_report.pct(105, 100) == Decimal("5.0") and usage_report.pct(1, 3) == Decimal("-66.7")
    assert usage_report.pct(5, 0) is None and usage_report.pct(2, 3) == Decimal("-33.3")


def test_empty_months_are_chosen_from_the_newest_bill(billed, biller):
    assert usage_report.latest_month() == NOW
    rep = usage_report.build(biller)
    assert (rep.first, rep.last) == ("2025-06", NOW) and rep.total.now.bills == len(billed)
    assert (usage_report.build(biller, NOW).first, usage_report.build(biller, NOW).last) == (NOW, NOW)
    assert usage_report.build(biller, "", "2025-05").first == "2024-06"
    f = usage_report.filters("2026-05", "", "res", "2", True, codes=["RES"])
    assert f == usage_report.Filters("2026-05", "", "RES", 2, True)
    assert usage_report.resolve(f, "2030-01").last == NOW


def test_the_command_line_prints_and_writes_it(sqlite_db, biller, supervisor, tmp_path, capsys):
    from kec_tui import cli

    billed_coop(biller, supervisor)
    conf = tmp_path / "config.toml"
    conf.write_text(f'reports_dir = "{tmp_path / "out"}"\n')
    base = ["--config", str(conf), "--db", sqlite_db]
    assert cli.main(base + ["--operator", "bill1", "report", "usage", "--from", NOW, "--schedule", "RES",
                            "--write"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage and revenue 2026-05 (schedule RES)") and "TOTAL" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"usage-2026-05-RES.csv", "usage-2026-05-RES.pdf"}
    assert cli.main(base + ["--operator", "bill1", "report", "usage", "--from", "2026-13"]) == 2
    assert "there is no month 13" in capsys.readouterr().err
    assert cli.main(base + ["--operator", "bill1", "report", "usage", "--from", "2027-01"]) == 1   # empty
    assert "No bills in 2027-01" in capsys.readouterr().out


def test_a_long_listing_pages_with_its_column_heads_on_every_page():
    raw = [(usage_report.shift("2025-01", k), s, c, 10 + c, 1000 * c, 12345 * c)
           for k in range(24) for s in ("RES", "SGS") for c in (1, 2, 3, 4)]
    rep = usage_report.assemble("2026-01", "2026-12", raw, by_cycle=True)
    assert len(rep.rows) == 96 and rep.total.now.revenue_cents == 12 * 2 * 12345 * 10
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(usage_report.report_pdf(rep))).pages
    assert len(pages) >= 3
    for n, page in enumerate(pages[1:], start=2):
        text = page.extract_text()
        assert f"Usage and revenue 2026-01 to 2026-12 - page {n}" in text and "Rev yr ago" in text
