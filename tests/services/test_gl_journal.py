"""The daily GL journal: every ledger entry of a day by GL account, balancing, tied to the ledger
and the batch deposits to the cent; days closed in order and once; late entries to the next open
day with a note; a future day refused. SQLite and PostgreSQL; property tests (hypothesis)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import batches, gl_journal as gl, operators
from kec_tui.services.errors import PermissionDenied
from tests import factories

TODAY = dt.date.today()


@pytest.fixture
def clerk(database):
    return operators.create("bill1", "Bea Ledger", "billing")


@pytest.fixture
def msr(database):
    return operators.create("msr1", "Pat Keyer", "msr")


def entry(acct, kind, cents, effective, *, reference="", description="", reverses=None, posted_at=None) -> int:
    values = dict(account=acct.id, effective=effective, kind=kind, amount_cents=cents, reference=reference,
                  description=description, reverses=reverses)
    if posted_at is not None:
        values["posted_at"] = posted_at
    return db.LedgerEntry.insert(**values).execute()


def lines_by_account(j) -> dict[str, tuple[int, int]]:
    return {ln.gl_account: (ln.debit_cents, ln.credit_cents) for ln in j.lines}


def test_a_days_entries_by_gl_account_balance_and_tie_to_the_ledger_and_the_deposit(clerk, msr):
    day = TODAY
    a = factories.account(first="Ann", rate_class="RES")
    b = factories.account(first="Bob", rate_class="SGS")
    c = factories.account(first="Cy", status="closed")
    old = db.LedgerEntry.select().count()
    assert old == 0
    # a bill of the SGS schedule (its Bill row), a plain RES bill, fees, a deposit, an adjustment, a refund, a write-off
    bill_b = entry(b, "bill", 25_000, day, description="Electric service")
    db.Bill.create(account=b.id, bill_date=day, due_date=day, period_start=day, period_end=day, schedule="SGS",
                   kwh=1000, total_cents=25_000, charged_cents=25_000, ledger_entry=bill_b)
    entry(a, "bill", 12_345, day)
    entry(a, "fee", 500, day, reference="LATE 2025-01", description="Late fee 1.5%")
    entry(a, "fee", 2_500, day, reference="R01", description="Returned payment fee (R01)")
    entry(a, "deposit", 20_000, day, reference="DEPOSIT", description="Security deposit billed")
    entry(b, "adjustment", -1_000, day, reference="ADJ METER", description="Adjustment: Meter error")
    entry(c, "adjustment", 700, day, reference="REFUND", description="Refund of credit balance (check)")
    entry(c, "writeoff", -4_200, day, description="Written off")
    # a batch of two checks, one to a closed account (unapplied cash), posted
    bt = batches.open_batch(msr, "check", 2, 15_000, batch_date=day)
    batches.key_line(msr, bt.id, str(a.number), 10_000, "1001")
    ln = batches.key_line(msr, bt.id, str(b.number), 5_000, "1002")
    db.BatchLine.update(unapplied=True).where(db.BatchLine.id == ln.id).execute()
    batches.post_batch(msr, bt.id)
    # the payment of 100.00 returned the same day: the reversal credits the bank back
    pay = db.BatchLine.get_by_id(db.BatchLine.select(db.BatchLine.id).where(db.BatchLine.seq == 1).scalar())
    entry(a, "reversal", 10_000, day, reverses=pay.ledger_entry_id, description="Returned payment R01")

    j = gl.journal(clerk, day)
    assert not j.closed and j.can_close and j.balanced
    got = lines_by_account(j)
    assert got["142.00"] == (12_345 + 25_000 + 500 + 2_500 + 20_000 + 700 + 10_000, 10_000 + 1_000 + 4_200)
    assert got["142.20"] == (0, 5_000)                       # unapplied cash
    assert got["440.00"] == (0, 12_345) and got["442.10"] == (0, 25_000)
    assert got["450.00"] == (0, 500) and got["456.10"] == (0, 2_500) and got["235.00"] == (0, 20_000)
    assert got["456.90"] == (1_000, 0) and got["232.10"] == (0, 700) and got["144.10"] == (4_200, 0)
    assert got["131.10"] == (15_000, 10_000)                 # the deposit in, the return back out
    assert j.debit_cents == j.credit_cents
    ledger_net = sum(e.amount_cents for e in db.LedgerEntry.select())
    assert j.tie.ledger_net_cents == ledger_net == j.tie.member_net_cents and j.tie.ok
    assert [(t.number, t.deposit_cents, t.journal_cents) for t in j.tie.batches] == [(bt.number, 15_000, 15_000)]
    assert j.tie.ledger_count == 11 and dict((k, n) for k, n, _ in j.tie.by_kind)["payment"] == 2
    assert "ties" in gl.journal_text(j) and "DOES NOT TIE" not in gl.journal_text(j)


def test_a_day_is_closed_once_and_a_late_entry_goes_to_the_next_open_day_with_a_note(clerk):
    d1, d2 = TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)
    a = factories.account()
    entry(a, "bill", 10_000, d1, posted_at=dt.datetime.combine(d1, dt.time(9)))
    closed = gl.close_day(clerk, d1)
    assert closed.closed and len(closed.postings) == 1 and closed.balanced
    with pytest.raises(gl.AlreadyClosed):
        gl.close_day(clerk, d1)
    assert db.GlDay.select().count() == 1 and db.GlJournaled.select().count() == 1
    late = entry(a, "fee", 2_500, d1, reference="SO 500001", description="Trip fee")   # posted now: after the close
    entry(a, "bill", 3_000, d2)
    again = gl.journal(clerk, d1)                          # the closed day does not change
    assert [p.entry_id for p in again.postings] == [p.entry_id for p in closed.postings]
    assert again.lines == closed.lines
    nxt = gl.journal(clerk, d2)
    assert {p.entry_id for p in nxt.postings} >= {late} and nxt.late_count == 1
    (lp,) = [p for p in nxt.postings if p.late]
    assert lp.entry_id == late and "late: dated" in lp.note and lp.credit_account == "451.00"
    assert any("late entr" in n for n in nxt.notes)
    done = gl.close_day(clerk, d2, expect_digest=nxt.digest)
    assert done.late_count == 1 and done.tie.ok
    assert db.GlJournaled.get(db.GlJournaled.ledger_entry == late).late
    assert "incl. 1 late" in {ln.memo for ln in done.lines}
    assert db.AuditLog.select().where(db.AuditLog.action == "journal.close").count() == 2


def test_a_journal_for_a_future_day_is_refused_and_nothing_is_written(clerk):
    factories.account(bills=(1_000,))
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(gl.JournalRefused, match="in the future"):
        gl.journal(clerk, tomorrow)
    with pytest.raises(gl.JournalRefused, match="in the future"):
        gl.close_day(clerk, tomorrow)
    assert db.GlDay.select().count() == 0 and db.GlJournaled.select().count() == 0
    assert db.get_meta(gl.START_KEY) is None


def test_days_close_in_order_and_none_before_the_start(clerk):
    a = factories.account()
    d0 = TODAY - dt.timedelta(days=5)
    entry(a, "bill", 1_000, d0 - dt.timedelta(days=3), posted_at=dt.datetime.combine(d0 - dt.timedelta(days=3),
                                                                                        dt.time(8)))   # history
    entry(a, "bill", 2_000, d0, posted_at=dt.datetime.combine(d0, dt.time(8)))
    converted = entry(a, "bill", 1_500, d0 - dt.timedelta(days=40))      # a conversion's history, loaded now
    first = gl.close_day(clerk, d0)
    assert [p.amount_cents for p in first.postings] == [2_000]            # the history is the old system's
    returned = entry(a, "reversal", -1_500, d0 - dt.timedelta(days=2), reverses=converted)  # keyed after go-live
    nxt = gl.journal(clerk, d0 + dt.timedelta(days=1))
    assert [(p.entry_id, p.late) for p in nxt.postings] == [(returned, True)] and "before the journal" in \
        nxt.postings[0].note
    assert db.get_meta(gl.START_KEY) == d0.isoformat()
    with pytest.raises(gl.JournalRefused, match="began on"):
        gl.journal(clerk, d0 - dt.timedelta(days=1))
    skip = gl.journal(clerk, d0 + dt.timedelta(days=2))
    assert not skip.can_close and "in order" in skip.why_not
    with pytest.raises(gl.JournalRefused, match="in order"):
        gl.close_day(clerk, d0 + dt.timedelta(days=2))
    assert gl.next_open_day() == d0 + dt.timedelta(days=1)
    assert db.GlDay.select().count() == 1


def test_a_close_after_new_entries_since_the_preview_is_refused(clerk):
    a = factories.account()
    entry(a, "bill", 1_000, TODAY)
    preview = gl.journal(clerk, TODAY)
    entry(a, "bill", 2_000, TODAY)
    with pytest.raises(gl.JournalRefused, match="since the preview"):
        gl.close_day(clerk, TODAY, expect_digest=preview.digest)
    assert db.GlDay.select().count() == 0
    assert len(gl.close_day(clerk, TODAY).postings) == 2


def test_an_msr_may_not_see_or_close_the_journal(msr):
    with pytest.raises(PermissionDenied):
        gl.journal(msr, TODAY)
    with pytest.raises(PermissionDenied):
        gl.close_day(msr, TODAY)


def test_a_capital_credit_bill_credit_debits_capital_credits(clerk):
    a = factories.account()
    entry(a, "capcredit", -4_321, TODAY, description="Capital credits retired 1998")
    entry(a, "transfer", 1_000, TODAY, reference="CONV 31-60")       # a conversion run again: the difference
    j = gl.journal(clerk, TODAY)
    assert lines_by_account(j) == {"201.10": (4_321, 0), "142.00": (1_000, 4_321), "186.10": (0, 1_000)}
    assert j.tie.ok


def test_an_unmapped_kind_goes_to_suspense_with_a_note_and_still_balances(clerk):
    a = factories.account()
    entry(a, "rebate", -1_500, TODAY)                     # a kind no mapping knows
    j = gl.journal(clerk, TODAY)
    assert j.balanced and lines_by_account(j)["186.00"] == (1_500, 0)
    assert any("suspense" in n and "rebate" in n for n in j.notes)


def test_exports_csv_fixed_width_and_detail(clerk, tmp_path):
    a = factories.account()
    entry(a, "bill", 12_345, TODAY)
    entry(a, "payment", -10_000, TODAY, reference="CK 1001", description="Counter payment - check")
    j = gl.close_day(clerk, TODAY)
    files = gl.write_files(j, tmp_path)
    rows = files.csv.read_text().splitlines()
    assert rows[0] == "date,gl_account,gl_name,debit,credit,entries,memo"
    assert f"{TODAY.isoformat()},131.10,Cash - general fund (First Bank),100.00,0.00,1," in rows
    records = files.fixed.read_bytes().decode("ascii").split("\r\n")[:-1]
    assert all(len(r) == 80 for r in records)
    head, *details, trailer = records
    assert head.startswith(f"H{TODAY:%Y%m%d}KECTUI  000004") and head[23:38] == f"{22_345:015d}"
    assert trailer[:15] == f"T{TODAY:%Y%m%d}000004" and trailer[15:30] == trailer[30:45] == f"{22_345:015d}"
    debits = sum(int(r[30:45]) for r in details if r[29] == "D")
    credits = sum(int(r[30:45]) for r in details if r[29] == "C")
    assert debits == credits == 22_345
    assert {r[9:29].strip() for r in details} == {"142.00", "440.00", "131.10"}
    detail = files.detail.read_text().splitlines()
    assert len(detail) == 3 and detail[1].split(",")[5:7] == ["bill", "123.45"]
    assert "PREVIEW" not in files.csv.name
    assert "D debit or C credit" in gl.layout_text()


def test_the_coops_chart_overrides_the_shipped_one_key_by_key_and_bad_files_are_named(tmp_path):
    own = tmp_path / "gl_accounts.toml"
    own.write_text('[cash]\nlockbox = { number = "1010-20", name = "Lockbox - Idaho Central" }\n')
    chart = gl.load_chart(own)
    assert chart.get("cash.lockbox") == gl.GlAccount("1010-20", "Lockbox - Idaho Central")
    assert chart.get("accounts.receivable").number == "142.00"
    assert chart.get("revenue.XYZ").number == "440.00"                  # an unknown schedule: the default
    bad = {
        '[bank]\nx = { number = "1" }\n': "unknown section [bank]",
        '[cash]\ncheck = "131.10"\n': "cash.check must be",
        '[cash]\ncheck = { number = "131 10" }\n': "GL account number",
        '[accounts]\nrefunds = { number = "142.00" }\n': "could not tie",
        '[accounts]\nbogus = { number = "1" }\n': "unknown key accounts.bogus",
        "[cash\n": "gl_accounts.toml",
    }
    for text, message in bad.items():
        own.write_text(text)
        with pytest.raises(gl.ChartError, match=message.replace("[", r"\[")):
            gl.load_chart(own)
    own.write_bytes("[cash]\ncheck = { number = \"131.10\", name = \"Caf\xe9\" }\n".encode("latin-1"))
    with pytest.raises(gl.ChartError, match="not UTF-8"):
        gl.load_chart(own)


def test_parse_day():
    assert gl.parse_day("2026-03-05") == dt.date(2026, 3, 5) == gl.parse_day("03/05/2026")
    assert gl.parse_day("yesterday", dt.date(2026, 3, 5)) == dt.date(2026, 3, 4)
    with pytest.raises(gl.ValidationError):
        gl.parse_day("5th of March")


# ---- property: any day's journal balances and ties to the ledger ----------------------------------

KINDS = st.sampled_from(["bill", "payment", "fee", "deposit", "adjustment", "writeoff", "transfer", "reversal",
                         "mystery"])
ACTION = st.tuples(st.integers(0, 4), KINDS, st.integers(-50_000, 90_000), st.integers(-3, 2), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.lists(ACTION, max_size=8), min_size=1, max_size=5))
def test_any_days_journal_balances_and_ties_to_the_ledger(clerk, days):
    for model in (db.GlJournaled, db.GlLine, db.GlDay, db.GlChart, db.LedgerEntry):
        model.delete().execute()
    db.Meta_.delete().where(db.Meta_.key.in_([gl.START_KEY, gl.HISTORY_KEY])).execute()
    accts = list(db.Account.select().order_by(db.Account.id)) or \
        [factories.account(first=f"P{i}", rate_class=("RES", "SGS", "IRR")[i % 3]) for i in range(2)]
    start = TODAY - dt.timedelta(days=len(days) - 1)
    history = dt.datetime.combine(start - dt.timedelta(days=10), dt.time(12))
    entry(accts[0], "bill", 777, start - dt.timedelta(days=5), posted_at=history)       # the old system's books
    pending: dict[int, tuple[dt.date, int]] = {}          # the test's own model: entries not yet journaled
    made: list[int] = []
    history_ids: set[int] = set()
    for offset, actions in enumerate(days):
        day = start + dt.timedelta(days=offset)
        for who, kind, cents, back, positive in actions:
            eff = day + dt.timedelta(days=back)            # some dated earlier (late), some later (future)
            if kind == "reversal":
                if not made:
                    continue
                orig = db.LedgerEntry.get_by_id(made[-1])
                eid = entry(accts[who % 2], "reversal", -orig.amount_cents, eff, reverses=orig.id)
            else:
                cents = abs(cents) if positive or kind == "bill" else -abs(cents)
                eid = entry(accts[who % 2], kind, cents, eff, reference="ADJ METER" if kind == "adjustment" else "")
            made.append(eid)
            pending[eid] = (eff, db.LedgerEntry.get_by_id(eid).amount_cents)
        if offset == 0:                  # the first close: what is dated before it is the old books
            for i in [i for i, (eff, _) in pending.items() if eff < start]:
                del pending[i]
                history_ids.add(i)
        j = gl.close_day(clerk, day)
        expected = {i for i, (eff, _) in pending.items() if eff <= day}
        assert {p.entry_id for p in j.postings} == expected
        assert j.balanced and j.debit_cents == sum(abs(pending[i][1]) for i in expected)
        # the ledger's own sum of what this day journaled, read through the marks, against the journal's lines
        L, J = db.LedgerEntry, db.GlJournaled
        ledger = (L.select(db.pw.fn.COALESCE(db.pw.fn.SUM(L.amount_cents), 0)).join(J, on=(J.ledger_entry == L.id))
                  .join(db.GlDay, on=(J.day == db.GlDay.id)).where(db.GlDay.day == day).scalar())
        member = sum(ln.debit_cents - ln.credit_cents for ln in j.lines if ln.gl_account in ("142.00", "142.20"))
        assert int(ledger) == member == j.tie.ledger_net_cents and j.tie.ok
        assert sum(1 for p in j.postings if p.late) == sum(1 for i in expected if pending[i][0] < day)
        for i in expected:
            del pending[i]
    assert db.GlJournaled.select().count() == len(made) - len(pending) - len(history_ids)
    assert not db.GlJournaled.select().join(db.LedgerEntry).where(db.LedgerEntry.posted_at == history).exists()


def test_property_helper_paths_exist():
    assert Path(gl.shipped_file()).exists()
