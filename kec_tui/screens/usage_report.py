"""Usage and revenue report for accounting: kWh, bills and revenue by rate schedule and month
(by cycle too, on request) against the same month a year before; a chart of kWh by month this
period and a year before; CSV and PDF written to the reports directory.

The filters are one EntryForm (FilterForm) that runs its own keys in order, the apply and
export keys too: a burst like ``2026-04 Enter 2026-05 Enter RES Enter Enter Enter F7`` builds
the report and then writes it, whatever the worker's timing (an export keyed while the report
is being built waits for it). A refused month locks the form: the keys typed after it, the
export key among them, are held and not used until Esc.
"""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static
from textual_plotext import PlotextPlot

from kec_tui import money
from kec_tui.keymap import bind
from kec_tui.services import reports, usage_report
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.entry_form import QUIET_KEYS, EditForm, FieldSpec, Record, SubmitResult
from kec_tui.widgets.tables import fill_width

WIDE = 110   # from this width the table shows the year-ago figures beside the changes


def _month(label: str):
    def check(value: str, record: Record) -> str | None:
        if not value.strip():
            return None
        try:
            usage_report.parse_month(value, label)
        except ServiceError as e:
            return e.message
        return None
    return check


class FilterForm(EditForm):
    """The report's filters. Apply and Export are the form's own keys: run in order with the
    keys typed before them, and held while a refusal locks the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *QUIET_KEYS,
        bind("usage_report.apply", "apply", "Show"),
        bind("usage_report.export", "export", "CSV+PDF"),
    ]
    IN_PLACE_ACTIONS = EditForm.IN_PLACE_ACTIONS | {"apply", "export"}

    HINT = "Months as YYYY-MM; empty: all"

    def reset(self) -> None:
        super().reset()
        # The previous filters stay for Dup, shown only when some were keyed (not a row of empty labels).
        if self.previous is not None and not any(v for k, v in self.previous.items() if k != "by_cycle") \
                and self.previous.get("by_cycle") != "Yes":
            self.previous = None
        self.set_info(self.HINT)

    def action_apply(self) -> None:
        """Show the report of the fields as they are (empty ones take their defaults)."""
        self.submit()

    def action_export(self) -> None:
        self.screen.export()


class UsageReportScreen(Screen):
    """Usage and revenue by schedule and month against a year before; CSV and PDF."""

    HELP = ("Key the months as YYYY-MM (or MM/YYYY). Empty From and To show the 12 months through the newest bill; "
            "From alone shows that month; To alone the 12 months through it. Schedule (RES, SGS ...) and Cycle "
            "empty mean all; By cycle Yes gives a row per cycle. Enter on the last field or {usage_report.apply} "
            "shows the report; {usage_report.export} writes it as CSV and PDF to the reports directory (the path "
            "is shown). {usage_report.list} goes to the table, {usage_report.back} back to the filters. Each row: "
            "bills, kWh and revenue of the month, the same month a year before, and the change in percent "
            "('new' where a year before had none). Cancelled bills do not count; a rebill counts in the month it "
            "was made.")
    BINDINGS = [
        bind("usage_report.list", "list", "Table"),
        bind("usage_report.back", "back", "Back"),
    ]
    DEFAULT_CSS = """
    UsageReportScreen #top { height: auto; }
    UsageReportScreen FilterForm { width: 40; }
    UsageReportScreen PlotextPlot { width: 1fr; height: 8; }
    UsageReportScreen #summary { height: auto; max-height: 2; padding: 0 1; }
    UsageReportScreen #summary.error { color: $text-error; text-style: bold; }
    UsageReportScreen #files { height: auto; max-height: 2; padding: 0 1; color: $text-accent; }
    UsageReportScreen #files.-empty { display: none; }
    UsageReportScreen ProgressBar { padding: 0 1; height: 1; }
    UsageReportScreen ProgressBar.-idle { display: none; }
    UsageReportScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.report: usage_report.UsageReport | None = None
        self.building = 0            # the number of the report being built (0: none)
        self._asked = 0              # reports asked for; a late answer to an older one is dropped
        self.export_pending = False  # Export keyed while the report was being built
        self.last_files: usage_report.ExportFiles | None = None
        self.codes: list[str] = []

    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec("first", "From month", "text", 7, validate=_month("first month")),
            FieldSpec("last", "To month", "text", 7, validate=_month("last month")),
            FieldSpec("schedule", "Schedule", "text", 4, validate=self._schedule),
            FieldSpec("cycle", "Cycle", "digits", 2),
            FieldSpec("by_cycle", "By cycle", "choice", 3, choices=("No", "Yes"), default=lambda r: "No"),
        ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            yield FilterForm(self.fields(), on_submit=self.apply)
            yield PlotextPlot(id="chart")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, classes="-idle")
        yield Static("", id="summary")
        yield Static("", id="files", classes="-empty")
        yield DataTable(id="rows", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Usage and revenue"
        try:
            self.codes = usage_report.schedule_codes()
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.say(f"The schedules could not be read: {first_line(e)}", error=True)
        form = self.query_one(FilterForm)
        form.set_info(form.HINT)
        form.focus()
        self.start(usage_report.Filters())

    # -- filters and building ----------------------------------------------------------------------
    def _schedule(self, value: str, record: Record) -> str | None:
        code = value.strip().upper()
        if code and self.codes and code not in self.codes:
            return f"No rate schedule {code} (schedules: {', '.join(self.codes)})"
        return None

    def apply(self, record: Record) -> SubmitResult | None:
        try:
            f = usage_report.filters(record["first"], record["last"], record["schedule"], record["cycle"],
                                     record["by_cycle"] == "Yes", codes=self.codes or None)
        except ServiceError as e:
            return SubmitResult({"first month": "first", "last month": "last"}.get(e.field or "", e.field), e.message)
        self.start(f)
        return None

    def start(self, f: usage_report.Filters) -> None:
        self._asked += 1
        self.building = self._asked
        self.query_one(ProgressBar).remove_class("-idle")
        self.query_one(DataTable).loading = True
        self.say("Adding up the bills ...")
        self.build(self.building, f)

    @work(thread=True, exclusive=True, group="usage_report")
    def build(self, number: int, f: usage_report.Filters) -> None:
        try:   # report opens this thread's connection for its call
            rep = usage_report.report(self.app.operator, f)
        except ServiceError as e:
            self.app.call_from_thread(self.failed, number, e.message)
            return
        except Exception as e:  # noqa: BLE001 - the database did not answer: a message, never a traceback
            self.app.call_from_thread(self.failed, number, f"The report could not be made: {first_line(e)}")
            return
        self.app.call_from_thread(self.built, number, rep)

    def _done(self, number: int) -> bool:
        if number != self.building:
            return False   # an older report's answer: a newer one is on its way
        self.building = 0
        self.query_one(ProgressBar).add_class("-idle")
        self.query_one(DataTable).loading = False
        return True

    def failed(self, number: int, message: str) -> None:
        if self._done(number):
            self.export_pending = False
            self.say(message, error=True)

    def built(self, number: int, rep: usage_report.UsageReport) -> None:
        if not self._done(number):
            return
        self.report = rep
        self.title = rep.title
        self.say(rep.message, error=rep.empty)
        self.fill_table()
        self.draw_chart()
        if self.export_pending:
            self.export_pending = False
            self.export()

    def say(self, text: str, *, error: bool = False) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(Text(text))
        summary.set_class(error, "error")

    # -- the table and the chart --------------------------------------------------------------------
    def fill_table(self) -> None:
        rep, table = self.report, self.query_one(DataTable)
        table.clear(columns=True)
        if rep is None:
            return
        wide = self.size.width >= WIDE
        cols = [("month", "Month"), ("sched", "Sched")] + ([("cycle", "Cy")] if rep.by_cycle else [])
        cols += [("name", "Schedule"), ("bills", "Bills"), ("kwh", "kWh")]
        cols += [("kwh_ago", "kWh yr ago")] if wide else []
        cols += [("kwh_pct", "kWh %"), ("revenue", "Revenue")]
        cols += [("rev_ago", "Rev yr ago")] if wide else []
        cols += [("rev_pct", "Rev %")]
        for key, label in cols:
            # Fixed widths: the figures' columns grow to their widest cell (fill_width), the schedule's
            # name takes what is left of the screen.
            table.add_column(label, key=key, width=len(label))

        def cells(month: str, sched: str, cycle: str, name: str, r: usage_report.Row, style: str = "") -> list:
            values = {"month": month, "sched": sched, "cycle": cycle, "name": name,
                      "bills": f"{r.now.bills:,}", "kwh": f"{r.now.kwh:,}", "kwh_ago": f"{r.year_ago.kwh:,}",
                      "kwh_pct": _pct(r.kwh_pct), "revenue": money.fmt(r.now.revenue_cents),
                      "rev_ago": money.fmt(r.year_ago.revenue_cents), "rev_pct": _pct(r.revenue_pct)}
            right = {"bills", "kwh", "kwh_ago", "kwh_pct", "revenue", "rev_ago", "rev_pct", "cycle"}
            return [Text(values[k], style=style, justify="right" if k in right else "left") for k, _ in cols]

        for i, r in enumerate(rep.rows):
            table.add_row(*cells(r.month, r.schedule, "" if r.cycle is None else str(r.cycle),
                                 rep.names.get(r.schedule, ""), r), key=str(i))
        if len(rep.months) > 1:   # each schedule over the range (one month: its rows above say it)
            for r in rep.schedules:
                table.add_row(*cells("All", r.schedule, "", rep.names.get(r.schedule, ""), r, "italic"))
        n = len(rep.months)
        table.add_row(*cells("Total", "", "", f"{n} month{'s' if n != 1 else ''}", rep.total, "bold"), key="total")
        fill_width(table, "name", self.size.width, minimum=6,
                   ids=[k for k, _ in cols if k != "name"])

    def draw_chart(self) -> None:
        chart = self.query_one(PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        rep = self.report
        if rep is None or not rep.months:
            return
        labels = [r.month[2:] if len(rep.months) > 6 else r.month for r in rep.months]
        mwh_now = [r.now.kwh / 1000 for r in rep.months]      # a picture's scale, never money
        mwh_ago = [r.year_ago.kwh / 1000 for r in rep.months]
        plt.multiple_bar(labels, [mwh_ago, mwh_now], labels=["year before", "this period"])
        plt.title("MWh by month")
        chart.refresh()

    def on_resize(self, event) -> None:
        if self.report is not None:
            self.fill_table()
        self.query_one(PlotextPlot).styles.height = max(8, self.size.height // 3)

    # -- export ----------------------------------------------------------------------------------
    def export(self) -> None:
        if self.building:
            self.export_pending = True   # keyed behind Show: written when the report is there
            self.say("Adding up the bills ... (the CSV and PDF are written next)")
            return
        if self.report is None:
            self.say("No report to write yet", error=True)
            return
        self.query_one(ProgressBar).remove_class("-idle")
        self.write(self.report)

    def pdf_to_print(self):
        """The print key: the report on the screen as PDF (written with its CSV first)."""
        if self.report is None:
            self.say("No report to print yet: F10 shows one", error=True)
            return None
        files = usage_report.write_exports(self.report, reports.reports_dir(self.app.settings))
        self.written(files, "")
        return files.pdf

    @work(thread=True, exclusive=True, group="usage_export")
    def write(self, rep: usage_report.UsageReport) -> None:
        directory = reports.reports_dir(self.app.settings)
        try:
            files = usage_report.write_exports(rep, directory)
        except ServiceError as e:
            self.app.call_from_thread(self.written, None, e.message)
            return
        except Exception as e:  # noqa: BLE001 - a message, never a traceback
            self.app.call_from_thread(self.written, None, f"Not written: {first_line(e)}")
            return
        self.app.call_from_thread(self.written, files, "")

    def written(self, files: usage_report.ExportFiles | None, error: str) -> None:
        self.query_one(ProgressBar).add_class("-idle")
        out = self.query_one("#files", Static)
        if files is None:
            self.say(error, error=True)
            return
        self.last_files = files
        out.update(Text(f"Written: {files.csv}\n         {files.pdf}"))
        out.remove_class("-empty")

    # -- keys ------------------------------------------------------------------------------------
    def action_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """Esc in the table returns to the filters; Esc in the filters leaves (the form's Cancel)."""
        self.query_one(FilterForm).focus()

    def action_cancel(self) -> None:
        self.app.leave(self)


def _pct(p) -> str:
    return "new" if p is None else f"{p:+}%"
