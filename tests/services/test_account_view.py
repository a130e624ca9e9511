import datetime as dt

from kec_tui.services import accounts
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
