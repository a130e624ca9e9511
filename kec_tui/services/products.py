"""The counter's price list: products the co-op sells (LED bulbs, surge protectors, meter base
adapters ...), each with a price and whether sales tax applies. Supervisors edit it (audited); a
sale keeps the price and tax of its day (services/counter.py). Sales tax is a setting,
`sales_tax_percent` (text, never float; Idaho's 6% by default)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo, require

TAX_PERCENT = Decimal("6")
_tax_percent = TAX_PERCENT
MAX_PRICE_CENTS = 999_999
MAX_QUANTITY = 999

DEMO = (   # code, description, price, taxable
    ("LED9", "LED bulb 9W (60W equiv.)", 250, True),
    ("LED4PK", "LED bulbs 9W, 4-pack", 800, True),
    ("LEDFLOOD", "LED flood light 15W", 1200, True),
    ("SURGE", "Surge protector, 6 outlet", 2495, True),
    ("WHSURGE", "Whole-house surge protector", 14900, True),
    ("MBADAPT", "Meter base adapter (generator)", 8500, True),
    ("NIGHTLT", "LED night light", 300, True),
    ("KILLAWT", "Energy use monitor (loan deposit)", 2000, False),
)


def configure(settings: config.Settings) -> Decimal:
    global _tax_percent
    value = Decimal(str(settings.sales_tax_percent))
    if value < 0 or value > 25:
        raise ValueError(f"Setting sales_tax_percent must be 0-25, not {settings.sales_tax_percent!r}")
    _tax_percent = value
    return value


def tax_percent() -> Decimal:
    return _tax_percent


def tax_cents(taxable_cents: int, percent: Decimal | None = None) -> int:
    """Sales tax on an amount, rounded half up to the cent."""
    rate = _tax_percent if percent is None else percent
    return int((Decimal(taxable_cents) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ProductInfo:
    id: int
    code: str
    description: str
    price_cents: int
    taxable: bool
    active: bool


def _info(p: db.Product) -> ProductInfo:
    return ProductInfo(p.id, p.code, p.description, p.price_cents, p.taxable, p.active)


def clean_code(code: str) -> str:
    text = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{1,12}", text):
        raise ValidationError("An item code is 1-12 letters and digits", "code")
    return text


@db.connected
def price_list(include_inactive: bool = False) -> list[ProductInfo]:
    q = db.Product.select().order_by(db.Product.code)
    if not include_inactive:
        q = q.where(db.Product.active == True)  # noqa: E712
    return [_info(p) for p in q]


@db.connected
def find(code: str) -> ProductInfo:
    """The active product with this code; NotFound otherwise."""
    text = (code or "").strip().upper()
    p = db.Product.get_or_none(db.Product.code == text, db.Product.active == True)  # noqa: E712
    if p is None:
        raise NotFound(f"No item {text[:12]!r} on the price list", "item")
    return _info(p)


@db.connected
def save(op: OperatorInfo, code: str, description: str, price_cents: int, taxable: bool = True,
         active: bool = True) -> ProductInfo:
    """Add an item or change one (price, description, taxable, active); audited."""
    require(op, "product.edit")
    code = clean_code(code)
    description = (description or "").strip()
    if not description:
        raise ValidationError("Describe the item", "description")
    card_numbers.refuse(description, "description")
    if isinstance(price_cents, bool) or not isinstance(price_cents, int) or not 0 < price_cents <= MAX_PRICE_CENTS:
        raise ValidationError(f"A price is more than zero and at most {money.fmt_dollars(MAX_PRICE_CENTS)}", "price")
    with db.write_txn():
        p = db.Product.get_or_none(db.Product.code == code)
        before = (f"{p.description} {money.fmt(p.price_cents)} {'T' if p.taxable else 'NT'}"
                  f"{'' if p.active else ' inactive'}") if p else ""
        if p is None:
            p = db.Product.create(code=code, description=description[:60], price_cents=price_cents,
                                  taxable=taxable, active=active)
        else:
            db.Product.update(description=description[:60], price_cents=price_cents, taxable=taxable,
                              active=active).where(db.Product.id == p.id).execute()
            p = db.Product.get_by_id(p.id)
        audit.record(op, "product.save", "product", p.id, field=code, before=before,
                     after=f"{p.description} {money.fmt(p.price_cents)} {'T' if p.taxable else 'NT'}"
                           f"{'' if p.active else ' inactive'}")
    return _info(p)


def seed_demo() -> int:
    """The demo price list (no operator: the demo builder's data); returns how many were added."""
    added = 0
    for code, description, price, taxable in DEMO:
        _, made = db.Product.get_or_create(code=code, defaults={"description": description, "price_cents": price,
                                                               "taxable": taxable})
        added += made
    return added
