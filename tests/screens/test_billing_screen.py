"""The billing run screens (screens/billing.py): runs, a preview keyed by cycle and period, the
register, approval by a supervisor (or one signing in on the spot), commit and statements,
cancel/rebill, export. Keys go as bursts (tests/support/keys.py); what is asserted is what the
database holds."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable

from kec_tui import db
from kec_tui.screens.billing import BillingScreen, NewRunDialog, RegisterScreen
from kec_tui.services import billing_run, operators, passwords
from kec_tui.widgets.supervisor import SupervisorDialog
from tests.support import billing
from tests.support.batch import expand, make_app, press
from tests.support.keys import send_burst, settle

PERIOD = billing.PERIOD
BOSS_PASSWORD = "boss-secret-1"


@pytest.fixture
def cycle(sqlite_db):
    return billing.cycle()


@pytest.fixture
def clerk(sqlite_db):
    return operators.create("bill1", "Bea Biller", "billing")


@pytest.fixture
def boss(sqlite_db):
    op = operators.create("boss", "Sam Super", "supervisor")
    passwords.set_password("boss", BOSS_PASSWORD)
    return op


def runs() -> list[tuple[int, str, str, int]]:
    BR = db.BillingRun
    return list(BR.select(BR.cycle, BR.period, BR.status, BR.bill_count).order_by(BR.id).tuples())


def expected_bills(cycle) -> list[tuple[int, int]]:
    """(account number, cents) of cycle 1 as the service plans it: what the screen must write."""
    bills, _ = billing_run.plan(1, PERIOD)
    return sorted((b.account_number, b.charged_cents) for b in bills)


def register_text(app) -> str:
    table = app.screen.query_one("#bills", DataTable)
    return "\n".join(" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


def message(app) -> str:
    return str(app.screen.query_one("#message").render())


async def committed(pilot) -> None:
    await settle(pilot, lambda: isinstance(pilot.app.screen, RegisterScreen) and pilot.app.screen.busy == ""
                 and pilot.app.screen.view is not None and pilot.app.screen.run.status == "committed")
    await pilot.app.workers.wait_for_complete()
    await settle(pilot, lambda: pilot.app.screen.busy == "")


async def test_preview_approve_commit_in_one_burst(cycle, boss, sqlite_db, tmp_path):
    want = expected_bills(cycle)
    app = make_app(sqlite_db, boss, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Ctrl+W, New run, cycle and period, approve (Enter confirms), commit (Enter confirms): one burst.
        send_burst(app, expand("ctrl+w", "f5", "1", "enter", PERIOD, "enter", "f8", "enter", "f10", "enter"))
        await committed(pilot)
        assert billing.bills_of_cycle(1) == want and len(want) == 8
        assert billing.bills_of_cycle(2) == []                      # the other cycle untouched
        assert runs() == [(1, PERIOD, "committed", 8)]
        assert db.AuditLog.select().where(db.AuditLog.action == "billing.approve").count() == 1
        reports = tmp_path / "reports"
        assert (reports / f"statements-cycle1-{PERIOD}.csv").read_text().count("\n") == 9    # header + 8
        assert (reports / f"statements-cycle1-{PERIOD}.pdf").read_bytes().startswith(b"%PDF-")
        assert "8 statements" in message(app) and str(reports) in message(app)
        # a second commit of the period is refused by the service, nothing written twice
        await press(pilot, "f10")
        await settle(pilot, lambda: app.screen.busy == "")
        assert isinstance(app.screen, RegisterScreen) and "Cycle 1 2025-05 is already billed (8 bills" in message(app)
        assert db.Bill.select().count() == 8 and runs() == [(1, PERIOD, "committed", 8)]
        # back to the runs: the committed run listed; previewing the period again is refused at the form
        await press(pilot, "escape")
        assert isinstance(app.screen, BillingScreen)
        row = app.screen.query_one("#runs", DataTable).get_row_at(0)
        assert [str(c) for c in row[:4]] == ["1", PERIOD, "committed", "8"]
        await press(pilot, "f5", "1", "enter", PERIOD, "enter", "f8")
        assert isinstance(app.screen, NewRunDialog) and app.screen.form.locked
        assert "Cycle 1 2025-05 is committed: it cannot be previewed again" in app.screen.form.error
        assert db.Bill.select().count() == 8


async def test_a_bad_period_locks_and_the_keys_typed_after_it_write_nothing(cycle, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+w", "f5", "1", "enter", "2025-13", "enter", "2025-05", "enter", "f8"))
        await settle(pilot, lambda: isinstance(app.screen, NewRunDialog) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "period" and "A period is YYYY-MM, not '2025-13'" in form.error
        # the period and Enter typed after it are held (F8 is not the form's key: nothing to approve here)
        assert form.held_keys == 8 and "8 keys typed after it were not used" in form.error_text
        assert runs() == [] and db.Bill.select().count() == 0     # nothing previewed, nothing billed
        # Esc resets the period; a cycle that does not exist is refused the same way
        await press(pilot, "escape", "shift+tab")
        await press(pilot, "ctrl+e", "9", "enter", "x")
        assert form.locked and "No bill cycle 9" in form.error and form.held_keys == 1
        await press(pilot, "escape", "1", "enter", PERIOD, "enter")
        await settle(pilot, lambda: isinstance(app.screen, RegisterScreen))
        assert runs() == [(1, PERIOD, "previewed", 0)] and db.Bill.select().count() == 0


async def test_a_cycle_with_nothing_to_bill_gives_the_services_reason(cycle, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+w", "f5", "3", "enter", PERIOD, "enter", "f8", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, NewRunDialog) and app.screen.form.locked)
        assert "Cycle 3 2025-05: nothing to bill" in app.screen.form.error
        assert app.screen.form.current == "period"           # Esc, then the month is keyed again
        assert db.Bill.select().count() == 0 and db.BillingRun.select().where(
            db.BillingRun.status != "previewed").count() == 0


async def test_a_clerk_approves_only_with_a_supervisor_signing_in(cycle, clerk, boss, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+w", "f5", "1", "enter", PERIOD, "enter", "f8",
                               "boss", "enter", "wrong-one", "enter", "f10", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, SupervisorDialog) and app.screen.form.locked)
        dialog = app.screen
        # what is approved says its exceptions, not only the register's foot (cycle(): one of each)
        assert "Exceptions: " in dialog.about and "high" in dialog.about and "F4 lists them" in dialog.about
        # F10 typed behind is not the form's (no commit from here); the Enter behind it is held
        assert "Supervisor sign-in refused" in dialog.form.error and dialog.form.held_keys == 1
        assert runs() == [(1, PERIOD, "previewed", 0)]             # nothing approved, nothing billed
        assert db.AuditLog.select().where(db.AuditLog.action == "login.refused").count() == 1
        # a clerk's own name is not a supervisor's, whatever the password
        passwords.set_password("bill1", "clerk-secret-1")
        await press(pilot, "escape", "shift+tab", "ctrl+e", "bill1", "enter", "clerk-secret-1", "enter")
        assert "Only a supervisor may approve a billing run; bill1 (billing) may not" in dialog.form.error
        assert runs() == [(1, PERIOD, "previewed", 0)]
        await press(pilot, "escape", "shift+tab", "ctrl+e", "boss", "enter", BOSS_PASSWORD, "enter")
        await settle(pilot, lambda: isinstance(app.screen, RegisterScreen))
        run = billing_run.get_run(app.screen.run_id)
        assert (run.status, run.approved_by) == ("approved", "boss")
        # the clerk commits what the supervisor approved
        await press(pilot, "f10", "enter")
        await committed(pilot)
        assert len(billing.bills_of_cycle(1)) == 8


async def test_cancel_rebill_and_export_from_the_register(cycle, boss, sqlite_db, tmp_path):
    reg = billing_run.preview(boss, 1, PERIOD)
    billing_run.approve(boss, reg.run.id)
    billing_run.commit(boss, reg.run.id)
    app = make_app(sqlite_db, boss, tmp_path)
    plain = cycle["plain0"]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+w", "enter")                       # the committed run's register
        assert isinstance(app.screen, RegisterScreen) and "Plain Reader0" in register_text(app)
        # the first row is account plain0: cancel it with a reason, and (typed ahead) the third one too
        await press(pilot, "f9", "meter misread", "enter", "down", "down", "f9", "read twice", "enter")
        bill = db.Bill.get(db.Bill.account == plain.id)
        assert bill.status == "cancelled" and bill.cancel_reason == "meter misread"
        third = db.Bill.get(db.Bill.account == cycle["plain2"].id)
        assert third.status == "cancelled" and third.cancel_reason == "read twice"
        assert register_text(app).count("CANCELLED") == 2
        assert db.AuditLog.select().where(db.AuditLog.action == "bill.cancel").count() == 2
        # rebill the second one for 650 kWh
        await press(pilot, "up", "f6", "650", "enter", "reading corrected", "enter")
        other = cycle["plain1"]
        new = db.Bill.get(db.Bill.account == other.id, db.Bill.kind == "rebill")
        assert new.kwh == 650 and db.Bill.get(db.Bill.account == other.id, db.Bill.run == reg.run.id).status == \
            "cancelled"
        assert "rebilled" in message(app)
        # the exceptions only, then every bill; the export
        await press(pilot, "f4")
        assert "Plain Reader3" not in register_text(app) and "Big Mill" in register_text(app)
        await press(pilot, "f4", "f7")
        out = tmp_path / "reports" / f"register-cycle1-{PERIOD}.csv"
        assert out.exists() and "Plain Reader3" in out.read_text()
        assert (tmp_path / "reports" / f"register-cycle1-{PERIOD}.pdf").read_bytes().startswith(b"%PDF-")


async def test_the_billing_run_is_for_billing_clerks_and_supervisors(cycle, sqlite_db, tmp_path):
    app = make_app(sqlite_db, operators.create("msr1", "Pat Keyer", "msr"), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "ctrl+w")
        assert not isinstance(app.screen, BillingScreen)
        assert any("billing run is for billing clerks" in n.message for n in app._notifications)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_register_snapshot(cycle, clerk, sqlite_db, tmp_path, snap_compare, size):
    """The register of cycle 1 as previewed: fixed names, readings and dates, so the same each run."""
    app = make_app(sqlite_db, clerk, tmp_path)

    async def run_before(pilot):
        await settle(pilot)
        send_burst(app, expand("ctrl+w", "f5", "1", "enter", PERIOD, "enter"))
        await settle(pilot, lambda: isinstance(app.screen, RegisterScreen))
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_committing_a_run_not_approved_gives_the_services_message(cycle, clerk, sqlite_db, tmp_path):
    app = make_app(sqlite_db, clerk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        send_burst(app, expand("ctrl+w", "f5", "1", "enter", PERIOD, "enter", "f10", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, RegisterScreen) and "not approved" in message(app))
        await pilot.app.workers.wait_for_complete()
        assert "Cycle 1 2025-05 is not approved: a supervisor approves the register first" in message(app)
        assert runs() == [(1, PERIOD, "previewed", 0)] and db.Bill.select().count() == 0
