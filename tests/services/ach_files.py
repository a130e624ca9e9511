"""Bank-side NACHA files for tests: returns (addenda 99) and notifications of change (addenda 98),
built record by record as a bank would send them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kec_tui.services.nacha import BLOCK, PAD_LINE, _a, _n, entry_hash


@dataclass(frozen=True)
class Item:
    original_trace: str
    code: str                       # R01 ... or C01 ...
    amount_cents: int = 0
    routing: str = "091000019"
    account: str = "1234567"
    individual_id: str = ""
    name: str = "MEMBER"
    corrected: str = ""             # 98: the corrected data (29)


def bank_file(items: list[Item], *, created: dt.datetime = dt.datetime(2025, 2, 3, 9, 30),
              control_debit_delta: int = 0, sec: str | None = None) -> str:
    """One batch (PPD returns, or COR changes when every code is a C-code); controls computed, the
    batch control's debit total off by `control_debit_delta` when asked (a bad file)."""
    cor = all(i.code.startswith("C") for i in items)
    sec = sec or ("COR" if cor else "PPD")
    lines = ["1" + "01" + " 182000000" + " 091000019" + created.strftime("%y%m%d%H%M") + "A094101"
             + _a("KOOTENAI ELECTRIC", 23) + _a("FIRST BANK", 23) + _a("", 8),
             "5" + "200" + _a("KOOTENAI ELEC", 16) + _a("", 20) + _a("1820000000", 10) + sec
             + _a("AUTOPAY", 10) + _a("", 6) + created.strftime("%y%m%d") + "   " + "1" + "09100001"
             + _n(1, 7)]
    debit = credit = 0          # a COR entry's amount is zero
    for k, i in enumerate(items, start=1):
        tx = "21" if cor else "26"
        debit += i.amount_cents
        lines.append("6" + tx + i.routing + _a(i.account, 17) + _n(i.amount_cents, 10) + _a(i.individual_id, 15)
                     + _a(i.name, 22) + "  " + "1" + f"09100001{k:07d}")
        if cor:
            lines.append("7" + "98" + i.code + i.original_trace + " " * 6 + i.routing[:8] + _a(i.corrected, 29)
                         + " " * 15 + f"09100001{k:07d}")
        else:
            lines.append("7" + "99" + i.code + i.original_trace + " " * 6 + i.routing[:8] + _a("", 44)
                         + f"09100001{k:07d}")
    count = 2 * len(items)
    ehash = entry_hash(i.routing for i in items)
    lines.append("8" + "200" + _n(count, 6) + _n(ehash, 10) + _n(debit + control_debit_delta, 12) + _n(credit, 12)
                 + _a("1820000000", 10) + " " * 25 + "09100001" + _n(1, 7))
    records = len(lines) + 1
    blocks = -(-records // BLOCK)
    lines.append("9" + _n(1, 6) + _n(blocks, 6) + _n(count, 8) + _n(ehash, 10) + _n(debit + control_debit_delta, 12)
                 + _n(credit, 12) + " " * 39)
    lines += [PAD_LINE] * (blocks * BLOCK - records)
    assert all(len(line) == 94 for line in lines), [len(line) for line in lines]
    return "\n".join(lines) + "\n"
