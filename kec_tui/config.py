"""Settings: built-in defaults < TOML file < environment (KEC_TUI_<NAME>) < command-line flags.

Every setting is a typed field of `Settings`; an unknown key or a value of the
wrong type is a `SettingsError` naming the key (the command line prints it as one line).
"""
from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlparse


def default_config_path() -> Path:
    env = os.environ.get("KEC_TUI_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kec-tui" / "config.toml"


def redact(url: str) -> str:
    """A database URL fit to print or log: its password (if any) as ***."""
    p = urlparse(url)
    if p.password:
        return url.replace(f":{p.password}@", ":***@")
    return url


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kec-tui"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    db: str = ""                       # URL or path; empty = the demo database in the data dir
    operator: str = ""                 # empty = the OS user mapped to an operator
    keymap: str = ""                   # a user keymap TOML overriding keymaps/default.toml
    theme: str = "textual-dark"
    idle_lock_minutes: int = 10        # lock the screen after this long without input; 0 = never
    tenkey: bool = False               # the payment form starts in 10-key mode (implied decimal)
    scan_account_width: int = 10       # the bill printer's scan line layout
    scan_amount_width: int = 10
    reports_dir: str = ""              # posted batches' reports; empty = reports/ in the data dir
    tickets_dir: str = ""              # work tickets; empty = reports_dir, else tickets/ in the data dir
    practice_db: str = ""              # training's practice database; empty = practice.db in the data dir
    # The fee schedule (services/fees.py). Cents are whole numbers; the percent is text, never float.
    late_fee_percent: str = "1.5"
    late_fee_minimum_cents: int = 200
    late_fee_grace_days: int = 0       # days after the due date before a late fee (due 20 days after the bill)
    returned_payment_fee_cents: int = 2500
    reconnect_fee_cents: int = 4000
    reconnect_after_hours_fee_cents: int = 16000
    membership_fee_cents: int = 500
    trip_fee_cents: int = 2500
    deposit_flat_cents: int = 20000
    deposit_months: int = 2
    # Credit (services/credit_rules.py): deposits, write-offs, collection agencies, bankruptcy.
    deposit_late_bills: int = 2        # bills paid late in 12 months that call for a deposit
    deposit_returned_payments: int = 1  # payments returned in 12 months that call for one
    deposit_max_installments: int = 3  # a deposit may be billed in up to this many monthly installments
    deposit_interest_percent: str = "0"  # simple interest a year on a deposit held (0: the co-op pays none)
    deposit_refund_months: int = 12    # prompt payment this long refunds the deposit (credited to the account)
    write_off_after_days: int = 90     # a final account still unpaid this many days after its final bill
    collection_agency: str = "Collection agency"   # the agency's name on referrals
    agency_commission_percent: str = "30"   # the agency keeps this share of what it collects
    bankruptcy_assurance_days: int = 20     # 11 U.S.C. 366: adequate assurance within this many days of filing
    holidays: tuple[dt.date, ...] = ()  # count as after hours (reconnect fees)
    lockbox_csv_columns: dict[str, str] = field(default_factory=dict)  # the bank's CSV header -> our column
    # Billing (services/readings.py, billing_run.py, adjustments.py). Factors are text, never float.
    reading_high_factor: str = "2.0"   # a reading using more than this times the reference is high
    reading_low_factor: str = "0.4"    # ... less than this times the reference is low
    meter_dials: int = 5               # a register rolls over at 10**dials
    bill_cycle_days: dict[str, int] = field(default_factory=dict)  # cycle -> bill day; empty = 3, 10, 17, 24
    read_window_days: int = 35         # a reading this many days before the bill date or less is this period's
    estimate_months: int = 3           # an estimated bill is the average use of this many months
    bill_review_limit_cents: int = 250_000   # a bill over this is listed for review in the register
    budget_settlement_month: int = 8   # budget billing's true-up month
    adjustment_limit_cents: int = 10_000     # an adjustment above this needs a supervisor
    sales_tax_percent: str = "6"       # on taxable products sold at the counter (Idaho: 6%); text, never float
    # Password sign-ins over SSH and the web, counted across connections (services/sign_in_guard.py).
    signin_window_minutes: int = 10    # failures older than this no longer count (fail2ban's findtime)
    signin_free_failures: int = 3      # failures in the window before each further try waits, doubling
    signin_max_delay_seconds: int = 30  # the longest wait; a try that would wait longer is refused
    signin_lock_failures: int = 10     # failures in the window that lock the operator (NIST: at most 100)
    signin_address_operators: int = 3  # an address failing against this many operators is refused ...
    signin_ban_minutes: int = 10       # ... for this long (fail2ban's bantime)
    # Printing (services/printing.py): a CUPS queue for `lp -d`; empty = save the PDF and say where.
    printer: str = ""
    # Policies, procedures and training documents (services/reference.py); empty = policies/ in the data dir.
    policies_dir: str = ""
    # The member's online account (services/portal.py).
    portal_identity_questions: int = 2     # identity questions answered right before an e-mail change
    portal_connector: str = ""             # "module:Class" of the co-op's portal seam; empty = outbox only
    # Payment arrangements and energy assistance (services/arrangements.py, assistance.py).
    arrangement_max_months: int = 12   # the most installments (months) an arrangement may run
    arrangement_limit_12m: int = 2     # arrangements per account in 12 months; beyond, a supervisor signs in
    arrangement_grace_days: int = 5    # an installment unpaid this many days after its due date breaks it
    pledge_hold_days: int = 30         # an energy-assistance pledge holds disconnection this many days
    # Capital credits (services/capital_credits.py).
    capital_credit_rotation_years: int = 28           # credits are retired this many years after allocation
    capital_credit_discount_percent: str = "6.31"     # early and estate retirement: present value at this rate
    capital_credit_minimum_check_cents: int = 1000    # an inactive member's retirement below this waits
    capital_credit_unclaimed_days: int = 1095         # a check not cashed after this is unclaimed property
    # Letters and disconnect notices (services/letters.py, notices.py; Idaho PUC, IDAPA 31.21.01).
    letters_dir: str = ""              # the co-op's letter templates; empty = letters/ in the data dir
    notice_min_past_due_cents: int = 2500    # a disconnect notice for at least this much past due ...
    notice_after_days: int = 30        # ... past due longer than this (a second bill unpaid)
    notice_days: int = 7               # written notice at least this many calendar days before disconnection
    notice_valid_days: int = 21        # not disconnected within this many days of the notice: a new notice
    final_contact_hours: int = 24      # the final contact attempt at least this many hours before
    disconnect_on_weekends: bool = False
    disconnect_on_holidays: bool = False     # US and Idaho holidays (the holidays package) and `holidays`
    disconnect_friday_until_hour: int = 12   # no disconnection on a Friday from this hour on (24: none)
    # Autopay: NACHA PPD debit files (services/autopay.py). The bank's and the co-op's identities.
    autopay_days_before_due: int = 0   # the draft date is the due date less this many days
    autopay_prenote_wait_days: int = 6  # drafting starts this long after the prenote's file, if not returned
    autopay_dir: str = ""              # draft files; empty = ach/ in the data dir
    ach_immediate_destination: str = "091000019"   # the co-op's bank (ODFI) routing number
    ach_destination_name: str = "FIRST BANK"
    ach_immediate_origin: str = "1820000000"       # as the bank assigned it (often 1 + the tax ID)
    ach_origin_name: str = "KOOTENAI ELECTRIC"
    ach_company_name: str = "KOOTENAI ELEC"
    ach_company_id: str = "1820000000"
    ach_entry_description: str = "AUTOPAY"
    # Damage claims (services/damage_claims.py).
    damage_claim_overhead_percent: str = "15"   # overhead on a damage claim's cost lines (kept on the claim)

    @property
    def db_url(self) -> str:
        return self.db or str(default_data_dir() / "demo.db")


ENV_PREFIX = "KEC_TUI_"
NOT_NEGATIVE = {"idle_lock_minutes", "late_fee_minimum_cents", "returned_payment_fee_cents", "reconnect_fee_cents",
                "reconnect_after_hours_fee_cents", "membership_fee_cents", "trip_fee_cents", "deposit_flat_cents",
                "deposit_months", "deposit_late_bills", "deposit_returned_payments", "write_off_after_days",
                "bill_review_limit_cents", "adjustment_limit_cents", "signin_free_failures",
                "signin_max_delay_seconds", "late_fee_grace_days", "capital_credit_minimum_check_cents",
                "notice_min_past_due_cents", "notice_after_days", "disconnect_friday_until_hour",
                "autopay_days_before_due", "autopay_prenote_wait_days"}
AT_LEAST_ONE = {"scan_account_width", "scan_amount_width", "meter_dials", "read_window_days", "estimate_months",
                "budget_settlement_month", "signin_window_minutes", "signin_lock_failures", "signin_address_operators",
                "signin_ban_minutes", "capital_credit_rotation_years", "capital_credit_unclaimed_days",
                "portal_identity_questions", "deposit_max_installments", "deposit_refund_months",
                "bankruptcy_assurance_days", "notice_days", "notice_valid_days", "final_contact_hours"}
DECIMALS = {"late_fee_percent", "sales_tax_percent", "reading_high_factor", "reading_low_factor",
            "capital_credit_discount_percent", "deposit_interest_percent", "agency_commission_percent"}
TYPES = {f.name: f.type for f in fields(Settings)}
# Payment arrangements and energy assistance.
NOT_NEGATIVE |= {"arrangement_limit_12m", "arrangement_grace_days"}
AT_LEAST_ONE |= {"arrangement_max_months", "pledge_hold_days"}
DECIMALS |= {"damage_claim_overhead_percent"}


def _date(key: str, value) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SettingsError(f"setting {key}: {value!r} is not a date (YYYY-MM-DD)") from None


def check(key: str, value):
    """`value` as the type of setting `key`, or SettingsError naming the key."""
    kind = TYPES.get(key)
    if kind is None:
        raise SettingsError(f"unknown setting {key!r} (known: {', '.join(sorted(TYPES))})")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"setting {key} must be a whole number, not {value!r}")
        if key in NOT_NEGATIVE and value < 0 or key in AT_LEAST_ONE and value < 1:
            raise SettingsError(f"setting {key} must be {'at least 1' if key in AT_LEAST_ONE else '0 or more'}, "
                                f"not {value}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError(f"setting {key} must be true or false, not {value!r}")
    elif key in DECIMALS:
        from decimal import Decimal, InvalidOperation

        try:
            if isinstance(value, bool) or Decimal(str(value)) < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise SettingsError(f"setting {key} must be a number such as \"1.5\", not {value!r}") from None
        return str(value)
    elif kind == "str":
        if not isinstance(value, str):
            raise SettingsError(f"setting {key} must be text, not {value!r}")
    elif key == "holidays":
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"setting {key} must be a list of dates, not {value!r}")
        return tuple(_date(key, d) for d in value)
    elif key == "bill_cycle_days":
        if not isinstance(value, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 28
                                                  for v in value.values()):
            raise SettingsError(f"setting {key} must be a table of cycle = bill day (1-28), not {value!r}")
        return {str(k): v for k, v in value.items()}
    elif key == "lockbox_csv_columns":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(f"setting {key} must be a table of column names, not {value!r}")
        return {str(k): v for k, v in value.items()}
    return value


def _from_env(key: str, text: str):
    kind = TYPES[key]
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{key.upper()} must be a whole number, not {text!r}") from None
    if kind == "bool":
        if text.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingsError(f"{ENV_PREFIX}{key.upper()} must be true or false, not {text!r}")
        return text.strip().lower() in ("1", "true", "yes", "on")
    if key == "holidays":
        return [d.strip() for d in text.split(",") if d.strip()]
    return text


def load(path: Path | None = None, **overrides) -> Settings:
    """Read the TOML file (if any), then KEC_TUI_* variables, then explicit overrides."""
    values: dict = {}
    path = path or default_config_path()
    if path.exists():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read the settings file {path}: {exc}") from None
        for key, value in data.items():
            try:
                values[key] = check(key, value)
            except SettingsError as exc:
                raise SettingsError(f"{path}: {exc}") from None
    for key in TYPES:
        if key == "lockbox_csv_columns":
            continue
        env = os.environ.get(ENV_PREFIX + key.upper())
        if env is not None:
            values[key] = check(key, _from_env(key, env))
    values.update({k: check(k, v) for k, v in overrides.items() if v not in (None, "")})
    return replace(Settings(), **values)
