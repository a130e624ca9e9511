"""Reports of a posted payment batch: text (and the same as PDF) and the bank deposit CSV.

The PDF is the text report as a listing (fpdf2: Courier, US letter, paged);
the work tickets of services/orders.py use the same writer.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kec_tui import db, money
from kec_tui.config import default_data_dir
from kec_tui.services import batches
from kec_tui.services.errors import ServiceError

WIDTH = 80
COOP_NAME = "Kootenai Electric Cooperative"


@dataclass(frozen=True)
class ReportFiles:
    text: Path
    csv: Path
    pdf: Path | None = None


def _all_lines(batch_id: int) -> list[batches.LineInfo]:
    out: list[batches.LineInfo] = []
    while True:
        page = batches.lines(batch_id, limit=1000, offset=len(out))
        out += page
        if len(page) < 1000:
            return out


def batch_report_text(batch_id: int) -> str:
    b = batches.get_batch(batch_id)
    t = batches.batch_totals(batch_id)
    rows = _all_lines(batch_id)
    out = [f"{COOP_NAME} - payment batch {b.number}".center(WIDTH).rstrip(), ""]
    out.append(f"Batch date {b.batch_date:%m/%d/%Y}   Tender {batches.TENDER_LABELS.get(b.tender, b.tender)}   "
               f"Source {b.source}   Status {b.status}")
    out.append(f"Opened   {b.created_at:%m/%d/%Y %H:%M:%S} by {b.operator}")
    if b.posted_at:
        out.append(f"Posted   {b.posted_at:%m/%d/%Y %H:%M:%S} by {b.posted_by}")
    if b.accepted_by:
        out.append(f"Difference accepted by {b.accepted_by}: {b.accept_reason}"[:WIDTH])
    out += ["", f"{'Seq':>5} {'Account':>10}  {'Name':<24} {'Check no.':<12} {'Amount':>12}  Note",
            f"{'-' * 5} {'-' * 10}  {'-' * 24} {'-' * 12} {'-' * 12}  {'-' * 8}"]
    for ln in rows:
        note = "VOID" if ln.status == "void" else ("UNAPPL" if ln.unapplied else "")
        if ln.source == "scanned":
            note = (note + " scan").strip()
        account = str(ln.account_number) if ln.account_number else ln.account_text
        out.append(f"{ln.seq:>5} {account:>10}  {ln.name[:24]:<24} {ln.check_no[:12]:<12} "
                   f"{money.fmt(ln.amount_cents):>12}  {note}".rstrip())
    out += ["", f"Lines       {t.count:>8} active, {t.void_count} void",
            f"Total       {money.fmt_dollars(t.total_cents):>16}",
            f"Control     {t.control_count:>8} lines, {money.fmt_dollars(t.control_total_cents)}",
            f"Difference  {t.count_difference:>+8} lines, {money.fmt(t.total_difference_cents, sign=True)}"]
    unapplied = [ln for ln in rows if ln.unapplied and ln.status == "active"]
    if unapplied:
        out.append(f"Unapplied   {len(unapplied):>8} lines, "
                   f"{money.fmt_dollars(sum(ln.amount_cents for ln in unapplied))}")
    return "\n".join(out) + "\n"


def deposit_csv(batch_id: int) -> str:
    """check_no, amount (dollars), account: one row per active line, for the bank deposit."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["check_no", "amount", "account"])
    for ln in _all_lines(batch_id):
        if ln.status == "active":
            w.writerow([ln.check_no, str(money.to_decimal(ln.amount_cents)),
                        ln.account_number if ln.account_number else ln.account_text])
    return buf.getvalue()


def text_pdf(text: str, *, font_size: int = 9, lines_per_page: int = 64) -> bytes:
    """A text-only PDF (US letter, Courier) of `text`, `lines_per_page` lines a page."""
    from fpdf import FPDF  # imported here: only posting and tickets need it, not the start-up

    pdf = FPDF(unit="pt", format="letter")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(36, 40)
    pdf.set_auto_page_break(False)
    pdf.set_font("Courier", size=font_size)
    leading = font_size + 2
    lines = text.rstrip("\n").split("\n")
    for i in range(0, len(lines), lines_per_page):
        pdf.add_page()
        for ln in lines[i:i + lines_per_page]:
            # Characters Courier cannot show become "?" (as the old writer did), never an error at posting.
            shown = ln.encode("cp1252", "replace").decode("cp1252")
            if shown.strip():
                pdf.cell(text=shown, h=leading, new_x="LMARGIN", new_y="NEXT")
            else:
                pdf.ln(leading)
    return bytes(pdf.output())


def reports_dir(settings) -> Path:
    """Where posted batches' reports go: settings reports_dir, else the data dir."""
    return Path(settings.reports_dir or default_data_dir() / "reports").expanduser()


def write_csv_pdf(directory: str | Path, stem: str, csv_text: str, pdf: bytes, what: str) -> tuple[Path, Path]:
    """<stem>.csv and <stem>.pdf into `directory` (made if missing); a disk's refusal is a
    ServiceError that names `what` and where."""
    d = Path(directory).expanduser()
    try:
        d.mkdir(parents=True, exist_ok=True)
        csv_path, pdf_path = d / f"{stem}.csv", d / f"{stem}.pdf"
        csv_path.write_text(csv_text, encoding="utf-8")
        pdf_path.write_bytes(pdf)
    except OSError as exc:
        raise ServiceError(f"Cannot write {what} to {d}: {exc.strerror or exc}") from exc
    return csv_path, pdf_path


@db.connected
def write_batch_reports(batch_id: int, directory: str | Path, *, pdf: bool = True) -> ReportFiles:
    """Write batch-NNNN-report.txt (+ .pdf) and batch-NNNN-deposit.csv into `directory`."""
    b = batches.get_batch(batch_id)
    if b.status != "posted":
        raise ServiceError(f"Batch {b.number} is not posted yet: post it first, then print its report")
    d = Path(directory).expanduser()
    try:
        d.mkdir(parents=True, exist_ok=True)
        text = batch_report_text(batch_id)
        txt_path = d / f"batch-{b.number}-report.txt"
        txt_path.write_text(text, encoding="utf-8")
        csv_path = d / f"batch-{b.number}-deposit.csv"
        csv_path.write_text(deposit_csv(batch_id), encoding="utf-8")
        pdf_path = None
        if pdf:
            pdf_path = d / f"batch-{b.number}-report.pdf"
            pdf_path.write_bytes(text_pdf(text))
    except OSError as exc:
        raise ServiceError(f"Cannot write the reports to {d}: {exc.strerror or exc}") from exc
    return ReportFiles(txt_path, csv_path, pdf_path)
