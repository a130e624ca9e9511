"""Card numbers are never stored (PCI DSS): every free-text field the application stores passes here.

A payment card number (PAN) is 13-19 digits passing the Luhn check; people key it with spaces or
dashes between the groups. `refuse` raises a ValidationError naming the field when a text holds one;
every service that stores free text (notes, references, reasons, contact fields, addresses, names)
calls it before it writes (tests/services/test_card_numbers.py drives every one of them).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from kec_tui.services.errors import ValidationError

# Digits, possibly with single spaces or dashes between them: the candidate runs to test.
_RUN = re.compile(r"\d(?:[ \-]?\d)+")
MESSAGE = "looks like a payment card number: card numbers are never stored (key the last four digits only)"


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def has_card_number(text: str | None) -> bool:
    """Whether the text holds 13-19 digits that pass Luhn: one group of digits, or consecutive groups
    joined by single spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111 exp 12/26").
    A longer unbroken run (a 21-digit scan line) is not a card number."""
    if not text:
        return False
    for m in _RUN.finditer(str(text)):
        groups = re.split(r"[ \-]", m.group())
        for i in range(len(groups)):
            joined = ""
            for group in groups[i:]:
                joined += group
                if len(joined) > 19:
                    break
                if len(joined) >= 13 and luhn_ok(joined):
                    return True
    return False


def refuse(text: str | None, field: str, label: str | None = None) -> None:
    """ValidationError(field) if the text holds a card number."""
    if has_card_number(text):
        raise ValidationError(f"{label or field.replace('_', ' ').capitalize()} {MESSAGE}", field)


def refuse_all(fields: Mapping[str, str | None]) -> None:
    """`refuse` on each field -> text."""
    for field, text in fields.items():
        if isinstance(text, str):
            refuse(text, field)
