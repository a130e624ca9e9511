"""The usage and revenue report screen (screens/usage_report.py): filters keyed as one burst with
the export behind them; a refused month holds the keys typed after it, the export among them."""
from __future__ import annotations

import csv

import pytest
from textual.widgets import DataTable

from kec_tui.screens.usage_report import FilterForm, UsageReportScreen
from kec_tui.services import operators, usage_report
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle, settle_workers
from tests.support.usage import NOW, billed_coop


@pytest.fixture
def clerk(sqlite_db):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def billed(sqlite_db, clerk):
    boss = operators.create("boss", "Sam Super", "supervisor")
    return billed_coop(clerk, boss)


def table_rows(screen) -> list[list[str]]:
    t = screen.query_one(DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def idle(app) -> bool:
    s = app.screen
    return isinstance(s, UsageReportScreen) and not s.building and not s.export_pending


async def test_filters_keyed_and_exported_in_one_burst(billed, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # Ctrl+Z opens the report; May 2026, schedule RES, cycle 1, by cycle; F7 writes CSV and PDF.
        send_burst(app, expand("ctrl+z", NOW, "enter", NOW, "enter", "res", "enter", "1", "enter", "Y", "enter",
                               "f7"))
        await settle(pilot, lambda: idle(app) and app.screen.last_files is not None)
        screen = app.screen
        assert screen.report.title == "Usage and revenue 2026-05 (schedule RES, cycle 1)" and screen.report.by_cycle
        rows = table_rows(screen)
        assert rows[0][:4] == ["2026-05", "RES", "1", "Residential"] and rows[0][4] == "4"
        assert rows[-1][0] == "Total" and rows[-1][4] == "4"
        expected = usage_report.build(clerk, NOW, NOW, schedule="RES", cycle=1)
        assert rows[-1][5] == f"{expected.total.now.kwh:,}"
        files = screen.last_files
        assert files.csv == tmp_path / "reports" / "usage-2026-05-RES-cycle1-by-cycle.csv" and files.pdf.exists()
        got = list(csv.DictReader(files.csv.open()))
        assert got[0]["schedule"] == "RES" and got[0]["cycle"] == "1" and got[0]["bills"] == "4"
        assert str(files.csv) in str(screen.query_one("#files").render())
        assert screen.query_one(FilterForm).error is None


async def test_a_refused_month_holds_the_keys_behind_it_and_nothing_is_written(billed, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, ["ctrl+z"])
        await settle(pilot, lambda: idle(app) and app.screen.report is not None)
        screen = app.screen
        default = screen.report
        assert (default.first, default.last) == ("2025-06", NOW)
        # Month 13, then typed ahead: another month, Enter, and the export key.
        send_burst(app, expand("2026-13", "enter", "2026-05", "enter", "enter", "enter", "enter", "enter", "f7"))
        await settle(pilot, lambda: idle(app))
        form = screen.query_one(FilterForm)
        assert form.locked and "there is no month 13" in form.error and form.held_keys == 13
        assert screen.report is default and screen.last_files is None
        assert not (tmp_path / "reports").exists()
        # Esc: the month keyed again; letters in the year are refused the same way.
        send_burst(app, expand("escape", "20x6-05", "enter", "f7"))
        await settle(pilot, lambda: idle(app))
        assert form.locked and "YYYY-MM" in form.error and form.held_keys == 1
        assert not (tmp_path / "reports").exists()
        send_burst(app, expand("escape", "2026-05", "f10"))
        await settle(pilot, lambda: idle(app) and app.screen.report is not default)
        assert (screen.report.first, screen.report.last) == (NOW, NOW) and not form.locked


async def test_an_empty_period_says_so_and_writes_nothing(billed, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+z", "2026-07", "f10", "f7"))
        await settle(pilot, lambda: idle(app) and getattr(app.screen.report, "first", "") == "2026-07")
        await settle_workers(pilot)
        summary = str(app.screen.query_one("#summary").render())
        assert "Nothing to export: No bills in 2026-07" in summary
        assert not (tmp_path / "reports").exists()


async def test_an_msr_is_told_the_report_is_not_theirs(billed, sqlite_db, tmp_path):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, ["ctrl+z"])
        await settle(pilot)
        assert not isinstance(app.screen, UsageReportScreen)
