"""Statements made by hand (no database): deterministic text for the statement snapshot
and the rendered-page checks. `typical` is a plain month; `crowded` fills every part of
the page (a rate change mid-period, budget billing, six payments and fees, every message)."""
from __future__ import annotations

import datetime as dt

from kec_tui.checkdigit import make_scan_line
from kec_tui.services.bill_calc import Line
from kec_tui.services.statements import Activity, Statement

USAGE = (("01/25", 1412), ("02/25", 1288), ("03/25", 1010), ("04/25", 845), ("05/25", 702), ("06/25", 911),
         ("07/25", 1380), ("08/25", 1466), ("09/25", 980), ("10/25", 760), ("11/25", 1104), ("12/25", 1530),
         ("01/26", 1234))


def typical() -> Statement:
    lines = (Line("customer", "Service availability charge", "1 mo", "$25.00/mo", 2500),
             Line("energy", "Energy, first 1,000 kWh (winter)", "1,000 kWh", "$0.091230/kWh", 9123),
             Line("energy", "Energy, over 1,000 kWh (winter)", "234 kWh", "$0.104500/kWh", 2445),
             Line("pca", "Power cost adjustment", "1,234 kWh", "$0.003100/kWh", 383))
    charges = sum(ln.amount_cents for ln in lines)
    return Statement(
        bill_id=1, account_number=123457, name="Ada Lovelace", mail_lines=("12 Analytical Way", "Hayden, ID 83835"),
        service_address="12 Analytical Way, Hayden", meter_no="M0012345", statement_date=dt.date(2026, 1, 3),
        due_date=dt.date(2026, 1, 23), period_start=dt.date(2025, 12, 1), period_end=dt.date(2026, 1, 1),
        schedule="RES", prev_reading=40_112, reading=41_346, multiplier=1, kwh=1234, estimated=False, lines=lines,
        previous_balance_cents=10_412, payments_cents=-10_412, other_cents=0,
        activity=(Activity(dt.date(2025, 12, 18), "Payment, check 1042", -10_412),),
        current_cents=charges, amount_due_cents=charges, usage=USAGE,
        messages=("Questions about your bill? Call us; we are glad to explain every line.",),
        scan_line=make_scan_line(123457, charges), paperless=False, charges_cents=charges)


def crowded() -> Statement:
    lines = (
        Line("customer", "Service availability charge (12/01-01/01)", "0.9688 mo", "$25.00/mo, 31 of 32 days", 2422),
        Line("energy", "Energy, first 1,000 kWh (12/01-01/01)", "969 kWh", "$0.098000/kWh", 9496),
        Line("energy", "Energy, over 1,000 kWh (12/01-01/01)", "226 kWh", "$0.098000/kWh", 2215),
        Line("customer", "Service availability charge (01/01-01/02)", "0.0312 mo", "$25.00/mo, 1 of 32 days", 78),
        Line("energy", "Energy, first 1,000 kWh (winter) (01/01-01/02)", "31 kWh", "$0.091230/kWh", 283),
        Line("energy", "Energy, over 1,000 kWh (winter) (01/01-01/02)", "8 kWh", "$0.104500/kWh", 84),
        Line("pca", "Power cost adjustment (01/01-01/02)", "39 kWh", "$0.003100/kWh", 12),
        Line("netmeter", "Net metering credit", "412 kWh", "-$0.091230/kWh", -3759),
        Line("fee", "Coeur d'Alene franchise fee", "$107.31", "3.0%", 322),
    )
    charges = sum(ln.amount_cents for ln in lines)
    activity = (Activity(dt.date(2025, 12, 5), "Payment, check 1042", -5_000),
                Activity(dt.date(2025, 12, 9), "Returned check 1042: insufficient funds", 5_000),
                Activity(dt.date(2025, 12, 9), "Returned check fee", 2_500),
                Activity(dt.date(2025, 12, 15), "Late fee on the balance past due", 750),
                Activity(dt.date(2025, 12, 20), "Energy assistance credit (LIHEAP), Panhandle Community Action",
                         -12_000),
                Activity(dt.date(2025, 12, 28), "Payment by card ending 4242", -3_000))
    payments = -5_000 - 3_000
    other = 5_000 + 2_500 + 750 - 12_000
    previous = 21_877
    current = 11_600  # the budget amount
    due = previous + payments + other + current
    return Statement(
        bill_id=2, account_number=9876543214, name="Bartholomew Alexander Featherstonehaugh-Worthington",
        mail_lines=("C/O Margaret Featherstonehaugh, 10150 N Government Way Apt 1207", "Coeur d'Alene, ID 83815-4321"),
        service_address="10150 N Government Way Apt 1207, Coeur d'Alene", meter_no="AMI-0098765432",
        statement_date=dt.date(2026, 1, 3), due_date=dt.date(2026, 1, 23), period_start=dt.date(2025, 12, 1),
        period_end=dt.date(2026, 1, 2), schedule="RES", prev_reading=None, reading=1_041_346, multiplier=40,
        kwh=1234, estimated=True, lines=lines, previous_balance_cents=previous, payments_cents=payments,
        other_cents=other, activity=activity, current_cents=current, amount_due_cents=due, usage=USAGE,
        messages=("Your meter was not read this month: this bill is estimated from your recent use. "
                  "The next reading corrects it.",
                  f"Your account shows ${(previous + payments + other) / 100:,.2f} past due. Please pay it now to "
                  "avoid a late fee; payment arrangements are available.",
                  "Budget billing: you pay $116.00 this month; your charges were $111.53. "
                  "The difference is settled once a year.",
                  "You sent 412 kWh to the grid this period: thank you.",
                  "Questions about your bill? Call us; we are glad to explain every line."),
        scan_line=make_scan_line(9876543214, due), paperless=True, email="bart@example.com", charges_cents=charges)
