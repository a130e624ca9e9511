"""The training walkthrough "Run billing for a cycle", completed with keys on the practice co-op
as its billing clerk: the register previewed, its exceptions read, approved by the practice
supervisor signing in, committed once, the statements written."""
from __future__ import annotations

from kec_tui import db
from kec_tui.services import billing_run, operators
from kec_tui.training import walkthroughs
from tests.screens.test_training import (  # noqa: F401 - the practice co-op fixtures and the helpers
    burst,
    literal,
    make_app,
    panel_text,
    practice,
    practice_file,
    step,
    until,
)
from tests.support.keys import settle


async def test_run_billing_for_a_cycle_walkthrough_completed_with_keys(practice, tmp_path):  # noqa: F811
    clerk = operators.by_username("billing1")
    app = make_app(practice, tmp_path, op=clerk, training="billrun")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        d = app.trainer.run.ctx.data
        assert walkthroughs.text(walkthroughs.BILLRUN.steps[1].title, d) == \
            f"Preview the register of cycle {d['cycle']}, {d['period']}"
        await burst(pilot, ["ctrl+w"])
        await until(pilot, lambda: step(app) == 1)
        await burst(pilot, ["f5", *literal(f"{d['cycle']}\r{d['period']}\r")])
        await until(pilot, lambda: step(app) == 2)
        assert billing_run.get_run(app.screen.run_id).status == "previewed"
        await burst(pilot, ["f4"])
        await until(pilot, lambda: step(app) == 3)
        assert "password practice" in panel_text(app)
        await burst(pilot, ["f8", *literal(f"{d['sup_user']}\r{d['sup_password']}\r")])
        await until(pilot, lambda: step(app) == 4)
        await burst(pilot, ["f10", "enter"])
        await until(pilot, lambda: app.trainer.run.complete, timeout=30)
        assert "complete (5 of 5)" in panel_text(app)
        run = db.BillingRun.get(db.BillingRun.cycle == d["cycle"], db.BillingRun.period == d["period"])
        assert run.status == "committed" and run.bill_count > 0
        assert run.bill_count == db.Bill.select().where(db.Bill.run == run.id).count()
        assert (tmp_path / "reports" / f"statements-cycle{d['cycle']}-{d['period']}.pdf").exists()
        # the next time, the next cycle is read and ready
        again = walkthroughs.BILLRUN.setup(walkthroughs.Ctx(app, clerk, db.now()))
        assert (again["cycle"], again["period"]) != (d["cycle"], d["period"])


async def test_run_billing_is_for_billing_clerks(practice, tmp_path):  # noqa: F811
    app = make_app(practice, tmp_path, training=True)                # the trainee: an MSR
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        why = app.trainer.start("billrun")
        assert "is for billing clerks and supervisors" in why and "--role billing" in why
