"""The credit walkthroughs' members on the practice database (training only): made when a walkthrough
starts, a new one each time the last was used, never on a database without the practice mark.

  late      an active member with three bills unpaid past their due dates: the rules call for a deposit
  final     a final account whose final bill, 120 days old, is unpaid: on the write-off list
  filing    an active member owing two bills, who has filed for bankruptcy (the court's notice)
"""
from __future__ import annotations

import datetime as dt
import json

from kec_tui import db, money
from kec_tui.checkdigit import make_account_number
from kec_tui.services import audit, practice, search_index
from kec_tui.services.accounts import display_name

META = "training.credit"
PEOPLE = {"late": ("Rowan", "Teller", "418 E Sherman Ave"), "final": ("Quinn", "Harlan", "77 N 4th St"),
          "filing": ("Marta", "Oyelaran", "2290 W Prairie Ave")}


class NotPractice(RuntimeError):
    pass


def _used(kind: str, account_id: int) -> bool:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        return True
    if kind == "late":
        return db.Deposit.select().where(db.Deposit.account == a.id).exists()
    if kind == "final":
        return db.WriteOff.select().where(db.WriteOff.account == a.id).exists()
    return db.BankruptcyCase.select().where(db.BankruptcyCase.account == a.id).exists()


def _make(kind: str, n: int, today: dt.date) -> db.Account:
    A, M, L, LE, Me = db.Account, db.Member, db.ServiceLocation, db.LedgerEntry, db.Meter
    first, last, street = PEOPLE[kind]
    member = M.create(member_no=db.next_number(M.member_no), first_name=first,
                      last_name=f"{last}{'' if n == 1 else n}", tax_id_last4=f"{4400 + n:04d}"[-4:],
                      birth_date=dt.date(1981, 6, 9), phone_mobile="2086670143", mail_street=street,
                      mail_city="Coeur d'Alene", mail_zip="83814", joined=today - dt.timedelta(days=700))
    loc = L.create(location_no=db.next_number(L.location_no), street=street, city="Coeur d'Alene", zip="83814",
                   map_location="T50N R4W S14")
    meter_no = next(no for no in (f"{p}{loc.location_no:07d}"[-9:] for p in range(38, 99))
                    if not Me.select().where(Me.meter_no == no).exists())
    meter = Me.create(meter_no=meter_no, location=loc, installed=today - dt.timedelta(days=2000))
    final = kind == "final"
    a = A.create(number=make_account_number(db.next_number(A.number)), member=member, location=loc, meter=meter,
                 status="final" if final else "active", opened=today - dt.timedelta(days=700),
                 closed=today - dt.timedelta(days=120) if final else None)
    days = {"late": (100, 70, 40), "final": (180, 150, 120), "filing": (45, 15)}[kind]
    for i, ago in enumerate(days):
        day = today - dt.timedelta(days=ago)
        LE.create(account=a, effective=day, kind="bill", amount_cents=11_800 + 900 * i,
                  description="Final bill" if final and ago == days[-1] else "Electric service",
                  due_date=day + dt.timedelta(days=20))
        db.Reading.create(account=a, meter=meter, read_date=day, reading=4000 + 900 * i, kwh=900)
    search_index.reindex_account(a.id)
    audit.record(None, "practice.scenario", "account", a.id, account_id=a.id, after=f"training: credit ({kind})")
    return a


def ensure_scenario(kind: str) -> dict:
    """The practice member for walkthrough `kind` (a fresh one when the last was used), as text for the steps."""
    if db.get_meta(practice.PRACTICE_META) != "1":
        raise NotPractice("Credit scenarios are made on the practice database only")
    today = dt.date.today()
    stored = json.loads(db.get_meta(META) or "{}")
    with db.write_txn():
        aid = stored.get(kind)
        if aid is None or _used(kind, aid):
            n = stored.get(f"{kind}_n", 0) + 1
            aid = _make(kind, n, today).id
            stored.update({kind: aid, f"{kind}_n": n})
            db.set_meta(META, json.dumps(stored))
    a = db.Account.get_by_id(aid)
    m = db.Member.get_by_id(a.member_id)
    owed = int(db.LedgerEntry.select(db.pw.fn.SUM(db.LedgerEntry.amount_cents))
               .where(db.LedgerEntry.account == a.id).scalar() or 0)
    return {"account_id": a.id, "number": a.number, "name": display_name(m.first_name, m.last_name),
            "owed": money.fmt_dollars(owed), "owed_cents": owed, "sup_user": "super",
            "sup_password": practice.PRACTICE_PASSWORD, "today": today}
