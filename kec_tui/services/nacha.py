"""NACHA (ACH) files: the fixed-width writer of a PPD debit file and a parser that checks every control.

No well-kept Python NACHA library exists (on PyPI: `ach` 0.2 of 2014, `carta-ach` 0.4.5 of 2019,
`achkit` 0.2.0, new): the format is small, so it is written here and the parser is the one the
tests and the return/change imports use.

A file is records of 94 characters, blocked by 10 (the last block padded with lines of 9s):
1 file header, 5 batch header, 6 entry, 7 addenda, 8 batch control, 9 file control. The entry
hash is the sum of the entries' 8-digit receiving DFI numbers, its last 10 digits kept. A
transaction code's second digit 1-4 is a credit, 5-9 a debit (27/37 debits, 28/38 prenotes).
A return is an entry with a type 99 addenda (R-code, the original trace number); a notification
of change is a COR entry with a type 98 addenda (C-code, original trace, corrected data).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

RECORD = 94
BLOCK = 10
HASH_MOD = 10 ** 10
PAD_LINE = "9" * RECORD

# The member's account type -> its debit and prenote transaction codes.
DEBIT_CODE = {"checking": "27", "savings": "37"}
PRENOTE_CODE = {"checking": "28", "savings": "38"}
ACCOUNT_TYPE_OF_CODE = {"22": "checking", "23": "checking", "27": "checking", "28": "checking",
                        "32": "savings", "33": "savings", "37": "savings", "38": "savings"}


class NachaError(ValueError):
    """The file is not a well-formed NACHA file; the message names the line."""


def is_debit(tx_code: str) -> bool:
    return tx_code[1:2] in "56789" and tx_code[1:2] != ""


# ---- the writer -------------------------------------------------------------------------------

def _a(text: str, width: int) -> str:
    """Alphanumeric: upper case, left-justified, blank-filled, cut to the width."""
    text = str(text)
    if not (text.isascii() and text.isprintable()):
        text = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text)
    return text[:width].upper().ljust(width)


def _n(value: int, width: int) -> str:
    text = str(int(value))
    if value < 0 or len(text) > width:
        raise NachaError(f"{value} does not fit a {width}-digit field")
    return text.zfill(width)


@dataclass(frozen=True)
class Origin:
    """Who sends the file (the settings): the bank it goes to and the co-op as originator."""
    immediate_destination: str      # the ODFI's routing number (9 digits)
    destination_name: str
    immediate_origin: str           # 10 characters, often "1" + the tax ID, or a routing number
    origin_name: str
    company_name: str               # 16
    company_id: str                 # 10
    odfi: str                       # the originating DFI: 8 digits (of the ODFI's routing number)
    entry_description: str = "AUTOPAY"


class Entry(NamedTuple):
    tx_code: str                    # 27, 37 (debits) or 28, 38 (prenotes)
    routing: str                    # 9 digits, its check digit included
    account: str                    # up to 17
    amount_cents: int
    individual_id: str              # 15: our account number
    name: str                       # 22
    trace: str                      # 15: ODFI 8 digits + a 7-digit sequence


def entry_hash(routings: Iterable[str]) -> int:
    return sum(int(r[:8]) for r in routings) % HASH_MOD


def write_ppd_debits(origin: Origin, entries: list[Entry], *, effective: dt.date, created: dt.datetime,
                     file_id_modifier: str = "A", batch_number: int = 1) -> str:
    """A whole file: one PPD batch of debits (service class 225), its controls, blocked by 10."""
    lines = [
        "1" + "01" + (" " + origin.immediate_destination).rjust(10)[-10:] + origin.immediate_origin.rjust(10)[-10:]
        + created.strftime("%y%m%d%H%M") + _a(file_id_modifier, 1) + "094" + "10" + "1"
        + _a(origin.destination_name, 23) + _a(origin.origin_name, 23) + _a("", 8),
        "5" + "225" + _a(origin.company_name, 16) + _a("", 20) + _a(origin.company_id, 10) + "PPD"
        + _a(origin.entry_description, 10) + _a(effective.strftime("%b %y"), 6) + effective.strftime("%y%m%d")
        + "   " + "1" + _n(int(origin.odfi), 8) + _n(batch_number, 7),
    ]
    debit = 0
    ehash = 0
    for tx, routing, account, amount, individual_id, name, trace in entries:
        debit += amount
        ehash += int(routing[:8])
        if not (account.isascii() and individual_id.isascii()):
            account, individual_id = _a(account, 17), _a(individual_id, 15)
        lines.append(f"6{tx}{routing}{account:<17.17}{_n(amount, 10)}{individual_id:<15.15}{_a(name, 22)}  0{trace}")
    ehash %= HASH_MOD
    lines.append("8" + "225" + _n(len(entries), 6) + _n(ehash, 10) + _n(debit, 12) + _n(0, 12)
                 + _a(origin.company_id, 10) + " " * 19 + " " * 6 + _n(int(origin.odfi), 8) + _n(batch_number, 7))
    records = len(lines) + 1
    blocks = -(-records // BLOCK)
    lines.append("9" + _n(1, 6) + _n(blocks, 6) + _n(len(entries), 8) + _n(ehash, 10) + _n(debit, 12) + _n(0, 12)
                 + " " * 39)
    lines += [PAD_LINE] * (blocks * BLOCK - records)
    for i, line in enumerate(lines, start=1):
        if len(line) != RECORD:                     # a field above overflowed: never write such a file
            raise NachaError(f"Record {i} would be {len(line)} characters, not {RECORD}")
    return "\n".join(lines) + "\n"


# ---- the parser -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Addenda:
    line_no: int
    type_code: str                  # 05, 98 (change), 99 (return)
    code: str = ""                  # R01..., C01...
    original_trace: str = ""
    original_rdfi: str = ""
    corrected_data: str = ""        # 98: as sent (29), blanks kept at the right end stripped
    info: str = ""
    trace: str = ""


@dataclass(frozen=True)
class ParsedEntry:
    line_no: int
    tx_code: str
    rdfi: str                       # 8 digits
    check_digit: str
    account: str
    amount_cents: int
    individual_id: str
    name: str
    trace: str
    addenda: tuple[Addenda, ...] = ()

    @property
    def routing(self) -> str:
        return self.rdfi + self.check_digit

    @property
    def return_addenda(self) -> Addenda | None:
        return next((a for a in self.addenda if a.type_code == "99"), None)

    @property
    def change_addenda(self) -> Addenda | None:
        return next((a for a in self.addenda if a.type_code == "98"), None)


@dataclass(frozen=True)
class Batch:
    line_no: int
    service_class: str
    company_name: str
    company_id: str
    sec: str
    description: str
    effective: dt.date | None
    odfi: str
    number: int
    entries: tuple[ParsedEntry, ...]
    entry_hash: int
    debit_cents: int
    credit_cents: int


@dataclass(frozen=True)
class NachaFile:
    destination: str
    origin: str
    created: dt.datetime | None
    file_id_modifier: str
    destination_name: str
    origin_name: str
    batches: tuple[Batch, ...]
    entry_addenda_count: int
    entry_hash: int
    debit_cents: int
    credit_cents: int
    block_count: int
    records: int                    # 1 to 9 records, the padding left out
    lines: tuple[str, ...] = field(default=(), repr=False)

    @property
    def entries(self) -> list[ParsedEntry]:
        return [e for b in self.batches for e in b.entries]

    @property
    def returns(self) -> list[ParsedEntry]:
        return [e for e in self.entries if e.return_addenda is not None]

    @property
    def changes(self) -> list[ParsedEntry]:
        return [e for e in self.entries if e.change_addenda is not None]

    def normalised(self) -> str:
        """The records without padding, right blanks or line endings: the same file however sent."""
        return "\n".join(line.rstrip() for line in self.lines)


def _yymmdd(text: str, where: str, *, blank_ok: bool = True) -> dt.date | None:
    if not text.strip() and blank_ok:
        return None
    try:
        return dt.datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        raise NachaError(f"{where}: {text!r} is not a date (YYMMDD)") from None


def _num(text: str, where: str, what: str) -> int:
    t = text.strip()
    if not t.isdigit():
        raise NachaError(f"{where}: the {what} {text!r} is not a number")
    return int(t)


def split_records(text: str) -> list[tuple[int, str]]:
    """(line number, record) for each record, padding lines of 9s after the file control left out.
    A file sent as one line of 94-character records is split; a record that lost its trailing
    blanks is padded back; one longer than 94 is refused."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = raw.split("\n")
    if len([ln for ln in lines if ln.strip()]) == 1 and len(lines[0].rstrip("\n")) > RECORD:
        one = lines[0]
        if len(one) % RECORD:
            raise NachaError(f"The file is one line of {len(one)} characters: not whole 94-character records "
                             "(truncated?)")
        lines = [one[i:i + RECORD] for i in range(0, len(one), RECORD)]
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > RECORD:
            raise NachaError(f"Line {i} has {len(line)} characters; a NACHA record has {RECORD}")
        if line[0] == "9" and line.strip("9") == "" and out and out[-1][1][0] == "9":
            continue                                # block padding
        out.append((i, line.ljust(RECORD)))
    return out


def parse(text: str) -> NachaFile:
    """Parse and check a whole file: record order, every batch's and the file's counts, entry hash and
    totals, the block count. Anything wrong raises NachaError naming the line; nothing is half-read."""
    if "\x00" in text:
        raise NachaError("This is not a text file (a NACHA file was expected)")
    records = split_records(text)
    if not records:
        raise NachaError("The file is empty")
    first_no, first = records[0]
    if first[0] != "1":
        raise NachaError(f"Line {first_no}: a NACHA file starts with a file header (1 record), not {first[:1]!r}")
    if first[34:37] != "094":
        raise NachaError(f"Line {first_no}: the record size is {first[34:37]!r}, not 094")
    try:
        created = dt.datetime.strptime(first[23:33], "%y%m%d%H%M")
    except ValueError:
        created = None
    batches: list[Batch] = []
    i = 1
    file_control = None
    while i < len(records):
        no, rec = records[i]
        kind = rec[0]
        if kind == "9":
            file_control = (no, rec)
            i += 1
            break
        if kind != "5":
            raise NachaError(f"Line {no}: a {kind!r} record where a batch header (5) or the file control (9) "
                             "belongs")
        batch, i = _batch(records, i)
        batches.append(batch)
    if file_control is None:
        last = records[-1][0]
        raise NachaError(f"The file ends at line {last} without its file control (9 record): truncated")
    if i < len(records):
        raise NachaError(f"Line {records[i][0]}: records after the file control")
    no, rec = file_control
    where = f"Line {no} (file control)"
    n_batches = _num(rec[1:7], where, "batch count")
    blocks = _num(rec[7:13], where, "block count")
    count = _num(rec[13:21], where, "entry/addenda count")
    ehash = _num(rec[21:31], where, "entry hash")
    debit = _num(rec[31:43], where, "debit total")
    credit = _num(rec[43:55], where, "credit total")
    want = {
        "batch count": (n_batches, len(batches)),
        "entry/addenda count": (count, sum(len(b.entries) + sum(len(e.addenda) for e in b.entries)
                                           for b in batches)),
        "entry hash": (ehash, sum(b.entry_hash for b in batches) % HASH_MOD),
        "debit total": (debit, sum(b.debit_cents for b in batches)),
        "credit total": (credit, sum(b.credit_cents for b in batches)),
        "block count": (blocks, -(-len(records) // BLOCK)),
    }
    for what, (said, found) in want.items():
        if said != found:
            raise NachaError(f"{where}: the {what} says {said} but the file's records give {found}")
    return NachaFile(first[3:13].strip(), first[13:23].strip(), created, first[33], first[40:63].strip(),
                     first[63:86].strip(), tuple(batches), count, ehash, debit, credit, blocks, len(records),
                     tuple(r for _, r in records))


def _batch(records: list[tuple[int, str]], i: int) -> tuple[Batch, int]:
    hno, h = records[i]
    where = f"Line {hno} (batch header)"
    sec = h[50:53]
    number = _num(h[87:94], where, "batch number")
    entries: list[ParsedEntry] = []
    i += 1
    control = None
    while i < len(records):
        no, rec = records[i]
        if rec[0] == "6":
            entry, i = _entry(records, i, sec)
            entries.append(entry)
            continue
        if rec[0] == "8":
            control = (no, rec)
            i += 1
            break
        if rec[0] == "7":
            raise NachaError(f"Line {no}: an addenda record without the entry it belongs to")
        raise NachaError(f"Line {no}: a {rec[0]!r} record inside batch {number} (its batch control, 8, is missing)")
    if control is None:
        raise NachaError(f"Batch {number} (line {hno}) has no batch control (8 record): the file is truncated")
    cno, c = control
    cw = f"Line {cno} (batch control)"
    if c[1:4] != h[1:4]:
        raise NachaError(f"{cw}: service class {c[1:4]} differs from its header's {h[1:4]}")
    if _num(c[87:94], cw, "batch number") != number:
        raise NachaError(f"{cw}: batch number {c[87:94]} differs from its header's {number}")
    count = _num(c[4:10], cw, "entry/addenda count")
    ehash = _num(c[10:20], cw, "entry hash")
    debit = _num(c[20:32], cw, "debit total")
    credit = _num(c[32:44], cw, "credit total")
    found_debit = sum(e.amount_cents for e in entries if is_debit(e.tx_code))
    found_credit = sum(e.amount_cents for e in entries if not is_debit(e.tx_code))
    want = {
        "entry/addenda count": (count, len(entries) + sum(len(e.addenda) for e in entries)),
        "entry hash": (ehash, entry_hash(e.routing for e in entries)),
        "debit total": (debit, found_debit),
        "credit total": (credit, found_credit),
    }
    for what, (said, found) in want.items():
        if said != found:
            raise NachaError(f"{cw}: the {what} says {said} but batch {number}'s entries give {found}")
    eff = _yymmdd(h[69:75], where) if h[69:75].strip(" 0") else None     # a COR batch may have 000000
    return Batch(hno, h[1:4], h[4:20].strip(), h[40:50].strip(), sec, h[53:63].strip(), eff, h[79:87], number,
                 tuple(entries), ehash, debit, credit), i


def _entry(records: list[tuple[int, str]], i: int, sec: str) -> tuple[ParsedEntry, int]:
    no, r = records[i]
    where = f"Line {no} (entry)"
    tx = r[1:3]
    if not tx.isdigit():
        raise NachaError(f"{where}: transaction code {tx!r} is not a number")
    if not r[3:12].isdigit():
        raise NachaError(f"{where}: receiving DFI {r[3:12]!r} is not 9 digits")
    amount = _num(r[29:39], where, "amount")
    if sec == "IAT":
        raise NachaError(f"{where}: IAT (international) entries are not read here")
    indicator = r[78]
    addenda: list[Addenda] = []
    i += 1
    while i < len(records) and records[i][1][0] == "7":
        ano, a = records[i]
        t = a[1:3]
        if t == "99":
            addenda.append(Addenda(ano, t, a[3:6], a[6:21], a[27:35], "", a[35:79].strip(), a[79:94]))
        elif t == "98":
            addenda.append(Addenda(ano, t, a[3:6], a[6:21], a[27:35], a[35:64].rstrip(), "", a[79:94]))
        else:
            addenda.append(Addenda(ano, t, info=a[3:83].strip()))
        i += 1
    if addenda and indicator != "1":
        raise NachaError(f"{where}: addenda follow but the entry's addenda indicator is {indicator!r}, not 1")
    if indicator == "1" and not addenda:
        raise NachaError(f"{where}: the addenda indicator is 1 but no addenda record follows (truncated?)")
    return ParsedEntry(no, tx, r[3:11], r[11], r[12:29].strip(), amount, r[39:54].strip(), r[54:76].strip(),
                       r[79:94], tuple(addenda)), i
