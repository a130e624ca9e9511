"""Why collection is held on an account on a day: the one place the late-fee run, the notice
run, the disconnect order and the worklist ask.

Each reason is a short key:
  "bankruptcy"   the account is in bankruptcy: no notices, late fees or disconnects
  "medical"      a medical certificate in force: no disconnection
  "winter"       a winter-protected household, December through February: no disconnection
  "arrangement"  a kept payment arrangement: no late fee, no notice, a pending disconnect cancelled
  "pledge"       an energy-assistance pledge within its hold days: a pending disconnect held

Callers decide what a reason stops (DISCONNECT_HOLDS, FEE_HOLDS, NOTICE_HOLDS below).
Whether an arrangement is kept is services/arrangements.py's rule (installments and new bills
paid within the grace); a pledge holds while pending, for `pledge_hold_days` from the day
pledged, never past its expiry (services/assistance.py).
"""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.services import arrangements, assistance

WINTER_MONTHS = (12, 1, 2)
DISCONNECT_HOLDS = frozenset({"bankruptcy", "medical", "winter", "arrangement", "pledge"})
FEE_HOLDS = frozenset({"bankruptcy", "arrangement", "pledge"})
NOTICE_HOLDS = frozenset({"bankruptcy", "arrangement"})


def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def holds(account_ids: list[int], on: dt.date) -> dict[int, set[str]]:
    """The reasons collection is held on each of these accounts on the day (accounts with none are left out)."""
    A = db.Account
    out: dict[int, set[str]] = {}
    for part in _chunks(list(account_ids)):
        q = (A.select(A.id, A.bankruptcy, A.medical_cert_until, A.winter_protection_until, A.rate_class)
             .where(A.id.in_(part)).tuples())
        for aid, bk, med, winter, rate_class in q:
            med, winter = db.as_date(med), db.as_date(winter)
            reasons = set()
            if bk:
                reasons.add("bankruptcy")
            if med is not None and med >= on:
                reasons.add("medical")
            if rate_class == "RES" and on.month in WINTER_MONTHS and winter is not None and winter >= on:
                reasons.add("winter")
            if reasons:
                out[aid] = reasons
    for reason, accounts in (("arrangement", arrangements.kept_accounts(account_ids, on)),
                             ("pledge", assistance.holding_accounts(account_ids, on))):
        for aid in accounts:
            out.setdefault(aid, set()).add(reason)
    return out


def held(account_id: int, on: dt.date) -> set[str]:
    """The reasons collection is held on one account on the day (empty: none)."""
    return holds([account_id], on).get(account_id, set())
