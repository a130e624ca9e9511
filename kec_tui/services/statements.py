"""Statements: the account's bill as the member sees it, a PDF page (fpdf2) with a
detachable stub, and for a cycle the print vendor's CSV and one merged PDF.

The stub carries the scan line in the layout batch entry reads (checkdigit.make_scan_line:
account + amount due + mod-10 check digit) and the same digits as an Interleaved 2 of 5
barcode (an odd count gets a leading 0, as I2of5 pairs digits: checkdigit.barcode_digits;
batch entry reads that form back too). The amount due is the
ledger's balance through this bill; "previous balance" is the balance through the
previous bill, and what happened between (payments, adjustments, fees) is listed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from peewee import fn

from kec_tui import db, money
from kec_tui.checkdigit import ScanLayout, barcode_digits, make_scan_line
from kec_tui.services import billing_run
from kec_tui.services.bill_calc import Line
from kec_tui.services.errors import NotFound, ValidationError

COOP_NAME = "Kootenai Electric Cooperative"
COOP_ADDRESS = "PO Box 278, Hayden, ID 83835   (208) 765-1200"
USAGE_MONTHS = 13
CHART_Y = 168  # the usage chart and the messages (mm from the top)
STUB_Y = 214   # the stub's cut line


@dataclass(frozen=True)
class Activity:
    day: dt.date
    description: str
    amount_cents: int


@dataclass(frozen=True)
class Statement:
    bill_id: int
    account_number: int
    name: str
    mail_lines: tuple[str, ...]
    service_address: str
    meter_no: str
    statement_date: dt.date
    due_date: dt.date
    period_start: dt.date
    period_end: dt.date
    schedule: str
    prev_reading: int | None
    reading: int | None
    multiplier: int
    kwh: int
    estimated: bool
    lines: tuple[Line, ...]
    previous_balance_cents: int
    payments_cents: int                 # negative: received since the previous bill
    other_cents: int                    # adjustments, fees, reversals since the previous bill
    activity: tuple[Activity, ...]
    current_cents: int                  # charged this month (a budget-billed member's budget amount)
    amount_due_cents: int
    usage: tuple[tuple[str, int], ...]  # (MM/YY, kWh), oldest first
    messages: tuple[str, ...]
    scan_line: str
    paperless: bool
    email: str = ""
    charges_cents: int = 0              # the sum of the charge lines


def _months_back(day: dt.date, k: int) -> tuple[int, int]:
    y, m = divmod(day.year * 12 + day.month - 1 - k, 12)
    return y, m + 1


@db.connected
def build(bill_id: int, layout: ScanLayout = ScanLayout(), *, copy: bool = False) -> Statement:
    """Everything printed on the statement of one bill. A closed account is sent none (the
    cycle's mailing skips it); `copy`: the member asked for this bill's statement, which is
    printed for a closed account too (its final bill), marked as a copy."""
    b = billing_run.get_bill(bill_id)
    if b.status != "billed":
        raise ValidationError(f"Bill {bill_id} is {b.status}: no statement (its rebill has one)")
    a = db.Account.get_by_id(b.account_id)
    if a.status == "closed" and not copy:
        raise ValidationError(f"Account {a.number} is closed: no statement is sent", "account")
    m = db.Member.get_by_id(a.member_id)
    loc = db.ServiceLocation.get_by_id(a.location_id)
    meter = db.Meter.get_or_none(db.Meter.id == a.meter_id)
    LE = db.LedgerEntry
    this = b.ledger_entry_id
    prev_bill = (LE.select(fn.MAX(LE.id)).where(LE.account == a.id, LE.kind == "bill", LE.id < this).scalar())
    previous = int(LE.select(fn.COALESCE(fn.SUM(LE.amount_cents), 0)).where(
        LE.account == a.id, LE.id <= prev_bill).scalar()) if prev_bill else 0
    between = list(LE.select(LE.effective, LE.kind, LE.description, LE.amount_cents).where(
        LE.account == a.id, LE.id > (prev_bill or 0), LE.id < this).order_by(LE.id).tuples())
    payments = sum(c for _, k, _, c in between if k == "payment")
    other = sum(c for _, k, _, c in between if k != "payment")
    due = previous + payments + other + b.charged_cents
    R = db.Reading
    first_y, first_m = _months_back(b.period_end, USAGE_MONTHS - 1)
    by_month: dict[tuple[int, int], int] = {}
    for day, kwh in R.select(R.read_date, R.kwh).where(
            R.account == a.id, R.read_date >= dt.date(first_y, first_m, 1), R.read_date <= b.period_end).tuples():
        by_month[(day.year, day.month)] = by_month.get((day.year, day.month), 0) + kwh
    usage = tuple((f"{mm:02d}/{yy % 100:02d}", by_month.get((yy, mm), 0))
                  for yy, mm in (_months_back(b.period_end, k) for k in range(USAGE_MONTHS - 1, -1, -1)))
    pref = db.StatementPreference.get_or_none(db.StatementPreference.account == a.id)
    messages = []
    if a.status == "closed":
        closed = f" on {a.closed:%m/%d/%Y}" if a.closed else ""
        messages.append(f"Copy of the statement of {b.bill_date:%m/%d/%Y}: this account was closed{closed}.")
    if b.estimated:
        messages.append("Your meter was not read this month: this bill is estimated from your recent use. "
                        "The next reading corrects it.")
    if previous + payments + other > 0:
        messages.append(f"Your account shows {money.fmt_dollars(previous + payments + other)} past due. "
                        "Please pay it now to avoid a late fee; payment arrangements are available.")
    if b.budget == "levelized":
        messages.append(f"Budget billing: you pay {money.fmt_dollars(b.charged_cents)} this month; your charges were "
                        f"{money.fmt_dollars(b.total_cents)}. The difference is settled once a year.")
    elif b.budget == "trueup":
        messages.append(f"Budget billing true-up: this month's charges {money.fmt_dollars(b.total_cents)} plus "
                        f"{money.fmt_dollars(b.charged_cents - b.total_cents)} settled for the year.")
    if b.reverse_kwh:
        messages.append(f"You sent {b.reverse_kwh:,} kWh to the grid this period: thank you.")
    messages.append("Questions about your bill? Call us; we are glad to explain every line.")
    mail = (m.mail_street, f"{m.mail_city}, {m.mail_state} {m.mail_zip}".strip(", "))
    return Statement(
        bill_id=b.id, account_number=a.number, name=f"{m.first_name} {m.last_name}".strip(), mail_lines=mail,
        service_address=f"{loc.street}, {loc.city}", meter_no=meter.meter_no if meter else "",
        statement_date=b.bill_date, due_date=b.due_date, period_start=b.period_start, period_end=b.period_end,
        schedule=b.schedule, prev_reading=b.prev_reading, reading=b.reading,
        multiplier=meter.multiplier if meter else 1, kwh=b.kwh, estimated=b.estimated, lines=b.lines,
        previous_balance_cents=previous, payments_cents=payments, other_cents=other,
        activity=tuple(Activity(d, desc, c) for d, _, desc, c in between), current_cents=b.charged_cents,
        amount_due_cents=due, usage=usage, messages=tuple(messages),
        scan_line=make_scan_line(a.number, max(due, 0), layout),
        paperless=bool(pref and pref.paperless), email=pref.email if pref else "", charges_cents=b.total_cents)


# ---- the PDF ------------------------------------------------------------------------------------------

def _t(text: str) -> str:
    """The core PDF fonts are Latin-1: anything else becomes '?'."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="letter")
        self.set_auto_page_break(False)
        self.set_margins(12, 10, 12)
        self.set_creator("kec-tui")


def _fit(pdf: FPDF, text: str, width: float, smallest: float = 6.5) -> str:
    """The text for a cell `width` mm wide: the font made smaller (down to `smallest` pt) until
    it fits, then cut with '...'; a long name or address never runs into the next column."""
    text = _t(text)
    size = pdf.font_size_pt
    while pdf.get_string_width(text) > width - 2 * pdf.c_margin and size > smallest:
        size = max(smallest, size - 0.5)
        pdf.set_font_size(size)
    if pdf.get_string_width(text) > width - 2 * pdf.c_margin:
        while text and pdf.get_string_width(text + "...") > width - 2 * pdf.c_margin:
            text = text[:-1]
        text = text.rstrip() + "..."
    return text


def _cell(pdf: FPDF, width: float, height: float, text: str, **kw) -> None:
    """A cell whose text is fitted to its width (the font size is restored after)."""
    size = pdf.font_size_pt
    pdf.cell(width, height, _fit(pdf, text, width), **kw)
    pdf.set_font_size(size)


def _row(pdf: FPDF, label: str, value: str, w1: float, w2: float, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 9)
    pdf.cell(w1, 4.6, _t(label))
    pdf.cell(w2, 4.6, _t(value), align="R", new_x="LMARGIN", new_y="NEXT")


def _page(pdf: FPDF, s: Statement) -> None:
    pdf.add_page()
    left = pdf.l_margin
    # Header
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 7, _t(COOP_NAME), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(0, 4, _t(COOP_ADDRESS), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_xy(140, 10)
    pdf.cell(64, 6, "ELECTRIC STATEMENT", align="R", new_x="LMARGIN", new_y="NEXT")
    top = 26
    pdf.set_xy(left, top)
    pdf.set_font("Helvetica", "", 10)
    for text in (s.name, *s.mail_lines):
        _cell(pdf, 112, 5, text, new_x="LMARGIN", new_y="NEXT")
    # Account box
    pdf.set_xy(128, top)
    box = [("Account number", str(s.account_number)), ("Statement date", f"{s.statement_date:%m/%d/%Y}"),
           ("Due date", f"{s.due_date:%m/%d/%Y}"), ("Amount due", money.fmt_dollars(s.amount_due_cents))]
    for label, value in box:
        pdf.set_x(128)
        pdf.set_font("Helvetica", "B" if label == "Amount due" else "", 10)
        pdf.cell(38, 5.5, label, border="LTB")
        pdf.cell(38, 5.5, _t(value), border="RTB", align="R", new_x="LMARGIN", new_y="NEXT")
    # Service
    y = 52
    pdf.set_xy(left, y)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 5, "Service", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    est = "  (ESTIMATED)" if s.estimated else ""
    info = [("Service address", s.service_address), ("Meter", f"{s.meter_no}   multiplier {s.multiplier}"),
            ("Rate schedule", s.schedule),
            ("Service period", f"{s.period_start:%m/%d/%Y} - {s.period_end:%m/%d/%Y} "
                               f"({(s.period_end - s.period_start).days} days)"),
            ("Previous reading", "" if s.prev_reading is None else f"{s.prev_reading:,}"),
            ("Present reading", ("" if s.reading is None else f"{s.reading:,}") + est),
            ("kWh used", f"{s.kwh:,}{est}")]
    for label, value in info:
        pdf.cell(32, 4.6, label)
        _cell(pdf, 80, 4.6, value, new_x="LMARGIN", new_y="NEXT")
    # Account summary
    pdf.set_xy(128, y)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(76, 5, "Account summary", new_x="LMARGIN", new_y="NEXT")
    for label, cents, bold in (("Previous balance", s.previous_balance_cents, False),
                               ("Payments received", s.payments_cents, False),
                               ("Adjustments and fees", s.other_cents, False),
                               ("Current charges", s.current_cents, False),
                               ("Amount due", s.amount_due_cents, True)):
        pdf.set_x(128)
        _row(pdf, label, money.fmt_dollars(cents), 46, 30, bold)
    # Charges
    y = 92
    pdf.set_xy(left, y)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 5, "Current charges", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    for w, head, align in ((96, "Charge", "L"), (34, "Quantity", "R"), (36, "Rate", "R"), (26, "Amount", "R")):
        pdf.cell(w, 4.5, head, border="B", align=align)
    pdf.ln(4.8)
    pdf.set_font("Helvetica", "", 8)
    for ln in s.lines:
        _cell(pdf, 96, 4.3, ln.description)
        _cell(pdf, 34, 4.3, ln.quantity, align="R")
        _cell(pdf, 36, 4.3, ln.rate, align="R")
        pdf.cell(26, 4.3, money.fmt(ln.amount_cents), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(166, 4.8, "Total current charges", border="T")
    pdf.cell(26, 4.8, money.fmt(s.charges_cents), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    if s.charges_cents != s.current_cents:
        pdf.cell(166, 4.8, "Budget billing: amount billed this month")
        pdf.cell(26, 4.8, money.fmt(s.current_cents), align="R", new_x="LMARGIN", new_y="NEXT")
    if s.activity:
        _activity(pdf, s.activity, CHART_Y - 1)
    # Usage chart: 13 months, bars drawn as rectangles
    _usage_chart(pdf, s, left, CHART_Y)
    # Messages: as many as fit above the stub, in order (the first are the ones that matter)
    pdf.set_xy(118, CHART_Y)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(86, 5, "Messages", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    for msg in s.messages:
        height = pdf.multi_cell(86, 3.8, _t(msg), align="L", dry_run=True, output="HEIGHT")
        if pdf.get_y() + height > STUB_Y - 2:
            break
        pdf.set_x(118)
        pdf.multi_cell(86, 3.8, _t(msg), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.8)
    _stub(pdf, s, left)


def _activity(pdf: FPDF, activity: tuple[Activity, ...], bottom: float) -> None:
    """What happened since the last statement, as many rows as fit above `bottom`; the rest
    summed in one last row, so the rows always add up to the account summary's figures."""
    row = 4.1
    pdf.ln(1.5)
    room = int((bottom - pdf.get_y() - 4.3) // row)
    if room < 1:
        return
    shown = list(activity) if len(activity) <= room else list(activity[: room - 1])
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(0, 4.3, "Since your last statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    for act in shown:
        pdf.cell(24, row, f"{act.day:%m/%d/%Y}")
        _cell(pdf, 142, row, act.description)
        pdf.cell(26, row, money.fmt(act.amount_cents), align="R", new_x="LMARGIN", new_y="NEXT")
    rest = activity[len(shown):]
    if rest:
        pdf.cell(24, row, f"{rest[0].day:%m/%d}-{rest[-1].day:%m/%d}")
        pdf.cell(142, row, f"{len(rest)} more entries (your account's history lists each)")
        pdf.cell(26, row, money.fmt(sum(a.amount_cents for a in rest)), align="R", new_x="LMARGIN", new_y="NEXT")


def _usage_chart(pdf: FPDF, s: Statement, x: float, y: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(100, 5, "Your use, kWh per month", new_x="LMARGIN", new_y="NEXT")
    top, height, width = y + 7, 30, 100
    most = max((k for _, k in s.usage), default=0) or 1
    bar_w = width / len(s.usage)
    pdf.set_draw_color(160)
    pdf.line(x, top + height, x + width, top + height)
    pdf.set_font("Helvetica", "", 5.5)
    for i, (label, kwh) in enumerate(s.usage):
        h = height * kwh / most
        pdf.set_fill_color(40, 90, 160) if i == len(s.usage) - 1 else pdf.set_fill_color(150, 170, 200)
        bx = x + i * bar_w + bar_w * 0.15
        if h > 0:
            pdf.rect(bx, top + height - h, bar_w * 0.7, h, "F")
        pdf.set_xy(x + i * bar_w, top + height + 0.5)
        pdf.cell(bar_w, 3, label, align="C")
        pdf.set_xy(x + i * bar_w, top + height - h - 3.2)
        pdf.cell(bar_w, 3, f"{kwh:,}" if kwh else "", align="C")
    pdf.set_draw_color(0)
    pdf.set_fill_color(0)


def _stub(pdf: FPDF, s: Statement, left: float) -> None:
    cut = STUB_Y
    pdf.set_draw_color(120)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    pdf.line(left, cut, 204, cut)
    pdf.set_dash_pattern()
    pdf.set_draw_color(0)
    pdf.set_xy(left, cut + 1)
    pdf.set_font("Helvetica", "", 7)
    pdf.cell(0, 3, "Please detach and return this portion with your payment. Make checks payable to "
                   + _t(COOP_NAME) + ".", align="C", new_x="LMARGIN", new_y="NEXT")
    y = cut + 8
    pdf.set_xy(left, y)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(100, 5, _t(COOP_NAME), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for text in (s.name, *s.mail_lines):
        _cell(pdf, 112, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(128, y)
    for label, value in (("Account number", str(s.account_number)), ("Due date", f"{s.due_date:%m/%d/%Y}"),
                         ("Amount due", money.fmt_dollars(s.amount_due_cents)), ("Amount enclosed", "")):
        pdf.set_x(128)
        pdf.set_font("Helvetica", "B" if label == "Amount due" else "", 10)
        pdf.cell(38, 6, label, border=1)
        pdf.cell(38, 6, _t(value), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    if s.paperless:
        pdf.set_xy(left, y + 26)
        pdf.set_font("Helvetica", "I", 8)
        pdf.cell(100, 4, "Paperless: this statement was also e-mailed.")
    # the scan line in the printer's OCR position, then the same digits as I2of5
    pdf.set_font("Courier", "B", 12)
    pdf.set_xy(left, 254)
    pdf.cell(192, 6, s.scan_line, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(0)
    pdf.interleaved2of5(barcode_digits(s.scan_line), x=96, y=261, w=0.9, h=11)


def render(statements: list[Statement], progress: Callable[[int], None] | None = None) -> bytes:
    """One page per statement, in order, as PDF bytes (`progress(pages)` after each page)."""
    pdf = _Doc()
    for n, s in enumerate(statements, start=1):
        _page(pdf, s)
        if progress is not None:
            progress(n)
    return bytes(pdf.output())


@db.connected
def statement_pdf(bill_id: int, layout: ScanLayout = ScanLayout(), *, copy: bool = False) -> bytes:
    return render([build(bill_id, layout, copy=copy)])


# ---- the cycle's print file ------------------------------------------------------------------------------

PRINT_COLUMNS = ["page", "account_number", "name", "mail_street", "mail_city_state_zip", "service_address",
                 "meter_no", "statement_date", "due_date", "period_start", "period_end", "schedule", "prev_reading",
                 "reading", "multiplier", "kwh", "estimated", "previous_balance", "payments", "adjustments",
                 "current_charges", "amount_due", "charges", "usage", "messages", "scan_line", "paperless", "email"]


def _csv_row(page: int, s: Statement) -> list[str]:
    mail = list(s.mail_lines) + ["", ""]
    return [str(page), str(s.account_number), s.name, mail[0], mail[1], s.service_address, s.meter_no,
            s.statement_date.isoformat(), s.due_date.isoformat(), s.period_start.isoformat(), s.period_end.isoformat(),
            s.schedule, "" if s.prev_reading is None else str(s.prev_reading),
            "" if s.reading is None else str(s.reading), str(s.multiplier), str(s.kwh), "Y" if s.estimated else "N",
            money.fmt(s.previous_balance_cents), money.fmt(s.payments_cents), money.fmt(s.other_cents),
            money.fmt(s.current_cents), money.fmt(s.amount_due_cents),
            " | ".join(f"{ln.description}; {ln.quantity}; {ln.rate}; {money.fmt(ln.amount_cents)}" for ln in s.lines),
            " ".join(f"{label}={kwh}" for label, kwh in s.usage), " | ".join(s.messages), s.scan_line,
            "Y" if s.paperless else "N", s.email]


@dataclass(frozen=True)
class PrintFile:
    csv_path: Path
    pdf_path: Path
    statements: int
    paperless: int
    skipped: tuple[tuple[int, str], ...]      # (bill id, why): cancelled bills, closed accounts


@db.connected
def print_cycle(run_id: int, out_dir: Path | str, layout: ScanLayout = ScanLayout(),
                progress: Callable[[int, int], None] | None = None) -> PrintFile:
    """The print vendor's file for a committed run: a CSV (one row per statement with every
    printed field, paperless marked) and one merged PDF whose page N is the CSV's row N.
    `progress(done, of)` is told as each statement is built and then drawn (of: twice the bills)."""
    run = billing_run.get_run(run_id)
    if run.status != "committed":
        raise ValidationError(f"Cycle {run.cycle} {run.period} is {run.status}: statements follow the commit")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"statements-cycle{run.cycle}-{run.period}"
    built: list[Statement] = []
    skipped = []
    bill_ids = billing_run.bills_of_run(run_id)
    of = 2 * len(bill_ids)
    for n, bill_id in enumerate(bill_ids, start=1):
        try:
            built.append(build(bill_id, layout))
        except (ValidationError, NotFound) as exc:
            skipped.append((bill_id, exc.message))
        if progress is not None:
            progress(n, of)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(PRINT_COLUMNS)
    for page, s in enumerate(built, start=1):
        w.writerow(_csv_row(page, s))
    csv_path, pdf_path = out / f"{stem}.csv", out / f"{stem}.pdf"
    csv_path.write_text(buf.getvalue(), encoding="utf-8")
    pdf_path.write_bytes(render(built, None if progress is None else
                                lambda pages: progress(of - len(built) + pages, of)))
    return PrintFile(csv_path, pdf_path, len(built), sum(s.paperless for s in built), tuple(skipped))
