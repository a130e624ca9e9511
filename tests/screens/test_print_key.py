"""The print key (Shift+F7) on a screen that writes a PDF: through a fake `lp` on PATH (a real
process recording its arguments), and with no `lp` at all (the PDF is saved and the notice says where)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat

import pytest

from kec_tui import db
from kec_tui.screens.help import HelpScreen, live_keys
from kec_tui.screens.orders import OrderQueueScreen
from kec_tui.services import orders
from tests.screens.conftest import settle
from tests.support.orders import notices


@pytest.fixture
def order(coop, msr_op):
    db.Account.update(status="disconnected").where(db.Account.id == coop["smithson"].id).execute()
    return orders.create_order(msr_op, coop["smithson"].id, "reconnect", priority=1, due_date=dt.date.today())


def fake_lp(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lp-args"
    lp = bin_dir / "lp"
    lp.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\necho 'request id is front-3 (1 file(s))'\n")
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


async def open_queue(pilot):
    await pilot.press("f4")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OrderQueueScreen)


async def test_shift_f7_prints_the_work_ticket_through_lp(app, order, tmp_path, monkeypatch):
    log = fake_lp(tmp_path, monkeypatch)
    app.settings = dataclasses.replace(app.settings, tickets_dir=str(tmp_path / "tickets"), printer="field-desk")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        pdf = tmp_path / "tickets" / f"order-{order.order_no}.pdf"
        assert log.read_text().splitlines() == ["-d", "field-desk", str(pdf.resolve())]
        assert pdf.is_file() and "Sent to field-desk" in notices(app)


async def test_without_lp_the_key_saves_the_pdf_and_says_where(app, order, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    app.settings = dataclasses.replace(app.settings, tickets_dir=str(tmp_path / "tickets"), printer="field-desk")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        monkeypatch.setenv("PATH", str(empty))
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        pdf = (tmp_path / "tickets" / f"order-{order.order_no}.pdf").resolve()
        assert pdf.is_file() and f"saved at {pdf}" in notices(app)


async def test_print_is_listed_in_help_only_where_something_prints(app, order):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        _, general = live_keys(app.screen)                   # the lookup: nothing to print
        assert not any(does == "Print" for _, does in general)
        await open_queue(pilot)
        _, general = live_keys(app.screen)
        assert ("Shift+F7/F19", "Print") in general
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and "Print" in app.screen.as_text()


async def test_shift_f7_prints_a_bills_statement_and_the_billing_register(sqlite_db, tmp_path, monkeypatch):
    """Two more of the screens that write a PDF: a bill's statement (Ctrl+E on the account) and the register."""
    from kec_tui.screens.bills import BillsScreen
    from kec_tui.services import billing_run, operators
    from tests.services import billing_data as data
    from tests.support.batch import expand, make_app
    from tests.support.keys import send_burst, settle as settle_until

    data.load_rates()
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("super", "Sam Boss", "supervisor")
    ada = data.account(kwh=800, first="Ada", last="Lovelace")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(biller, reg.run.id)
    log = fake_lp(tmp_path, monkeypatch)
    app = make_app(sqlite_db, biller, tmp_path, printer="billing-desk")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_account(ada.id)
        await settle(pilot)
        send_burst(app, expand("ctrl+e", "shift+f7"))
        await settle_until(pilot, lambda: isinstance(app.screen, BillsScreen))
        await app.workers.wait_for_complete()
        await settle(pilot)
        [statement] = (tmp_path / "reports").glob("statement-*.pdf")
        assert log.read_text().splitlines() == ["-d", "billing-desk", str(statement.resolve())]
        app.pop_screen()
        app.pop_screen()
        app.open("billing_register", reg.run.id)
        await settle(pilot)
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        [register] = (tmp_path / "reports").glob("register-*.pdf")
        assert log.read_text().splitlines() == ["-d", "billing-desk", str(register.resolve())]
        assert "Sent to billing-desk" in notices(app)


async def test_shift_f7_prints_a_posted_batchs_report_and_refuses_an_open_one(coop, sqlite_db, tmp_path, monkeypatch):
    from kec_tui.services import batches, operators
    from tests.support.batch import entry_screen, make_app, open_batch

    boss = operators.create("super", "Sam Boss", "supervisor")
    posted = open_batch(boss, count=1, total_cents=1_000)
    batches.key_line(boss, posted.id, str(coop["ada"].number), 1_000)
    batches.balance_batch(boss, posted.id)
    batches.post_batch(boss, posted.id)
    still_open = open_batch(boss, count=1, total_cents=1_000)
    log = fake_lp(tmp_path, monkeypatch)
    app = make_app(sqlite_db, boss, tmp_path, printer="front")
    async with app.run_test(size=(80, 24)) as pilot:
        await entry_screen(pilot, still_open.id)
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "not posted yet" in notices(app) and not log.exists()
        app.pop_screen()
        await entry_screen(pilot, posted.id)
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        pdf = tmp_path / "reports" / f"batch-{posted.number}-report.pdf"
        assert log.read_text().splitlines() == ["-d", "front", str(pdf.resolve())]


async def test_shift_f7_prints_the_usage_report_on_the_screen(sqlite_db, tmp_path, monkeypatch):
    from kec_tui.screens.usage_report import UsageReportScreen
    from kec_tui.services import operators
    from tests.support.batch import expand, make_app
    from tests.support.keys import send_burst, settle as settle_until
    from tests.support.usage import NOW, billed_coop

    clerk = operators.create("bill1", "Bea Biller", "billing")
    billed_coop(clerk, operators.create("boss", "Sam Super", "supervisor"))
    log = fake_lp(tmp_path, monkeypatch)
    app = make_app(sqlite_db, clerk, tmp_path, printer="billing-desk")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+z"))
        await settle_until(pilot, lambda: isinstance(app.screen, UsageReportScreen))
        send_burst(app, expand(NOW, "enter", NOW, "f10"))
        await settle_until(pilot, lambda: app.screen.report is not None and not app.screen.building)
        await pilot.press("shift+f7")
        await app.workers.wait_for_complete()
        await settle(pilot)
        [pdf] = (tmp_path / "reports").glob("usage-*.pdf")
        assert log.read_text().splitlines() == ["-d", "billing-desk", str(pdf.resolve())]


async def test_nothing_unclaimed_nothing_printed_on_the_capital_credit_runs(sqlite_db, tmp_path, monkeypatch):
    from kec_tui.screens.capital_credit_runs import CapitalCreditRunsScreen
    from kec_tui.services import operators
    from tests.support.batch import make_app
    from tests.support.keys import send_burst, settle as settle_until

    clerk = operators.create("bill1", "Bea Biller", "billing")
    log = fake_lp(tmp_path, monkeypatch)
    app = make_app(sqlite_db, clerk, tmp_path, printer="front")
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, ["shift+f6", "1", "shift+f7"])      # the back-office menu: 1 capital credit runs
        await settle_until(pilot, lambda: isinstance(app.screen, CapitalCreditRunsScreen))
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "No capital credit check is unclaimed" in notices(app) and not log.exists()
