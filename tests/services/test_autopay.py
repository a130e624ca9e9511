"""Autopay: enrollment (ABA check digit), the NACHA draft file made once per draft date, prenote
timing, exclusions, the bank's return and change files, the processor's settlement CSV."""
from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from kec_tui import config, db
from kec_tui.checkdigit import aba_check_digit, valid_routing
from kec_tui.services import accounts, autopay, lockbox, nacha
from kec_tui.services.errors import ServiceError, ValidationError
from tests import factories
from tests.services.ach_files import Item, bank_file
from tests.services.test_concurrency import at_once

DATA = Path(__file__).resolve().parents[1] / "data" / "nacha"
DUE = dt.date(2025, 1, 30)                       # the factories' first bill is due then
SIGNED = dt.date(2024, 12, 1)
TODAY = dt.date(2025, 1, 5)
ROUTING_A, ROUTING_B = "091000019", "121042882"


@pytest.fixture(autouse=True)
def ach_dir(tmp_path):
    autopay.configure(config.Settings(autopay_dir=str(tmp_path / "ach")))
    yield tmp_path / "ach"
    autopay.configure(config.Settings())


@pytest.fixture
def billing(database_any):
    from kec_tui.services import operators
    return operators.create("bill1", "Billing Clerk", "billing")


def enrolled(msr, *, bill=12345, routing=ROUTING_A, bank="123456789", atype="checking", prenote_on=None,
             **flags) -> db.Account:
    """An account with a bill due DUE, enrolled; its prenote sent on `prenote_on` (default: long ago)."""
    a = factories.account(bills=[bill], **flags)
    autopay.enroll(msr, a.id, routing, bank, atype, SIGNED, today=TODAY)
    sent = prenote_on or dt.date(2024, 12, 10)
    db.AutopayEnrollment.update(prenote_sent_on=sent).where(db.AutopayEnrollment.account == a.id).execute()
    return a


def run(op, day=DUE):
    p = autopay.preview(op, day)
    return p, autopay.commit(op, p.run.id, now=dt.datetime(2025, 1, 28, 16, 5))


# ---- routing numbers ----------------------------------------------------------------------------

def test_aba_check_digit():
    assert aba_check_digit("09100001") == 9 and valid_routing("091000019")
    assert valid_routing("121042882") and valid_routing("021000021")
    for bad in ("091000018", "12104288", "1210428820", "12104288x", ""):
        assert not valid_routing(bad)
    # Every single wrong digit is caught.
    for i in range(9):
        for d in "0123456789":
            t = ROUTING_B[:i] + d + ROUTING_B[i + 1:]
            assert valid_routing(t) == (t == ROUTING_B)


def test_wrong_check_digit_refused_and_nothing_written(database, msr):
    a = factories.account(bills=[5000])
    with pytest.raises(ValidationError, match="fails its check digit") as e:
        autopay.enroll(msr, a.id, "091000018", "123456789", "checking", SIGNED, today=TODAY)
    assert e.value.field == "routing"
    assert not db.AutopayEnrollment.select().exists()
    assert db.Member.get_by_id(a.member_id).bank_routing == ""
    with pytest.raises(ValidationError, match="not in the future"):
        autopay.enroll(msr, a.id, ROUTING_A, "123456789", "checking", TODAY + dt.timedelta(days=1), today=TODAY)
    with pytest.raises(ValidationError, match="4 to 17 digits"):
        autopay.enroll(msr, a.id, ROUTING_A, "12", "checking", SIGNED, today=TODAY)
    assert not db.AutopayEnrollment.select().exists()


def test_enroll_change_stop_audited_and_masked(database, msr):
    a = factories.account(bills=[5000])
    info = autopay.enroll(msr, a.id, ROUTING_A, "123456789", "checking", SIGNED, today=TODAY)
    assert (info.bank_masked, info.status, info.prenote_sent_on) == ("****6789", "active", None)
    assert "prenote goes with the next draft run" in info.summary
    m = db.Member.get_by_id(a.member_id)
    assert (m.bank_routing, m.bank_account) == (ROUTING_A, "123456789")      # the account view's masked number
    assert accounts.view(a.id).bank_masked == "****6789"
    assert "AUTOPAY checking ****6789" in accounts.view(a.id).flags        # on the account screen
    db.AutopayEnrollment.update(prenote_sent_on=dt.date(2024, 12, 10)).execute()
    autopay.enroll(msr, a.id, ROUTING_B, "55554444", "savings", SIGNED, today=TODAY)
    e = db.AutopayEnrollment.get()
    assert (e.routing, e.account_type, e.prenote_sent_on) == (ROUTING_B, "savings", None)    # prenote again
    autopay.stop(msr, a.id, "member called to stop", today=TODAY)
    assert autopay.get_enrollment(a.id).status == "stopped"
    assert not any(f.startswith("AUTOPAY") for f in accounts.view(a.id).flags)
    texts = [r.before + r.after for r in db.AuditLog.select().where(db.AuditLog.account == a.id)]
    assert any("autopay.enroll" == r.action for r in db.AuditLog.select())
    assert all("123456789" not in t and "55554444" not in t for t in texts), texts
    assert any("****4444" in t for t in texts)


# ---- the draft file -----------------------------------------------------------------------------

def test_hand_worked_file(database, msr, billing, ach_dir):
    a = enrolled(msr, bill=12345, routing=ROUTING_A, bank="123456789")
    b = enrolled(msr, bill=6789, routing=ROUTING_B, bank="987654321", atype="savings")
    p, info = run(billing)
    assert [(e.number, e.amount_cents, e.tx_code) for e in p.drafts] == [(a.number, 12345, "27"),
                                                                          (b.number, 6789, "37")]
    path = Path(info.file_path)
    assert path.parent == ach_dir and path.name == "autopay-20250130.ach"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    text = path.read_text()
    lines = text.splitlines()
    # By hand: records 1, 5, 6, 6, 8, 9 = 6, padded to one block of 10 with 4 lines of 9s.
    assert len(lines) == 10 and all(len(x) == 94 for x in lines)
    assert [x[0] for x in lines] == list("156689") + ["9"] * 4 and lines[-1] == "9" * 94
    # Entry hash by hand: 09100001 + 12104288 = 21204289; debits 123.45 + 67.89 = 191.34.
    assert lines[4][:44] == "8225" + "000002" + "0021204289" + "000000019134" + "000000000000"
    assert lines[5][:55] == "9" + "000001" + "000001" + "00000002" + "0021204289" + "000000019134" + "0" * 12
    assert lines[1][50:53] == "PPD" and lines[1][69:75] == "250130"
    e1 = lines[2]
    assert (e1[1:3], e1[3:12], e1[12:29].strip(), e1[29:39], e1[39:54].strip()) == \
        ("27", ROUTING_A, "123456789", "0000012345", str(a.number))
    # The project's parser recomputes every control and agrees.
    f = nacha.parse(text)
    assert (f.entry_hash, f.debit_cents, f.credit_cents, f.entry_addenda_count, f.block_count) == \
        (21204289, 19134, 0, 2, 1)
    assert info.entry_hash == 21204289 and (info.entry_count, info.total_cents) == (2, 19134)
    # One trace per entry, kept with the payment, posted on the settlement date as an electronic payment.
    for x, pe in zip(db.AutopayEntry.select().order_by(db.AutopayEntry.seq), f.entries, strict=True):
        assert x.trace == pe.trace and x.trace.startswith("09100001")
        pay = db.LedgerEntry.get_by_id(x.payment_id)
        assert (pay.kind, pay.amount_cents, db.as_date(pay.effective), pay.reference) == \
            ("payment", -x.amount_cents, DUE, f"ACH {x.trace}")
    assert accounts.balance(a.id) == 0 and accounts.balance(b.id) == 0
    # Never the full bank account in the audit log.
    assert all("123456789" not in (r.after or "") for r in db.AuditLog.select())


def test_a_date_already_drafted_makes_nothing(database, msr, billing):
    enrolled(msr)
    run(billing)
    payments = db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count()
    with pytest.raises(autopay.AlreadyCommitted, match="already made"):
        autopay.preview(billing, DUE)
    with pytest.raises(autopay.AlreadyCommitted):
        autopay.commit(billing, db.AutopayRun.get().id)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == payments == 1
    assert db.AutopayEntry.select().count() == 1


def test_exactly_once_under_two_concurrent_runs(database, msr, billing, ach_dir):
    from kec_tui.services import operators
    other = operators.create("bill2", "Other Clerk", "billing")
    for cents in (1000, 2000, 3000):
        enrolled(msr, bill=cents)
    p = autopay.preview(billing, DUE)
    r = at_once(lambda: autopay.commit(billing, p.run.id), lambda: autopay.commit(other, p.run.id))
    done = [x for x in r if isinstance(x, autopay.RunInfo)]
    told = [x for x in r if isinstance(x, autopay.RunStateError)]
    assert len(done) == 1 and len(told) == 1, r
    assert db.AutopayEntry.select().count() == 3
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 3
    assert sorted(os.listdir(ach_dir)) == ["autopay-20250130.ach"]
    # Two previews at once of a new date: one run row.
    r = at_once(lambda: autopay.preview(billing, DUE + dt.timedelta(days=1)),
                lambda: autopay.preview(other, DUE + dt.timedelta(days=1)))
    assert db.AutopayRun.select().count() == 2, r


def test_a_commit_cut_off_midway_finishes_without_doubling(database, msr, billing, monkeypatch):
    for cents in (1000, 2000, 3000):
        enrolled(msr, bill=cents)
    p = autopay.preview(billing, DUE)

    def crash(run_id, written):
        raise RuntimeError("the session died")

    monkeypatch.setattr(autopay, "_after_chunk", crash)
    with pytest.raises(RuntimeError):
        autopay.commit(billing, p.run.id, chunk=1)
    assert db.AutopayEntry.select().count() == 1 and db.AutopayRun.get().status == "committing"
    with pytest.raises(autopay.RunBusy):                 # the claim is still fresh: another session is told
        autopay.commit(billing, p.run.id)
    monkeypatch.setattr(autopay, "_after_chunk", lambda run_id, written: None)
    info = autopay.commit(billing, p.run.id, takeover_after=dt.timedelta(0))
    assert (info.entry_count, info.total_cents) == (3, 6000)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "payment").count() == 3
    traces = [x.trace for x in db.AutopayEntry.select()]
    assert len(set(traces)) == 3
    assert [e.trace for e in nacha.parse(Path(info.file_path).read_text()).entries] == sorted(traces)


def test_the_same_return_file_imported_twice_at_once_applies_once(database, msr, billing, tmp_path):
    from kec_tui.services import operators
    other = operators.create("msr2", "Other MSR", "msr")
    (a,), entries = drafted(msr, billing, 5000)
    f = tmp_path / "r.ach"
    f.write_text(bank_file([Item(entries[a.id].trace, "R01", 5000)]))
    r = at_once(lambda: autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10)),
                lambda: autopay.import_bank_file(other, f, today=dt.date(2025, 2, 10)))
    assert sorted(type(x).__name__ for x in r) == ["BankFileResult", "DuplicateImport"], r
    assert db.ReturnedPayment.select().count() == 1 and accounts.balance(a.id) == 5000 + 2500


def test_exclusions_listed(database, msr, billing):
    ok = enrolled(msr, bill=1000)
    cash = enrolled(msr, bill=2000, cash_only_until=dt.date(2025, 6, 1))
    bk = enrolled(msr, bill=3000, bankruptcy=True)
    closed = enrolled(msr, bill=4000)
    stopped = enrolled(msr, bill=5000)
    paid = enrolled(msr, bill=6000)
    db.Account.update(status="closed").where(db.Account.id == closed.id).execute()
    autopay.stop(msr, stopped.id, "member asked", today=TODAY)
    db.LedgerEntry.create(account=paid, effective=dt.date(2025, 1, 20), kind="payment", amount_cents=-6000)
    p = autopay.preview(billing, DUE)
    assert [e.account_id for e in p.drafts] == [ok.id]
    reasons = {x.account_id: x.reason for x in p.excluded}
    assert reasons == {cash.id: "cash-only until 06/01/2025", bk.id: "bankruptcy", closed.id: "closed",
                       stopped.id: "autopay stopped"}
    info = autopay.commit(billing, p.run.id)
    assert (info.entry_count, info.total_cents) == (1, 1000)


def test_budget_billing_drafts_the_levelized_charge_and_a_partial_payment_the_rest(database, msr, billing):
    # The ledger's bill charge is what billing_run charged: the levelized amount for a budget account.
    level = enrolled(msr, bill=9900, budget_billing=True)
    part = enrolled(msr, bill=8000)
    db.LedgerEntry.create(account=part, effective=dt.date(2025, 1, 20), kind="payment", amount_cents=-3000)
    p = autopay.preview(billing, DUE)
    assert {e.account_id: e.amount_cents for e in p.drafts} == {level.id: 9900, part.id: 5000}


def test_prenote_timing(database, msr, billing):
    autopay.configure(config.Settings(autopay_dir=autopay.files_dir().as_posix(), autopay_prenote_wait_days=6))
    a = factories.account(bills=[1000, 2000, 3000])     # due 01/30, 03/01, 03/31
    autopay.enroll(msr, a.id, ROUTING_A, "123456789", "checking", SIGNED, today=TODAY)
    # First run: the prenote goes out (zero dollars, code 28); the bill due that day is not drafted.
    p, info = run(billing, DUE)
    assert [(e.kind, e.tx_code, e.amount_cents) for e in p.entries] == [("prenote", "28", 0)]
    assert [x.reason for x in p.excluded] == ["prenote not yet sent"]
    assert (info.prenote_count, info.entry_count) == (1, 0)
    assert nacha.parse(Path(info.file_path).read_text()).entries[0].tx_code == "28"
    assert autopay.get_enrollment(a.id).prenote_sent_on == DUE
    # Within the waiting period: left out, said why.
    p = autopay.preview(billing, DUE + dt.timedelta(days=5))
    assert p.entries == [] and p.excluded == []         # nothing due that day
    db.LedgerEntry.update(due_date=DUE + dt.timedelta(days=5)).where(
        db.LedgerEntry.account == a.id, db.LedgerEntry.amount_cents == 2000).execute()
    p = autopay.preview(billing, DUE + dt.timedelta(days=5))
    assert [x.reason for x in p.excluded] == ["prenote waiting until 02/05/2025"]
    # After it, without a return: drafted.
    db.LedgerEntry.update(due_date=DUE + dt.timedelta(days=6)).where(
        db.LedgerEntry.account == a.id, db.LedgerEntry.amount_cents == 2000).execute()
    p = autopay.preview(billing, DUE + dt.timedelta(days=6))
    assert [(e.kind, e.amount_cents) for e in p.entries] == [("draft", 2000)]


def test_prenote_returned_stops_autopay(database, msr, billing, tmp_path):
    a = factories.account(bills=[1000])
    autopay.enroll(msr, a.id, ROUTING_A, "123456789", "checking", SIGNED, today=TODAY)
    run(billing, DUE)
    trace = db.AutopayEntry.get().trace
    f = tmp_path / "ret.ach"
    f.write_text(bank_file([Item(trace, "R03", 0, individual_id=str(a.number))]))
    res = autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 3))
    assert [(i.kind, i.code, i.matched) for i in res.items] == [("return", "R03", True)]
    e = autopay.get_enrollment(a.id)
    assert e.status == "stopped" and "R03" in e.stop_reason
    assert not db.ReturnedPayment.select().exists()


# ---- returns and changes ------------------------------------------------------------------------

def drafted(msr, billing, *cents):
    accts = [enrolled(msr, bill=c) for c in cents]
    run(billing)
    return accts, {x.account_id: x for x in db.AutopayEntry.select()}


def test_return_file_goes_through_the_returned_payment_flow(database, msr, billing, tmp_path):
    (a, b), entries = drafted(msr, billing, 12345, 6789)
    ta, tb = entries[a.id].trace, entries[b.id].trace
    f = tmp_path / "returns.ach"
    f.write_text(bank_file([Item(ta, "R01", 12345, individual_id=str(a.number)),
                            Item(tb, "R02", 6789, individual_id=str(b.number))]))
    res = autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10))
    assert (res.returns, res.changes, res.exceptions) == (2, 0, 0)
    # Reversal and fee on each; R02 also stops the authorization, R01 does not.
    assert accounts.balance(a.id) == 12345 + 2500 and accounts.balance(b.id) == 6789 + 2500
    rp = {r.account_id: r for r in db.ReturnedPayment.select()}
    assert (rp[a.id].code, rp[b.id].code) == ("R01", "R02")
    assert db.as_date(rp[a.id].returned_on) == dt.date(2025, 2, 3)          # the bank file's date
    assert autopay.get_enrollment(a.id).status == "active"
    assert autopay.get_enrollment(b.id).status == "stopped"
    assert db.AutopayEntry.get_by_id(entries[a.id].id).return_code == "R01"
    # The same file again: refused by its content, even with other line endings.
    f2 = tmp_path / "again.ach"
    f2.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(lockbox.DuplicateImport, match="already imported"):
        autopay.import_bank_file(msr, f2, today=dt.date(2025, 2, 10))
    assert db.ReturnedPayment.select().count() == 2


def test_second_return_in_twelve_months_makes_cash_only(database, msr, billing, tmp_path):
    (a,), entries = drafted(msr, billing, 5000)
    earlier = db.LedgerEntry.create(account=a, effective=dt.date(2024, 10, 1), kind="payment", amount_cents=-100,
                                    reference="chk 5")
    from kec_tui.services import returns
    returns.return_payment(msr, earlier.id, "R01", dt.date(2024, 10, 5))
    f = tmp_path / "r.ach"
    f.write_text(bank_file([Item(entries[a.id].trace, "R01", 5000)]))
    res = autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10))
    assert "cash-only to 02/03/2026" in res.items[0].outcome
    assert db.as_date(db.Account.get_by_id(a.id).cash_only_until) == dt.date(2026, 2, 3)


def test_unmatched_return_goes_to_the_exceptions_queue(database, msr, billing, tmp_path):
    (a,), entries = drafted(msr, billing, 5000)
    f = tmp_path / "r.ach"
    f.write_text(bank_file([Item("091000019999999", "R01", 5000, individual_id="99999"),
                            Item(entries[a.id].trace, "R01", 4000)]))      # amount not the draft's
    res = autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10))
    assert (res.returns, res.exceptions) == (0, 2)
    x = lockbox.list_exceptions()
    assert [e.reason for e in x] == ["ACH return R01: trace 091000019999999 was never sent",
                                     "ACH return R01: amount $40.00 is not the draft's $50.00"]
    assert not db.ReturnedPayment.select().exists() and accounts.balance(a.id) == 0
    with pytest.raises(ValidationError, match="not a payment"):      # never applied as a payment
        lockbox.resolve_exception(msr, x[0].id, str(a.number))


def test_bad_return_files_refused_with_nothing_written(database, msr, billing, tmp_path):
    (a,), entries = drafted(msr, billing, 5000)
    good = bank_file([Item(entries[a.id].trace, "R01", 5000)])
    cases = {
        "wrong control total": (bank_file([Item(entries[a.id].trace, "R01", 5000)], control_debit_delta=1),
                                "debit total says 5001"),
        "truncated": ("\n".join(good.splitlines()[:3]) + "\n", "truncated"),
        "cut mid-record": (good[:94 * 3 + 40], "truncated"),
        "empty": ("", "empty"),
        "not nacha": ("account,amount\n1,2.00\n", "starts with a file header"),
    }
    before = (db.LedgerEntry.select().count(), db.PaymentImport.select().count(), db.AuditLog.select().count())
    for name, (text, needle) in cases.items():
        f = tmp_path / f"{name}.ach"
        f.write_text(text)
        with pytest.raises(lockbox.ImportRefused, match=needle):
            autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10))
    assert (db.LedgerEntry.select().count(), db.PaymentImport.select().count(),
            db.AuditLog.select().count()) == before


def test_notification_of_change_updates_bank_details(database, msr, billing, tmp_path):
    (a, b, c), entries = drafted(msr, billing, 1000, 2000, 3000)
    f = tmp_path / "noc.ach"
    f.write_text(bank_file([
        Item(entries[a.id].trace, "C01", corrected="1918171614"),
        Item(entries[b.id].trace, "C02", corrected=ROUTING_B),
        Item(entries[c.id].trace, "C02", corrected="121042883"),            # a bad routing number
        Item("091000010000999", "C01", corrected="1111"),                    # never sent
    ]))
    res = autopay.import_bank_file(msr, f, today=dt.date(2025, 2, 10))
    assert (res.changes, res.exceptions) == (2, 2)
    ea, eb = db.AutopayEnrollment.get(account=a.id), db.AutopayEnrollment.get(account=b.id)
    assert (ea.bank_account, ea.routing) == ("1918171614", ROUTING_A)
    assert eb.routing == ROUTING_B and db.AutopayEnrollment.get(account=c.id).routing == ROUTING_A
    assert db.Member.get_by_id(a.member_id).bank_account == "1918171614"
    noc = db.AuditLog.get(db.AuditLog.action == "autopay.noc", db.AuditLog.account == a.id)
    assert "****1614" in noc.after and "1918171614" not in noc.after + noc.before and "C01" in noc.after
    assert [x.reason for x in lockbox.list_exceptions()] == [
        "ACH change C02: corrected data refused: Routing number 121042883 fails its check digit (3-7-1): "
        "check the 9 digits"[:120],
        "ACH change C01: trace 091000010000999 was never sent"]


# ---- a public library's test files ------------------------------------------------------------------

def test_moov_return_file_read_as_its_authors_intend():
    """moov-io/ach test/testdata/return-WEB.ach: valid; two WEB batches of one return entry each
    (R01 and R03), original traces 091400600000001 and 091400600000003 (their tests: 2 batches,
    2 return entries, each entry a return)."""
    f = nacha.parse((DATA / "moov-return-WEB.ach").read_text())
    assert len(f.batches) == 2 and all(len(b.entries) == 1 and b.sec == "WEB" for b in f.batches)
    assert [(e.return_addenda.code, e.return_addenda.original_trace, e.amount_cents) for e in f.returns] == \
        [("R01", "091400600000001", 12354), ("R03", "091400600000003", 4565)]
    assert (f.entry_hash, f.debit_cents, f.credit_cents, f.entry_addenda_count) == (18280120, 12354, 4565, 4)
    assert f.changes == []


def test_moov_change_file_read_as_its_authors_intend():
    """moov-io/ach test/testdata/cor-example.ach: valid; no returns, one notification of change,
    C01 with corrected account 1918171614 (their describe test masks it as ******1614), zero amount."""
    f = nacha.parse((DATA / "moov-cor-example.ach").read_text())
    assert f.returns == [] and len(f.changes) == 1
    e = f.changes[0]
    a = e.change_addenda
    assert (f.batches[0].sec, e.amount_cents, a.code, a.original_trace, a.corrected_data) == \
        ("COR", 0, "C01", "121042880000001", "1918171614")


def test_moov_files_import_to_the_exceptions_queue(database, msr, tmp_path):
    """Their traces were never sent by us: each entry is queued, nothing is applied."""
    res = autopay.import_bank_file(msr, DATA / "moov-return-WEB.ach", today=dt.date(2025, 2, 10))
    assert (res.returns, res.exceptions) == (0, 2)
    res = autopay.import_bank_file(msr, DATA / "moov-cor-example.ach", today=dt.date(2025, 2, 10))
    assert (res.changes, res.exceptions) == (0, 1)
    assert lockbox.open_exception_count() == 3


# ---- the processor's settlement CSV --------------------------------------------------------------------

def test_processor_settlement_csv(database, msr, tmp_path):
    a = factories.account(bills=[5000])
    f = tmp_path / "settle.csv"
    f.write_text("Account,Amount,Transaction ID,Method,Date\n"
                 f"{a.number},50.00,ch_3PzQx7Lk2mAbCdEf12345678,card,2025-02-01\n"
                 "99999,12.00,ec_777,echeck,2025-02-01\n")
    res = autopay.import_processor_file(msr, f, batch_date=dt.date(2025, 2, 1))
    assert (res.matched_count, res.matched_total_cents, res.exception_count) == (1, 5000, 1)
    line = db.BatchLine.get(db.BatchLine.batch == res.batch_id)
    assert autopay.processor_reference(line.id) == "ch_3PzQx7Lk2mAbCdEf12345678"
    assert db.ProcessorPayment.get().method == "card"
    with pytest.raises(lockbox.DuplicateImport):
        autopay.import_processor_file(msr, f)
    pan = tmp_path / "pan.csv"
    pan.write_text("Account,Amount,Reference\n" f"{a.number},1.00,4111111111111111\n")
    with pytest.raises(lockbox.ImportRefused, match="card number"):
        autopay.import_processor_file(msr, pan)
    assert db.PaymentImport.select().count() == 1


def test_permissions(database, msr):
    a = factories.account(bills=[5000])
    with pytest.raises(ServiceError):
        autopay.preview(msr, DUE)                       # an MSR enrolls; billing makes the file
    autopay.enroll(msr, a.id, ROUTING_A, "123456789", "checking", SIGNED, today=TODAY)


# ---- the command line ------------------------------------------------------------------------------

def test_cli_draft_then_the_same_date_again(sqlite_db, msr, billing, tmp_path, capsys, monkeypatch):
    from kec_tui import cli

    enrolled(msr, bill=4321)
    db.database.close()
    conf = tmp_path / "c.toml"
    conf.write_text(f'autopay_dir = "{tmp_path / "cli-ach"}"\n')
    for name in config.TYPES:
        monkeypatch.delenv(config.ENV_PREFIX + name.upper(), raising=False)
    args = ["--config", str(conf), "--db", sqlite_db, "--operator", "bill1", "autopay", "draft", "2025-01-30"]
    try:
        assert cli.main(args + ["--commit"]) == 0
        out = capsys.readouterr().out
        assert "1 drafts $43.21" in out and "cli-ach/autopay-20250130.ach" in out
        assert cli.main(args) == 2
        assert "already made" in capsys.readouterr().err
    finally:
        autopay.configure(config.Settings())
        db.connect(sqlite_db)
