"""The bill of one account for one period, from its rate schedule versions: a pure
function (no database), so a bill can be worked by hand, tested, explained, and asked
"what would my bill be".

Rules (DOMAIN.md, the co-op's tariff):
- Charges are per month. A period of FULL_PERIOD_DAYS or more pays a whole month; a
  shorter one (a first or final bill) pays days/30 of it, energy blocks included.
- A rate change inside the period splits it by days: each part is billed on its own
  version for its share of the days, kWh shared out by days (the last part takes
  what rounding leaves), and its lines say which dates they cover.
- The season is the season of the month the meter was read.
- Demand is billed per kW over the threshold; the minimum charge tops the bill up
  (before the net-metering credit and the franchise fee); reverse kWh are credited at
  the avoided-cost rate; the city's franchise fee is a percent of the lines before it.
- Each line is rounded half up to the cent on its own; the total is the sum of lines.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kec_tui.services import rates
from kec_tui.services.errors import ValidationError
from kec_tui.services.rates import RateVersion

FULL_PERIOD_DAYS = 27       # a regular period (28-31 days) pays a whole month
MONTH_DAYS = 30             # a shorter period pays days/30 of a month


@dataclass(frozen=True)
class Line:
    code: str               # customer, lamp, energy, demand, pca, minimum, netmeter, fee
    description: str
    quantity: str
    rate: str
    amount_cents: int


@dataclass(frozen=True)
class BillCalc:
    schedule: str
    period_start: dt.date
    period_end: dt.date
    days: int
    kwh: int
    lines: tuple[Line, ...]

    @functools.cached_property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


def to_cents(dollars: Decimal) -> int:
    """Half up (away from zero) to the cent, as integer cents."""
    return int((dollars * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _share(total: int, parts: list[int], whole: int) -> list[int]:
    """`total` shared out in proportion to `parts` (which add up to `whole`); the last part
    takes what rounding leaves, so the shares add up exactly."""
    out, given = [], 0
    for i, p in enumerate(parts):
        if i == len(parts) - 1:
            out.append(total - given)
        else:
            n = int((Decimal(total) * p / whole).quantize(Decimal(1), ROUND_HALF_UP))
            out.append(n)
            given += n
    return out


def _line(code: str, description: str, quantity: str, rate: str, amount_cents: int) -> Line:
    """A line as stored (descriptions to 120 characters, quantity and rate to 30)."""
    return Line(code, description[:120], quantity[:30], rate[:30], amount_cents)


def _rate(d: Decimal, unit: str) -> str:
    return f"${d}/{unit}"


def season_day(end: dt.date) -> dt.date:
    """The day whose month gives the bill's season: the read day (a read on the 1st: the day before)."""
    return end - dt.timedelta(days=1) if end.day == 1 else end


@dataclass(frozen=True)
class _Part:
    """What a part of a period bills whatever its kWh: the customer and lamp lines, the energy
    blocks (kWh limit for the part, label, rate, printed rate), the PCA's words, the minimum."""

    fixed: tuple[Line, ...]
    blocks: tuple[tuple[int | None, str, Decimal, str], ...]
    pca_description: str
    pca_rate: str
    minimum: Decimal


# By version (its id, the version kept beside it so the id is not reused), month share, dates,
# season and lamps: a billing run's bills share a handful.
_parts: dict[tuple, tuple[RateVersion, _Part]] = {}


def _part(v: RateVersion, month: Decimal, when: str, share: str, season: str, lamps: int) -> _Part:
    key = (id(v), month, when, share, season, lamps)
    got = _parts.get(key)
    if got is not None and got[0] is v:
        return got[1]
    fixed: list[Line] = []
    if v.customer_charge:
        months = f"{month:.4f} mo" if month != 1 else "1 mo"
        fixed.append(_line("customer", f"Service availability charge{when}", months,
                           _rate(v.customer_charge, "mo") + share, to_cents(v.customer_charge * month)))
    if v.lamp_charge:
        s = "s" if lamps != 1 else ""
        fixed.append(_line("lamp", f"Security light{s}{when}", f"{lamps} lamp{s}",
                           _rate(v.lamp_charge, "lamp") + share, to_cents(v.lamp_charge * lamps * month)))
    blocks = v.energy.get(season, ())
    seasonal = v.energy.get("winter") != v.energy.get("summer")
    in_season = f" ({season})" if seasonal else ""
    table = []
    for i, blk in enumerate(blocks):
        limit = None if blk.up_to is None else int((Decimal(blk.up_to) * month).quantize(Decimal(1), ROUND_HALF_UP))
        if len(blocks) == 1:
            label = "Energy"
        elif blk.up_to is not None:
            label = f"Energy, first {blk.up_to:,} kWh" if i == 0 else f"Energy, next kWh to {blk.up_to:,}"
        else:
            label = f"Energy, over {blocks[i - 1].up_to:,} kWh"
        table.append((limit, f"{label}{in_season}{when}"[:120], blk.rate, _rate(blk.rate, "kWh")[:30]))
    part = _Part(tuple(fixed), tuple(table), f"Power cost adjustment{when}"[:120],
                 _rate(v.pca_per_kwh, "kWh")[:30], v.minimum_charge * month)
    if len(_parts) > 10_000:
        _parts.clear()
    _parts[key] = (v, part)
    return part


def period_key(versions: list[RateVersion], start: dt.date, end: dt.date) -> tuple:
    """What a bill's lines take from its period: a whole period (FULL_PERIOD_DAYS or more) on one
    version bills a whole month on it, and its dates print nowhere, so only the version and the
    season count; any other period (short, or split by a rate change) also its dates. Two bills with
    the same key and the same kWh, demand, reverse kWh, city and lamps have the same lines."""
    if len(versions) == 1 and (end - start).days >= FULL_PERIOD_DAYS:
        v = versions[0]
        return (v.code, v.effective, v.season(season_day(end)))
    return tuple((v.code, v.effective) for v in versions) + (start, end)


def calculate(versions: list[RateVersion], start: dt.date, end: dt.date, kwh: int, *,
              demand_kw: Decimal | None = None, reverse_kwh: int = 0, city: str = "",
              lamps: int = 1) -> BillCalc:
    """The bill lines for kWh used between the reads of `start` and `end` (end = this read).
    `versions` are the schedule's versions in force in the period, the one in force on
    `start` first (rates.versions_for)."""
    if not versions:
        raise ValidationError("No rate schedule in force for the period")
    if end <= start:
        raise ValidationError(f"The period ends {end:%m/%d/%Y}, not after it starts {start:%m/%d/%Y}")
    for name, value in (("kWh", kwh), ("reverse kWh", reverse_kwh), ("lamps", lamps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be a whole number, 0 or more")
    if demand_kw is not None and (not isinstance(demand_kw, Decimal) or demand_kw < 0):
        raise ValidationError("Demand must be a Decimal kW, 0 or more")
    days = (end - start).days
    # The parts of the period and the version of each.
    bounds = [start] + [max(start, v.effective) for v in versions[1:]] + [end]
    parts = [(versions[i], bounds[i], bounds[i + 1]) for i in range(len(versions)) if bounds[i + 1] > bounds[i]]
    part_days = [(b - a).days for _, a, b in parts]
    kwh_parts = _share(kwh, part_days, days)
    reverse_parts = _share(reverse_kwh, part_days, days)
    split = len(parts) > 1
    read_day = season_day(end)
    lines: list[Line] = []
    minimum = Decimal(0)
    for (v, a, b), pdays, pkwh in zip(parts, part_days, kwh_parts):
        month = Decimal(pdays) / (days if days >= FULL_PERIOD_DAYS else MONTH_DAYS)
        when = f" ({a:%m/%d}-{b:%m/%d})" if split else ""
        share = f", {pdays} of {days} days" if split else (f", {days} days" if days < FULL_PERIOD_DAYS else "")
        part = _part(v, month, when, share, v.season(read_day), lamps)
        lines += part.fixed
        left, low = pkwh, 0
        for i, (limit, label, rate, rate_text) in enumerate(part.blocks):
            if limit is None:
                qty = left
            else:
                qty = min(left, max(0, limit - low))
                low = limit
            left -= qty
            if qty or i == 0:
                lines.append(Line("energy", label, f"{qty:,} kWh"[:30], rate_text, to_cents(rate * qty)))
        if v.demand and demand_kw is not None and demand_kw > v.demand.threshold_kw:
            over = demand_kw - v.demand.threshold_kw
            dshare = Decimal(pdays) / days
            desc = f"Demand, {demand_kw} kW" + (f" over {v.demand.threshold_kw} kW" if v.demand.threshold_kw else "")
            lines.append(_line("demand", desc + when, f"{over} kW", _rate(v.demand.rate, "kW") + share,
                              to_cents(over * v.demand.rate * dshare)))
        if v.pca_per_kwh and pkwh:
            lines.append(Line("pca", part.pca_description, f"{pkwh:,} kWh"[:30], part.pca_rate,
                              to_cents(v.pca_per_kwh * pkwh)))
        minimum += part.minimum
    subtotal = sum(line.amount_cents for line in lines)
    min_cents = to_cents(minimum)
    if subtotal < min_cents:
        lines.append(_line("minimum", "Minimum bill adjustment", "", f"minimum ${Decimal(min_cents) / 100:.2f}",
                          min_cents - subtotal))
    for (v, a, b), prev in zip(parts, reverse_parts):
        if prev and v.net_metering_credit_per_kwh:
            when = f" ({a:%m/%d}-{b:%m/%d})" if split else ""
            lines.append(_line("netmeter", f"Net metering credit, {prev:,} kWh to the grid{when}", f"{prev:,} kWh",
                              _rate(v.net_metering_credit_per_kwh, "kWh"),
                              -to_cents(v.net_metering_credit_per_kwh * prev)))
    last = parts[-1][0]
    pct = last.fee_percent(city)
    base = sum(line.amount_cents for line in lines)
    if pct and base > 0:
        lines.append(_line("fee", f"{city.strip()} franchise fee", f"${Decimal(base) / 100:.2f}", f"{pct}%",
                          to_cents(Decimal(base) / 100 * pct / 100)))
    return BillCalc(last.code, start, end, days, kwh, tuple(lines))


def what_if(code: str, kwh: int, *, on: dt.date | None = None, days: int = MONTH_DAYS,
            demand_kw: Decimal | None = None, reverse_kwh: int = 0, city: str = "", lamps: int = 1,
            versions: dict[str, list[RateVersion]] | None = None) -> BillCalc:
    """The bill calculator ("what would my bill be"): a month of `kwh` on schedule `code`,
    read on `on` (today by default), at the rates in force then."""
    end = on or dt.date.today()
    start = end - dt.timedelta(days=days)
    return calculate(rates.versions_for(code.strip().upper(), start, end, versions), start, end, kwh,
                     demand_kw=demand_kw, reverse_kwh=reverse_kwh, city=city, lamps=lamps)
