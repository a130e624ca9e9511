"""Lockbox imports: CSV and BAI2 checked whole, imported once, exceptions worked."""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pytest

from kec_tui import db
from kec_tui.checkdigit import make_account_number
from kec_tui.services import accounts, batches, lockbox, operators
from kec_tui.services.errors import PermissionDenied, ServiceError, ValidationError
from tests import factories


def _accounts(n=3, **kw):
    return [factories.account(bills=(10000,), **kw) for _ in range(n)]


def _bad_digit(number: int) -> str:
    return str(number)[:-1] + str((number + 1) % 10)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---- BAI2 sample files, generated -------------------------------------------------

def bai2_text(details, *, summary=True, tamper=None, as_of="250110") -> str:
    """details: (account text, cents, check no., payer). One group, one account.
    `tamper` changes a trailer field: ('49'|'98'|'99', index, delta)."""
    total = sum(c for _, c, _, _ in details)
    recs = ["01,KECBANK,KEC," + as_of + ",0800,FILE1,80,,2/",
            "02,KEC,KECBANK,1," + as_of + ",0800,USD,2/"]
    acct = [f"03,000123456789,USD,100,{total},{len(details)},0/" if summary else "03,000123456789,USD/"]
    for i, (account, cents, check, payer) in enumerate(details, start=1):
        if i == 2:   # a detail with funds type S and its text on an 88 continuation
            acct.append(f"16,115,{cents},S,{cents},0,0,LBX{i:04d},{account}/")
            acct.append(f"88,CHECK {check} {payer}")
        elif i == 3:  # funds type V (value date, time)
            acct.append(f"16,206,{cents},V,{as_of},,LBX{i:04d},{account},CHK# {check} {payer}")
        else:
            acct.append(f"16,115,{cents},0,LBX{i:04d},{account},CHECK {check} {payer}")
    acct_total = total * (2 if summary else 1)
    trailers = {"49": [acct_total, len(acct) + 1], "98": [acct_total, 1, len(acct) + 3],
                "99": [acct_total, 1, len(acct) + 5]}
    if tamper:
        code, idx, delta = tamper
        trailers[code][idx] += delta
    acct.append("49," + ",".join(map(str, trailers["49"])) + "/")
    return "\n".join(recs + acct + ["98," + ",".join(map(str, trailers["98"])) + "/",
                                    "99," + ",".join(map(str, trailers["99"])) + "/"]) + "\n"


def csv_text(rows, header="Account,Amount,Check Number,Payment Date,Payer Name", total_row=None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")       # as banks send it
    w.writerow(header.split(","))
    w.writerows(rows)
    if total_row is not None:
        w.writerow(["TOTAL", total_row] + [""] * (len(header.split(",")) - 2))
    return buf.getvalue()


# ---- good files ----------------------------------------------------------------------

def test_good_csv_makes_a_balanced_batch_and_queues_the_unknown(database, msr, tmp_path):
    a, b, c = _accounts()
    rows = [(str(a.number), "123.45", "1001", "01/09/2025", "Ada Lovelace"),
            (str(b.number), "$1,000.00", "1002", "2025-01-09", "Grace Hopper"),
            ("123457", "50.00", "1003", "01/09/2025", "Nobody Known"),          # valid digit, no account
            (_bad_digit(c.number), "75.10", "1004", "01/09/2025", "Mis Keyed"),   # bad check digit
            (str(c.number), "0.99", "", "", "")]
    path = write(tmp_path, "lockbox-20250109.csv", csv_text(rows, total_row="1249.54"))
    r = lockbox.import_file(msr, path)
    assert (r.format, r.record_count, r.total_cents) == ("csv", 5, 124954)
    assert (r.matched_count, r.matched_total_cents, r.exception_count, r.exception_total_cents) == \
           (3, 12345 + 100000 + 99, 2, 5000 + 7510)
    batch = batches.get_batch(r.batch_id)
    assert (batch.tender, batch.source, batch.status, batch.control_count, batch.count) == \
           ("lockbox", "imported", "balanced", 3, 3)
    lines = batches.lines(r.batch_id)
    assert [(ln.account_id, ln.amount_cents, ln.check_no, ln.source) for ln in lines] == \
           [(a.id, 12345, "1001", "imported"), (b.id, 100000, "1002", "imported"), (c.id, 99, "", "imported")]
    xs = lockbox.list_exceptions()
    assert [(x.account_text, x.amount_cents, x.record_no, x.payer_name) for x in xs] == \
           [("123457", 5000, 4, "Nobody Known"), (_bad_digit(c.number), 7510, 5, "Mis Keyed")]
    assert "no account 123457" in xs[0].reason and "check digit" in xs[1].reason
    assert xs[0].payment_date == dt.date(2025, 1, 9) and xs[0].filename == "lockbox-20250109.csv"
    batches.post_batch(msr, r.batch_id)
    assert accounts.balance(a.id) == 10000 - 12345


def test_good_bai2(database, msr, tmp_path):
    a, b, c = _accounts()
    details = [(str(a.number), 12345, "5001", "ADA LOVELACE"), (str(b.number), 2500, "5002", "GRACE HOPPER"),
               (f"{c.number:010d}", 99999, "5003", "ALAN TURING"), ("999", 1000, "5004", "UNKNOWN")]
    path = write(tmp_path, "bai.txt", bai2_text(details))
    r = lockbox.import_file(msr, path, post=True)
    assert (r.format, r.record_count, r.total_cents, r.matched_count, r.exception_count, r.posted) == \
           ("bai2", 4, 12345 + 2500 + 99999 + 1000, 3, 1, True)
    batch = batches.get_batch(r.batch_id)
    assert batch.status == "posted" and batch.batch_date == dt.date(2025, 1, 10)
    got = [(ln.account_id, ln.amount_cents, ln.check_no) for ln in batches.lines(r.batch_id)]
    assert got == [(a.id, 12345, "5001"), (b.id, 2500, "5002"), (c.id, 99999, "5003")]
    x = lockbox.list_exceptions()[0]
    assert (x.account_text, x.amount_cents, x.check_no, x.payer_name, x.record_no) == \
           ("999", 1000, "5004", "UNKNOWN", 8)
    pays = db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment")
    assert sorted(p.amount_cents for p in pays) == [-99999, -12345, -2500]


def test_bai2_parser_reads_continuations_and_funds_types():
    parsed = lockbox.parse_bai2(bai2_text([("1234", 100, "1", "A B"), ("5678", 200, "22", "C D"),
                                           ("9012", 300, "333", "E F")], summary=False))
    assert [(p.account_text, p.amount_cents, p.check_no, p.payer_name, p.bank_ref) for p in parsed.payments] == \
           [("1234", 100, "1", "A B", "LBX0001"), ("5678", 200, "22", "C D", "LBX0002"),
            ("9012", 300, "333", "E F", "LBX0003")]
    assert parsed.total_cents == 600 and parsed.as_of == dt.date(2025, 1, 10)


def test_csv_mapping_setting(database, msr, tmp_path):
    a, = _accounts(1)
    text = csv_text([(str(a.number), "10.00", "77")], header="Cust Ref,Pmt Amt,Serial")
    with pytest.raises(lockbox.ImportRefused, match="must name amount column"):
        lockbox.parse_csv(text)
    mapping = {"account": "Cust Ref", "amount": "Pmt Amt", "check_no": "Serial"}
    parsed = lockbox.parse_csv(text, mapping)
    assert [(p.account_text, p.amount_cents, p.check_no) for p in parsed.payments] == [(str(a.number), 1000, "77")]
    with pytest.raises(lockbox.ImportRefused, match="no column 'Amount Paid'"):
        lockbox.parse_csv(text, {"account": "Cust Ref", "amount": "Amount Paid"})

    class S:
        lockbox_csv_columns = mapping
    r = lockbox.import_file(msr, write(tmp_path, "x.csv", text), lockbox.mapping_from_settings(S()))
    assert r.matched_count == 1


# ---- refused files ---------------------------------------------------------------------

@pytest.mark.parametrize("tamper,needle", [
    (("49", 0, 1), r"Record 8 \(49\): account 000123456789 control total"),
    (("49", 1, -1), r"Record 8 \(49\): account 000123456789 says 5 records but has 6"),
    (("98", 0, -100), r"Record 9 \(98\): group control total"),
    (("98", 1, 1), r"Record 9 \(98\): group says 2 accounts"),
    (("98", 2, 1), r"Record 9 \(98\): group says 9 records but has 8"),
    (("99", 0, 5), r"Record 10 \(99\): file control total"),
    (("99", 1, 1), r"Record 10 \(99\): file says 2 groups"),
    (("99", 2, -2), r"Record 10 \(99\): file says 8 records but has 10"),
])
def test_bai2_totals_that_do_not_match_refuse_the_whole_file(database, msr, tmp_path, tamper, needle):
    a, b = _accounts(2)
    details = [(str(a.number), 100, "1", "X"), (str(b.number), 200, "2", "Y"), ("123457", 300, "3", "Z")]
    path = write(tmp_path, "bad.bai", bai2_text(details, tamper=tamper))
    with pytest.raises(lockbox.ImportRefused, match=needle):
        lockbox.import_file(msr, path)
    assert db.PaymentImport.select().count() == 0 and db.PaymentBatch.select().count() == 0
    assert db.PaymentException.select().count() == 0 and db.BatchLine.select().count() == 0


@pytest.mark.parametrize("text,needle", [
    ("", "empty"),
    ("\n\n", "empty"),
    ("hello world\n", "Not a bank file"),
    ("Account,Check\n123457,1\n", "must name amount"),
    ("Account,Amount\n", "no payments"),
    ("Account,Amount\n123457,12345\n", r"Line 2: amount '12345' is not dollars with a decimal point"),
    ("Account,Amount\n123457,12.3\n", "not dollars"),
    ("Account,Amount\n123457,-5.00\n", "negative"),
    ("Account,Amount\n123457,0.00\n", "zero"),
    ("Account,Amount,Check\n123457,5.00\n", "Line 2 has 2 fields; the header has 3"),
    ("Account,Amount,Date\n123457,5.00,13/45/2025\n", "Line 2: date '13/45/2025'"),
    ("Account,Amount\n123457,5.00\nTOTAL,6.00\n", r"Line 3 \(total row\): the file says \$6.00"),
    ("Account,Amount\nTOTAL,0.00\n123457,5.00\n", "after the total row"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,115,100,0,R,123457,X\n",
     "ends without its 99 trailer"),
    ("01,A,B,250110,0800,1,80,,2/\n16,115,100,0,R,123457,X\n99,100,0,3/\n", r"Record 2 \(16\): transaction "
                                                                             "detail outside an account"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,15,100,0,R,123457,X\n",
     r"Record 4 \(16\): type code '15' is not three digits"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,115,100,X,R,123457,X\n",
     r"Record 4 \(16\): unknown funds type 'X'"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,115,100,V,,,R,123457,X\n",
     r"Record 4 \(16\): funds type V without its value date"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,4,250110,0800,USD,2/\n", r"group status 4 \(test only\)"),
    ("01,A,B,250110,0800,1,80,,3/\n", "BAI version '3': only version 2"),
    ("01,A,B,250110,25:00,1,80,,2/\n", r"Record 1 \(01\): file creation time '25:00' is not a time"),
    ("01,A,B,250110,0800,,80,,2/\n", "needs the sender, receiver, creation date and file id"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD,010,500,,,,015,400,,/\n",
     r"Record 3 \(03\): an amount without its type code"),
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,115,1x0,0,R,123457,X\n",
     r"Record 4 \(16\): amount '1x0'"),
    ("01,A,B,250110,0800,1,80,,2/\n77,junk/\n", "unknown BAI2 record type '77'"),
])
def test_malformed_files_are_refused_with_a_clear_message(database, msr, tmp_path, text, needle):
    path = write(tmp_path, "in.txt", text)
    with pytest.raises(lockbox.ImportRefused, match=needle):
        lockbox.import_file(msr, path)
    assert db.PaymentImport.select().count() == 0


def test_binary_and_missing_files(database, msr, tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01PK\x03\x04")
    with pytest.raises(lockbox.ImportRefused, match="not a text file"):
        lockbox.import_file(msr, p)
    with pytest.raises(lockbox.ImportRefused, match="Cannot read"):
        lockbox.import_file(msr, tmp_path / "nope.csv")


def test_the_same_file_twice_is_refused(database, msr, tmp_path):
    a, = _accounts(1)
    text = csv_text([(str(a.number), "10.00", "1", "", "")])
    lockbox.import_file(msr, write(tmp_path, "one.csv", text))
    with pytest.raises(lockbox.DuplicateImport, match="already imported as one.csv"):
        lockbox.import_file(msr, write(tmp_path, "renamed.csv", text))
    assert db.PaymentImport.select().count() == 1 and db.BatchLine.select().count() == 1


def test_billing_may_import_but_collections_may_not(database, tmp_path):
    billing = operators.create("bill1", "Bea", "billing")
    coll = operators.create("coll1", "Cole", "collections")
    a, = _accounts(1)
    path = write(tmp_path, "f.csv", csv_text([(str(a.number), "10.00", "1", "", "")]))
    with pytest.raises(PermissionDenied):
        lockbox.import_file(coll, path)
    r = lockbox.import_file(billing, path, post=True)
    assert r.posted


# ---- the exceptions queue ------------------------------------------------------------------

def test_exceptions_are_worked_into_an_exceptions_batch(database, msr, tmp_path):
    a, b, closed = _accounts(3)
    db.Account.update(status="closed").where(db.Account.id == closed.id).execute()
    rows = [("123457", "50.00", "1", "", "Found Later"), ("", "20.00", "2", "", "No Number"),
            (str(closed.number), "30.00", "3", "", "Moved Away"), ("abc", "40.00", "4", "", "Junk")]
    r = lockbox.import_file(msr, write(tmp_path, "x.csv", csv_text(rows)))
    assert r.batch_id is None and r.exception_count == 4
    xs = lockbox.list_exceptions()
    assert [x.reason for x in xs] == ["no account 123457", "no account number",
                                      f"account {closed.number} is closed", "account 'abc' is not digits"]
    with pytest.raises(ValidationError, match="check digit"):
        lockbox.resolve_exception(msr, xs[0].id, _bad_digit(a.number))
    line = lockbox.resolve_exception(msr, xs[0].id, str(a.number))
    assert (line.account_id, line.amount_cents, line.check_no, line.source) == (a.id, 5000, "1", "imported")
    eb = batches.get_batch(line.batch_id)
    assert (eb.source, eb.status, eb.control_count, eb.control_total_cents) == ("exceptions", "open", 1, 5000)
    with pytest.raises(ServiceError, match="already applied"):
        lockbox.resolve_exception(msr, xs[0].id, str(b.number))
    line2 = lockbox.resolve_exception(msr, xs[1].id, str(b.number))
    assert line2.batch_id == eb.id
    with pytest.raises(batches.LineWarningsError):
        lockbox.resolve_exception(msr, xs[2].id, str(closed.number))
    assert lockbox.get_exception(xs[2].id).status == "open"            # refused: nothing changed
    line3 = lockbox.resolve_exception(msr, xs[2].id, str(closed.number), ack=["closed_account"],
                                      reason="refund to new address")
    assert line3.unapplied
    with pytest.raises(ValidationError, match="reason"):
        lockbox.return_exception(msr, xs[3].id, " ")
    returned = lockbox.return_exception(msr, xs[3].id, "not ours: returned to the bank")
    assert (returned.status, returned.resolved_by) == ("returned", "msr1")
    with pytest.raises(ServiceError, match="already returned"):
        lockbox.return_exception(msr, xs[3].id, "again")
    assert lockbox.list_exceptions() == []
    assert [x.status for x in lockbox.list_exceptions(status=None)] == ["applied", "applied", "applied", "returned"]
    t = batches.batch_totals(eb.id)
    assert t.balanced and (t.count, t.total_cents) == (3, 10000)
    batches.post_batch(msr, eb.id)
    assert accounts.balance(a.id) == 10000 - 5000
    # the next exception worked opens a new exceptions batch
    rows2 = [("123457", "1.00", "9", "", "")]
    lockbox.import_file(msr, write(tmp_path, "y.csv", csv_text(rows2)))
    x = lockbox.list_exceptions()[0]
    assert lockbox.resolve_exception(msr, x.id, str(a.number)).batch_id != eb.id


def test_exception_into_a_chosen_batch(database, msr, tmp_path):
    a, = _accounts(1)
    r = lockbox.import_file(msr, write(tmp_path, "x.csv", csv_text([("123457", "5.00", "", "", ""),
                                                                    (str(a.number), "7.00", "", "", "")])))
    x = lockbox.list_exceptions()[0]
    line = lockbox.resolve_exception(msr, x.id, str(a.number), batch_id=r.batch_id)
    assert line.batch_id == r.batch_id and line.seq == 2
    t = batches.batch_totals(r.batch_id)
    assert (t.count, t.total_cents, t.control_count) == (2, 1200, 1)     # controls of an import batch stay


def test_big_numbers_of_accounts_match_in_chunks(database, msr, tmp_path):
    accts = _accounts(3)
    rows = [(str(accts[i % 3].number), f"{1 + i}.00", str(i), "", "") for i in range(lockbox.CHUNK + 20)]
    rows.append((str(make_account_number(99999)), "1.00", "x", "", ""))
    r = lockbox.import_file(msr, write(tmp_path, "many.csv", csv_text(rows)))
    assert (r.matched_count, r.exception_count) == (lockbox.CHUNK + 20, 1)
    assert batches.batch_totals(r.batch_id).balanced


# ---- files as US banks write them ------------------------------------------------------------
# Balances and summaries on the 03 continued by 88s; ACH credits with the customer
# reference on an 88; a lockbox check with funds type V (value date and a time with a
# colon); an incoming wire with availability S and no reference; two fee debits; a
# colon in the 01 time; a blank 99 total. The totals were added up by hand:
#   03 amounts 1,250,000 + 1,446,140 + 1,250,000 + 1,296,140 + 201,840 + 5,700 = 5,449,820
#   16 amounts 32,500 + 12,345 + 4,500 + 6,995 + 150,000 + 1,200 = 207,540 (S amounts are not added)
#   49 = 5,449,820 + 207,540 = 5,657,360
US_BANK_BAI2 = """\
01,121000248,KOOTENAIEC,250110,08:30,0110A,80,1,2/
02,KOOTENAIEC,121000248,1,250109,2400,USD,2/
03,4159876543,USD,010,+1250000,,,015,+1446140,,/
88,040,1250000,,,045,+1296140,,,100,201840,4,/
88,400,5700,2,/
16,165,32500,0,ACH0001/
88,{a},PPD ELECTRIC BILL ADA LOVELACE
16,115,12345,V,250110,08:00,LBX0002,{b}/
88,CHECK 5001 GRACE HOPPER
16,475,4500,0,FEE0003,,ACCOUNT ANALYSIS FEE/
16,169,6995,Z,ACH0004,{c}/
88,WEB ONLINE PMT ALAN TURING
16,195,150000,S,100000,50000,0,FW0005,,ACME SOLAR LLC/
16,698,1200,0,FEE0006,,INCOMING WIRE FEE/
49,+5657360,13/
98,5657360,1,15/
99,,1,17/
"""


def us_bank_file(accts, **replace) -> str:
    text = US_BANK_BAI2.format(a=accts[0].number, b=accts[1].number, c=accts[2].number)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_a_us_bank_bai2_file_imports_with_its_debits_skipped_and_reported(database, msr, tmp_path):
    a, b, c = _accounts()
    r = lockbox.import_file(msr, write(tmp_path, "bank.bai", us_bank_file((a, b, c))))
    assert (r.format, r.record_count, r.total_cents) == ("bai2", 4, 32500 + 12345 + 6995 + 150000)
    assert (r.matched_count, r.matched_total_cents, r.exception_count, r.exception_total_cents) == \
           (3, 32500 + 12345 + 6995, 1, 150000)
    assert lockbox.skipped_lines(r) == [
        "Not payments, skipped: 2 $57.00 (fees, transfers and other debits)",
        "  Record 10: $45.00 debit (type 475), FEE0003, ACCOUNT ANALYSIS FEE",
        "  Record 14: $12.00 debit (type 698), FEE0006, INCOMING WIRE FEE"]
    batch = batches.get_batch(r.batch_id)
    assert (batch.status, batch.batch_date, batch.control_total_cents) == ("balanced", dt.date(2025, 1, 9), 51840)
    assert [(ln.account_id, ln.amount_cents, ln.check_no) for ln in batches.lines(r.batch_id)] == \
           [(a.id, 32500, ""), (b.id, 12345, "5001"), (c.id, 6995, "")]
    x, = lockbox.list_exceptions()
    assert (x.record_no, x.account_text, x.amount_cents, x.payer_name, x.reason) == \
           (13, "", 150000, "ACME SOLAR LLC", "no account number")
    assert db.PaymentImport.get_by_id(r.import_id).bank_file_id == "121000248|KOOTENAIEC|250110|0830|0110A"
    assert "skipped 2 not payments 57.00" in db.AuditLog.select().order_by(db.AuditLog.id.desc()).first().after


def test_the_payers_and_references_of_a_us_bank_file():
    parsed = lockbox.parse_bai2(us_bank_file([type("A", (), {"number": n}) for n in (1230, 4561, 7892)]))
    assert [(p.record_no, p.account_text, p.amount_cents, p.check_no, p.payer_name, p.bank_ref)
            for p in parsed.payments] == [
        (6, "1230", 32500, "", "PPD ELECTRIC BILL ADA LOVELACE", "ACH0001"),
        (8, "4561", 12345, "5001", "GRACE HOPPER", "LBX0002"),
        (11, "7892", 6995, "", "WEB ONLINE PMT ALAN TURING", "ACH0004"),
        (13, "", 150000, "", "ACME SOLAR LLC", "FW0005")]
    assert [(s.record_no, s.type_code, s.amount_cents, s.why) for s in parsed.skipped] == \
           [(10, 475, 4500, "debit (type 475)"), (14, 698, 1200, "debit (type 698)")]
    assert parsed.as_of == dt.date(2025, 1, 9)


def test_an_03_split_across_88s_with_signed_balances_and_d_availability():
    # The 03's summaries break between a type code and its amount; a negative balance;
    # funds type D (two distributions) whose amounts are not in the control total.
    text = ("01,BANK,KEC,250110,0800,7,,,2/\n02,KEC,BANK,1,250110,,,2/\n"
            "03,9876543210,,010,-500000,,,100,1000000,,,400,2000000,,,190/\n"
            "88,500000,,,110,1000000,,,072,500000,,,074,500000,,,040/\n88,-1500000,,/\n"
            "16,115,500000,D,2,0,200000,1,300000,LBX1,1230,LOCK BOX NO.68751\n"
            "49,4000000,5/\n98,4000000,1,7/\n99,4000000,1,9/\n")
    parsed = lockbox.parse_bai2(text)
    assert [(p.account_text, p.amount_cents, p.payer_name) for p in parsed.payments] == \
           [("1230", 500000, "LOCK BOX NO.68751")]
    with pytest.raises(lockbox.ImportRefused, match=r"Record 7 \(49\): account 9876543210 control total "
                                                    r"45,000.00 but its records add to 40,000.00"):
        lockbox.parse_bai2(text.replace("49,4000000", "49,4500000"))


@pytest.mark.parametrize("old,new,needle", [
    ("02,KOOTENAIEC,121000248,1,250109,2400,USD,2/", "02,KOOTENAIEC,121000248,1,250109,2400,CAD,2/",
     r"Record 2 \(02\): the group is in CAD, not US dollars \(USD\)"),
    ("03,4159876543,USD,", "03,4159876543,EUR,", r"Record 3 \(03\): the account is in EUR, not US dollars"),
    ("16,169,6995,", "16,169,12345678901234567890,",
     r"Record 11 \(16\): amount '12345678901234567890' has 20 digits: too large for the ledger "
     r"\(at most \$9,999,999,999,999.99\)"),
    ("49,+5657360,13/", "49,+99999999999999999999,12/", r"Record 15 \(49\): account control total "
                                                        r"'\+99999999999999999999' has 20 digits"),
    ("99,,1,17/", "99,,1,12345678901234567890/", r"Record 17 \(99\): number of records '12345678901234567890' "
                                                 r"is too large"),
    ("98,5657360,1,15/", "98,5657361,1,15/", r"Record 16 \(98\): group control total"),
    ("16,165,32500,0,ACH0001/", "16,165,32500,0,ACH0001,123456789012345678901234567890123456789012/",
     r"Record 6 \(16\): customer reference '12345678901234567890'... has 42 characters"),
])
def test_us_bank_files_that_are_refused_whole(database, msr, tmp_path, old, new, needle):
    accts = _accounts()
    text = us_bank_file(accts)
    assert old in text
    with pytest.raises(lockbox.ImportRefused, match=needle):
        lockbox.import_file(msr, write(tmp_path, "bank.bai", text.replace(old, new)))
    assert db.PaymentImport.select().count() == 0 and db.BatchLine.select().count() == 0
    assert db.PaymentException.select().count() == 0


def test_blank_trailer_totals_are_read_and_the_counts_still_checked(database, msr, tmp_path):
    accts = _accounts()
    text = us_bank_file(accts, **{"98,5657360,1,15/": "98,,1,15/"})
    assert lockbox.import_file(msr, write(tmp_path, "bank.bai", text)).matched_count == 3
    with pytest.raises(lockbox.ImportRefused, match=r"Record 17 \(99\): file says 16 records but has 17"):
        lockbox.parse_bai2(text.replace("99,,1,17/", "99,,1,16/"))


def test_the_same_bank_file_with_crlf_or_80_column_records_is_the_same_file(database, msr, tmp_path):
    accts = _accounts()
    text = us_bank_file(accts)
    lockbox.import_file(msr, write(tmp_path, "bank.bai", text))
    padded = "".join(line.ljust(80) + "\r\n" for line in text.splitlines())
    crlf = tmp_path / "bank-crlf.bai"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    for path in (crlf, write(tmp_path, "bank-80.bai", padded)):
        with pytest.raises(lockbox.DuplicateImport, match="This file was already imported as bank.bai on"):
            lockbox.import_file(msr, path)
    # the same 01 record (sender, receiver, created, file id) with other content: the same bank file
    resent = text.replace("02,KOOTENAIEC,121000248,1,250109,2400", "02,KOOTENAIEC,121000248,1,250109,2359")
    with pytest.raises(lockbox.DuplicateImport, match=r"The bank's file 0110A \(same sender, receiver, creation "
                                                      r"date and time\) was already imported as bank.bai"):
        lockbox.import_file(msr, write(tmp_path, "resent.bai", resent))
    # 08:30 and 0830 are the same creation time
    with pytest.raises(lockbox.DuplicateImport):
        lockbox.import_file(msr, write(tmp_path, "colon.bai", resent.replace("08:30", "0830")))
    # the next day's file (a new file id) is a new file
    nxt = text.replace("08:30,0110A", "08:30,0111A")
    assert lockbox.import_file(msr, write(tmp_path, "next.bai", nxt)).matched_count == 3
    assert db.PaymentImport.select().count() == 2 and db.BatchLine.select().count() == 6


def test_the_same_csv_with_other_line_endings_and_blanks_is_the_same_file(database, msr, tmp_path):
    a, = _accounts(1)
    text = f"Account,Amount,Check Number\n{a.number},10.00,77\n"
    lockbox.import_file(msr, write(tmp_path, "one.csv", text))
    again = tmp_path / "two.csv"
    again.write_bytes(f"\ufeffAccount , Amount,Check Number  \r\n {a.number},10.00 ,77\r\n\r\n".encode())
    with pytest.raises(lockbox.DuplicateImport, match="already imported as one.csv"):
        lockbox.import_file(msr, again)
    assert db.BatchLine.select().count() == 1


@pytest.mark.parametrize("row,needle", [
    ("{a},123456789012345678.90,1", r"Line 2: amount '123456789012345678.90' is too large for the ledger"),
    ("{a},10.00,123456789012345678901", r"Line 2: check number '123456789012345678901' is longer than 20"),
    ("12345678901234567890123456789012345678901,10.00,1", r"Line 2: account '12345678901234567890'... has 41"),
])
def test_csv_numbers_beyond_their_columns_are_refused(database, msr, tmp_path, row, needle):
    a, = _accounts(1)
    text = "Account,Amount,Check Number\n" + row.format(a=a.number) + "\n"
    with pytest.raises(lockbox.ImportRefused, match=needle):
        lockbox.import_file(msr, write(tmp_path, "big.csv", text))
    assert db.PaymentImport.select().count() == 0


def test_a_20_digit_account_reference_is_an_exception_not_an_overflow(database, msr, tmp_path):
    number = str(make_account_number(1234567890123456789))          # 20 digits, a valid check digit
    r = lockbox.import_file(msr, write(tmp_path, "x.csv", f"Account,Amount\n{number},5.00\n"))
    assert (r.matched_count, r.exception_count) == (0, 1)
    assert lockbox.list_exceptions()[0].reason == f"account {number} is too long for an account number"


def test_a_number_the_database_cannot_hold_is_refused_not_a_traceback(database, msr, tmp_path, monkeypatch):
    # Past the parser's bounds (lifted here), the database's own overflow is still a refusal.
    monkeypatch.setattr(lockbox, "MAX_AMOUNT_DIGITS", 25)
    monkeypatch.setattr(lockbox, "MAX_AMOUNT_CENTS", 10 ** 25 - 1)
    monkeypatch.setattr(lockbox, "MAX_LEDGER_CENTS", 10 ** 25)
    with pytest.raises(lockbox.ImportRefused, match="A number in big.csv is too large for the database: "
                                                    "nothing applied"):
        lockbox.import_file(msr, write(tmp_path, "big.csv", "Account,Amount\n123457,123456789012345678.90\n"))
    assert db.PaymentImport.select().count() == 0 and db.PaymentException.select().count() == 0


def test_cli_prints_the_report_and_refuses_in_one_line(database, msr, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KEC_TUI_CONFIG", str(tmp_path / "none.toml"))
    from kec_tui import cli
    accts = _accounts()
    args = ["--db", database, "--operator", "msr1", "import-payments"]
    big = write(tmp_path, "big.bai", us_bank_file(accts).replace("16,169,6995,", "16,169,12345678901234567890,"))
    assert cli.main(args + [str(big)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"kec-tui: {big}: refused, nothing applied: Record 11 (16): amount "
                                 f"'12345678901234567890' has 20 digits: too large for the ledger "
                                 f"(at most $9,999,999,999,999.99)\n")
    good = write(tmp_path, "bank.bai", us_bank_file(accts))
    assert cli.main(args + [str(good)]) == 0
    number = batches.list_batches()[0].number
    assert capsys.readouterr().out.splitlines() == [
        "Imported bank.bai (BAI2): 4 payments $2,018.40",
        f"  Batch {number}: 3 matched $518.40, balanced, to post (batch list F3, or --post)",
        "  Exceptions: 1 $1,500.00 to work (batch list F3, then Lockbox F7)",
        "  Not payments, skipped: 2 $57.00 (fees, transfers and other debits)",
        "    Record 10: $45.00 debit (type 475), FEE0003, ACCOUNT ANALYSIS FEE",
        "    Record 14: $12.00 debit (type 698), FEE0006, INCOMING WIRE FEE"]
    crlf = tmp_path / "bank-crlf.bai"
    crlf.write_bytes(us_bank_file(accts).replace("\n", "\r\n").encode())
    assert cli.main(args + [str(crlf)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused, nothing applied: This file was already imported as bank.bai" in err


def test_the_readme_csv_example_reads():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("    Account,Amount,Check Number,Payment Date,Payer Name")
    example = "\n".join(ln.strip() for ln in readme[start:].split("\n\n")[0].splitlines())
    parsed = lockbox.parse_csv(example)
    assert [(p.account_text, p.amount_cents, p.check_no, p.payment_date, p.payer_name) for p in parsed.payments] \
        == [("1000771", 12345, "1001", dt.date(2025, 1, 9), "Ada Lovelace")]


def test_a_file_of_fees_and_other_details_only_imports_nothing_and_says_why(database, msr, tmp_path):
    text = ("01,121000248,KOOTENAIEC,250110,0830,0110B,,,2/\n02,KOOTENAIEC,121000248,1,250109,,USD,2/\n"
            "03,4159876543,USD,400,2500,1,/\n16,475,2500,0,FEE1,,MONTHLY SERVICE FEE/\n"
            "16,115,0,0,LBX2,1230/\n16,901,700,,BANK3,,BANK DEFINED/\n49,5700,5/\n98,5700,1,7/\n99,5700,1,9/\n")
    r = lockbox.import_file(msr, write(tmp_path, "fees.bai", text))
    assert (r.record_count, r.total_cents, r.batch_id, r.exception_count) == (0, 0, None, 0)
    assert lockbox.skipped_lines(r) == [
        "Not payments, skipped: 3 $32.00",
        "  Record 4: $25.00 debit (type 475), FEE1, MONTHLY SERVICE FEE",
        "  Record 5: $0.00 zero amount, LBX2, 1230",
        "  Record 6: $7.00 type 901 is neither a credit nor a debit, BANK3, BANK DEFINED"]
    with pytest.raises(lockbox.DuplicateImport):          # known, so not imported twice either
        lockbox.import_file(msr, write(tmp_path, "fees-again.bai", text))
    assert db.PaymentBatch.select().count() == 0


def test_an_import_from_a_thread_without_a_connection_and_the_open_count(database, msr, tmp_path):
    """The lockbox screen imports on a worker thread: import_file opens that thread's connection."""
    a, = _accounts(1)
    rows = [(str(a.number), "10.00", "1", "", "Ada"), ("123457", "5.00", "2", "", "Nobody"),
            ("", "6.00", "3", "", "No Number")]
    path = write(tmp_path, "thread.csv", csv_text(rows))
    out = []
    t = threading.Thread(target=lambda: out.append(lockbox.import_file(msr, path)))
    t.start()
    t.join(30)
    assert [(r.matched_count, r.exception_count) for r in out] == [(1, 2)]
    assert lockbox.open_exception_count() == 2
    x = lockbox.list_exceptions()[0]
    lockbox.return_exception(msr, x.id, "not ours")
    assert lockbox.open_exception_count() == 1
