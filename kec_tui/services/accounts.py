"""Account lookup and the account view: plain dataclasses out, no live queries."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from peewee import JOIN, fn

from kec_tui import db
from kec_tui.checkdigit import valid_account_number
from kec_tui.services import audit, card_numbers, search_index as si
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require

MAX_QUERY = 200   # characters of a query we look at; a long paste is cut, not refused
MAX_WORDS = 6
_PHONE_LIKE = re.compile(r"^[\s\d().+-]+$")


@dataclass(frozen=True)
class Hit:
    account_id: int
    number: int
    name: str
    service_address: str
    status: str
    matched: str        # which kind of word matched first: name, address, phone ...
    term: str


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    message: str = ""               # a hint for the operator (bad check digit, nothing found ...)
    more: bool = False              # another page exists
    cursor: tuple[str, int] | None = None   # pass as `after` for the next page


def display_name(first: str, last: str) -> str:
    return f"{last}, {first}" if first else last


@db.connected
def lookup(query: str, limit: int = 20, after: tuple[str, int] | None = None) -> SearchResult:
    """Find accounts by any of: account no., name words (any order, prefixes),
    phone, email, service address, meter no. Best matches first: an exact word,
    then longer words alphabetically; of several words, accounts where each is a
    whole word first."""
    text = query[:MAX_QUERY]
    if not text.strip():
        return SearchResult([], "Type an account number, name, phone, email, address or meter number")
    typed = list(dict.fromkeys(si.words(text)))[:MAX_WORDS]
    if not typed:
        return SearchResult([], f"Nothing to search for in {text.strip()[:30]!r}: use letters or digits")
    spelled: list[str] = []
    if "@" in text and len(typed) > 1:      # an e-mail address is one term
        words = [si.email_term(text)]
    elif _PHONE_LIKE.match(text) and len(typed) > 1:   # (208) 555-0100 is one number
        words = ["".join(typed)]
    else:
        q = si.query_words(text, MAX_WORDS)     # normalized as the index is (9428 W Canfield Ave: 9428 canfield)
        words, spelled = q.words, q.spelled_out
    message = ""
    if len(words) == 1 and words[0].isdigit() and 5 <= len(words[0]) <= 9 and not after:
        if valid_account_number(words[0]):
            exact = _exact_account(int(words[0]))
            if exact:
                return SearchResult([exact])
            message = f"No account {words[0]}"
        else:
            message = f"{words[0]} is not an account number (check digit); showing other matches"
    # A street word written out (west, lane) may be a name: kept when it finds someone.
    if spelled and _search(words + spelled, 1, None)[0]:
        words = words + spelled
    seen, more, cursor = _search(words, limit, after)
    hits = _closest_first(_hits(seen), si.words(text))
    if not hits and not message:
        message = f"Nothing found for {text.strip()[:40]!r}"
    return SearchResult(hits, message, more, cursor if more else None)


def _search(words: list[str], limit: int, after: tuple[str, int] | None):
    """Accounts (id -> (term, kind)) with a word starting with each of `words`, one page."""
    # A word that begins another typed word adds nothing (smith sm): each may match the same word.
    words = [w for w in words if not any(o != w and o.startswith(w) for o in words)]
    pair_plan = len(words) > 1 and max(len(w) for w in words) >= si.PAIR_HEAD
    if pair_plan and (after is None or " " in after[0]):    # a pair key has a space, a term none
        found = _page(*_pair_query(words), limit, after)
        if found[0] or after:
            return found
    return _page(*_term_query(words), limit, after)


def _pair_query(words: list[str]):
    """Two words answered by one range of the pair index: `b[:3] a...` in the order
    of a; the rest of b and any further words checked per row. b is the shortest word
    of three letters or more, a the longest other: the range then loses the fewest
    letters (1417 lakeview: `141 lakeview`, not `lak 1417`, which holds every lake).
    Of a house number and street words, the pair is the number and the longest street
    word: the words of one street always meet (meadow lark), a number and a street rarely."""
    digits = [w for w in words if w.isdigit()]
    letters = [w for w in words if not w.isdigit()]
    pool = [max(digits, key=len), max(letters, key=len)] if digits and letters else words
    if max(len(w) for w in pool) < si.PAIR_HEAD:
        pool = words
    b = min((w for w in pool if len(w) >= si.PAIR_HEAD), key=len)
    a = max((w for w in pool if w is not b), key=len)
    P = db.SearchPair.alias("p")
    lo = si.pair_key(b, a)
    where = (P.key >= lo) & (P.key < lo + si.UPPER)
    checks = [w for w in words if w is not a and (w is not b or len(b) > si.PAIR_HEAD)]
    return P, P.key, where & _has_words(P.account, checks)


def _term_query(words: list[str]):
    """Drive from the rarest word: every row it yields is checked for the others
    (multi-word queries the pair index cannot answer: phone or meter with a name)."""
    driver = min(words, key=lambda w: (_prefix_count(w), -len(w))) if len(words) > 1 else words[0]
    T = db.SearchTerm.alias("t")
    where = (T.term >= driver) & (T.term < driver + si.UPPER)
    return T, T.term, where & _has_words(T.account, [w for w in words if w is not driver])


def _has_words(account, words: list[str]):
    """Per row: the account also has a word starting with each of `words`. Written as a
    scalar subquery with LIMIT 1, not EXISTS: PostgreSQL may turn an EXISTS into a join
    that scans every account with a common word (kidd: 3,763 rows per row, 60 ms);
    this stays one probe of the (account, term) index per row on both databases."""
    cond = db.pw.SQL("1 = 1")
    for w in words:
        T2 = db.SearchTerm.alias()
        probe = T2.select(db.pw.SQL("1")).where((T2.account == account) & (T2.term >= w) & (T2.term < w + si.UPPER))
        cond &= db.pw.NodeList((probe.limit(1), db.pw.SQL("IS NOT NULL")))
    return cond


def _page(table, key, where, limit: int, after: tuple[str, int] | None):
    def after_row(row: tuple[str, int]):
        return (key > row[0]) | ((key == row[0]) & (table.account > row[1]))

    if after:
        where &= after_row(after)
    # Fetch one page and one row more: a page rarely holds one account twice, and
    # every row fetched past what is shown costs a probe per other word.
    seen: dict[int, tuple[str, int]] = {}
    cursor = None
    more = False
    page_where = where
    while True:
        rows = list(table.select(key, table.account, table.kind).where(page_where).order_by(key, table.account)
                    .limit(limit + 1).tuples())
        for k, account_id, kind in rows:
            if len(seen) == limit:
                more = True
                break
            cursor = (k, account_id)
            seen.setdefault(account_id, (k.split(" ", 1)[-1], kind))
        if more or len(rows) <= limit:
            break
        page_where = where & after_row(cursor)     # duplicates filled the page: read on
    return seen, more, cursor


_HIT_COLUMNS = (db.Account.id, db.Account.number, db.Account.status, db.Member.first_name, db.Member.last_name,
                db.ServiceLocation.street, db.ServiceLocation.city)


def _hit(r: tuple, term: str, kind: int) -> Hit:
    return Hit(r[0], r[1], display_name(r[3], r[4]), f"{r[5]}, {r[6]}", r[2], si.KIND_LABELS.get(kind, ""), term)


COUNT_CAP = 30_000  # enough to rank common prefixes; counting costs ~1.5 ms per 30k terms


def _prefix_count(word: str) -> int:
    T = db.SearchTerm
    inner = T.select(T.term).where((T.term >= word) & (T.term < word + si.UPPER)).limit(COUNT_CAP)
    return db.BaseModel.select(fn.COUNT(db.pw.SQL("*"))).from_(inner.alias("c")).scalar()


def _hits(found: dict[int, tuple[str, int]]) -> list[Hit]:
    if not found:
        return []
    by_id = {r[0]: r for r in db.Account.select(*_HIT_COLUMNS).join(db.Member).switch(db.Account)
             .join(db.ServiceLocation).where(db.Account.id.in_(list(found))).tuples()}
    return [_hit(by_id[i], term, kind) for i, (term, kind) in found.items() if i in by_id]


def _closest_first(hits: list[Hit], typed: list[str]) -> list[Hit]:
    """Of several typed words, within the page: accounts with more of the words as typed
    (direction and street type too: 464 E Seltice Way before 464 W Seltice Way), then
    the address with fewer words not typed (12373 E Garwood Rd before ... Rd Apt 21)."""
    if len(typed) < 2:
        return hits
    typed = [si.street_word(w) for w in typed]

    def rank(h: Hit) -> tuple[int, int]:
        street = [si.street_word(w) for w in si.words(h.service_address.rsplit(",", 1)[0])]
        have = set(street) | set(si.name_words(h.name))
        typed_street = sum(w in street for w in set(typed))
        return -sum(w in have for w in set(typed)), (len(street) - typed_street) if typed_street else 0

    return sorted(hits, key=rank)


_EXACT_SQL: dict[type, str] = {}
_PREPARED: set[tuple[int, int]] = set()


def _exact_account(number: int) -> Hit | None:
    """One indexed query: the counter's most common lookup. Its SQL is built once per
    kind of database; building it with the query builder each time cost ~60x the query."""
    engine = type(db.database.obj)
    sql = _EXACT_SQL.get(engine)
    if sql is None:
        sql = _EXACT_SQL[engine] = (db.Account.select(*_HIT_COLUMNS).join(db.Member).switch(db.Account)
                                    .join(db.ServiceLocation).where(db.Account.number == 0)).sql()[0]
    if db.is_postgres():
        # Planning this three-table join costs PostgreSQL more than running it: plan it
        # once per connection (a server session, told apart by its process id).
        conn = db.database.connection()
        session = (id(conn), conn.info.backend_pid)
        if session not in _PREPARED:
            db.database.execute_sql(f"PREPARE kec_exact_account (bigint) AS {sql.replace('%s', '$1')}")
            _PREPARED.add(session)
        sql = "EXECUTE kec_exact_account (%s)"
    row = db.database.execute_sql(sql, (number,)).fetchone()
    return _hit(row, str(number), si.ACCOUNT) if row else None


def account_id_for_number(text: str) -> int:
    """Validate a keyed account number (check digit first) and return its id."""
    text = text.strip()
    if not text.isdigit():
        raise ValidationError("An account number is digits only", "account")
    if not valid_account_number(text):
        raise ValidationError(f"{text}: check digit does not match", "account")
    row = db.Account.get_or_none(db.Account.number == int(text))
    if row is None:
        raise NotFound(f"No account {text}", "account")
    return row.id


# ---- the account view -------------------------------------------------------

@dataclass(frozen=True)
class Contact:
    phone_home: str
    phone_mobile: str
    phone_work: str
    email: str
    mail_street: str
    mail_city: str
    mail_state: str
    mail_zip: str
    preferred_contact: str
    authorized: list[tuple[int, str, str, str]]   # id, name, relation, phone


@dataclass(frozen=True)
class AccountView:
    id: int
    number: int
    status: str
    rate_class: str
    member_id: int
    member_no: int
    name: str
    tax_id_masked: str
    bank_masked: str
    contact: Contact
    service_address: str
    map_location: str
    owner: str
    meter_no: str
    balance_cents: int
    amount_due_cents: int
    past_due_cents: int
    due_date: dt.date | None
    last_payment: tuple[dt.date, int] | None
    deposit_cents: int
    flags: list[str]
    usage: list[tuple[dt.date, int]]     # oldest first, at most 24 months
    opened: dt.date
    closed: dt.date | None
    other_accounts: list[int] = field(default_factory=list)
    location_id: int | None = None       # the service location (a move refuses the account's own)


def mask_tax_id(last4: str | None) -> str:
    return f"***-**-{last4}" if last4 else "(none)"


def mask_bank(number: str) -> str:
    return f"****{number[-4:]}" if number else ""


def reveal_bank_account(op: OperatorInfo, account_id: int) -> str:
    """The full autopay bank account, for a role allowed to see it; the showing is audited
    (who and when, never the number itself)."""
    require(op, "sensitive.view")
    a = db.Account.select(db.Account.id, db.Member.id, db.Member.bank_routing, db.Member.bank_account) \
        .join(db.Member).where(db.Account.id == account_id).tuples().first()
    if a is None:
        raise NotFound("That account no longer exists")
    _, member_id, routing, number = a
    if not number:
        raise NotFound("No bank account on file")
    with db.write_txn():
        audit.record(op, "sensitive.view", "member", member_id, account_id=account_id, field="bank_account",
                     after=mask_bank(number))
    return f"routing {routing}  account {number}"


def balance(account_id: int) -> int:
    return int(db.LedgerEntry.select(fn.COALESCE(fn.SUM(db.LedgerEntry.amount_cents), 0))
               .where(db.LedgerEntry.account == account_id).scalar())


def flags_for(a: db.Account, today: dt.date) -> list[str]:
    flags = []
    if a.status == "disconnected":
        flags.append("DISCONNECTED")
    if a.winter_protection_until and a.winter_protection_until >= today:
        household = a.winter_household.replace(",", ", ")
        flags.append(f"WINTER PROTECTION until {a.winter_protection_until:%m/%d/%Y} ({household})")
    if a.cash_only_until and a.cash_only_until >= today:
        flags.append(f"CASH ONLY until {a.cash_only_until:%m/%d/%Y}")
    if a.medical_cert_until and a.medical_cert_until >= today:
        flags.append(f"MEDICAL CERT until {a.medical_cert_until:%m/%d/%Y}")
    for attr, label in (("landlord", "LANDLORD"), ("bankruptcy", "BANKRUPTCY"),
                        ("budget_billing", "BUDGET BILLING"), ("collections", "COLLECTIONS")):
        if getattr(a, attr):
            flags.append(label)
    ap = db.AutopayEnrollment.get_or_none(db.AutopayEnrollment.account == a.id)
    if ap is not None and ap.status == "active":
        flags.append(f"AUTOPAY {ap.account_type} {mask_bank(ap.bank_account)}")
    return flags


def last_payment(account_id: int) -> tuple[dt.date, int] | None:
    """The newest payment that stands: one the bank returned (reversed) is not "last paid"."""
    L, R = db.LedgerEntry, db.LedgerEntry.alias("r")
    row = (L.select(L.effective, L.amount_cents).join(R, JOIN.LEFT_OUTER, on=(R.reverses == L.id))
           .where(L.account == account_id, L.kind == "payment", R.id.is_null())
           .order_by(L.effective.desc(), L.id.desc()).tuples().first())
    return (row[0], -row[1]) if row else None


def past_due_cents(account_id: int, balance_cents: int, today: dt.date) -> int:
    """What is owed from bills whose due date has passed: the balance less the
    charges not yet due. Those are the bills due today or later, and the charges
    (a returned-payment fee, a trip fee) posted after the last bill that came
    due: they are on the next bill. A reversal is not a charge but a payment
    undone, so the bill it paid is owed again."""
    L = db.LedgerEntry
    came_due = (L.select(L.id, L.effective).where(L.account == account_id, L.kind == "bill", L.due_date < today)
                .order_by(L.effective.desc(), L.id.desc()).tuples().first())
    not_yet = (L.account == account_id) & (L.amount_cents > 0) & (L.kind != "reversal") & (
        (L.kind == "bill") & (L.due_date.is_null() | (L.due_date >= today)))
    if came_due:
        cut_id, cut_day = came_due
        later = (L.effective > cut_day) | ((L.effective == cut_day) & (L.id > cut_id))
        not_yet |= (L.account == account_id) & (L.amount_cents > 0) & ~L.kind.in_(("bill", "reversal")) & later
    else:
        not_yet |= (L.account == account_id) & (L.amount_cents > 0) & ~L.kind.in_(("bill", "reversal"))
    not_yet_cents = int(L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0)).where(not_yet).scalar())
    return max(0, balance_cents - not_yet_cents)


def view(account_id: int, today: dt.date | None = None) -> AccountView:
    today = today or dt.date.today()
    a = (db.Account.select(db.Account, db.Member, db.ServiceLocation, db.Meter)
         .join(db.Member).switch(db.Account).join(db.ServiceLocation)
         .switch(db.Account).join(db.Meter, JOIN.LEFT_OUTER)
         .where(db.Account.id == account_id).first())
    if a is None:
        raise NotFound("That account no longer exists")
    m, loc = a.member, a.location
    bal = balance(account_id)
    last_bill = (db.LedgerEntry.select().where(db.LedgerEntry.account == account_id, db.LedgerEntry.kind == "bill")
                 .order_by(db.LedgerEntry.effective.desc(), db.LedgerEntry.id.desc()).first())
    due = max(bal, 0)
    past_due = min(due, past_due_cents(account_id, bal, today))
    usage = list(db.Reading.select(db.Reading.read_date, db.Reading.kwh).where(db.Reading.account == account_id)
                 .order_by(db.Reading.read_date.desc()).limit(24).tuples())
    authorized = [(p.id, p.name, p.relation, p.phone) for p in
                  db.AuthorizedPerson.select().where(db.AuthorizedPerson.member == m.id)
                  .order_by(db.AuthorizedPerson.id)]
    others = [n for (n,) in db.Account.select(db.Account.number)
              .where(db.Account.member == m.id, db.Account.id != account_id).tuples()]
    return AccountView(
        id=a.id, number=a.number, status=a.status, rate_class=a.rate_class,
        member_id=m.id, member_no=m.member_no, name=display_name(m.first_name, m.last_name),
        tax_id_masked=mask_tax_id(m.tax_id_last4), bank_masked=mask_bank(m.bank_account),
        contact=Contact(m.phone_home, m.phone_mobile, m.phone_work, m.email, m.mail_street, m.mail_city,
                        m.mail_state, m.mail_zip, m.preferred_contact, authorized),
        service_address=f"{loc.street}, {loc.city}, {loc.state} {loc.zip}", map_location=loc.map_location,
        owner=f"{loc.owner_name} {format_phone(loc.owner_phone)}".strip() if loc.owner_name else "",
        meter_no=a.meter.meter_no if a.meter_id else "",
        balance_cents=bal, amount_due_cents=due, past_due_cents=past_due,
        due_date=last_bill.due_date if last_bill else None,
        last_payment=last_payment(account_id),
        deposit_cents=a.deposit_cents, flags=flags_for(a, today), usage=list(reversed(usage)),
        opened=a.opened, closed=a.closed, other_accounts=others, location_id=a.location_id,
    )


def format_phone(digits: str) -> str:
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if len(digits) == 7:
        return f"{digits[:3]}-{digits[3:]}"
    return digits


@dataclass(frozen=True)
class LedgerLine:
    id: int
    effective: dt.date
    kind: str
    description: str
    reference: str
    amount_cents: int
    balance_cents: int   # running balance after this entry


def ledger_page(account_id: int, limit: int = 50, before_id: int | None = None) -> list[LedgerLine]:
    """Newest first, `limit` at a time; `before_id` continues below the last line shown."""
    L = db.LedgerEntry
    where = L.account == account_id
    if before_id is not None:
        where &= L.id < before_id
    rows = list(L.select(L.id, L.effective, L.kind, L.description, L.reference, L.amount_cents)
                .where(where).order_by(L.id.desc()).limit(limit).tuples())
    if not rows:
        return []
    running = int(L.select(fn.COALESCE(fn.SUM(L.amount_cents), 0)).where(where).scalar())
    out = []
    for r in rows:
        out.append(LedgerLine(r[0], r[1], r[2], r[3], r[4], r[5], running))
        running -= r[5]
    return out


@dataclass(frozen=True)
class OrderLine:
    order_no: int
    kind: str
    status: str
    priority: int
    due_date: dt.date | None
    created_at: dt.datetime
    notes: str


def orders(account_id: int, limit: int = 50) -> list[OrderLine]:
    O = db.ServiceOrder
    return [OrderLine(*r) for r in O.select(O.order_no, O.kind, O.status, O.priority, O.due_date, O.created_at, O.notes)
            .where(O.account == account_id).order_by(O.id.desc()).limit(limit).tuples()]


@dataclass(frozen=True)
class NoteLine:
    created_at: dt.datetime
    operator: str
    text: str


def notes(account_id: int, limit: int = 50) -> list[NoteLine]:
    N = db.Note
    q = (N.select(N.created_at, db.Operator.username, N.text).join(db.Operator, JOIN.LEFT_OUTER)
         .where(N.account == account_id).order_by(N.id.desc()).limit(limit).tuples())
    return [NoteLine(c, u or "system", t) for c, u, t in q]


def add_note(op: OperatorInfo, account_id: int, text: str) -> None:
    require(op, "note.add")
    text = text.strip()
    if not text:
        raise ValidationError("A note needs some text", "note")
    if len(text) > 2000:
        raise ValidationError("A note is at most 2,000 characters", "note")
    card_numbers.refuse(text, "note")
    with db.write_txn():
        n = db.Note.create(account=account_id, operator=op.id, text=text)
        audit.record(op, "note.add", "note", n.id, account_id=account_id, after=text[:200])
