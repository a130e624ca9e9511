from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from kec_tui import money

cents = st.integers(min_value=-10**12, max_value=10**12)


@given(cents)
def test_format_then_parse_round_trips(c):
    assert money.parse(money.fmt(c)) == c
    assert money.parse(money.fmt_dollars(c).replace("$", "")) == c


@given(cents)
def test_decimal_round_trip_is_exact(c):
    d = money.to_decimal(c)
    assert isinstance(d, Decimal)
    assert money.from_decimal(d) == c


@given(st.integers(min_value=0, max_value=9_999_999))
def test_implied_decimal(c):
    assert money.parse(str(c), implied_decimal=True) == c


@pytest.mark.parametrize("text,expected", [
    ("123.45", 12345), ("$1,234.50", 123450), ("12", 1200), (".5", 50), ("0.07", 7),
    ("-12.00", -1200), ("(3.10)", -310), ("45.00-", -4500), (" 7.1 ", 710),
])
def test_parse_examples(text, expected):
    assert money.parse(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.234", "12..3", "1,23", "$", "1e5", "NaN", "--5", "12.3.4"])
def test_parse_refuses_with_message(text):
    with pytest.raises(money.MoneyError) as e:
        money.parse(text)
    assert str(e.value)


def test_no_float_anywhere():
    # 0.1 + 0.2 style drift cannot happen: sums of parsed cents are exact.
    assert sum(money.parse("0.10") for _ in range(3)) == money.parse("0.30")


def test_fractions_of_a_cent_refused():
    with pytest.raises(money.MoneyError):
        money.from_decimal(Decimal("1.005"))
