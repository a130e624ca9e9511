"""Why collection is held on an account: bankruptcy, a medical certificate, a winter-protected household."""
import datetime as dt

from kec_tui.services import collection_holds
from tests import factories


def test_bankruptcy_medical_and_winter_are_reasons(database):
    a = factories.account(bankruptcy=True, medical_cert_until=dt.date(2027, 1, 10),
                          winter_protection_until=dt.date(2027, 2, 28), rate_class="RES")
    assert collection_holds.held(a.id, dt.date(2026, 12, 15)) == {"bankruptcy", "medical", "winter"}
    # After the certificate and outside the winter only the bankruptcy holds.
    assert collection_holds.held(a.id, dt.date(2027, 3, 1)) == {"bankruptcy"}


def test_winter_protection_is_for_residential_households_only(database):
    a = factories.account(winter_protection_until=dt.date(2027, 2, 28), rate_class="GS")
    assert collection_holds.held(a.id, dt.date(2026, 12, 15)) == set()


def test_an_account_with_no_reason_is_left_out(database):
    a = factories.account()
    b = factories.account(first="Grace", last="Hopper", bankruptcy=True)
    assert collection_holds.holds([a.id, b.id], dt.date(2026, 12, 15)) == {b.id: {"bankruptcy"}}


def test_a_kept_arrangement_and_a_pending_pledge_are_reasons(database):
    from kec_tui import db
    from kec_tui.services import arrangements, assistance, operators

    msr = operators.create("msr1", "Pat Keyer", "msr")
    assistance.add_demo_agencies()
    a = factories.account(bankruptcy=True)
    db.LedgerEntry.create(account=a, effective=dt.date(2026, 11, 1), kind="bill", amount_cents=9_000,
                          due_date=dt.date(2026, 11, 21))
    arrangements.make(msr, a.id, total_cents=9_000, installments=3, mode="bills", on=dt.date(2026, 12, 1))
    assistance.pledge(msr, a.id, "CAP", 5_000, pledged_on=dt.date(2026, 12, 2), today=dt.date(2026, 12, 2))
    b = factories.account(first="Grace", last="Hopper")
    assert collection_holds.holds([a.id, b.id], dt.date(2026, 12, 3)) == {a.id: {"bankruptcy", "arrangement",
                                                                                 "pledge"}}
