"""The demo co-op builder: counts, check digits, integer money, a ledger that adds
up, the flags a trainee must meet, the search index, determinism, and both backends."""
from __future__ import annotations

import collections
import datetime as dt
import getpass
import hashlib
import re
import sqlite3

import pytest

from kec_tui import checkdigit, db
from kec_tui.demo import builder as demo
from kec_tui.services import fees, memberships, search_index
from kec_tui.services.accounts import view
from tests.conftest import open_database

TODAY = dt.date(2025, 3, 15)
N, MONTHS = 300, 6


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    db.connect(str(path))
    calls: list[tuple[int, int]] = []
    summary = demo.build_demo(accounts=N, months=MONTHS, seed=1, progress=lambda d, t: calls.append((d, t)),
                              today=TODAY)
    db.database.close()
    return path, summary, calls


@pytest.fixture
def demo_db(built):
    path, summary, _calls = built
    db.connect(str(path), create=False)
    yield summary
    db.database.close()


def raw(sql: str, *params) -> list[tuple]:
    return db.database.execute_sql(sql, params).fetchall()


def balances() -> dict[int, int]:
    return dict(raw("SELECT a.id, COALESCE(SUM(l.amount_cents), 0) FROM account a "
                    "LEFT JOIN ledger_entry l ON l.account_id = a.id GROUP BY a.id"))


def digest(tables=("member", "authorized_person", "service_location", "meter", "account", "ledger_entry",
                   "reading", "service_order", "note", "returned_payment", "search_term")) -> str:
    """A hash of the generated rows through the models (so both backends read the same values)."""
    models = {m._meta.table_name: m for m in db.MODELS}
    h = hashlib.sha256()
    for t in tables:
        model = models[t]
        order = [model.term, model.account] if t == "search_term" else [model.id]
        for row in model.select().order_by(*order).tuples():
            h.update(repr(row).encode())
    return h.hexdigest()


# ---- counts and shapes -------------------------------------------------------------------------------

def test_counts_match_the_summary(demo_db):
    s = demo_db
    assert s.accounts == db.Account.select().count() == N
    assert s.members == db.Member.select().count()
    assert N * 0.85 < s.members < N               # some members hold several accounts
    assert s.locations == db.ServiceLocation.select().count() == db.Meter.select().count()
    assert s.readings == db.Reading.select().count() > N * (MONTHS - 1)
    assert s.ledger_entries == db.LedgerEntry.select().count()
    assert s.bills == db.LedgerEntry.select().where(db.LedgerEntry.kind == "bill").count()
    assert s.payments == db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count()
    assert s.returned_payments == db.ReturnedPayment.select().count() > 0
    assert s.service_orders == db.ServiceOrder.select().count() > 0
    assert s.notes == db.Note.select().count() > 0
    assert s.search_terms == db.SearchTerm.select().count()
    statuses = collections.Counter(a.status for a in db.Account.select(db.Account.status))
    assert statuses == {k: v for k, v in (("active", s.active), ("pending", s.pending),
                                          ("disconnected", s.disconnected), ("final", s.final),
                                          ("closed", s.closed)) if v}
    assert 0.9 < s.active / N < 0.97
    assert 0.03 <= (s.final + s.closed) / N <= 0.06
    assert db.get_meta("demo_seed") == "1"
    assert db.get_meta("demo_today") == TODAY.isoformat()


def test_operators_and_the_runner_signed_in_as_an_msr(demo_db):
    roles = {o.username: o.role for o in db.Operator.select()}
    assert roles == {"admin": "admin", "super": "supervisor", "msr1": "msr", "msr2": "msr", "msr3": "msr",
                     "billing1": "billing", "collect1": "collections"}
    assert db.Operator.get(db.Operator.username == "msr1").os_user == getpass.getuser()


def test_members_look_like_north_idaho(demo_db):
    members = list(db.Member.select())
    last = collections.Counter(m.last_name for m in members if m.first_name)
    assert last.most_common(1)[0][1] >= 4                  # common names repeat ...
    assert len(last) > 100                                 # ... among many
    businesses = [m for m in members if not m.first_name]
    assert businesses and all(m.birth_date is None for m in businesses)
    assert {"Rathdrum Feed & Seed", "Hayden Lake Marina LLC"} <= {m.last_name for m in businesses}
    phones = [p for m in members for p in (m.phone_home, m.phone_mobile, m.phone_work) if p]
    assert all(re.fullmatch(r"208\d{7}", p) for p in phones)
    assert all(m.phone_home or m.phone_mobile or m.phone_work for m in members)
    with_email = [m for m in members if m.email]
    assert 0.55 < len(with_email) / len(members) < 0.8
    assert not any("kec.coop" in m.email for m in members)
    assert all(re.fullmatch(r"\d{4}", m.tax_id_last4) and re.fullmatch(r"[0-9a-f]{64}", m.tax_id_hash)
               for m in members)
    assert len({m.tax_id_hash for m in members}) > len(members) * 0.95
    cities = {loc.city for loc in db.ServiceLocation.select()}
    assert {"Coeur d'Alene", "Post Falls", "Hayden", "Rathdrum"} <= cities
    assert all(loc.zip.startswith("838") for loc in db.ServiceLocation.select())
    assert all(re.fullmatch(r"T\d+N R\d+W S\d+ P-\d+", loc.map_location) for loc in db.ServiceLocation.select())
    assert all(re.fullmatch(r"3\d{8}", m.meter_no) for m in db.Meter.select())
    ach = [m for m in members if m.bank_account]
    assert ach and all(len(m.bank_routing) == 9 for m in ach)


def test_the_tax_id_hash_is_the_one_the_bad_debt_audit_computes(demo_db):
    salt = db.get_meta(memberships.TAX_ID_SALT_KEY)
    assert salt and memberships.hash_tax_id(salt, "518123456") == memberships.tax_id_hash("518123456")


def test_account_numbers_carry_a_check_digit(demo_db):
    numbers = [n for (n,) in db.Account.select(db.Account.number).order_by(db.Account.id).tuples()]
    assert all(checkdigit.valid_account_number(str(n)) for n in numbers)
    assert numbers[0] == checkdigit.make_account_number(10000)
    assert len(set(numbers)) == N


def test_money_is_integer_cents(demo_db):
    assert raw("SELECT DISTINCT typeof(amount_cents) FROM ledger_entry") == [("integer",)]
    assert raw("SELECT DISTINCT typeof(deposit_cents) FROM account") == [("integer",)]
    assert all(isinstance(c, int) for (c,) in db.LedgerEntry.select(db.LedgerEntry.amount_cents).tuples())


# ---- the ledger -----------------------------------------------------------------------------------------

def test_every_payment_pays_the_balance_of_its_moment(demo_db):
    running: dict[int, int] = collections.defaultdict(int)
    for account_id, kind, cents in raw("SELECT account_id, kind, amount_cents FROM ledger_entry "
                                       "ORDER BY account_id, id"):
        running[account_id] += cents
        if kind == "payment":
            assert cents < 0 and running[account_id] == 0, account_id
    bal = balances()
    assert bal == {a: running[a] for a in bal}
    status = dict(raw("SELECT id, status FROM account"))
    assert all(b >= 0 for b in bal.values())
    assert all(bal[a] == 0 for a, s in status.items() if s == "closed")
    assert all(bal[a] > 0 for a, s in status.items() if s == "final")
    kinds = dict(raw("SELECT kind, SUM(amount_cents) FROM ledger_entry GROUP BY kind"))
    assert sum(kinds.values()) == sum(bal.values())
    assert kinds["transfer"] == 0                         # a move carries the balance, creates none


def test_bills_follow_the_rate_and_fall_due_in_20_days(demo_db):
    reads = {(a, d): (kwh, r) for a, d, kwh, r in
             db.Reading.select(db.Reading.account, db.Reading.read_date, db.Reading.kwh, db.Reading.reading).tuples()}
    rate = dict(db.Account.select(db.Account.id, db.Account.rate_class).tuples())
    budget = {a for (a,) in db.Account.select(db.Account.id).where(db.Account.budget_billing == True).tuples()}  # noqa: E712
    regular = final = 0
    for e in db.LedgerEntry.select().where(db.LedgerEntry.kind == "bill"):
        a = e.account_id
        assert e.due_date == e.effective + dt.timedelta(days=20)
        if e.reference == "FINAL":
            kwh, days = (int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", e.description))
            assert (kwh, e.effective) == (reads[(a, e.effective)][0], e.effective)
            assert e.amount_cents == fees.bill_cents(rate[a], kwh, days)
            final += 1
        elif "days" not in e.description and a not in budget:
            kwh = reads[(a, e.effective - dt.timedelta(days=2))][0]
            assert e.amount_cents == demo.regular_bill_cents(rate[a], kwh) == \
                fees.RATES[rate[a]][0] + (kwh * fees.RATES[rate[a]][1] + 5) // 10
            regular += 1
    assert regular > N * 4 and final > 5
    for a, (kwh, _r) in reads.items():
        assert kwh >= 0
    res = [kwh for (a, _d), (kwh, _r) in reads.items() if rate[a] == "RES"]
    assert 600 < sum(res) / len(res) < 2000
    late = [c for (c,) in raw("SELECT amount_cents FROM ledger_entry WHERE kind='fee' AND reference='LATE'")]
    assert late and min(late) >= 200


def test_winter_bills_are_bigger_than_spring_ones(tmp_path):
    db.connect(str(tmp_path / "season.db"))
    demo.build_demo(accounts=150, months=12, seed=3, today=dt.date(2025, 9, 30))
    by_month = collections.defaultdict(list)
    for d, kwh in (db.Reading.select(db.Reading.read_date, db.Reading.kwh).join(db.Account)
                   .where(db.Account.rate_class == "RES").tuples()):
        by_month[d.month].append(kwh)
    avg = {m: sum(v) / len(v) for m, v in by_month.items()}
    assert avg[1] > 1.4 * avg[5]
    db.database.close()


def test_returned_payments_are_recorded_as_the_returns_service_does(demo_db):
    R, L = db.ReturnedPayment, db.LedgerEntry
    per_account = collections.defaultdict(list)
    for r in R.select():
        payment, reversal, fee = L.get_by_id(r.payment_id), L.get_by_id(r.reversal_id), L.get_by_id(r.fee_id)
        assert payment.kind == "payment" and reversal.kind == "reversal" and fee.kind == "fee"
        assert reversal.reverses_id == payment.id and reversal.amount_cents == -payment.amount_cents
        assert reversal.reference == payment.reference and reversal.effective == r.returned_on > payment.effective
        assert fee.amount_cents == 2500 and fee.reference == r.code
        per_account[r.account_id].append(r.returned_on)
    cash_only = db.Account.select().where(db.Account.cash_only_until >= TODAY)
    assert cash_only.count() > 0
    for a in cash_only:
        days = per_account.get(a.id, [])
        if len(days) == 2:
            assert a.cash_only_until == max(days).replace(year=max(days).year + 1)


def test_the_flags_a_trainee_must_meet_are_there(demo_db):
    s = demo_db
    A = db.Account
    assert s.delinquent > 0 and s.disconnected > 0 and s.pending > 0
    assert s.written_off > 0 and s.moves > 0 and s.collections > 0
    assert A.select().where(A.medical_cert_until >= TODAY).count() == s.medical_cert > 0
    assert A.select().where(A.landlord == True).count() == s.landlord > 0  # noqa: E712
    for a in A.select().where(A.landlord == True):  # noqa: E712
        assert a.location.owner_name and len(a.location.owner_phone) == 10
    assert A.select().where(A.bankruptcy == True).count() == s.bankruptcy > 0  # noqa: E712
    assert A.select().where(A.budget_billing == True).count() == s.budget_billing > 0  # noqa: E712
    assert A.select().where(A.collections == True).count() == s.collections  # noqa: E712
    assert A.select().where(A.deposit_cents > 0).count() == s.deposits > 0
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "writeoff").count() == s.written_off
    # Delinquent accounts show a past-due amount on the account screen.
    bal = balances()
    past_due = [view(a.id, today=TODAY).past_due_cents for a in A.select().where(A.status == "disconnected")]
    assert past_due and all(c > 0 for c in past_due)
    assert sum(1 for a in A.select().where(A.status == "active")
               if bal[a.id] > 0 and view(a.id, today=TODAY).past_due_cents > 0) >= s.delinquent - s.disconnected
    # Pending accounts wait for their connect; moves point at the new account.
    for a in A.select().where(A.status == "pending"):
        assert db.ServiceOrder.get(db.ServiceOrder.account == a.id).kind == "connect"
        assert not db.LedgerEntry.select().where(db.LedgerEntry.account == a.id,
                                                 db.LedgerEntry.kind == "bill").exists()
    for a in A.select().where(A.transferred_to.is_null(False)):
        new = A.get_by_id(a.transferred_to_id)
        assert a.status == "closed" and new.member_id == a.member_id and new.opened == a.closed
    # Some members hold more than one account.
    multi = (A.select(A.member).group_by(A.member).having(db.pw.fn.COUNT(A.id) > 1)).count()
    assert multi >= s.members * 0.03


def test_orders_and_notes(demo_db):
    O = db.ServiceOrder
    kinds = {k for (k,) in O.select(O.kind).distinct().tuples()}
    assert {"connect", "move_out_read", "move_in_read"} <= kinds and kinds <= set(db.ORDER_KINDS)
    assert {s for (s,) in O.select(O.status).distinct().tuples()} >= {"open", "completed"}
    numbers = [n for (n,) in O.select(O.order_no).order_by(O.id).tuples()]
    assert numbers[0] == 500001 and len(set(numbers)) == len(numbers)
    for o in O.select().where(O.status == "completed"):
        assert o.completed_at and o.completed_by_id
    assert db.Note.select().where(db.Note.text.contains("Landlord agreement")).exists()


# ---- the search index ----------------------------------------------------------------------------------

def test_search_terms_are_the_index_services_terms(demo_db):
    stored = collections.defaultdict(dict)
    for term, account_id, kind in db.SearchTerm.select(db.SearchTerm.term, db.SearchTerm.account,
                                                       db.SearchTerm.kind).tuples():
        stored[account_id][term] = kind
    q = (db.Account.select(db.Account.id, db.Account.number, db.Member.first_name, db.Member.last_name,
                           db.Member.phone_home, db.Member.phone_mobile, db.Member.phone_work, db.Member.email,
                           db.ServiceLocation.street, db.Meter.meter_no)
         .join(db.Member).switch(db.Account).join(db.ServiceLocation).switch(db.Account).join(db.Meter).tuples())
    for aid, number, first, last, home, mobile, work, email, street, meter_no in q:
        assert stored[aid] == search_index.terms_for(first_name=first, last_name=last, street=street,
                                                     phones=[home, mobile, work], email=email,
                                                     meter_no=meter_no, account_number=number)
    kinds = {k for terms in stored.values() for k in terms.values()}
    assert {search_index.NAME, search_index.ADDRESS, search_index.PHONE, search_index.EMAIL,
            search_index.METER, search_index.ACCOUNT} <= kinds


# ---- progress, refusal, settings, determinism --------------------------------------------------------

def test_progress_is_reported_every_percent_and_reaches_the_total(built):
    _path, _summary, calls = built
    total = calls[-1][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total) and total >= N
    done = [d for d, t in calls]
    assert done == sorted(done) and all(t == total for _d, t in calls)
    in_loop = [d for d in done if d <= N]
    assert max(b - a for a, b in zip(in_loop, in_loop[1:])) <= N // 100


def test_refuses_a_database_that_has_accounts(demo_db):
    before = db.LedgerEntry.select().count()
    with pytest.raises(ValueError, match="already has accounts"):
        demo.build_demo(accounts=10, months=1, today=TODAY)
    assert db.LedgerEntry.select().count() == before


def test_sqlite_settings_are_restored_and_the_file_is_sound(tmp_path):
    path = tmp_path / "small.db"
    conn = db.connect(str(path))
    indexes_before = set(raw("SELECT name FROM sqlite_master WHERE type='index'"))
    demo.build_demo(accounts=40, months=2, seed=5, today=TODAY)
    assert conn.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert set(raw("SELECT name FROM sqlite_master WHERE type='index'")) == indexes_before
    assert raw("PRAGMA foreign_key_check") == []
    db.database.close()
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_same_seed_makes_the_same_coop_and_another_seed_another(built, tmp_path):
    path, _summary, _calls = built
    db.connect(str(path), create=False)
    first = digest()
    db.database.close()
    db.connect(str(tmp_path / "again.db"))
    demo.build_demo(accounts=N, months=MONTHS, seed=1, today=TODAY)
    assert digest() == first
    db.database.close()
    db.connect(str(tmp_path / "other.db"))
    demo.build_demo(accounts=N, months=MONTHS, seed=2, today=TODAY)
    assert digest() != first
    db.database.close()


@pytest.mark.parametrize("today, accounts, months", [
    (dt.date(2024, 2, 29), 120, 3), (dt.date(2024, 12, 31), 120, 2), (dt.date(2025, 1, 1), 60, 1),
    (dt.date(2025, 1, 24), 1, 4), (dt.date(2025, 6, 2), 50, 0),
])
def test_any_day_and_size_keeps_the_ledger_sound(tmp_path, today, accounts, months):
    db.connect(str(tmp_path / "edge.db"))
    s = demo.build_demo(accounts=accounts, months=months, seed=11, today=today)
    assert db.Account.select().count() == accounts
    assert raw("SELECT COUNT(*) FROM ledger_entry WHERE effective > ?", today.isoformat()) == [(0,)]
    assert raw("SELECT COUNT(*) FROM reading WHERE read_date > ?", today.isoformat()) == [(0,)]
    if months == 0:
        assert s.readings == s.bills == 0
    running: dict[int, int] = collections.defaultdict(int)
    for account_id, kind, cents in raw("SELECT account_id, kind, amount_cents FROM ledger_entry "
                                       "ORDER BY account_id, id"):
        running[account_id] += cents
        assert kind != "payment" or running[account_id] == 0
    db.database.close()


# ---- PostgreSQL --------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_builds_the_same_coop_and_later_inserts_get_new_ids(request, tmp_path):
    db.connect(str(tmp_path / "twin.db"))
    demo.build_demo(accounts=50, months=3, seed=4, today=TODAY)
    sqlite_digest = digest()
    db.database.close()
    open_database("postgres", request, tmp_path)   # skips without a server, fails in CI
    try:
        s = demo.build_demo(accounts=50, months=3, seed=4, today=TODAY)
        assert s.accounts == db.Account.select().count() == 50
        assert digest() == sqlite_digest
        with pytest.raises(ValueError, match="already has accounts"):
            demo.build_demo(accounts=5, months=1, today=TODAY)
        loc = db.ServiceLocation.create(location_no=999999, street="1 Test Rd", city="Athol", zip="83801")
        assert loc.id == s.locations + 1
        e = db.LedgerEntry.create(account=1, effective=TODAY, kind="adjustment", amount_cents=1)
        assert e.id == s.ledger_entries + 1
    finally:
        db.database.close()
