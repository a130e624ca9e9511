"""The billing register (services/billing_register.py) without a screen: the recent runs, a
run's register before and after commit, its text, CSV and PDF, the commit's progress.
SQLite and PostgreSQL."""

import csv
import io
from decimal import Decimal

import pytest

from kec_tui import db
from kec_tui.services import billing_register as br, billing_run, operators
from tests.services import billing_data as data
from tests.support.pdf import pdf_text


@pytest.fixture
def biller(database_any):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def cycle(database, biller, supervisor):
    data.load_rates()
    made = {
        "plain": data.account(kwh=800, first="Plain", last="Reader"),
        "high": data.account(kwh=2000, first="High", last="User"),
        "zero": data.account(kwh=0, first="Zero", last="Use"),
        "unread": data.account(kwh=None, first="Not", last="Read"),
        "big": data.account(kwh=40000, history=30000, rate_class="LGS", demand_kw=Decimal("45.5"),
                            first="Big", last="Mill"),
        "nothing": data.account(kwh=None, months=0, first="No", last="History"),
    }
    return made


def test_a_preview_register_lists_bills_exceptions_and_totals(cycle, biller):
    reg = billing_run.preview(biller, 1, data.PERIOD)
    view = br.from_register(reg)
    by = {ln.account_id: ln for ln in view.lines}
    plain, high, zero, unread, big = (cycle[k] for k in ("plain", "high", "zero", "unread", "big"))
    assert by[plain.id].exceptions == () and by[plain.id].charged_cents == 10620 and by[plain.id].flags == ""
    assert by[high.id].exceptions == ("high",) and by[zero.id].exceptions == ("zero",)
    assert by[unread.id].exceptions == ("no_reading", "estimated") and by[unread.id].flags == "est"
    assert "over_limit" in by[big.id].exceptions
    assert {ln.account_id for ln in view.exceptions_only()} == {high.id, zero.id, unread.id, big.id}
    assert view.total_cents == reg.total_cents and view.not_billed == [
        (cycle["nothing"].number, "no reading this period and no use to estimate from")]

    text = br.register_text(view)
    assert all(len(line) <= br.WIDTH for line in text.splitlines())
    assert f"Cycle 1  period {data.PERIOD}  bill date 05/03/2025  due 05/23/2025  previewed" in text
    assert f"{plain.number:>8} Plain Reader" in text and "106.20" in text
    assert "High use                    1" in text and "Over the review limit" in text
    assert "no reading this period and no use to estimate from" in text
    assert f"Bills          {len(view.lines):>12,}" in text
    only = br.register_text(view, exceptions_only=True)
    assert "Exceptions only: 4 of 5 bills" in only and f"{plain.number:>8} Plain" not in only

    rows = list(csv.DictReader(io.StringIO(br.register_csv(view))))
    assert list(rows[0]) == br.CSV_COLUMNS
    mine = {r["account"]: r for r in rows}
    assert mine[str(plain.number)]["charged"] == "106.20" and mine[str(unread.number)]["estimated"] == "Y"
    assert mine[str(cycle["nothing"].number)]["exceptions"] == "not_billed"
    pdf = pdf_text(br.register_pdf(view))
    assert "billing register" in pdf and "Plain Reader" in pdf and "106.20" in pdf


def test_a_run_not_committed_loads_as_it_would_bill_without_touching_its_approval(cycle, biller, supervisor):
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(supervisor, reg.run.id)
    audits = db.AuditLog.select().count()
    view = br.load(reg.run.id)
    assert view.run.status == "approved" and view.run.approved_by == "super"
    assert [ln.account_id for ln in view.lines] == [b.account_id for b in reg.bills]
    assert db.AuditLog.select().count() == audits and billing_run.get_run(reg.run.id).status == "approved"
    assert "approved by super" in br.register_text(view)


def test_a_committed_run_loads_its_bills_cancelled_marked_and_lists_in_recent_runs(cycle, biller, supervisor):
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(supervisor, reg.run.id)
    seen: list[tuple[int, int]] = []
    run = br.commit(biller, reg.run.id, progress=lambda written, of: seen.append((written, of)))
    assert run.status == "committed" and run.bill_count == 5
    assert seen and seen[-1] == (5, 5)                           # told after each chunk, to the last
    view = br.load(reg.run.id)
    assert sorted(ln.account_id for ln in view.lines) == sorted(b.account_id for b in reg.bills)
    assert all(ln.bill_id and ln.status == "billed" for ln in view.lines)
    by = {ln.account_id: ln for ln in view.lines}
    assert by[cycle["unread"].id].exceptions == ("no_reading", "estimated")
    assert by[cycle["zero"].id].exceptions == ("zero",) and "over_limit" in by[cycle["big"].id].exceptions
    assert view.total_cents == reg.total_cents

    billing_run.cancel_bill(biller, by[cycle["plain"].id].bill_id, "meter misread")
    view = br.load(reg.run.id)
    assert view.total_cents == reg.total_cents - 10620
    assert "CANCELLED" in br.register_text(view) and "(1 cancelled)" in br.register_text(view)

    other = billing_run.preview(biller, 2, data.PERIOD)           # an empty cycle: previewed, nobody billed
    runs = br.recent_runs()
    assert [(r.cycle, r.status) for r in runs] == [(2, "previewed"), (1, "committed")]
    assert runs[1].bills == 5 and runs[1].who == "bill1" and runs[1].when is not None
    assert runs[0].id == other.run.id and runs[0].bills == 0


def test_the_register_files_are_written_where_asked(cycle, biller, tmp_path):
    view = br.from_register(billing_run.preview(biller, 1, data.PERIOD))
    files = br.write_register(view, tmp_path / "out")
    assert files.csv.name == f"register-cycle1-{data.PERIOD}.csv" and files.pdf.read_bytes().startswith(b"%PDF-")
    assert files.csv.read_text().splitlines()[0] == ",".join(br.CSV_COLUMNS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(br.ServiceError, match="Cannot write the register"):
        br.write_register(view, blocker / "sub")


def test_commit_progress_refuses_as_the_service_does(cycle, biller, supervisor):
    reg = billing_run.preview(biller, 1, data.PERIOD)
    with pytest.raises(billing_run.NotApproved):
        br.commit(biller, reg.run.id, progress=lambda w, n: None)
    billing_run.approve(supervisor, reg.run.id)
    br.commit(biller, reg.run.id, progress=lambda w, n: None)
    with pytest.raises(billing_run.AlreadyCommitted, match="already billed"):
        br.commit(biller, reg.run.id, progress=lambda w, n: None)
    assert db.Bill.select().count() == 5


def test_the_cycles_statements_tell_their_progress(cycle, biller, supervisor, tmp_path):
    from kec_tui.services import statements

    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(supervisor, reg.run.id)
    br.commit(biller, reg.run.id)
    seen: list[tuple[int, int]] = []
    out = statements.print_cycle(reg.run.id, tmp_path, progress=lambda done, of: seen.append((done, of)))
    assert out.statements == 5
    assert [d for d, _ in seen] == list(range(1, 11)) and {of for _, of in seen} == {10}   # built, then drawn
