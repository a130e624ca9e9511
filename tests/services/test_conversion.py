"""Conversion and export (issue 15, parts 1 and 4): the round trip (a small demo co-op exported,
converted into an empty database: every account's balance, aging, readings and flags the same),
every kind of problem reported by file, line and column with nothing written, a run repeated
after a correction, renumbering, masking. SQLite and PostgreSQL."""

import csv
import datetime as dt
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.checkdigit import valid_account_number
from kec_tui.demo import build_demo
from kec_tui.services import aging, conversion, export, operators
from kec_tui.services.errors import PermissionDenied
from tests import factories

TODAY = dt.date(2026, 2, 28)


@pytest.fixture
def admin(database_any):
    return operators.create("admin", "Ada Admin", "admin")


def snapshot(as_of: dt.date) -> dict[int, tuple]:
    """Every account by number: balance, aging, readings, flags, deposit, status, name, meter."""
    A, M, Mt = db.Account, db.Member, db.Meter
    out = {}
    aged = {r.account_id: r.aged.buckets() for r in aging.aged_rows(as_of)}
    for a in A.select().order_by(A.number):
        L = db.LedgerEntry
        balance = L.select(db.pw.fn.COALESCE(db.pw.fn.SUM(L.amount_cents), 0)).where(L.account == a.id).scalar()
        R = db.Reading
        readings = [(str(d), v, k, m, s) for d, v, k, m, s in
                    R.select(R.read_date, R.reading, R.kwh, Mt.meter_no, R.source).join(Mt, db.pw.JOIN.LEFT_OUTER)
                    .where(R.account == a.id).order_by(R.read_date, R.id).tuples()]
        flags = (a.cash_only_until, a.medical_cert_until, a.landlord, a.bankruptcy, a.collections, a.budget_billing,
                 a.winter_protection_until, a.winter_household)
        m = M.get_by_id(a.member_id)
        out[a.number] = (int(balance), aged.get(a.id, (0,) * 5), readings, flags, a.deposit_cents, a.status,
                         a.rate_class, a.bill_cycle, a.opened, a.closed, (m.first_name, m.last_name, m.tax_id_last4,
                                                                           m.bank_account),
                         a.meter.meter_no if a.meter_id else None)
    return out


def test_round_trip_demo_export_converts_back_the_same(database, tmp_path):
    build_demo(accounts=120, months=13, seed=5, today=TODAY)
    before = snapshot(TODAY)
    assert sum(1 for v in before.values() if v[0]) > 20            # balances to carry
    assert any(v[1][4] for v in before.values()) and any(v[3][0] for v in before.values())   # over 90, cash only
    sup = operators.by_username("super")
    out = tmp_path / "export"
    exported = export.export_all(sup, out, TODAY)
    assert not exported.masked and exported.files["accounts.csv"] == 120

    db.drop_all()
    db.migrate()
    admin = operators.create("admin", "Ada Admin", "admin")
    checked = conversion.check(out)
    assert checked.ok, checked.problems[:5]
    assert db.Account.select().count() == 0                       # a dry run writes nothing
    result = conversion.load(admin, out)
    assert result.ok and result.added["accounts"] == 120
    after = snapshot(TODAY)
    assert after == before
    # The bills are history (with the kWh of the reading before each), not ledger entries.
    assert db.Bill.select().count() == exported.files["bills.csv"] > 1000
    assert db.Bill.select().where(db.Bill.kwh > 0).count() > 0.9 * exported.files["bills.csv"]
    assert aging.trial_balance(None, TODAY).balances
    # The search index is built: every account can be found by its number.
    some = db.Account.select().order_by(db.Account.id.desc()).first()
    assert db.SearchTerm.get(db.SearchTerm.term == str(some.number)).account_id == some.id

    # Run again, unchanged: nothing new, nothing changed.
    again = conversion.load(admin, out)
    assert not again.added and not again.updated
    assert snapshot(TODAY) == before


def write(d: Path, name: str, rows: list[list], encoding: str = "utf-8") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    with (d / name).open("w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows(rows)
    return d / name


def good_files(d: Path) -> None:
    write(d, "members.csv", [["member", "first_name", "last_name", "tax_id", "phone_home", "bank_routing",
                              "bank_account"],
                             ["100001", "Ada", "Lovelace", "518-12-3456", "208-555-0100", "123104783", "123456789012"],
                             ["100002", "Grace", "Hopper", "", "", "", ""]])
    write(d, "locations.csv", [["location", "street", "city", "zip", "substation", "feeder", "transformer"],
                               ["1", "1234 N Government Way", "Coeur d'Alene", "83814", "Rathdrum", "F12", "T-4411"],
                               ["2", "55 E Sherman Ave", "Coeur d'Alene", "83814", "", "", ""]])
    write(d, "meters.csv", [["meter", "location", "multiplier"], ["300000001", "1", "1"], ["300000002", "2", "1"]])
    write(d, "accounts.csv", [["account", "member", "location", "meter", "rate_class", "status", "bill_cycle",
                               "opened"],
                              ["123457", "100001", "1", "300000001", "RES", "active", "2", "2019-05-01"],
                              ["100007", "100002", "2", "300000002", "SGS", "active", "1", "05/01/2020"]])
    write(d, "flags.csv", [["account", "flag", "until", "detail"], ["123457", "medical", "2026-03-15", ""],
                           ["123457", "landlord", "", ""], ["100007", "cash_only", "2026-12-01", ""]])
    write(d, "deposits.csv", [["account", "amount"], ["123457", "200.00"]])
    write(d, "balances.csv", [["account", "as_of", "balance", "current", "days_1_30", "days_31_60", "days_61_90",
                               "over_90"],
                              ["123457", "2026-02-28", "350.00", "100.00", "150.00", "0", "0", "100.00"],
                              ["100007", "2026-02-28", "-25.00", "-25.00", "", "", "", ""]])
    write(d, "readings.csv", [["account", "read_date", "reading", "kwh"], ["123457", "2026-01-08", "10500", "900"],
                              ["123457", "2026-02-08", "11600", "1100"]])
    write(d, "bills.csv", [["account", "bill_date", "due_date", "amount", "kwh", "schedule"],
                           ["123457", "2026-02-10", "2026-03-02", "125.40", "1100", "RES"]])
    write(d, "notes.csv", [["account", "created_at", "text"], ["123457", "2025-06-01 10:00:00", "Dog on premises"]])


def counts() -> dict[str, int]:
    return {m.__name__: m.select().count() for m in (db.Member, db.ServiceLocation, db.Meter, db.Account,
                                                      db.LedgerEntry, db.Reading, db.Bill, db.Note, db.LegacyKey,
                                                      db.LocationGrid)}


def test_load_good_files_and_run_again_after_a_correction(database, admin, tmp_path):
    d = tmp_path / "in"
    good_files(d)
    r = conversion.load(admin, d)
    assert r.ok and r.added["accounts"] == 2 and r.added["members"] == 2
    a = db.Account.get(db.Account.number == 123457)
    assert (a.medical_cert_until, a.landlord, a.deposit_cents, a.bill_cycle) == (dt.date(2026, 3, 15), True, 20000, 2)
    assert db.LocationGrid.get(db.LocationGrid.location == a.location_id).transformer == "T-4411"
    m = db.Member.get(db.Member.member_no == 100001)
    assert (m.tax_id_last4, m.phone_home, m.bank_account) == ("3456", "2085550100", "123456789012")
    assert m.tax_id_hash and "123456789" not in m.tax_id_hash
    assert aging.account_aging(a.id, dt.date(2026, 2, 28)).buckets() == (10000, 15000, 0, 0, 10000)
    b = db.Account.get(db.Account.number == 100007)
    assert aging.account_aging(b.id, dt.date(2026, 2, 28)).buckets() == (-2500, 0, 0, 0, 0)
    first = counts()

    # The balance, a name and a reading corrected; the same files otherwise.
    write(d, "balances.csv", [["account", "as_of", "balance", "current", "days_1_30", "days_31_60", "days_61_90",
                               "over_90"],
                              ["123457", "2026-02-28", "300.00", "100.00", "100.00", "0", "0", "100.00"],
                              ["100007", "2026-02-28", "-25.00", "-25.00", "", "", "", ""]])
    rows = list(csv.reader((d / "members.csv").open()))
    rows[2][1] = "Grace M."
    write(d, "members.csv", rows)
    write(d, "readings.csv", [["account", "read_date", "reading", "kwh"], ["123457", "2026-01-08", "10500", "900"],
                              ["123457", "2026-02-08", "11650", "1150"]])
    r2 = conversion.load(admin, d)
    assert r2.updated == {"members": 1, "readings": 1} and r2.added == {"opening balance entries": 1}
    assert aging.account_aging(a.id, dt.date(2026, 2, 28)).buckets() == (10000, 10000, 0, 0, 10000)
    after = counts()
    assert after["LedgerEntry"] == first["LedgerEntry"] + 1        # the correction is a new entry
    assert {k: v for k, v in after.items() if k != "LedgerEntry"} == {k: v for k, v in first.items()
                                                                       if k != "LedgerEntry"}
    changes = list(db.AuditLog.select().where(db.AuditLog.action == "conversion.change"))
    assert {(c.field, c.before, c.after) for c in changes} >= {("first_name", "Grace", "Grace M.")}
    assert db.Reading.get(db.Reading.read_date == dt.date(2026, 2, 8)).kwh == 1150
    # Once more, unchanged: nothing.
    r3 = conversion.load(admin, d)
    assert not r3.added and not r3.updated and counts() == after
    # The application adds rows after a conversion as before (PostgreSQL: the sequences moved past).
    factories.account(base=20000, bills=(1000,))
    assert db.Account.select().count() == 3


def bad_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bad"
    good_files(d)
    # A bad date (line 3), an unknown rate schedule (line 4), a meter on two accounts (line 4 too: the
    # second open account on meter 300000001), duplicated legacy keys (accounts line 5).
    write(d, "accounts.csv", [["account", "member", "location", "meter", "rate_class", "status", "opened"],
                              ["123457", "100001", "1", "300000001", "RES", "active", "2019-05-01"],
                              ["100007", "100002", "2", "300000002", "SGS", "active", "2020-13-01"],
                              ["100015", "100002", "1", "", "XYZ", "active", "2021-01-01"],
                              ["100023", "100002", "1", "300000001", "RES", "active", "2021-01-01"],
                              ["123457", "100002", "2", "", "RES", "closed", "2018-01-01"],
                              ["100031", "100002", "2", "", "QQ", "asleep", "yesterday"]])
    # A balance that does not match its aging (line 2).
    write(d, "balances.csv", [["account", "as_of", "balance", "current", "days_1_30", "days_31_60", "days_61_90",
                               "over_90"],
                              ["123457", "2026-02-28", "350.00", "100.00", "150.00", "0", "0", "90.00"]])
    write(d, "readings.csv", [["account", "read_date", "reading", "kwh"], ["123457", "2026-01-08", "10500", "900"],
                              ["123457", "2026-02-31", "11600", "1.5"]])
    # A missing column.
    write(d, "deposits.csv", [["account", "amt"], ["123457", "200.00"]])
    # A CSV in the wrong encoding (Windows-1252: the é of line 3, column first_name).
    write(d, "notes.csv", [["account", "created_at", "text"], ["123457", "2025-06-01", "ok"],
                           ["123457", "2025-06-02", "Member René called"]], encoding="cp1252")
    write(d, "members.csv", [["member", "first_name", "last_name"], ["100001", "Ada", "Lovelace"],
                             ["100002", "Grace", "Hopper"], ["100001", "Again", "Lovelace"]])
    return d


EXPECTED = {
    ("accounts.csv", 3, "opened"),            # 2020-13-01: a bad date
    ("accounts.csv", 4, "rate_class"),        # XYZ
    ("accounts.csv", 5, "meter"),             # 300000001 on two active accounts
    ("accounts.csv", 6, "account"),           # 123457 again
    ("balances.csv", 2, "balance"),           # 350.00 against buckets of 340.00
    ("deposits.csv", 1, "amount"),            # a required column is missing
    ("notes.csv", 3, "text"),                 # not UTF-8
    ("members.csv", 4, "member"),             # 100001 again
    ("accounts.csv", 7, "rate_class"),        # a row with three problems: each one named
    ("accounts.csv", 7, "status"),
    ("accounts.csv", 7, "opened"),
    ("readings.csv", 3, "read_date"),         # and a readings row with two
    ("readings.csv", 3, "kwh"),
}


def test_dry_run_reports_every_problem_by_file_line_and_column_and_writes_nothing(database, admin, tmp_path):
    d = bad_dir(tmp_path)
    before = counts()
    r = conversion.check(d)
    found = {(p.file, p.line, p.column) for p in r.problems}
    assert EXPECTED <= found, sorted(found)
    messages = {(p.file, p.line): p.message for p in r.problems}
    assert "not a date" in messages[("accounts.csv", 3)]
    assert "unknown rate schedule 'XYZ'" in messages[("accounts.csv", 4)]
    assert "two accounts" in messages[("accounts.csv", 5)]
    assert "does not match its aging" in messages[("balances.csv", 2)]
    assert "missing column 'amount'" in messages[("deposits.csv", 1)]
    assert "not UTF-8" in messages[("notes.csv", 3)]
    assert "duplicated key '100001' (first on line 2)" in messages[("members.csv", 4)]
    assert str(next(p for p in r.problems if p.file == "balances.csv")).startswith(
        "balances.csv line 2, column balance: ")
    assert counts() == before

    # The load refuses the same files whole: nothing written, every problem named.
    with pytest.raises(conversion.ConversionFailed) as e:
        conversion.load(admin, d)
    assert EXPECTED <= {(p.file, p.line, p.column) for p in e.value.result.problems}
    assert counts() == before
    assert not db.AuditLog.select().where(db.AuditLog.action == "conversion.load").exists()


def test_a_file_that_cannot_be_read_is_one_problem_not_one_per_reference(database, admin, tmp_path):
    """A file not UTF-8 is reported at each line and column holding such bytes and still read (its
    records are known to the files after it); a file without a required column is reported once,
    and the references into it are counted in one problem, not reported one by one."""
    d = tmp_path / "in"
    good_files(d)
    write(d, "members.csv", [["member", "first_name", "last_name"], ["100001", "René", "Lovelace"],
                             ["100002", "Grace", "Muñoz"]], encoding="cp1252")
    write(d, "locations.csv", [["location", "city", "zip"], ["1", "Coeur d'Alene", "83814"],
                               ["2", "Coeur d'Alene", "83814"]])
    before = counts()
    r = conversion.check(d)
    assert [(p.file, p.line, p.column) for p in r.problems] == [
        ("members.csv", 2, "first_name"), ("members.csv", 3, "last_name"), ("locations.csv", 1, "street"),
        ("meters.csv", 0, "location"), ("accounts.csv", 0, "location")]
    assert "not UTF-8" in r.problems[0].message
    assert r.problems[4].message == ("2 location reference(s) not checked: locations.csv could not be read "
                                     "(its problem is above)")
    assert not any("no member" in p.message for p in r.problems)
    with pytest.raises(conversion.ConversionFailed):
        conversion.load(admin, d)
    assert counts() == before


def test_values_cut_short_or_changed_are_refused_and_a_tax_id_is_never_echoed(database, admin, tmp_path):
    """A routing number of 11 digits (once cut to 9: another bank drafted), a state written out
    (Montana once stored as MO), a name longer than its field (once cut), an amount or a date no
    database holds (the dry run passed, the load failed), a balance as of a day to come: each a
    problem with file, line and column. A tax ID in the wrong column is echoed masked."""
    d = tmp_path / "in"
    good_files(d)
    write(d, "members.csv", [["member", "first_name", "last_name", "mail_state", "birth_date", "bank_routing"],
                             ["100001", "Ada", "Lovelace", "ID", "", ""], ["100002", "Grace", "Hopper", "", "", ""],
                             ["100003", "Mon", "Tana", "Montana", "", ""],
                             ["100004", "Shifted", "Columns", "ID", "123-45-6789", ""],
                             ["100005", "Long", "H" * 61, "ID", "", ""]])
    write(d, "balances.csv", [["account", "as_of", "balance"], ["123457", "2026-02-28", "99999999999999999999.00"],
                              ["100007", "0001-01-01", "5.00"]])
    write(d, "deposits.csv", [["account", "amount"], ["123457", "١٧٨.00"]])
    r = conversion.check(d)
    found = {(p.file, p.line, p.column): p.message for p in r.problems}
    assert {("members.csv", 4, "mail_state"), ("members.csv", 5, "birth_date"), ("members.csv", 6, "last_name"),
            ("balances.csv", 2, "balance"), ("balances.csv", 3, "as_of"), ("deposits.csv", 2, "amount")} <= set(found)
    assert "***-**-6789" in found[("members.csv", 5, "birth_date")]
    assert not any("123-45-6789" in str(p) for p in r.problems)
    good_files(d)
    write(d, "members.csv", [["member", "last_name", "bank_routing"], ["100001", "Lovelace", "12413402799"],
                             ["100002", "Hopper", ""]])
    write(d, "balances.csv", [["account", "as_of", "balance"], ["100007", (dt.date.today() + dt.timedelta(days=3))
                                                                 .isoformat(), "5.00"]])
    found = {(p.file, p.line, p.column) for p in conversion.check(d).problems}
    assert found == {("members.csv", 2, "bank_routing"), ("balances.csv", 2, "as_of")}


def test_an_account_paid_off_since_is_at_zero_after_the_conversion_runs_again(database, admin, tmp_path):
    """The export writes every account's balance, a zero too; a zero row brings a converted balance
    back to zero (an account left out of balances.csv is not touched)."""
    d = tmp_path / "in"
    good_files(d)
    conversion.load(admin, d)
    a = db.Account.get(db.Account.number == 123457)
    assert accounts_balance(a.id) == 35000
    write(d, "balances.csv", [["account", "as_of", "balance"], ["123457", "2026-02-28", "0.00"],
                              ["100007", "2026-02-28", "-25.00"]])
    conversion.load(admin, d)
    assert accounts_balance(a.id) == 0
    out = tmp_path / "out"
    export.export_all(operators.create("sup", "Sue Pervisor", "supervisor"), out, TODAY)
    rows = {r["account"]: r["balance"] for r in csv.DictReader((out / "balances.csv").open())}
    assert rows == {"100007": "-25.00", "123457": "0.00"}


def accounts_balance(account_id: int) -> int:
    L = db.LedgerEntry
    return int(L.select(db.pw.fn.COALESCE(db.pw.fn.SUM(L.amount_cents), 0)).where(L.account == account_id).scalar())


def test_a_final_bill_on_the_day_of_a_regular_one_exports_and_converts_back(database, tmp_path):
    """A move's final bill posted the day of the account's regular bill (the demo makes such days)
    exports as a final bill with its own kWh and days, so the export converts back."""
    a = factories.account(bills=(10340,), status="closed")
    regular = db.LedgerEntry.get(db.LedgerEntry.account == a.id)
    db.LedgerEntry.create(account=a, effective=regular.effective, kind="bill", amount_cents=1769,
                          description="Final bill: 1,138 kWh, 5 days", reference="FINAL",
                          due_date=regular.due_date)
    out = tmp_path / "export"
    export.export_all(operators.create("sup", "Sue Pervisor", "supervisor"), out, TODAY)
    bills = list(csv.DictReader((out / "bills.csv").open()))
    assert [(b["kind"], b["amount"], b["kwh"]) for b in bills] == [("regular", "103.40", "800"),
                                                                    ("final", "17.69", "1138")]
    final = bills[1]
    day = regular.effective
    assert (final["period_start"], final["period_end"]) == ((day - dt.timedelta(days=5)).isoformat(),
                                                            day.isoformat())
    db.drop_all()
    db.migrate()
    checked = conversion.check(out)
    assert checked.ok, checked.problems[:3]
    conversion.load(operators.create("admin", "Ada Admin", "admin"), out)
    assert sorted((b.kind, b.total_cents, b.kwh) for b in db.Bill.select()) == [("final", 1769, 1138),
                                                                             ("regular", 10340, 800)]


def test_a_dry_run_on_a_database_not_yet_made_does_not_make_it(tmp_path, capsys):
    from kec_tui import cli

    good = tmp_path / "good"
    good_files(good)
    target = tmp_path / "coop.db"
    assert cli.main(["--db", str(target), "convert", str(good), "--dry-run"]) == 0
    assert "No problems" in capsys.readouterr().out
    assert not target.exists()
    db.database.close()


def test_account_numbers_kept_need_their_check_digit_renumber_gives_new_ones(database, admin, tmp_path):
    d = tmp_path / "in"
    good_files(d)
    for name in ("accounts.csv", "flags.csv", "deposits.csv", "balances.csv", "readings.csv", "bills.csv",
                 "notes.csv"):
        text = (d / name).read_text().replace("123457", "A-77")
        (d / name).write_text(text)
    r = conversion.check(d)
    assert [(p.file, p.line, p.column) for p in r.problems] == [("accounts.csv", 2, "account")]
    assert "check digit" in r.problems[0].message and "--renumber" in r.problems[0].message
    loaded = conversion.load(admin, d, renumber=True)
    assert len(loaded.renumbered) == 2
    new = dict(loaded.renumbered)["A-77"]
    assert valid_account_number(str(new))
    a = db.Account.get(db.Account.number == new)
    assert db.LegacyKey.get(db.LegacyKey.kind == "account", db.LegacyKey.legacy == "A-77").entity_id == a.id
    assert db.Reading.select().where(db.Reading.account == a.id).count() == 2
    # Again: the same numbers, nothing new.
    again = conversion.load(admin, d, renumber=True)
    assert not again.added and db.Account.select().count() == 2
    assert db.Account.get_by_id(a.id).number == new


def test_only_an_administrator_converts(database, msr, tmp_path):
    d = tmp_path / "in"
    good_files(d)
    with pytest.raises(PermissionDenied):
        conversion.load(msr, d)
    assert db.Account.select().count() == 0


def test_export_masks_bank_numbers_unless_sensitive_view_and_is_audited(database, msr, supervisor, tmp_path):
    acct = factories.account(bills=(12000,))
    db.Member.update(bank_routing="123104783", bank_account="9876543210").where(
        db.Member.id == acct.member_id).execute()
    masked = export.export_all(msr, tmp_path / "m", factories.PAID_ON)
    assert masked.masked and "audit_log.csv" not in masked.files
    text = (tmp_path / "m" / "members.csv").read_text()
    assert "9876543210" not in text and "****3210" in text and "***-**-1234" in text
    assert "123104783" not in text
    full = export.export_all(supervisor, tmp_path / "f", factories.PAID_ON)
    assert not full.masked and "9876543210" in (tmp_path / "f" / "members.csv").read_text()
    assert "audit_log.csv" in full.files
    actions = [(a.action, a.operator_id) for a in db.AuditLog.select().where(db.AuditLog.entity == "export")]
    assert actions == [("export", msr.id), ("sensitive.view", supervisor.id)]
    assert "password" not in (tmp_path / "f" / "operators.csv").read_text()
    # The masked export still converts; the bank number is left empty and said so.
    db.drop_all()
    db.migrate()
    admin = operators.create("admin", "Ada Admin", "admin")
    r = conversion.load(admin, tmp_path / "m")
    assert r.ok and any("masked" in w for w in r.warnings)
    assert db.Member.get().bank_account == ""


def test_the_command_line_dry_run_load_and_export(sqlite_db, tmp_path, capsys):
    from kec_tui import cli

    with pytest.raises(SystemExit):
        cli.main(["convert", "--help"])
    helped = capsys.readouterr().out
    assert all(name in helped for name in conversion.FILES) and "balances.csv   account*, as_of*" in helped
    operators.create("admin", "Ada Admin", "admin")
    bad = bad_dir(tmp_path)
    assert cli.main(["--db", sqlite_db, "convert", str(bad), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "accounts.csv line 3, column opened: not a date: '2020-13-01'" in out
    assert out.rstrip().endswith("problem(s); nothing was written. Correct the files and run again.")
    assert cli.main(["--db", sqlite_db, "--operator", "admin", "convert", str(bad)]) == 1
    capsys.readouterr()
    assert db.Account.select().count() == 0
    good = tmp_path / "good"
    good_files(good)
    assert cli.main(["--db", sqlite_db, "convert", str(good), "--dry-run"]) == 0
    assert "No problems" in capsys.readouterr().out and db.Account.select().count() == 0
    assert cli.main(["--db", sqlite_db, "--operator", "admin", "convert", str(good)]) == 0
    assert "Converted" in capsys.readouterr().out and db.Account.select().count() == 2
    assert cli.main(["--db", sqlite_db, "--operator", "admin", "export", str(tmp_path / "out"),
                     "--as-of", "2026-02-28"]) == 0
    assert "Exported" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "out" / "balances.csv").open()))
    assert {r["account"]: r["balance"] for r in rows} == {"123457": "350.00", "100007": "-25.00"}


def test_renumbering_refused_before_anything_is_written_when_its_mapping_cannot_be(sqlite_db, tmp_path, capsys):
    from kec_tui import cli

    operators.create("admin", "Ada Admin", "admin")
    d = tmp_path / "in"
    good_files(d)
    (d / "renumbered_accounts.csv").mkdir()
    assert cli.main(["--db", sqlite_db, "--operator", "admin", "convert", str(d), "--renumber"]) == 2
    assert "cannot be written" in capsys.readouterr().err and db.Account.select().count() == 0


def test_numbers_already_in_use_in_this_database_are_refused(database, admin, tmp_path):
    factories.account(base=12345, meter_no="300000002")      # account 123457, meter 300000002
    d = tmp_path / "in"
    good_files(d)
    before = counts()
    with pytest.raises(conversion.ConversionFailed) as e:
        conversion.load(admin, d)
    problems = {(p.file, p.line, p.column): p.message for p in e.value.result.problems}
    assert "already in use" in problems[("accounts.csv", 2, "account")]
    assert "already in use" in problems[("meters.csv", 3, "meter")]
    assert counts() == before


def test_a_masked_file_run_again_keeps_the_bank_numbers_and_tax_id_match_key(database, admin, tmp_path):
    d = tmp_path / "in"
    good_files(d)
    conversion.load(admin, d)
    m = db.Member.get(db.Member.member_no == 100001)
    write(d, "members.csv", [["member", "first_name", "last_name", "tax_id", "phone_home", "bank_routing",
                              "bank_account"],
                             ["100001", "Ada", "Lovelace", "***-**-3456", "2085550100", "****4783", "****9012"],
                             ["100002", "Grace", "Hopper", "", "", "", ""]])
    r = conversion.load(admin, d)
    assert not r.updated and any("masked" in w for w in r.warnings)
    again = db.Member.get_by_id(m.id)
    assert (again.bank_routing, again.bank_account, again.tax_id_hash) == (m.bank_routing, m.bank_account,
                                                                           m.tax_id_hash)
    assert m.bank_account == "123456789012" and m.tax_id_hash


def test_export_streams_rows_a_page_at_a_time(database):
    sql = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 12001) SELECT n FROM s"
    with db.database.atomic():
        assert [n for (n,) in export._stream(sql)] == list(range(1, 12002))
        early = export._stream(sql)
        assert next(early) == (1,)
        early.close()                           # left early: its cursor is closed, the next one works
        assert sum(1 for _ in export._stream(sql)) == 12001
