"""A statement's PDF as the member gets it: its text (fpdf2's output read back with
pdftotext -layout) held in a snapshot, and the page rendered with pdftoppm and checked
(letter size, ink where the parts are, the stub's barcode bars). The statements are made
by hand (tests/services/statement_samples.py): no database, the same text every run.

Update after a deliberate change with: pytest tests/services/test_statement_pdf.py --snapshot-update
"""

import struct
import subprocess

import pytest

from kec_tui.services import statements
from tests.services.statement_samples import crowded, typical
from tests.services.test_statements import needs_poppler, read_i2of5

pytestmark = needs_poppler
SAMPLES = {"typical": typical, "crowded": crowded}


def pdf_of(tmp_path, name: str):
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(statements.render([SAMPLES[name]()]))
    return path


def text_of(pdf) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return "\n".join(line.rstrip() for line in out.splitlines()).strip("\n\f") + "\n"


def grey(pdf, dpi: int, *, x: int = 0, y: int = 0, w: int = 0, h: int = 0) -> tuple[int, int, bytes]:
    """The page (or the part x, y, w, h in pixels) as (width, height, grey pixels 0-255)."""
    crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)] if w else []
    stem = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), *crop, "-singlefile", str(pdf), str(stem)], check=True)
    raw = stem.with_suffix(".pgm").read_bytes()
    magic, size, maxval, pixels = raw.split(b"\n", 3)
    width, height = (int(v) for v in size.split())
    assert magic == b"P5" and maxval == b"255" and len(pixels) == width * height
    return width, height, pixels


def mm(value: float, dpi: int) -> int:
    return round(value / 25.4 * dpi)


@pytest.mark.parametrize("name", ["typical", "crowded"])
def test_statement_text(name, tmp_path, snapshot):
    text = text_of(pdf_of(tmp_path, name))
    s = SAMPLES[name]()
    assert s.scan_line in text and s.name in text
    assert text == snapshot


def test_a_crowded_statement_keeps_every_part_in_its_place(tmp_path):
    """Long names and addresses fitted to their column, the activity summed when it does not
    fit above the chart, messages only while they fit above the stub: no text over another."""
    text = text_of(pdf_of(tmp_path, "crowded"))
    lines = text.splitlines()
    s = crowded()
    assert "C/O Margaret Featherstonehaugh, 10150 N Government Way Apt 1207" in text
    chart = next(i for i, ln in enumerate(lines) if "Your use, kWh per month" in ln)
    detach = next(i for i, ln in enumerate(lines) if "Please detach" in ln)
    since = next(i for i, ln in enumerate(lines) if "Since your last statement" in ln)
    assert since < chart < detach
    rows = lines[since + 1 : chart]
    assert rows and all(ln.split()[-1].replace(",", "").lstrip("-").replace(".", "").isdigit() for ln in rows if ln)
    shown = sum(int(ln.split()[-1].replace(",", "").replace(".", "")) for ln in rows if ln)
    assert shown == sum(a.amount_cents for a in s.activity)  # what is listed adds up, the rest in one row
    assert "more entries" in text
    for msg in ("Your meter was not read", "past due. Please pay", "Budget billing: you pay", "to the grid"):
        assert msg in " ".join(ln[60:] for ln in lines[chart:detach]), msg


@pytest.mark.parametrize("name", ["typical", "crowded"])
def test_the_page_renders_to_a_sane_png(name, tmp_path):
    pdf = pdf_of(tmp_path, name)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    png = (tmp_path / "page.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (850, 1100)  # US letter at 100 dpi
    assert len(png) > 30_000

    dpi = 100
    width, height, px = grey(pdf, dpi)

    def ink(top_mm: float, bottom_mm: float, left_mm: float = 0, right_mm: float = 215.9, below: int = 160) -> float:
        """The share of pixels darker than `below` in a band of the page."""
        rows = range(mm(top_mm, dpi), mm(bottom_mm, dpi))
        cols = slice(mm(left_mm, dpi), mm(right_mm, dpi))
        dark = sum(sum(1 for p in px[r * width : (r + 1) * width][cols] if p < below) for r in rows)
        return dark / (len(rows) * (cols.stop - cols.start))

    assert 0.02 < ink(0, 279.4) < 0.25  # not blank, not a black page
    assert ink(0, 10) == 0 and ink(272, 279.4) == 0  # the margins stay clear
    assert ink(10, 22) > 0.02  # the header
    assert ink(175, 207, 12, 112, below=240) > 0.25  # the usage chart's bars (light blue)
    assert ink(201, 207, 106, 110, below=120) > 0.5  # this month's bar, the dark one, at the right end
    assert ink(214 + 1, 214 + 7, 0, 10) == 0  # the cut line stays inside the page's margins
    # the stub: the barcode, dark bars over most of its height, and nothing else in its band
    assert ink(262, 271, 96, 162) > 0.3
    assert ink(262, 271, 12, 90) == 0


@pytest.mark.parametrize("name", ["typical", "crowded"])
def test_the_stub_barcode_has_the_scan_line_bars(name, tmp_path):
    pdf = pdf_of(tmp_path, name)
    s = SAMPLES[name]()
    dpi = 300
    width, _, row = grey(pdf, dpi, y=mm(261 + 11 / 2, dpi), w=mm(215.9, dpi), h=1)
    dark = [p < 128 for p in row]
    bars = sum(1 for a, b in zip([False, *dark], dark) if b and not a)
    digits = len(s.scan_line) + len(s.scan_line) % 2
    assert bars == 2 + digits // 2 * 5 + 2  # start (2 bars), 5 bars a pair of digits, stop (2 bars)
    assert read_i2of5(row) == "0" * (len(s.scan_line) % 2) + s.scan_line
