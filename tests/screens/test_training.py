"""Training mode: walkthroughs completed by driving the real screens with keys; the panel never
takes the focus or a key; the practice database; keystrokes recorded under the trainee."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from textual.widgets import OptionList

from kec_tui import db, money
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.batch_entry import BatchEntryScreen
from kec_tui.screens.contacts import ContactScreen
from kec_tui.screens.lookup import LookupScreen
from kec_tui.services import operators
from kec_tui.training import MARKER, NotPractice, build_practice, open_practice, trainee_operator, walkthroughs
from kec_tui.training.panel import TrainingMenu, TrainingPanel
from kec_tui.widgets.line_input import LineInput
from tests.support.keys import send_burst, settle

SMALL = {"accounts": 150, "months": 3}


@pytest.fixture(scope="module")
def practice_file(tmp_path_factory):
    """One small practice co-op, built by the real builder, copied for each test."""
    path = tmp_path_factory.mktemp("practice") / "practice.db"
    build_practice(path, **SMALL)
    return path


@pytest.fixture
def practice(practice_file, tmp_path):
    path = tmp_path / "practice.db"
    path.write_bytes(practice_file.read_bytes())
    open_practice(path)
    yield path
    db.database.close()


def make_app(practice, tmp_path, op=None, training=True) -> KecApp:
    op = op or trainee_operator("trainee1")
    settings = Settings(db=str(practice), theme="textual-dark", idle_lock_minutes=0,
                        reports_dir=str(tmp_path / "reports"))
    return KecApp(settings, op, training=training)


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Wait for the trainer's timer or a screen change to catch up (the checks are not per key)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the walkthrough did not move on in time")
        await pilot.pause(0.05)


def panel_text(app) -> str:
    panels = list(app.screen.query(TrainingPanel))
    assert panels, f"no training panel on {app.screen!r}"
    return " ".join(panels[0].render().plain.split())      # words wrapped across lines read as one


def step(app) -> int:
    return app.trainer.run.step


async def burst(pilot, keys: list[str]) -> None:
    send_burst(pilot.app, keys)
    await settle(pilot)
    await pilot.app.workers.wait_for_complete()
    await settle(pilot)


def literal(text: str) -> list[str]:
    return ["enter" if ch == "\r" else ch for ch in text]


# ---- a whole walkthrough, by keys --------------------------------------------------------------------

async def test_update_a_contact_walkthrough_completed_with_keys(practice, tmp_path):
    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        assert app.title == MARKER and "step 1 of 4" in panel_text(app) and "TRAINING" in panel_text(app)
        assert data["new_phone_fmt"] in panel_text(app)            # the caller's words are on screen
        spoken = data["caller"].split(",")[0].removeprefix('"This is ')
        await burst(pilot, [*spoken.lower(), "enter"])
        await until(pilot, lambda: step(app) == 1)
        assert isinstance(app.screen, AccountScreen) and app.screen.account_id == data["account_id"]
        assert "step 2 of 4" in panel_text(app) and "✔ Done" in panel_text(app)
        await pilot.press("f6")
        await until(pilot, lambda: step(app) == 2)
        assert isinstance(app.screen, ContactScreen)
        assert "TRAINING" in panel_text(app)                        # on the dialog too
        await burst(pilot, ["enter", "ctrl+e", *data["new_phone_fmt"], "f10"])
        await until(pilot, lambda: step(app) == 3)
        await pilot.press("f12")
        await until(pilot, lambda: app.trainer.run.complete)
        text = panel_text(app)
        assert "complete (4 of 4)" in text and "Walkthrough complete" in text
        m = db.Member.get_by_id(data["member_id"])
        assert m.phone_mobile == data["new_phone"]
        assert "contact" in app.trainer.done
        assert db.get_meta("training.done.trainee1") == "contact"


async def test_payment_batch_walkthrough_completed_with_keys(practice, tmp_path):
    app = make_app(practice, tmp_path, training="batch")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await burst(pilot, ["enter", "enter", *literal(f"{data['count']}\r{data['total_keyed']}\r")])
        await until(pilot, lambda: step(app) == 1)
        assert isinstance(app.screen, BatchEntryScreen)
        text = panel_text(app)
        assert "SCAN" in text and "step 2 of 3" in text             # the printed stubs, in the panel
        keys: list[str] = []
        wrong = data["stubs"][3]
        for s in data["stubs"]:
            if "scan" in s:
                keys += literal(s["scan"] + "\r")                  # one Enter writes a scanned stub
            elif s["cents"] == s["due_cents"]:
                keys += literal(f"{s['number']}\r\r{s['check_no']}\r")   # Enter takes the amount due
            else:
                keys += literal(f"{s['number']}\r{money.to_decimal(s['cents'] + 100)}\r{s['check_no']}\r")
        await burst(pilot, keys)                                   # heads down: all of it typed ahead
        await until(pilot, lambda: "is not on the stub list" in app.trainer.feedback)
        assert "Not yet" in panel_text(app) and step(app) == 1
        # Correct the mis-keyed amount: F6 to the lines, Enter on the last, fix the amount.
        await pilot.press("f6", "end", "enter")
        await settle(pilot)
        await burst(pilot, ["enter", "ctrl+e", *literal(f"{money.to_decimal(wrong['cents'])}\r"), "enter"])
        await until(pilot, lambda: step(app) == 2)
        await pilot.press("escape", "f10")
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: app.trainer.run.complete)
        assert "complete (3 of 3)" in panel_text(app)
        b = db.PaymentBatch.get(db.PaymentBatch.operator == app.operator.id)
        assert b.status == "posted" and b.control_total_cents == data["total_cents"]
        assert (tmp_path / "reports").exists()                    # the practice folder, not the live one


async def test_billing_question_checks_the_noted_answer(practice, tmp_path):
    app = make_app(practice, tmp_path, training="billing")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        due = dt.date.fromisoformat(data["due_date"])
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        await pilot.press("f7")
        await settle(pilot)
        await burst(pilot, [*"told the member $1.00 due today", "ctrl+s"])
        await until(pilot, lambda: "amount due" in app.trainer.feedback)
        assert step(app) == 1
        await pilot.press("f7")
        await settle(pilot)
        await burst(pilot, [*f"Asked about bill: told {money.fmt_dollars(data['due_cents'])} due {due:%m/%d/%Y}",
                            "ctrl+s"])
        await until(pilot, lambda: app.trainer.run.complete)


async def test_service_order_walkthrough_completed_with_keys(practice, tmp_path):
    if walkthroughs.by_name("order").coming():
        pytest.skip("the service order screens are not in this build")
    app = make_app(practice, tmp_path, training="order")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        app.open_account(data["account_id"])
        await until(pilot, lambda: step(app) == 1)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await burst(pilot, ["o", "enter", "enter", "enter", "enter"])     # o: other, not a re-read
        await until(pilot, lambda: "re-read" in app.trainer.feedback)
        assert "cancel it" in app.trainer.feedback and step(app) == 1
        await pilot.press("ctrl+n")
        await settle(pilot)
        await burst(pilot, ["r", "r", "enter", "enter", "enter", "y", "enter", *literal("reading disputed\r")])
        await until(pilot, lambda: step(app) == 2)
        await pilot.press("f4")
        await until(pilot, lambda: app.trainer.run.complete)
        assert db.ServiceOrder.get(db.ServiceOrder.operator == app.operator.id, db.ServiceOrder.kind == "reread")


async def test_new_account_with_a_bad_debt_hit_walkthrough_completed_with_keys(practice, tmp_path):
    if walkthroughs.by_name("membership").coming():
        pytest.skip("the membership screen is not in this build")
    app = make_app(practice, tmp_path, training="membership")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        d = app.trainer.run.ctx.data
        await pilot.press("f9")
        await until(pilot, lambda: step(app) == 1)
        applicant = (f"{d['first']}\r{d['last']}\r{d['tax_id']}\r{d['birth']}\r\r{d['phone']}\r\r\r"
                     f"\r\r{d['prior_street']}\r{d['location_no']}\r")
        await burst(pilot, literal(applicant))
        await until(pilot, lambda: step(app) == 2)
        assert d["owed"] in panel_text(app)
        await burst(pilot, literal(f"y\r{d['sup_user']}\r{d['sup_password']}\rPays old balance on arrangement\r"
                                   "\r\r\r\r\ry\r"))
        await until(pilot, lambda: app.trainer.run.complete)
        assert "complete (3 of 3)" in panel_text(app)
        assert db.AuditLog.select().where(db.AuditLog.action == "bad_debt.override").count() == 1


async def test_key_a_reading_route_walkthrough_completed_with_keys(practice, tmp_path):
    app = make_app(practice, tmp_path, op=trainee_operator("clerk1", "billing"), training="readings")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        sheet = data["sheet"]
        R = db.Reading
        before = {r.id for r in R.select(R.id).where(R.read_date == dt.date.today())}   # the practice cycle's
        assert "step 1 of 3" in panel_text(app) and f"key the cycle, {data['cycle']}" in panel_text(app)
        # Heads down: the route opened and the whole sheet keyed as one burst; the mis-read locks, F9.
        keys = ["ctrl+y", *literal(f"{data['cycle']}\r")]
        for s in sheet:
            keys += literal(f"{s['reading']}\r")
        await burst(pilot, [*keys, "f9"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert "complete (3 of 3)" in panel_text(app)
        got = {r.account_id: r.reading for r in R.select().where(R.read_date == dt.date.today(), R.id.not_in(before))}
        assert got == {s["account_id"]: s["reading"] for s in sheet[:-1]}
        order = db.ServiceOrder.get(db.ServiceOrder.account == sheet[-1]["account_id"])
        assert order.kind == "reread" and order.operator_id == app.operator.id


async def test_a_mis_keyed_reading_is_named_and_an_msr_is_told_to_train_as_billing(practice, tmp_path):
    app = make_app(practice, tmp_path, op=trainee_operator("clerk2", "billing"), training="readings")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sheet = app.trainer.run.ctx.data["sheet"]
        wrong = sheet[1]["reading"] + 10                   # a digit slipped, not far enough to be refused
        keys = ["ctrl+y", *literal(f"{app.trainer.run.ctx.data['cycle']}\r{sheet[0]['reading']}\r{wrong}\r")]
        await burst(pilot, keys)
        await until(pilot, lambda: "was saved as" in app.trainer.feedback)
        assert f"the sheet says {sheet[1]['reading']:,}" in app.trainer.feedback and step(app) == 1
    app = make_app(practice, tmp_path, op=trainee_operator("clerk2", "msr"), training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.trainer.start("readings") == walkthroughs.BILLING_ONLY


async def test_work_the_reading_exceptions_walkthrough_completed_with_keys(practice, tmp_path):
    app = make_app(practice, tmp_path, op=trainee_operator("clerk3", "billing"), training="exceptions")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = app.trainer.run.ctx.data
        R = db.Reading
        before = {r.id for r in R.select(R.id).where(R.read_date == dt.date.today())}   # the practice cycle's
        assert "step 1 of 4" in panel_text(app)
        # The queue holds the three reads, oldest first: no use, letters, lower. One burst works them all.
        await burst(pilot, ["ctrl+y", "f6", "f8", "enter", *literal(f"{data['fix']}\r"), "f9"])
        await until(pilot, lambda: app.trainer.run.complete)
        assert "complete (4 of 4)" in panel_text(app)
        X = db.ReadingException
        assert [X.get_by_id(data[k]["exception_id"]).status for k in ("zero", "letters", "lower")] == [
            "accepted", "corrected", "reread"]
        got = {r.account_id: r.reading for r in R.select().where(R.read_date == dt.date.today(), R.id.not_in(before))}
        assert got == {data["zero"]["account_id"]: data["zero"]["last"],
                       data["letters"]["account_id"]: data["letters"]["fix"]}


def test_note_answers_reads_amounts_and_dates():
    due = dt.date(2025, 12, 5)
    assert walkthroughs.note_answers("told $1,084.17 due 12/05/2025", 108417, due) == (True, True)
    assert walkthroughs.note_answers("told 84.17, due Dec 5", 8417, due) == (True, True)
    assert walkthroughs.note_answers("told $84.71 due 12/5/24", 8417, due) == (False, False)


async def test_the_wrong_account_is_named(practice, tmp_path):
    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        other = db.Account.select().where(db.Account.id != app.trainer.run.ctx.data["account_id"]).first()
        app.open_account(other.id)
        await until(pilot, lambda: "not the caller's" in app.trainer.feedback)
        assert step(app) == 0 and "Not yet" in panel_text(app)


# ---- the panel never takes the focus or a key ------------------------------------------------------------

async def test_panel_takes_no_focus_and_no_keys(practice, tmp_path):
    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(TrainingPanel)
        assert not panel.can_focus and panel not in app.screen.focus_chain
        search = app.screen.query_one("#search", LineInput)
        assert app.focused is search
        typed = "smith 88 w prairie ave 2086661234 jsmith@frontier"
        send_burst(app, list(typed))                    # every key queued before anything is awaited
        await settle(pilot)
        assert search.value == typed and app.focused is search
        await pilot.click(TrainingPanel)                 # a click on the band does not take the focus either
        assert app.focused is search
        await pilot.press("tab", "tab", "tab")
        assert app.focused is not panel
        assert app.keystats.pending()[dt.date.today()].keys >= len(typed)


async def test_ctrl_g_pages_and_folds_ctrl_l_lists(practice, tmp_path):
    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(TrainingPanel)
        assert panel.outer_size.height == 4 and panel.region.bottom == 23   # above the Footer at 80x24
        pages = len(panel.pages())
        assert "Do:" in panel_text(app)
        await pilot.press("ctrl+g")
        assert "Hint 1/" in panel_text(app)
        for _ in range(pages - 1):
            await pilot.press("ctrl+g")
        await settle(pilot)
        assert app.trainer.folded and panel.outer_size.height == 1
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert not app.trainer.folded and "Do:" in panel_text(app)
        assert app.screen.query_one("#search", LineInput).value == ""   # the guide keys never typed
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, TrainingMenu)
        menu = app.screen.query_one(OptionList)
        menu.highlighted = [o.id for o in menu.options].index("billing")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen) and app.trainer.run.walkthrough.name == "billing"


async def test_tall_terminal_shows_more_of_the_guide(practice, tmp_path):
    app = make_app(practice, tmp_path, training="batch")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(TrainingPanel)
        assert panel.outer_size.height == 7
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen.query_one(TrainingPanel).region.bottom == 39


async def test_walkthroughs_without_their_screen_are_coming(practice, tmp_path, monkeypatch):
    real = walkthroughs.load
    monkeypatch.setattr(walkthroughs, "load", lambda path: None if "orders" in path else real(path))
    assert "coming" in walkthroughs.by_name("order").coming()
    app = make_app(practice, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TrainingMenu)       # no walkthrough named: the list first
        menu = app.screen.query_one(OptionList)
        assert menu.get_option("order").disabled and not menu.get_option("contact").disabled
        assert "coming" in app.trainer.start("order")
        assert app.trainer.run is None


async def test_not_training_keeps_ctrl_g_ordinary(practice, tmp_path):
    app = make_app(practice, tmp_path, training=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.trainer is None and not list(app.screen.query(TrainingPanel))
        await pilot.press("ctrl+g", "ctrl+l")
        assert isinstance(app.screen, LookupScreen)


# ---- the practice database and the trainee ----------------------------------------------------------------

def test_practice_database_is_marked_and_seeded(practice):
    assert db.get_meta("practice") == "1"
    scenario = walkthroughs.by_name("membership").setup(walkthroughs.Ctx(None, None, db.now()))
    from kec_tui.services import memberships

    found = memberships.bad_debt_audit((scenario["first"], scenario["last"]), phone=scenario["phone"])
    hit = next(h for h in found.hits if h.account_number == scenario["prior_account"])
    assert hit.blocking and hit.unpaid_final_cents > 0
    assert db.Account.select().where(db.Account.location ==
                                     db.ServiceLocation.get(db.ServiceLocation.location_no ==
                                                            scenario["location_no"]).id).count() == 0
    from kec_tui.services import passwords

    assert passwords.check_login("super", scenario["sup_password"]).role == "supervisor"


def test_a_live_database_is_refused(tmp_path):
    live = tmp_path / "live.db"
    db.connect(str(live))
    operators.create("msr1", "Pat Keyer", "msr")
    db.database.close()
    with pytest.raises(NotPractice, match="not a practice database"):
        open_practice(live)


def test_trainee_is_an_msr_of_the_practice_database(practice):
    op = trainee_operator("Jane.Doe")
    assert (op.username, op.role) == ("jane_doe", "msr")
    assert trainee_operator("jane.doe").id == op.id


async def test_trainee_keys_are_recorded_under_the_trainee(practice, tmp_path):
    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "backspace")
    row = db.KeyStats.get(db.KeyStats.operator == app.operator.id)   # written on exit
    assert row.keys >= 4 and row.corrections == 1
    assert db.Operator.get_by_id(app.operator.id).username == "trainee1"


def test_a_rebuild_keeps_the_trainees_statistics(practice_file, tmp_path):
    path = tmp_path / "practice.db"
    path.write_bytes(practice_file.read_bytes())
    open_practice(path)
    from kec_tui.services import keystats

    keystats.add_counts(trainee_operator("trainee9").id, {dt.date(2025, 1, 2): keystats.Counts(keys=321)})
    db.database.close()
    build_practice(path, **SMALL)
    open_practice(path)
    row = db.KeyStats.select().join(db.Operator).where(db.Operator.username == "trainee9").get()
    assert row.keys == 321
    db.database.close()


# ---- the supervisors' keystroke statistics screen ------------------------------------------------------------

async def test_keystats_screen_for_supervisors_refused_politely_to_others(practice, tmp_path):
    from textual.widgets import DataTable

    from kec_tui.screens.keystats import KeystatsScreen
    from kec_tui.services import keystats

    msr = trainee_operator("trainee1")
    keystats.add_counts(msr.id, {dt.date.today(): keystats.Counts(keys=8400, corrections=84, active_ms=3_600_000)})
    app = make_app(practice, tmp_path, op=msr, training=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f20")                          # Shift+F8
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        assert any("for supervisors" in str(n.message) for n in app._notifications)
    boss = operators.by_username("super")
    app = make_app(practice, tmp_path, op=boss, training=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("shift+f8")
        await settle(pilot)
        assert isinstance(app.screen, KeystatsScreen)
        row = [str(c) for c in app.screen.query_one(DataTable).get_row_at(0)]
        # 8,400 + the Shift+F8 the MSR pressed, recorded when that session ended.
        assert row[1:3] == ["trainee1", "8,401"] and row[4] == "8,401" and row[6] == "1.0%"   # no Name at 80
        await pilot.press("f4")
        assert app.screen.days == 30
        await pilot.press("escape")
        assert isinstance(app.screen, LookupScreen)


async def test_the_idle_lock_covers_the_guide_and_its_keys(practice, tmp_path):
    from kec_tui.screens.lock import LockScreen

    app = make_app(practice, tmp_path, training="contact")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(LockScreen())
        await settle(pilot)
        app.trainer.tick()
        assert not list(app.screen.query(TrainingPanel))        # nothing of the work (or the guide) shows
        await pilot.press("ctrl+g", "ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and app.trainer.page == 0 and not app.trainer.folded
