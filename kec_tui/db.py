"""The data layer: Peewee models on one DatabaseProxy, connect(url), schema and migrations.

Money columns are integer cents (BigIntegerField). The ledger is append-only:
corrections are new entries. Screens never see these rows; services hand them
plain dataclasses.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, ParamSpec, TypeVar
from urllib.parse import unquote, urlparse

import peewee as pw

from kec_tui.config import redact

database = pw.DatabaseProxy()
P = ParamSpec("P")
R = TypeVar("R")

SCHEMA_VERSION = 2


class DatabaseUnavailable(RuntimeError):
    """The database named by the settings cannot be opened; message is for the user."""


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta_(BaseModel):
    """One-row-per-key settings of this database (schema version, demo seed ...)."""

    key = pw.CharField(primary_key=True, max_length=64)
    value = pw.TextField()

    class Meta:
        table_name = "kec_meta"


ROLES = ("msr", "billing", "collections", "supervisor", "admin")


class Operator(BaseModel):
    username = pw.CharField(unique=True, max_length=32)
    name = pw.CharField(max_length=80)
    role = pw.CharField(max_length=16, default="msr")
    os_user = pw.CharField(max_length=64, null=True, index=True)
    password_hash = pw.CharField(max_length=255, null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=now)
    # Set when an administrator sets the password: the operator sets their own at the next sign-in.
    must_change_password = pw.BooleanField(default=False, constraints=[pw.SQL("DEFAULT FALSE")])
    locked_at = pw.DateTimeField(null=True)      # too many wrong passwords (services/sign_in_guard.py)
    unlocked_at = pw.DateTimeField(null=True)    # failures before this no longer count
    next_try_at = pw.DateTimeField(null=True)    # the earliest the next password may be checked


class Member(BaseModel):
    member_no = pw.IntegerField(unique=True)
    first_name = pw.CharField(max_length=40, default="")
    last_name = pw.CharField(max_length=60)  # or the business name
    tax_id_last4 = pw.CharField(max_length=4, null=True, index=True)
    tax_id_hash = pw.CharField(max_length=64, null=True)  # keyed hash: match, never show
    birth_date = pw.DateField(null=True)
    phone_home = pw.CharField(max_length=10, default="")
    phone_mobile = pw.CharField(max_length=10, default="")
    phone_work = pw.CharField(max_length=10, default="")
    email = pw.CharField(max_length=120, default="")
    mail_street = pw.CharField(max_length=80, default="")
    mail_city = pw.CharField(max_length=40, default="")
    mail_state = pw.CharField(max_length=2, default="ID")
    mail_zip = pw.CharField(max_length=10, default="")
    preferred_contact = pw.CharField(max_length=8, default="phone")
    joined = pw.DateField(default=dt.date.today)
    # Bank account for automatic payment (ACH draft) and refunds: shown masked; the
    # full number only to a role with sensitive.view, and every showing is audited.
    bank_routing = pw.CharField(max_length=9, default="", constraints=[pw.SQL("DEFAULT ''")])
    bank_account = pw.CharField(max_length=17, default="", constraints=[pw.SQL("DEFAULT ''")])


class AuthorizedPerson(BaseModel):
    member = pw.ForeignKeyField(Member, backref="authorized", on_delete="CASCADE")
    name = pw.CharField(max_length=80)
    relation = pw.CharField(max_length=30, default="")
    phone = pw.CharField(max_length=10, default="")


class ServiceLocation(BaseModel):
    location_no = pw.IntegerField(unique=True)
    street = pw.CharField(max_length=80)
    city = pw.CharField(max_length=40)
    state = pw.CharField(max_length=2, default="ID")
    zip = pw.CharField(max_length=10)
    map_location = pw.CharField(max_length=40, default="")  # township-range-section / pole number
    owner_name = pw.CharField(max_length=80, default="")    # landlord for rentals
    owner_phone = pw.CharField(max_length=10, default="")


class Meter(BaseModel):
    meter_no = pw.CharField(unique=True, max_length=12)
    location = pw.ForeignKeyField(ServiceLocation, backref="meters", null=True)
    multiplier = pw.IntegerField(default=1)
    installed = pw.DateField(null=True)


ACCOUNT_STATUSES = ("pending", "active", "disconnected", "final", "closed")
RATE_CLASSES = ("RES", "SGS", "LGS", "IRR", "SL")


class Account(BaseModel):
    number = pw.BigIntegerField(unique=True)  # includes its check digit
    member = pw.ForeignKeyField(Member, backref="accounts")
    location = pw.ForeignKeyField(ServiceLocation, backref="accounts")
    meter = pw.ForeignKeyField(Meter, null=True, backref="accounts")
    rate_class = pw.CharField(max_length=4, default="RES")
    status = pw.CharField(max_length=12, default="active", index=True)
    bill_cycle = pw.SmallIntegerField(default=1)
    cash_only_until = pw.DateField(null=True)
    medical_cert_until = pw.DateField(null=True)
    landlord = pw.BooleanField(default=False)
    bankruptcy = pw.BooleanField(default=False)
    budget_billing = pw.BooleanField(default=False)
    collections = pw.BooleanField(default=False)
    deposit_cents = pw.BigIntegerField(default=0)
    opened = pw.DateField(default=dt.date.today)
    closed = pw.DateField(null=True)
    # Winter protection (Dec-Feb): the member declared inability to pay with children, elderly (62+)
    # or infirm members in the household; good through the end of that winter (services/orders.py).
    winter_protection_until = pw.DateField(null=True)
    winter_household = pw.CharField(max_length=40, default="", constraints=[pw.SQL("DEFAULT ''")])
    transferred_to = pw.ForeignKeyField("self", null=True, backref="transferred_from")  # a move


LEDGER_KINDS = ("bill", "payment", "adjustment", "reversal", "fee", "deposit", "writeoff", "transfer", "capcredit")


class LedgerEntry(BaseModel):
    """Append-only. Charges are positive cents, payments and credits negative."""

    account = pw.ForeignKeyField(Account, backref="ledger", index=False)  # (account, effective) leads with it
    posted_at = pw.DateTimeField(default=now)
    effective = pw.DateField()
    kind = pw.CharField(max_length=12)
    amount_cents = pw.BigIntegerField()
    description = pw.CharField(max_length=120, default="")
    reference = pw.CharField(max_length=40, default="")  # check no., batch no., reason code
    due_date = pw.DateField(null=True)                   # bills only
    operator = pw.ForeignKeyField(Operator, null=True)
    reverses = pw.ForeignKeyField("self", null=True, backref="reversals")

    class Meta:
        indexes = ((("account", "effective"), False),)


class Reading(BaseModel):
    account = pw.ForeignKeyField(Account, backref="readings", index=False)  # (account, read_date) leads with it
    meter = pw.ForeignKeyField(Meter, null=True)
    read_date = pw.DateField()
    reading = pw.IntegerField()
    kwh = pw.IntegerField()
    # Billing (services/readings.py). SQL defaults too, for bulk loaders that name columns.
    demand_kw = pw.DecimalField(max_digits=10, decimal_places=3, null=True)
    reverse_kwh = pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")])     # net metering: sent to the grid
    # keyed, ami, estimated
    source = pw.CharField(max_length=10, default="keyed", constraints=[pw.SQL("DEFAULT 'keyed'")])

    class Meta:
        indexes = ((("account", "read_date"), False),)


ORDER_KINDS = ("connect", "disconnect_nonpay", "reconnect", "move_in_read", "move_out_read",
               "meter_test", "meter_replace", "reread", "remote_disconnect", "remote_reconnect", "other")
ORDER_STATUSES = ("open", "dispatched", "completed", "cancelled")


class ServiceOrder(BaseModel):
    order_no = pw.IntegerField(unique=True)
    account = pw.ForeignKeyField(Account, backref="orders")
    kind = pw.CharField(max_length=20)
    status = pw.CharField(max_length=12, default="open", index=True)
    priority = pw.SmallIntegerField(default=3)
    due_date = pw.DateField(null=True)
    created_at = pw.DateTimeField(default=now)
    completed_at = pw.DateTimeField(null=True)
    notes = pw.TextField(default="")
    operator = pw.ForeignKeyField(Operator, null=True)
    # Work and completion (services/orders.py). SQL defaults too, for bulk loaders that name columns.
    member_requested = pw.BooleanField(default=False, constraints=[pw.SQL("DEFAULT FALSE")])  # trip fee
    dispatched_at = pw.DateTimeField(null=True)
    dispatched_to = pw.CharField(max_length=40, default="", constraints=[pw.SQL("DEFAULT ''")])
    completed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    reading = pw.IntegerField(null=True)                                              # taken on completion
    meter_no = pw.CharField(max_length=12, default="", constraints=[pw.SQL("DEFAULT ''")])   # read or set
    fee_cents = pw.BigIntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")])          # charged on completion
    resolution = pw.CharField(max_length=200, default="", constraints=[pw.SQL("DEFAULT ''")])  # cancel reason ...


class ScheduledFinal(BaseModel):
    """A move or closure a member called ahead for: done when its final-read order is completed."""
    order = pw.ForeignKeyField(ServiceOrder, unique=True, backref="+")   # the move-out read, due that day
    kind = pw.CharField(max_length=8)                                    # move, close
    new_location = pw.ForeignKeyField(ServiceLocation, null=True, backref="+")
    rate_class = pw.CharField(max_length=8, default="")
    owner_name = pw.CharField(max_length=80, default="")
    owner_phone = pw.CharField(max_length=20, default="")
    connect_due = pw.DateField(null=True)
    notes = pw.TextField(default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class Note(BaseModel):
    account = pw.ForeignKeyField(Account, backref="notes")
    created_at = pw.DateTimeField(default=now)
    operator = pw.ForeignKeyField(Operator, null=True)
    text = pw.TextField()


class AuditLog(BaseModel):
    at = pw.DateTimeField(default=now, index=True)
    operator = pw.ForeignKeyField(Operator, null=True)
    action = pw.CharField(max_length=40)
    entity = pw.CharField(max_length=30)
    entity_id = pw.BigIntegerField(null=True)
    account = pw.ForeignKeyField(Account, null=True, backref="audit")
    field = pw.CharField(max_length=40, default="")
    before = pw.TextField(default="")
    after = pw.TextField(default="")


class SignInAttempt(BaseModel):
    """One password sign-in, from any server process: the counts behind back-off, locks and bans."""
    at = pw.DateTimeField(default=now, index=True)
    username = pw.CharField(max_length=64, index=True)
    address = pw.CharField(max_length=64, index=True)
    ok = pw.BooleanField(default=False)
    evaluated = pw.BooleanField(default=True)   # False: refused before the password was checked


class Seal(BaseModel):
    """A sealed range of ledger or audit rows (services/seals.py): each row's hash, the previous
    seal's digest, and an HMAC over them with a key kept outside the database."""
    kind = pw.CharField(max_length=10)               # "ledger" | "audit"
    first_id = pw.BigIntegerField()
    last_id = pw.BigIntegerField()
    rows = pw.IntegerField()
    links = pw.BlobField()                           # (row id, 8 bytes of its hash) for each row, in id order
    prev = pw.CharField(max_length=64)               # the previous seal's digest ("" for the first)
    digest = pw.CharField(max_length=64)
    sealed_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("kind", "first_id"), True),)


class SearchTerm(BaseModel):
    """One normalized word ([a-z0-9] only) per account it finds: names, addresses,
    phones, email, meter and account numbers. The primary key (term, account) is
    the index a prefix search walks, in the order it wants to show (shortest
    and alphabetical first), so a LIMIT stops early however common the prefix."""

    term = pw.CharField(max_length=64)
    account = pw.ForeignKeyField(Account, column_name="account_id", on_delete="CASCADE", index=False)
    kind = pw.SmallIntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("term", "account")
        # For "does this account also have a word starting with ...?" (multi-word search).
        indexes = ((("account", "term"), False),)


class SearchPair(BaseModel):
    """Two words of one account typed together: key `b[:3] a` for its name/address
    words a, b (services/search_index.py). Two typed prefixes are one range of the
    primary key, so a pair of common words never walks either word's whole list."""

    key = pw.CharField(max_length=72)
    account = pw.ForeignKeyField(Account, column_name="account_id", on_delete="CASCADE", index=True)
    kind = pw.SmallIntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("key", "account")


# ---- payment batches, lockbox imports, returned payments (services/batches.py, lockbox.py, returns.py)

BATCH_STATUSES = ("open", "balanced", "out_of_balance", "posted", "void")
BATCH_SOURCES = ("keyed", "imported", "exceptions")
TENDERS = ("check", "cash", "money_order", "lockbox", "ach")
LINE_SOURCES = ("keyed", "scanned", "imported")


class PaymentImport(BaseModel):
    """One bank file imported: the sha256 of its normalised content (line endings,
    padding) and, for BAI2, the bank's file identity refuse the same file twice."""

    sha256 = pw.CharField(max_length=64, unique=True)
    bank_file_id = pw.CharField(max_length=200, null=True, unique=True)   # BAI2 01: sender|receiver|date|time|id
    filename = pw.CharField(max_length=255)
    format = pw.CharField(max_length=8)              # csv, bai2
    imported_at = pw.DateTimeField(default=now)
    operator = pw.ForeignKeyField(Operator, null=True)
    record_count = pw.IntegerField()                 # payments in the file
    total_cents = pw.BigIntegerField()               # their total (the file's own control)
    matched_count = pw.IntegerField(default=0)
    matched_total_cents = pw.BigIntegerField(default=0)
    exception_count = pw.IntegerField(default=0)
    exception_total_cents = pw.BigIntegerField(default=0)


class PaymentBatch(BaseModel):
    number = pw.IntegerField(unique=True)
    batch_date = pw.DateField()
    tender = pw.CharField(max_length=12)
    source = pw.CharField(max_length=12, default="keyed")
    status = pw.CharField(max_length=16, default="open", index=True)
    operator = pw.ForeignKeyField(Operator, backref="batches")
    control_count = pw.IntegerField()
    control_total_cents = pw.BigIntegerField()
    created_at = pw.DateTimeField(default=now)
    posted_at = pw.DateTimeField(null=True)
    posted_by = pw.ForeignKeyField(Operator, null=True)
    accepted_by = pw.ForeignKeyField(Operator, null=True)   # supervisor who accepted a difference
    accept_reason = pw.CharField(max_length=200, default="")
    payment_import = pw.ForeignKeyField(PaymentImport, null=True, backref="batches")


class BatchLine(BaseModel):
    batch = pw.ForeignKeyField(PaymentBatch, backref="lines", on_delete="CASCADE")
    seq = pw.IntegerField()
    account = pw.ForeignKeyField(Account, null=True, backref="batch_lines")
    account_text = pw.CharField(max_length=24)       # as keyed / scanned / in the file
    amount_cents = pw.BigIntegerField()
    check_no = pw.CharField(max_length=20, default="")
    tender = pw.CharField(max_length=12)
    source = pw.CharField(max_length=10, default="keyed")
    status = pw.CharField(max_length=8, default="active")
    unapplied = pw.BooleanField(default=False)        # closed/final account accepted to unapplied cash
    unapplied_reason = pw.CharField(max_length=200, default="")
    warnings_ack = pw.TextField(default="")
    created_at = pw.DateTimeField(default=now)
    operator = pw.ForeignKeyField(Operator, null=True)
    ledger_entry = pw.ForeignKeyField(LedgerEntry, null=True)   # set when the batch posts

    class Meta:
        indexes = ((("batch", "seq"), True), (("batch", "account"), False))


class PaymentException(BaseModel):
    """An imported payment that matched no account: worked by an MSR."""

    payment_import = pw.ForeignKeyField(PaymentImport, backref="exceptions")
    record_no = pw.IntegerField()                    # line (CSV) or record (BAI2) in the file
    account_text = pw.CharField(max_length=40, default="")
    amount_cents = pw.BigIntegerField()
    check_no = pw.CharField(max_length=20, default="")
    payer_name = pw.CharField(max_length=80, default="")
    payment_date = pw.DateField(null=True)
    reason = pw.CharField(max_length=120)
    status = pw.CharField(max_length=10, default="open", index=True)   # open, applied, returned
    resolved_by = pw.ForeignKeyField(Operator, null=True)
    resolved_at = pw.DateTimeField(null=True)
    resolution = pw.CharField(max_length=200, default="")
    batch_line = pw.ForeignKeyField(BatchLine, null=True)


class ReturnedPayment(BaseModel):
    """A payment returned by the bank (NSF, ACH return). Unique payment: reversed once."""

    payment = pw.ForeignKeyField(LedgerEntry, unique=True)
    account = pw.ForeignKeyField(Account, backref="returned_payments")
    code = pw.CharField(max_length=4)
    returned_on = pw.DateField()
    reversal = pw.ForeignKeyField(LedgerEntry)
    fee = pw.ForeignKeyField(LedgerEntry, null=True)
    operator = pw.ForeignKeyField(Operator, null=True)
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "returned_on"), False),)


# ---- keystroke statistics (services/keystats.py) ---------------------------------------------------

class KeyStats(BaseModel):
    """Keys per operator per day, added to once a minute by each session (never per key)."""

    operator = pw.ForeignKeyField(Operator, backref="keystats", on_delete="CASCADE")
    day = pw.DateField()
    keys = pw.BigIntegerField(default=0)
    pastes = pw.IntegerField(default=0)
    pasted_chars = pw.BigIntegerField(default=0)
    corrections = pw.BigIntegerField(default=0)       # Backspace, Delete, Erase Input, Field Back
    active_ms = pw.BigIntegerField(default=0)         # sum of the gaps between keys shorter than 60 s
    updated_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("operator", "day"), True),)


# ---- billing: rate schedules, reading exceptions, billing runs, bills, adjustments (services/rates.py,
# readings.py, billing_run.py, adjustments.py)

class RateSchedule(BaseModel):
    """One version of a rate schedule, as loaded from the co-op's rates.toml (the version as JSON)."""

    code = pw.CharField(max_length=8)
    effective = pw.DateField()
    name = pw.CharField(max_length=80)
    body = pw.TextField()
    sha256 = pw.CharField(max_length=64)           # of the file it came from
    loaded_at = pw.DateTimeField(default=now)
    loaded_by = pw.ForeignKeyField(Operator, null=True)

    class Meta:
        indexes = ((("code", "effective"), True),)


class ReadingException(BaseModel):
    """A reading that was refused at the line or in an AMI import: worked from a queue."""

    created_at = pw.DateTimeField(default=now)
    source = pw.CharField(max_length=10)            # keyed, ami
    import_name = pw.CharField(max_length=255, default="")
    record_no = pw.IntegerField(default=0)
    meter_no = pw.CharField(max_length=20, default="")
    account = pw.ForeignKeyField(Account, null=True)
    read_date = pw.DateField(null=True)
    reading_text = pw.CharField(max_length=20, default="")
    demand_text = pw.CharField(max_length=20, default="")
    codes = pw.CharField(max_length=80)             # e.g. "lower,high"
    message = pw.CharField(max_length=300)
    status = pw.CharField(max_length=10, default="open", index=True)   # open, accepted, rejected
    resolved_by = pw.ForeignKeyField(Operator, null=True)
    resolved_at = pw.DateTimeField(null=True)


RUN_STATUSES = ("previewed", "approved", "committing", "committed")


class BillingRun(BaseModel):
    """The billing of one cycle for one period (YYYY-MM): exactly once."""

    cycle = pw.SmallIntegerField()
    period = pw.CharField(max_length=7)
    bill_date = pw.DateField()
    due_date = pw.DateField()
    status = pw.CharField(max_length=12, default="previewed")
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)
    preview_total_cents = pw.BigIntegerField(default=0)
    approved_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    approved_at = pw.DateTimeField(null=True)
    claim = pw.CharField(max_length=40, default="")     # the committing session's token
    heartbeat_at = pw.DateTimeField(null=True)           # the committer's last chunk
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    bill_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("cycle", "period"), True),)


BILL_KINDS = ("regular", "first", "final", "rebill")


class Bill(BaseModel):
    # Foreign keys without their own index where a composite index below leads with them (or
    # nothing looks rows up by them): a run writes tens of thousands of bills at once.
    run = pw.ForeignKeyField(BillingRun, null=True, backref="bills", index=False)   # none for a rebill
    account = pw.ForeignKeyField(Account, backref="bills", index=False)
    kind = pw.CharField(max_length=8, default="regular")
    bill_date = pw.DateField()
    due_date = pw.DateField()
    period_start = pw.DateField()
    period_end = pw.DateField()
    schedule = pw.CharField(max_length=8)
    kwh = pw.IntegerField()
    demand_kw = pw.DecimalField(max_digits=10, decimal_places=3, null=True)
    reverse_kwh = pw.IntegerField(default=0)
    prev_reading = pw.IntegerField(null=True)
    reading = pw.IntegerField(null=True)
    reading_row = pw.ForeignKeyField(Reading, null=True, index=False)
    estimated = pw.BooleanField(default=False)
    total_cents = pw.BigIntegerField()                 # the bill's charges
    charged_cents = pw.BigIntegerField()               # what the ledger was charged: the total, or the budget amount
    budget = pw.CharField(max_length=10, default="")   # budget billing: levelized, trueup
    status = pw.CharField(max_length=10, default="billed")   # billed, cancelled
    ledger_entry = pw.ForeignKeyField(LedgerEntry, null=True, index=False)
    replaces = pw.ForeignKeyField("self", null=True, backref="rebills", index=False)
    cancel_reason = pw.CharField(max_length=200, default="")
    operator = pw.ForeignKeyField(Operator, null=True, index=False)
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("run", "account"), True), (("account", "bill_date"), False),
                   (("bill_date", "schedule", "run", "status", "kwh", "total_cents"), False))  # usage report


class BillLine(BaseModel):
    bill = pw.ForeignKeyField(Bill, backref="lines", on_delete="CASCADE", index=False)   # (bill, seq) leads
    seq = pw.SmallIntegerField()
    code = pw.CharField(max_length=12)                # customer, energy, demand, pca, minimum, netmeter, fee, lamp
    description = pw.CharField(max_length=120)
    quantity = pw.CharField(max_length=30, default="")
    rate = pw.CharField(max_length=30, default="")
    amount_cents = pw.BigIntegerField()

    class Meta:
        indexes = ((("bill", "seq"), True),)


class Adjustment(BaseModel):
    account = pw.ForeignKeyField(Account, backref="adjustments")
    reason = pw.CharField(max_length=20)
    amount_cents = pw.BigIntegerField()               # + charge, - credit
    note = pw.CharField(max_length=200, default="")
    bill = pw.ForeignKeyField(Bill, null=True)        # the bill it corrects, if any
    operator = pw.ForeignKeyField(Operator, backref="+")
    approved_by = pw.ForeignKeyField(Operator, null=True, backref="+")   # the supervisor above the limit
    ledger_entry = pw.ForeignKeyField(LedgerEntry)
    created_at = pw.DateTimeField(default=now)


class StatementPreference(BaseModel):
    """How an account gets its statement: paperless (e-mailed, marked in the print file) or on paper."""

    account = pw.ForeignKeyField(Account, unique=True, backref="+")
    paperless = pw.BooleanField(default=False)
    email = pw.CharField(max_length=120, default="")
    updated_at = pw.DateTimeField(default=now)


# ---- collections: late-fee runs (services/late_fees.py) --------------------------------------------------

class LateFeeRun(BaseModel):
    """The late-fee run of one day: previewed, then committed exactly once (as a billing run)."""

    run_date = pw.DateField(unique=True)
    status = pw.CharField(max_length=12, default="previewed")     # previewed, committing, committed
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)
    preview_total_cents = pw.BigIntegerField(default=0)
    claim = pw.CharField(max_length=40, default="")              # the committing session's token
    heartbeat_at = pw.DateTimeField(null=True)                   # the committer's last chunk
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    fee_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)


class LateFee(BaseModel):
    """A late fee charged for one bill. Unique on the bill's ledger entry: the database's guard
    that a bill is charged once, whatever runs or sessions try."""

    bill_entry = pw.ForeignKeyField(LedgerEntry, unique=True, backref="+")
    account = pw.ForeignKeyField(Account, backref="late_fees")
    run = pw.ForeignKeyField(LateFeeRun, backref="fees", index=False)
    fee_entry = pw.ForeignKeyField(LedgerEntry, backref="+", index=False)
    basis_cents = pw.BigIntegerField()                           # the past-due amount the fee is a share of
    amount_cents = pw.BigIntegerField()
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("run", "account"), False),)


MODELS = [Meta_, Operator, Member, AuthorizedPerson, ServiceLocation, Meter, Account,
          LedgerEntry, Reading, ServiceOrder, Note, AuditLog, SearchTerm, SearchPair]
MODELS += [PaymentImport, PaymentBatch, BatchLine, PaymentException, ReturnedPayment]
MODELS += [KeyStats, SignInAttempt, Seal]
MODELS += [ScheduledFinal, RateSchedule, ReadingException, BillingRun, Bill, BillLine, Adjustment,
           StatementPreference]
MODELS += [LateFeeRun, LateFee]


def is_postgres() -> bool:
    return isinstance(database.obj, pw.PostgresqlDatabase)


def make_database(url: str) -> pw.Database:
    """Build (not yet open) a database from a URL or a path."""
    if url.startswith(("postgres://", "postgresql://")):
        p = urlparse(url)
        return pw.PostgresqlDatabase(
            (p.path or "/").lstrip("/") or "postgres",
            user=unquote(p.username) if p.username else None,
            password=unquote(p.password) if p.password else None,
            host=p.hostname or None, port=p.port or None,
            connect_timeout=5,
        )
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).expanduser())
    return pw.SqliteDatabase(path, pragmas={
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "synchronous": "full",  # a keyed line is on disk when Enter returns
        "cache_size": -32000,
    })


def connect(url: str, *, create: bool = True) -> pw.Database:
    """Point the proxy at `url`, open it, and create/migrate the schema."""
    db = make_database(url)
    try:
        db.connect(reuse_if_open=True)
        if isinstance(db, pw.PostgresqlDatabase):
            db.execute_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any driver error is "cannot open"
        raise DatabaseUnavailable(f"Cannot open the database {redact(url)}: {first_line(exc)}") from exc
    database.initialize(db)
    if create:
        migrate()
    return db


def write_txn():
    """A transaction that will write. On SQLite it takes the write lock at BEGIN
    (IMMEDIATE), so concurrent writers queue on the busy timeout instead of failing
    to upgrade a read lock ("database is locked"); PostgreSQL locks rows as it goes."""
    if is_postgres():
        return database.atomic()
    return database.atomic("IMMEDIATE")


def connected(fn: Callable[P, R]) -> Callable[P, R]:
    """A service function that can be called from any thread: on a thread without a
    connection (a screen's thread worker, the SSH server's) it opens one for the call
    and closes it after; where one is open (the UI thread, a test) it uses that one.
    So services own their connection scope and callers never touch the database."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if not database.is_closed():
            return fn(*args, **kwargs)
        with database.connection_context():
            return fn(*args, **kwargs)

    return call


def locked(model, row_id: int):
    """The row, inside a write transaction; on PostgreSQL locked FOR UPDATE so writers
    of the same row queue behind each other. None if it is gone."""
    q = model.select().where(model.id == row_id)
    if is_postgres():
        q = q.for_update()
    return q.first()


# ---- numbers (batch, order, member, account, location) ------------------------------------
# Each numbered column counts up from its start. On PostgreSQL a sequence hands out
# the numbers: concurrent sessions never wait for or collide with each other (a number
# taken by a transaction that then fails is not given again). On SQLite the number is
# MAX + 1 read inside the write transaction, whose lock (BEGIN IMMEDIATE) admits one
# writer at a time. Account numbers count their base; the service adds the check digit.

class Numbering(NamedTuple):
    field: pw.Field
    start: int
    scale: int = 1      # stored value // scale is the counted number (10: a check digit follows)

    @property
    def sequence(self) -> str:
        return f"kec_{self.field.model._meta.table_name}_{self.field.column_name}_seq"


NUMBERINGS = (
    Numbering(PaymentBatch.number, 1001),
    Numbering(ServiceOrder.order_no, 500001),
    Numbering(Member.member_no, 100001),
    Numbering(Account.number, 10000, scale=10),
    Numbering(ServiceLocation.location_no, 1),
)


def numbering(field) -> Numbering:
    for n in NUMBERINGS:
        if n.field is field:
            return n
    raise KeyError(f"{field.model.__name__}.{field.name} is not a numbered column")


def _highest(n: Numbering) -> int:
    """The highest number in use (0 if none)."""
    top = n.field.model.select(pw.fn.MAX(n.field)).scalar()
    return int(top or 0) // n.scale


def next_number(field) -> int:
    """The next number of a numbered column (for Account.number the base, before its
    check digit). Call inside db.write_txn(), in the transaction that inserts the row."""
    n = numbering(field)
    if not is_postgres():
        if not database.in_transaction():
            raise RuntimeError("next_number on SQLite must run inside write_txn()")
        return max(_highest(n) + 1, n.start)
    for _ in range(3):
        value = database.execute_sql("SELECT nextval(%s)", (n.sequence,)).fetchone()[0]
        taken = n.field.model.select().where(n.field >= value * n.scale, n.field < (value + 1) * n.scale).exists()
        if not taken:
            return value
        _catch_up(n)    # rows were inserted without the sequence (a bulk load): move past them
    raise RuntimeError(f"{n.sequence} keeps giving numbers already in use")


def _catch_up(n: Numbering) -> None:
    """Move the sequence past the highest number in use, never back."""
    database.execute_sql(
        f"SELECT setval(%s, m) FROM (SELECT %s AS m) top, {n.sequence} s "
        "WHERE m > s.last_value - CASE WHEN s.is_called THEN 0 ELSE 1 END",
        (n.sequence, _highest(n)))


def _create_sequences() -> None:
    """PostgreSQL: a sequence per numbered column, starting above the numbers already
    in use (a database made before the sequences, or loaded in bulk)."""
    for n in NUMBERINGS:
        first = max(_highest(n) + 1, n.start)
        database.execute_sql(f"CREATE SEQUENCE IF NOT EXISTS {n.sequence} START WITH {first} MINVALUE 1")
        _catch_up(n)


def sql_date(day: dt.date):
    """A date as the backend compares it in a raw query (ISO text on SQLite)."""
    return day if is_postgres() else day.isoformat()


def as_date(value) -> dt.date | None:
    """A date column's value as a raw query returns it (ISO text on SQLite), as a date."""
    if value is None:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line status (screens: services.errors)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def schema_version() -> int:
    if not Meta_.table_exists():
        return 0
    row = Meta_.get_or_none(Meta_.key == "schema_version")
    return int(row.value) if row else 0


# Each migration takes the schema from version N-1 to N. Version 1 is the base
# schema; later versions append functions here, never edit old ones.
MIGRATIONS: dict[int, callable] = {}

# Readings and ledger entries are only ever added by the application, so a new one shows as a higher
# id. What changes one in place or deletes it (a conversion's delta, a hand correction in SQL) counts
# here, by the database itself: the billing run's commit trusts its preview only while this holds still.
CHANGE_COUNTED = ("reading", "ledger_entry")


def _count_in_place_changes() -> None:
    if is_postgres():
        # A sequence: counting takes no lock, so writers of readings never wait on one another. The
        # functions run as the owner: an application role granted before this sequence existed counts too.
        database.execute_sql("CREATE SEQUENCE IF NOT EXISTS kec_in_place_changes")
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION kec_count_in_place_change() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = public AS "
            "$$ BEGIN PERFORM nextval('kec_in_place_changes'); RETURN NULL; END $$")
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION kec_in_place_change_count() RETURNS bigint LANGUAGE sql "
            "SECURITY DEFINER SET search_path = public AS "
            "$$ SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM kec_in_place_changes $$")
        for table in CHANGE_COUNTED:
            database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
            database.execute_sql(f"CREATE TRIGGER {table}_changed AFTER UPDATE OR DELETE OR TRUNCATE ON {table} "
                                 f"FOR EACH STATEMENT EXECUTE FUNCTION kec_count_in_place_change()")
        return
    Meta_.insert(key="in_place_changes", value="0").on_conflict_ignore().execute()
    bump = "UPDATE kec_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'in_place_changes'"
    for table in CHANGE_COUNTED:
        for event in ("UPDATE", "DELETE"):
            database.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}d AFTER {event} ON {table} "
                                 f"BEGIN {bump}; END")


def _schema_2() -> None:
    _count_in_place_changes()
    # Two indexes the composite ones made redundant: one less to keep up on every payment,
    # reading and bill, and to build in a conversion.
    for index in ("ledger_entry_account_id", "reading_account_id"):
        database.execute_sql(f"DROP INDEX IF EXISTS {index}")


MIGRATIONS[2] = _schema_2


def in_place_changes() -> int:
    """How many times a reading or ledger entry has been changed in place or deleted (see CHANGE_COUNTED)."""
    if is_postgres():
        return database.execute_sql("SELECT kec_in_place_change_count()").fetchone()[0]
    return int(get_meta("in_place_changes", "0"))


def migrate() -> None:
    """Create what is missing: tables, then columns added to a model since the
    database was made (additive changes need no hand-written step). Changes that
    are not additive get a numbered function in MIGRATIONS."""
    current = schema_version()
    if current > SCHEMA_VERSION:
        raise DatabaseUnavailable(
            f"This database has schema version {current}; this kec-tui knows {SCHEMA_VERSION}. Upgrade kec-tui.")
    if current == SCHEMA_VERSION and _schema_complete():
        # Nothing to make: no DDL at all, so the application's own role on PostgreSQL needs no
        # right to create or alter (README: least privilege); its owner runs `kec-tui migrate`.
        if is_postgres():
            with database.atomic():
                for n in NUMBERINGS:
                    _catch_up(n)    # rows loaded in bulk since: the sequences move past them
        from kec_tui.services import search_index
        search_index.ensure_current()
        return
    with database.atomic():
        # SQLite clusters the search indexes in their primary keys (WITHOUT ROWID).
        SearchTerm._meta.without_rowid = SearchPair._meta.without_rowid = not is_postgres()
        new_pair_table = not SearchPair.table_exists()
        if current == 0:
            database.create_tables(MODELS, safe=True)
            if is_postgres():
                # Byte order for the prefix ranges, whatever the server's locale.
                database.execute_sql('ALTER TABLE search_term ALTER COLUMN term TYPE varchar(64) COLLATE "C"')
            current = 1
        else:
            _add_missing_columns()      # first: new indexes may be on new columns
            database.create_tables(MODELS, safe=True)
        if is_postgres():
            _create_sequences()
        if new_pair_table and is_postgres():
            database.execute_sql('ALTER TABLE search_pair ALTER COLUMN key TYPE varchar(72) COLLATE "C"')
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version]()
            current = version
        Meta_.insert(key="schema_version", value=str(current)).on_conflict(
            conflict_target=[Meta_.key], update={Meta_.value: str(current)}).execute()
    # The search index is derived data: (re)built here when its format is older than the code's.
    from kec_tui.services import search_index
    search_index.ensure_current()


APPEND_ONLY = ("ledger_entry", "audit_log", "seal")   # the application may add rows, never change them


def grant_application_role(role: str) -> None:
    """PostgreSQL, run by the owner after `migrate`: what the application's role may do. Everything
    on the working tables; on the ledger, the audit log and the seals INSERT and SELECT only; no DDL."""
    if not is_postgres():
        raise DatabaseUnavailable("Roles are a PostgreSQL matter; SQLite has none")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise DatabaseUnavailable(f"{role!r} is not a role name (lower-case letters, digits, _)")
    with database.atomic():
        database.execute_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        database.execute_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
        tables = ", ".join(APPEND_ONLY)
        database.execute_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {role}")
        database.execute_sql(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")


def _schema_complete() -> bool:
    """Every table and column of the models exists (and, on PostgreSQL, every sequence)."""
    for model in MODELS:
        if not model.table_exists():
            return False
        have = {c.name for c in database.get_columns(model._meta.table_name)}
        if any(f.column_name not in have for f in model._meta.sorted_fields):
            return False
    if is_postgres():
        names = {r[0] for r in database.execute_sql(
            "SELECT sequence_name FROM information_schema.sequences").fetchall()}
        if any(n.sequence not in names for n in NUMBERINGS):
            return False
    return True


def _add_missing_columns() -> None:
    from playhouse.migrate import SchemaMigrator

    migrator = None
    for model in MODELS:
        table = model._meta.table_name
        if not model.table_exists():
            continue                    # create_tables makes it whole
        have = {c.name for c in database.get_columns(table)}
        for f in model._meta.sorted_fields:
            if f.column_name not in have:
                migrator = migrator or SchemaMigrator.from_database(database.obj)
                # A NOT NULL column whose SQL DEFAULT fills the old rows is added in one
                # statement (SQLite cannot add NOT NULL later without rebuilding the table).
                sql_default = any(isinstance(c, pw.SQL) and c.sql.upper().startswith("DEFAULT")
                                  for c in (f.constraints or ()))
                try:
                    migrator.add_column(table, f.column_name, f, allow_not_null=sql_default).run()
                except ValueError as exc:  # NOT NULL without a default: needs a written step
                    raise DatabaseUnavailable(f"Column {table}.{f.column_name} is missing and has no default; "
                                              f"this database needs a migration step ({exc})") from exc


def get_meta(key: str, default: str | None = None) -> str | None:
    row = Meta_.get_or_none(Meta_.key == key)
    return row.value if row else default


def set_meta(key: str, value: str) -> None:
    Meta_.insert(key=key, value=value).on_conflict(
        conflict_target=[Meta_.key], update={Meta_.value: value}).execute()


def drop_all() -> None:
    """Tests only: remove every table of ours."""
    if is_postgres():
        database.drop_tables(list(reversed(MODELS)), safe=True, cascade=True)
        for n in NUMBERINGS:
            database.execute_sql(f"DROP SEQUENCE IF EXISTS {n.sequence}")
    else:
        database.drop_tables(list(reversed(MODELS)), safe=True)


# ---- online account help (services/portal.py) ------------------------------------------------------------

class PortalAccount(BaseModel):
    """A member's online account at the co-op's portal, as the co-op records it. The portal itself is
    outside this program: it reports sign-ins, locks and enrollment back through services/portal.py."""

    account = pw.ForeignKeyField(Account, unique=True, backref="+")
    status = pw.CharField(max_length=12, default="invited")      # invited, active (signed up from the link)
    username = pw.CharField(max_length=60, default="")            # chosen by the member at sign-up
    email = pw.CharField(max_length=120, default="")              # the sign-in e-mail: links go here
    invited_at = pw.DateTimeField(null=True)
    enrolled_at = pw.DateTimeField(null=True)
    last_sign_in_at = pw.DateTimeField(null=True)
    locked_at = pw.DateTimeField(null=True)                       # too many wrong passwords at the portal
    text_alerts = pw.BooleanField(default=False)
    text_phone = pw.CharField(max_length=10, default="")
    updated_at = pw.DateTimeField(default=now)


class PortalMessage(BaseModel):
    """The outbox: each message the portal is to send (an invitation, a reset link ...). A co-op's
    connector sends it and marks it sent; without one the messages wait here, listed on the screen."""

    account = pw.ForeignKeyField(Account, backref="+")
    kind = pw.CharField(max_length=20)                            # invitation, reset_link, unlocked, email_changed
    to_address = pw.CharField(max_length=120)
    subject = pw.CharField(max_length=120)
    body = pw.TextField()
    link_expires_at = pw.DateTimeField(null=True)
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    sent_at = pw.DateTimeField(null=True)
    error = pw.CharField(max_length=200, default="")              # the connector's last refusal


class PortalIdentityCheck(BaseModel):
    """Which identity questions a caller answered before a change to the online account (names of the
    questions only, never the answers)."""

    account = pw.ForeignKeyField(Account, backref="+")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    purpose = pw.CharField(max_length=20)                         # email_change
    questions = pw.CharField(max_length=120)                      # "tax4,birth"
    passed = pw.BooleanField()
    at = pw.DateTimeField(default=now)


MODELS += [PortalAccount, PortalMessage, PortalIdentityCheck]


# ---- capital credits (services/capital_credits.py) ----

class CapitalCreditRun(BaseModel):
    """An allocation of a year's margin or a general retirement: previewed, approved by a
    supervisor, committed exactly once (unique on its key: "allocation 2025", "retirement 2026-11-30")."""

    kind = pw.CharField(max_length=12)                          # allocation, retirement
    key = pw.CharField(max_length=40, unique=True)
    label = pw.CharField(max_length=120, default="")
    params = pw.CharField(max_length=200, default="")           # allocation: margin cents; retirement: years;percent
    status = pw.CharField(max_length=12, default="previewed")   # previewed, approved, committing, committed
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)
    preview_total_cents = pw.BigIntegerField(default=0)
    approved_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    approved_at = pw.DateTimeField(null=True)
    claim = pw.CharField(max_length=40, default="")
    heartbeat_at = pw.DateTimeField(null=True)
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    item_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)


class CapitalCredit(BaseModel):
    """A member's allocation of one year and how much of it is retired (unique per member and year)."""

    member = pw.ForeignKeyField(Member, backref="capital_credits", index=False)
    year = pw.IntegerField()
    allocated_cents = pw.BigIntegerField()
    retired_cents = pw.BigIntegerField(default=0)
    run = pw.ForeignKeyField(CapitalCreditRun, null=True, backref="+", index=False)

    class Meta:
        indexes = ((("member", "year"), True), (("year",), False))


class CapitalRetirement(BaseModel):
    """Credits of one year paid back to a member: by a general run, early or to an estate."""

    run = pw.ForeignKeyField(CapitalCreditRun, null=True, backref="+", index=False)
    member = pw.ForeignKeyField(Member, backref="+")
    year = pw.IntegerField()
    kind = pw.CharField(max_length=8)                           # general, early, estate
    face_cents = pw.BigIntegerField()                           # credits retired
    paid_cents = pw.BigIntegerField()                           # paid (early, estate: present value)
    method = pw.CharField(max_length=8)                         # credit, check
    account = pw.ForeignKeyField(Account, null=True, backref="+", index=False)
    ledger_entry = pw.ForeignKeyField(LedgerEntry, null=True, backref="+", index=False)
    check_no = pw.IntegerField(null=True, index=True)
    status = pw.CharField(max_length=10)                        # paid, issued, cashed, unclaimed
    paid_on = pw.DateField()
    cashed_on = pw.DateField(null=True)
    payee = pw.CharField(max_length=80, default="")
    heirs = pw.CharField(max_length=200, default="")
    paperwork = pw.CharField(max_length=200, default="")
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+", index=False)
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("run", "member", "year"), True),)


MODELS += [CapitalCreditRun, CapitalCredit, CapitalRetirement]


# ---- conversion: legacy keys and grid positions (services/conversion.py) -----------------------

class LegacyKey(BaseModel):
    """A record converted from the co-op's former system: its key there -> its row here. A
    conversion run again after a correction finds its rows by these (idempotent)."""

    kind = pw.CharField(max_length=12)               # member, location, meter, account
    legacy = pw.CharField(max_length=40)
    entity_id = pw.BigIntegerField()
    converted_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("kind", "legacy"), True), (("kind", "entity_id"), False))


class LocationGrid(BaseModel):
    """Where a service location hangs on the system, where known (conversion, outages)."""

    location = pw.ForeignKeyField(ServiceLocation, unique=True, backref="+", on_delete="CASCADE")
    substation = pw.CharField(max_length=40, default="")
    feeder = pw.CharField(max_length=40, default="")
    transformer = pw.CharField(max_length=40, default="")


MODELS += [LegacyKey, LocationGrid]


# ---- outages (services/outages.py) ----

class OutageEvent(BaseModel):
    """An outage on one device (a transformer, a feeder, or a location off the grid map): the calls it
    gathers, its cause, the crew and the restoration estimate. `open_key` holds the device while the
    event is open (unique: one open event per device, whatever sessions log calls at once)."""

    open_key = pw.CharField(max_length=80, null=True, unique=True)
    level = pw.CharField(max_length=12)                 # transformer, feeder, location
    device = pw.CharField(max_length=40)
    substation = pw.CharField(max_length=40, default="")
    feeder = pw.CharField(max_length=40, default="")
    status = pw.CharField(max_length=10, default="open", index=True)   # open, restored, merged
    cause = pw.CharField(max_length=80, default="Unknown")
    crew_status = pw.CharField(max_length=16, default="not assigned")
    eta = pw.DateTimeField(null=True)
    emergency = pw.BooleanField(default=False)
    started_at = pw.DateTimeField(default=now)
    restored_at = pw.DateTimeField(null=True)
    merged_into = pw.ForeignKeyField("self", null=True, backref="+")
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")


class OutageCall(BaseModel):
    """A caller's report from a service location: what they see, a callback if wanted."""

    event = pw.ForeignKeyField(OutageEvent, null=True, backref="calls")
    location = pw.ForeignKeyField(ServiceLocation, backref="+")
    account = pw.ForeignKeyField(Account, null=True, backref="+")
    at = pw.DateTimeField(default=now)
    caller = pw.CharField(max_length=80, default="")
    condition = pw.CharField(max_length=12)
    callback_phone = pw.CharField(max_length=10, default="")
    wants_callback = pw.BooleanField(default=False)
    called_back_at = pw.DateTimeField(null=True)
    emergency = pw.BooleanField(default=False)
    dispatched_at = pw.DateTimeField(null=True)
    dispatched_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    notes = pw.CharField(max_length=200, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")


MODELS += [OutageEvent, OutageCall]


# ---- energy services (services/energy.py) ----

class HighBillInquiry(BaseModel):
    """A high-bill inquiry gone through with the member: the checklist items found, a note."""

    account = pw.ForeignKeyField(Account, backref="+")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    at = pw.DateTimeField(default=now)
    found = pw.CharField(max_length=200, default="")       # checklist keys, comma-separated
    note = pw.CharField(max_length=200, default="")


class EnergyReferral(BaseModel):
    """A member referred to the energy services consultant: the consultant's queue."""

    account = pw.ForeignKeyField(Account, backref="+")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    reason = pw.CharField(max_length=200)
    home_audit = pw.BooleanField(default=False)
    phone = pw.CharField(max_length=10, default="")
    status = pw.CharField(max_length=10, default="open", index=True)    # open, scheduled, done
    outcome = pw.CharField(max_length=200, default="")


MODELS += [HighBillInquiry, EnergyReferral]


# ---- the front counter: cash drawers, counter payments, product sales (services/drawers.py, counter.py,
# products.py) --------------------------------------------------------------------------------------------

class Product(BaseModel):
    """An item the co-op sells at the counter (LED bulbs, surge protectors ...): its price list."""
    code = pw.CharField(max_length=12, unique=True)
    description = pw.CharField(max_length=60)
    price_cents = pw.BigIntegerField()
    taxable = pw.BooleanField(default=True)
    active = pw.BooleanField(default=True)


class CashDrawer(BaseModel):
    """One operator's cash drawer for one day: opened with its float, closed once with a count.
    `open_for` is the operator's id while open, NULL once closed: unique, so one open drawer each."""
    operator = pw.ForeignKeyField(Operator, backref="+")
    day = pw.DateField(index=True)
    float_cents = pw.BigIntegerField()
    status = pw.CharField(max_length=8, default="open")          # open, closed
    open_for = pw.IntegerField(null=True, unique=True)
    opened_at = pw.DateTimeField(default=now)
    closed_at = pw.DateTimeField(null=True)
    closed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    accepted_by = pw.ForeignKeyField(Operator, null=True, backref="+")   # a supervisor, for a difference
    accept_reason = pw.CharField(max_length=200, default="")


class DrawerCount(BaseModel):
    """What was counted at close: cash by denomination, checks and money orders one by one, the card total."""
    drawer = pw.ForeignKeyField(CashDrawer, backref="counts", on_delete="CASCADE")
    tender = pw.CharField(max_length=12)                          # cash, check, money_order, card
    denomination_cents = pw.BigIntegerField(default=0)            # cash: the bill or coin
    quantity = pw.IntegerField(default=1)
    reference = pw.CharField(max_length=40, default="")           # check / money order no.
    amount_cents = pw.BigIntegerField()


class CounterTxn(BaseModel):
    """One counter transaction: a payment on an account and/or products sold, paid by its tenders."""
    drawer = pw.ForeignKeyField(CashDrawer, backref="txns")
    account = pw.ForeignKeyField(Account, null=True, backref="+")
    operator = pw.ForeignKeyField(Operator, backref="+")
    day = pw.DateField()
    at = pw.DateTimeField(default=now)
    payment_cents = pw.BigIntegerField(default=0)                 # paid on the account
    sale_cents = pw.BigIntegerField(default=0)                    # products, tax included
    tax_cents = pw.BigIntegerField(default=0)
    sale_to_account = pw.BooleanField(default=False)              # products charged to the ledger
    tendered_cents = pw.BigIntegerField(default=0)
    change_cents = pw.BigIntegerField(default=0)
    credit_accepted = pw.BooleanField(default=False)              # the member said: the rest is a credit
    note = pw.CharField(max_length=200, default="")
    payment_entry = pw.ForeignKeyField(LedgerEntry, null=True, backref="+")
    sale_entry = pw.ForeignKeyField(LedgerEntry, null=True, backref="+")
    voided_at = pw.DateTimeField(null=True)
    voided_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    void_reason = pw.CharField(max_length=200, default="")


class CounterTender(BaseModel):
    """One tender of a counter transaction. A card is its type, last four and approval code: never its number."""
    txn = pw.ForeignKeyField(CounterTxn, backref="tenders", on_delete="CASCADE")
    kind = pw.CharField(max_length=12)                            # cash, check, money_order, card
    amount_cents = pw.BigIntegerField()
    reference = pw.CharField(max_length=20, default="")           # check / money order no.
    card_type = pw.CharField(max_length=8, default="")
    card_last4 = pw.CharField(max_length=4, default="")
    approval = pw.CharField(max_length=12, default="")


class CounterSale(BaseModel):
    """One line of products sold in a counter transaction, at the price and tax of that day."""
    txn = pw.ForeignKeyField(CounterTxn, backref="sales", on_delete="CASCADE")
    product = pw.ForeignKeyField(Product, backref="+")
    description = pw.CharField(max_length=60)
    quantity = pw.IntegerField()
    unit_cents = pw.BigIntegerField()
    taxable = pw.BooleanField()
    amount_cents = pw.BigIntegerField()                           # quantity x unit
    tax_cents = pw.BigIntegerField(default=0)


MODELS += [Product, CashDrawer, DrawerCount, CounterTxn, CounterTender, CounterSale]


# ---- credit: deposits, write-offs and collection agencies, bankruptcy (services/deposits.py, write_offs.py,
# bankruptcy.py). The deposit held is Account.deposit_cents (the one rule: billed installments add to it, a
# refund or the final bill takes it); these rows say why, when and how it is billed.

DEPOSIT_STATUSES = ("billing", "held", "refunded", "applied", "moved")


class Deposit(BaseModel):
    """A deposit asked of an account: its reason, amount and installments (DepositInstallment)."""

    account = pw.ForeignKeyField(Account, backref="deposits")
    reason = pw.CharField(max_length=20)                 # late_history, returned_payments, reconnect, bankruptcy ...
    basis = pw.CharField(max_length=200, default="")     # how the amount was found
    amount_cents = pw.BigIntegerField()
    installments = pw.SmallIntegerField(default=1)
    billed_cents = pw.BigIntegerField(default=0)         # billed so far (added to Account.deposit_cents)
    billed_on = pw.DateField()                           # the first installment
    held_since = pw.DateField(null=True)                 # the last installment billed: the refund clock starts
    interest_through = pw.DateField(null=True)           # interest credited up to this day
    interest_cents = pw.BigIntegerField(default=0)       # credited so far
    status = pw.CharField(max_length=10, default="billing", index=True)
    closed_on = pw.DateField(null=True)
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class DepositInstallment(BaseModel):
    """One installment of a deposit, billed on its day (the first at once, the rest by the deposit review).
    `ledger_entry` is set once, by a guarded update: an installment is billed exactly once."""

    deposit = pw.ForeignKeyField(Deposit, backref="installment_rows", on_delete="CASCADE", index=False)
    seq = pw.SmallIntegerField()
    bill_on = pw.DateField()
    due_date = pw.DateField()
    amount_cents = pw.BigIntegerField()
    status = pw.CharField(max_length=10, default="pending")    # pending, billed, cancelled
    ledger_entry = pw.ForeignKeyField(LedgerEntry, null=True, backref="+", index=False)

    class Meta:
        indexes = ((("deposit", "seq"), True),)


class CreditRun(BaseModel):
    """A previewed-then-committed-once run of the credit area: the deposit review of a day
    (kind "deposit") or a write-off list (kind "writeoff", committed on a supervisor's approval)."""

    kind = pw.CharField(max_length=10)
    run_date = pw.DateField()
    status = pw.CharField(max_length=12, default="previewed")   # previewed, committing, committed
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)
    preview_total_cents = pw.BigIntegerField(default=0)
    approved_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    claim = pw.CharField(max_length=40, default="")
    heartbeat_at = pw.DateTimeField(null=True)
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    item_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("kind", "run_date"), True),)


class WriteOff(BaseModel):
    """A final account's unpaid balance written off as bad debt (a ledger entry of kind writeoff, which
    the bad-debt audit of a later applicant reads). Unique on the account: written off once."""

    account = pw.ForeignKeyField(Account, unique=True, backref="+")
    run = pw.ForeignKeyField(CreditRun, null=True, backref="+")
    amount_cents = pw.BigIntegerField()                  # positive: the debt written off
    final_bill_on = pw.DateField(null=True)
    note = pw.CharField(max_length=200, default="")
    ledger_entry = pw.ForeignKeyField(LedgerEntry, backref="+")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    approved_by = pw.ForeignKeyField(Operator, backref="+")
    created_at = pw.DateTimeField(default=now)


class AgencyReferral(BaseModel):
    """An account referred to a collection agency (one row of the agency's CSV file)."""

    account = pw.ForeignKeyField(Account, backref="+")
    agency = pw.CharField(max_length=80)
    referred_on = pw.DateField()
    amount_cents = pw.BigIntegerField()                  # the debt referred
    collected_cents = pw.BigIntegerField(default=0)      # gross, as the agency reports it
    commission_cents = pw.BigIntegerField(default=0)
    file_name = pw.CharField(max_length=255, default="")
    status = pw.CharField(max_length=10, default="open", index=True)    # open, paid, recalled
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "status"), False),)


class BankruptcyCase(BaseModel):
    """A member's bankruptcy (11 U.S.C. 366): the pre-petition balance set apart, the adequate-assurance
    deposit asked within the days the law sets, closed by discharge or dismissal."""

    account = pw.ForeignKeyField(Account, backref="+")
    chapter = pw.SmallIntegerField()
    case_no = pw.CharField(max_length=24)
    court = pw.CharField(max_length=80)
    filed_on = pw.DateField()
    pre_petition_cents = pw.BigIntegerField(default=0)   # set apart (a transfer out of the account)
    transfer_entry = pw.ForeignKeyField(LedgerEntry, null=True, backref="+")
    assurance_cents = pw.BigIntegerField(default=0)
    assurance_due = pw.DateField(null=True)
    assurance_deposit = pw.ForeignKeyField(Deposit, null=True, backref="+")
    status = pw.CharField(max_length=10, default="open", index=True)     # open, discharged, dismissed
    closed_on = pw.DateField(null=True)
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "status"), False),)


MODELS += [Deposit, DepositInstallment, CreditRun, WriteOff, AgencyReferral, BankruptcyCase]



# ---- payment arrangements and energy assistance (services/arrangements.py, assistance.py) ----------

class Arrangement(BaseModel):
    """A payment arrangement agreed on an account: a down payment and installments, each due on
    the due date of one of the next bills ("bills") or on set dates ("dates")."""
    account = pw.ForeignKeyField(Account, backref="arrangements")
    agreed_on = pw.DateField()
    mode = pw.CharField(max_length=8)                    # bills, dates
    total_cents = pw.BigIntegerField()                   # the amount arranged (down payment included)
    down_cents = pw.BigIntegerField(default=0)
    installments = pw.SmallIntegerField()
    status = pw.CharField(max_length=10, default="active", index=True)   # active, broken, completed, cancelled
    broken_on = pw.DateField(null=True)
    note = pw.CharField(max_length=200, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    approved_by = pw.ForeignKeyField(Operator, null=True, backref="+")   # a supervisor, over the 12-month limit
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "agreed_on"), False),)


class ArrangementInstallment(BaseModel):
    """One installment: seq 0 is the down payment (due the day agreed); for "bills" the due date
    is set from the bill the installment rides on when that bill is made (None until then)."""
    arrangement = pw.ForeignKeyField(Arrangement, backref="schedule", on_delete="CASCADE", index=False)
    seq = pw.SmallIntegerField()
    due_date = pw.DateField(null=True)
    amount_cents = pw.BigIntegerField()

    class Meta:
        indexes = ((("arrangement", "seq"), True),)


class AssistanceAgency(BaseModel):
    """An energy-assistance agency: LIHEAP through a community action agency, a church, a local fund."""
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=80)
    kind = pw.CharField(max_length=10, default="local")  # liheap, church, local
    phone = pw.CharField(max_length=10, default="")
    active = pw.BooleanField(default=True)


class AssistanceApplication(BaseModel):
    """An application for assistance the MSR helped a member with."""
    account = pw.ForeignKeyField(Account, backref="assistance_applications")
    agency = pw.ForeignKeyField(AssistanceAgency, backref="+")
    applied_on = pw.DateField()
    note = pw.CharField(max_length=200, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class AgencyPayment(BaseModel):
    """An agency's check paying many pledges, keyed as a payment batch and matched to them."""
    agency = pw.ForeignKeyField(AssistanceAgency, backref="payments")
    check_no = pw.CharField(max_length=20)
    amount_cents = pw.BigIntegerField()
    received_on = pw.DateField()
    batch = pw.ForeignKeyField(PaymentBatch, unique=True, backref="+")
    status = pw.CharField(max_length=10, default="open")   # open, posted
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    posted_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("agency", "check_no"), True),)     # a check is keyed once


class Pledge(BaseModel):
    """An agency's commitment to pay toward an account: holds disconnection while pending."""
    account = pw.ForeignKeyField(Account, backref="pledges")
    agency = pw.ForeignKeyField(AssistanceAgency, backref="pledges")
    amount_cents = pw.BigIntegerField()
    pledged_on = pw.DateField()
    expires_on = pw.DateField()
    status = pw.CharField(max_length=10, default="pending", index=True)   # pending, paid, short, over, cancelled
    paid_cents = pw.BigIntegerField(default=0)
    payment = pw.ForeignKeyField(AgencyPayment, null=True, backref="pledges")
    reference = pw.CharField(max_length=20, default="")    # the agency's case or voucher number
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "pledged_on"), False),)


MODELS += [Arrangement, ArrangementInstallment, AssistanceAgency, AssistanceApplication, AgencyPayment, Pledge]


# ---- letters and disconnect notices (services/letters.py, services/notices.py) ---------------------------

class Letter(BaseModel):
    """A letter sent to an account (a collection letter, a disconnect notice, an agreement):
    its template, the text as sent and the PDF written."""

    account = pw.ForeignKeyField(Account, backref="letters")
    template = pw.CharField(max_length=60)
    title = pw.CharField(max_length=120, default="")
    text = pw.TextField()
    pdf_path = pw.CharField(max_length=400, default="")
    reference = pw.CharField(max_length=40, default="")          # e.g. "NOTICE 12"
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class NoticeRun(BaseModel):
    """The disconnect-notice run of one day: previewed, then committed exactly once."""

    run_date = pw.DateField(unique=True)
    status = pw.CharField(max_length=12, default="previewed")     # previewed, committing, committed
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)
    preview_total_cents = pw.BigIntegerField(default=0)
    claim = pw.CharField(max_length=40, default="")
    heartbeat_at = pw.DateTimeField(null=True)
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    notice_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)
    directory = pw.CharField(max_length=400, default="")          # the letters and the print-vendor file
    vendor_file = pw.CharField(max_length=400, default="")


class DisconnectNotice(BaseModel):
    """A written 7-day disconnect notice to an account: sent, then an order, the disconnection and
    the reconnect; or cancelled (paid, arrangement, pledge, expired)."""

    run = pw.ForeignKeyField(NoticeRun, backref="notices")
    account = pw.ForeignKeyField(Account, backref="disconnect_notices")
    notice_date = pw.DateField(index=True)
    past_due_cents = pw.BigIntegerField()
    disconnect_from = pw.DateField()                              # the first day a disconnection may be
    expires = pw.DateField()                                      # after this day a new notice is needed
    status = pw.CharField(max_length=12, default="sent", index=True)   # sent, ordered, disconnected,
    #                                                                    reconnect, cancelled, expired
    letter = pw.ForeignKeyField(Letter, null=True, backref="+")
    order = pw.ForeignKeyField(ServiceOrder, null=True, backref="+")
    reconnect_order = pw.ForeignKeyField(ServiceOrder, null=True, backref="+")
    closed_reason = pw.CharField(max_length=120, default="")
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("run", "account"), True),)


class ContactAttempt(BaseModel):
    """The final contact attempt before a disconnection (phone, result), at least 24 hours before."""

    notice = pw.ForeignKeyField(DisconnectNotice, backref="contacts")
    account = pw.ForeignKeyField(Account, backref="+")
    at = pw.DateTimeField()
    phone = pw.CharField(max_length=20)
    result = pw.CharField(max_length=20)
    note = pw.CharField(max_length=200, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")


MODELS += [Letter, NoticeRun, DisconnectNotice, ContactAttempt]


# ---- general-ledger journal (services/gl_journal.py) ----------------------------------------------------

class GlChart(BaseModel):
    """A chart-of-accounts mapping (the co-op's gl_accounts.toml over the shipped one, as JSON) as
    used to close a day: a closed day's journal is explained with the mapping of its day."""

    sha256 = pw.CharField(max_length=64, unique=True)
    body = pw.TextField()
    source = pw.CharField(max_length=255, default="")
    first_used = pw.DateTimeField(default=now)


class GlDay(BaseModel):
    """A day whose journal is closed: once (unique day); its lines are kept as they were exported."""

    day = pw.DateField(unique=True)
    closed_at = pw.DateTimeField(default=now)
    closed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    chart = pw.ForeignKeyField(GlChart, backref="days")
    entry_count = pw.IntegerField(default=0)
    late_count = pw.IntegerField(default=0)
    debit_cents = pw.BigIntegerField(default=0)
    credit_cents = pw.BigIntegerField(default=0)
    ledger_net_cents = pw.BigIntegerField(default=0)
    digest = pw.CharField(max_length=64, default="")
    notes = pw.TextField(default="")


class GlLine(BaseModel):
    day = pw.ForeignKeyField(GlDay, backref="lines", on_delete="CASCADE", index=False)   # (day, seq) leads
    seq = pw.SmallIntegerField()
    gl_account = pw.CharField(max_length=20)
    gl_name = pw.CharField(max_length=60, default="")
    debit_cents = pw.BigIntegerField(default=0)
    credit_cents = pw.BigIntegerField(default=0)
    entries = pw.IntegerField(default=0)
    memo = pw.CharField(max_length=120, default="")

    class Meta:
        indexes = ((("day", "seq"), True),)


class GlJournaled(BaseModel):
    """A ledger entry in a closed day's journal. Unique on the entry: the database's guard that no
    entry is journaled twice, whatever days or sessions try."""

    ledger_entry = pw.ForeignKeyField(LedgerEntry, unique=True, backref="+")
    day = pw.ForeignKeyField(GlDay, backref="journaled", on_delete="CASCADE")
    debit_account = pw.CharField(max_length=20)
    credit_account = pw.CharField(max_length=20)
    late = pw.BooleanField(default=False)
    note = pw.CharField(max_length=160, default="")


# The day's entries are found by their date, and those posted late by when they were posted.
LedgerEntry.add_index(LedgerEntry.effective)
LedgerEntry.add_index(LedgerEntry.posted_at)

MODELS += [GlChart, GlDay, GlLine, GlJournaled]


# ---- autopay: enrollments, NACHA draft runs and entries, processor payments (services/autopay.py) ----

class AutopayEnrollment(BaseModel):
    """An account's authorization to draft its bank account (the numbers are also the member's bank
    account on file, shown masked). A prenote goes out with the next draft run; drafting starts after
    its waiting period without a return. Stopped: by the member, or by a return (R02, R03 ...)."""

    account = pw.ForeignKeyField(Account, unique=True, backref="+")
    routing = pw.CharField(max_length=9)
    bank_account = pw.CharField(max_length=17)
    account_type = pw.CharField(max_length=8, default="checking")      # checking, savings
    authorized_on = pw.DateField()
    status = pw.CharField(max_length=8, default="active", index=True)   # active, stopped
    prenote_sent_on = pw.DateField(null=True)                           # the draft date of the prenote's file
    prenote_trace = pw.CharField(max_length=15, default="")
    stop_reason = pw.CharField(max_length=120, default="")
    stopped_on = pw.DateField(null=True)
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    updated_at = pw.DateTimeField(default=now)


class AutopayRun(BaseModel):
    """The draft file of one draft date: previewed, then made exactly once (run_claim.py)."""

    draft_date = pw.DateField(unique=True)
    status = pw.CharField(max_length=12, default="previewed")     # previewed, committing, committed
    created_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)
    preview_count = pw.IntegerField(default=0)                   # drafts (prenotes apart)
    preview_total_cents = pw.BigIntegerField(default=0)
    preview_prenotes = pw.IntegerField(default=0)
    claim = pw.CharField(max_length=40, default="")
    heartbeat_at = pw.DateTimeField(null=True)
    committed_by = pw.ForeignKeyField(Operator, null=True, backref="+")
    committed_at = pw.DateTimeField(null=True)
    first_seq = pw.BigIntegerField(default=0)                    # trace numbers' sequence from here
    entry_count = pw.IntegerField(default=0)
    total_cents = pw.BigIntegerField(default=0)
    prenote_count = pw.IntegerField(default=0)
    entry_hash = pw.BigIntegerField(default=0)
    file_path = pw.CharField(max_length=500, default="")
    file_sha256 = pw.CharField(max_length=64, default="")


class AutopayEntry(BaseModel):
    """One entry of a draft file: a debit (posted as a payment) or a prenote. Its trace number is how
    a return or a change from the bank finds it."""

    run = pw.ForeignKeyField(AutopayRun, backref="entries", index=False)
    account = pw.ForeignKeyField(Account, backref="+")
    enrollment = pw.ForeignKeyField(AutopayEnrollment, backref="entries", index=False)
    kind = pw.CharField(max_length=8)                             # draft, prenote
    seq = pw.IntegerField()                                       # in the file
    trace = pw.CharField(max_length=15, index=True)
    tx_code = pw.CharField(max_length=2)
    routing = pw.CharField(max_length=9)
    account_last4 = pw.CharField(max_length=4)
    amount_cents = pw.BigIntegerField()
    payment = pw.ForeignKeyField(LedgerEntry, null=True, backref="+", index=False)
    status = pw.CharField(max_length=10, default="sent")          # sent, returned
    return_code = pw.CharField(max_length=4, default="")

    class Meta:
        indexes = ((("run", "seq"), True), (("run", "account", "kind"), True))


class ProcessorPayment(BaseModel):
    """A card or e-check payment from the web/phone processor's settlement file: its reference kept."""

    batch_line = pw.ForeignKeyField(BatchLine, unique=True, backref="+", on_delete="CASCADE")
    reference = pw.CharField(max_length=64, index=True)
    method = pw.CharField(max_length=12, default="")              # card, echeck


MODELS += [AutopayEnrollment, AutopayRun, AutopayEntry, ProcessorPayment]


# ---- damage claims (services/damage_claims.py) ----

class DamageClaim(BaseModel):
    """A claim for damage: to the co-op's property by a third party ("against": the co-op bills them),
    or to a member's property they blame on the co-op ("member": the co-op decides and pays)."""
    claim_no = pw.IntegerField(unique=True)
    direction = pw.CharField(max_length=8, default="against")     # against, member
    incident_on = pw.DateField()
    place = pw.CharField(max_length=120)
    damaged = pw.CharField(max_length=12)                         # pole, transformer, line, meter, other ...
    description = pw.CharField(max_length=200, default="")
    party_name = pw.CharField(max_length=80)                      # the responsible party, or the claimant
    party_address = pw.CharField(max_length=120, default="")
    party_phone = pw.CharField(max_length=10, default="")
    insurer = pw.CharField(max_length=80, default="")
    insurer_claim_no = pw.CharField(max_length=40, default="")
    adjuster_name = pw.CharField(max_length=80, default="")
    adjuster_phone = pw.CharField(max_length=10, default="")
    account = pw.ForeignKeyField(Account, null=True, backref="+")  # the member's account (member claims)
    overhead_percent = pw.DecimalField(max_digits=6, decimal_places=2, default=0)
    claimed_cents = pw.BigIntegerField(default=0)                 # what a member claims
    approved_cents = pw.BigIntegerField(default=0)                # what the co-op decided to pay
    status = pw.CharField(max_length=12, default="open", index=True)  # open, invoiced, negotiating, settled,
    #                                                                   written_off, closed
    invoiced_on = pw.DateField(null=True)
    invoice_cents = pw.BigIntegerField(default=0)
    invoice_path = pw.CharField(max_length=400, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class ClaimCostLine(BaseModel):
    """A cost line from operations: labor (hours x rate), material, equipment (hours x rate)."""
    claim = pw.ForeignKeyField(DamageClaim, backref="lines", on_delete="CASCADE")
    kind = pw.CharField(max_length=10)                            # labor, material, equipment
    description = pw.CharField(max_length=80)
    quantity = pw.DecimalField(max_digits=10, decimal_places=2)
    rate_cents = pw.BigIntegerField()
    amount_cents = pw.BigIntegerField()
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class ClaimTransaction(BaseModel):
    """Money on a claim: a payment, a reduction, a settlement, a write-off (approver: the supervisor)."""
    claim = pw.ForeignKeyField(DamageClaim, backref="transactions", on_delete="CASCADE")
    kind = pw.CharField(max_length=12)                            # payment, reduction, settlement, write_off
    amount_cents = pw.BigIntegerField()
    on = pw.DateField()
    reference = pw.CharField(max_length=40, default="")
    note = pw.CharField(max_length=200, default="")
    approver = pw.ForeignKeyField(Operator, null=True, backref="+")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


class ClaimLetter(BaseModel):
    """Correspondence on a claim from a template, as sent."""
    claim = pw.ForeignKeyField(DamageClaim, backref="letters", on_delete="CASCADE")
    template = pw.CharField(max_length=60)
    title = pw.CharField(max_length=120, default="")
    text = pw.TextField()
    pdf_path = pw.CharField(max_length=400, default="")
    operator = pw.ForeignKeyField(Operator, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)


MODELS += [DamageClaim, ClaimCostLine, ClaimTransaction, ClaimLetter]
NUMBERINGS += (Numbering(DamageClaim.claim_no, 26001),)     # a sequence on PostgreSQL: no two alike
