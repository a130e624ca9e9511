"""Check digits: account numbers and the bill stub's scan line.

Account numbers end in a mod-10 check digit weighted 3,1,3,1... from the
rightmost digit (the co-op's printed example 123457 = 12345 + 7), which
catches every single mis-keyed digit at the keyboard. The scan line uses the
bill printer's mod 10 with weights 2,1,2,1... from the left, adding the digits
of each product (DOMAIN.md).
"""
from __future__ import annotations

from dataclasses import dataclass


def account_check_digit(base: str | int) -> int:
    digits = str(base)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def make_account_number(base: int) -> int:
    return base * 10 + account_check_digit(base)


def valid_account_number(text: str) -> bool:
    text = text.strip()
    if not text.isdigit() or len(text) < 2:
        return False
    return account_check_digit(text[:-1]) == int(text[-1])


def mod10_scan(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return (10 - total % 10) % 10


@dataclass(frozen=True)
class ScanLayout:
    """Field widths of the stub's OCR line; the bill printer's, so a setting."""

    account_width: int = 10
    amount_width: int = 10

    @property
    def length(self) -> int:
        return self.account_width + self.amount_width + 1

    @property
    def barcode_length(self) -> int:
        """The digits of the stub's Interleaved 2 of 5 barcode: the scan line's, one leading 0
        added when they are odd (I2of5 pairs digits). A wedge scanner types these."""
        return self.length + self.length % 2


class ScanError(ValueError):
    pass


@dataclass(frozen=True)
class ScanLine:
    account_number: int
    amount_cents: int


def make_scan_line(account_number: int, amount_cents: int, layout: ScanLayout = ScanLayout()) -> str:
    body = f"{account_number:0{layout.account_width}d}{amount_cents:0{layout.amount_width}d}"
    return body + str(mod10_scan(body))


def barcode_digits(scan_line: str) -> str:
    """What the stub's barcode carries for a scan line: its digits, a leading 0 when they are odd."""
    return "0" * (len(scan_line) % 2) + scan_line


def parse_scan_line(text: str, layout: ScanLayout = ScanLayout()) -> ScanLine:
    """The scan line as printed (OCR, or keyed), or as the barcode carries it: exactly the
    barcode's length with its leading pad 0. Anything else is refused."""
    text = text.strip()
    if not text.isdigit():
        raise ScanError("Scan line has characters that are not digits")
    if len(text) == layout.barcode_length != layout.length:
        if text[0] != "0":
            raise ScanError(f"Scan line has {len(text)} digits, expected {layout.length} "
                            f"({len(text)} only from the barcode, starting with 0): rescan or key the stub")
        text = text[1:]
    if len(text) != layout.length:
        raise ScanError(f"Scan line has {len(text)} digits, expected {layout.length} (truncated?)")
    body, check = text[:-1], int(text[-1])
    if mod10_scan(body) != check:
        raise ScanError("Scan line check digit does not match: rescan or key the stub")
    account = body[: layout.account_width]
    if not valid_account_number(account.lstrip("0") or "0"):
        raise ScanError("Scan line account number fails its check digit")
    return ScanLine(int(account), int(body[layout.account_width:]))


def aba_check_digit(first8: str) -> int:
    """The 9th digit of an ABA routing number: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    total = sum(int(ch) * w for ch, w in zip(first8, weights, strict=True))
    return (10 - total % 10) % 10


def valid_routing(text: str) -> bool:
    """A 9-digit ABA routing number whose check digit (weights 3, 7, 1) is right."""
    return len(text) == 9 and text.isdigit() and aba_check_digit(text[:8]) == int(text[8])
