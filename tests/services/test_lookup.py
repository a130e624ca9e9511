import pytest

from kec_tui.checkdigit import make_account_number
from kec_tui.services import accounts
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
