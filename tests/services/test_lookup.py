import datetime as dt
import threading

import pytest

from kec_tui import db, demo
from kec_tui.checkdigit import make_account_number
from kec_tui.services import accounts, contacts, memberships, moves, search_index
from tests import factories


@pytest.fixture
def people(database):
    return {
        "ada": factories.account(first="Ada", last="Lovelace", street="1234 N Government Way",
                                 phone="2085550100", email="ada.lovelace@gmail.com", meter_no="300000001"),
        "smith": factories.account(first="John", last="Smith", street="88 W Prairie Ave", phone="2086661234",
                                   email="jsmith@frontier.com", meter_no="300000002"),
        "smithson": factories.account(first="Mary", last="Smithson", street="5 Smyth Rd", phone="2087770000",
                                      email="", meter_no="300000003"),
        "jones": factories.account(first="Smith", last="Jones", street="9 Lancaster Rd", phone="2088881111",
                                   email="sj@yahoo.com", meter_no="300000004"),
    }


def numbers(result):
    return [h.number for h in result.hits]


def test_exact_account_number(people):
    n = people["ada"].number
    r = accounts.lookup(str(n))
    assert numbers(r) == [n] and r.hits[0].matched == "account"


def test_wrong_check_digit_says_so(people):
    n = str(people["ada"].number)
    bad = n[:-1] + str((int(n[-1]) + 1) % 10)
    r = accounts.lookup(bad)
    assert "check digit" in r.message
    assert people["ada"].number not in numbers(r)


def test_unknown_but_valid_account(people):
    r = accounts.lookup(str(make_account_number(99999)))
    assert r.hits == [] and "No account" in r.message


def test_name_prefix_any_order_best_first(people):
    r = accounts.lookup("smi")
    assert numbers(r)[-1] == people["smithson"].number   # 'smith' words before 'smithson'
    assert set(numbers(r)) == {people["smith"].number, people["smithson"].number, people["jones"].number}
    assert numbers(accounts.lookup("smith john")) == [people["smith"].number]
    assert numbers(accounts.lookup("john smith")) == [people["smith"].number]
    assert numbers(accounts.lookup("smi jon")) == [people["jones"].number]


def test_exact_word_outranks_longer_words(people):
    r = accounts.lookup("smith")
    assert r.hits[0].term == "smith"
    assert r.hits[-1].term == "smithson"


def test_phone_email_meter_address(people):
    assert numbers(accounts.lookup("(208) 666-1234")) == [people["smith"].number]
    assert numbers(accounts.lookup("666-1234")) == [people["smith"].number]
    assert numbers(accounts.lookup("jsmith@frontier.com")) == [people["smith"].number]
    assert numbers(accounts.lookup("ada.lovelace@gm")) == [people["ada"].number]
    assert numbers(accounts.lookup("300000003")) == [people["smithson"].number]
    assert numbers(accounts.lookup("1234 government")) == [people["ada"].number]
    assert accounts.lookup("prairie").hits[0].matched == "address"


def test_empty_and_symbols_only(people):
    assert accounts.lookup("").hits == [] and "Type" in accounts.lookup("   ").message
    r = accounts.lookup("*()-\"'")
    assert r.hits == [] and "Nothing to search" in r.message


@pytest.mark.parametrize("q", ['"smith', "smith*", "(smith", "-smith", "NEAR(smith", "smith AND jones",
                               "smith OR x", "NOT smith", "'; DROP TABLE account; --", "smi%", "smi_"])
def test_metacharacters_are_just_text(people, q):
    r = accounts.lookup(q)   # must not raise; words are matched literally
    assert isinstance(r.hits, list)
    assert accounts.lookup("smith").hits  # and the table is still there


def test_long_paste_is_cut_not_crashing(people):
    r = accounts.lookup("smith " * 2000)
    assert people["smith"].number in numbers(r)


def test_paging_continues_without_repeats(database):
    made = [factories.account(first=f"F{i}", last="Miller") for i in range(7)]
    first = accounts.lookup("miller", limit=3)
    assert len(first.hits) == 3 and first.more
    seen = numbers(first)
    cursor = first.cursor
    while cursor:
        page = accounts.lookup("miller", limit=3, after=cursor)
        seen += numbers(page)
        cursor = page.cursor
    assert sorted(seen) == sorted(a.number for a in made)


def test_account_id_for_number(people):
    from kec_tui.services.errors import NotFound, ValidationError
    assert accounts.account_id_for_number(str(people["ada"].number)) == people["ada"].id
    with pytest.raises(ValidationError, match="check digit"):
        accounts.account_id_for_number("123458")
    with pytest.raises(NotFound):
        accounts.account_id_for_number(str(make_account_number(77777)))
    with pytest.raises(ValidationError, match="digits"):
        accounts.account_id_for_number("12a")


# ---- addresses and names as people type them, on a demo co-op ------------------------------------

@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_url(request, tmp_path_factory):
    """A small demo co-op (both backends), plus the addresses and names the cases below type."""
    from tests.conftest import pg_url, worker_id
    if request.param == "postgres":
        url = pg_url("demo" + worker_id(request))
        db.connect(url, create=False)
        db.drop_all()
        db.migrate()
    else:
        url = str(tmp_path_factory.mktemp("lookup") / "demo.db")
        db.connect(url)
    demo.build_demo(accounts=300, months=1, seed=5)
    factories.account(first="Ada", last="Quill", street="9428 W Canfield Ave", base=900_001)
    factories.account(first="Bo", last="Quill", street="94280 N Canfield Rd", base=900_008)
    factories.account(first="Cy", last="Quill", street="9428 W Canfieldview Ave", base=900_015)
    factories.account(first="Brian", last="O'Brien", street="12 S Alpha St", base=900_022)
    factories.account(first="Nora", last="Lane", street="77 W Pine Ave", base=900_029)
    factories.account(first="Rex", last="Way", street="3 E Birch Ln", base=900_036)
    # A new-construction location: no account yet, only the forms' location search finds it.
    db.ServiceLocation.create(location_no=900_043, street="7368 E Coeur d'Alene Ave", city="Coeur d'Alene",
                              zip="83814", map_location="T50N R4W S1")
    db.database.close()
    return url


@pytest.fixture
def demo_co_op(demo_url):
    db.connect(demo_url, create=False)
    yield
    db.database.close()


def streets(result):
    return [h.service_address.split(",")[0] for h in result.hits]


@pytest.mark.parametrize("q", ["9428 W Canfield Ave", "9428 w canfield", "9428 West Canfield Avenue",
                               "9428 w. canfield ave.", "canfield 9428"])
def test_an_address_as_typed_finds_it_first(demo_co_op, q):
    r = accounts.lookup(q)
    assert streets(r)[0] == "9428 W Canfield Ave"
    assert "94280 N Canfield Rd" in streets(r)            # a longer house number is a prefix match, after it
    assert streets(r).index("94280 N Canfield Rd") > 0


def test_street_and_type_without_house_number(demo_co_op):
    r = accounts.lookup("canfield ave", limit=200)
    found = streets(r)
    assert "9428 W Canfield Ave" in found and "94280 N Canfield Rd" in found
    assert all("canfield" in s.lower() for s in found)
    # The exact street word before longer ones (canfield before canfieldview).
    assert found.index("9428 W Canfieldview Ave") > found.index("9428 W Canfield Ave")


def test_demo_addresses_as_typed(demo_co_op):
    """Every form of a demo street: with and without direction and street type, lower case."""
    import re
    pattern = re.compile(r"^(\d+) ([NSEW]) ([A-Z][a-z]+) (Ave|St|Rd|Dr|Ln)$")
    tried = 0
    for (street,) in db.ServiceLocation.select(db.ServiceLocation.street).join(
            db.Account, on=db.Account.location == db.ServiceLocation.id).tuples():
        m = pattern.match(street)
        if not m:
            continue
        num, direction, name, kind = m.groups()
        for q in (street, f"{num} {direction.lower()} {name.lower()}", f"{num} {name}", f"{name} {kind} {num}"):
            assert streets(accounts.lookup(q))[0] == street, q
        tried += 1
        if tried == 10:
            break
    assert tried == 10


def test_every_demo_street_as_written_finds_its_own_address_first(demo_co_op):
    """Lot and Apt numbers, E beside W on the same street, a member named like the street:
    the whole address as written is first."""
    rows = db.ServiceLocation.select(db.ServiceLocation.street).join(
        db.Account, on=db.Account.location == db.ServiceLocation.id).order_by(db.Account.id).limit(150).tuples()
    for (street,) in rows:
        assert streets(accounts.lookup(street))[0] == street, street


@pytest.mark.parametrize("q", ["obrien", "o'brien", "O’Brien", "OBRIEN brian", "brien", "o brien"])
def test_apostrophes_fold(demo_co_op, q):
    assert "O'Brien" in [h.name.split(",")[0] for h in accounts.lookup(q, limit=100).hits]


def test_demo_names_with_apostrophes(demo_co_op):
    names = {last for (last,) in db.Member.select(db.Member.last_name).where(db.Member.last_name.contains("'"))
             .tuples()}
    assert names
    for last in names:
        hits = accounts.lookup(last.replace("'", ""), limit=100).hits
        assert last in [h.name.split(",")[0] for h in hits], last


def test_a_query_of_only_street_words_searches_them(demo_co_op):
    assert "Way, Rex" in [h.name for h in accounts.lookup("way", limit=100).hits]
    r = accounts.lookup("ave st")
    assert isinstance(r.hits, list) and (r.hits or "Nothing found" in r.message)


def test_a_spelled_out_street_word_may_be_a_name(demo_co_op):
    assert accounts.lookup("nora lane").hits[0].name == "Lane, Nora"
    assert accounts.lookup("77 west pine").hits[0].name == "Lane, Nora"


def test_two_common_words_page_without_repeats(demo_co_op):
    first = accounts.lookup("quill canfield", limit=2)
    assert first.more and len(first.hits) == 2
    second = accounts.lookup("quill canfield", limit=2, after=first.cursor)
    assert {h.name for h in first.hits + second.hits} == {"Quill, Ada", "Quill, Bo", "Quill, Cy"}


def test_a_name_with_a_phone_still_found(demo_co_op):
    ada = accounts.lookup("quill ada").hits[0]
    assert ada.name == "Quill, Ada"
    assert [h.number for h in accounts.lookup("quill 5550100", limit=50).hits].count(ada.number) == 1


@pytest.mark.parametrize("q", ["7368 coeur", "7368 e coeur", "7368 East Coeur d'Alene Avenue",
                               "7368 E Coeur d'Alene Ave", "7368 coeur dalene"])
def test_the_forms_location_search_reads_streets_like_the_lookup(demo_co_op, q):
    found = memberships.find_locations(q, limit=30)
    assert [x.address.split(",")[0] for x in found][:1] == ["7368 E Coeur d'Alene Ave"], q


def test_the_forms_location_search_puts_the_whole_address_first(demo_co_op):
    found = [x.address.split(",")[0] for x in memberships.find_locations("9428 w canfield")]
    assert found[0] == "9428 W Canfield Ave" and "94280 N Canfield Rd" in found
    assert memberships.find_locations("900043")[0].address.startswith("7368 E Coeur")


# ---- the pair index stays right ---------------------------------------------------------------------

def stored_index() -> tuple[set, set]:
    return (set(db.SearchTerm.select(db.SearchTerm.term, db.SearchTerm.account, db.SearchTerm.kind).tuples()),
            set(db.SearchPair.select(db.SearchPair.key, db.SearchPair.account, db.SearchPair.kind).tuples()))


def rebuilt_index() -> tuple[set, set]:
    before = stored_index()
    with db.database.atomic() as txn:
        search_index.rebuild_all()
        after = stored_index()
        txn.rollback()
    assert stored_index() == before
    return after


def test_the_pair_index_follows_every_write(database, msr):
    a = factories.account(first="Zed", last="Quimby", street="12 N Alpha Rd", phone="2085551234")
    assert stored_index() == rebuilt_index()
    assert numbers(accounts.lookup("zed alpha")) == [a.number]
    contacts.update_contacts(msr, a.member_id, {"phone_home": "2085559999", "email": "zq@example.com"})
    assert stored_index() == rebuilt_index()
    assert numbers(accounts.lookup("zed quim")) == [a.number]
    loc = memberships.add_location(msr, "40 S Bravo Ave", "Post Falls", "83854")
    db.Reading.create(account=a, meter=a.meter, read_date=dt.date(2025, 1, 10), reading=1000, kwh=800)
    moved = moves.transfer_service(msr, a.id, loc.id, 1500, when=dt.datetime(2025, 2, 10, 10))
    assert stored_index() == rebuilt_index()
    new_number = db.Account.get_by_id(moved.new_account_id).number
    assert numbers(accounts.lookup("quimby bravo")) == [new_number]
    assert numbers(accounts.lookup("quimby 40 bravo avenue")) == [new_number]


def test_an_index_of_an_older_format_is_rebuilt_on_start(database):
    a = factories.account(first="Ida", last="O'Hara", street="5 W Cedar St")
    db.database.execute_sql('DROP TABLE "search_pair"')
    db.SearchTerm.delete().where(db.SearchTerm.term == "ohara").execute()     # the old folding kept no "ohara"
    db.Meta_.delete().where(db.Meta_.key == "search_index_version").execute()
    db.database.close()
    db.connect(database)
    assert numbers(accounts.lookup("ohara cedar")) == [a.number]
    assert db.get_meta("search_index_version") == search_index.INDEX_VERSION
    assert stored_index() == rebuilt_index()


def test_lookup_from_a_thread_without_a_connection(people):
    """A screen's thread worker calls the service as is: it opens that thread's connection and closes it."""
    found = {}

    def worker():
        found["closed_before"] = db.database.is_closed()
        found["numbers"] = numbers(accounts.lookup("lovelace"))
        found["closed_after"] = db.database.is_closed()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert found == {"closed_before": True, "numbers": [people["ada"].number], "closed_after": True}
