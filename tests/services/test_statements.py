"""Statements: what is printed (balances, charges, usage, scan line), the PDF read back
with pdftotext and rendered with pdftoppm, the cycle's print file; a closed account gets
none."""

import csv
import datetime as dt
import re
import shutil
import subprocess

import pytest

from kec_tui import db
from kec_tui.checkdigit import parse_scan_line
from kec_tui.services import billing_run, operators, statements
from kec_tui.services.errors import ValidationError
from tests.services import billing_data as data

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) not installed; scripts/test.sh installs it",
)


@pytest.fixture
def billed(database):
    """Cycle 1 billed for 2025-05: one paid-up account, one owing last month's bill, one estimated."""
    data.load_rates()
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("super", "Sam Boss", "supervisor")
    paid = data.account(kwh=800, first="Ada", last="Lovelace")
    owing = data.account(kwh=1234, paid=False, first="Grace", last="Hopper", city="Coeur d'Alene")
    estimated = data.account(kwh=None, first="Alan", last="Turing")
    db.StatementPreference.create(account=estimated, paperless=True, email="alan@example.com")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(boss, reg.run.id)
    run = billing_run.commit(biller, reg.run.id)
    bills = {b.account_id: b.id for b in db.Bill.select()}
    return run, {
        "paid": (paid, bills[paid.id]),
        "owing": (owing, bills[owing.id]),
        "estimated": (estimated, bills[estimated.id]),
    }


def test_what_a_statement_says(billed):
    run, accts = billed
    s = statements.build(accts["paid"][1])
    assert (s.previous_balance_cents, s.payments_cents, s.current_cents, s.amount_due_cents) == (
        10000,
        -10000,
        10620,
        10620,
    )
    assert s.due_date == dt.date(2025, 5, 23) and s.period_start == data.LAST_READ and s.period_end == data.THIS_READ
    assert [a.description for a in s.activity] == ["Payment"]
    assert len(s.usage) == 13 and s.usage[-1] == ("05/25", 800) and s.usage[0] == ("05/24", 900)
    scan = parse_scan_line(s.scan_line)
    assert (scan.account_number, scan.amount_cents) == (s.account_number, 10620)
    o = statements.build(accts["owing"][1])
    assert o.previous_balance_cents == 10000 and o.payments_cents == 0
    assert o.amount_due_cents == 10000 + o.current_cents and any("past due" in m for m in o.messages)
    assert [ln.code for ln in o.lines][-1] == "fee"  # Coeur d'Alene's franchise fee
    e = statements.build(accts["estimated"][1])
    assert e.estimated and e.paperless and any("estimated" in m for m in e.messages)


@needs_poppler
def test_the_pdf_reads_back_with_the_scan_line_and_the_amounts(billed, tmp_path):
    run, accts = billed
    bill_id = accts["owing"][1]
    s = statements.build(bill_id)
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(statements.statement_pdf(bill_id))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert s.scan_line in text
    for needed in (
        "Grace Hopper",
        "Amount due",
        "$100.00",
        f"${s.current_cents // 100}.{s.current_cents % 100:02d}",
        f"{s.amount_due_cents // 100}.{s.amount_due_cents % 100:02d}",
        "05/23/2025",
        "Power cost adjustment",
        "franchise fee",
        "1,234",
        "Please detach",
        "Service availability charge",
    ):
        assert needed in text, needed
    png = tmp_path / "statement"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(png)], check=True)
    assert (tmp_path / "statement.png").stat().st_size > 10_000


@needs_poppler
def test_the_cycle_print_file_has_a_row_and_a_page_per_statement(billed, tmp_path):
    run, accts = billed
    out = statements.print_cycle(run.id, tmp_path)
    assert (out.statements, out.paperless, out.skipped) == (3, 1, ())
    rows = list(csv.DictReader(out.csv_path.open()))
    assert [r["page"] for r in rows] == ["1", "2", "3"]
    by_account = {int(r["account_number"]): r for r in rows}
    est = by_account[accts["estimated"][0].number]
    assert est["paperless"] == "Y" and est["estimated"] == "Y" and est["email"] == "alan@example.com"
    assert by_account[accts["paid"][0].number]["amount_due"] == "106.20"
    info = subprocess.run(["pdfinfo", str(out.pdf_path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+3$", info, re.M), info
    for n, r in enumerate(rows, start=1):
        page = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(out.pdf_path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert r["scan_line"] in page and r["name"] in page


def test_no_statement_for_a_closed_account_or_a_cancelled_bill(billed):
    run, accts = billed
    acct, bill_id = accts["paid"]
    db.Account.update(status="closed", closed=dt.date(2025, 5, 10)).where(db.Account.id == acct.id).execute()
    with pytest.raises(ValidationError, match="closed"):
        statements.build(bill_id)
    biller = operators.by_username("bill1")
    billing_run.cancel_bill(biller, accts["owing"][1], "billed to the wrong member")
    with pytest.raises(ValidationError, match="cancelled"):
        statements.build(accts["owing"][1])


I2OF5 = {
    "nnwwn": "0",
    "wnnnw": "1",
    "nwnnw": "2",
    "wwnnn": "3",
    "nnwnw": "4",
    "wnwnn": "5",
    "nwwnn": "6",
    "nnnww": "7",
    "wnnwn": "8",
    "nwnwn": "9",
}


def read_i2of5(row: bytes) -> str:
    """Decode an Interleaved 2 of 5 barcode from one row of grey pixels (dark < 128)."""
    dark = [p < 128 for p in row]
    first, last = dark.index(True), len(dark) - 1 - dark[::-1].index(True)
    runs, n = [], 1
    for a, b in zip(dark[first:last], dark[first + 1 : last + 1]):
        if a == b:
            n += 1
        else:
            runs.append(n)
            n = 1
    runs.append(n)
    cut = (min(runs) + max(runs)) / 2
    kinds = "".join("w" if r > cut else "n" for r in runs)
    assert kinds.startswith("nnnn") and kinds.endswith("wnn"), kinds
    body = kinds[4:-3]
    digits = ""
    for i in range(0, len(body), 10):
        pair = body[i : i + 10]
        digits += I2OF5[pair[0::2]] + I2OF5[pair[1::2]]
    return digits


@needs_poppler
def test_the_barcode_carries_the_scan_line(billed, tmp_path):
    run, accts = billed
    s = statements.build(accts["paid"][1])
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(statements.render([s]))
    dpi = 300
    y = round((261 + 11 / 2) / 25.4 * dpi)  # the middle of the bars (statements._stub)
    subprocess.run(
        [
            "pdftoppm",
            "-gray",
            "-r",
            str(dpi),
            "-y",
            str(y),
            "-H",
            "1",
            "-W",
            "2550",
            "-singlefile",
            str(pdf),
            str(tmp_path / "row"),
        ],
        check=True,
    )
    raw = (tmp_path / "row.pgm").read_bytes()
    header = raw.split(b"\n", 3)  # P5, width height, maxval, pixels
    width = int(header[1].split()[0])
    assert read_i2of5(header[3][:width]) == "0" + s.scan_line  # I2of5 pairs digits: one leading 0
