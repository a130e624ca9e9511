"""Rate schedules as data: the co-op's TOML file, validated, loaded into the database,
versioned by effective date.

The file (kec_tui/data/rates.toml is the default; `rates.toml` in the data dir wins)
is read with every number as Decimal (tomllib's parse_float), so a tariff's
$0.091230/kWh stays exact. A file is checked whole before anything is stored: the
first problem is named with its key path and, where it can be found, its line, and
the database is left as it was. Each schedule version is stored as one row
(code, effective date, the version as JSON), so a bill made last year can be
explained with the rates of last year.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

from peewee import fn

from kec_tui import config, db
from kec_tui.services import audit
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo

SEASONS = ("winter", "summer")
FILE_NAME = "rates.toml"


class RateFileError(ValidationError):
    """The rate file is not valid; the message names the line (or key path) and the problem."""


@dataclass(frozen=True)
class Block:
    up_to: int | None          # kWh per month in this block; None: the rest
    rate: Decimal              # $ per kWh


@dataclass(frozen=True)
class Demand:
    threshold_kw: Decimal      # kW billed only above this
    rate: Decimal              # $ per kW


@dataclass(frozen=True)
class RateVersion:
    """One schedule as in force from `effective` until the next version of the same code."""

    code: str
    name: str
    effective: dt.date
    classes: tuple[str, ...]
    customer_charge: Decimal = Decimal(0)
    minimum_charge: Decimal = Decimal(0)
    lamp_charge: Decimal = Decimal(0)
    pca_per_kwh: Decimal = Decimal(0)
    net_metering_credit_per_kwh: Decimal = Decimal(0)
    energy: dict[str, tuple[Block, ...]] = field(default_factory=dict)
    demand: Demand | None = None
    summer_months: frozenset[int] = frozenset()
    franchise_fees: dict[str, Decimal] = field(default_factory=dict)   # city -> percent
    taxable: bool = True

    def season(self, day: dt.date) -> str:
        return "summer" if day.month in self.summer_months else "winter"

    def fee_percent(self, city: str) -> Decimal:
        if not self.taxable:
            return Decimal(0)
        return self.franchise_fees.get(city.strip().lower(), Decimal(0))

    def to_json(self) -> str:
        return json.dumps({
            "code": self.code, "name": self.name, "effective": self.effective.isoformat(),
            "classes": list(self.classes), "customer_charge": str(self.customer_charge),
            "minimum_charge": str(self.minimum_charge), "lamp_charge": str(self.lamp_charge),
            "pca_per_kwh": str(self.pca_per_kwh),
            "net_metering_credit_per_kwh": str(self.net_metering_credit_per_kwh),
            "energy": {s: [[b.up_to, str(b.rate)] for b in blocks] for s, blocks in self.energy.items()},
            "demand": [str(self.demand.threshold_kw), str(self.demand.rate)] if self.demand else None,
            "summer_months": sorted(self.summer_months),
            "franchise_fees": {c: str(p) for c, p in sorted(self.franchise_fees.items())},
            "taxable": self.taxable,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RateVersion":
        d = json.loads(text)
        return cls(
            code=d["code"], name=d["name"], effective=dt.date.fromisoformat(d["effective"]),
            classes=tuple(d["classes"]), customer_charge=Decimal(d["customer_charge"]),
            minimum_charge=Decimal(d["minimum_charge"]), lamp_charge=Decimal(d["lamp_charge"]),
            pca_per_kwh=Decimal(d["pca_per_kwh"]),
            net_metering_credit_per_kwh=Decimal(d["net_metering_credit_per_kwh"]),
            energy={s: tuple(Block(u, Decimal(r)) for u, r in blocks) for s, blocks in d["energy"].items()},
            demand=Demand(Decimal(d["demand"][0]), Decimal(d["demand"][1])) if d["demand"] else None,
            summer_months=frozenset(d["summer_months"]),
            franchise_fees={c: Decimal(p) for c, p in d["franchise_fees"].items()},
            taxable=d["taxable"])


# ---- reading and checking the file ------------------------------------------------------

VERSION_KEYS = {"effective", "customer_charge", "minimum_charge", "lamp_charge", "pca_per_kwh",
                "net_metering_credit_per_kwh", "energy", "demand", "taxable"}
SCHEDULE_KEYS = {"name", "classes", "version"}
TOP_KEYS = {"summer_months", "franchise_fees", "schedules"}


class _Checker:
    def __init__(self, text: str, source: str):
        self.text, self.source = text, source

    def fail(self, path: str, problem: str) -> RateFileError:
        line = _line_of(self.text, path)
        where = f"{self.source} line {line} ({path})" if line else f"{self.source} ({path})"
        return RateFileError(f"{where}: {problem}", "rates")

    def money(self, value, path: str, *, places: int = 6) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.fail(path, f"must be a number (a price such as 0.091230), not {value!r}")
        d = Decimal(value)
        if not d.is_finite() or d < 0:
            raise self.fail(path, "must be a number 0 or more")
        if -d.as_tuple().exponent > places:
            raise self.fail(path, f"has more than {places} decimals")
        return d

    def unknown(self, table: dict, allowed: set[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{path}.{key}" if path else key,
                                f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def parse(text: str, source: str = FILE_NAME) -> list[RateVersion]:
    """Every schedule version in the file, checked. Raises RateFileError on the first problem."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\s*\(at line (\d+), column (\d+)\)", str(exc))
        if where:
            raise RateFileError(f"{source} line {where[1]}: {str(exc)[:where.start()]} (column {where[2]})",
                                "rates") from exc
        raise RateFileError(f"{source}: {exc}", "rates") from exc
    c = _Checker(text, source)
    c.unknown(data, TOP_KEYS, "")
    months = data.get("summer_months", [])
    if not isinstance(months, list) or not all(isinstance(m, int) and 1 <= m <= 12 for m in months):
        raise c.fail("summer_months", "must be a list of month numbers 1-12")
    fees_in = data.get("franchise_fees", {})
    if not isinstance(fees_in, dict):
        raise c.fail("franchise_fees", "must be a table of city = percent")
    fees = {}
    for city, pct in fees_in.items():
        p = c.money(pct, f"franchise_fees.{city}", places=4)
        if p > 100:
            raise c.fail(f"franchise_fees.{city}", "is a percent: 0 to 100")
        fees[city.strip().lower()] = p
    schedules = data.get("schedules")
    if not isinstance(schedules, dict) or not schedules:
        raise c.fail("schedules", "the file has no schedules ([schedules.CODE] tables)")
    out: list[RateVersion] = []
    seen_classes: dict[str, str] = {}
    for code, sched in schedules.items():
        path = f"schedules.{code}"
        if not re.fullmatch(r"[A-Z0-9_]{1,8}", code):
            raise c.fail(path, "a schedule code is 1-8 capital letters, digits or _")
        if not isinstance(sched, dict):
            raise c.fail(path, "must be a table")
        c.unknown(sched, SCHEDULE_KEYS, path)
        name = sched.get("name")
        if not isinstance(name, str) or not name.strip():
            raise c.fail(f"{path}.name", "every schedule needs a name")
        classes = sched.get("classes", [code])
        if not isinstance(classes, list) or not all(isinstance(k, str) and k for k in classes):
            raise c.fail(f"{path}.classes", "must be a list of rate class codes")
        for k in classes:
            if k in seen_classes:
                raise c.fail(f"{path}.classes", f"rate class {k} is already billed on schedule {seen_classes[k]}")
            seen_classes[k] = code
        versions = sched.get("version")
        if not isinstance(versions, list) or not versions:
            raise c.fail(f"{path}.version", "needs at least one [[schedules.CODE.version]] with its effective date")
        dates = set()
        for i, v in enumerate(versions):
            out.append(_version(c, code, name.strip(), tuple(classes), v, f"{path}.version[{i}]",
                                frozenset(months), fees))
            if out[-1].effective in dates:
                raise c.fail(f"{path}.version[{i}].effective", f"two versions take effect on {out[-1].effective}")
            dates.add(out[-1].effective)
    return out


def _version(c: _Checker, code, name, classes, v, path, months, fees) -> RateVersion:
    if not isinstance(v, dict):
        raise c.fail(path, "must be a table")
    c.unknown(v, VERSION_KEYS, path)
    eff = v.get("effective")
    if isinstance(eff, dt.datetime) or not isinstance(eff, dt.date):
        raise c.fail(f"{path}.effective", "needs a date such as 2026-01-01 (no quotes)")
    prices = {k: c.money(v.get(k, 0), f"{path}.{k}", places=2 if k.endswith("charge") else 6)
              for k in ("customer_charge", "minimum_charge", "lamp_charge", "pca_per_kwh",
                        "net_metering_credit_per_kwh")}
    energy: dict[str, tuple[Block, ...]] = {}
    energy_in = v.get("energy", {})
    if not isinstance(energy_in, dict):
        raise c.fail(f"{path}.energy", "must be a table of season = [blocks]")
    for season, blocks in energy_in.items():
        ep = f"{path}.energy.{season}"
        if season not in SEASONS:
            raise c.fail(ep, f"unknown season (expected {' or '.join(SEASONS)})")
        if not isinstance(blocks, list) or not blocks:
            raise c.fail(ep, "must be a list of blocks, e.g. [{ up_to = 1000, rate = 0.0912 }, { rate = 0.1045 }]")
        out_blocks = []
        last = 0
        for j, b in enumerate(blocks):
            bp = f"{ep}[{j}]"
            if not isinstance(b, dict):
                raise c.fail(bp, "a block is { up_to = kWh, rate = price }")
            c.unknown(b, {"up_to", "rate"}, bp)
            if "rate" not in b:
                raise c.fail(f"{bp}.rate", "every block needs a rate")
            rate = c.money(b["rate"], f"{bp}.rate")
            up_to = b.get("up_to")
            is_last = j == len(blocks) - 1
            if is_last and up_to is not None:
                raise c.fail(f"{bp}.up_to", "the last block has no limit (it takes the rest of the kWh)")
            if not is_last:
                if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= last:
                    raise c.fail(f"{bp}.up_to", f"must be a whole number of kWh above {last}")
                last = up_to
            out_blocks.append(Block(up_to, rate))
        energy[season] = tuple(out_blocks)
    if len(energy) == 1:
        only = next(iter(energy.values()))
        energy = {s: only for s in SEASONS}
    elif energy and len(energy) != len(SEASONS):
        raise c.fail(f"{path}.energy", "give both seasons or one price for the whole year")
    demand = None
    if "demand" in v:
        d = v["demand"]
        if not isinstance(d, dict) or set(d) != {"threshold_kw", "rate"}:
            raise c.fail(f"{path}.demand", "is { threshold_kw = kW, rate = price per kW }")
        demand = Demand(c.money(d["threshold_kw"], f"{path}.demand.threshold_kw", places=3),
                        c.money(d["rate"], f"{path}.demand.rate"))
    taxable = v.get("taxable", True)
    if not isinstance(taxable, bool):
        raise c.fail(f"{path}.taxable", "is true or false")
    if not energy and not prices["lamp_charge"] and not prices["customer_charge"]:
        raise c.fail(path, "charges nothing: give energy prices, a customer charge or a lamp charge")
    return RateVersion(code=code, name=name, effective=eff, classes=classes, energy=energy, demand=demand,
                       summer_months=months, franchise_fees=fees, taxable=taxable, **prices)


def _line_of(text: str, path: str) -> int | None:
    """The line a key path points at: the n-th [[schedules.X.version]] header (or the
    [schedules.X] / [table] header), then the first line after it naming the last key."""
    parts = re.findall(r"([^.\[\]]+)(?:\[(\d+)\])?", path)
    lines = text.splitlines()
    start = 0
    if len(parts) >= 2 and parts[0][0] == "schedules":
        code = parts[1][0]
        start = _header_line(lines, f"[schedules.{code}]", 0)
        if len(parts) >= 3 and parts[2][0] == "version" and parts[2][1]:
            n = int(parts[2][1])
            at = -1
            for _ in range(n + 1):
                at = _header_line(lines, f"[[schedules.{code}.version]]", at + 1)
                if at < 0:
                    return None
            start = at
            parts = parts[3:]
        else:
            parts = parts[2:]
    elif parts and parts[0][0] == "franchise_fees":
        start = _header_line(lines, "[franchise_fees]", 0)
        parts = parts[1:]
    if start < 0:
        return None
    if not parts:
        return start + 1
    key = parts[-1][0].strip('"')
    names = {key} | {p[0] for p in parts}
    for i in range(start, len(lines)):
        if i > start and lines[i].lstrip().startswith("["):
            break
        for name in names:
            if re.search(rf'(^|[\s{{,."]){re.escape(name)}"?\s*=', lines[i]):
                return i + 1
    return start + 1


def _header_line(lines: list[str], header: str, begin: int) -> int:
    for i in range(max(begin, 0), len(lines)):
        if lines[i].strip().split("#")[0].strip() == header:
            return i
    return -1


# ---- the file on disk and in the database ----------------------------------------------------

def default_file() -> Path:
    """The co-op's own rates.toml in the data dir when there is one, else the one shipped."""
    own = config.default_data_dir() / FILE_NAME
    if own.exists():
        return own
    return Path(str(resources.files("kec_tui") / "data" / FILE_NAME))


@dataclass(frozen=True)
class LoadResult:
    added: int
    changed: int
    unchanged: int
    sha256: str


def load_text(op: OperatorInfo | None, text: str, source: str = FILE_NAME) -> LoadResult:
    """Check the whole file, then store its versions in one transaction (new ones added,
    changed ones replaced and audited before/after). An invalid file changes nothing."""
    versions = parse(text, source)
    sha = hashlib.sha256(text.encode()).hexdigest()
    added = changed = unchanged = 0
    RS = db.RateSchedule
    with db.write_txn():
        have = {(code, eff): (rid, body) for rid, code, eff, body in
                RS.select(RS.id, RS.code, RS.effective, RS.body).tuples()}
        for v in versions:
            body = v.to_json()
            old = have.get((v.code, v.effective))
            if old is None:
                rid = RS.insert(code=v.code, effective=v.effective, name=v.name, body=body, sha256=sha,
                                loaded_by=op.id if op else None).execute()
                audit.record(op, "rates.add", "rate_schedule", rid, field=v.code, after=f"effective {v.effective}")
                added += 1
            elif old[1] != body:
                RS.update(name=v.name, body=body, sha256=sha, loaded_at=db.now(),
                          loaded_by=op.id if op else None).where(RS.id == old[0]).execute()
                audit.record(op, "rates.change", "rate_schedule", old[0], field=v.code,
                             before=old[1][:2000], after=body[:2000])
                changed += 1
            else:
                unchanged += 1
    _cache.clear()
    return LoadResult(added, changed, unchanged, sha)


def load_file(op: OperatorInfo | None, path: Path | str | None = None) -> LoadResult:
    path = Path(path) if path else default_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RateFileError(f"Cannot read {path.name}: {exc}", "rates") from exc
    return load_text(op, text, path.name)


FILE_SHA_KEY = "rates_file_sha256"


def ensure_loaded(op: OperatorInfo | None = None) -> LoadResult | None:
    """Load the co-op's rate file (in the data dir) when it changed since it was last loaded,
    so the billing run always bills on the file the co-op edits; with no file of its own
    and nothing loaded yet, the shipped one. An invalid file raises RateFileError (line and
    problem) and the rates stay as they were."""
    path = default_file()
    if path.parent != config.default_data_dir() and db.RateSchedule.select().exists():
        return None                 # no file of the co-op's: the stored rates stand
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        if db.RateSchedule.select().exists():
            return None             # keep billing on the stored rates; the file comes back
        raise RateFileError(f"Cannot read {path.name}: {exc}", "rates") from exc
    sha = hashlib.sha256(text.encode()).hexdigest()
    if db.get_meta(FILE_SHA_KEY) == sha and db.RateSchedule.select().exists():
        return None
    result = load_text(op, text, path.name)
    db.set_meta(FILE_SHA_KEY, sha)
    return result


# Versions by code, read once per process and dropped when a file is loaded.
_cache: dict[str, object] = {}


def all_versions() -> dict[str, list[RateVersion]]:
    """Every stored version, by schedule code, oldest first."""
    key = "versions"
    stamp = db.RateSchedule.select(fn.COUNT(db.RateSchedule.id), fn.MAX(db.RateSchedule.loaded_at)).tuples()[0]
    if _cache.get("stamp") != (stamp, id(db.database.obj)):
        out: dict[str, list[RateVersion]] = {}
        for (body,) in db.RateSchedule.select(db.RateSchedule.body).order_by(
                db.RateSchedule.code, db.RateSchedule.effective).tuples():
            v = RateVersion.from_json(body)
            out.setdefault(v.code, []).append(v)
        _cache.update({key: out, "stamp": (stamp, id(db.database.obj))})
    return _cache[key]  # type: ignore[return-value]


def schedule_for_class(rate_class: str, versions: dict[str, list[RateVersion]] | None = None) -> str:
    versions = versions if versions is not None else all_versions()
    for code, vs in versions.items():
        if rate_class in vs[-1].classes:
            return code
    raise NotFound(f"No rate schedule bills rate class {rate_class}: add it to a schedule's classes")


def versions_for(code: str, start: dt.date, end: dt.date,
                 versions: dict[str, list[RateVersion]] | None = None) -> list[RateVersion]:
    """The versions of `code` in force on some day of start..end (the one in force on
    `start` first). Raises NotFound when none was in force on `start`."""
    versions = versions if versions is not None else all_versions()
    vs = versions.get(code)
    if not vs:
        raise NotFound(f"No rate schedule {code}")
    first = [v for v in vs if v.effective <= start]
    if not first:
        raise NotFound(f"Schedule {code} has no rates in force on {start:%m/%d/%Y}")
    return [first[-1]] + [v for v in vs if start < v.effective <= end]


# ---- the rate schedules as a document (the reference screen, services/reference.py) -------------

def _price(value: Decimal, unit: str = "") -> str:
    text = f"${value:,.2f}" if value == value.quantize(Decimal("0.01")) else f"${value.normalize():f}"
    return text + unit


def _blocks(blocks: tuple[Block, ...]) -> str:
    parts, below = [], 0
    for b in blocks:
        if b.up_to is None:
            parts.append(("over " + f"{below:,} kWh " if below else "") + _price(b.rate, "/kWh"))
        else:
            parts.append(f"first {b.up_to:,} kWh {_price(b.rate, '/kWh')}" if not below
                         else f"next {b.up_to:,} kWh {_price(b.rate, '/kWh')}")
            below += b.up_to
    return ", ".join(parts)


@db.connected
def schedules_markdown(today: dt.date | None = None) -> str:
    """Each schedule's rates in force `today` and any version that takes effect later, as Markdown."""
    today = today or dt.date.today()
    versions = all_versions()
    out = ["# Rate schedules", "",
           f"*As stored for billing, in force on {today:%m/%d/%Y}. Each bill line rounds to the cent.*", ""]
    if not versions:
        return "\n".join(out + ["No rate schedules are loaded yet."]) + "\n"
    for code, vs in sorted(versions.items()):
        now = [v for v in vs if v.effective <= today]
        shown = ([now[-1]] if now else []) + [v for v in vs if v.effective > today]
        for v in shown:
            when = "in force since" if v.effective <= today else "takes effect"
            out += [f"## {code} {v.name}", "", f"*{when} {v.effective:%m/%d/%Y}; rate classes "
                    f"{', '.join(v.classes)}*", ""]
            if v.customer_charge:
                out.append(f"- Customer charge: {_price(v.customer_charge)} a month")
            if v.minimum_charge:
                out.append(f"- Minimum bill: {_price(v.minimum_charge)}")
            if v.lamp_charge:
                out.append(f"- Per lamp: {_price(v.lamp_charge)} a month")
            for season, blocks in sorted(v.energy.items(), key=lambda kv: kv[0] != "summer"):
                label = season.capitalize() if len(v.energy) > 1 else "Energy"
                months = (f" ({', '.join(dt.date(2000, m, 1).strftime('%b') for m in sorted(v.summer_months))})"
                          if season == "summer" and v.summer_months else "")
                out.append(f"- {label}{months}: {_blocks(blocks)}")
            if v.demand:
                out.append(f"- Demand: {_price(v.demand.rate, '/kW')} over {v.demand.threshold_kw:f} kW")
            if v.pca_per_kwh:
                out.append(f"- Power cost adjustment: {_price(v.pca_per_kwh, '/kWh')}")
            if v.net_metering_credit_per_kwh:
                out.append(f"- Net metering credit: {_price(v.net_metering_credit_per_kwh, '/kWh')}")
            if v.franchise_fees and v.taxable:
                out.append("- City franchise fees: " + ", ".join(
                    f"{city.title()} {pct:f}%" for city, pct in sorted(v.franchise_fees.items())))
            out.append("")
    return "\n".join(out)
