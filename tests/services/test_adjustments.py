"""Adjustments: reason codes, a supervisor above the limit, one ledger entry, audited,
and on the next statement."""
import pytest

from kec_tui import config, db
from kec_tui.services import accounts, adjustments, billing_run, operators, statements
from kec_tui.services.errors import NotFound, PermissionDenied, ValidationError
from tests import factories
from tests.services import billing_data as data


@pytest.fixture
def biller(database_any):
    return operators.create("bill1", "Bea Biller", "billing")


def test_an_adjustment_under_the_limit_posts_once_and_is_audited(database, biller):
    a = factories.account(bills=[12000])
    info = adjustments.adjust(biller, a.number, "meter", -2550, "register mis-read in March")
    assert (info.reason, info.amount_cents, info.approved_by) == ("METER", -2550, "")
    entry = db.LedgerEntry.get_by_id(info.ledger_entry_id)
    assert (entry.kind, entry.amount_cents, entry.reference) == ("adjustment", -2550, "ADJ METER")
    assert entry.description == "Adjustment: Meter error - register mis-read in March"
    assert accounts.balance(a.id) == 12000 - 2550
    assert db.AuditLog.get(db.AuditLog.action == "adjustment.post").after.startswith("-25.50 Adjustment: Meter error")


def test_over_the_limit_a_supervisor_signs_in(database, biller, supervisor, msr):
    a = factories.account(bills=[50000])
    with pytest.raises(PermissionDenied, match="need a supervisor"):
        adjustments.adjust(biller, a.number, "BILLING", -15000)
    other_biller = operators.create("bill2", "Other", "billing")
    with pytest.raises(PermissionDenied):
        adjustments.adjust(biller, a.number, "BILLING", -15000, approver=other_biller)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "adjustment").count() == 0
    info = adjustments.adjust(biller, a.number, "BILLING", -15000, approver=supervisor)
    assert info.approved_by == "super"
    assert db.Adjustment.get_by_id(info.id).approved_by_id == supervisor.id
    assert adjustments.adjust(supervisor, a.number, "COURTESY", -12000).approved_by == "super"   # their own limit
    assert adjustments.adjust(msr, a.number, "COURTESY", -500).approved_by == ""    # MSRs too, up to the limit
    with pytest.raises(PermissionDenied, match="need a supervisor"):
        adjustments.adjust(msr, a.number, "COURTESY", -15000)
    with pytest.raises(PermissionDenied):
        adjustments.adjust(operators.create("coll1", "Collector", "collections"), a.number, "COURTESY", -500)


def test_the_limit_is_a_setting():
    try:
        assert adjustments.configure(config.Settings(adjustment_limit_cents=50000)) == 50000
        with pytest.raises(ValueError):
            adjustments.configure(config.Settings(adjustment_limit_cents="lots"))
    finally:
        adjustments.configure(config.Settings())
    assert adjustments.limit_cents() == adjustments.LIMIT_CENTS


def test_bad_adjustments_are_refused(database, biller):
    a = factories.account()
    for reason, cents, note in (("NOPE", -100, ""), ("METER", 0, ""), ("OTHER", -100, " "), ("METER", 10**9, "")):
        with pytest.raises(ValidationError):
            adjustments.adjust(biller, a.number, reason, cents, note)
    with pytest.raises(NotFound):
        adjustments.adjust(biller, 999999, "METER", -100)
    assert db.LedgerEntry.select().where(db.LedgerEntry.kind == "adjustment").count() == 0


def test_an_adjustment_shows_on_the_next_statement(database, biller, supervisor):
    data.load_rates()
    a = data.account(kwh=800, paid=False)
    adjustments.adjust(biller, a.number, "ASSIST", -4000, "LIHEAP pledge")
    reg = billing_run.preview(biller, 1, data.PERIOD)
    billing_run.approve(supervisor, reg.run.id)
    billing_run.commit(biller, reg.run.id)
    s = statements.build(billing_run.bills_of_run(reg.run.id)[0])
    assert [x.description for x in s.activity] == ["Adjustment: Energy assistance - LIHEAP pledge"]
    assert (s.previous_balance_cents, s.other_cents, s.amount_due_cents) == (10000, -4000, 10000 - 4000 + 10620)


def test_the_command_line_takes_the_billing_settings(tmp_path, monkeypatch):
    from kec_tui import cli
    from kec_tui.services import billing_run, readings

    conf = tmp_path / "config.toml"
    conf.write_text('adjustment_limit_cents = 25000\nreading_high_factor = "3.0"\nbudget_settlement_month = 9\n'
                    '[bill_cycle_days]\n1 = 5\n2 = 12\n')
    try:
        assert cli.main(["--config", str(conf), "--db", str(tmp_path / "c.db"), "operator", "list"]) == 0
        assert adjustments.limit_cents() == 25000
        assert readings._rules.high_factor == 3
        assert billing_run._settings.budget_settlement_month == 9 and billing_run._settings.cycle_days == {1: 5, 2: 12}
    finally:
        for area in (readings, billing_run, adjustments):
            area.configure(config.Settings())
        db.database.close()
