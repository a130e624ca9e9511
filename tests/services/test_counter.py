"""The front counter: tenders, change, cash-only, cards, product sales with tax, the drawer, voids."""
from __future__ import annotations

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import counter, drawers, operators, products
from kec_tui.services.counter import Sale, Tender
from kec_tui.services.drawers import CheckItem
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories
from tests.services.test_concurrency import at_once

TODAY = dt.date(2025, 10, 6)
PAN = "4111 1111 1111 1111"


@pytest.fixture
def shop(database, msr, supervisor):
    products.seed_demo()
    drawers.open_drawer(msr, 10_000, TODAY)
    return factories.account(bills=[12_345])


def take(op, account, payment, tenders, sales=(), **kw):
    return counter.take(op, account.number if account else None, payment, tenders, sales, today=TODAY, **kw)


def counts():
    return (db.CounterTxn.select().count(), db.LedgerEntry.select().where(
        db.LedgerEntry.reference.startswith("RCPT")).count(), db.CounterTender.select().count())


def test_mixed_tenders_short_then_change_from_cash_with_a_taxed_sale(shop, msr):
    # Products: 2 x 8.00 taxable = 16.00, tax 6% = 0.96; 20.00 not taxable. Due 100 + 36.96 = 136.96.
    with pytest.raises(ValidationError, match=r"short of \$136.96 by \$26.96"):
        take(msr, shop, 10_000, [Tender("check", 5_000, "1042"), Tender("cash", 6_000)],
             [Sale("LED4PK", 2), Sale("KILLAWT", 1)])
    assert counts() == (0, 0, 0)
    r = take(msr, shop, 10_000, [Tender("check", 5_000, "1042"), Tender("cash", 10_000)],
             [Sale("LED4PK", 2), Sale("KILLAWT", 1)])
    assert (r.due_cents, r.tendered_cents, r.change_cents) == (13_696, 15_000, 1_304)
    assert r.balance_after_cents == 2_345            # the sale was paid here, not charged
    text = counter.receipt_text(r)
    assert "CHANGE" in text and "13.04" in text and "Sales tax 6%" in text and "0.96" in text


def test_only_cash_gives_change(shop, msr):
    with pytest.raises(ValidationError, match="only cash gives change"):
        take(msr, shop, 5_000, [Tender("check", 6_000, "77")])
    assert counts() == (0, 0, 0)


def test_cash_only_account_refuses_a_check_but_takes_a_money_order(shop, msr):
    db.Account.update(cash_only_until=TODAY + dt.timedelta(days=200)).where(db.Account.id == shop.id).execute()
    with pytest.raises(ValidationError, match="CASH ONLY"):
        take(msr, shop, 5_000, [Tender("check", 5_000, "1001")])
    assert counts() == (0, 0, 0)
    r = take(msr, shop, 5_000, [Tender("money_order", 5_000, "MO-55")])
    assert r.tenders[0].kind == "money_order"


def test_a_card_is_type_last_four_and_approval_only(shop, msr):
    r = take(msr, shop, 12_345, [Tender("card", 12_345, card_type="visa", card_last4="1111", approval="ab12c")])
    t = db.CounterTender.get()
    assert (t.card_type, t.card_last4, t.approval, t.reference) == ("VISA", "1111", "AB12C", "")
    assert "VISA ****1111 AB12C" in counter.receipt_text(r)
    for bad, field in ((dict(card_last4="41111111"), "card_last4"), (dict(card_type="DINERS"), "card_type"),
                       (dict(approval=PAN), "approval"), (dict(approval=""), "approval")):
        kw = dict(card_type="VISA", card_last4="1111", approval="AB12") | bad
        with pytest.raises(ValidationError) as e:
            take(msr, shop, 1_000, [Tender("card", 1_000, **kw)])
        assert e.value.field == field
    assert counts()[0] == 1


def test_card_number_in_a_note_or_reference_is_refused(shop, msr):
    with pytest.raises(ValidationError, match="card numbers are never stored"):
        take(msr, shop, 1_000, [Tender("cash", 1_000)], note=f"paid with {PAN}")
    with pytest.raises(ValidationError, match="card numbers are never stored"):
        take(msr, shop, 1_000, [Tender("check", 1_000, "4111-1111-1111-1111")])
    assert counts() == (0, 0, 0)


def test_a_payment_over_the_balance_asks_about_the_credit(shop, msr):
    with pytest.raises(counter.NeedsCredit) as e:
        take(msr, shop, 20_000, [Tender("cash", 20_000)])
    assert e.value.excess_cents == 20_000 - 12_345
    assert counts() == (0, 0, 0)
    r = take(msr, shop, 20_000, [Tender("cash", 20_000)], credit_ok=True)
    assert r.balance_after_cents == 12_345 - 20_000
    assert db.CounterTxn.get().credit_accepted


def test_sale_to_the_account_is_charged_to_the_ledger(shop, msr):
    r = take(msr, shop, 0, [], [Sale("surge", 1)], sale_to_account=True)
    assert (r.sale_cents, r.tax_cents, r.due_cents) == (2_645, 150, 0)
    e = db.LedgerEntry.get(db.LedgerEntry.reference == f"RCPT {r.id}")
    assert (e.kind, e.amount_cents) == ("fee", 2_645)
    assert r.balance_after_cents == 12_345 + 2_645


def test_cash_sale_without_an_account(shop, msr):
    r = take(msr, None, 0, [Tender("cash", 300)], [Sale("LED9", 1)])
    assert (r.due_cents, r.change_cents, r.account_number) == (265, 35, None)


def test_unknown_item_and_negative_quantity_are_refused(shop, msr):
    with pytest.raises(NotFound, match="No item 'NOPE'"):
        take(msr, shop, 0, [Tender("cash", 1_000)], [Sale("nope", 1)])
    with pytest.raises(ValidationError, match="above zero"):
        take(msr, shop, 0, [Tender("cash", 1_000)], [Sale("LED9", -2)])
    assert counts() == (0, 0, 0)


def test_no_drawer_open_no_counter_payment(database, msr, supervisor):
    a = factories.account(bills=[5_000])
    with pytest.raises(drawers.NoOpenDrawer, match="No cash drawer is open"):
        counter.take(msr, a.number, 5_000, [Tender("cash", 5_000)], today=TODAY)
    assert counts() == (0, 0, 0)


def test_drawer_closes_balanced_with_its_deposit_slip(shop, msr, tmp_path):
    take(msr, shop, 5_000, [Tender("cash", 6_000)])                     # change 10.00
    take(msr, shop, 2_000, [Tender("check", 2_000, "501")])
    take(msr, shop, 1_000, [Tender("money_order", 1_000, "MO9")])
    take(msr, shop, 1_500, [Tender("card", 1_500, card_type="MC", card_last4="4444", approval="X1")], credit_ok=True)
    d = drawers.open_drawer_of(msr)
    assert drawers.expected(d.id) == {"cash": 15_000, "check": 2_000, "money_order": 1_000, "card": 1_500}
    s = drawers.close_drawer(msr, d.id, {10_000: 1, 2_000: 2, 1_000: 1},
                             [CheckItem("check", "501", 2_000), CheckItem("money_order", "MO9", 1_000)], 1_500)
    assert s.balanced and s.drawer.status == "closed"
    slip = drawers.deposit_slip_text(d.id)
    assert "Cash deposited" in slip and "DEPOSIT TOTAL" in slip and "$80.00" in slip
    files = drawers.write_deposit_slip(d.id, tmp_path)
    assert files.pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(drawers.DrawerClosed, match="already closed"):
        drawers.close_drawer(msr, d.id, {10_000: 1})
    with pytest.raises(drawers.NoOpenDrawer):
        take(msr, shop, 100, [Tender("cash", 100)])


def test_a_short_drawer_needs_a_supervisor_and_a_reason(shop, msr, supervisor):
    take(msr, shop, 5_000, [Tender("cash", 5_000)])
    d = drawers.open_drawer_of(msr)
    cash = {10_000: 1, 2_000: 2, 500: 1}                                 # 145.00 of 150.00
    preview = drawers.count_summary(d.id, cash)
    assert preview.line("cash").difference_cents == -500
    with pytest.raises(drawers.NeedsSupervisor, match=r"Cash short \$5.00"):
        drawers.close_drawer(msr, d.id, cash)
    other = operators.create("msr2", "Other", "msr")
    with pytest.raises(PermissionDenied):
        drawers.close_drawer(msr, d.id, cash, approver=other, reason="miscount")
    with pytest.raises(ValidationError, match="Say why"):
        drawers.close_drawer(msr, d.id, cash, approver=supervisor)
    assert db.CashDrawer.get_by_id(d.id).status == "open"
    s = drawers.close_drawer(msr, d.id, cash, approver=supervisor, reason="gave $5 too much change")
    assert s.drawer.accepted_by == "super" and s.difference_cents == -500
    assert "Difference accepted by super" in drawers.deposit_slip_text(d.id)
    day = drawers.day_summary_text(TODAY)
    assert "Cash" in day and "-5.00" in day
    assert db.AuditLog.select().where(db.AuditLog.action == "drawer.close").count() == 1


def test_one_open_drawer_per_operator_and_bad_floats(database, msr):
    drawers.open_drawer(msr, 5_000, TODAY)
    with pytest.raises(ValidationError, match="already open"):
        drawers.open_drawer(msr, 5_000, TODAY)
    with pytest.raises(ValidationError):
        drawers.open_drawer(operators.create("msr3", "X", "msr"), -1, TODAY)


def test_void_reverses_the_same_day_in_the_open_drawer(shop, msr):
    r = take(msr, shop, 5_000, [Tender("cash", 5_000)], [Sale("LED9", 2)], sale_to_account=True)
    d = drawers.open_drawer_of(msr)
    before = drawers.expected(d.id)["cash"]
    v = counter.void(msr, r.id, "keyed the wrong account", today=TODAY)
    assert v.voided and v.balance_after_cents == 12_345
    assert drawers.expected(d.id)["cash"] == before - 5_000
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "reversal").count() == 2
    assert db.AuditLog.select().where(db.AuditLog.action == "counter.void").count() == 1
    with pytest.raises(ValidationError, match="already void"):
        counter.void(msr, r.id, "again", today=TODAY)
    r2 = take(msr, shop, 1_000, [Tender("cash", 1_000)])
    with pytest.raises(ValidationError, match="only today's"):
        counter.void(msr, r2.id, "late", today=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="card numbers"):
        counter.void(msr, r2.id, PAN, today=TODAY)
    drawers.close_drawer(msr, d.id, {10_000: 1, 1_000: 1})
    with pytest.raises(drawers.DrawerClosed):
        counter.void(msr, r2.id, "after close", today=TODAY)


def test_receipt_reprint_and_pdf(shop, msr, tmp_path):
    r = take(msr, shop, 12_345, [Tender("cash", 13_000)])
    txt, pdf = counter.write_receipt(r.id, tmp_path)
    txt2, _ = counter.write_receipt(r.id, tmp_path, copy=True)
    assert "** COPY **" in txt2.read_text() and "** COPY **" not in txt.read_text()
    assert pdf.read_bytes().startswith(b"%PDF")
    assert PAN.replace(" ", "") not in txt.read_text()


def test_price_list_edited_by_a_supervisor(database, msr, supervisor):
    with pytest.raises(PermissionDenied):
        products.save(msr, "LED9", "LED bulb", 250)
    p = products.save(supervisor, "led9", "LED bulb 9W", 275, taxable=True)
    assert (p.code, p.price_cents) == ("LED9", 275)
    with pytest.raises(ValidationError, match="card numbers"):
        products.save(supervisor, "X1", f"gift {PAN}", 100)
    assert products.tax_cents(1_000) == 60 and products.tax_cents(25) == 2


def test_concurrent_counter_payments_on_one_account(database, msr):
    other = operators.create("msr2", "Other MSR", "msr")
    products.seed_demo()
    drawers.open_drawer(msr, 0, TODAY)
    drawers.open_drawer(other, 0, TODAY)
    a = factories.account(bills=[10_000])
    # Each pays the whole balance: the second to commit finds it paid and must ask about a credit.
    r = at_once(lambda: counter.take(msr, a.number, 10_000, [Tender("cash", 10_000)], today=TODAY),
                lambda: counter.take(other, a.number, 10_000, [Tender("cash", 10_000)], today=TODAY))
    kinds = sorted(type(x).__name__ for x in r)
    assert kinds == ["NeedsCredit", "Receipt"], r
    assert db.CounterTxn.select().count() == 1
    from kec_tui.services.accounts import balance
    assert balance(a.id) == 0


def test_the_demo_ships_a_price_list(sqlite_db):
    from kec_tui.demo.builder import build_demo

    build_demo(accounts=3, months=1, today=TODAY)
    codes = {p.code for p in products.price_list()}
    assert {"LED9", "SURGE", "MBADAPT"} <= codes
