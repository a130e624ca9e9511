"""The conversion's CSV layouts (services/conversion.py; `kec-tui export` writes the same), without
imports so `kec-tui convert --help` stays quick."""
from __future__ import annotations

# ---- the layouts --------------------------------------------------------------------------------
# file -> (required columns, optional columns). Headers are matched without case or surrounding
# spaces; other columns are ignored. The first column named is the file's legacy key.

LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "members.csv": (("member", "last_name"),
                    ("first_name", "tax_id", "birth_date", "phone_home", "phone_mobile", "phone_work", "email",
                     "mail_street", "mail_city", "mail_state", "mail_zip", "preferred_contact", "joined",
                     "bank_routing", "bank_account")),
    "locations.csv": (("location", "street", "city", "zip"),
                      ("state", "map_location", "owner_name", "owner_phone", "substation", "feeder",
                       "transformer")),
    "meters.csv": (("meter",), ("location", "multiplier", "installed")),
    "accounts.csv": (("account", "member", "location", "rate_class", "opened"),
                     ("meter", "status", "bill_cycle", "closed", "transferred_to")),
    "flags.csv": (("account", "flag"), ("until", "detail")),
    "deposits.csv": (("account", "amount"), ()),
    "balances.csv": (("account", "as_of", "balance"),
                     ("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "current_due")),
    "readings.csv": (("account", "read_date", "reading", "kwh"),
                     ("meter", "demand_kw", "reverse_kwh", "source")),
    "bills.csv": (("account", "bill_date", "due_date", "amount"),
                  ("period_start", "period_end", "schedule", "kwh", "charged", "kind", "status")),
    "notes.csv": (("account", "created_at", "text"), ("operator",)),
}
FILES = tuple(LAYOUTS)

LAYOUT_HELP = """\
CSV files in DIR (UTF-8, a header row; headers in any case and order, other columns ignored;
dates YYYY-MM-DD or MM/DD/YYYY; money in dollars, 123.45; a file left out is not touched):
  members.csv    member*, last_name* (or the business), first_name, tax_id (9 digits, or the
                 last 4), birth_date, phone_home, phone_mobile, phone_work, email, mail_street,
                 mail_city, mail_state, mail_zip, preferred_contact, joined, bank_routing,
                 bank_account
  locations.csv  location*, street*, city*, zip*, state, map_location, owner_name, owner_phone,
                 substation, feeder, transformer
  meters.csv     meter* (its number), location, multiplier, installed
  accounts.csv   account*, member*, location*, rate_class* (a rate schedule's class: RES, SGS ...),
                 opened*, meter, status (active, pending, disconnected, final, closed), bill_cycle,
                 closed, transferred_to (an account)
  flags.csv      account*, flag* (cash_only, medical, landlord, bankruptcy, collections,
                 budget_billing, winter_protection), until (cash_only, medical,
                 winter_protection), detail (winter: children,elderly,infirm)
  deposits.csv   account*, amount* (the deposit held)
  balances.csv   account*, as_of*, balance*, current, days_1_30, days_31_60, days_61_90, over_90
                 (the buckets add up to the balance; a credit balance is current), current_due
  readings.csv   account*, read_date*, reading*, kwh*, meter, demand_kw, reverse_kwh, source
                 (keyed, ami, estimated)
  bills.csv      account*, bill_date*, due_date*, amount*, period_start, period_end, schedule,
                 kwh, charged (default: amount), kind (regular, first, final, rebill), status
                 (billed, cancelled)
  notes.csv      account*, created_at*, text*, operator
(* required). The first column of members, locations, meters and accounts is the record's key
in the former system: kept and mapped, so a run repeated after a correction updates the same
records. Account keys are the account numbers, check digit included; --renumber gives new
numbers with check digits instead (and numbers members and locations anew)."""
