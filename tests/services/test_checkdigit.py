import pytest
from hypothesis import given, strategies as st

from kec_tui import checkdigit as cd


def test_domain_examples():
    assert cd.make_account_number(12345) == 123457
    assert cd.make_scan_line(123457, 12345) == "000012345700000123457"
    assert cd.parse_scan_line("000012345700000123457") == cd.ScanLine(123457, 12345)


@given(st.integers(min_value=1, max_value=10**9))
def test_every_made_number_is_valid(base):
    assert cd.valid_account_number(str(cd.make_account_number(base)))


@given(st.integers(min_value=10, max_value=10**8), st.data())
def test_any_single_wrong_digit_is_caught(base, data):
    number = str(cd.make_account_number(base))
    pos = data.draw(st.integers(0, len(number) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != number[pos]]))
    assert not cd.valid_account_number(number[:pos] + new + number[pos + 1:])


@given(st.integers(min_value=10000, max_value=10**8), st.integers(min_value=0, max_value=10**9))
def test_scan_line_round_trip_and_single_digit_errors(base, cents):
    acct = cd.make_account_number(base)
    line = cd.make_scan_line(acct, cents)
    assert cd.parse_scan_line(line) == cd.ScanLine(acct, cents)
    broken = line[:-1] + str((int(line[-1]) + 1) % 10)
    with pytest.raises(cd.ScanError):
        cd.parse_scan_line(broken)


@pytest.mark.parametrize("text,needle", [
    ("00001234570000012345", "expected 21"), ("0000123457000001234x7", "not digits"),
    ("000012345700000123458", "check digit"),
])
def test_bad_scan_lines_have_messages(text, needle):
    with pytest.raises(cd.ScanError, match=needle):
        cd.parse_scan_line(text)


@pytest.mark.parametrize("text", ["", "x", "7", "123458", "12a457"])
def test_invalid_account_numbers(text):
    assert not cd.valid_account_number(text)


def test_the_barcode_form_is_the_scan_line_with_one_leading_0():
    line = cd.make_scan_line(123457, 12345)
    assert cd.ScanLayout().barcode_length == 22 and cd.barcode_digits(line) == "0" + line
    assert cd.parse_scan_line("0" + line) == cd.parse_scan_line(line) == cd.ScanLine(123457, 12345)
    even = cd.ScanLayout(account_width=10, amount_width=9)  # 20 digits: the barcode is the line itself
    line20 = cd.make_scan_line(123457, 12345, even)
    assert even.barcode_length == 20 and cd.barcode_digits(line20) == line20
    assert cd.parse_scan_line(line20, even) == cd.ScanLine(123457, 12345)
    with pytest.raises(cd.ScanError, match="expected 20"):
        cd.parse_scan_line("0" + line20, even)


@pytest.mark.parametrize("text,needle", [
    ("1" + cd.make_scan_line(123457, 12345), "22 only from the barcode, starting with 0"),   # not the pad digit
    (cd.make_scan_line(123457, 12345) + "0", "check digit"),                           # a digit too many
    ("0" + cd.make_scan_line(123457, 12345)[:-1] + "8", "check digit"),                # padded, one digit wrong
    ("00" + cd.make_scan_line(123457, 12345), "23 digits, expected 21"),
    ("9" + cd.make_scan_line(123457, 12345)[1:], "check digit"),                       # 21 digits, the first wrong
])
def test_only_exactly_the_padded_barcode_form_is_read(text, needle):
    with pytest.raises(cd.ScanError, match=needle):
        cd.parse_scan_line(text)
