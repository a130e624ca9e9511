"""Money: integer cents in storage, Decimal in code, text at the edges. Never float."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
_MONEY_RE = re.compile(r"^(-)?\$?(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d{0,2}))?$")


class MoneyError(ValueError):
    """Text that is not an amount of money; the message is fit for the screen."""


def parse(text: str, *, implied_decimal: bool = False) -> int:
    """Parse keyed text into integer cents.

    Accepts `123.45`, `$1,234.5`, `-12`, `(12.00)`; with implied_decimal
    (10-key mode) a run of digits carries two decimals: `12345` -> 12345 cents.
    """
    raw = text.strip().replace(" ", "")
    if not raw:
        raise MoneyError("Enter an amount")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    if raw.endswith("-"):  # Field- on a 5250 leaves a trailing minus
        negative, raw = True, raw[:-1]
    if implied_decimal and raw.lstrip("-").isdigit():
        sign = -1 if raw.startswith("-") else 1
        cents = int(raw.lstrip("-")) * sign
        return -cents if negative else cents
    m = _MONEY_RE.match(raw)
    if not m or not (m.group(2) or m.group(3)):
        raise MoneyError(f"Not an amount: {text.strip()[:20]!r} (use digits and one decimal point)")
    whole = (m.group(2) or "0").replace(",", "")
    frac = (m.group(3) or "").ljust(2, "0")
    cents = int(whole) * 100 + int(frac)
    if m.group(1):
        negative = not negative
    return -cents if negative else cents


def to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def from_decimal(value: Decimal) -> int:
    try:
        q = value.quantize(CENT)
    except InvalidOperation as exc:
        raise MoneyError(f"Not an amount: {value}") from exc
    if q != value:
        raise MoneyError(f"{value} has fractions of a cent")
    return int(q * 100)


def fmt(cents: int, *, sign: bool = False) -> str:
    """`1234567` -> `12,345.67`; negative as `-12.34` (credit shown with CR by the caller if wanted)."""
    neg = cents < 0
    whole, frac = divmod(abs(cents), 100)
    body = f"{whole:,}.{frac:02d}"
    if neg:
        return "-" + body
    return ("+" + body) if sign and cents > 0 else body


def fmt_dollars(cents: int) -> str:
    neg = cents < 0
    whole, frac = divmod(abs(cents), 100)
    return f"{'-' if neg else ''}${whole:,}.{frac:02d}"
