"""Usage and revenue report for accounting: kWh, bills and revenue by rate schedule and month
(optionally by bill cycle), each against the same month a year before; CSV and PDF.

What counts: the committed bills (db.Bill), cancelled ones left out; a rebill counts once,
in its own right (its cancelled original not at all). A bill counts in the month of its bill
date, the month it was billed; its cycle is its billing run's (a rebill, made outside a run,
takes its account's cycle). Revenue is the bill's charges (total_cents), whatever a budget
plan charged the ledger. The figures come from one grouped query over the range and the year
before it: the database adds them up, never a loop over bills.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from peewee import fn

from kec_tui import db, money
from kec_tui.services.errors import ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require
from kec_tui.services.reports import write_csv_pdf

MAX_MONTHS = 36                  # a range longer than this is refused (the screen shows a month a row)
ALL = ""                         # no filter


# ---- months ---------------------------------------------------------------------------------------


def parse_month(text: str, what: str = "month") -> str:
    """'2026-03' (also '2026-3', '03/2026', '3/2026') -> '2026-03'; a clear refusal otherwise."""
    raw = (text or "").strip()
    year = month = ""
    if "-" in raw:
        year, _, month = raw.partition("-")
    elif "/" in raw:
        month, _, year = raw.partition("/")
    if not (year.isdigit() and len(year) == 4 and month.isdigit() and 1 <= len(month) <= 2):
        raise ValidationError(f"The {what} is YYYY-MM (e.g. 2026-03), not {raw[:12]!r}", what)
    y, m = int(year), int(month)
    if not 1 <= m <= 12:
        raise ValidationError(f"The {what} {raw[:12]}: there is no month {m} (1 to 12)", what)
    if not 1900 <= y <= 2999:
        raise ValidationError(f"The {what} {raw[:12]}: year {y} is out of range", what)
    return f"{y:04d}-{m:02d}"


def shift(month: str, months: int) -> str:
    """'2026-03' shifted by `months` (negative: back)."""
    y, m = int(month[:4]), int(month[5:7])
    n = y * 12 + m - 1 + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    out = [first]
    while out[-1] < last:
        out.append(shift(out[-1], 1))
    return out


def _first_day(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


# ---- the report ------------------------------------------------------------------------------------


def pct(now: int, before: int) -> Decimal | None:
    """The change from `before` to `now` in percent, one decimal, half up; None without a base."""
    if not before:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    bills: int = 0
    kwh: int = 0
    revenue_cents: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.bills + other.bills, self.kwh + other.kwh, self.revenue_cents + other.revenue_cents)


@dataclass(frozen=True)
class Row:
    """One month of one schedule (and cycle, by cycle), with the same month a year before."""

    month: str                   # YYYY-MM
    schedule: str                # rate schedule code; "" in a total
    cycle: int | None            # None: all cycles together
    now: Figures
    year_ago: Figures

    @property
    def kwh_change(self) -> int:
        return self.now.kwh - self.year_ago.kwh

    @property
    def kwh_pct(self) -> Decimal | None:
        return pct(self.now.kwh, self.year_ago.kwh)

    @property
    def revenue_change_cents(self) -> int:
        return self.now.revenue_cents - self.year_ago.revenue_cents

    @property
    def revenue_pct(self) -> Decimal | None:
        return pct(self.now.revenue_cents, self.year_ago.revenue_cents)

    @property
    def bills_change(self) -> int:
        return self.now.bills - self.year_ago.bills


@dataclass(frozen=True)
class UsageReport:
    first: str
    last: str
    schedule: str                # "" all
    cycle: int | None            # None all
    by_cycle: bool
    rows: tuple[Row, ...]        # month, schedule, cycle order; a row where either year has bills
    months: tuple[Row, ...]      # every month of the range, all schedules together (the chart)
    schedules: tuple[Row, ...]   # each schedule over the whole range
    total: Row                   # the whole range
    names: dict[str, str]        # schedule code -> name

    @property
    def empty(self) -> bool:
        return self.total.now.bills == 0

    @property
    def title(self) -> str:
        span = self.first if self.first == self.last else f"{self.first} to {self.last}"
        what = [f"schedule {self.schedule}"] if self.schedule else []
        what += [f"cycle {self.cycle}"] if self.cycle is not None else []
        return f"Usage and revenue {span}" + (f" ({', '.join(what)})" if what else "")

    @property
    def message(self) -> str:
        """What the report says in one line: its totals, or that there is nothing in it."""
        if self.empty:
            ago = (f"; a year before: {self.total.year_ago.bills:,} bills" if self.total.year_ago.bills else "")
            return (f"No bills in {self.title[len('Usage and revenue '):]}: no billing run committed "
                    f"there (cancelled bills do not count){ago}")
        t = self.total.now
        return (f"{t.bills:,} bills, {t.kwh:,} kWh, {money.fmt_dollars(t.revenue_cents)}"
                f" ({_pct_text(self.total.revenue_pct)} revenue on a year before)")


def _pct_text(p: Decimal | None) -> str:
    return "new" if p is None else f"{p:+}%"


def schedule_codes() -> list[str]:
    """The rate schedules loaded or billed, for the filter."""
    codes = {c for (c,) in db.RateSchedule.select(db.RateSchedule.code).distinct().tuples()}
    return sorted(codes)


def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, name in (db.RateSchedule.select(db.RateSchedule.code, db.RateSchedule.name)
                       .order_by(db.RateSchedule.effective).tuples()):
        names[code] = name        # the newest version's name
    return names


def _raw(query) -> list[tuple]:
    """A query's rows as the driver returns them (dates as ISO text on SQLite)."""
    sql, params = query.sql()
    return db.database.execute_sql(sql, params).fetchall()


def grouped(first: str, last: str, *, schedule: str = ALL, cycle: int | None = None,
            by_cycle: bool = False) -> list[tuple[str, str, int | None, int, int, int]]:
    """(month, schedule, cycle or None, bills, kWh, revenue cents) of the bills dated in the months
    `first` through `last` and the same months a year before, not cancelled.

    The database adds up the bills by (bill date, schedule, billing run), walking its covering
    index in order (no sort, no table row read); the few hundred sums are folded into months here,
    and a run's cycle read from the runs. Rebills (no run) take their account's cycle: a second
    grouped query over those only, when cycles are asked for."""
    B, A = db.Bill, db.Account
    if len(months_between(first, last)) <= 12:
        # The months and the same months a year before: two ranges of the bill date index.
        dated = (((B.bill_date >= _first_day(first)) & (B.bill_date < _first_day(shift(last, 1))))
                 | ((B.bill_date >= _first_day(shift(first, -12))) & (B.bill_date < _first_day(shift(last, -11)))))
    else:
        dated = (B.bill_date >= _first_day(shift(first, -12))) & (B.bill_date < _first_day(shift(last, 1)))
    where = [B.status != "cancelled", dated] + ([B.schedule == schedule] if schedule else [])
    sums = fn.COUNT(B.id), fn.SUM(B.kwh), fn.SUM(B.total_cents)
    rows = _raw(B.select(B.bill_date, B.schedule, B.run, *sums).where(*where)
                .group_by(B.bill_date, B.schedule, B.run))
    need_cycle = by_cycle or cycle is not None
    cycle_of: dict = {}
    if need_cycle:
        cycle_of = dict(_raw(db.BillingRun.select(db.BillingRun.id, db.BillingRun.cycle)))
        if any(run is None for _, _, run, *_ in rows):
            rebills = _raw(B.select(B.bill_date, B.schedule, A.bill_cycle, *sums).join(A, on=(B.account == A.id))
                           .where(B.run.is_null(), *where).group_by(B.bill_date, B.schedule, A.bill_cycle))
            rows = [r for r in rows if r[2] is not None] + [(d, s, ("account", c), *f) for d, s, c, *f in rebills]
    folded: dict[tuple, list[int]] = {}
    for day, sched, run, n, kwh, cents in rows:
        c = None
        if need_cycle:
            c = run[1] if isinstance(run, tuple) else cycle_of.get(run)
            c = int(c) if c is not None else None
            if cycle is not None and c != cycle:
                continue
        f = folded.setdefault((str(day)[:7], sched, c if by_cycle else None), [0, 0, 0])
        f[0] += int(n)
        f[1] += int(kwh or 0)
        f[2] += int(cents or 0)
    return [(m, s, c, *f) for (m, s, c), f in folded.items()]


@dataclass(frozen=True)
class Filters:
    """What the report covers; an empty first or last month is chosen by `build` (see `resolve`)."""

    first: str = ""
    last: str = ""
    schedule: str = ALL
    cycle: int | None = None
    by_cycle: bool = False


def filters(first: str = "", last: str = "", schedule: str = ALL, cycle: int | str | None = None,
            by_cycle: bool = False, *, codes: list[str] | None = None) -> Filters:
    """The filters checked, without the database (`codes`: the schedules to accept, None: any).
    Refusals name the field at fault: first month, last month, schedule, cycle."""
    first = parse_month(first, "first month") if (first or "").strip() else ""
    last = parse_month(last, "last month") if (last or "").strip() else ""
    if first and last:
        if last < first:
            raise ValidationError(f"The last month {last} is before the first {first}", "last month")
        if len(months_between(first, last)) > MAX_MONTHS:
            raise ValidationError(f"At most {MAX_MONTHS} months at a time ({first} to {last} is more)",
                                  "last month")
    schedule = (schedule or "").strip().upper()
    if schedule and codes is not None and schedule not in codes:
        raise ValidationError(f"No rate schedule {schedule[:8]} (schedules: {', '.join(codes) or 'none loaded'})",
                              "schedule")
    if isinstance(cycle, str):
        text = cycle.strip()
        if text and not text.isdigit():
            raise ValidationError(f"A cycle is a number, not {text[:8]!r}", "cycle")
        cycle = int(text) if text else None
    if cycle is not None and not 1 <= cycle <= 99:
        raise ValidationError(f"No bill cycle {cycle}", "cycle")
    return Filters(first, last, schedule, cycle, by_cycle)


def resolve(f: Filters, latest: str) -> Filters:
    """Empty months chosen: neither given, the 12 months through `latest` (the newest billed
    month); only the first, that month alone; only the last, the 12 months through it."""
    last = f.last or f.first or latest
    first = f.first or shift(last, -11)
    return Filters(first, last, f.schedule, f.cycle, f.by_cycle)


def latest_month() -> str:
    """The month of the newest bill not cancelled; this month when there is none."""
    newest = db.Bill.select(fn.MAX(db.Bill.bill_date)).where(db.Bill.status != "cancelled").scalar()
    return str(newest)[:7] if newest else f"{dt.date.today():%Y-%m}"


@db.connected
def build(op: OperatorInfo | None, first: str = "", last: str = "", *, schedule: str = ALL,
          cycle: int | str | None = None, by_cycle: bool = False) -> UsageReport:
    """The report from month `first` through `last` (YYYY-MM), optionally one schedule or cycle."""
    require(op, "billing.run")
    f = filters(first, last, schedule, cycle, by_cycle, codes=schedule_codes())
    return report(op, f)


@db.connected
def report(op: OperatorInfo | None, f: Filters) -> UsageReport:
    """The report of checked filters (`filters`); empty months resolved here."""
    require(op, "billing.run")
    if not (f.first and f.last):
        f = resolve(f, latest_month())
    raw = grouped(f.first, f.last, schedule=f.schedule, cycle=f.cycle, by_cycle=f.by_cycle)
    return assemble(f.first, f.last, raw, schedule=f.schedule, cycle=f.cycle, by_cycle=f.by_cycle, names=_names())


def assemble(first: str, last: str, raw, *, schedule: str = ALL, cycle: int | None = None, by_cycle: bool = False,
             names: dict[str, str] | None = None) -> UsageReport:
    """The report's rows from grouped figures (month, schedule, cycle, bills, kWh, revenue cents)."""
    figures = {(m, s, c): Figures(n, k, r) for m, s, c, n, k, r in raw}
    months = months_between(first, last)
    keys = sorted({(s, c) for (m, s, c) in figures})
    rows: list[Row] = []
    by_month: list[Row] = []
    per_schedule: dict[str, list[Figures]] = {}
    zero = Figures()
    for month in months:
        ago = shift(month, -12)
        month_now = month_ago = zero
        for s, c in keys:
            now, before = figures.get((month, s, c), zero), figures.get((ago, s, c), zero)
            if now.bills or before.bills:
                rows.append(Row(month, s, c, now, before))
            month_now, month_ago = month_now + now, month_ago + before
            pair = per_schedule.setdefault(s, [zero, zero])
            pair[0], pair[1] = pair[0] + now, pair[1] + before
        by_month.append(Row(month, ALL, cycle, month_now, month_ago))
    schedules = tuple(Row(first, s, cycle, now, before) for s, (now, before) in sorted(per_schedule.items())
                      if now.bills or before.bills)
    total_now = sum((r.now for r in by_month), zero)
    total_ago = sum((r.year_ago for r in by_month), zero)
    return UsageReport(first, last, schedule, cycle, by_cycle, tuple(rows), tuple(by_month), schedules,
                       Row(first, ALL, cycle, total_now, total_ago), dict(names or {}))


# ---- exports ---------------------------------------------------------------------------------------

CSV_HEADER = ["month", "schedule", "cycle", "bills", "kwh", "revenue", "year_ago_bills", "year_ago_kwh",
              "year_ago_revenue", "kwh_change", "kwh_change_pct", "revenue_change", "revenue_change_pct"]


def _csv_row(r: Row, month: str, schedule: str, cycle: str) -> list[str]:
    return [month, schedule, cycle, str(r.now.bills), str(r.now.kwh), str(money.to_decimal(r.now.revenue_cents)),
            str(r.year_ago.bills), str(r.year_ago.kwh), str(money.to_decimal(r.year_ago.revenue_cents)),
            str(r.kwh_change), "" if r.kwh_pct is None else str(r.kwh_pct),
            str(money.to_decimal(r.revenue_change_cents)), "" if r.revenue_pct is None else str(r.revenue_pct)]


def report_csv(report: UsageReport) -> str:
    """A row per month and schedule (and cycle), then a total per schedule and the grand total.
    Money in dollars with two decimals (exact: from cents)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    all_cycles = "" if report.cycle is None else str(report.cycle)
    for r in report.rows:
        w.writerow(_csv_row(r, r.month, r.schedule, all_cycles if r.cycle is None else str(r.cycle)))
    span = f"{report.first}..{report.last}"
    for r in report.schedules:
        w.writerow(_csv_row(r, span, r.schedule, all_cycles))
    w.writerow(_csv_row(report.total, span, "TOTAL", all_cycles))
    return buf.getvalue()


def _money(cents: int) -> str:
    return money.fmt(cents)


def report_text(report: UsageReport) -> str:
    """The report as a listing (the PDF's pages): a line per month and schedule with the year before."""
    cyc = report.by_cycle
    head = (f"{'Month':<7} {'Sched':<5} {'Cy':>2} " if cyc else f"{'Month':<7} {'Sched':<5} ") + (
        f"{'Bills':>6} {'kWh':>11} {'Revenue':>13} {'kWh yr ago':>11} {'kWh %':>7} {'Rev yr ago':>13} {'Rev %':>7}")
    out = [report.title, "", head, "-" * len(head)]

    def line(month: str, sched: str, c: str, r: Row) -> str:
        lead = f"{month:<7} {sched:<5} {c:>2} " if cyc else f"{month:<7} {sched:<5} "
        return lead + (f"{r.now.bills:>6,} {r.now.kwh:>11,} {_money(r.now.revenue_cents):>13} "
                       f"{r.year_ago.kwh:>11,} {_pct_text(r.kwh_pct):>7} {_money(r.year_ago.revenue_cents):>13} "
                       f"{_pct_text(r.revenue_pct):>7}")
    for r in report.rows:
        out.append(line(r.month, r.schedule, "" if r.cycle is None else str(r.cycle), r))
    out += ["", "By schedule, whole range"]
    for r in report.schedules:
        out.append(line("", r.schedule, "", r))
    out.append(line("TOTAL", "", "", report.total))
    if report.empty:
        out += ["", report.message]
    return "\n".join(out) + "\n"


def report_pdf(report: UsageReport) -> bytes:
    """Landscape letter: the title, a bar chart of kWh by month (this year and a year before),
    then the listing (Courier), paged."""
    from fpdf import FPDF  # only exports need it

    pdf = FPDF(orientation="L", unit="pt", format="letter")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(36, 36)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(text=report.title, h=18, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(text=report.message, h=14, new_x="LMARGIN", new_y="NEXT")
    _chart(pdf, report, x=36, y=80, w=pdf.w - 72, h=200)
    lines = report_text(report).rstrip("\n").split("\n")[2:]
    head = lines[:2]                      # the column heads and their rule: again on every page
    pdf.set_font("Courier", size=8)
    y, page = 310.0, 1
    for ln in lines:
        if y > pdf.h - 40:
            pdf.add_page()
            page += 1
            pdf.set_font("Helvetica", size=8)
            pdf.set_xy(36, 20)
            pdf.cell(text=f"{report.title} - page {page}", h=10)
            pdf.set_font("Courier", size=8)
            y = 36.0
            for h in head:
                pdf.set_xy(36, y)
                pdf.cell(text=h, h=10)
                y += 10
        pdf.set_xy(36, y)
        shown = ln.encode("cp1252", "replace").decode("cp1252")
        if shown.strip():
            pdf.cell(text=shown, h=10)
        y += 10
    return bytes(pdf.output())


def _chart(pdf, report: UsageReport, *, x: float, y: float, w: float, h: float) -> None:
    """Bars: kWh of each month (dark) beside the same month a year before (light), a scale on the left."""
    months = report.months
    top = max([max(r.now.kwh, r.year_ago.kwh) for r in months] + [1])
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_xy(x, y - 14)
    pdf.cell(text="kWh by month: this period (dark) and the same month a year before (light)", h=12)
    left, bottom = x + 54, y + h - 14
    plot_h = h - 20
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, y, left, bottom)
    pdf.line(left, bottom, x + w, bottom)
    pdf.set_font("Helvetica", size=7)
    for i in range(5):
        value = top * i // 4
        yy = bottom - plot_h * i / 4
        pdf.set_xy(x, yy - 4)
        pdf.cell(w=50, h=8, text=f"{value:,}", align="R")
        pdf.set_draw_color(220, 220, 220)
        if i:
            pdf.line(left, yy, x + w, yy)
    slot = (x + w - left) / max(len(months), 1)
    bar = max(min(slot * 0.38, 24), 1)
    for i, r in enumerate(months):
        sx = left + i * slot + (slot - 2 * bar) / 2
        for j, (kwh, shade) in enumerate(((r.year_ago.kwh, (170, 190, 215)), (r.now.kwh, (30, 70, 130)))):
            bh = plot_h * kwh / top
            if bh > 0:
                pdf.set_fill_color(*shade)
                pdf.rect(sx + j * bar, bottom - bh, bar, bh, style="F")
        pdf.set_xy(left + i * slot, bottom + 2)
        pdf.cell(w=slot, h=8, text=r.month if len(months) <= 14 else r.month[2:], align="C")


@dataclass(frozen=True)
class ExportFiles:
    csv: Path
    pdf: Path


def file_stem(report: UsageReport) -> str:
    stem = f"usage-{report.first}" + ("" if report.first == report.last else f"-to-{report.last}")
    stem += f"-{report.schedule}" if report.schedule else ""
    stem += f"-cycle{report.cycle}" if report.cycle is not None else ""
    stem += "-by-cycle" if report.by_cycle else ""
    return stem


def write_exports(report: UsageReport, directory: str | Path) -> ExportFiles:
    """usage-<range>[-<schedule>][-cycleN].csv and .pdf into `directory` (made if missing)."""
    if report.empty:
        raise ServiceError(f"Nothing to export: {report.message}")
    return ExportFiles(*write_csv_pdf(directory, file_stem(report), report_csv(report), report_pdf(report),
                                      "the report"))
