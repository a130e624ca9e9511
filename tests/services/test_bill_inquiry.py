"""Bill inquiries (services/bill_inquiry.py) against hand-worked bills of the test rate file
(tests/services/rate_file.py), on SQLite and PostgreSQL.

The cycle billed is 2025-05 (read 04/01 -> 05/01, 30 days), on RES version 2025-03-16:
$27.00 a month, energy $0.095000/kWh to 1,000 kWh then $0.110000 (winter), PCA $0.004000/kWh.
800 kWh: 27.00 + 76.00 + 3.20 = $106.20. The month before (03/01 -> 04/01, 31 days, 900 kWh)
was charged $100.00 on the ledger; at the rates in force on 03/01 (version 2025-01-01: $25.00,
$0.091230, PCA $0.003100) this bill would be 25.00 + 72.98 + 2.48 = $100.46.
"""
import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest

from kec_tui import db
from kec_tui.services import bill_inquiry, billing_run, operators
from kec_tui.services.bill_calc import Line
from kec_tui.services.errors import ValidationError
from tests.services import billing_data as data


@pytest.fixture
def billed(database):
    data.load_rates()
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("super", "Sam Boss", "supervisor")
    plain = data.account(kwh=800, first="Ada", last="Lovelace")
    big = data.account(kwh=1234, paid=False, first="Grace", last="Hopper", city="Coeur d'Alene")
    estimated = data.account(kwh=None, first="Alan", last="Turing")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(biller, reg.run.id)
    bill = {b.account_id: b.id for b in db.Bill.select()}
    return biller, {"plain": (plain, bill[plain.id]), "big": (big, bill[big.id]),
                    "estimated": (estimated, bill[estimated.id])}


def test_a_bill_explained_line_by_line(billed):
    _, accts = billed
    acct, bill_id = accts["plain"]
    text = bill_inquiry.explain(bill_id)
    assert text[0] == f"Bill of 05/03/2025 for account {acct.number}, rate schedule RES (Residential)."
    assert "Service from 04/01/2025 to 05/01/2025: 30 days." in text
    assert "The meter read 21,700 at the start and 22,500 at the end: 800 kWh used." in text
    charges = text[text.index("The charges:") + 1:]
    assert charges[:3] == [
        "  Service availability charge: $27.00 a month = $27.00. It is the fixed monthly charge for being "
        "connected to the co-op's lines, whatever you use.",
        "  Energy, first 1,000 kWh (winter): 800 kWh at $0.095000 per kWh = $76.00. It is the electricity you used.",
        "  Power cost adjustment: 800 kWh at $0.004000 per kWh = $3.20. It passes on to members what the co-op's "
        "wholesale power costs above or below the base rates.",
    ]
    assert charges[3] == "Total charges: $106.20, due 05/23/2025."


def test_two_blocks_and_the_city_fee_in_words(billed):
    _, accts = billed
    text = bill_inquiry.explain(accts["big"][1])
    # 1,234 kWh: 1,000 at 0.095 = 95.00, 234 at 0.11 = 25.74, PCA 4.94, customer 27.00 -> 152.68; 3% = 4.58
    used = " It is the electricity you used."
    assert "  Energy, first 1,000 kWh (winter): 1,000 kWh at $0.095000 per kWh = $95.00." + used in text
    assert "  Energy, over 1,000 kWh (winter): 234 kWh at $0.110000 per kWh = $25.74." + used in text
    assert any(t.startswith("  Coeur d'Alene franchise fee: 3.0% of $152.68 = $4.58.") for t in text)
    assert text[-1] == "Total charges: $157.26, due 05/23/2025."


def test_an_estimated_bill_says_so(billed):
    _, accts = billed
    text = bill_inquiry.explain(accts["estimated"][1])
    assert any(t.startswith("The meter was not read this month: 900 kWh is an estimate") for t in text)
    listed = bill_inquiry.bills(accts["estimated"][0].id)
    assert [r.flags for r in listed] == ["estimated"]


def test_compared_with_the_month_before_and_the_same_month_last_year(billed):
    _, accts = billed
    c = bill_inquiry.compare(accts["plain"][1])
    assert (c.this.days, c.this.kwh, c.this.per_day, c.this.amount_cents) == (30, 800, Decimal("26.7"), 10620)
    p = c.previous
    assert (p.start, p.end, p.days, p.kwh, p.per_day, p.amount_cents) == (
        dt.date(2025, 3, 1), dt.date(2025, 4, 1), 31, 900, Decimal("29.0"), 10000)
    assert list(c.previous_why) == [
        "This bill is $6.20 more than last month's bill ($106.20 against $100.00).",
        "You used 100 kWh less (800 against 900 kWh), over 1 day fewer (30 against 31).",
        "Per day you used less: 26.7 against 29.0 kWh a day.",
        "Rates changed on 03/16/2025: at the rates of 03/01/2025 this bill would be $100.46 ($5.74 less).",
    ]
    y = c.last_year
    assert (y.start, y.end, y.kwh, y.amount_cents) == (dt.date(2024, 4, 1), dt.date(2024, 5, 1), 900, None)
    assert c.last_year_why[0] == "You used 100 kWh less (800 against 900 kWh), over the same 30 days."
    table = c.lines()
    assert table[1].startswith("This bill") and "$106.20" in table[1]
    assert "not on file" in table[3]


def test_the_estimate_is_a_reason(billed):
    _, accts = billed
    c = bill_inquiry.compare(accts["estimated"][1])
    assert c.this.estimated
    assert "This bill is estimated (the meter was not read): the next actual reading corrects it." \
        in c.previous_why


def test_rate_words_and_a_prorated_line():
    line = Line("customer", "Service availability charge (03/01-03/16)", "0.5000 mo", "$25.00/mo, 15 of 30 days",
                1250)
    assert bill_inquiry.line_words(line).startswith(
        "Service availability charge (03/01-03/16): $25.00 a month, for 15 of the 30 days (0.5000 of a month) "
        "= $12.50.")
    credit = Line("netmeter", "Net metering credit, 120 kWh to the grid", "120 kWh", "$0.035000/kWh", -420)
    assert bill_inquiry.line_words(credit).startswith(
        "Net metering credit, 120 kWh to the grid: 120 kWh at $0.035000 per kWh = -$4.20 (a credit).")


def test_the_calculator_works_a_month_on_any_schedule(database):
    data.load_rates()
    calc = bill_inquiry.calculate("res", "1,234", on=dt.date(2025, 5, 1))
    assert calc.total_cents == 15268 and calc.days == 30
    text = bill_inquiry.calculation_lines(calc)
    assert text[0].startswith("The bill would be $152.68: 1,234 kWh on schedule RES, a 30-day month read 05/01/2025")
    assert text[2] == "  Energy, first 1,000 kWh (winter): 1,000 kWh at $0.095000 per kWh = $95.00."
    # 106.20 + 3% (3.186 -> 3.19)
    assert bill_inquiry.calculate("RES", 800, on=dt.date(2025, 5, 1), city="Coeur d'Alene").total_cents == 10939
    assert [s.code for s in bill_inquiry.schedules()] == ["IRR", "LGS", "RES", "SGS", "SL"]
    for bad in ("12a", "-5", "", "1.5"):
        with pytest.raises(ValidationError, match="kWh is a whole number"):
            bill_inquiry.calculate("RES", bad)
    with pytest.raises(ValidationError, match="No rate schedule XX"):
        bill_inquiry.calculate("XX", 100)


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@needs_poppler
def test_a_statement_of_one_bill_and_of_a_closed_account(billed, tmp_path):
    biller, accts = billed
    acct, bill_id = accts["plain"]
    path = bill_inquiry.write_statement(bill_id, tmp_path / "reports")
    assert path.parent == tmp_path / "reports" and path.name == f"statement-{acct.number}-20250503-bill{bill_id}.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "Ada Lovelace" in text and "106.20" in text and "Copy of the statement" not in text
    # Closed: the cycle's mailing skips it, but the member's own copy prints, marked.
    db.Account.update(status="closed", closed=dt.date(2025, 5, 20)).where(db.Account.id == acct.id).execute()
    path = bill_inquiry.write_statement(bill_id, tmp_path / "reports")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Copy of the statement of 05/03/2025: this account was closed on 05/20/2025." in " ".join(text.split())
    # A cancelled bill has none; a closed account with no bill gets a message, not a file.
    billing_run.cancel_bill(biller, accts["big"][1], "wrong meter")
    with pytest.raises(ValidationError, match="cancelled"):
        bill_inquiry.write_statement(accts["big"][1], tmp_path / "reports")
    other = data.account(kwh=None, first="Closed", last="Nobills", status="closed")
    assert bill_inquiry.bills(other.id) == []
    msg = bill_inquiry.no_bills_message(other.id)
    assert msg.startswith(f"Account {other.number} is closed and has no statement on file to print; its last bill "
                          f"is on the ledger: 04/03/2025 $100.00")


def test_cancel_and_rebill_show_in_the_list(billed):
    biller, accts = billed
    acct, bill_id = accts["plain"]
    new = billing_run.rebill(biller, bill_id, "misread", kwh=700)
    rows = bill_inquiry.bills(acct.id)
    assert [(r.id, r.status, r.flags) for r in rows] == [(new.id, "billed", "rebill"),
                                                          (bill_id, "cancelled", "cancelled")]
    text = bill_inquiry.explain(new.id)
    assert "It bills the period again in place of the bill of 05/03/2025, which was cancelled." in text
    assert "The meter read 21,700 at the start and 22,500 at the end; the bill was made again for 700 kWh " \
           "(corrected)." in text
    assert any(t.startswith("This bill was cancelled (misread)") for t in bill_inquiry.explain(bill_id))
