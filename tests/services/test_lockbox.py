"""Lockbox imports: CSV and BAI2 checked whole, imported once, exceptions worked."""
from __future__ import annotations

import csv
import datetime as dt
import io

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
    ("01,A,B,250110,0800,1,80,,2/\n02,B,A,1,250110,0800,USD,2/\n03,1,USD/\n16,475,100,0,R,123457,X\n"
     "49,100,3/\n98,100,1,5/\n99,100,1,7/\n", "type code 475 is not a credit"),
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
