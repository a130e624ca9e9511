import datetime as dt

from kec_tui import db
from kec_tui.services import accounts, returns
from tests import factories


def test_view_balance_due_usage_and_ledger(database, msr):
    a = factories.account(bills=[10000, 12345, 9999], payments=[10000],
                          cash_only_until=dt.date.today() + dt.timedelta(days=30),
                          landlord=True)
    v = accounts.view(a.id)
    assert v.balance_cents == 10000 + 12345 + 9999 - 10000
    assert v.amount_due_cents == v.balance_cents
    assert v.due_date is not None
    assert v.last_payment[1] == 10000
    assert any(f.startswith("CASH ONLY") for f in v.flags) and "LANDLORD" in v.flags
    assert [k for _, k in v.usage] == [800, 850, 900]
    assert v.tax_id_masked == "***-**-1234"
    page = accounts.ledger_page(a.id, limit=2)
    assert len(page) == 2 and page[0].balance_cents == v.balance_cents
    rest = accounts.ledger_page(a.id, limit=10, before_id=page[-1].id)
    assert len(rest) == 2
    assert rest[-1].balance_cents == rest[-1].amount_cents  # the oldest entry starts the running balance


def test_notes_are_audited(database, msr):
    a = factories.account()
    accounts.add_note(msr, a.id, "Member called about high bill")
    assert accounts.notes(a.id)[0].text == "Member called about high bill"
    from kec_tui.services import audit
    assert audit.for_account(a.id)[0].action == "note.add"


def _bill(account, cents, day, due):
    db.LedgerEntry.create(account=account, effective=day, kind="bill", amount_cents=cents,
                          description="Electric service", due_date=due)


def _pay(account, cents, day):
    return db.LedgerEntry.create(account=account, effective=day, kind="payment", amount_cents=-cents,
                                 description="Payment", reference="chk 1").id


def test_a_returned_payment_is_not_last_paid_and_its_fee_is_not_past_due(database, msr):
    today = dt.date.today()
    a = factories.account()
    _bill(a, 8000, today - dt.timedelta(days=70), today - dt.timedelta(days=50))
    _pay(a, 8000, today - dt.timedelta(days=45))
    _bill(a, 9000, today - dt.timedelta(days=40), today - dt.timedelta(days=20))
    bounced = _pay(a, 9000, today - dt.timedelta(days=5))
    v = accounts.view(a.id)
    assert (v.last_payment, v.past_due_cents, v.balance_cents) == ((today - dt.timedelta(days=5), 9000), 0, 0)
    returns.return_payment(msr, bounced, "R01", fee_cents=2500)
    v = accounts.view(a.id)
    assert v.last_payment == (today - dt.timedelta(days=45), 8000)      # the bounced one is gone
    assert v.balance_cents == v.amount_due_cents == 9000 + 2500
    assert v.past_due_cents == 9000               # the bill that came due is owed again; today's fee is not
    # the fee comes due with the next bill; once that bill's due date has passed, all of it is past due
    _bill(a, 7000, today, today + dt.timedelta(days=20))
    assert accounts.view(a.id).past_due_cents == 9000
    assert accounts.view(a.id, today=today + dt.timedelta(days=21)).past_due_cents == 9000 + 2500 + 7000


def test_past_due_counts_only_bills_whose_due_date_has_passed(database, msr):
    today = dt.date.today()
    a = factories.account()
    assert accounts.view(a.id).past_due_cents == 0 and accounts.view(a.id).last_payment is None
    _bill(a, 5000, today - dt.timedelta(days=40), today - dt.timedelta(days=20))
    _bill(a, 6000, today - dt.timedelta(days=5), today + dt.timedelta(days=15))
    assert accounts.view(a.id).past_due_cents == 5000
    _pay(a, 3000, today - dt.timedelta(days=1))             # a payment goes to the oldest bill first
    assert accounts.view(a.id).past_due_cents == 2000
    _pay(a, 6000, today)
    v = accounts.view(a.id)
    assert (v.past_due_cents, v.balance_cents, v.last_payment) == (0, 2000, (today, 6000))
    returns.return_payment(msr, _pay(a, 2000, today), "R08", fee_cents=0)   # bounced: the old one stands
    assert accounts.view(a.id).last_payment == (today, 6000)
