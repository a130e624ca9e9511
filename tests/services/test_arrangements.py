"""Payment arrangements: terms and their limits (length, per 12 months with a supervisor), kept and
broken after the grace, completed, the tracking run, the holds they make (no late fee, no notice),
the worklist flag and the printed agreement. SQLite and PostgreSQL."""
import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from kec_tui import db
from kec_tui.services import arrangements, collection_holds, collections, late_fees, operators
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.support.pdf import pdf_text

D = dt.date
AGREED = D(2026, 3, 5)


@pytest.fixture(autouse=True)
def default_policy():
    saved = arrangements.policy()
    arrangements._policy = arrangements.Policy()
    yield
    arrangements._policy = saved


@pytest.fixture
def people(database):
    return (operators.create("msr1", "Pat Keyer", "msr"), operators.create("super", "Sam Boss", "supervisor"))


def behind(first="Ada", cents=(10_000, 10_000), start=D(2026, 1, 10)) -> db.Account:
    """An account with unpaid bills, 30 days apart, each due 20 days after it."""
    acct = factories.account(first=first)
    for i, c in enumerate(cents):
        day = start + dt.timedelta(days=30 * i)
        db.LedgerEntry.create(account=acct, effective=day, kind="bill", amount_cents=c, description="Electric service",
                              due_date=day + dt.timedelta(days=20))
    return acct


def pay(acct, cents: int, on: dt.date) -> None:
    db.LedgerEntry.create(account=acct, effective=on, kind="payment", amount_cents=-cents, description="Payment")


def arrangement_rows() -> list[tuple]:
    A = db.Arrangement
    return list(A.select(A.account, A.total_cents, A.down_cents, A.installments, A.status).tuples())


def by_dates(msr, acct, **kw):
    terms = dict(total_cents=20_000, down_cents=5_000, installments=3, mode="dates", first_due=D(2026, 4, 1),
                 on=AGREED)
    terms.update(kw)
    return arrangements.make(msr, acct.id, **terms)


def test_terms_down_payment_and_installments_on_set_dates(people):
    msr, _ = people
    acct = behind()
    info = by_dates(msr, acct)
    assert [(i.seq, i.due_date, i.amount_cents) for i in info.schedule] == [
        (0, AGREED, 5_000), (1, D(2026, 4, 1), 5_000), (2, D(2026, 5, 1), 5_000), (3, D(2026, 6, 1), 5_000)]
    assert (info.status, info.operator, info.approved_by) == ("active", "msr1", "")
    assert arrangements.split(10_001, 0, 3) == [3_334, 3_334, 3_333]       # the odd cents on the first
    notes = [n.text for n in db.Note.select().where(db.Note.account == acct.id)]
    assert notes == ["Payment arrangement agreed: $200.00: $50.00 down, 3 x $50.00 monthly from 04/01/2026"]
    assert db.AuditLog.get(db.AuditLog.action == "arrangement.make").account_id == acct.id


def test_kept_while_paid_broken_after_the_grace(people):
    msr, _ = people
    acct = behind()
    a = by_dates(msr, acct)
    # The down payment is due the day agreed; 5 days' grace: still kept on the 10th ...
    assert arrangements.standing(a.id, D(2026, 3, 10)).state == "kept"
    # ... broken on the 11th when nothing came.
    s = arrangements.standing(a.id, D(2026, 3, 11))
    assert (s.state, s.broken_on, s.missed) == ("broken", D(2026, 3, 11), "Down payment due 03/05/2026")
    pay(acct, 5_000, D(2026, 3, 9))
    assert arrangements.standing(a.id, D(2026, 4, 6)).state == "kept"
    s = arrangements.standing(a.id, D(2026, 4, 7))           # installment 1 (04/01) unpaid after grace
    assert (s.state, s.broken_on, s.required_cents, s.paid_cents) == ("broken", D(2026, 4, 7), 10_000, 5_000)
    pay(acct, 5_000, D(2026, 4, 6))
    pay(acct, 5_000, D(2026, 5, 1))
    pay(acct, 5_000, D(2026, 6, 2))
    assert arrangements.standing(a.id, D(2026, 6, 6)).state == "kept"
    assert arrangements.standing(a.id, D(2026, 6, 7)).state == "completed"


def test_a_returned_payment_does_not_keep_it(people):
    msr, _ = people
    acct = behind()
    a = by_dates(msr, acct)
    pay(acct, 5_000, D(2026, 3, 6))
    db.LedgerEntry.create(account=acct, effective=D(2026, 3, 8), kind="reversal", amount_cents=5_000,
                          description="Returned payment")
    assert arrangements.standing(a.id, D(2026, 3, 11)).state == "broken"


def test_installments_ride_on_the_next_bills_and_new_bills_count(people):
    msr, _ = people
    acct = behind()
    a = arrangements.make(msr, acct.id, total_cents=20_000, installments=2, mode="bills", on=AGREED)
    assert [(i.seq, i.due_date, i.amount_cents) for i in a.schedule] == [(1, None, 10_000), (2, None, 10_000)]
    db.LedgerEntry.create(account=acct, effective=D(2026, 3, 10), kind="bill", amount_cents=8_000,
                          description="Electric service", due_date=D(2026, 3, 30))
    s = arrangements.standing(a.id, D(2026, 3, 20))
    assert s.kept and s.schedule[0].due_date == D(2026, 3, 30) and s.schedule[1].due_date is None
    pay(acct, 10_000, D(2026, 3, 30))                          # the installment, not the new bill
    s = arrangements.standing(a.id, D(2026, 4, 5))
    assert (s.state, s.missed, s.required_cents) == ("broken", "Installment 1 due 03/30/2026", 18_000)
    pay(acct, 8_000, D(2026, 4, 4))
    assert arrangements.standing(a.id, D(2026, 4, 5)).kept
    # A cancelled bill (its reversal) is not owed: the installment rides on the next bill made.
    rebilled = db.LedgerEntry.create(account=acct, effective=D(2026, 4, 9), kind="bill", amount_cents=9_000,
                                     description="Electric service", due_date=D(2026, 4, 29))
    db.LedgerEntry.create(account=acct, effective=D(2026, 4, 12), kind="reversal", amount_cents=-9_000,
                          description="Bill cancelled", reverses=rebilled.id)
    db.LedgerEntry.create(account=acct, effective=D(2026, 4, 12), kind="bill", amount_cents=7_000,
                          description="Electric service", due_date=D(2026, 5, 2))
    s = arrangements.standing(a.id, D(2026, 4, 20))
    assert s.kept and s.schedule[1].due_date == D(2026, 5, 2)


def test_longer_than_allowed_is_refused_and_nothing_written(people):
    msr, _ = people
    acct = behind()
    with pytest.raises(ValidationError, match="at most 12 months: 13 installments is longer than allowed") as e:
        by_dates(msr, acct, installments=13)
    assert e.value.field == "installments"
    arrangements._policy = arrangements.Policy(max_months=6)
    with pytest.raises(ValidationError, match="more than 6 months away"):
        by_dates(msr, acct, installments=6, first_due=D(2026, 5, 1))         # the last on 10/01: 7 months
    with pytest.raises(ValidationError, match="more than the balance"):
        by_dates(msr, acct, total_cents=20_001)
    with pytest.raises(ValidationError, match="down payment"):
        by_dates(msr, acct, down_cents=20_000)
    assert arrangement_rows() == [] and db.ArrangementInstallment.select().count() == 0
    assert db.Note.select().count() == 0


def test_over_the_limit_per_12_months_a_supervisor_signs(people):
    msr, sup = people
    acct = behind()
    arrangements._policy = arrangements.Policy(limit_12m=1)
    first = arrangements.make(msr, acct.id, total_cents=5_000, installments=1, mode="bills", on=D(2025, 6, 1))
    arrangements.cancel(msr, first.id, "member paid in full")
    assert arrangements.needs_supervisor(msr, acct.id, AGREED)
    with pytest.raises(PermissionDenied, match="1 arrangement in 12 months .* a supervisor must sign in"):
        by_dates(msr, acct)
    other = operators.create("msr2", "Moe Keyer", "msr")
    with pytest.raises(PermissionDenied, match="msr2 \\(msr\\) may not approve"):
        by_dates(msr, acct, approver=other)
    assert len(arrangement_rows()) == 1                      # only the first
    done = by_dates(msr, acct, approver=sup)
    assert done.approved_by == "super"
    # A year after the first, it no longer counts.
    assert (arrangements.count_12m(acct.id, AGREED), arrangements.count_12m(acct.id, D(2026, 6, 2))) == (2, 1)


def test_one_active_arrangement_at_a_time_and_not_on_a_closed_account(people):
    msr, _ = people
    acct = behind()
    by_dates(msr, acct)
    with pytest.raises(ValidationError, match="already has an active arrangement"):
        by_dates(msr, acct, total_cents=10_000, down_cents=0)
    closed = behind(first="Gone")
    db.Account.update(status="closed").where(db.Account.id == closed.id).execute()
    with pytest.raises(ValidationError, match="closed"):
        by_dates(msr, closed)
    assert len(arrangement_rows()) == 1


def test_a_kept_arrangement_holds_fees_and_notices_a_broken_one_does_not(people):
    msr, _ = people
    acct = behind()
    a = by_dates(msr, acct)
    assert collection_holds.held(acct.id, D(2026, 3, 8)) == {"arrangement"}
    assert "arrangement" in collection_holds.NOTICE_HOLDS & collection_holds.FEE_HOLDS
    assert collection_holds.held(acct.id, D(2026, 3, 12)) == set()       # broken: notices resume
    pay(acct, 5_000, D(2026, 3, 6))
    assert collection_holds.held(acct.id, D(2026, 3, 12)) == {"arrangement"}
    # The late-fee run leaves it out while kept; a broken one is charged again.
    db.LedgerEntry.create(account=acct, effective=D(2026, 3, 10), kind="bill", amount_cents=8_000,
                          description="Electric service", due_date=D(2026, 3, 30))
    assert [f.account_id for f in late_fees.plan(D(2026, 4, 2), since=D(2026, 3, 25))] == []
    arrangements.cancel(msr, a.id, "member asked")
    assert [f.account_id for f in late_fees.plan(D(2026, 4, 2), since=D(2026, 3, 25))] == [acct.id]


def test_the_worklist_flags_a_kept_arrangement(people):
    msr, _ = people
    acct = behind()
    other = behind(first="Grace")
    by_dates(msr, acct)
    wl = collections.worklist(msr, None, D(2026, 3, 8))
    flags = {i.account_id: (i.flags, i.next_action.short) for i in wl.items}
    assert flags[acct.id] == (("arrangement",), "Arrangement")
    assert "arrangement" not in flags[other.id][0]


def test_the_review_marks_broken_and_completed_once(people):
    msr, _ = people
    late = behind(first="Late")
    a = by_dates(msr, late)
    good = behind(first="Good")
    b = arrangements.make(msr, good.id, total_cents=5_000, installments=1, mode="dates", first_due=D(2026, 3, 20),
                          on=AGREED)
    pay(good, 5_000, D(2026, 3, 19))
    result = arrangements.review(msr, D(2026, 3, 30))
    assert [(r[0], r[2]) for r in result.broken] == [(a.id, "Down payment due 03/05/2026")]
    assert result.completed == [b.id]
    assert arrangements.get(a.id).status == "broken" and arrangements.get(a.id).broken_on == D(2026, 3, 11)
    assert arrangements.get(b.id).status == "completed"
    again = arrangements.review(msr, D(2026, 3, 30))
    assert (again.broken, again.completed, again.looked_at) == ([], [], 0)
    notes = [n.text for n in db.Note.select().where(db.Note.account == late.id).order_by(db.Note.id)]
    assert notes[-1].startswith("Payment arrangement broken 03/11/2026: Down payment due 03/05/2026 was not paid")
    assert arrangements.flag_text(late.id, D(2026, 3, 30)) == "ARRANGEMENT BROKEN 03/11/2026"


def test_the_printed_agreement(people, tmp_path):
    msr, _ = people
    acct = behind()
    a = by_dates(msr, acct, note="Member gets paid on the 1st")
    path = arrangements.write_agreement(a.id, tmp_path / "letters")
    text = pdf_text(path.read_bytes())
    assert "PAYMENT ARRANGEMENT AGREEMENT" in text and str(acct.number) in text
    assert "Installment 3" in text and "due 06/01/2026" in text and "Member gets paid on the 1st" in text
    assert "within 5 days after its due date" in text
    assert arrangements.flag_text(acct.id, AGREED) == "ARRANGEMENT kept, next $50.00 due 03/05/2026"


def test_two_sessions_agreeing_at_once_make_one(people):
    from tests.services.test_concurrency import at_once

    msr, sup = people
    acct = behind()
    r = at_once(lambda: by_dates(msr, acct), lambda: by_dates(sup, acct))
    made = [x for x in r if isinstance(x, arrangements.ArrangementInfo)]
    refused = [x for x in r if isinstance(x, ValidationError)]
    assert len(made) == 1 and len(refused) == 1, r
    assert "already has an active arrangement" in refused[0].message
    assert len(arrangement_rows()) == 1


def test_the_command_line_reviews_with_the_settings(tmp_path, capsys):
    from kec_tui import cli, config

    conf = tmp_path / "config.toml"
    conf.write_text("arrangement_grace_days = 10\narrangement_max_months = 6\npledge_hold_days = 45\n")
    url = str(tmp_path / "c.db")
    db.connect(url)
    msr = operators.create("msr1", "Pat Keyer", "msr")
    acct = behind()
    a = by_dates(msr, acct, installments=2)
    db.database.close()
    try:
        assert cli.main(["--config", str(conf), "--db", url, "--operator", "msr1", "review-arrangements",
                         "--date", "2026-03-15"]) == 0       # 10 days' grace: the down payment is not late yet
        assert arrangements.policy() == arrangements.Policy(6, 2, 10)
        from kec_tui.services import assistance
        assert assistance.hold_days() == 45
        assert "0 broken" in capsys.readouterr().out
        assert cli.main(["--config", str(conf), "--db", url, "--operator", "msr1", "review-arrangements",
                         "--date", "2026-03-16"]) == 0
        assert f"broken  {acct.number}  Down payment due 03/05/2026" in capsys.readouterr().out
        assert arrangements.get(a.id).status == "broken"
        assert cli.main(["--db", url, "--operator", "msr1", "review-arrangements", "--date", "soon"]) == 2
    finally:
        from kec_tui.services import assistance
        arrangements.configure(config.Settings())
        assistance.configure(config.Settings())
        db.database.close()


@given(n=st.integers(1, 12), down=st.integers(0, 5_000), each=st.integers(1, 20_000), grace=st.integers(0, 10),
       delays=st.lists(st.integers(0, 15), min_size=13, max_size=13), after=st.integers(0, 420))
@settings(max_examples=200, deadline=None)
def test_broken_exactly_when_a_payment_comes_after_its_grace(n, down, each, grace, delays, after):
    """Each due (down payment, installments) paid exactly, `delay` days after its due date: the
    arrangement is broken on the day after the grace of the first one paid too late, once that day
    has come; else kept until the last grace has passed, then completed."""
    total = down + each * n
    plan = tuple(arrangements.schedule(AGREED, "dates", total, down, n, D(2026, 4, 5)))
    credits = [(i.due_date + dt.timedelta(days=d), i.amount_cents) for i, d in zip(plan, delays, strict=False)]
    on = AGREED + dt.timedelta(days=after)
    state, _required, _paid, broken_on, _missed = arrangements.judge(AGREED, plan, [], credits, on, grace)
    late = [i.due_date + dt.timedelta(days=grace + 1) for i, d in zip(plan, delays, strict=False)
            if d > grace and i.due_date + dt.timedelta(days=grace) < on]
    if late:
        assert (state, broken_on) == ("broken", late[0])
    elif plan[-1].due_date + dt.timedelta(days=grace) < on:
        assert state == "completed"
    else:
        assert state == "kept"
