"""The figures of the credit rules (deposits, write-offs, collection agencies, bankruptcy), from
the settings: `deposit_late_bills`, `deposit_returned_payments`, `deposit_max_installments`,
`deposit_interest_percent`, `deposit_refund_months`, `write_off_after_days`, `collection_agency`,
`agency_commission_percent`, `bankruptcy_assurance_days` (the deposit amount itself is the fee
schedule's `deposit_months` x the average bill, or `deposit_flat_cents`: fees.py). The application
calls `configure(settings)` at start; until then the defaults apply. Percentages are Decimal from
text, never float."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kec_tui import config


@dataclass(frozen=True)
class Rules:
    deposit_late_bills: int = 2
    deposit_returned_payments: int = 1
    deposit_max_installments: int = 3
    deposit_interest_percent: Decimal = Decimal("0")
    deposit_refund_months: int = 12
    write_off_after_days: int = 90
    collection_agency: str = "Collection agency"
    agency_commission_percent: Decimal = Decimal("30")
    bankruptcy_assurance_days: int = 20


def rules_from(s: config.Settings) -> Rules:
    return Rules(s.deposit_late_bills, s.deposit_returned_payments, s.deposit_max_installments,
                 Decimal(str(s.deposit_interest_percent)), s.deposit_refund_months, s.write_off_after_days,
                 s.collection_agency.strip() or "Collection agency", Decimal(str(s.agency_commission_percent)),
                 s.bankruptcy_assurance_days)


_rules = rules_from(config.Settings())


def configure(s: config.Settings) -> Rules:
    global _rules
    _rules = rules_from(s)
    return _rules


def rules() -> Rules:
    return _rules


def use(r: Rules) -> Rules:
    """Tests: put these rules in force; returns the ones before."""
    global _rules
    before, _rules = _rules, r
    return before


def percent_of(cents: int, percent: Decimal) -> int:
    """`percent` % of `cents`, half-up to the cent."""
    return int((Decimal(cents) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))
