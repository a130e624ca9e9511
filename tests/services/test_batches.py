"""Mail payment batches: states, keying, warnings, corrections, balancing, posting once, reports."""
from __future__ import annotations

import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from peewee import fn

from kec_tui import db
from kec_tui.checkdigit import make_scan_line
from kec_tui.services import accounts, audit, batches, operators, reports
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories
from tests.support.pdf import pdf_text


def _acct(**kw):
    kw.setdefault("bills", (12345,))
    return factories.account(**kw)


def _batch(op, count=2, total=20000, tender="check"):
    return batches.open_batch(op, tender, count, total)


# ---- opening and states ------------------------------------------------------------

def test_open_assigns_numbers_and_lists_by_status(database, msr):
    b1 = _batch(msr)
    b2 = _batch(msr, 5, 100000, "cash")
    assert (b1.number, b2.number) == (batches.BATCH_NUMBER_START, batches.BATCH_NUMBER_START + 1)
    assert ((b1.status, b1.operator, b1.count, b1.control_count, b1.batch_date)
            == ("open", "msr1", 0, 2, dt.date.today()))
    assert [b.number for b in batches.list_batches()] == [b2.number, b1.number]
    assert batches.list_batches(status="posted") == []
    assert len(batches.list_batches(status=batches.EDITABLE)) == 2


@pytest.mark.parametrize("tender,count,total,field", [
    ("card", 1, 100, "tender"), ("check", 0, 100, "control_count"), ("check", 2, 0, "control_total"),
    ("check", 1, batches.MAX_LINE_CENTS + 1, "control_total"), ("check", -1, 100, "control_count"),
])
def test_open_validates_the_tape(database, msr, tender, count, total, field):
    with pytest.raises(ValidationError) as e:
        batches.open_batch(msr, tender, count, total)
    assert e.value.field == field


def test_billing_may_not_key(database):
    billing = operators.create("bill1", "Bea Biller", "billing")
    with pytest.raises(PermissionDenied):
        batches.open_batch(billing, "check", 1, 100)


# ---- the account field, amounts, scan lines ------------------------------------------

def test_account_info_for_entry(database, msr):
    a = _acct(first="Ada", last="Lovelace", street="1 Main St", city="Hayden",
              cash_only_until=dt.date.today() + dt.timedelta(days=30))
    info = batches.account_info_for_entry(str(a.number))
    assert (info.account_id, info.name, info.service_address, info.amount_due_cents, info.status) == \
           (a.id, "Lovelace, Ada", "1 Main St, Hayden", 12345, "active")
    assert info.cash_only and any("CASH ONLY" in f for f in info.flags)
    bad = str(a.number)[:-1] + str((a.number % 10 + 1) % 10)
    with pytest.raises(ValidationError, match="check digit") as e:
        batches.account_info_for_entry(bad)
    assert e.value.field == "account"
    with pytest.raises(NotFound, match="No account"):
        batches.account_info_for_entry("123457")
    with pytest.raises(ValidationError, match="digits only"):
        batches.account_info_for_entry("12a45")


def test_a_keyed_line_is_returned_as_it_reads_back(database, msr):
    """key_line hands back the line it wrote without reading it again: the same as get_line."""
    a = _acct(first="Ada", last="Lovelace")
    b = _batch(msr)
    keyed = batches.key_line(msr, b.id, str(a.number), 1000, "77")
    assert keyed == batches.get_line(keyed.id)
    assert (keyed.name, keyed.seq, keyed.operator) == ("Lovelace, Ada", 1, msr.username)


@pytest.mark.parametrize("cents,needle", [
    (0, "more than zero"), (-500, "cannot be negative"), (10_000_000, "over the $99,999.99 limit"),
])
def test_amount_limits(database, msr, cents, needle):
    a = _acct()
    b = _batch(msr)
    with pytest.raises(ValidationError, match=needle.replace("$", r"\$")) as e:
        batches.key_line(msr, b.id, str(a.number), cents, "100")
    assert e.value.field == "amount"
    assert batches.batch_totals(b.id).count == 0
    assert batches.key_line(msr, b.id, str(a.number), 9_999_999, "100", ack=["overpayment"]).amount_cents == 9_999_999


def test_amount_text(database):
    assert batches.amount_from_text("123.45") == 12345
    assert batches.amount_from_text("12345", implied_decimal=True) == 12345
    assert batches.amount_from_text("99,999.99") == 9_999_999
    for text, needle in [("12a.00", "Not an amount"), ("$#!", "Not an amount"), ("100000.00", "limit"),
                         ("-5.00", "negative"), ("", "Enter an amount")]:
        with pytest.raises(ValidationError, match=needle) as e:
            batches.amount_from_text(text)
        assert e.value.field == "amount"
    with pytest.raises(ValidationError, match="whole cents"):
        batches.check_amount(12.5)


def test_scan_line_posts_exact_amount(database, msr):
    a = _acct()
    b = _batch(msr, 1, 12345)
    scan = make_scan_line(a.number, 12345)
    assert batches.looks_like_scan(scan) and not batches.looks_like_scan(str(a.number))
    line = batches.key_scan(msr, b.id, scan, "2201")
    assert (line.account_id, line.amount_cents, line.source, line.check_no) == (a.id, 12345, "scanned", "2201")


def test_scan_line_errors(database, msr):
    a = _acct()
    scan = make_scan_line(a.number, 12345)
    wrong = scan[:-1] + str((int(scan[-1]) + 1) % 10)
    with pytest.raises(ValidationError, match="check digit does not match") as e:
        batches.scan_to_entry(wrong)
    assert e.value.field == "account"
    with pytest.raises(ValidationError, match="truncated"):
        batches.scan_to_entry(scan[:15])
    with pytest.raises(ValidationError, match="not digits"):
        batches.scan_to_entry(scan[:10] + "x" + scan[11:])
    # account with a bad check digit inside a scan line whose own check digit is right
    bad_account = a.number + (1 if a.number % 10 != 9 else -1)
    with pytest.raises(ValidationError, match="account number fails"):
        batches.scan_to_entry(make_scan_line(bad_account, 12345))
    assert batches.scan_to_entry(scan).amount_cents == 12345


# ---- keying is durable -------------------------------------------------------------------

def test_key_line_is_committed_before_it_returns(database, msr):
    a = _acct()
    b = _batch(msr)
    line = batches.key_line(msr, b.id, str(a.number), 12345, "1001")
    assert (line.seq, line.account_number, line.name, line.tender, line.operator) == (1, a.number, "Lovelace, Ada",
                                                                                      "check", "msr1")
    seen = []

    def other_session():   # a second connection sees the line: it is committed
        with db.database.connection_context():
            seen.append(db.BatchLine.select().where(db.BatchLine.batch == b.id).count())

    t = threading.Thread(target=other_session)
    t.start()
    t.join()
    assert seen == [1]


def test_reopen_resumes_where_it_stopped(database, msr):
    accts = [_acct() for _ in range(3)]
    b = _batch(msr, 3, 3 * 12345)
    for a in accts:
        batches.key_line(msr, b.id, str(a.number), 12345, "")
    batches.balance_batch(msr, b.id)
    r = batches.reopen(msr, b.id, n_last=2)
    assert r.batch.status == "open" and r.totals.count == 3 and r.totals.balanced
    assert [ln.seq for ln in r.last_lines] == [3, 2]
    assert [ln.seq for ln in batches.lines(b.id)] == [1, 2, 3]


def test_open_for_entry_reopens_a_keyed_batch_views_a_posted_one_refuses_a_void_one(database, msr):
    a = _acct()
    b = _batch(msr, 1, 12345)
    batches.key_line(msr, b.id, str(a.number), 12345, "")
    batches.balance_batch(msr, b.id)
    batches.open_for_entry(msr, b.id)
    assert batches.get_batch(b.id).status == "open"          # keying goes on: balanced goes back to open
    billing = operators.create("bill1", "Bea Biller", "billing")
    with pytest.raises(PermissionDenied):                    # reopening for keying is keying
        batches.open_for_entry(billing, b.id)
    batches.post_batch(msr, b.id)
    batches.open_for_entry(billing, b.id)                    # a posted batch is only shown
    assert batches.get_batch(b.id).status == "posted"
    empty = _batch(msr)
    batches.void_batch(msr, empty.id, "opened by mistake")
    with pytest.raises(batches.BatchStateError, match=f"Batch {empty.number} is void"):
        batches.open_for_entry(msr, empty.id)


# ---- warnings --------------------------------------------------------------------------------

def test_closed_account_goes_to_unapplied_with_a_reason(database, msr):
    a = _acct(status="final")
    b = _batch(msr, 1, 5000)
    w = batches.line_warnings(b.id, a.id, 5000)
    assert [x.code for x in w] == ["closed_account"] and w[0].needs_reason
    with pytest.raises(batches.LineWarningsError) as e:
        batches.key_line(msr, b.id, str(a.number), 5000, "1")
    assert [x.code for x in e.value.warnings] == ["closed_account"]
    with pytest.raises(ValidationError, match="reason") as e2:
        batches.key_line(msr, b.id, str(a.number), 5000, "1", ack=["closed_account"])
    assert e2.value.field == "reason"
    line = batches.key_line(msr, b.id, str(a.number), 5000, "1", ack=w, reason="moved; refund later")
    assert line.unapplied and line.unapplied_reason == "moved; refund later" and line.account_id == a.id
    assert "closed_account" in line.warnings_ack
    assert audit.for_account(a.id)[0].action == "payment.unapplied"
    batches.post_batch(msr, b.id)
    entry = db.LedgerEntry.get(db.LedgerEntry.account == a.id, db.LedgerEntry.kind == "payment")
    assert entry.amount_cents == -5000 and entry.description.startswith("Unapplied cash")


def test_cash_only_account_paying_by_check(database, msr):
    a = _acct(cash_only_until=dt.date.today() + dt.timedelta(days=90))
    chk = _batch(msr)
    cash = _batch(msr, tender="cash")
    assert [x.code for x in batches.line_warnings(chk.id, a.id, 12345)] == ["cash_only"]
    assert batches.line_warnings(cash.id, a.id, 12345) == []
    assert batches.line_warnings(chk.id, a.id, 12345, tender="money_order") == []
    with pytest.raises(batches.LineWarningsError, match="CASH ONLY"):
        batches.key_line(msr, chk.id, str(a.number), 12345, "77")
    assert batches.key_line(msr, chk.id, str(a.number), 12345, "77", ack=["cash_only"]).warnings_ack == "cash_only"
    assert batches.key_line(msr, cash.id, str(a.number), 12345).warnings_ack == ""


def test_payment_far_above_the_balance(database, msr):
    a = _acct(bills=(20000,))
    b = _batch(msr)
    assert batches.line_warnings(b.id, a.id, 40000) == []           # 2x due, no more
    assert batches.line_warnings(b.id, a.id, 40001) == []           # > 2x but under $500
    assert [x.code for x in batches.line_warnings(b.id, a.id, 50001)] == ["overpayment"]
    zero = _acct(bills=())
    assert batches.line_warnings(b.id, zero.id, batches.OVERPAY_MIN_CENTS) == []
    assert [x.code for x in batches.line_warnings(b.id, zero.id, batches.OVERPAY_MIN_CENTS + 1)] == ["overpayment"]


def test_same_account_and_amount_twice_is_a_possible_duplicate(database, msr):
    a = _acct()
    b = _batch(msr)
    first = batches.key_line(msr, b.id, str(a.number), 12345, "500")
    with pytest.raises(batches.LineWarningsError, match="Line 1 already has") as e:
        batches.key_line(msr, b.id, str(a.number), 12345, "501")
    assert [x.code for x in e.value.warnings] == ["duplicate"]
    assert batches.line_warnings(b.id, a.id, 12345, exclude_line_id=first.id) == []
    assert batches.key_line(msr, b.id, str(a.number), 12346, "502").seq == 2     # other amount: fine
    assert batches.key_line(msr, b.id, str(a.number), 12345, "501", ack=["duplicate"]).seq == 3
    batches.void_line(msr, first.id)
    other = _batch(msr)
    assert batches.line_warnings(other.id, a.id, 12345) == []                   # other batch: fine


# ---- corrections --------------------------------------------------------------------------------

def test_update_and_void_are_audited(database, msr):
    a, c = _acct(), _acct(first="Grace", last="Hopper")
    b = _batch(msr, 2, 20000)
    l1 = batches.key_line(msr, b.id, str(a.number), 10000, "11")
    l2 = batches.key_line(msr, b.id, str(a.number), 9999, "12")
    l1b = batches.update_line(msr, l1.id, amount_cents=10001, check_no="111")
    assert (l1b.amount_cents, l1b.check_no) == (10001, "111")
    rows = [(r.field, r.before, r.after) for r in audit.for_account(a.id)]
    assert ("amount", f"batch {b.number} line 1: 100.00", "100.01") in rows
    assert ("check_no", f"batch {b.number} line 1: 11", "111") in rows
    moved = batches.update_line(msr, l2.id, account_text=str(c.number))
    assert moved.account_id == c.id and moved.name == "Hopper, Grace"
    assert audit.for_account(c.id)[0].field == "account"
    void = batches.void_line(msr, l1.id, "stub belongs to batch 7")
    assert void.status == "void"
    assert audit.for_account(a.id)[0].action == "batch_line.void"
    assert "stub belongs" in audit.for_account(a.id)[0].after
    with pytest.raises(batches.BatchStateError, match="void"):
        batches.update_line(msr, l1.id, amount_cents=5)
    with pytest.raises(batches.BatchStateError, match="already void"):
        batches.void_line(msr, l1.id)
    t = batches.batch_totals(b.id)
    assert (t.count, t.total_cents, t.void_count, t.count_difference, t.total_difference_cents) == \
           (1, 9999, 1, -1, -10001)
    # an unchanged update writes nothing
    n = db.AuditLog.select().count()
    batches.update_line(msr, l2.id, amount_cents=9999)
    assert db.AuditLog.select().count() == n


def test_update_rechecks_warnings(database, msr):
    a = _acct()
    b = _batch(msr)
    batches.key_line(msr, b.id, str(a.number), 12345, "1")
    l2 = batches.key_line(msr, b.id, str(a.number), 100, "2")
    with pytest.raises(batches.LineWarningsError):
        batches.update_line(msr, l2.id, amount_cents=12345)
    assert batches.get_line(l2.id).amount_cents == 100
    assert batches.update_line(msr, l2.id, amount_cents=12345, ack=["duplicate"]).warnings_ack == "duplicate"


def test_find_lines(database, msr):
    a, c = _acct(), _acct()
    b = _batch(msr, 3, 30000)
    batches.key_line(msr, b.id, str(a.number), 10000, "1")
    batches.key_line(msr, b.id, str(c.number), 10000, "2")
    batches.key_line(msr, b.id, str(c.number), 500, "3")
    assert [ln.seq for ln in batches.find_lines(b.id, account=str(c.number))] == [2, 3]
    assert [ln.seq for ln in batches.find_lines(b.id, amount=10000)] == [1, 2]
    assert [ln.seq for ln in batches.find_lines(b.id, amount="100.00", account=c.number)] == [2]
    assert batches.find_lines(b.id, account="999", amount=10000) == []
    assert batches.line_at(b.id, 3).amount_cents == 500
    with pytest.raises(ValidationError):
        batches.find_lines(b.id, amount="ten")


# ---- balancing and posting -----------------------------------------------------------------------

def test_balance_then_post_writes_the_ledger(database, msr):
    accts = [_acct() for _ in range(3)]
    b = _batch(msr, 3, 12345 + 5000 + 700)
    for a, cents, chk in zip(accts, (12345, 5000, 700), ("1001", "1002", "")):
        batches.key_line(msr, b.id, str(a.number), cents, chk)
    t = batches.balance_batch(msr, b.id)
    assert t.balanced and batches.get_batch(b.id).status == "balanced"
    result = batches.post_batch(msr, b.id)
    assert (result.entries, result.batch.status, result.batch.posted_by, result.accepted_difference) == \
           (3, "posted", "msr1", False)
    assert result.batch.posted_at is not None
    pays = list(db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").order_by(db.LedgerEntry.id))
    assert [p.amount_cents for p in pays] == [-12345, -5000, -700]
    assert pays[0].reference == f"B{b.number}-1 ck 1001" and pays[2].reference == f"B{b.number}-3"
    assert accounts.balance(accts[0].id) == 0 and accounts.balance(accts[2].id) == 12345 - 700
    assert all(ln.status == "active" for ln in batches.lines(b.id))
    assert {ln.ledger_entry_id for ln in db.BatchLine.select()} == {p.id for p in pays}
    # posted is final
    with pytest.raises(batches.AlreadyPosted):
        batches.post_batch(msr, b.id)
    with pytest.raises(batches.AlreadyPosted):
        batches.key_line(msr, b.id, str(accts[0].number), 100, "")
    with pytest.raises(batches.AlreadyPosted):
        batches.void_line(msr, batches.line_at(b.id, 1).id)
    with pytest.raises(batches.AlreadyPosted):
        batches.reopen(msr, b.id)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 3


def test_changing_a_balanced_batch_reopens_it(database, msr):
    a = _acct()
    b = _batch(msr, 1, 12345)
    line = batches.key_line(msr, b.id, str(a.number), 12340, "")
    assert not batches.balance_batch(msr, b.id).balanced
    assert batches.get_batch(b.id).status == "out_of_balance"
    batches.update_line(msr, line.id, amount_cents=12345)
    assert batches.get_batch(b.id).status == "open"
    assert batches.balance_batch(msr, b.id).balanced


def test_empty_batch_is_refused_then_voided(database, msr):
    b = _batch(msr)
    with pytest.raises(batches.EmptyBatch, match="no lines"):
        batches.post_batch(msr, b.id)
    assert batches.get_batch(b.id).status == "open"
    assert batches.void_batch(msr, b.id, "opened by mistake").status == "void"
    with pytest.raises(batches.BatchStateError, match="void"):
        batches.post_batch(msr, b.id)


def test_void_batch_refused_with_lines(database, msr):
    a = _acct()
    b = _batch(msr)
    batches.key_line(msr, b.id, str(a.number), 100, "")
    with pytest.raises(batches.BatchStateError, match="has lines"):
        batches.void_batch(msr, b.id)


def test_out_of_balance_needs_a_supervisor_with_a_reason(database, msr, supervisor):
    a = _acct()
    b = _batch(msr, 2, 20000)
    batches.key_line(msr, b.id, str(a.number), 12345, "9")
    with pytest.raises(batches.OutOfBalance, match="out of balance: 1 of 2 lines") as e:
        batches.post_batch(msr, b.id)
    assert e.value.totals.total_difference_cents == 12345 - 20000
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        batches.post_batch(msr, b.id, accept_reason="tape was wrong")
    with pytest.raises(batches.OutOfBalance):
        batches.post_batch(supervisor, b.id, accept_reason="   ")
    assert batches.get_batch(b.id).status == "open"
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 0
    result = batches.post_batch(supervisor, b.id, accept_reason="stub 2 missing; member called")
    assert result.accepted_difference and result.batch.accepted_by == "super"
    assert result.batch.accept_reason == "stub 2 missing; member called"
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 1
    assert db.AuditLog.select().where(db.AuditLog.action == "batch.accept").count() == 1


def test_change_controls_is_audited(database, msr):
    a = _acct()
    b = _batch(msr, 1, 10000)
    batches.key_line(msr, b.id, str(a.number), 12345, "")
    assert batches.change_controls(msr, b.id, 1, 12345).balanced
    row = db.AuditLog.get(db.AuditLog.action == "batch.controls")
    assert (row.before, row.after) == ("1 lines 100.00", "1 lines 123.45")


def _post_from_two_sessions(batch_id: int, op) -> list[tuple[str, str]]:
    barrier = threading.Barrier(2)
    results: list[tuple[str, str]] = []

    def session():
        with db.database.connection_context():
            barrier.wait()
            try:
                r = batches.post_batch(op, batch_id)
                results.append(("posted", str(r.entries)))
            except batches.AlreadyPosted as exc:
                results.append(("refused", exc.message))
            except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
                results.append(("error", repr(exc)))

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(results)


@pytest.mark.parametrize("hold", [0.0, 0.3])
def test_two_sessions_posting_at_once_post_once(database, msr, monkeypatch, hold):
    """Two threads, each with its own connection, post the same batch at the
    same moment. With `hold` the first holds its transaction open after the
    claim, so the second surely arrives while it is inside."""
    accts = [_acct() for _ in range(5)]
    b = _batch(msr, 5, 5 * 4321)
    for a in accts:
        batches.key_line(msr, b.id, str(a.number), 4321, "")
    if hold:
        monkeypatch.setattr(batches, "_after_claim", lambda batch_id: time.sleep(hold))
    results = _post_from_two_sessions(b.id, msr)
    assert [r[0] for r in results] == ["posted", "refused"], results
    assert results[0][1] == "5" and "already posted" in results[1][1]
    pays = db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment")
    assert pays.count() == 5
    assert sorted(p.account_id for p in pays) == sorted(a.id for a in accts)
    assert db.AuditLog.select().where(db.AuditLog.action == "batch.post").count() == 1


def test_reports_are_written(database, msr, supervisor, tmp_path):
    a, c = _acct(), _acct(first="Grace", last="Hopper")
    b = _batch(msr, 3, 30000)
    batches.key_line(msr, b.id, str(a.number), 12345, "3001")
    l2 = batches.key_line(msr, b.id, str(c.number), 100, "3002")
    batches.void_line(msr, l2.id)
    batches.key_scan(msr, b.id, make_scan_line(c.number, 7000), "3003")
    with pytest.raises(Exception, match="not posted"):
        reports.write_batch_reports(b.id, tmp_path)
    batches.post_batch(supervisor, b.id, accept_reason="one stub short")
    files = reports.write_batch_reports(b.id, tmp_path / "out")
    text = files.text.read_text()
    assert f"payment batch {b.number}" in text and "Lovelace, Ada" in text and "Hopper, Grace" in text
    assert "VOID" in text and "123.45" in text and "Posted" in text and "one stub short" in text
    assert "Total                $193.45" in text
    assert files.csv.read_text().splitlines() == ["check_no,amount,account", f"3001,123.45,{a.number}",
                                                  f"3003,70.00,{c.number}"]
    shown = pdf_text(files.pdf.read_bytes())
    for needle in (f"payment batch {b.number}", "Lovelace, Ada", "Hopper, Grace", "VOID", "one stub short",
                   "Total                $193.45"):
        assert needle in shown, needle


def test_a_long_report_pages_and_odd_characters_do_not_stop_it():
    lines = ["Dana Whitfield — ✓ café (ok)", "", "   "] + [f"line {i:03d}" for i in range(130)]
    shown = pdf_text(reports.text_pdf("\n".join(lines)))
    assert "Dana Whitfield — ? café (ok)" in shown
    assert all(f"line {i:03d}" in shown for i in range(130))
    assert shown.count("\n") >= 130


# ---- property: whatever is keyed, voided and changed, the totals and the ledger agree ------------

ops = st.lists(st.one_of(
    st.tuples(st.just("key"), st.integers(0, 3), st.integers(1, batches.MAX_LINE_CENTS)),
    st.tuples(st.just("void"), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("amount"), st.integers(0, 20), st.integers(1, 99_999)),
), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops, control=st.integers(1, 50_000))
def test_batch_totals_and_ledger_agree(database, steps, control):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    boss = operators.create("super", "Sam Boss", "supervisor")
    accts = [a for a in db.Account.select().order_by(db.Account.id).limit(4)]
    while len(accts) < 4:
        accts.append(_acct())
    before = int(db.LedgerEntry.select(fn.COALESCE(fn.SUM(db.LedgerEntry.amount_cents), 0))
                 .where(db.LedgerEntry.kind == "payment").scalar())
    b = batches.open_batch(msr, "check", 3, control)
    keyed: dict[int, int] = {}            # line id -> cents, active lines only
    for kind, i, cents in steps:
        ids = sorted(keyed)
        if kind == "key":
            line = batches.key_line(msr, b.id, str(accts[i].number), cents, "", ack=batches.WARNING_CODES)
            keyed[line.id] = cents
        elif ids and kind == "void":
            batches.void_line(msr, ids[i % len(ids)])
            del keyed[ids[i % len(ids)]]
        elif ids and kind == "amount":
            batches.update_line(msr, ids[i % len(ids)], amount_cents=cents, ack=batches.WARNING_CODES)
            keyed[ids[i % len(ids)]] = cents
    t = batches.batch_totals(b.id)
    assert (t.count, t.total_cents) == (len(keyed), sum(keyed.values()))
    assert t.balanced == (len(keyed) == 3 and sum(keyed.values()) == control)
    if not keyed:
        with pytest.raises(batches.EmptyBatch):
            batches.post_batch(boss, b.id, accept_reason="test")
        return
    r = batches.post_batch(boss, b.id, accept_reason="property test")
    assert r.entries == len(keyed) and r.accepted_difference == (not t.balanced)
    after = int(db.LedgerEntry.select(fn.COALESCE(fn.SUM(db.LedgerEntry.amount_cents), 0))
                .where(db.LedgerEntry.kind == "payment").scalar())
    assert before - after == sum(keyed.values())


def test_posting_and_its_reports_from_a_thread_without_a_connection(database, msr, tmp_path):
    """What the entry screen's worker does: the services open the thread's connection for
    their call and close it after, so the screen never touches the database."""
    a = _acct()
    b = _batch(msr, 1, 4321)
    batches.key_line(msr, b.id, str(a.number), 4321, "")
    out: list = []

    def worker():
        out.append(db.database.is_closed())
        result = batches.post_batch(msr, b.id)
        files = reports.write_batch_reports(b.id, tmp_path)
        out.extend([result.entries, files.csv.name, db.database.is_closed()])

    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert out == [True, 1, f"batch-{b.number}-deposit.csv", True]
    assert batches.get_batch(b.id).status == "posted"


def test_reports_dir_is_the_setting_else_the_data_dir(tmp_path, monkeypatch):
    assert reports.reports_dir(SimpleNamespace(reports_dir=str(tmp_path / "r"))) == tmp_path / "r"
    monkeypatch.setattr(reports, "default_data_dir", lambda: tmp_path / "data")
    assert reports.reports_dir(SimpleNamespace(reports_dir="")) == tmp_path / "data" / "reports"
