"""The words an account can be found by, normalized to [a-z0-9] so one prefix
range on one index answers every kind of search."""
from __future__ import annotations

import re
import unicodedata

from kec_tui import db

NAME, ADDRESS, PHONE, EMAIL, METER, ACCOUNT = 1, 2, 3, 4, 5, 6
KIND_LABELS = {NAME: "name", ADDRESS: "address", PHONE: "phone", EMAIL: "email", METER: "meter", ACCOUNT: "account"}

# Street words too common to find anyone by; typing them narrows nothing.
STOP_WORDS = frozenset("n s e w ne nw se sw st ave rd dr ln ct way hwy blvd pl loop trl cir and the of".split())
_SPLIT = re.compile(r"[^a-z0-9]+")
MAX_TERM = 64
UPPER = "{"  # sorts after every [a-z0-9]: term < prefix + UPPER closes a prefix range


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def words(text: str) -> list[str]:
    return [w[:MAX_TERM] for w in _SPLIT.split(fold(text)) if w]


def email_term(email: str) -> str:
    return "".join(words(email))[:MAX_TERM]


def phone_terms(phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 10:
        return [digits, digits[3:]]  # callers often give only the local seven
    return [digits] if digits else []


def terms_for(*, first_name: str, last_name: str, street: str, phones: list[str], email: str,
              meter_no: str | None, account_number: int) -> dict[str, int]:
    """term -> kind for one account (a term found two ways keeps the first kind)."""
    out: dict[str, int] = {}

    def add(term: str, kind: int) -> None:
        if term and term not in out:
            out[term] = kind

    add(str(account_number), ACCOUNT)
    for w in words(f"{first_name} {last_name}"):
        add(w, NAME)
    for w in words(street):
        if w not in STOP_WORDS:
            add(w, ADDRESS)
    for p in phones:
        for t in phone_terms(p):
            add(t, PHONE)
    add(email_term(email), EMAIL)
    if meter_no:
        add("".join(words(meter_no)), METER)
    return out


def reindex_account(account_id: int) -> None:
    """Rewrite one account's terms (after a contact or address change), in the caller's transaction."""
    a = (db.Account.select(db.Account, db.Member, db.ServiceLocation, db.Meter)
         .join(db.Member).switch(db.Account).join(db.ServiceLocation)
         .switch(db.Account).join(db.Meter, db.pw.JOIN.LEFT_OUTER)
         .where(db.Account.id == account_id).get())
    m = a.member
    terms = terms_for(first_name=m.first_name, last_name=m.last_name, street=a.location.street,
                      phones=[m.phone_home, m.phone_mobile, m.phone_work], email=m.email,
                      meter_no=a.meter.meter_no if a.meter_id else None, account_number=a.number)
    db.SearchTerm.delete().where(db.SearchTerm.account == account_id).execute()
    db.SearchTerm.insert_many([(t, account_id, k) for t, k in terms.items()],
                              fields=[db.SearchTerm.term, db.SearchTerm.account, db.SearchTerm.kind]).execute()


def reindex_member(member_id: int) -> None:
    for (account_id,) in db.Account.select(db.Account.id).where(db.Account.member == member_id).tuples():
        reindex_account(account_id)
