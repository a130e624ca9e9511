"""A small billing cycle for the billing screens (cycle 1, period 2025-05: see
tests/services/billing_data.py): plain bills and one of each exception, names fixed so the
register looks the same every run."""
from __future__ import annotations

from decimal import Decimal

from kec_tui import db
from tests.services import billing_data as data

PERIOD = data.PERIOD


def cycle() -> dict[str, db.Account]:
    """Eight accounts of cycle 1 read for 2025-05 (one not read, one with nothing to estimate
    from) and one of cycle 2; the test rate file loaded."""
    data.load_rates()
    made = {f"plain{i}": data.account(kwh=700 + 25 * i, first="Plain", last=f"Reader{i}",
                                      street=f"{100 + i} Main St") for i in range(4)}
    made["high"] = data.account(kwh=2000, first="High", last="User", street="7 Hill Rd")
    made["zero"] = data.account(kwh=0, first="Zero", last="Use", street="8 Dark Ln")
    made["unread"] = data.account(kwh=None, first="Not", last="Read", street="9 Gate Rd")
    made["big"] = data.account(kwh=40000, history=30000, rate_class="LGS", demand_kw=Decimal("45.5"),
                               first="Big", last="Mill", street="1 Mill Rd")
    made["nothing"] = data.account(kwh=None, months=0, first="No", last="History", street="2 New Rd")
    made["other"] = data.account(kwh=800, cycle=2, first="Other", last="Cycle", street="3 Far Rd")
    return made


def bills_of_cycle(cycle_no: int = 1) -> list[tuple[int, int]]:
    """(account number, charged cents) of the bills written, by account."""
    B, A = db.Bill, db.Account
    return list(B.select(A.number, B.charged_cents).join(A, on=(B.account == A.id))
                .where(A.bill_cycle == cycle_no).order_by(A.number).tuples())


async def open_register(pilot, op) -> None:
    """The register of cycle 1's preview (whatever the database holds), as F1's tests want it."""
    from kec_tui.services import billing_run
    from tests.support.batch import press

    reg = billing_run.preview(op, 1, PERIOD)
    pilot.app.open("billing_register", reg.run.id)
    await press(pilot)


def a_line():
    """A register line to open the rebill dialog on."""
    from kec_tui.services.billing_register import RegisterLine

    return RegisterLine(1, 100010, "Ada Lovelace", "RES", "regular", 800, False, "", 10620, 10620, (), 1, "billed")
