"""The daily general-ledger journal: every ledger entry of a day, summarised into debits and
credits by GL account, for the co-op's accounting system.

**The chart of accounts** (`gl_accounts.toml`: the one shipped in kec_tui/data, under the
co-op's own in the data dir, key by key) maps each kind of money to a GL account: cash by
tender (the bank each is deposited to), accounts receivable, revenue by rate schedule, fees,
deposits held, unapplied cash, write-offs, capital credits, refunds, balance transfers, and a
suspense account for an entry no key maps (named in the journal's notes).

**Each entry is posted twice**: to its member side (receivable; unapplied cash for a payment a
batch put to unapplied cash) and to its other side (a bill: revenue of its rate schedule; a
payment: the cash account of its tender; a fee: the fee's account; a deposit: deposits held; a
write-off; a transfer; an adjustment: by its reason code, a refund to refunds; a reversal: the
accounts of the entry it reverses, the other way round). A charge (positive cents) debits the
member side and credits the other; a payment or credit the opposite. So a journal balances
by construction, and its net on receivable + unapplied cash is the ledger's net of its entries
(the tie, checked on every preview and close, and by a property test). Payments tie to the
batch deposits: the cash from each posted batch is its deposit (its active lines) to the cent.

**Days** are closed in order, each once (unique day; each entry journaled once: unique entry).
The first day closed is the journal's start: entries dated before it and posted before it was
closed are the books of the system before (a conversion's history); its journal holds the
entries dated that day. A day's journal holds the entries dated that day, and the late
ones: dated a closed day (or before the start) but posted after it was closed; they go to the
next open day with a note. A journal for a day in the future is refused.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from peewee import JOIN, IntegrityError, fn

from kec_tui import config, db, money
from kec_tui.services import audit
from kec_tui.services.errors import ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

FILE_NAME = "gl_accounts.toml"
START_KEY = "gl_journal_start"
HISTORY_KEY = "gl_journal_history_id"     # the last ledger id when the first day was closed
LATE_MARGIN = dt.timedelta(hours=1)      # an entry in flight at a close (posted before it) is still found
SECTIONS = {
    "accounts": ("receivable", "unapplied_cash", "deposits_held", "writeoffs", "capital_credits", "refunds",
                 "transfers", "suspense", "conversion"),
    "cash": ("default",),
    "revenue": ("default",),
    "fees": ("other",),
    "adjustments": ("default",),
}
MEMBER_SIDE = ("accounts.receivable", "accounts.unapplied_cash")
NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,19}$")


class ChartError(ValidationError):
    """The chart-of-accounts file is not valid; the message names the file and the key."""


class JournalRefused(ServiceError):
    """A journal that cannot be made or closed (a future day, a closed day, not the next ...)."""


class AlreadyClosed(JournalRefused):
    pass


# ---- the chart of accounts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GlAccount:
    number: str
    name: str


@dataclass(frozen=True)
class Chart:
    accounts: dict[str, GlAccount]       # "accounts.receivable", "cash.check", "revenue.RES" ...
    source: str = ""

    def get(self, key: str) -> GlAccount:
        if key in self.accounts:
            return self.accounts[key]
        section = key.split(".", 1)[0]
        return self.accounts[f"{section}.{SECTIONS[section][0]}"] if section != "accounts" else \
            self.accounts["accounts.suspense"]

    def has(self, key: str) -> bool:
        return key in self.accounts

    @property
    def body(self) -> str:
        return json.dumps({k: [a.number, a.name] for k, a in sorted(self.accounts.items())}, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()

    def member_numbers(self) -> set[str]:
        return {self.accounts[k].number for k in MEMBER_SIDE}


def shipped_file() -> Path:
    return Path(str(resources.files("kec_tui") / "data" / FILE_NAME))


def own_file() -> Path:
    return config.default_data_dir() / FILE_NAME


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ChartError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ChartError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChartError(f"{path}: {exc}") from None


def _accounts(data: dict, where: str) -> dict[str, GlAccount]:
    out: dict[str, GlAccount] = {}
    for section, keys in data.items():
        if section not in SECTIONS:
            raise ChartError(f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
        if not isinstance(keys, dict):
            raise ChartError(f"{where}: [{section}] must be a table of accounts")
        for key, value in keys.items():
            path = f"{section}.{key}"
            if section == "accounts" and key not in SECTIONS["accounts"]:
                raise ChartError(f"{where}: unknown key {path} (known: {', '.join(SECTIONS['accounts'])})")
            if not isinstance(value, dict) or not isinstance(value.get("number"), str):
                raise ChartError(f'{where}: {path} must be {{ number = "142.00", name = "..." }}')
            number, name = value["number"].strip(), str(value.get("name", "")).strip()
            if not NUMBER.match(number):
                raise ChartError(f"{where}: {path}: GL account number {number!r}: up to 20 letters, digits, "
                                 "'.' or '-'")
            if len(name) > 60:
                raise ChartError(f"{where}: {path}: the name is over 60 characters")
            extra = sorted(set(value) - {"number", "name"})
            if extra:
                raise ChartError(f"{where}: {path}: unknown field(s) {', '.join(extra)}")
            out[path] = GlAccount(number, name)
    return out


def load_chart(path: Path | str | None = None) -> Chart:
    """The shipped chart, under the co-op's own file (`path`, else gl_accounts.toml in the data dir)."""
    accounts = _accounts(_read(shipped_file()), str(shipped_file()))
    own = Path(path) if path else own_file()
    source = "shipped"
    if path or own.exists():
        accounts.update(_accounts(_read(own), str(own)))
        source = str(own)
    for section, required in SECTIONS.items():
        for key in required:
            if f"{section}.{key}" not in accounts:
                raise ChartError(f"{source}: {section}.{key} is missing")
    chart = Chart(accounts, source)
    member = {k: accounts[k].number for k in MEMBER_SIDE}
    if len(set(member.values())) != 2:
        raise ChartError(f"{source}: accounts.receivable and accounts.unapplied_cash need numbers of their own")
    for key, acct in accounts.items():
        if key not in MEMBER_SIDE and acct.number in member.values():
            raise ChartError(f"{source}: {key} has the number {acct.number} of "
                             f"{[k for k, n in member.items() if n == acct.number][0]}: the journal could not "
                             "tie to the ledger")
    return chart


def _chart_from_body(body: str, source: str = "") -> Chart:
    return Chart({k: GlAccount(v[0], v[1]) for k, v in json.loads(body).items()}, source)


# ---- what each entry posts to -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    id: int
    account_number: int
    effective: dt.date
    posted_at: dt.datetime
    kind: str
    amount_cents: int
    description: str
    reference: str
    reverses: int | None
    rate_class: str


@dataclass(frozen=True)
class Posting:
    entry_id: int
    account_number: int
    effective: dt.date
    posted_at: dt.datetime
    kind: str
    amount_cents: int
    member_key: str
    other_key: str
    debit_account: str
    credit_account: str
    late: bool = False
    note: str = ""
    batch_number: int | None = None


def fee_key(reference: str, description: str) -> str:
    ref, desc = (reference or "").upper(), (description or "").lower()
    if ref.startswith("LATE") or desc.startswith("late fee"):
        return "fees.late"
    if desc.startswith("returned payment fee"):
        return "fees.returned_payment"
    if "reconnect" in desc:
        return "fees.reconnect"
    if "trip fee" in desc:
        return "fees.trip"
    if ref == "MEMBERSHIP" or "membership fee" in desc:
        return "fees.membership"
    return "fees.other"


def _tender_guess(reference: str, description: str) -> str:
    """A payment posted without a batch (a converted or demo history): its tender from its text."""
    ref, desc = (reference or "").upper(), (description or "").lower()
    if ref.startswith("ACH") or "(ach)" in desc or "auto-pay" in desc:
        return "ach"
    if ref.startswith("AUTH") or "card" in desc:
        return "card"
    if "lockbox" in desc:
        return "lockbox"
    if "cash" in desc:
        return "cash"
    if ref.startswith(("CK", "CHK")) or "check" in desc:
        return "check"
    return "default"


def _keys(e: _Entry, batch: dict[int, tuple], bills: dict[int, str], originals: dict[int, _Entry],
          depth: int = 0) -> tuple[str, str, str]:
    """(member key, other key, note) of one entry."""
    kind = e.kind
    if kind == "bill":
        return "accounts.receivable", f"revenue.{bills.get(e.id) or e.rate_class}", ""
    if kind == "payment":
        line = batch.get(e.id)
        if line:
            tender, unapplied = line[0], line[1]
            return ("accounts.unapplied_cash" if unapplied else "accounts.receivable"), f"cash.{tender}", ""
        return "accounts.receivable", f"cash.{_tender_guess(e.reference, e.description)}", ""
    if kind == "fee":
        return "accounts.receivable", fee_key(e.reference, e.description), ""
    if kind == "deposit":
        return "accounts.receivable", "accounts.deposits_held", ""
    if kind == "writeoff":
        return "accounts.receivable", "accounts.writeoffs", ""
    if kind == "transfer":
        if (e.reference or "").upper().startswith("CONV"):     # an opening balance from a conversion
            return "accounts.receivable", "accounts.conversion", ""
        return "accounts.receivable", "accounts.transfers", ""
    if kind in ("capcredit", "capital_credit"):     # a retired capital credit paid as a bill credit
        return "accounts.receivable", "accounts.capital_credits", ""
    if kind == "adjustment":
        ref = (e.reference or "").upper()
        if ref == "REFUND":
            return "accounts.receivable", "accounts.refunds", ""
        if ref.startswith("CAPCR") or ref == "ADJ CAPCR":
            return "accounts.receivable", "accounts.capital_credits", ""
        code = ref[4:].strip() if ref.startswith("ADJ ") else ""
        return "accounts.receivable", f"adjustments.{code or 'default'}", ""
    if kind == "reversal":
        original = originals.get(e.reverses) if e.reverses else None
        if original is not None and depth < 2:
            member, other, _ = _keys(original, batch, bills, originals, depth + 1)
            return member, other, ""
        return "accounts.receivable", "accounts.suspense", f"reversal of entry {e.reverses or '?'}: its entry not found"
    return "accounts.receivable", "accounts.suspense", f"no mapping for ledger kind {kind!r}"


def _fetch(ids_query) -> list[_Entry]:
    L, A = db.LedgerEntry, db.Account
    rows = (L.select(L.id, A.number, L.effective, L.posted_at, L.kind, L.amount_cents, L.description, L.reference,
                     L.reverses, A.rate_class)
            .join(A, on=(L.account == A.id)).where(L.id.in_(ids_query)).order_by(L.id).tuples())
    return [_Entry(i, int(n), db.as_date(eff), _datetime(at), k, int(c), d or "", r or "", rev, rc or "")
            for i, n, eff, at, k, c, d, r, rev, rc in rows]


def _datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _chunks(ids: list[int], n: int = 900):
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def _postings(entries: list[_Entry], chart: Chart, day: dt.date, closed_days: dict[dt.date, dt.datetime],
              start: dt.date | None) -> list[Posting]:
    ids = [e.id for e in entries]
    reverses = sorted({e.reverses for e in entries if e.kind == "reversal" and e.reverses})
    originals: dict[int, _Entry] = {}
    for chunk in _chunks(reverses):
        originals.update({o.id: o for o in _fetch(chunk)})
    deeper = sorted({o.reverses for o in originals.values() if o.kind == "reversal" and o.reverses} - set(originals))
    for chunk in _chunks(deeper):
        originals.update({o.id: o for o in _fetch(chunk)})
    lookup = ids + list(originals)
    batch: dict[int, tuple] = {}
    bills: dict[int, str] = {}
    BL, PB, B = db.BatchLine, db.PaymentBatch, db.Bill
    for chunk in _chunks(lookup):
        for entry_id, tender, unapplied, number in (
                BL.select(BL.ledger_entry, BL.tender, BL.unapplied, PB.number).join(PB, on=(BL.batch == PB.id))
                .where(BL.ledger_entry.in_(chunk)).tuples()):
            batch[entry_id] = (tender, bool(unapplied), number)
        for entry_id, schedule in B.select(B.ledger_entry, B.schedule).where(B.ledger_entry.in_(chunk)).tuples():
            bills[entry_id] = schedule
    out = []
    for e in entries:
        member, other, note = _keys(e, batch, bills, originals)
        m, o = chart.get(member), chart.get(other)
        if not chart.has(other) and other.split(".", 1)[0] == "accounts":
            note = note or f"no account for {other}"
        debit, credit = (m.number, o.number) if e.amount_cents >= 0 else (o.number, m.number)
        late = e.effective < day
        if late:
            closed = closed_days.get(e.effective)
            when = f"{e.posted_at:%m/%d %H:%M}"
            why = (f"after {e.effective:%m/%d/%Y} was closed" if closed else
                   f"before the journal began {start:%m/%d/%Y}" if start and e.effective < start else
                   "after its day was closed")
            note = "; ".join(x for x in (f"late: dated {e.effective:%m/%d/%Y}, posted {when}, {why}", note) if x)
        line = batch.get(e.id) if e.kind == "payment" else None
        out.append(Posting(e.id, e.account_number, e.effective, e.posted_at, e.kind, e.amount_cents, member, other,
                           debit, credit, late, note[:160], line[2] if line else None))
    return out


# ---- the journal --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalLine:
    gl_account: str
    gl_name: str
    debit_cents: int
    credit_cents: int
    entries: int
    memo: str = ""


@dataclass(frozen=True)
class BatchTie:
    number: int
    tender: str
    deposit_cents: int          # the batch's active lines (its bank deposit)
    journal_cents: int          # the cash its payments debit in this journal

    @property
    def ok(self) -> bool:
        return self.deposit_cents == self.journal_cents


@dataclass(frozen=True)
class Tie:
    ledger_count: int
    ledger_charges_cents: int
    ledger_credits_cents: int
    ledger_net_cents: int            # the ledger's own sum of the journal's entries
    member_net_cents: int            # the journal's net (debits - credits) on receivable + unapplied cash
    by_kind: tuple[tuple[str, int, int], ...]
    batches: tuple[BatchTie, ...]

    @property
    def ledger_ok(self) -> bool:
        return self.ledger_net_cents == self.member_net_cents

    @property
    def batches_ok(self) -> bool:
        return all(b.ok for b in self.batches)

    @property
    def ok(self) -> bool:
        return self.ledger_ok and self.batches_ok


@dataclass(frozen=True)
class Journal:
    day: dt.date
    closed: bool
    lines: tuple[JournalLine, ...]
    postings: tuple[Posting, ...]
    tie: Tie
    notes: tuple[str, ...]
    digest: str
    can_close: bool
    why_not: str = ""
    closed_at: dt.datetime | None = None
    closed_by: str = ""
    chart_source: str = ""

    @property
    def debit_cents(self) -> int:
        return sum(ln.debit_cents for ln in self.lines)

    @property
    def credit_cents(self) -> int:
        return sum(ln.credit_cents for ln in self.lines)

    @property
    def balanced(self) -> bool:
        return self.debit_cents == self.credit_cents

    @property
    def late_count(self) -> int:
        return sum(1 for p in self.postings if p.late)


def _lines(postings: list[Posting], chart: Chart) -> list[JournalLine]:
    names = {}
    for a in chart.accounts.values():
        names.setdefault(a.number, a.name)
    dr: dict[str, int] = defaultdict(int)
    cr: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    late: dict[str, set] = defaultdict(set)
    for p in postings:
        cents = abs(p.amount_cents)
        dr[p.debit_account] += cents
        cr[p.credit_account] += cents
        count[p.debit_account] += 1
        if p.credit_account != p.debit_account:
            count[p.credit_account] += 1
        if p.late:
            late[p.debit_account].add(p.entry_id)
            late[p.credit_account].add(p.entry_id)
    out = []
    for number in sorted(set(dr) | set(cr)):
        memo = f"incl. {len(late[number])} late" if late[number] else ""
        out.append(JournalLine(number, names.get(number, ""), dr[number], cr[number], count[number], memo))
    return out


def _digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def _closed_days() -> dict[dt.date, dt.datetime]:
    return {db.as_date(d): _datetime(at) for d, at in db.GlDay.select(db.GlDay.day, db.GlDay.closed_at).tuples()}


def _start() -> dt.date | None:
    value = db.get_meta(START_KEY)
    return dt.date.fromisoformat(value) if value else None


def _check_day(day: dt.date, today: dt.date) -> None:
    if day > today:
        raise JournalRefused(f"{day:%m/%d/%Y} is in the future: a day's journal is made on or after the day")


def _candidates(day: dt.date, last: dt.date | None, closed: dict[dt.date, dt.datetime]):
    """The ids of the open day's entries: dated that day, and (for the next day to close) the late ones."""
    L, J = db.LedgerEntry, db.GlJournaled
    late = None
    if last is not None and day == last + dt.timedelta(days=1):
        late = (L.effective <= last) & (L.posted_at >= closed[last] - LATE_MARGIN)
        history = int(db.get_meta(HISTORY_KEY) or 0)
        if history:
            # Dated before the start and written before the first close: the books from before.
            late &= ~((L.effective < min(closed)) & (L.id <= history))
    where = (L.effective == day) if late is None else ((L.effective == day) | late)
    return (L.select(L.id).join(J, JOIN.LEFT_OUTER, on=(J.ledger_entry == L.id))
            .where(where, J.id.is_null()))


def _ledger_tie(ids: list[int], postings: list[Posting], lines: list[JournalLine], chart: Chart) -> Tie:
    """The ledger's own sums of the journal's entries (read from the ledger table, not from the
    postings) against the journal's lines; the batch deposits against the cash of their payments."""
    L = db.LedgerEntry
    pg = db.is_postgres()
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    charges = credits = 0
    for chunk in _chunks(ids):
        for k, n, total, plus, minus in (
                L.select(L.kind, fn.COUNT(L.id), fn.SUM(L.amount_cents),
                         fn.SUM(fn.GREATEST(L.amount_cents, 0) if pg else fn.MAX(L.amount_cents, 0)),
                         fn.SUM(fn.LEAST(L.amount_cents, 0) if pg else fn.MIN(L.amount_cents, 0)))
                .where(L.id.in_(chunk)).group_by(L.kind).tuples()):
            kinds[k][0] += int(n)
            kinds[k][1] += int(total or 0)
            charges += int(plus or 0)
            credits += int(minus or 0)
    by_kind = tuple((k, v[0], v[1]) for k, v in sorted(kinds.items()))
    member = chart.member_numbers()
    member_net = sum(ln.debit_cents - ln.credit_cents for ln in lines if ln.gl_account in member)
    # Batch deposits: each batch with a payment here, its active lines against the cash its payments debit.
    cash: dict[int, int] = defaultdict(int)
    for p in postings:
        if p.kind == "payment" and p.batch_number is not None:
            cash[p.batch_number] += -p.amount_cents
    ties = []
    if cash:
        BL, PB = db.BatchLine, db.PaymentBatch
        for number, tender, total in (PB.select(PB.number, PB.tender, fn.COALESCE(fn.SUM(BL.amount_cents), 0))
                                      .join(BL, on=(BL.batch == PB.id))
                                      .where(PB.number.in_(list(cash)), BL.status == "active")
                                      .group_by(PB.number, PB.tender).order_by(PB.number).tuples()):
            ties.append(BatchTie(number, tender, int(total), cash[number]))
    return Tie(sum(n for _, n, _ in by_kind), charges, credits, sum(s for _, _, s in by_kind),
               member_net, by_kind, tuple(ties))


def _notes(postings: list[Posting]) -> list[str]:
    notes = []
    late = [p for p in postings if p.late]
    if late:
        by_day: dict[dt.date, list[Posting]] = defaultdict(list)
        for p in late:
            by_day[p.effective].append(p)
        for d, ps in sorted(by_day.items()):
            notes.append(f"{len(ps)} late entr{'y' if len(ps) == 1 else 'ies'} dated {d:%m/%d/%Y} "
                         f"({money.fmt(sum(p.amount_cents for p in ps))} net), posted after that day was closed "
                         f"or before the journal began: journaled here")
    for p in postings:
        if p.other_key == "accounts.suspense" or "no mapping" in p.note or "not found" in p.note:
            notes.append(f"Entry {p.entry_id} ({p.kind} {money.fmt(p.amount_cents)}, account {p.account_number}) "
                         f"went to suspense: {p.note.split('; ')[-1]}")
    return notes


@db.connected
def journal(op: OperatorInfo | None, day: dt.date, *, chart: Chart | None = None,
            today: dt.date | None = None) -> Journal:
    """The day's journal: as closed, or a preview of an open day."""
    require(op, "journal.view")
    today = today or dt.date.today()
    _check_day(day, today)
    row = db.GlDay.get_or_none(db.GlDay.day == day)
    if row is not None:
        return _closed_journal(row)
    start = _start()
    if start and day < start:
        raise JournalRefused(f"The journal began on {start:%m/%d/%Y} (the first day closed): {day:%m/%d/%Y} is in "
                             "the books from before")
    chart = chart or load_chart()
    with db.database.atomic():          # one snapshot: the entries, their sums and the batches agree
        return _open_journal(day, chart)


def _open_journal(day: dt.date, chart: Chart) -> Journal:
    closed = _closed_days()
    last = max(closed) if closed else None
    ids_q = _candidates(day, last, closed)
    entries = []
    ids = [i for (i,) in ids_q.tuples()]
    for chunk in _chunks(ids):
        entries += _fetch(chunk)
    entries.sort(key=lambda e: e.id)
    postings = _postings(entries, chart, day, closed, _start() or day)
    lines = _lines(postings, chart)
    tie = _ledger_tie(ids, postings, lines, chart)
    notes = _notes(postings)
    why = ""
    if last is not None and day != last + dt.timedelta(days=1):
        first_open = last + dt.timedelta(days=1)
        why = f"Days are closed in order: close {first_open:%m/%d/%Y} first"
        notes.append(f"{first_open:%m/%d/%Y} is the next day to close; entries posted late for closed days go "
                     "there, not here")
    elif not tie.ok:
        why = "The journal does not tie to the ledger or the batch deposits: see the tie"
    return Journal(day, False, tuple(lines), tuple(postings), tie, tuple(notes), _digest(ids), not why, why,
                   chart_source=chart.source)


def _closed_journal(row: db.GlDay) -> Journal:
    chart_row = db.GlChart.get_by_id(row.chart_id)
    chart = _chart_from_body(chart_row.body, chart_row.source)
    lines = tuple(JournalLine(ln.gl_account, ln.gl_name, ln.debit_cents, ln.credit_cents, ln.entries, ln.memo)
                  for ln in row.lines.order_by(db.GlLine.seq))
    J, L, A = db.GlJournaled, db.LedgerEntry, db.Account
    BL, PB = db.BatchLine, db.PaymentBatch
    postings = []
    for (entry_id, number, eff, at, kind, cents, debit, credit, late, note, batch_no) in (
            J.select(L.id, A.number, L.effective, L.posted_at, L.kind, L.amount_cents, J.debit_account,
                     J.credit_account, J.late, J.note, PB.number)
            .join(L, on=(J.ledger_entry == L.id)).join(A, on=(L.account == A.id))
            .join(BL, JOIN.LEFT_OUTER, on=(BL.ledger_entry == L.id))
            .join(PB, JOIN.LEFT_OUTER, on=(BL.batch == PB.id))
            .where(J.day == row.id).order_by(L.id).tuples()):
        postings.append(Posting(entry_id, int(number), db.as_date(eff), _datetime(at), kind, int(cents), "", "",
                                debit, credit, bool(late), note or "", batch_no if kind == "payment" else None))
    tie = _ledger_tie([p.entry_id for p in postings], postings, list(lines), chart)
    by = db.Operator.get_or_none(db.Operator.id == row.closed_by_id) if row.closed_by_id else None
    notes = tuple(n for n in (row.notes or "").split("\n") if n)
    return Journal(db.as_date(row.day), True, lines, tuple(postings), tie, notes, row.digest, False,
                   f"{db.as_date(row.day):%m/%d/%Y} is closed", _datetime(row.closed_at), by.username if by else "",
                   chart_row.source)


@db.connected
def next_open_day(today: dt.date | None = None) -> dt.date:
    """The day to close next: the day after the last closed, else today."""
    today = today or dt.date.today()
    last = db.GlDay.select(fn.MAX(db.GlDay.day)).scalar()
    return min(db.as_date(last) + dt.timedelta(days=1), today) if last else today


@db.connected
def is_closed(day: dt.date) -> bool:
    return db.GlDay.select().where(db.GlDay.day == day).exists()


@db.connected
def any_closed() -> bool:
    return db.GlDay.select().exists()


@db.connected
def close_day(op: OperatorInfo, day: dt.date, *, expect_digest: str | None = None, chart: Chart | None = None,
              today: dt.date | None = None) -> Journal:
    """Close the day: its journal kept and each of its entries marked journaled, once. With
    `expect_digest` (the preview's) a journal whose entries changed since is refused."""
    require(op, "journal.close")
    today = today or dt.date.today()
    _check_day(day, today)
    chart = chart or load_chart()
    try:
        with db.write_txn():
            if db.GlDay.select().where(db.GlDay.day == day).exists():
                raise AlreadyClosed(f"{day:%m/%d/%Y} is already closed: its journal is not made twice")
            start = _start()
            if start and day < start:
                raise JournalRefused(f"The journal began on {start:%m/%d/%Y}: {day:%m/%d/%Y} cannot be closed")
            j = _open_journal(day, chart)
            if not j.can_close:
                raise JournalRefused(j.why_not)
            if expect_digest is not None and expect_digest != j.digest:
                raise JournalRefused("Entries were posted since the preview: look at the journal again, then close")
            if not j.balanced:      # cannot happen: each entry posts both sides
                raise JournalRefused("The journal does not balance; nothing was closed")
            chart_row = db.GlChart.get_or_none(db.GlChart.sha256 == chart.sha256)
            if chart_row is None:
                chart_row = db.GlChart.create(sha256=chart.sha256, body=chart.body, source=chart.source[:255])
            row = db.GlDay.create(day=day, closed_by=op.id, chart=chart_row.id, entry_count=len(j.postings),
                                  late_count=j.late_count, debit_cents=j.debit_cents, credit_cents=j.credit_cents,
                                  ledger_net_cents=j.tie.ledger_net_cents, digest=j.digest, notes="\n".join(j.notes))
            if j.lines:
                db.GlLine.insert_many([(row.id, seq, ln.gl_account, ln.gl_name[:60], ln.debit_cents, ln.credit_cents,
                                        ln.entries, ln.memo[:120]) for seq, ln in enumerate(j.lines, start=1)],
                                      fields=[db.GlLine.day, db.GlLine.seq, db.GlLine.gl_account, db.GlLine.gl_name,
                                              db.GlLine.debit_cents, db.GlLine.credit_cents, db.GlLine.entries,
                                              db.GlLine.memo]).execute()
            J = db.GlJournaled
            rows = [(p.entry_id, row.id, p.debit_account, p.credit_account, p.late, p.note[:160]) for p in j.postings]
            for i in range(0, len(rows), 500):
                J.insert_many(rows[i:i + 500], fields=[J.ledger_entry, J.day, J.debit_account, J.credit_account,
                                                        J.late, J.note]).execute()
            if start is None:
                db.set_meta(START_KEY, day.isoformat())
                top = db.LedgerEntry.select(fn.MAX(db.LedgerEntry.id)).scalar()
                db.set_meta(HISTORY_KEY, str(int(top or 0)))
            audit.record(op, "journal.close", "gl_day", row.id, field="day", before="open",
                         after=f"{day:%Y-%m-%d} closed: {len(j.postings)} entries, debits {money.fmt(j.debit_cents)} "
                               f"= credits {money.fmt(j.credit_cents)}, {j.late_count} late")
    except IntegrityError:
        raise AlreadyClosed(f"{day:%m/%d/%Y} was just closed by another session (or one of its entries was "
                            "journaled there): nothing was closed here") from None
    return journal(op, day, today=today)


# ---- exports ------------------------------------------------------------------------------------------

def _dollars(cents: int) -> str:
    return money.fmt(cents).replace(",", "")


def journal_csv(j: Journal) -> str:
    """date, gl_account, gl_name, debit, credit, entries, memo: one row per GL account."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["date", "gl_account", "gl_name", "debit", "credit", "entries", "memo"])
    for ln in j.lines:
        w.writerow([j.day.isoformat(), ln.gl_account, ln.gl_name, _dollars(ln.debit_cents), _dollars(ln.credit_cents),
                    ln.entries, ln.memo])
    return out.getvalue()


def detail_csv(j: Journal) -> str:
    """One row per ledger entry: what it posted to, and why it is here (late)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["journal_date", "entry_id", "account", "effective", "posted_at", "kind", "amount", "debit_account",
                "credit_account", "batch", "note"])
    for p in j.postings:
        w.writerow([j.day.isoformat(), p.entry_id, p.account_number, p.effective.isoformat(),
                    p.posted_at.isoformat(sep=" "), p.kind, _dollars(p.amount_cents), p.debit_account,
                    p.credit_account, p.batch_number or "", p.note])
    return out.getvalue()


# The fixed-width layout (80 characters a record, CRLF): H header, D one per GL account and side, T trailer.
FIXED_LAYOUT = (
    ("H", ((1, 1, "record type H"), (2, 8, "journal date YYYYMMDD"), (10, 8, "source KECTUI, space-padded"),
           (18, 6, "detail records, zero-filled"), (24, 15, "total debits in cents, zero-filled"),
           (39, 15, "total credits in cents, zero-filled"), (54, 27, "description, space-padded"))),
    ("D", ((1, 1, "record type D"), (2, 8, "journal date YYYYMMDD"), (10, 20, "GL account, left, space-padded"),
           (30, 1, "D debit or C credit"), (31, 15, "amount in cents, zero-filled"),
           (46, 6, "ledger entries, zero-filled"), (52, 29, "memo: the account's name, space-padded"))),
    ("T", ((1, 1, "record type T"), (2, 8, "journal date YYYYMMDD"), (10, 6, "detail records, zero-filled"),
           (16, 15, "total debits in cents, zero-filled"), (31, 15, "total credits in cents, zero-filled"),
           (46, 35, "spaces"))),
)
RECORD_LENGTH = 80


def journal_fixed(j: Journal) -> str:
    day = f"{j.day:%Y%m%d}"
    details = []
    for ln in j.lines:
        for side, cents in (("D", ln.debit_cents), ("C", ln.credit_cents)):
            if cents:
                details.append(f"D{day}{ln.gl_account:<20.20}{side}{cents:015d}{ln.entries:06d}{ln.gl_name:<29.29}")
    desc = f"{'GL journal' if j.closed else 'PREVIEW not closed'} {j.day:%m/%d/%Y}"
    header = f"H{day}{'KECTUI':<8}{len(details):06d}{j.debit_cents:015d}{j.credit_cents:015d}{desc:<27.27}"
    trailer = f"T{day}{len(details):06d}{j.debit_cents:015d}{j.credit_cents:015d}{'':35}"
    records = [header, *details, trailer]
    assert all(len(r) == RECORD_LENGTH for r in records)
    return "".join(r + "\r\n" for r in records)


def layout_text() -> str:
    """The fixed-width layout, as documented (README, --help)."""
    out = []
    for kind, fields_ in FIXED_LAYOUT:
        out.append(f"{kind} record:")
        out += [f"  {start:>2}-{start + width - 1:<2} {width:>2}  {what}" for start, width, what in fields_]
    return "\n".join(out)


@dataclass(frozen=True)
class JournalFiles:
    csv: Path
    fixed: Path
    detail: Path


def write_files(j: Journal, directory: str | Path) -> JournalFiles:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stem = f"gl-journal-{j.day:%Y-%m-%d}" + ("" if j.closed else "-PREVIEW")
    files = JournalFiles(d / f"{stem}.csv", d / f"{stem}.txt", d / f"{stem}-detail.csv")
    files.csv.write_text(journal_csv(j), encoding="utf-8", newline="")
    files.fixed.write_text(journal_fixed(j), encoding="ascii", errors="replace", newline="")
    files.detail.write_text(detail_csv(j), encoding="utf-8", newline="")
    return files


def journal_text(j: Journal) -> str:
    """The journal as a plain listing (the CLI; the screen shows the same figures)."""
    state = (f"closed {j.closed_at:%m/%d/%Y %H:%M} by {j.closed_by}" if j.closed else "PREVIEW (open)")
    out = [f"GL journal {j.day:%m/%d/%Y}: {state}; {len(j.postings):,} ledger entries"
           + (f", {j.late_count} late" if j.late_count else "")]
    out.append(f"{'GL account':<12} {'name':<40} {'debit':>14} {'credit':>14}")
    for ln in j.lines:
        out.append(f"{ln.gl_account:<12} {ln.gl_name[:40]:<40} {money.fmt(ln.debit_cents):>14} "
                   f"{money.fmt(ln.credit_cents):>14}" + (f"  {ln.memo}" if ln.memo else ""))
    out.append(f"{'':<12} {'total':<40} {money.fmt(j.debit_cents):>14} {money.fmt(j.credit_cents):>14}  "
               + ("balanced" if j.balanced else "OUT OF BALANCE"))
    t = j.tie
    out.append(f"Ledger: {t.ledger_count:,} entries, charges {money.fmt(t.ledger_charges_cents)}, credits "
               f"{money.fmt(t.ledger_credits_cents)}, net {money.fmt(t.ledger_net_cents)}; receivable + unapplied "
               f"cash net {money.fmt(t.member_net_cents)}: " + ("ties" if t.ledger_ok else "DOES NOT TIE"))
    if t.batches:
        dep = sum(b.deposit_cents for b in t.batches)
        cash = sum(b.journal_cents for b in t.batches)
        out.append(f"Batch deposits: {len(t.batches)} batch(es) {money.fmt(dep)}; cash from their payments "
                   f"{money.fmt(cash)}: " + ("ties" if t.batches_ok else "DOES NOT TIE: " + ", ".join(
                       f"batch {b.number}" for b in t.batches if not b.ok)))
    for n in j.notes:
        out.append(f"Note: {n}")
    if not j.closed and j.why_not:
        out.append(f"Cannot close: {j.why_not}")
    return "\n".join(out) + "\n"


def parse_day(text: str, today: dt.date | None = None) -> dt.date:
    """YYYY-MM-DD, MM/DD/YYYY, today or yesterday."""
    today = today or dt.date.today()
    t = (text or "").strip().lower()
    if t in ("", "today"):
        return today
    if t == "yesterday":
        return today - dt.timedelta(days=1)
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            pass
    raise ValidationError(f"{text!r} is not a day (YYYY-MM-DD or MM/DD/YYYY)", "day")


def closed_days(limit: int = 30) -> list[tuple[dt.date, int, int]]:
    """The last closed days: (day, entries, debits)."""
    G = db.GlDay
    return [(db.as_date(d), n, c) for d, n, c in
            G.select(G.day, G.entry_count, G.debit_cents).order_by(G.day.desc()).limit(limit).tuples()]

