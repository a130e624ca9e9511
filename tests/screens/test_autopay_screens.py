"""Autopay screens: the enrollment form on the account (F8, 7) keyed in bursts, every key queued
before anything is awaited, what is asserted being what the database holds; the draft run screen
(Shift+F6, 6): preview, make the file once, a date already drafted."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.autopay import AutopayEnrollScreen, AutopayRunScreen
from kec_tui.services import autopay, operators
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def people(sqlite_db):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    clerk = operators.create("bill1", "Bea Biller", "billing")
    acct = factories.account(first="Ada", last="Lovelace", bills=(12_000,))
    return msr, clerk, acct


def enrollments() -> list[tuple]:
    E = db.AutopayEnrollment
    return [(e.account_id, e.routing, e.bank_account, e.account_type, e.status) for e in E.select().order_by(E.id)]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


async def test_enrollment_keyed_in_one_burst(people, sqlite_db, tmp_path):
    msr, _, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # F8, 7, enroll (Enter), routing (9 digits: the field is full, on to the next), the bank account,
        # S savings, Enter takes today as the authorization date and saves.
        send_burst(app, expand("f8", "7", "enter", "121042882", "55554444", "enter", "s", "enter", "enter"))
        await settle(pilot, lambda: enrollments() and app.screen is account)
        assert enrollments() == [(acct.id, "121042882", "55554444", "savings", "active")]
        assert db.as_date(db.AutopayEnrollment.get().authorized_on) == dt.date.today()
        # Then stopped the same way: S, a reason, Enter.
        send_burst(app, expand("f8", "7", "s", "enter", "member asked by phone", "enter"))
        await settle(pilot, lambda: enrollments()[0][4] == "stopped" and app.screen is account)
        assert db.AutopayEnrollment.get().stop_reason == "member asked by phone"


async def test_wrong_routing_digit_refused_at_the_field_and_the_keys_after_it_held(people, sqlite_db, tmp_path):
    msr, _, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        # 121042883: the last digit mis-keyed. The rest of the burst must not run into the next fields.
        send_burst(app, expand("f8", "7", "enter", "121042883", "55554444", "enter", "c", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AutopayEnrollScreen) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "routing" and form.held_keys == 8 + 1 + 1 + 1 + 1
        assert "fails its check digit" in str(form.render())
        assert enrollments() == [] and db.Member.get_by_id(acct.member_id).bank_routing == ""
        # Esc resets the field; keyed right, it saves.
        send_burst(app, expand("escape", "121042882", "55554444", "enter", "c", "enter", "enter"))
        await settle(pilot, lambda: enrollments() != [])
        assert enrollments() == [(acct.id, "121042882", "55554444", "checking", "active")]


async def test_bank_number_never_drawn_in_full_once_keyed(people, sqlite_db, tmp_path):
    msr, _, acct = people
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("f8", "7", "enter", "121042882", "55554444", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AutopayEnrollScreen)
                     and app.screen.form.current == "account_type")
        app.screen.form._redraw()
        await settle(pilot)
        text = str(app.screen.form.render())
        assert "****4444" in text and "55554444" not in text


async def test_draft_run_screen_preview_commit_once(people, sqlite_db, tmp_path):
    msr, clerk, acct = people
    autopay.enroll(msr, acct.id, "091000019", "123456789", "checking", dt.date(2024, 12, 1),
                   today=dt.date(2025, 1, 5))
    db.AutopayEnrollment.update(prenote_sent_on=dt.date(2024, 12, 10)).execute()
    other = factories.account(first="Cash", last="Only", bills=(5_000,), cash_only_until=dt.date(2026, 1, 1))
    autopay.enroll(msr, other.id, "091000019", "22223333", "checking", dt.date(2024, 12, 1),
                   today=dt.date(2025, 1, 5))
    db.AutopayEnrollment.update(prenote_sent_on=dt.date(2024, 12, 10)).execute()
    app = make_app(sqlite_db, clerk, tmp_path, autopay_dir=str(tmp_path / "ach"))
    autopay.configure(app.settings)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            send_burst(app, expand("shift+f6", "6", "01/30/2025", "enter"))
            await settle(pilot, lambda: isinstance(app.screen, AutopayRunScreen) and app.screen.plan is not None)
            screen = app.screen
            result = str(screen.query_one("#result").render())
            assert "1 drafts $120.00" in result and "1 left out" in result
            table = screen.query_one("#entries")
            assert "left out: cash-only until 01/01/2026" in str(table.get_row_at(0)[3])
            send_burst(app, expand("f10"))
            await settle(pilot, lambda: db.AutopayRun.get().status == "committed" and len(app.screen_stack) > 2)
            await app.workers.wait_for_complete()
            await settle(pilot)
            path = Path(db.AutopayRun.get().file_path)
            assert path.exists() and path.name == "autopay-20250130.ach"
            send_burst(app, expand("escape", "ctrl+u", "01/30/2025", "enter"))     # the message; the same date
            await settle(pilot, lambda: "already made" in str(screen.query_one("#result").render()))
            assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 1
    finally:
        autopay.configure(type(app.settings)())


async def test_return_file_imported_from_the_draft_run_screen(people, sqlite_db, tmp_path):
    from tests.services.ach_files import Item, bank_file

    msr, clerk, acct = people
    boss = operators.create("boss", "Sam Boss", "supervisor")
    autopay.enroll(msr, acct.id, "091000019", "123456789", "checking", dt.date(2024, 12, 1),
                   today=dt.date(2025, 1, 5))
    db.AutopayEnrollment.update(prenote_sent_on=dt.date(2024, 12, 10)).execute()
    autopay.configure(type(autopay.settings())(autopay_dir=str(tmp_path / "ach")))
    try:
        p = autopay.preview(clerk, dt.date(2025, 1, 30))
        autopay.commit(clerk, p.run.id)
        trace = db.AutopayEntry.get().trace
        good = tmp_path / "returns.ach"
        good.write_text(bank_file([Item(trace, "R03", 12_000)]))
        bad = tmp_path / "bad.ach"
        bad.write_text(bank_file([Item(trace, "R03", 12_000)], control_debit_delta=100))
        app = make_app(sqlite_db, boss, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            # A file whose control total is wrong: refused, nothing applied.
            send_burst(app, expand("shift+f6", "6", "f7", str(bad), "enter"))
            await settle(pilot, lambda: isinstance(app.screen, AutopayRunScreen))
            await app.workers.wait_for_complete()
            await settle(pilot, lambda: "Refused" in str(app.screen.query_one("#result").render()))
            assert "debit total says 12100" in str(app.screen.query_one("#result").render())
            assert not db.ReturnedPayment.select().exists()
            send_burst(app, expand("f7", str(good), "enter"))
            await settle(pilot, lambda: db.ReturnedPayment.select().exists())
            await app.workers.wait_for_complete()
            await settle(pilot, lambda: len(app.screen_stack) > 2)
            body = str(app.screen.query_one("#result-body").render())
            assert "1 returns and 0 changes applied" in body and "autopay stopped" in body
            assert db.AutopayEnrollment.get().status == "stopped"          # R03 stops the authorization
    finally:
        autopay.configure(type(autopay.settings())())


async def test_a_bad_draft_date_then_make_file_in_one_burst_writes_nothing(people, sqlite_db, tmp_path):
    msr, clerk, acct = people
    autopay.enroll(msr, acct.id, "091000019", "123456789", "checking", dt.date(2024, 12, 1),
                   today=dt.date(2025, 1, 5))
    db.AutopayEnrollment.update(prenote_sent_on=dt.date(2024, 12, 10)).execute()
    app = make_app(sqlite_db, clerk, tmp_path, autopay_dir=str(tmp_path / "ach"))
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, expand("shift+f6", "6", "13/30/2025", "enter", "f10"))
        await settle(pilot, lambda: isinstance(app.screen, AutopayRunScreen))
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "Preview a draft date first" in str(app.screen.query_one("#result").render())
        assert not db.AutopayRun.select().exists() and not (tmp_path / "ach").exists()
        assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 0
