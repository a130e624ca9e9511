"""The round trip: bill a cycle of the demo co-op, take each statement's scan line, key
them as a scanner would into a payment batch (services.batches.scan_to_entry, key_line),
every other stub as its barcode's digits (the pad 0 in front), post it; every account
billed owes nothing, so those that were paid up before billing are back to the balance
they had."""
import datetime as dt

from kec_tui import db
from kec_tui.checkdigit import barcode_digits
from kec_tui.demo import build_demo
from kec_tui.services import accounts, batches, billing_run, operators, rates, statements
from tests.services import billing_data as data

TODAY = dt.date(2026, 2, 28)          # cycle 1 billed 02/03 and due 02/23: most members have paid


def test_bill_a_cycle_then_pay_every_stub_by_its_scan_line(database):
    build_demo(accounts=80, months=13, seed=4, today=TODAY)
    rates.load_file(None)                                       # the shipped rate file
    biller = operators.create("bill1", "Bea Biller", "billing")
    boss = operators.create("boss", "Sam Boss", "supervisor")
    keyer = operators.create("keyer", "Kay Keyer", "msr")
    assert data.read_cycle(1, dt.date(2026, 3, 1)) > 5
    ids = [a for (a,) in db.Account.select(db.Account.id).where(db.Account.bill_cycle == 1).tuples()]
    before = {a: accounts.balance(a) for a in ids}

    reg = billing_run.preview(biller, 1, "2026-03")
    assert reg.bills and not reg.not_billed
    billing_run.approve(boss, reg.run.id)
    run = billing_run.commit(biller, reg.run.id)
    assert run.bill_count == len(reg.bills)

    stubs = []
    for bill_id in billing_run.bills_of_run(run.id):
        s = statements.build(bill_id)
        if s.amount_due_cents > 0:
            stubs.append(s)
    assert len(stubs) >= len(reg.bills) - 2
    batch = batches.open_batch(keyer, "check", len(stubs), sum(s.amount_due_cents for s in stubs))
    for i, s in enumerate(stubs):
        read = barcode_digits(s.scan_line) if i % 2 else s.scan_line  # an OCR read, or the barcode's digits
        scan = batches.scan_to_entry(read)                      # what the scanner typed, then Enter
        batches.key_line(keyer, batch.id, str(scan.account_number), scan.amount_cents, "", "scanned",
                         ack=("cash_only",))                    # a cash-only member's check is accepted here
    result = batches.post_batch(keyer, batch.id)
    assert result.entries == len(stubs)

    billed = {b.account_id: b for b in reg.bills}
    paid_up = 0
    for a in ids:
        after = accounts.balance(a)
        if a not in billed:
            assert after == before[a]
        elif before[a] + billed[a].total_cents > 0:
            assert after == 0, a                                 # the stub paid the whole amount due
            paid_up += before[a] == 0
        else:
            assert after == before[a] + billed[a].total_cents   # a credit covered the bill: no stub to pay
    assert paid_up >= len(stubs) // 2                           # most were paid up: back where they were
