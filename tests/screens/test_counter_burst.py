"""The counter payment form (Ctrl+K on the account or in lookup, screens/counter.py) and the cash drawer
(Shift+F5, screens/drawer.py), keyed in bursts: every key queued before anything is awaited; what is
asserted is what the database holds."""
from __future__ import annotations

import pytest

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.counter import CounterScreen
from kec_tui.screens.drawer import DrawerScreen
from kec_tui.services import drawers, operators, passwords, products
from tests import factories
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle


@pytest.fixture
def shop(sqlite_db):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    products.seed_demo()
    acct = factories.account(first="Ada", last="Lovelace", bills=(12_000,))
    return msr, acct


def txns() -> list[tuple]:
    X = db.CounterTxn
    return [(x.payment_cents, x.sale_cents, x.tax_cents, x.tendered_cents, x.change_cents, x.note)
            for x in X.select().order_by(X.id)]


def tenders() -> list[tuple]:
    T = db.CounterTender
    return [(t.kind, t.amount_cents, t.reference, t.card_type, t.card_last4, t.approval)
            for t in T.select().order_by(T.id)]


async def on_account(pilot, acct) -> AccountScreen:
    pilot.app.open_account(acct.id)
    await settle(pilot, lambda: isinstance(pilot.app.screen, AccountScreen))
    return pilot.app.screen


# Payment $50.00; 2 x LED4PK (16.00 + 6% tax 0.96) paid here; cash 20, check 30 #1042, card 17.96.
HAPPY = ("ctrl+k", "50.00", "enter", "led4pk", "enter", "2", "enter", "enter", "c", "enter",
         "20", "enter", "30", "enter", "1042", "enter", "enter", "17.96", "enter", "v", "enter", "4242", "ab12",
         "enter", "walk-in", "enter")


async def test_a_mixed_tender_payment_with_a_sale_keyed_as_one_burst(shop, sqlite_db, tmp_path):
    msr, acct = shop
    drawers.open_drawer(msr, 10_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand(*HAPPY))
        await settle(pilot, lambda: len(txns()) == 1 and app.screen is account)
    assert txns() == [(5_000, 1_696, 96, 6_796, 100, "walk-in")]
    assert tenders() == [("cash", 2_000, "", "", "", ""), ("check", 3_000, "1042", "", "", ""),
                         ("card", 1_796, "", "VISA", "4242", "AB12")]
    rid = db.CounterTxn.get().id
    assert (tmp_path / "reports" / f"receipt-{rid}.pdf").exists()
    assert "CHANGE" in (tmp_path / "reports" / f"receipt-{rid}.txt").read_text()
    L = db.LedgerEntry
    assert [(e.kind, e.amount_cents) for e in L.select().where(L.reference == f"RCPT {rid}")] == [("payment", -5_000)]


async def test_a_card_number_in_the_note_is_refused_and_the_keys_behind_it_held(shop, sqlite_db, tmp_path):
    msr, acct = shop
    drawers.open_drawer(msr, 10_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        keys = list(HAPPY[:-2]) + ["4111 1111 1111 1111", "enter", "50", "enter", "enter"]
        send_burst(app, expand(*keys))
        await settle(pilot, lambda: isinstance(app.screen, CounterScreen) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "note" and "card numbers are never stored" in form.error
        assert form.held_keys == 4
        assert txns() == [] and tenders() == []                         # nothing written
        send_burst(app, expand("escape", "ok", "enter"))
        await settle(pilot, lambda: len(txns()) == 1)
    assert txns()[0][5] == "ok"
    assert not db.CounterTxn.select().where(db.CounterTxn.note.contains("4111")).exists()


async def test_tenders_short_cash_only_and_unknown_item_are_refused(shop, sqlite_db, tmp_path):
    msr, acct = shop
    db.Account.update(cash_only_until="2099-01-01").where(db.Account.id == acct.id).execute()
    drawers.open_drawer(msr, 10_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        # An unknown item: refused at the field, the rest held.
        send_burst(app, expand("ctrl+k", "50", "enter", "bogus", "enter", "1", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CounterScreen) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "item1" and "No item 'BOGUS'" in form.error and form.held_keys == 2
        # A check on a cash-only account: refused at the line.
        send_burst(app, expand("escape", "enter", "40", "enter", "10", "enter", "123", "enter"))
        await settle(pilot, lambda: form.locked)
        assert form.current == "check" and "CASH ONLY" in form.error
        # Cash short of the payment: refused on Enter, nothing written.
        send_burst(app, expand("escape", "enter", "enter", "enter", "enter", "enter", "9"))
        await settle(pilot, lambda: form.locked)
        assert "short of $50.00 by $10.00" in form.error and form.current == "cash" and form.held_keys == 2
        assert txns() == []
        send_burst(app, expand("escape", "50", "enter", "enter", "enter", "enter", "enter"))
        await settle(pilot, lambda: len(txns()) == 1)
    assert txns() == [(5_000, 0, 0, 5_000, 0, "")]


async def test_no_drawer_open_no_counter_payment(shop, sqlite_db, tmp_path):
    msr, acct = shop
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        send_burst(app, expand("ctrl+k", "50", "enter"))
        await settle(pilot)
        assert app.screen is account
    assert txns() == []


async def test_drawer_opened_and_closed_short_with_a_supervisor(shop, sqlite_db, tmp_path):
    msr, acct = shop
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, expand("shift+f5", "f5", "100", "enter"))
        await settle(pilot, lambda: drawers.open_drawer_of(msr) is not None and isinstance(app.screen, DrawerScreen))
        # A cash sale: 1 LED9 (2.50 + 0.15) paid with 5.00.
        send_burst(app, expand("f6", "led9", "enter", "enter", "enter", "5", "enter", "enter", "enter",
                               "enter", "enter"))
        await settle(pilot, lambda: len(txns()) == 1 and isinstance(app.screen, DrawerScreen))
        assert txns() == [(0, 265, 15, 500, 235, "")]
        d = drawers.open_drawer_of(msr)
        assert drawers.expected(d.id)["cash"] == 10_265
        # Count 100.00 (one short of 102.65 by 2.65): a supervisor accepts with a reason.
        keys = ["f10", "1", "enter"] + ["enter"] * 11 + ["enter", "super", "enter", "sup3rpass-long", "enter",
                                                         "change miscounted", "enter"]
        send_burst(app, expand(*keys))
        slip_path = tmp_path / "reports" / f"drawer-{d.id}-deposit.txt"
        await settle(pilot, lambda: slip_path.exists())
        row = db.CashDrawer.get_by_id(d.id)
        assert row.accept_reason == "change miscounted" and row.accepted_by.username == "super"
        slip = slip_path.read_text()
        assert "Cash deposited" in slip and "-2.65" in slip
        # Closing twice: F10 is not offered on a closed drawer.
        await settle(pilot, lambda: isinstance(app.screen, DrawerScreen))
        send_burst(app, expand("f10"))
        await settle(pilot)
        assert isinstance(app.screen, DrawerScreen) and app.screen.drawer is None


async def test_a_negative_quantity_or_payment_is_refused_at_the_field(shop, sqlite_db, tmp_path):
    msr, acct = shop
    drawers.open_drawer(msr, 10_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_account(pilot, acct)
        send_burst(app, expand("ctrl+k", "50", "minus", "led9", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CounterScreen) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "pay" and "not below zero" in form.error and form.held_keys == 5
        send_burst(app, expand("escape", "50", "enter", "led9", "enter", "minus", "2", "enter", "enter"))
        await settle(pilot, lambda: form.locked)
        assert form.current == "qty1" and "Field- is for amounts" in form.error and form.held_keys == 3
        assert txns() == []


async def test_a_supervisor_edits_the_price_list_an_msr_may_not(shop, sqlite_db, tmp_path):
    msr, acct = shop
    boss = operators.by_username("super")
    app = make_app(sqlite_db, boss, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        # LED9 to 2.75 (Enter keeps the description, taxable, still sold); a new item, not taxed.
        send_burst(app, expand("shift+f5", "f12", "led9", "enter", "enter", "2.75", "enter", "enter", "enter",
                               "f12", "rebate", "enter", "Rebate form copy", "enter", "1", "enter", "n", "enter",
                               "enter"))
        await settle(pilot, lambda: db.Product.select().where(db.Product.code == "REBATE").exists())
    p = db.Product.get(db.Product.code == "LED9")
    assert (p.description, p.price_cents, p.taxable, p.active) == ("LED bulb 9W (60W equiv.)", 275, True, True)
    r = db.Product.get(db.Product.code == "REBATE")
    assert (r.price_cents, r.taxable) == (100, False)
    assert db.AuditLog.select().where(db.AuditLog.action == "product.save").count() == 2
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, expand("shift+f5", "f12", "led9", "enter", "enter", "1", "enter", "enter", "enter"))
        await settle(pilot)
        assert isinstance(app.screen, DrawerScreen)
    assert db.Product.get(db.Product.code == "LED9").price_cents == 275


async def test_a_payment_over_the_balance_asks_about_the_credit_and_a_receipt_reprints(shop, sqlite_db, tmp_path):
    msr, acct = shop                                         # the balance is $120.00
    drawers.open_drawer(msr, 10_000)
    app = make_app(sqlite_db, msr, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        account = await on_account(pilot, acct)
        # $200.00 in cash: "Rest a credit" comes up; N is refused (the keys behind it held), Y takes it.
        send_burst(app, expand("ctrl+k", "200", "enter", "enter", "200", "enter", "enter", "enter", "enter",
                               "enter", "n", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, CounterScreen) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "credit" and "$80.00 more than the balance" in form.error and form.held_keys == 1
        assert txns() == []
        send_burst(app, expand("escape", "y", "enter"))
        await settle(pilot, lambda: len(txns()) == 1 and app.screen is account)
        assert db.CounterTxn.get().credit_accepted
        # The drawer reprints it: a copy, marked so.
        send_burst(app, expand("shift+f5", "f7"))
        copy = tmp_path / "reports" / f"receipt-{db.CounterTxn.get().id}-copy.txt"
        await settle(pilot, lambda: copy.exists())
        assert "** COPY **" in copy.read_text() and "CR" in copy.read_text()
