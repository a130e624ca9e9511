"""The credit forms on an account (screens/credit.py) keyed in bursts: a deposit (Ctrl+D), a write-off
approved by a supervisor (Ctrl+U), a bankruptcy recorded and closed (Ctrl+T), what an agency collected;
and the credit lists (Shift+F6, screens/credit_lists.py): the write-off list approved by a supervisor.
Every key is queued before anything is awaited; what is asserted is what the database holds."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.credit import AgencyPaymentScreen, BankruptcyScreen, DepositScreen, WriteOffScreen
from kec_tui.screens.credit_lists import CreditScreen
from kec_tui.screens.help import HelpScreen
from kec_tui.services import bankruptcy, credit_rules, deposits, operators, passwords, write_offs
from tests import factories
from tests.screens.test_help import KEY_IN_TEXT, bound_keys
from tests.support.batch import expand, make_app
from tests.support.credit import bill, ledger
from tests.support.keys import send_burst, settle

TODAY = dt.date.today()          # the forms work on today; every date below is relative to it


@pytest.fixture(autouse=True)
def default_rules():
    before = credit_rules.use(credit_rules.Rules())
    yield
    credit_rules.use(before)


@pytest.fixture
def people(sqlite_db):
    collector = operators.create("coll1", "Casey Collector", "collections")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    return collector


def late_account(**kw):
    """Three bills unpaid, each past its due date: the rules call for a deposit (2x $100)."""
    a = factories.account(**kw)
    for days in (100, 70, 40):
        bill(a, 10_000, TODAY - dt.timedelta(days=days))
    return a


def final_account(**kw):
    a = factories.account(status="final", closed=TODAY - dt.timedelta(days=120), **kw)
    bill(a, 15_000, TODAY - dt.timedelta(days=120))
    return a


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


def deposits_of(acct):
    D = db.Deposit
    return [(d.reason, d.amount_cents, d.installments, d.billed_cents) for d in D.select().where(D.account == acct.id)]


# ---- deposit -------------------------------------------------------------------------------------------

async def test_a_deposit_in_two_installments_keyed_in_one_burst(people, sqlite_db, tmp_path):
    acct = late_account()
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # Ctrl+D; the reason the rules call for (Enter: late), the rule's amount (Enter), 2 installments, a note.
        send_burst(app, expand("ctrl+d", "enter", "enter", "2", "enter", "Agreed on the phone", "enter"))
        await settle(pilot, lambda: deposits_of(acct) != [] and app.screen is account)
        assert deposits_of(acct) == [("late_history", 20_000, 2, 10_000)]
        assert ledger(acct, "deposit") == [("deposit", 10_000, "DEPOSIT")]
        assert db.Account.get_by_id(acct.id).deposit_cents == 10_000


async def test_a_deposit_the_rules_do_not_call_for_locks_the_form_and_nothing_is_written(people, sqlite_db,
                                                                                         tmp_path):
    acct = factories.account()
    bill(acct, 10_000, TODAY - dt.timedelta(days=10))
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+d", "l", "enter", "200", "enter", "1", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, DepositScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "reason" and "do not call for a deposit" in form.error
        assert form.held_keys == 7
        assert deposits_of(acct) == [] and ledger(acct, "deposit") == []
        # Esc, O other with a note: billed.
        send_burst(app, expand("escape", "o", "enter", "150", "enter", "enter", "Landlord asked", "enter"))
        await settle(pilot, lambda: deposits_of(acct) != [])
        assert deposits_of(acct) == [("other", 15_000, 1, 15_000)]


# ---- write-off -----------------------------------------------------------------------------------------

async def test_a_write_off_approved_by_a_supervisor_in_one_burst(people, sqlite_db, tmp_path):
    acct = final_account()
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand("f8", "3", "Moved out of state", "enter", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: db.WriteOff.select().count() == 1 and app.screen is account)
        w = db.WriteOff.get()
        assert (w.account_id, w.amount_cents, w.approved_by.username, w.note) == \
            (acct.id, 15_000, "super", "Moved out of state")
        assert ledger(acct, "writeoff") == [("writeoff", -15_000, "WRITEOFF")]


async def test_a_write_off_of_an_active_account_is_refused_and_keys_typed_ahead_are_held(people, sqlite_db,
                                                                                         tmp_path):
    acct = late_account()
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("f8", "3", "gone", "enter", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, WriteOffScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "note" and "is active: only a final account" in form.error
        assert form.held_keys == 21
        assert db.WriteOff.select().count() == 0 and ledger(acct, "writeoff") == []
        assert db.Account.get_by_id(acct.id).status == "active"


# ---- bankruptcy ----------------------------------------------------------------------------------------

async def test_a_bankruptcy_recorded_and_discharged_in_bursts(people, sqlite_db, tmp_path):
    acct = late_account()
    filed = TODAY - dt.timedelta(days=2)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # Chapter 7 (Enter), the case number, the filing date, the court (Enter: D. Idaho), assurance (Enter: yes).
        send_burst(app, expand("f8", "4", "enter", "25-20417", "enter", f"{filed:%m%d%Y}", "enter", "enter",
                               "enter"))
        await settle(pilot, lambda: db.BankruptcyCase.select().count() == 1 and app.screen is account)
        c = db.BankruptcyCase.get()
        assert (c.chapter, c.case_no, c.filed_on, c.court, c.pre_petition_cents) == \
            (7, "25-20417", filed, "D. Idaho", 30_000)
        assert db.Account.get_by_id(acct.id).bankruptcy and c.assurance_cents == 20_000
        # Ctrl+T again closes it: D discharged, Enter takes today.
        send_burst(app, expand("f8", "4", "d", "enter", "enter"))
        await settle(pilot, lambda: db.BankruptcyCase.get().status == "discharged" and app.screen is account)
        assert not db.Account.get_by_id(acct.id).bankruptcy
        assert ledger(acct, "writeoff") == [("writeoff", -30_000, "BK DISCHARGE")]


async def test_a_filing_date_after_today_is_refused_and_nothing_is_recorded(people, sqlite_db, tmp_path):
    acct = late_account()
    later = TODAY + dt.timedelta(days=3)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("f8", "4", "enter", "25-20417", "enter", f"{later:%m%d%Y}", "enter", "enter",
                               "enter"))
        await settle(pilot, lambda: isinstance(app.screen, BankruptcyScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "filed_on" and "is after today" in form.error
        assert form.held_keys == 2
        assert db.BankruptcyCase.select().count() == 0 and not db.Account.get_by_id(acct.id).bankruptcy
        assert ledger(acct, "transfer", "deposit") == []


# ---- what the agency collected ---------------------------------------------------------------------------

def referred(people, tmp_path):
    acct = final_account()
    boss = operators.by_username("super")
    write_offs.write_off_account(people, acct.id, supervisor=boss)
    write_offs.refer(people, [acct.id], tmp_path / "agency")
    return acct


async def test_the_agencys_payment_keyed_in_one_burst(people, sqlite_db, tmp_path):
    acct = referred(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        app.open("agency_payment", acct.id)
        send_burst(app, expand("enter", "100", "enter", "CK 881", "enter"))
        await settle(pilot, lambda: db.AgencyReferral.get().collected_cents == 10_000)
        assert ledger(acct)[-3:] == [("writeoff", 10_000, "RECOVERY"), ("payment", -7_000, "AGENCY CK 881"),
                                     ("adjustment", -3_000, "AGENCY FEE")]


async def test_more_than_is_left_to_collect_is_refused_and_nothing_is_written(people, sqlite_db, tmp_path):
    acct = referred(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        before = ledger(acct)
        app.open("agency_payment", acct.id)
        send_burst(app, expand("enter", "250", "enter", "CK 1", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, AgencyPaymentScreen))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "amount" and "at most $150.00" in form.error
        assert form.held_keys == 5
        assert ledger(acct) == before and db.AgencyReferral.get().collected_cents == 0


# ---- the credit lists -----------------------------------------------------------------------------------

async def test_the_write_off_list_approved_by_a_supervisor(people, sqlite_db, tmp_path):
    acct = final_account()
    other = final_account(first="Grace", last="Hopper")
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        send_burst(app, ["shift+f6", "4"])
        await settle(pilot, lambda: isinstance(app.screen, CreditScreen)
                     and app.screen.query_one("#writeoffs-table").row_count == 2)
        screen = app.screen
        assert "2 accounts $300.00 to approve" in screen.summaries["writeoffs"]
        # The second account left out (F6 on it), F8: the supervisor signs in, the list is written off.
        send_burst(app, expand("down", "f6", "f8", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: db.WriteOff.select().count() == 1 and app.screen is screen)
        assert [w.account_id for w in db.WriteOff.select()] == [acct.id]
        assert ledger(other, "writeoff") == []
        # A wrong password writes nothing (the list of the day is approved now anyway).
        assert db.CreditRun.get(db.CreditRun.kind == "writeoff").approved_by.username == "super"


async def test_a_wrong_supervisor_password_writes_nothing_off(people, sqlite_db, tmp_path):
    final_account()
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        send_burst(app, ["shift+f6", "4"])
        await settle(pilot, lambda: isinstance(app.screen, CreditScreen)
                     and app.screen.query_one("#writeoffs-table").row_count == 1)
        send_burst(app, expand("f8", "super", "enter", "wrong-password", "enter", "enter", "y"))
        await settle(pilot)
        form = app.screen.query_one("#form")
        assert form.locked and "sign-in refused" in form.error and form.held_keys == 2
        assert db.WriteOff.select().count() == 0


# ---- F1 on each credit screen -----------------------------------------------------------------------------

OPENERS = {
    "CreditScreen": lambda app, acct: send_burst(app, ["shift+f6", "4"]),
    "DepositScreen": lambda app, acct: send_burst(app, ["ctrl+d"]),
    "WriteOffScreen": lambda app, acct: send_burst(app, ["f8", "3"]),
    "BankruptcyScreen": lambda app, acct: send_burst(app, ["f8", "4"]),
    "AgencyPaymentScreen": lambda app, acct: app.open("agency_payment", acct.id),
    "BankruptcyCloseScreen": lambda app, acct: (
        bankruptcy.record_case(app.operator, acct.id, 7, "25-1001", TODAY, "D. Idaho", assurance_deposit=False),
        send_burst(app, ["f8", "4"])),
}


@pytest.mark.parametrize("name", OPENERS)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_f1_lists_the_keys_of_each_credit_screen(people, sqlite_db, tmp_path, name, size):
    acct = late_account()
    boss = operators.by_username("super")
    app = make_app(sqlite_db, boss, tmp_path)
    async with app.run_test(size=size) as pilot:
        await on_account(pilot, acct)
        OPENERS[name](app, acct)
        await settle(pilot, lambda: type(app.screen).__name__ == name)
        under = app.screen
        own, working = bound_keys(under)
        assert own
        send_burst(app, ["f1"])
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.as_text()
        keys_part = text.split("Everywhere")[0]
        for key in own:
            assert re.search(rf"(?<![\w+]){re.escape(key)}(?![\w+])", keys_part), (key, text)
        assert set(KEY_IN_TEXT.findall(text)) <= working, text
        send_burst(app, ["escape"])
        await settle(pilot, lambda: app.screen is under)


async def test_referral_and_the_deposit_review_from_the_credit_lists(people, sqlite_db, tmp_path):
    boss = operators.by_username("super")
    acct = final_account()
    write_offs.write_off_account(people, acct.id, supervisor=boss)
    installments = late_account(first="Two", last="Parts")
    deposits.bill(people, installments.id, "late_history", installments=2, today=TODAY - dt.timedelta(days=40))
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        send_burst(app, ["shift+f6", "4"])
        await settle(pilot, lambda: isinstance(app.screen, CreditScreen) and app.screen.review is not None
                     and app.screen.to_refer)
        screen = app.screen
        # F10 the agency list, F7 refers the account to refer, Y: the file is in the reports folder.
        send_burst(app, ["f10", "f7", "y"])
        await settle(pilot, lambda: db.AgencyReferral.select().count() == 1 and app.screen is screen)
        assert [p.name for p in (tmp_path / "reports").iterdir()] == [f"agency-{TODAY:%Y%m%d}-1.csv"]
        # F12 the deposit review: the second installment is due; F8, Y bills it, once.
        send_burst(app, ["f12", "f8", "y"])
        await settle(pilot, lambda: db.Account.get_by_id(installments.id).deposit_cents == 20_000)
        assert [c for _, c, _ in ledger(installments, "deposit")] == [10_000, 10_000]
        send_burst(app, ["f8"])                       # done: nothing more to do, nothing billed twice
        await settle(pilot)
        assert [c for _, c, _ in ledger(installments, "deposit")] == [10_000, 10_000]


async def test_a_supervisor_writes_off_without_signing_in_again(people, sqlite_db, tmp_path):
    acct = final_account()
    app = make_app(sqlite_db, operators.by_username("super"), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand("f8", "3", "Deceased, no estate", "enter"))
        await settle(pilot, lambda: db.WriteOff.select().count() == 1 and app.screen is account)
        assert db.WriteOff.get().approved_by.username == "super"


async def test_an_msr_may_not_write_off_or_record_a_bankruptcy(people, sqlite_db, tmp_path):
    acct = final_account()
    app = make_app(sqlite_db, operators.create("msr1", "Pat Keyer", "msr"), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand("f8", "3", "x", "enter", "f8", "4", "enter"))
        await settle(pilot)
        assert app.screen is account
        assert db.WriteOff.select().count() == 0 and db.BankruptcyCase.select().count() == 0
