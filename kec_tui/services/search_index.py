"""The words an account can be found by, normalized to [a-z0-9] so one prefix
range on one index answers every kind of search. Queries go through the same
normalization as the index (query_words), so what is dropped or folded when an
account is indexed is dropped or folded in what the operator types too."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kec_tui import db

NAME, ADDRESS, PHONE, EMAIL, METER, ACCOUNT = 1, 2, 3, 4, 5, 6
KIND_LABELS = {NAME: "name", ADDRESS: "address", PHONE: "phone", EMAIL: "email", METER: "meter", ACCOUNT: "account"}
PAIR_KINDS = (NAME, ADDRESS)   # words typed together ("smith john", "9428 canfield") have a pair index

# Street words as written out, folded to the abbreviation the index knows.
STREET_ABBREV = {
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "street": "st", "avenue": "ave", "av": "ave", "road": "rd",
    "drive": "dr", "lane": "ln", "court": "ct", "highway": "hwy", "boulevard": "blvd", "place": "pl",
    "trail": "trl", "circle": "cir",
}
# Street words too common to find anyone by; typing them narrows nothing.
STOP_WORDS = frozenset("n s e w ne nw se sw st ave rd dr ln ct way hwy blvd pl loop trl cir and the of".split())
# Index format version: a database indexed by an older one is re-indexed on start.
INDEX_VERSION = "2"
_SPLIT = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['`]")      # O'Brien is obrien (typographic quotes fold away in fold())
MAX_TERM = 64
PAIR_HEAD = 3      # a pair row is keyed by the first letters of one word and the whole other word
UPPER = "{"  # sorts after every [a-z0-9]: term < prefix + UPPER closes a prefix range


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def words(text: str) -> list[str]:
    return [w[:MAX_TERM] for w in _SPLIT.split(_APOSTROPHES.sub("", fold(text))) if w]


def name_words(text: str) -> list[str]:
    """Name words, and the parts of one written with an apostrophe (O'Brien: obrien, o, brien)."""
    out = words(text)
    for w in _SPLIT.split(_APOSTROPHES.sub(" ", fold(text))):
        if w and w[:MAX_TERM] not in out:
            out.append(w[:MAX_TERM])
    return out


def street_word(word: str) -> str:
    return STREET_ABBREV.get(word, word)


def address_words(street: str) -> list[str]:
    """The words of a street address that find it: no directions or street types."""
    return [w for w in (street_word(w) for w in words(street)) if w not in STOP_WORDS]


@dataclass(frozen=True)
class Query:
    words: list[str]          # every one must match (as a prefix of an indexed word)
    spelled_out: list[str]    # street words written out (west, lane): maybe a name, tried first


def query_words(text: str, max_words: int = 6) -> Query:
    """The operator's words, normalized as the index is: directions and street types
    are dropped (9428 W Canfield Ave is 9428 canfield). A query of only such words
    searches them as typed (a member named Way or Lane)."""
    typed = list(dict.fromkeys(words(text)))
    kept = [w for w in typed if street_word(w) not in STOP_WORDS]
    if not kept:
        return Query(typed[:max_words], [])
    spelled = [w for w in typed if w in STREET_ABBREV and w not in kept]
    return Query(kept[:max_words], spelled)


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
    for w in name_words(f"{first_name} {last_name}"):
        add(w, NAME)
    for w in address_words(street):
        add(w, ADDRESS)
    for p in phones:
        for t in phone_terms(p):
            add(t, PHONE)
    add(email_term(email), EMAIL)
    if meter_no:
        add("".join(words(meter_no)), METER)
    return out


def pair_key(head_word: str, word: str) -> str:
    return f"{head_word[:PAIR_HEAD]} {word}"


def pairs_for(terms: dict[str, int]) -> dict[str, int]:
    """pair key -> kind of its whole word: for every two name/address words A, B of an
    account (B of 3 letters or more), `B[:3] A`. Two typed prefixes b, a are then one
    range `b[:3] a...` of the pair index, in the order of A, however common each is alone."""
    ws = [(t, k) for t, k in terms.items() if k in PAIR_KINDS]
    out: dict[str, int] = {}
    for b, _ in ws:
        if len(b) < PAIR_HEAD:
            continue
        head = pair_key(b, "")          # the key's prefix, made once: a conversion makes millions of keys
        for a, kind in ws:
            if a != b:
                key = head + a
                if key not in out:
                    out[key] = kind
    return out


_ACCOUNT_TEXT = (db.Account.id, db.Account.number, db.Member.first_name, db.Member.last_name,
                 db.ServiceLocation.street, db.Member.phone_home, db.Member.phone_mobile, db.Member.phone_work,
                 db.Member.email, db.Meter.meter_no)


def _account_text(where):
    return (db.Account.select(*_ACCOUNT_TEXT).join(db.Member).switch(db.Account).join(db.ServiceLocation)
            .switch(db.Account).join(db.Meter, db.pw.JOIN.LEFT_OUTER).where(where).tuples())


def _rows(r: tuple) -> tuple[list[tuple], list[tuple]]:
    account_id, number, first, last, street, ph, pm, pw_, email, meter_no = r
    terms = terms_for(first_name=first, last_name=last, street=street, phones=[ph, pm, pw_], email=email,
                      meter_no=meter_no, account_number=number)
    return ([(t, account_id, k) for t, k in terms.items()],
            [(p, account_id, k) for p, k in pairs_for(terms).items()])


_TERM_FIELDS = [db.SearchTerm.term, db.SearchTerm.account, db.SearchTerm.kind]
_PAIR_FIELDS = [db.SearchPair.key, db.SearchPair.account, db.SearchPair.kind]


def reindex_account(account_id: int) -> None:
    """Rewrite one account's terms and pairs (after any change to its searchable text:
    name, phones, email, address, meter), in the caller's transaction."""
    terms, pairs = _rows(_account_text(db.Account.id == account_id).get())
    db.SearchTerm.delete().where(db.SearchTerm.account == account_id).execute()
    db.SearchPair.delete().where(db.SearchPair.account == account_id).execute()
    db.SearchTerm.insert_many(terms, fields=_TERM_FIELDS).execute()
    if pairs:
        db.SearchPair.insert_many(pairs, fields=_PAIR_FIELDS).execute()


def reindex_member(member_id: int) -> None:
    for (account_id,) in db.Account.select(db.Account.id).where(db.Account.member == member_id).tuples():
        reindex_account(account_id)


def ensure_current() -> None:
    """Re-index every account when the index was made by an older format (or before
    the pair index existed); a no-op on a database already current."""
    if db.get_meta("search_index_version") != INDEX_VERSION:
        rebuild_all(unless_current=True)


def rebuild_all(batch: int = 5000, *, unless_current: bool = False) -> None:
    """Every account's terms and pairs, written in bulk in one transaction. On SQLite
    the rows are gathered in temporary tables and inserted in key order: inserting
    at random into the clustered keys of a large index is many times slower."""
    sqlite = not db.is_postgres()
    tables = {"search_term": "term", "search_pair": "key"}
    models = (db.SearchTerm, db.SearchPair)
    if sqlite and not db.database.in_transaction():
        # With foreign keys on, SQLite's DROP TABLE deletes row by row first (minutes at
        # a million accounts); these tables are only children, nothing refers to them.
        db.database.execute_sql("PRAGMA foreign_keys = OFF")
        try:
            _rebuild(models, tables, sqlite, batch, unless_current)
        finally:
            db.database.execute_sql("PRAGMA foreign_keys = ON")
    else:
        _rebuild(models, tables, sqlite, batch, unless_current)
    if not sqlite:
        db.database.execute_sql("ANALYZE search_term, search_pair")   # plans for the new contents


def _rebuild(models, tables: dict[str, str], sqlite: bool, batch: int, unless_current: bool) -> None:
    with db.write_txn():
        if unless_current and db.get_meta("search_index_version") == INDEX_VERSION:
            return      # another process starting at the same time has just rebuilt it
        cursor = db.database.cursor()
        if sqlite:
            # Emptied by making them again: deleting millions of rows one by one takes minutes.
            db.database.drop_tables(models)
            for model in models:
                model._meta.without_rowid = True
                model.create_table()
                model._schema.drop_indexes(safe=True)      # made again once, after the rows
            for table, key in tables.items():
                cursor.execute(f'CREATE TEMP TABLE "_new_{table}" ("{key}" TEXT, account_id INTEGER, kind INTEGER)')
        else:
            cursor.execute("TRUNCATE search_term, search_pair")
        last_id = 0
        while True:
            rows = list(_account_text(db.Account.id > last_id).order_by(db.Account.id).limit(batch))
            if not rows:
                break
            terms: list[tuple] = []
            pairs: list[tuple] = []
            for r in rows:
                t, p = _rows(r)
                terms += t
                pairs += p
            last_id = rows[-1][0]
            for (table, key), table_rows in zip(tables.items(), (terms, pairs)):
                _bulk(cursor, f'temp."_new_{table}"' if sqlite else f'"{table}"', key, table_rows)
        if sqlite:
            for table, key in tables.items():
                cursor.execute(f'INSERT INTO "{table}" ("{key}", account_id, kind) SELECT "{key}", account_id, kind '
                               f'FROM temp."_new_{table}" ORDER BY "{key}", account_id')
                cursor.execute(f'DROP TABLE temp."_new_{table}"')
            for model in models:
                model._schema.create_indexes(safe=True)
        db.set_meta("search_index_version", INDEX_VERSION)


def _bulk(cursor, table: str, key: str, rows: list[tuple]) -> None:
    if not rows:
        return
    if db.is_postgres():
        from psycopg2.extras import execute_values
        execute_values(cursor, f'INSERT INTO {table} ("{key}", "account_id", "kind") VALUES %s', rows,
                       page_size=5000)
    else:
        cursor.executemany(f'INSERT INTO {table} ("{key}", "account_id", "kind") VALUES (?, ?, ?)', rows)
