"""Mail payment batches: open, key lines (each committed on Enter), correct, balance, post once.

A batch is the adding-machine tape (control count and total) plus the lines
keyed against it. Every line is committed by `key_line` before it returns, so
a crash loses nothing and `reopen` simply shows what is there.

Status: open -> balanced / out_of_balance (by `balance_batch`) -> posted, or
void for an abandoned empty batch. Changing a line of a balanced batch puts it
back to open. `post_batch` never trusts the stored status: it claims the batch
with a conditional UPDATE (status IN editable states -> posted) and checks the
row count, recomputes the totals, and writes the ledger in the same
transaction, so two sessions posting at once post once.

Unapplied cash: a payment for a final-billed or closed account is accepted
only with a reason and kept with its account recorded and `unapplied` set. At
posting it becomes a payment on that same account described "Unapplied cash":
the credit sits, visibly, on the closed account's ledger, where a refund or a
transfer to the member's new account is an ordinary later entry. No suspense
table to reconcile.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import JOIN, fn

from kec_tui import db, money
from kec_tui.checkdigit import ScanError, ScanLayout, ScanLine, parse_scan_line, valid_account_number
from kec_tui.services import audit, card_numbers
from kec_tui.services.accounts import balance as account_balance, display_name, flags_for
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

MAX_LINE_CENTS = 9_999_999          # $99,999.99: the most one stub may carry
MAX_CONTROL_COUNT = 99_999
OVERPAY_FACTOR = 2                  # warn when a payment is more than 2x the amount due ...
OVERPAY_MIN_CENTS = 50_000          # ... and more than $500
BATCH_NUMBER_START = db.numbering(db.PaymentBatch.number).start
KEYED_TENDERS = ("check", "cash", "money_order")
CHECK_TENDERS = ("check", "lockbox", "ach")     # what a cash-only account may not pay with
EDITABLE = ("open", "balanced", "out_of_balance")
CLOSED_STATUSES = ("final", "closed")
MAX_CHECK_NO = 20

WARNING_CODES = ("closed_account", "cash_only", "overpayment", "duplicate")
TENDER_LABELS = {"check": "Check", "cash": "Cash", "money_order": "Money order", "lockbox": "Lockbox", "ach": "ACH"}


# ---- errors -------------------------------------------------------------------

class BatchStateError(ServiceError):
    """The batch is not in a state that allows this (posted, void ...)."""


class AlreadyPosted(BatchStateError):
    pass


class EmptyBatch(ServiceError):
    pass


class OutOfBalance(ServiceError):
    def __init__(self, message: str, totals: "BatchTotals"):
        super().__init__(message)
        self.totals = totals


@dataclass(frozen=True)
class LineWarning:
    code: str            # one of WARNING_CODES
    message: str
    needs_reason: bool = False   # closed_account: accepting needs a reason (unapplied cash)


class LineWarningsError(ServiceError):
    """The line has warnings the operator has not accepted; nothing was written."""

    def __init__(self, warnings: list[LineWarning]):
        text = "; ".join(w.message for w in warnings)
        super().__init__(f"{text} (accept to continue)", "account")
        self.warnings = warnings


# ---- dataclasses ----------------------------------------------------------------

@dataclass(frozen=True)
class BatchInfo:
    id: int
    number: int
    batch_date: dt.date
    tender: str
    source: str
    status: str
    operator: str
    control_count: int
    control_total_cents: int
    count: int                  # active lines keyed
    total_cents: int
    created_at: dt.datetime
    posted_at: dt.datetime | None = None
    posted_by: str = ""
    accepted_by: str = ""
    accept_reason: str = ""

    @property
    def count_difference(self) -> int:
        return self.count - self.control_count

    @property
    def total_difference_cents(self) -> int:
        return self.total_cents - self.control_total_cents


@dataclass(frozen=True)
class BatchTotals:
    batch_id: int
    count: int
    total_cents: int
    control_count: int
    control_total_cents: int
    void_count: int = 0

    @property
    def count_difference(self) -> int:
        """Keyed minus control: negative means lines still to key."""
        return self.count - self.control_count

    @property
    def total_difference_cents(self) -> int:
        return self.total_cents - self.control_total_cents

    @property
    def balanced(self) -> bool:
        return self.count_difference == 0 and self.total_difference_cents == 0

    def describe(self) -> str:
        return (f"{self.count} of {self.control_count} lines, {money.fmt_dollars(self.total_cents)} of "
                f"{money.fmt_dollars(self.control_total_cents)} (difference {self.count_difference:+d} lines, "
                f"{money.fmt(self.total_difference_cents, sign=True)})")


@dataclass(frozen=True)
class LineInfo:
    id: int
    batch_id: int
    seq: int
    account_id: int | None
    account_number: int | None
    account_text: str
    name: str
    amount_cents: int
    check_no: str
    tender: str
    source: str
    status: str
    unapplied: bool
    unapplied_reason: str
    warnings_ack: str
    created_at: dt.datetime
    operator: str


@dataclass(frozen=True)
class EntryAccount:
    """What the entry screen shows the moment an account number is valid."""

    account_id: int
    number: int
    name: str
    service_address: str
    status: str
    balance_cents: int
    amount_due_cents: int
    cash_only: bool
    cash_only_until: dt.date | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReopenedBatch:
    batch: BatchInfo
    totals: BatchTotals
    last_lines: list[LineInfo]      # newest first


@dataclass(frozen=True)
class PostResult:
    batch: BatchInfo
    totals: BatchTotals
    entries: int
    accepted_difference: bool


# ---- helpers --------------------------------------------------------------------

def locked_batch(batch_id: int) -> db.PaymentBatch:
    """Read the batch inside a write transaction; on PostgreSQL lock its row so
    line keying and posting of the same batch queue behind each other."""
    b = db.locked(db.PaymentBatch, batch_id)
    if b is None:
        raise NotFound("No such batch")
    return b


def require_editable(b: db.PaymentBatch) -> None:
    if b.status == "posted":
        raise AlreadyPosted(f"Batch {b.number} is posted: it cannot change (use a returned payment or an adjustment)")
    if b.status not in EDITABLE:
        raise BatchStateError(f"Batch {b.number} is {b.status}")


def insert_rows(model, fields, rows: list[tuple]) -> None:
    """Many rows in one prepared INSERT (executemany): bulk writes without
    building SQL per row. Values are in `fields` order, already db values."""
    if not rows:
        return
    cols = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([db.database.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({cols}) VALUES ({marks})'
    db.database.cursor().executemany(sql, rows)


def update_rows(model, field, key, rows: list[tuple]) -> None:
    """UPDATE model SET field = ? WHERE key = ? for each (value, key) row, prepared once."""
    if not rows:
        return
    p = db.database.param
    sql = f'UPDATE "{model._meta.table_name}" SET "{field.column_name}" = {p} WHERE "{key.column_name}" = {p}'
    db.database.cursor().executemany(sql, rows)


def _after_claim(batch_id: int) -> None:
    """Test seam: called inside post_batch's transaction right after the claim."""


def check_amount(amount_cents: int, field_name: str = "amount") -> int:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValidationError("The amount must be whole cents", field_name)
    if amount_cents <= 0:
        raise ValidationError("A payment must be more than zero" if amount_cents == 0 else
                              "A payment cannot be negative (void the line to take it out)", field_name)
    if amount_cents > MAX_LINE_CENTS:
        raise ValidationError(f"{money.fmt_dollars(amount_cents)} is over the "
                              f"{money.fmt_dollars(MAX_LINE_CENTS)} limit of one line", field_name)
    return amount_cents


def amount_from_text(text: str, *, implied_decimal: bool = False) -> int:
    """Keyed amount text -> cents, range-checked; ValidationError(field='amount') otherwise."""
    try:
        cents = money.parse(text, implied_decimal=implied_decimal)
    except money.MoneyError as exc:
        raise ValidationError(str(exc), "amount") from exc
    return check_amount(cents)


def clean_check_no(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_CHECK_NO:
        raise ValidationError(f"A check number is at most {MAX_CHECK_NO} characters", "check_no")
    if text and not all(ch.isalnum() or ch == "-" for ch in text):
        raise ValidationError("A check number is letters and digits only", "check_no")
    card_numbers.refuse(text, "check_no", "Check number")
    return text


def _tender(tender: str) -> str:
    if tender not in db.TENDERS:
        raise ValidationError(f"Tender must be one of {', '.join(db.TENDERS)}", "tender")
    return tender


def ack_codes(ack: Iterable[str | LineWarning] | None) -> set[str]:
    return {a.code if isinstance(a, LineWarning) else str(a) for a in (ack or ())}


# ---- scan lines and the account field --------------------------------------------

def scan_layout(settings) -> ScanLayout:
    """The bill printer's scan-line layout from the settings (scan_account_width, scan_amount_width)."""
    return ScanLayout(settings.scan_account_width, settings.scan_amount_width)


def looks_like_scan(text: str, layout: ScanLayout = ScanLayout()) -> bool:
    """Digits longer than any account number: the scanner typed a scan line
    (perhaps truncated) into the account field."""
    text = text.strip()
    return text.isdigit() and len(text) > layout.account_width


def scan_to_entry(text: str, layout: ScanLayout = ScanLayout()) -> ScanLine:
    """A full scan line -> (account number, amount due in cents). A wrong
    check digit or a truncated line raises ValidationError(field='account')."""
    try:
        scan = parse_scan_line(text, layout)
    except ScanError as exc:
        raise ValidationError(str(exc), "account") from exc
    if scan.amount_cents > MAX_LINE_CENTS:
        raise ValidationError("Scan line amount is over the limit of one line: key the stub", "account")
    return scan


def _account_number(account_text: str) -> int:
    """Keyed text -> account number, its check digit verified (no database)."""
    text = str(account_text).strip()
    if not text:
        raise ValidationError("Key an account number", "account")
    if not text.isdigit():
        raise ValidationError("An account number is digits only", "account")
    text = text.lstrip("0") or "0"
    if not valid_account_number(text):
        raise ValidationError(f"{text}: check digit does not match", "account")
    return int(text)


def account_row(account_text: str) -> db.Account:
    number = _account_number(account_text)
    row = db.Account.get_or_none(db.Account.number == number)
    if row is None:
        raise NotFound(f"No account {number}", "account")
    return row


def account_info_for_entry(account_text: str, today: dt.date | None = None) -> EntryAccount:
    """Validate the keyed account number (check digit, exists) and return what
    the entry screen shows. Indexed lookups only: the account by its unique
    number, the member and location by key, the balance by the ledger's
    (account, effective) index."""
    today = today or dt.date.today()
    number = _account_number(account_text)
    a = (db.Account.select(db.Account, db.Member, db.ServiceLocation)
         .join(db.Member).switch(db.Account).join(db.ServiceLocation)
         .where(db.Account.number == number).first())
    if a is None:
        raise NotFound(f"No account {number}", "account")
    m, loc = a.member, a.location
    bal = account_balance(a.id)
    return EntryAccount(
        account_id=a.id, number=a.number, name=display_name(m.first_name, m.last_name),
        service_address=f"{loc.street}, {loc.city}", status=a.status, balance_cents=bal,
        amount_due_cents=max(bal, 0),
        cash_only=bool(a.cash_only_until and a.cash_only_until >= today), cash_only_until=a.cash_only_until,
        flags=tuple(flags_for(a, today)))


# ---- reading batches and lines ----------------------------------------------------

def _line_query():
    L, A, M, O = db.BatchLine, db.Account, db.Member, db.Operator
    return (L.select(L.id, L.batch, L.seq, L.account, A.number, L.account_text, M.first_name, M.last_name,
                     L.amount_cents, L.check_no, L.tender, L.source, L.status, L.unapplied, L.unapplied_reason,
                     L.warnings_ack, L.created_at, O.username)
            .join(A, JOIN.LEFT_OUTER, on=(L.account == A.id))
            .join(M, JOIN.LEFT_OUTER, on=(A.member == M.id))
            .switch(L).join(O, JOIN.LEFT_OUTER, on=(L.operator == O.id)))


def _lines_from(q) -> list[LineInfo]:
    out = []
    for r in q.tuples():
        name = display_name(r[6] or "", r[7]) if r[7] is not None else ""
        out.append(LineInfo(r[0], r[1], r[2], r[3], r[4], r[5], name, r[8], r[9], r[10], r[11], r[12],
                            bool(r[13]), r[14], r[15], r[16], r[17] or ""))
    return out


def get_line(line_id: int) -> LineInfo:
    found = _lines_from(_line_query().where(db.BatchLine.id == line_id))
    if not found:
        raise NotFound("No such line")
    return found[0]


def lines(batch_id: int, limit: int = 200, offset: int = 0, include_void: bool = True) -> list[LineInfo]:
    """One page of a batch's lines in keyed order (seq)."""
    where = db.BatchLine.batch == batch_id
    if not include_void:
        where &= db.BatchLine.status == "active"
    return _lines_from(_line_query().where(where).order_by(db.BatchLine.seq).limit(limit).offset(offset))


def last_lines(batch_id: int, n: int = 10) -> list[LineInfo]:
    """The last `n` lines keyed, newest first (the entry screen keeps them in view)."""
    return _lines_from(_line_query().where(db.BatchLine.batch == batch_id).order_by(db.BatchLine.seq.desc()).limit(n))


def line_at(batch_id: int, seq: int) -> LineInfo:
    found = _lines_from(_line_query().where(db.BatchLine.batch == batch_id, db.BatchLine.seq == seq))
    if not found:
        raise NotFound(f"No line {seq} in this batch", "seq")
    return found[0]


def find_lines(batch_id: int, account: str | int | None = None, amount: str | int | None = None,
               include_void: bool = True) -> list[LineInfo]:
    """Lines of a batch by account (the number, or the digits as keyed; a
    leading part is enough) and/or amount (cents, or text like 123.45)."""
    L, A = db.BatchLine, db.Account
    where = L.batch == batch_id
    if account is not None and str(account).strip():
        text = str(account).strip().lstrip("0") or "0"
        if not text.isdigit():
            raise ValidationError("Find by account: digits only", "account")
        where &= (L.account_text.startswith(text)) | (A.number == int(text))
    if amount is not None and str(amount).strip():
        if isinstance(amount, int) and not isinstance(amount, bool):
            cents = amount
        else:
            try:
                cents = money.parse(str(amount))
            except money.MoneyError as exc:
                raise ValidationError(str(exc), "amount") from exc
        where &= L.amount_cents == cents
    if not include_void:
        where &= L.status == "active"
    return _lines_from(_line_query().where(where).order_by(L.seq).limit(500))


def batch_totals(batch_id: int) -> BatchTotals:
    b = db.PaymentBatch.get_or_none(db.PaymentBatch.id == batch_id)
    if b is None:
        raise NotFound("No such batch")
    L = db.BatchLine
    rows = dict((s, (c, t)) for s, c, t in
                L.select(L.status, fn.COUNT(L.id), fn.COALESCE(fn.SUM(L.amount_cents), 0))
                .where(L.batch == batch_id).group_by(L.status).tuples())
    count, total = rows.get("active", (0, 0))
    return BatchTotals(batch_id, int(count), int(total), b.control_count, b.control_total_cents,
                       int(rows.get("void", (0, 0))[0]))


def _batch_infos(q) -> list[BatchInfo]:
    batches = list(q)
    if not batches:
        return []
    L = db.BatchLine
    sums = {bid: (int(c), int(t)) for bid, c, t in
            L.select(L.batch, fn.COUNT(L.id), fn.COALESCE(fn.SUM(L.amount_cents), 0))
            .where(L.batch.in_([b.id for b in batches]), L.status == "active").group_by(L.batch).tuples()}
    op_ids = {i for b in batches for i in (b.operator_id, b.posted_by_id, b.accepted_by_id) if i}
    names = dict(db.Operator.select(db.Operator.id, db.Operator.username)
                 .where(db.Operator.id.in_(list(op_ids))).tuples()) if op_ids else {}
    out = []
    for b in batches:
        c, t = sums.get(b.id, (0, 0))
        out.append(BatchInfo(b.id, b.number, b.batch_date, b.tender, b.source, b.status,
                             names.get(b.operator_id, ""), b.control_count, b.control_total_cents, c, t,
                             b.created_at, b.posted_at, names.get(b.posted_by_id, ""),
                             names.get(b.accepted_by_id, ""), b.accept_reason))
    return out


def get_batch(batch_id: int) -> BatchInfo:
    found = _batch_infos(db.PaymentBatch.select().where(db.PaymentBatch.id == batch_id))
    if not found:
        raise NotFound("No such batch")
    return found[0]


def list_batches(status: str | Iterable[str] | None = None, limit: int = 50, offset: int = 0) -> list[BatchInfo]:
    """Newest first; `status` one state or several (e.g. EDITABLE for all unposted)."""
    q = db.PaymentBatch.select()
    if status is not None:
        states = [status] if isinstance(status, str) else list(status)
        q = q.where(db.PaymentBatch.status.in_(states))
    return _batch_infos(q.order_by(db.PaymentBatch.id.desc()).limit(limit).offset(offset))


# ---- opening, reopening, controls -------------------------------------------------

def _check_controls(control_count: int, control_total_cents: int, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(control_count, bool) or not isinstance(control_count, int) or \
            not low <= control_count <= MAX_CONTROL_COUNT:
        raise ValidationError(f"Control count: a number of stubs, {low} to {MAX_CONTROL_COUNT:,}", "control_count")
    if isinstance(control_total_cents, bool) or not isinstance(control_total_cents, int):
        raise ValidationError("Control total must be whole cents", "control_total")
    if control_total_cents < low:
        raise ValidationError("Control total must be more than zero", "control_total")
    if control_total_cents > control_count * MAX_LINE_CENTS:
        raise ValidationError("Control total is more than the control count of stubs can carry", "control_total")


def create_batch(op: OperatorInfo, tender: str, control_count: int, control_total_cents: int, *,
                 batch_date: dt.date | None = None, source: str = "keyed",
                 payment_import_id: int | None = None) -> int:
    """Insert a batch with the next number, in the caller's transaction if any. Returns its id."""
    with db.write_txn():
        number = db.next_number(db.PaymentBatch.number)
        b = db.PaymentBatch.create(number=number, batch_date=batch_date or dt.date.today(), tender=tender,
                                   source=source, operator=op.id, control_count=control_count,
                                   control_total_cents=control_total_cents, payment_import=payment_import_id)
        audit.record(op, "batch.open", "batch", b.id,
                     after=f"batch {number} {tender} {control_count} lines {money.fmt(control_total_cents)}")
    return b.id


def open_batch(op: OperatorInfo, tender: str, control_count: int, control_total_cents: int,
               batch_date: dt.date | None = None) -> BatchInfo:
    """Open a keyed batch from the adding-machine tape; the number is assigned."""
    require(op, "payment.key")
    if tender not in KEYED_TENDERS:
        raise ValidationError(f"Tender must be one of {', '.join(KEYED_TENDERS)}", "tender")
    _check_controls(control_count, control_total_cents)
    if batch_date and batch_date > dt.date.today() + dt.timedelta(days=7):
        raise ValidationError("The batch date is more than a week ahead", "batch_date")
    return get_batch(create_batch(op, tender, control_count, control_total_cents, batch_date=batch_date))


def reopen(op: OperatorInfo, batch_id: int, n_last: int = 10) -> ReopenedBatch:
    """Continue an unposted batch (one left by a crash too): every keyed line
    is there, since each was committed. A balanced batch goes back to open."""
    require(op, "payment.key")
    with db.write_txn():
        b = locked_batch(batch_id)
        require_editable(b)
        if b.status != "open":
            db.PaymentBatch.update(status="open").where(db.PaymentBatch.id == batch_id,
                                                        db.PaymentBatch.status.in_(EDITABLE)).execute()
    return ReopenedBatch(get_batch(batch_id), batch_totals(batch_id), last_lines(batch_id, n_last))


def open_for_entry(op: OperatorInfo, batch_id: int) -> None:
    """A batch about to be shown in the entry screen: a keyed unposted one (one left by a crash
    too) is reopened for keying; a posted or imported one is only viewed; a void one is refused."""
    b = get_batch(batch_id)
    if b.status in EDITABLE and b.source == "keyed":
        reopen(op, batch_id)
    elif b.status == "void":
        raise BatchStateError(f"Batch {b.number} is void")


def change_controls(op: OperatorInfo, batch_id: int, control_count: int, control_total_cents: int) -> BatchTotals:
    """Correct the tape (a mis-added control); audited."""
    require(op, "payment.key")
    _check_controls(control_count, control_total_cents)
    with db.write_txn():
        b = locked_batch(batch_id)
        require_editable(b)
        before = f"{b.control_count} lines {money.fmt(b.control_total_cents)}"
        db.PaymentBatch.update(control_count=control_count, control_total_cents=control_total_cents,
                               status="open").where(db.PaymentBatch.id == batch_id).execute()
        audit.record(op, "batch.controls", "batch", batch_id, field="controls", before=before,
                     after=f"{control_count} lines {money.fmt(control_total_cents)}")
    return batch_totals(batch_id)


def balance_batch(op: OperatorInfo, batch_id: int) -> BatchTotals:
    """End of keying: compare with the controls and mark balanced or out_of_balance."""
    require(op, "payment.key")
    with db.write_txn():
        b = locked_batch(batch_id)
        require_editable(b)
        totals = batch_totals(batch_id)
        db.PaymentBatch.update(status="balanced" if totals.balanced else "out_of_balance").where(
            db.PaymentBatch.id == batch_id, db.PaymentBatch.status.in_(EDITABLE)).execute()
    return totals


def void_batch(op: OperatorInfo, batch_id: int, reason: str = "") -> BatchInfo:
    """Abandon a batch with no active lines."""
    require(op, "payment.key")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        b = locked_batch(batch_id)
        require_editable(b)
        if batch_totals(batch_id).count:
            raise BatchStateError(f"Batch {b.number} has lines: void them first, or post it")
        db.PaymentBatch.update(status="void").where(db.PaymentBatch.id == batch_id,
                                                    db.PaymentBatch.status.in_(EDITABLE)).execute()
        audit.record(op, "batch.void", "batch", batch_id, field="status", before=b.status,
                     after=f"void {reason.strip()}".strip())
    return get_batch(batch_id)


# ---- warnings and keying ------------------------------------------------------------

def line_warnings(batch_id: int, account_id: int, amount_cents: int, tender: str | None = None, *,
                  exclude_line_id: int | None = None) -> list[LineWarning]:
    """What the operator must accept before this line is written. Call it the
    moment account and amount are known; key_line checks again and refuses
    a line with warnings not acknowledged."""
    b = db.PaymentBatch.get_or_none(db.PaymentBatch.id == batch_id)
    if b is None:
        raise NotFound("No such batch")
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound("No such account", "account")
    tender = tender or b.tender
    out: list[LineWarning] = []
    if a.status in CLOSED_STATUSES:
        word = "final-billed" if a.status == "final" else "closed"
        out.append(LineWarning("closed_account", f"Account {a.number} is {word}: accept to unapplied cash "
                                                 f"with a reason", needs_reason=True))
    if a.cash_only_until and a.cash_only_until >= b.batch_date and tender in CHECK_TENDERS:
        out.append(LineWarning("cash_only", f"Account {a.number} is CASH ONLY until "
                                            f"{a.cash_only_until:%m/%d/%Y}: no checks"))
    due = max(account_balance(account_id), 0)
    if amount_cents > OVERPAY_MIN_CENTS and amount_cents > OVERPAY_FACTOR * due:
        out.append(LineWarning("overpayment", f"{money.fmt_dollars(amount_cents)} is far above the amount due "
                                              f"{money.fmt_dollars(due)}"))
    L = db.BatchLine
    dup = L.select(L.seq).where(L.batch == batch_id, L.account == account_id, L.amount_cents == amount_cents,
                                L.status == "active")
    if exclude_line_id is not None:
        dup = dup.where(L.id != exclude_line_id)
    seqs = [s for (s,) in dup.order_by(L.seq).limit(3).tuples()]
    if seqs:
        out.append(LineWarning("duplicate", f"Line {', '.join(map(str, seqs))} already has "
                                            f"{money.fmt_dollars(amount_cents)} from account {a.number}: "
                                            f"a duplicate stub?"))
    return out


def _judge_warnings(warnings: list[LineWarning], ack: set[str], reason: str) -> tuple[str, bool, str]:
    """-> (warnings_ack text, unapplied, unapplied_reason); raises when not all accepted."""
    missing = [w for w in warnings if w.code not in ack]
    if missing:
        raise LineWarningsError(missing)
    unapplied = any(w.code == "closed_account" for w in warnings)
    reason = reason.strip()
    if unapplied and not reason:
        raise ValidationError("Give a reason to accept a payment for a closed account to unapplied cash", "reason")
    if len(reason) > 200:
        raise ValidationError("A reason is at most 200 characters", "reason")
    card_numbers.refuse(reason, "reason")
    text = ", ".join(w.code for w in warnings)
    if text and reason:
        text += f": {reason}"
    return text, unapplied, reason if unapplied else ""


def insert_line(op: OperatorInfo, b: db.PaymentBatch, account: db.Account, account_text: str, amount_cents: int,
                 check_no: str, tender: str, source: str, ack: set[str], reason: str) -> LineInfo:
    """In the caller's write transaction, with the batch locked: the line as written."""
    warnings = line_warnings(b.id, account.id, amount_cents, tender)
    ack_text, unapplied, unapplied_reason = _judge_warnings(warnings, ack, reason)
    top = db.BatchLine.select(fn.MAX(db.BatchLine.seq)).where(db.BatchLine.batch == b.id).scalar()
    line = db.BatchLine.create(batch=b.id, seq=int(top or 0) + 1, account=account.id,
                               account_text=account_text[:24], amount_cents=amount_cents, check_no=check_no,
                               tender=tender, source=source, unapplied=unapplied,
                               unapplied_reason=unapplied_reason, warnings_ack=ack_text, operator=op.id)
    if b.status != "open":
        db.PaymentBatch.update(status="open").where(db.PaymentBatch.id == b.id).execute()
    if unapplied:
        audit.record(op, "payment.unapplied", "batch_line", line.id, account_id=account.id,
                     after=f"batch {b.number} line {line.seq} {money.fmt(amount_cents)}: {unapplied_reason}")
    # What was written, without reading it back (heads-down speed: one query less per line).
    member = db.Member.get_by_id(account.member_id)
    return LineInfo(line.id, b.id, line.seq, account.id, account.number, line.account_text,
                    display_name(member.first_name, member.last_name), amount_cents, check_no, tender, source,
                    "active", unapplied, unapplied_reason, ack_text, line.created_at, op.username)


def key_line(op: OperatorInfo, batch_id: int, account_text: str, amount_cents: int, check_no: str = "",
             source: str = "keyed", *, ack: Iterable[str | LineWarning] = (), reason: str = "",
             tender: str | None = None) -> LineInfo:
    """Validate and write one line, committed before this returns (durable on
    Enter). `ack` names the warning codes the operator accepted; `reason` is
    required to accept a closed/final account (unapplied cash)."""
    require(op, "payment.key")
    if source not in db.LINE_SOURCES:
        raise ValidationError(f"Source must be one of {', '.join(db.LINE_SOURCES)}", "source")
    check_amount(amount_cents)
    check_no = clean_check_no(check_no)
    account = account_row(account_text)
    with db.write_txn():
        b = locked_batch(batch_id)
        require_editable(b)
        return insert_line(op, b, account, str(account_text).strip(), amount_cents, check_no,
                           _tender(tender or b.tender), source, ack_codes(ack), reason)


def key_scan(op: OperatorInfo, batch_id: int, scan_text: str, check_no: str = "", *,
             layout: ScanLayout = ScanLayout(), ack: Iterable[str | LineWarning] = (), reason: str = "",
             tender: str | None = None) -> LineInfo:
    """One Enter after a scan: the exact-amount stub becomes a line (source 'scanned')."""
    scan = scan_to_entry(scan_text, layout)
    return key_line(op, batch_id, str(scan.account_number), scan.amount_cents, check_no, "scanned",
                    ack=ack, reason=reason, tender=tender)


# ---- corrections ------------------------------------------------------------------------

def update_line(op: OperatorInfo, line_id: int, *, account_text: str | None = None, amount_cents: int | None = None,
                check_no: str | None = None, tender: str | None = None,
                ack: Iterable[str | LineWarning] = (), reason: str = "") -> LineInfo:
    """Change a line of an unposted batch; each changed field audited before/after."""
    require(op, "payment.key")
    if amount_cents is not None:
        check_amount(amount_cents)
    if check_no is not None:
        check_no = clean_check_no(check_no)
    new_account = account_row(account_text) if account_text is not None else None
    with db.write_txn():
        line = db.BatchLine.get_or_none(db.BatchLine.id == line_id)
        if line is None:
            raise NotFound("No such line")
        b = locked_batch(line.batch_id)
        require_editable(b)
        line = db.BatchLine.get_by_id(line_id)
        if line.status != "active":
            raise BatchStateError(f"Line {line.seq} is void: key a new line instead")
        old_number = db.Account.get_by_id(line.account_id).number if line.account_id else line.account_text
        changes: dict[str, tuple[str, str]] = {}
        updates: dict = {}
        account_id = line.account_id
        if new_account is not None and new_account.id != line.account_id:
            account_id = new_account.id
            updates.update(account=new_account.id, account_text=str(account_text).strip()[:24])
            changes["account"] = (str(old_number), str(new_account.number))
        amount = line.amount_cents
        if amount_cents is not None and amount_cents != line.amount_cents:
            amount = amount_cents
            updates["amount_cents"] = amount_cents
            changes["amount"] = (money.fmt(line.amount_cents), money.fmt(amount_cents))
        if check_no is not None and check_no != line.check_no:
            updates["check_no"] = check_no
            changes["check_no"] = (line.check_no, check_no)
        if tender is not None and tender != line.tender:
            updates["tender"] = _tender(tender)
            changes["tender"] = (line.tender, tender)
        if not changes:
            return get_line(line_id)
        if "account" in changes or "amount" in changes or "tender" in changes:
            warnings = line_warnings(b.id, account_id, amount, updates.get("tender", line.tender),
                                     exclude_line_id=line_id)
            ack_text, unapplied, unapplied_reason = _judge_warnings(warnings, ack_codes(ack), reason)
            updates.update(warnings_ack=ack_text, unapplied=unapplied, unapplied_reason=unapplied_reason)
        db.BatchLine.update(**updates).where(db.BatchLine.id == line_id).execute()
        for name, (before, after) in changes.items():
            audit.record(op, "batch_line.update", "batch_line", line_id, account_id=account_id,
                         field=name, before=f"batch {b.number} line {line.seq}: {before}", after=after)
        if b.status != "open":
            db.PaymentBatch.update(status="open").where(db.PaymentBatch.id == b.id).execute()
    return get_line(line_id)


def void_line(op: OperatorInfo, line_id: int, reason: str = "") -> LineInfo:
    """Take a line out of an unposted batch (it stays listed as void); audited."""
    require(op, "payment.key")
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        line = db.BatchLine.get_or_none(db.BatchLine.id == line_id)
        if line is None:
            raise NotFound("No such line")
        b = locked_batch(line.batch_id)
        require_editable(b)
        n = db.BatchLine.update(status="void").where(db.BatchLine.id == line_id,
                                                     db.BatchLine.status == "active").execute()
        if n != 1:
            raise BatchStateError(f"Line {line.seq} is already void")
        audit.record(op, "batch_line.void", "batch_line", line_id, account_id=line.account_id, field="status",
                     before=f"batch {b.number} line {line.seq}: {line.account_text} {money.fmt(line.amount_cents)}",
                     after=f"void {reason.strip()}".strip())
        if b.status != "open":
            db.PaymentBatch.update(status="open").where(db.PaymentBatch.id == b.id).execute()
    return get_line(line_id)


# ---- posting -------------------------------------------------------------------------------

def _reference(number: int, seq: int, check_no: str) -> str:
    ref = f"B{number}-{seq}"
    return (f"{ref} ck {check_no}" if check_no else ref)[:40]


@db.connected
def post_batch(op: OperatorInfo, batch_id: int, accept_reason: str | None = None) -> PostResult:
    """Post every active line as a ledger payment, all or nothing, exactly once.

    Allowed when count and total equal the controls, or when a supervisor
    (batch.approve) accepts the difference with `accept_reason`."""
    if op is None:
        raise PermissionDenied("No operator is signed in")
    b0 = db.PaymentBatch.get_or_none(db.PaymentBatch.id == batch_id)
    if b0 is None:
        raise NotFound("No such batch")
    if not (op.can("payment.key") or (b0.source != "keyed" and op.can("payment.import"))):
        require(op, "payment.key")
    card_numbers.refuse(accept_reason, "reason")
    accepted = False
    with db.write_txn():
        claimed = (db.PaymentBatch.update(status="posted", posted_at=db.now(), posted_by=op.id)
                   .where(db.PaymentBatch.id == batch_id, db.PaymentBatch.status.in_(EDITABLE)).execute())
        if claimed != 1:
            b = db.PaymentBatch.get_by_id(batch_id)
            if b.status == "posted":
                raise AlreadyPosted(f"Batch {b.number} is already posted")
            raise BatchStateError(f"Batch {b.number} is {b.status}: it cannot be posted")
        _after_claim(batch_id)
        b = db.PaymentBatch.get_by_id(batch_id)
        totals = batch_totals(batch_id)
        if totals.count == 0:
            raise EmptyBatch(f"Batch {b.number} has no lines: nothing to post (void it instead)")
        if not totals.balanced:
            if not (accept_reason or "").strip():
                raise OutOfBalance(f"Batch {b.number} is out of balance: {totals.describe()}. "
                                   f"Correct it, or a supervisor accepts the difference with a reason", totals)
            if not op.can("batch.approve"):
                raise PermissionDenied(f"Batch {b.number} is out of balance: only a supervisor may accept "
                                       f"the difference ({op.username} is {op.role})")
            accepted = True
            reason = accept_reason.strip()[:200]
            db.PaymentBatch.update(accepted_by=op.id, accept_reason=reason).where(
                db.PaymentBatch.id == batch_id).execute()
            audit.record(op, "batch.accept", "batch", batch_id, field="difference",
                         before=totals.describe(), after=reason)
        L = db.BatchLine
        rows = list(L.select(L.id, L.seq, L.account, L.amount_cents, L.check_no, L.unapplied, L.source)
                    .where(L.batch == batch_id, L.status == "active").order_by(L.seq).tuples())
        if any(r[2] is None for r in rows):
            raise ServiceError(f"Batch {b.number} has a line without an account: correct it before posting")
        posted_at = db.now()
        tender = TENDER_LABELS.get(b.tender, b.tender)
        LE = db.LedgerEntry
        before_id = LE.select(fn.MAX(LE.id)).scalar() or 0
        entries = []
        for line_id, seq, account_id, cents, check_no, unapplied, source in rows:
            desc = "Unapplied cash" if unapplied else ("Lockbox payment" if source == "imported" else "Payment")
            entries.append((account_id, posted_at, b.batch_date, "payment", -cents, f"{desc} ({tender})",
                            _reference(b.number, seq, check_no), op.id))
        insert_rows(LE, (LE.account, LE.posted_at, LE.effective, LE.kind, LE.amount_cents, LE.description,
                         LE.reference, LE.operator), entries)
        # Link each line to its entry: ours are the new ids whose reference starts with this
        # batch's "B<number>-" (one session's ids rise in its insert order on both backends).
        prefix = f"B{b.number}-"
        ids = [i for (i,) in LE.select(LE.id).where(LE.id > before_id, LE.kind == "payment",
                                                    fn.SUBSTR(LE.reference, 1, len(prefix)) == prefix)
               .order_by(LE.id).tuples()]
        if len(ids) != len(rows):
            raise ServiceError(f"Batch {b.number}: posting wrote {len(ids)} entries for {len(rows)} lines; "
                               f"nothing was posted")
        update_rows(L, L.ledger_entry, L.id, [(entry_id, r[0]) for entry_id, r in zip(ids, rows)])
        audit.record(op, "batch.post", "batch", batch_id, field="status", before=b0.status,
                     after=f"posted {totals.count} lines {money.fmt(totals.total_cents)}")
    return PostResult(get_batch(batch_id), totals, len(rows), accepted)
