"""The delinquency worklist of a cycle: who is past due, how much, payment history, flags and
the next action. SQLite and PostgreSQL."""

import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import collections
from kec_tui.services.aging import Aged
from kec_tui.services.errors import PermissionDenied
from kec_tui.services.operators import OperatorInfo
from tests import factories
from tests.services.test_aging import entry

D = dt.date
AS_OF = D(2026, 1, 15)


def bill(acct, cents, due, paid_on=None, paid=None):
    entry(acct, "bill", cents, due - dt.timedelta(days=20), due=due)
    if paid_on:
        entry(acct, "payment", -(paid if paid is not None else cents), paid_on)


def returned(acct, on):
    pay = entry(acct, "payment", -1000, on - dt.timedelta(days=5))
    rev = entry(acct, "reversal", 1000, on, reverses=pay)
    db.ReturnedPayment.create(payment=pay, account=acct.id, code="R01", returned_on=on, reversal=rev)


def test_the_worklist_lists_the_past_due_of_a_cycle_longest_first_with_history_and_flags(database, msr):
    prompt = factories.account(first="Prompt", bill_cycle=1)
    bill(prompt, 9000, D(2025, 12, 20), paid_on=D(2025, 12, 18))
    bill(prompt, 9500, D(2026, 1, 20))                                      # not yet due: not listed
    late = factories.account(first="Late", bill_cycle=1, landlord=True, medical_cert_until=D(2026, 2, 10))
    bill(late, 8000, D(2025, 10, 20), paid_on=D(2025, 10, 25))               # paid 5 days late
    bill(late, 8000, D(2025, 11, 20), paid_on=D(2025, 11, 20))               # on the day: on time
    bill(late, 7000, D(2025, 12, 20))                                        # unpaid: 26 days past due
    bill(late, 6000, D(2026, 1, 20))                                         # current
    returned(late, D(2025, 9, 1))
    returned(late, D(2024, 12, 1))                                           # over 12 months ago
    old = factories.account(first="Old", bill_cycle=1, cash_only_until=D(2026, 6, 1))
    bill(old, 5000, D(2025, 11, 10))
    bill(old, 5000, D(2025, 12, 10), paid_on=D(2025, 12, 1), paid=2000)
    other = factories.account(first="Elsewhere", bill_cycle=2)
    bill(other, 4000, D(2025, 11, 10))

    w = collections.worklist(msr, 1, AS_OF)
    assert [i.account_id for i in w.items] == [old.id, late.id]
    o, la = w.items
    assert o.aged == Aged(days_31_60=5000, days_61_90=3000) and o.days_past_due == 66
    assert o.flags == ("cash_only",) and o.late_12m == 2
    assert o.next_action == collections.NextAction("Disconnect notice (7 days)", AS_OF)
    assert la.aged == Aged(current=6000, days_1_30=7000) and la.past_due_cents == 7000
    assert la.oldest_due == D(2025, 12, 20) and la.days_past_due == 26
    assert la.next_action == collections.NextAction("Late fee", AS_OF)     # the next late-fee run charges it
    assert la.late_12m == 2 and la.returns_12m == 1 and la.last_payment == D(2025, 11, 20)
    assert la.flags == ("medical", "landlord") and la.phone == "2085550100"
    assert w.past_due_cents == 15000 and w.balance_cents == 21000
    assert [i.account_id for i in collections.worklist(msr, None, AS_OF).items] == [old.id, other.id, late.id]


def test_next_action_ladder():
    na = collections.next_action
    day = D(2026, 1, 15)
    due = D(2025, 11, 1)
    assert na("active", ("bankruptcy", "medical"), due, 75, day).what.startswith("Hold")
    assert na("active", (), due, 75, day, order=(500123, D(2026, 1, 20))) == \
        collections.NextAction("Disconnect order 500123", D(2026, 1, 20))
    assert na("disconnected", (), due, 75, day).what == "Reconnect when paid"
    # A final account: the write-off review write_off_after_days (90) after the final bill, as the write-off list.
    assert na("final", (), due, 75, day, final_bill_on=D(2025, 10, 18)) == \
        collections.NextAction("Collect the final bill", D(2026, 1, 16))
    assert na("final", (), due, 75, day, final_bill_on=D(2025, 10, 17)) == \
        collections.NextAction("Write-off review", day)
    assert na("active", (), D(2026, 1, 1), 14, day) == \
        collections.NextAction("Disconnect notice if unpaid", D(2026, 2, 1))
    assert na("active", ("medical",), due, 75, day, medical_until=D(2026, 2, 1)).on == D(2026, 2, 1)
    assert na("active", ("winter",), due, 75, day).what.startswith("Winter protection")
    assert na("active", ("winter",), due, 75, D(2026, 3, 15)).what == "Disconnect notice (7 days)"
    assert na("active", (), D(2026, 1, 1), 14, day, late_fee_on=day) == collections.NextAction("Late fee", day)
    assert na("active", (), due, 75, day, late_fee_on=day).what == "Disconnect notice (7 days)"


def test_an_open_disconnect_order_is_the_next_action_and_viewing_needs_an_operator_who_may(database, msr):
    a = factories.account(bill_cycle=3)
    bill(a, 12000, D(2025, 11, 10))
    db.ServiceOrder.create(order_no=500777, account=a.id, kind="disconnect_nonpay", due_date=D(2026, 1, 19))
    db.ServiceOrder.create(order_no=500778, account=a.id, kind="disconnect_nonpay", status="cancelled")
    (item,) = collections.worklist(msr, 3, AS_OF).items
    assert item.next_action == collections.NextAction("Disconnect order 500777", D(2026, 1, 19))
    assert collections.worklist(msr, 1, AS_OF).items == []
    with pytest.raises(PermissionDenied):
        collections.worklist(OperatorInfo(0, "x", "X", "nobody"), 3, AS_OF)
