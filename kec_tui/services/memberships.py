"""New memberships and accounts: the applicant, the bad-debt audit, deposit,
membership fee, landlord / owner, account number and the connect order.

The tax ID is never stored or logged whole: the member keeps its last 4 and a
keyed hash (sha256 of this database's secret salt + the 9 digits, the same
key the demo builder writes), so an earlier member can be matched by the full
number without anyone being able to read it back.

The bad-debt audit searches earlier memberships by name, tax-ID last 4, date
of birth, phone and prior addresses (service locations of their accounts and
mailing addresses). Each hit is one account of a matched member, with the
criteria it matched, its unpaid final balance and its write-offs. A hit that
owes money (an unpaid final balance or a write-off) must be acknowledged by
the MSR; a *strong* one (matched by the full tax ID, a phone or an address, or
by two criteria or more) also needs a supervisor's override with a reason.
Name, birth date or last 4 alone are shared by strangers: they are shown and
acknowledged, not blocking.

A hit with the same full tax ID and birth date is the applicant, back again: the
new account is opened for that member (no second membership, no second fee).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from peewee import Case, fn

from kec_tui import db, money
from kec_tui.checkdigit import make_account_number
from kec_tui.services import audit, card_numbers, contacts, fees, orders, search_index as si
from kec_tui.services.accounts import display_name, format_phone
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

TAX_ID_SALT_KEY = "tax_id_salt"        # the demo builder stores it under the same key
FINAL_STATUSES = ("final", "closed")
STRONG_CRITERIA = ("tax_id", "phone", "address")
CRITERIA_LABELS = {"name": "name", "tax_id": "tax ID", "tax_id_last4": "tax ID last 4",
                   "birth_date": "date of birth", "phone": "phone", "address": "prior address"}
MAX_AUDIT_MEMBERS = 100
MIN_AGE = 18
RATE_CLASSES = db.RATE_CLASSES           # the rate classes an account may be opened on

_STREET_WORDS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "lane": "ln",
    "court": "ct", "boulevard": "blvd", "place": "pl", "highway": "hwy", "circle": "cir", "trail": "trl",
    "parkway": "pkwy", "terrace": "ter", "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw", "apartment": "apt",
    "unit": "apt", "number": "apt",
}


class BadDebtHold(ServiceError):
    """The bad-debt audit found an earlier account that owes: acknowledge it, and for a
    strong hit bring a supervisor's override. `audit` holds the hits to show."""

    def __init__(self, message: str, found: "BadDebtAudit"):
        super().__init__(message, "bad_debt")
        self.audit = found


# ---- dataclasses ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Applicant:
    first_name: str
    last_name: str                   # or the business name
    tax_id: str = ""                 # as keyed: 9 digits, or just the last 4; never stored whole
    birth_date: dt.date | None = None
    phone_home: str = ""
    phone_mobile: str = ""
    phone_work: str = ""
    email: str = ""
    mail_street: str = ""            # blank: the service address
    mail_city: str = ""
    mail_state: str = "ID"
    mail_zip: str = ""
    preferred_contact: str = "phone"
    prior_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Landlord:
    """The owner of a rental service location."""

    owner_name: str
    owner_phone: str = ""


@dataclass(frozen=True)
class Override:
    """A supervisor's override of a bad-debt hit: who, and why."""

    supervisor: OperatorInfo
    reason: str


@dataclass(frozen=True)
class AuditHit:
    member_id: int
    member_no: int
    name: str
    account_id: int
    account_number: int
    status: str
    service_address: str
    closed: dt.date | None
    matched: tuple[str, ...]         # keys of CRITERIA_LABELS
    balance_cents: int
    unpaid_final_cents: int          # the balance of a final/closed account still owed
    written_off_cents: int           # bad debt written off (positive)

    @property
    def owed_cents(self) -> int:
        return self.unpaid_final_cents + self.written_off_cents

    @property
    def strong(self) -> bool:
        return any(c in STRONG_CRITERIA for c in self.matched) or len(self.matched) >= 2

    @property
    def blocking(self) -> bool:
        """Needs a supervisor's override to open an account."""
        return self.owed_cents > 0 and self.strong

    def describe(self) -> str:
        owed = []
        if self.unpaid_final_cents:
            owed.append(f"unpaid final balance {money.fmt_dollars(self.unpaid_final_cents)}")
        if self.written_off_cents:
            owed.append(f"written off {money.fmt_dollars(self.written_off_cents)}")
        return (f"account {self.account_number} ({self.name}, {self.status}) matched by "
                f"{', '.join(CRITERIA_LABELS[c] for c in self.matched)}"
                + (f": {'; '.join(owed)}" if owed else ""))


@dataclass(frozen=True)
class BadDebtAudit:
    hits: list[AuditHit]

    @property
    def owing(self) -> list[AuditHit]:
        return [h for h in self.hits if h.owed_cents > 0]

    @property
    def blocking(self) -> list[AuditHit]:
        return [h for h in self.hits if h.blocking]

    @property
    def owed_cents(self) -> int:
        return sum(h.owed_cents for h in self.owing)

    @property
    def returning(self) -> AuditHit | None:
        """An earlier member with the same full tax ID and birth date: the applicant is that member,
        back again. The new account is theirs (no second membership, no second fee)."""
        return next((h for h in self.hits if {"tax_id", "birth_date"} <= set(h.matched)), None)

    def none_owes(self) -> str:
        """Which earlier accounts match, when none of them owes."""
        named = "; ".join(h.describe() for h in self.hits[:3]) + (" ..." if len(self.hits) > 3 else "")
        return f"{len(self.hits)} earlier account(s) match, none owes: {named}"

    def summary(self) -> str:
        if not self.hits:
            return "Bad-debt audit: no earlier membership matches"
        if not self.owing:
            return f"Bad-debt audit: {self.none_owes()}"
        return (f"Bad-debt audit: {len(self.owing)} earlier account(s) owe {money.fmt_dollars(self.owed_cents)}: "
                + "; ".join(h.describe() for h in self.owing[:3]) + (" ..." if len(self.owing) > 3 else ""))


@dataclass(frozen=True)
class DepositQuote:
    amount_cents: int
    basis: str
    average_bill_cents: int | None = None
    bills: int = 0


@dataclass(frozen=True)
class LocationInfo:
    id: int
    location_no: int
    address: str
    map_location: str
    owner: str
    meter_no: str
    in_service_account: int | None        # number of the account in service there, if any
    in_service_name: str = ""
    in_service_status: str = ""


@dataclass(frozen=True)
class OpenedAccount:
    account_id: int
    account_number: int
    member_id: int
    member_no: int
    new_member: bool
    status: str
    deposit_cents: int
    deposit_basis: str
    membership_fee_cents: int
    connect_order_no: int
    audit: BadDebtAudit
    overridden_by: str = ""
    ledger_entries: list[int] = field(default_factory=list)


# ---- tax IDs ------------------------------------------------------------------------------------

def clean_tax_id(text: str) -> tuple[str | None, str | None]:
    """(last 4, the 9 digits or None) of a keyed tax ID (SSN or EIN, dashes allowed)."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    if not (text or "").strip():
        return None, None
    if any(not (ch.isdigit() or ch in "- ") for ch in text.strip()):
        raise ValidationError("Tax ID: digits only, like 123-45-6789 (or the last 4)", "tax_id")
    if len(digits) == 4:
        return digits, None
    if len(digits) != 9:
        raise ValidationError(f"Tax ID: 9 digits, or the last 4 (got {len(digits)})", "tax_id")
    if digits == "0" * 9 or digits[:3] == "000":
        raise ValidationError("Tax ID: not a valid number", "tax_id")
    return digits[-4:], digits


def _salt(create: bool) -> str | None:
    salt = db.get_meta(TAX_ID_SALT_KEY)
    if salt is None and create:
        db.Meta_.insert(key=TAX_ID_SALT_KEY, value=secrets.token_hex(16)).on_conflict_ignore().execute()
        salt = db.get_meta(TAX_ID_SALT_KEY)
    return salt


def tax_id_hash(digits: str, *, create_salt: bool = False) -> str | None:
    """The stored match key of a full tax ID, or None (no salt yet, nothing to match)."""
    salt = _salt(create_salt)
    if salt is None:
        return None
    return hash_tax_id(salt, digits)


def hash_tax_id(salt: str, digits: str) -> str:
    """The match key of a tax ID's digits under a salt (the demo builder stores the same)."""
    return hashlib.sha256((salt + digits).encode()).hexdigest()


# ---- the bad-debt audit ----------------------------------------------------------------------------

def street_key(address: str) -> str:
    """A street address folded for comparison: '1234 North Government Way, CdA' ->
    '1234 n government way'."""
    street = (address or "").split(",")[0]
    return " ".join(_STREET_WORDS.get(w, w) for w in si.words(street))


def _name_words(name: str | tuple[str, str]) -> list[str]:
    if isinstance(name, tuple):
        name = " ".join(name)
    return sorted(si.words(name or ""))


def _phones(phone: str | Iterable[str] | None) -> list[str]:
    if not phone:
        return []
    items = [phone] if isinstance(phone, str) else list(phone)
    out = []
    for p in items:
        digits = contacts.normalize_phone(p or "")
        if digits.isdigit() and len(digits) == 10:
            out.append(digits)
    return sorted(set(out))


def _streets_like(column, addresses: list[str]):
    """Rows of `column` that may be one of the addresses: same house number (or the same
    text when there is none); the caller compares street_key."""
    cond = None
    for addr in addresses:
        key = street_key(addr)
        first = key.split(" ")[0] if key else ""
        if first.isdigit():
            c = column.startswith(first + " ")
        else:
            c = fn.LOWER(column) == addr.split(",")[0].strip().lower()
        cond = c if cond is None else cond | c
    return cond


def _audit(*, name_words: list[str], last4: str | None, hash_: str | None, birth_date: dt.date | None,
           phones: list[str], addresses: list[str], location_id: int | None = None) -> BadDebtAudit:
    M, L, A = db.Member, db.ServiceLocation, db.Account
    if location_id is not None:
        # The new service address is not a prior address: whoever lived there before is
        # the previous occupant, not the applicant.
        loc = db.ServiceLocation.get_or_none(db.ServiceLocation.id == location_id)
        here = street_key(loc.street) if loc else ""
        addresses = [a for a in addresses if street_key(a) != here]
    found: dict[int, set[str]] = {}
    not_same: set[int] = set()

    def add(member_ids, criterion):
        for mid in member_ids:
            found.setdefault(mid, set()).add(criterion)

    if name_words:
        phrases = {" ".join(name_words[i:j]) for i in range(len(name_words)) for j in range(i + 1, len(name_words) + 1)}
        # The words of the name in any order: try each run of them as the last name, compare all.
        rows = (M.select(M.id, M.first_name, M.last_name).where(fn.LOWER(M.last_name).in_(sorted(phrases)))
                .limit(MAX_AUDIT_MEMBERS * 5).tuples())
        add([mid for mid, f, l_ in rows if sorted(si.words(f"{f} {l_}")) == name_words], "name")
    if last4:
        for mid, h in M.select(M.id, M.tax_id_hash).where(M.tax_id_last4 == last4).limit(MAX_AUDIT_MEMBERS).tuples():
            if hash_ and h:
                if h == hash_:
                    add([mid], "tax_id")
                else:
                    not_same.add(mid)          # same last 4, another person's number
            else:
                add([mid], "tax_id_last4")
    if birth_date:
        add([mid for (mid,) in M.select(M.id).where(M.birth_date == birth_date).limit(MAX_AUDIT_MEMBERS).tuples()],
            "birth_date")
    if phones:
        add([mid for (mid,) in M.select(M.id).where(M.phone_home.in_(phones) | M.phone_mobile.in_(phones)
                                                    | M.phone_work.in_(phones)).limit(MAX_AUDIT_MEMBERS).tuples()],
            "phone")
    keys = {street_key(a) for a in addresses if street_key(a)}
    if keys:
        addrs = [a for a in addresses if street_key(a)]
        rows = (A.select(A.member, L.street).join(L, on=(A.location == L.id))
                .where(_streets_like(L.street, addrs)).limit(MAX_AUDIT_MEMBERS * 5).tuples())
        add([mid for mid, street in rows if street_key(street) in keys], "address")
        rows = M.select(M.id, M.mail_street).where(_streets_like(M.mail_street, addrs)).limit(MAX_AUDIT_MEMBERS * 5)
        add([mid for mid, street in rows.tuples() if street_key(street) in keys], "address")
    for mid in not_same:           # a different full tax ID outweighs a name or a birthday
        if mid in found and not found[mid] & {"phone", "address"}:
            found.pop(mid)
    if not found:
        return BadDebtAudit([])
    ranked = sorted(found, key=lambda m: (-len(found[m]), m))[:MAX_AUDIT_MEMBERS]
    LE = db.LedgerEntry
    rows = list(A.select(A.id, A.number, A.status, A.closed, A.member, M.member_no, M.first_name, M.last_name,
                         L.street, L.city)
                .join(M, on=(A.member == M.id)).switch(A).join(L, on=(A.location == L.id))
                .where(A.member.in_(ranked)).tuples())
    sums = {aid: (int(bal or 0), -int(wo or 0)) for aid, bal, wo in
            LE.select(LE.account, fn.SUM(LE.amount_cents),
                      fn.SUM(Case(None, [(LE.kind == "writeoff", LE.amount_cents)], 0)))
            .where(LE.account.in_([r[0] for r in rows])).group_by(LE.account).tuples()} if rows else {}
    hits = []
    for aid, number, status, closed, mid, member_no, first, last, street, city in rows:
        bal, wo = sums.get(aid, (0, 0))
        matched = tuple(c for c in CRITERIA_LABELS if c in found[mid])
        hits.append(AuditHit(mid, member_no, display_name(first, last), aid, number, status, f"{street}, {city}",
                             closed, matched, bal, bal if status in FINAL_STATUSES and bal > 0 else 0, max(wo, 0)))
    hits.sort(key=lambda h: (not h.blocking, not h.owed_cents, -len(h.matched), -h.owed_cents, h.account_number))
    return BadDebtAudit(hits)


def bad_debt_audit(name: str | tuple[str, str], tax_id_last4: str | None = None, birth_date: dt.date | None = None,
                   phone: str | Iterable[str] | None = None, prior_addresses: Iterable[str] = (), *,
                   tax_id: str | None = None, location_id: int | None = None) -> BadDebtAudit:
    """Search earlier memberships for the applicant. `name` is 'First Last' (any order)
    or (first, last); `tax_id` (the full number, optional) tells apart two people with
    the same last 4 when the earlier member's keyed hash is on file; `location_id`, the
    location applied for, is not counted as a prior address."""
    last4, full = clean_tax_id(tax_id) if tax_id else (None, None)
    last4 = last4 or ((tax_id_last4 or "").strip() or None)
    if last4 is not None and not (last4.isdigit() and len(last4) == 4):
        raise ValidationError("Tax ID last 4: four digits", "tax_id")
    return _audit(name_words=_name_words(name), last4=last4, hash_=tax_id_hash(full) if full else None,
                  birth_date=birth_date, phones=_phones(phone), addresses=[a for a in prior_addresses if a],
                  location_id=location_id)


def audit_applicant(applicant: Applicant, location_id: int | None = None) -> BadDebtAudit:
    """The audit for what the new-account form holds."""
    return bad_debt_audit((applicant.first_name, applicant.last_name), birth_date=applicant.birth_date,
                          phone=[applicant.phone_home, applicant.phone_mobile, applicant.phone_work],
                          prior_addresses=list(applicant.prior_addresses)
                          + ([applicant.mail_street] if applicant.mail_street.strip() else []),
                          tax_id=applicant.tax_id or None, location_id=location_id)


def _audit_member(m: db.Member, location_id: int | None = None) -> BadDebtAudit:
    return _audit(name_words=_name_words((m.first_name, m.last_name)), last4=m.tax_id_last4, hash_=m.tax_id_hash,
                  birth_date=m.birth_date, phones=_phones([m.phone_home, m.phone_mobile, m.phone_work]),
                  addresses=[m.mail_street] if m.mail_street else [], location_id=location_id)


# ---- locations and the deposit rule ------------------------------------------------------------------

def in_service_account(location_id: int) -> db.Account | None:
    """The account in service at the location (pending, active or disconnected), if any."""
    return (db.Account.select().where(db.Account.location == location_id, db.Account.status.in_(orders.IN_SERVICE))
            .order_by(db.Account.id.desc()).first())


def location_in_service_error(loc: db.ServiceLocation, a: db.Account) -> ServiceError:
    m = db.Member.get_by_id(a.member_id)
    return ServiceError(f"{loc.street}, {loc.city} is already in service on account {a.number} "
                        f"({display_name(m.first_name, m.last_name)}, {a.status}): final that account first "
                        f"(move or close)", "location")


def _location_info(loc: db.ServiceLocation) -> LocationInfo:
    a = in_service_account(loc.id)
    name = ""
    if a:
        m = db.Member.get_by_id(a.member_id)
        name = display_name(m.first_name, m.last_name)
    meter = db.Meter.select().where(db.Meter.location == loc.id).order_by(db.Meter.id.desc()).first()
    return LocationInfo(loc.id, loc.location_no, f"{loc.street}, {loc.city}, {loc.state} {loc.zip}",
                        loc.map_location,
                        f"{loc.owner_name} {format_phone(loc.owner_phone)}".strip() if loc.owner_name else "",
                        meter.meter_no if meter else "", a.number if a else None, name, a.status if a else "")


def get_location(location_id: int) -> LocationInfo:
    loc = db.ServiceLocation.get_or_none(db.ServiceLocation.id == location_id)
    if loc is None:
        raise NotFound("No such service location", "location")
    return _location_info(loc)


MAX_WORDS_RANK = 99


def find_locations(text: str, limit: int = 20) -> list[LocationInfo]:
    """Service locations by location no., street words or map location; whether each
    is in service. Street words are read as the account lookup reads them (the same
    normalization: 7368 coeur and 7368 E Coeur d'Alene Ave find the same place),
    whole-word matches first."""
    text = (text or "").strip()
    if not text:
        return []
    L = db.ServiceLocation
    typed = [si.street_word(w) for w in si.query_words(text).words]
    cond = L.map_location.contains(text)
    if text.isdigit():
        cond |= L.location_no == int(text)
    if typed:
        # A house number narrows the most; the words are checked below, normalized.
        cond |= L.street.contains(max(typed, key=lambda w: (w.isdigit(), len(w))))
    scored = []
    for loc_id, location_no, street, map_location in L.select(L.id, L.location_no, L.street, L.map_location) \
            .where(cond).tuples():
        have = [si.street_word(w) for w in si.words(street)]
        if text.isdigit() and location_no == int(text):
            whole = MAX_WORDS_RANK          # the location no. itself
        elif typed and all(any(h.startswith(w) for h in have) for w in typed):
            whole = sum(w in have for w in typed)
        elif text.lower() in map_location.lower():
            whole = 0
        else:
            continue
        scored.append((-whole, street.lower(), loc_id))
    chosen = [loc_id for _, _, loc_id in sorted(scored)[:limit]]
    by_id = {loc.id: loc for loc in L.select().where(L.id.in_(chosen))} if chosen else {}
    return [_location_info(by_id[i]) for i in chosen]


def add_location(op: OperatorInfo, street: str, city: str, zip_code: str, state: str = "ID",
                 map_location: str = "", owner: Landlord | None = None) -> LocationInfo:
    """A new service location (new construction); its meter comes with the connect."""
    require(op, "membership.create")
    street = contacts.clean("mail_street", street)
    city = contacts.clean("mail_city", city)
    state = contacts.clean("mail_state", state)
    zip_code = contacts.clean("mail_zip", zip_code)
    map_location = (map_location or "").strip()
    if len(map_location) > 40:
        raise ValidationError("Map location: at most 40 characters", "map_location")
    card_numbers.refuse(map_location, "map_location", "Map location")
    owner_name, owner_phone = clean_landlord(owner) if owner else ("", "")
    with db.write_txn():
        dup = db.ServiceLocation.get_or_none(fn.LOWER(db.ServiceLocation.street) == street.lower(),
                                             fn.LOWER(db.ServiceLocation.city) == city.lower())
        if dup:
            raise ValidationError(f"{street}, {city} is already location {dup.location_no}", "street")
        no = db.next_number(db.ServiceLocation.location_no)
        loc = db.ServiceLocation.create(location_no=no, street=street, city=city, state=state, zip=zip_code,
                                        map_location=map_location, owner_name=owner_name, owner_phone=owner_phone)
        audit.record(op, "location.add", "location", loc.id, field="location",
                     after=f"{no} {street}, {city} {map_location}".strip())
    return _location_info(loc)


def deposit_quote(location_id: int, today: dt.date | None = None) -> DepositQuote:
    """DOMAIN: twice the average monthly bill at the location over the last 12 months,
    rounded to the dollar, or the flat deposit when the location has no bills."""
    today = orders.today_or(today)
    sched = fees.schedule()
    LE, A = db.LedgerEntry, db.Account
    total, count = (LE.select(fn.COALESCE(fn.SUM(LE.amount_cents), 0), fn.COUNT(LE.id))
                    .join(A, on=(LE.account == A.id))
                    .where(A.location == location_id, LE.kind == "bill",
                           LE.effective > today - dt.timedelta(days=365), LE.effective <= today)
                    .tuples().first())
    total, count = int(total or 0), int(count or 0)
    if count == 0 or total <= 0:
        return DepositQuote(sched.deposit_flat_cents,
                            f"flat {money.fmt_dollars(sched.deposit_flat_cents)}: no billing history at the location")
    dollars = (sched.deposit_months * total + 50 * count) // (100 * count)
    average = (total + count // 2) // count
    return DepositQuote(dollars * 100, f"{sched.deposit_months}x the average bill {money.fmt_dollars(average)} "
                                       f"({count} bills in 12 months)", average, count)


# ---- opening an account -------------------------------------------------------------------------------

def clean_landlord(owner: Landlord) -> tuple[str, str]:
    name = (owner.owner_name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("Owner / landlord: a name up to 80 characters", "owner_name")
    card_numbers.refuse(name, "owner_name", "Owner / landlord")
    phone = contacts.clean("phone_home", owner.owner_phone) if (owner.owner_phone or "").strip() else ""
    return name, phone


def _clean_applicant(ap: Applicant, today: dt.date) -> dict:
    first, last = (ap.first_name or "").strip(), (ap.last_name or "").strip()
    if not last:
        raise ValidationError("Last name (or the business name) is required", "last_name")
    if len(last) > 60:
        raise ValidationError("Last name: at most 60 characters", "last_name")
    if len(first) > 40:
        raise ValidationError("First name: at most 40 characters", "first_name")
    card_numbers.refuse_all({"first_name": first, "last_name": last})
    if ap.birth_date is not None:
        if ap.birth_date < dt.date(1900, 1, 1) or ap.birth_date > today:
            raise ValidationError("Date of birth: not a plausible date", "birth_date")
        age = today.year - ap.birth_date.year - ((today.month, today.day) < (ap.birth_date.month, ap.birth_date.day))
        if age < MIN_AGE:
            raise ValidationError(f"The applicant must be {MIN_AGE} or older", "birth_date")
    values = {"phone_home": ap.phone_home, "phone_mobile": ap.phone_mobile, "phone_work": ap.phone_work,
              "email": ap.email, "preferred_contact": ap.preferred_contact or "phone"}
    if (ap.mail_street or "").strip():
        values.update(mail_street=ap.mail_street, mail_city=ap.mail_city, mail_state=ap.mail_state or "ID",
                      mail_zip=ap.mail_zip)
    errors = contacts.validate(values)
    if errors:
        f, message = next(iter(errors.items()))
        raise ValidationError(message, f)
    cleaned = {f: contacts.clean(f, v) for f, v in values.items()}
    if not any(cleaned[p] for p in ("phone_home", "phone_mobile", "phone_work")):
        raise ValidationError("At least one phone number is required", "phone_home")
    if len(ap.prior_addresses) > 10 or any(len(a) > 120 for a in ap.prior_addresses):
        raise ValidationError("Prior addresses: at most 10, each up to 120 characters", "prior_addresses")
    last4, full = clean_tax_id(ap.tax_id)
    return {"first_name": first, "last_name": last, "birth_date": ap.birth_date, "last4": last4, "full": full,
            **cleaned}


def _check_override(found: BadDebtAudit, acknowledged: bool, override: Override | None) -> str:
    """Apply the hold rules; returns the override reason ('' when none was needed)."""
    if not found.owing:
        return ""
    if not acknowledged:
        raise BadDebtHold(found.summary() + ". Acknowledge the hit to continue", found)
    if not found.blocking:
        return ""
    if override is None:
        raise BadDebtHold(found.summary() + ". A supervisor must override this hit, with a reason", found)
    sup = override.supervisor
    if sup is None or not sup.can("bad_debt.override"):
        who = f"{sup.username} ({sup.role})" if sup else "nobody"
        raise PermissionDenied(f"Only a supervisor may override a bad-debt hit; {who} may not", "override")
    reason = (override.reason or "").strip()
    if not reason:
        raise ValidationError("The supervisor's override needs a reason", "override_reason")
    if len(reason) > 200:
        raise ValidationError("The override reason is at most 200 characters", "override_reason")
    card_numbers.refuse(reason, "override_reason", "Override reason")
    return reason


def new_account_number() -> int:
    """The next account number (base + check digit), in the caller's write transaction."""
    return make_account_number(db.next_number(db.Account.number))


def location_meter(location_id: int) -> db.Meter | None:
    return db.Meter.select().where(db.Meter.location == location_id).order_by(db.Meter.id.desc()).first()


def open_account(op: OperatorInfo, location_id: int, applicant: Applicant | None = None, *,
                 member_id: int | None = None, rate_class: str = "RES", bill_cycle: int | None = None,
                 landlord: Landlord | None = None, good_credit: bool = False, deposit_waiver: str = "",
                 acknowledged: bool = False, override: Override | None = None,
                 connect_due: dt.date | None = None, notes: str = "",
                 today: dt.date | None = None) -> OpenedAccount:
    """A new account at a service location, for a new member (`applicant`) or an
    existing one (`member_id`), in one transaction: the bad-debt audit (re-run here,
    see the module doc for acknowledge / override), the member, the account number,
    landlord / owner for a rental, the deposit (billed, or waived for good credit or
    with a reason), the membership fee (new members), the search index, and an open
    connect order. The account is 'pending' until the connect is completed."""
    require(op, "membership.create")
    today = orders.today_or(today)
    if (applicant is None) == (member_id is None):
        raise ValidationError("Give the applicant, or the existing member, not both", "member")
    ap = _clean_applicant(applicant, today) if applicant is not None else None
    if rate_class not in RATE_CLASSES:
        raise ValidationError(f"Rate class must be one of {', '.join(RATE_CLASSES)}", "rate_class")
    if bill_cycle is not None and (isinstance(bill_cycle, bool) or not isinstance(bill_cycle, int)
                                   or not 1 <= bill_cycle <= 20):
        raise ValidationError("Bill cycle: 1 to 20", "bill_cycle")
    owner = clean_landlord(landlord) if landlord else None
    deposit_waiver = (deposit_waiver or "").strip()
    if len(deposit_waiver) > 200:
        raise ValidationError("The waiver reason is at most 200 characters", "deposit_waiver")
    card_numbers.refuse(deposit_waiver, "deposit_waiver", "Waiver reason")
    notes = orders.clean_notes(notes)
    if connect_due is not None and connect_due < today:
        raise ValidationError("The connect due date is in the past", "connect_due")
    sched = fees.schedule()
    entries: list[int] = []
    with db.write_txn():
        loc = db.locked(db.ServiceLocation, location_id)
        if loc is None:
            raise NotFound("No such service location", "location")
        busy = in_service_account(loc.id)
        if busy:
            raise location_in_service_error(loc, busy)
        # -- the member and the bad-debt audit
        if ap is not None:
            hash_ = tax_id_hash(ap["full"], create_salt=True) if ap["full"] else None
            found = _audit(name_words=_name_words((ap["first_name"], ap["last_name"])), last4=ap["last4"],
                           hash_=hash_, birth_date=ap["birth_date"],
                           phones=_phones([ap["phone_home"], ap["phone_mobile"], ap["phone_work"]]),
                           addresses=list(applicant.prior_addresses)
                           + ([ap["mail_street"]] if ap.get("mail_street") else []), location_id=loc.id)
        else:
            member = db.Member.get_or_none(db.Member.id == member_id)
            if member is None:
                raise NotFound("That member no longer exists", "member")
            found = _audit_member(member, loc.id)
        reason = _check_override(found, acknowledged, override)
        back = found.returning if ap is not None else None
        if back is not None:
            # A returning member: a new account of the membership on file, not a second membership.
            member = db.Member.get_by_id(back.member_id)
            audit.record(op, "member.returning", "member", member.id, field="member",
                         after=f"{member.member_no}: same tax ID and birth date as account {back.account_number}")
        elif ap is not None:
            member_no = db.next_number(db.Member.member_no)
            mail = {k: ap[k] for k in ("mail_street", "mail_city", "mail_state", "mail_zip") if k in ap} or \
                {"mail_street": loc.street, "mail_city": loc.city, "mail_state": loc.state, "mail_zip": loc.zip}
            member = db.Member.create(
                member_no=member_no, first_name=ap["first_name"], last_name=ap["last_name"],
                tax_id_last4=ap["last4"], tax_id_hash=hash_, birth_date=ap["birth_date"],
                phone_home=ap["phone_home"], phone_mobile=ap["phone_mobile"], phone_work=ap["phone_work"],
                email=ap["email"], preferred_contact=ap["preferred_contact"], joined=today, **mail)
            audit.record(op, "member.create", "member", member.id, field="member",
                         after=f"{member_no} {display_name(member.first_name, member.last_name)} tax ID "
                               f"{'***-**-' + ap['last4'] if ap['last4'] else '(none)'}")
        # -- the account
        number = new_account_number()
        prior = (db.Account.select(db.Account.bill_cycle).where(db.Account.location == loc.id)
                 .order_by(db.Account.id.desc()).first())
        cycle = bill_cycle or (prior.bill_cycle if prior else 1)
        meter = location_meter(loc.id)
        a = db.Account.create(number=number, member=member.id, location=loc.id, meter=meter.id if meter else None,
                              rate_class=rate_class, status="pending", bill_cycle=cycle, landlord=bool(owner),
                              opened=today)
        audit.record(op, "account.open", "account", a.id, account_id=a.id, field="account",
                     after=f"{number} {rate_class} at {loc.street}, {loc.city} for member {member.member_no}")
        audit.record(op, "bad_debt.audit", "account", a.id, account_id=a.id, field="bad_debt",
                     after=found.summary()[:200] + (" (acknowledged)" if found.owing else ""))
        if reason:
            audit.record(override.supervisor, "bad_debt.override", "account", a.id, account_id=a.id,
                         field="bad_debt", before=found.summary()[:200], after=reason)
        if owner:
            before = f"{loc.owner_name} {loc.owner_phone}".strip()
            if (loc.owner_name, loc.owner_phone) != owner:
                db.ServiceLocation.update(owner_name=owner[0], owner_phone=owner[1]).where(
                    db.ServiceLocation.id == loc.id).execute()
                audit.record(op, "location.owner", "location", loc.id, account_id=a.id, field="owner",
                             before=before, after=f"{owner[0]} {owner[1]}".strip())
        # -- fees and deposit
        fee = 0
        if ap is not None and back is None and sched.membership_cents:
            fee = sched.membership_cents
            entries.append(fees.post(op, a.id, "fee", fee, "Membership fee", reference="MEMBERSHIP",
                                     effective=today, due_date=today + dt.timedelta(days=fees.DUE_DAYS)))
        quote = deposit_quote(loc.id, today)
        waiver = "good credit" if good_credit else deposit_waiver
        if waiver:
            deposit, basis = 0, f"waived: {waiver}"
            audit.record(op, "deposit.waive", "account", a.id, account_id=a.id, field="deposit",
                         before=f"{money.fmt(quote.amount_cents)} {quote.basis}"[:200], after=waiver)
        else:
            deposit, basis = quote.amount_cents, quote.basis
        if deposit:
            entries.append(fees.post(op, a.id, "deposit", deposit, "Security deposit billed",
                                     reference="DEPOSIT", effective=today,
                                     due_date=today + dt.timedelta(days=fees.DUE_DAYS)))
            db.Account.update(deposit_cents=deposit).where(db.Account.id == a.id).execute()
            audit.record(op, "deposit.bill", "account", a.id, account_id=a.id, field="deposit_cents",
                         before="0", after=f"{money.fmt(deposit)} ({basis})"[:200])
        if notes:
            db.Note.create(account=a.id, operator=op.id, text=notes)
        si.reindex_account(a.id)
        o = orders.new_order(op, a, "connect", priority=2,
                             due_date=connect_due or orders.next_business_day(today),
                             notes=f"New service connect for {display_name(member.first_name, member.last_name)}"
                                   + (f"; rental, owner {owner[0]}" if owner else ""), today=today)
    return OpenedAccount(a.id, number, member.id, member.member_no, ap is not None and back is None, "pending",
                         deposit, basis, fee, o.order_no, found, override.supervisor.username if reason else "",
                         entries)
