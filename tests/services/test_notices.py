"""Disconnect notices by the rules (IDAPA 31.21.01): the notice run (once a day, letters and the
print vendor's file), the final contact attempt, the disconnect order only 7 to 21 days after the
notice, never on a forbidden day or under a protection, cancelled by a payment; the reconnect.
SQLite and PostgreSQL; property tests over dates."""
import csv
import dataclasses
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kec_tui import db
from kec_tui.services import collection_holds, fees, letters, notices, operators, orders
from kec_tui.services.errors import PermissionDenied, ValidationError
from tests import factories
from tests.support.concurrency import at_once
from tests.support.notices import bill, notice, pay
from tests.support.pdf import pdf_text

D = dt.date
T = dt.datetime
RUN = D(2026, 3, 16)            # a Monday, out of winter


@pytest.fixture(autouse=True)
def defaults(tmp_path):
    saved_fees, saved_rules, saved_places = fees.schedule(), notices.rules(), letters.places()
    fees._current = fees.FeeSchedule()
    notices._rules = notices.NoticeRules()
    letters.use(tmp_path / "templates", tmp_path / "letters")
    yield
    fees._current, notices._rules = saved_fees, saved_rules
    letters.use(saved_places.templates, saved_places.output)


@pytest.fixture
def collector(database_any):
    return operators.create("coll1", "Casey Collector", "collections")


def notice_of(acct) -> db.DisconnectNotice | None:
    return db.DisconnectNotice.get_or_none(db.DisconnectNotice.account == acct.id)


def disconnect_orders(acct) -> int:
    O = db.ServiceOrder
    return O.select().where(O.account == acct.id, O.kind == "disconnect_nonpay").count()


# ---- the notice run -----------------------------------------------------------------------------

def test_the_run_notices_each_account_past_due_over_the_threshold_once(database, collector, tmp_path):
    due = factories.account(first="Due", last="Member", street="55 Pine St")
    bill(due, 10_000, D(2026, 1, 20))                                  # 55 days past due
    bill(due, 9_000, D(2026, 3, 20))                                   # current
    small = factories.account(first="Small")
    bill(small, 2_000, D(2026, 1, 20))                                 # under $25
    recent = factories.account(first="Recent")
    bill(recent, 10_000, D(2026, 3, 1))                                # 15 days: not yet
    broke = factories.account(first="Broke", bankruptcy=True)
    bill(broke, 10_000, D(2026, 1, 20))                                # held: bankruptcy
    off = factories.account(first="Off", status="disconnected")
    bill(off, 10_000, D(2026, 1, 20))                                  # not in service
    sick = factories.account(first="Sick", medical_cert_until=D(2026, 4, 30))
    bill(sick, 10_000, D(2026, 1, 20))                                 # a notice; no disconnection later
    reg = notices.preview(collector, RUN, today=RUN)
    by_number = sorted([due, sick], key=lambda x: x.number)
    assert [n.account_id for n in reg.notices] == [x.id for x in by_number]
    assert (reg.held, reg.live, reg.run.preview_count, reg.run.preview_total_cents) == (1, 0, 2, 20_000)
    first = reg.notices[0]
    assert (first.disconnect_from, first.expires) == (D(2026, 3, 23), D(2026, 4, 6))
    assert db.Letter.select().count() == 0                             # a preview sends nothing
    run = notices.commit(collector, reg.run.id)
    assert (run.status, run.notice_count, run.total_cents) == ("committed", 2, 20_000)
    n = notice_of(due)
    assert (n.status, n.past_due_cents, n.notice_date) == ("sent", 10_000, RUN)
    letter = db.Letter.get_by_id(n.letter_id)
    assert letter.template == "disconnect_notice" and "$100.00 past due" in letter.text
    assert "on or after\n03/23/2026" in letter.text and "payment arrangements are available" in letter.text
    assert "Due Member" in pdf_text(open(letter.pdf_path, "rb").read())
    rows = list(csv.DictReader(io.StringIO(open(run.vendor_file, encoding="utf-8").read())))
    assert [r["account"] for r in rows] == sorted([str(due.number), str(sick.number)])
    row = next(r for r in rows if r["account"] == str(due.number))
    assert (row["name"], row["street"], row["past_due"], row["disconnect_from"], row["good_until"]) == \
        ("Due Member", "55 Pine St", "100.00", "03/23/2026", "04/06/2026")
    assert row["letter_file"] == letter.pdf_path.rsplit("/", 1)[1]
    assert notice_of(small) is notice_of(recent) is notice_of(broke) is notice_of(off) is None
    assert db.AuditLog.select().where(db.AuditLog.action == "notice.send").count() == 2
    # The next day's run: a notice still good is not sent again.
    reg2 = notices.preview(collector, RUN + dt.timedelta(days=1), today=RUN + dt.timedelta(days=1))
    assert reg2.notices == [] and reg2.live == 2


def test_a_second_notice_run_on_one_day_is_refused_and_writes_nothing(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    reg = notices.preview(collector, RUN, today=RUN)
    notices.commit(collector, reg.run.id)
    letters_before = db.Letter.select().count()
    with pytest.raises(notices.AlreadyCommitted, match="already run on 03/16/2026 .*one notice run a day"):
        notices.preview(collector, RUN, today=RUN)
    with pytest.raises(notices.AlreadyCommitted, match="one notice run a day"):
        notices.commit(collector, reg.run.id)
    assert db.NoticeRun.select().count() == 1 and db.DisconnectNotice.select().count() == 1
    assert db.Letter.select().count() == letters_before
    with pytest.raises(ValidationError, match="today or an earlier day"):
        notices.preview(collector, RUN + dt.timedelta(days=1), today=RUN)
    with pytest.raises(ValidationError, match="that day or a later one"):
        notices.preview(collector, RUN - dt.timedelta(days=1), today=RUN)


def test_two_sessions_commit_the_run_once(database, collector):
    other = operators.create("coll2", "Other Collector", "collections")
    for i in range(3):
        bill(factories.account(first=f"M{i}"), 10_000 + i, D(2026, 1, 20))
    reg = notices.preview(collector, RUN, today=RUN)
    results = at_once(lambda: notices.commit(collector, reg.run.id), lambda: notices.commit(other, reg.run.id))
    done = [r for r in results if isinstance(r, notices.RunInfo)]
    refused = [r for r in results if isinstance(r, notices.RunStateError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert db.DisconnectNotice.select().count() == 3 and db.Letter.select().count() == 3


def test_a_payment_since_the_preview_refuses_the_commit(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    reg = notices.preview(collector, RUN, today=RUN)
    pay(a, 10_000, RUN)
    with pytest.raises(notices.Changed, match="preview again"):
        notices.commit(collector, reg.run.id)
    assert db.DisconnectNotice.select().count() == 0 and db.Letter.select().count() == 0
    assert notices.preview(collector, RUN, today=RUN).notices == []


def test_an_unknown_field_in_the_coops_notice_template_sends_nothing(database, collector, tmp_path):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    (tmp_path / "templates").mkdir()
    reg = notices.preview(collector, RUN, today=RUN)
    template = tmp_path / "templates" / "disconnect_notice.txt.j2"
    template.write_text("NOTICE\n{{ member_name }} {{ amount_owed }}\n")      # edited after the preview
    with pytest.raises(letters.LetterError, match="'amount_owed'"):
        notices.commit(collector, reg.run.id)
    assert db.DisconnectNotice.select().count() == 0 and db.Letter.select().count() == 0
    assert not (tmp_path / "letters").exists() or not any((tmp_path / "letters").rglob("*.pdf"))
    with pytest.raises(letters.LetterError, match="'amount_owed'"):
        notices.preview(collector, RUN, today=RUN)                                  # the preview says so too
    template.write_text("NOTICE\n{{ member_name }} owes {{ past_due }}\n")       # mended: the run goes on
    assert notices.commit(collector, reg.run.id).notice_count == 1
    assert db.Letter.get().text == "NOTICE\nAda Lovelace owes $100.00\n"


def test_only_collections_staff_run_notices(database, msr):
    with pytest.raises(PermissionDenied):
        notices.preview(msr, RUN, today=RUN)


# ---- the contact attempt and the disconnect order -------------------------------------------------

def test_a_disconnect_order_only_7_to_21_days_after_the_notice_and_after_the_contact(database, collector):
    a = factories.account(phone="2085550188")
    bill(a, 10_000, D(2026, 1, 20))
    n = notice(a, RUN)
    now = T(2026, 3, 17, 9, 0)
    with pytest.raises(notices.DisconnectRefused, match="6 days old on 03/22/2026.*from 03/23/2026"):
        notices.order_disconnect(collector, n.id, D(2026, 3, 22), now=now)
    with pytest.raises(notices.DisconnectRefused, match="22 days old on 04/07/2026, more than 21: send a new notice"):
        notices.order_disconnect(collector, n.id, D(2026, 4, 7), now=now)
    with pytest.raises(notices.DisconnectRefused, match="No final contact attempt logged"):
        notices.order_disconnect(collector, n.id, D(2026, 3, 23), now=now)
    assert disconnect_orders(a) == 0 and notice_of(a).status == "sent"
    with pytest.raises(ValidationError, match="10 digits"):
        notices.log_contact(collector, n.id, "555-0188", "no_answer", at=T(2026, 3, 22, 9, 0), now=T(2026, 3, 22, 9, 0))
    with pytest.raises(ValidationError, match="result is one of"):
        notices.log_contact(collector, n.id, "2085550188", "maybe", at=T(2026, 3, 22, 9, 0), now=T(2026, 3, 22, 9, 0))
    with pytest.raises(ValidationError, match="not ahead"):
        notices.log_contact(collector, n.id, "2085550188", "reached", at=db.now() + dt.timedelta(hours=2))
    c = notices.log_contact(collector, n.id, "(208) 555-0188", "No answer", at=T(2026, 3, 22, 9, 0),
                            now=T(2026, 3, 22, 9, 0))
    assert (c.phone, c.result, c.operator) == ("2085550188", "no_answer", "coll1")
    note = db.Note.get(db.Note.account == a.id)
    assert "called 208-555-0188, no answer" in note.text
    with pytest.raises(notices.DisconnectRefused, match=r"less than 24 hours before 03/23/2026 08:00"):
        notices.order_disconnect(collector, n.id, D(2026, 3, 23), now=now)
    assert notices.earliest(n.id, now) == D(2026, 3, 24)
    o = notices.order_disconnect(collector, n.id, D(2026, 3, 24), now=now)
    assert (o.kind, o.due_date, o.status) == ("disconnect_nonpay", D(2026, 3, 24), "open")
    assert (notice_of(a).status, notice_of(a).order_id) == ("ordered", o.id)
    with pytest.raises(notices.DisconnectRefused, match="already has disconnect order"):
        notices.order_disconnect(collector, n.id, D(2026, 3, 25), now=now)
    assert disconnect_orders(a) == 1
    # Completing it: the same rules at the moment of the disconnection.
    boss = operators.create("boss", "Big Boss", "supervisor")
    with pytest.raises(orders.DisconnectProtected, match="7 days' written notice|6 days old"):
        orders.complete_order(boss, o.order_no, when=T(2026, 3, 22, 10, 0))
    orders.complete_order(boss, o.order_no, when=T(2026, 3, 24, 10, 0))
    assert db.Account.get_by_id(a.id).status == "disconnected"
    assert notices.settle(collector, D(2026, 3, 24)).disconnected == [n.id]


def test_no_disconnect_on_weekends_holidays_or_friday_afternoons(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 4, 10))
    n = notice(a, D(2026, 5, 15), disconnect_from=D(2026, 5, 22))      # a Friday; Memorial Day 05/25
    notices.log_contact(collector, n.id, "2085550100", "reached", at=T(2026, 5, 18, 9, 0), now=T(2026, 5, 18, 9, 0))
    now = T(2026, 5, 19, 9, 0)
    with pytest.raises(notices.DisconnectRefused, match="weekend"):
        notices.order_disconnect(collector, n.id, D(2026, 5, 23), now=now)
    with pytest.raises(notices.DisconnectRefused, match="holiday \\(Memorial Day\\)"):
        notices.order_disconnect(collector, n.id, D(2026, 5, 25), now=now)
    assert disconnect_orders(a) == 0
    o = notices.order_disconnect(collector, n.id, D(2026, 5, 22), now=now)
    assert "a Friday: before 12:00" in o.notes
    boss = operators.create("boss", "Big Boss", "supervisor")
    with pytest.raises(orders.DisconnectProtected, match="Friday from 12:00"):
        orders.complete_order(boss, o.order_no, when=T(2026, 5, 22, 13, 30))
    assert db.Account.get_by_id(a.id).status == "active"
    orders.complete_order(boss, o.order_no, when=T(2026, 5, 22, 11, 0))
    assert db.Account.get_by_id(a.id).status == "disconnected"


def test_the_settings_can_allow_weekends_and_move_the_friday_hour(database, collector):
    notices._rules = dataclasses.replace(notices.NoticeRules(), on_weekends=True, friday_until_hour=24)
    assert notices.day_refusal(D(2026, 5, 23)) is None
    assert notices.time_refusal(T(2026, 5, 22, 16, 0)) is None
    assert notices.time_refusal(T(2026, 5, 25, 9, 0)).startswith("05/25/2026 is a holiday")


def test_medical_certificate_and_winter_protection_stop_the_order(database, collector):
    sick = factories.account(first="Sick", medical_cert_until=D(2026, 3, 30))
    bill(sick, 10_000, D(2026, 1, 20))
    n = notice(sick, RUN)
    notices.log_contact(collector, n.id, "2085550100", "reached", at=T(2026, 3, 17, 9, 0), now=T(2026, 3, 17, 9, 0))
    with pytest.raises(notices.DisconnectRefused, match="medical certificate until 03/30/2026"):
        notices.order_disconnect(collector, n.id, D(2026, 3, 24), now=T(2026, 3, 18, 9, 0))
    assert notices.order_disconnect(collector, n.id, D(2026, 3, 31), now=T(2026, 3, 31, 7, 0)).status == "open"
    cold = factories.account(first="Cold", winter_protection_until=D(2026, 2, 28), winter_household="children")
    bill(cold, 10_000, D(2025, 12, 1))
    n2 = notice(cold, D(2026, 1, 5))
    notices.log_contact(collector, n2.id, "2085550100", "reached", at=T(2026, 1, 6, 9, 0), now=T(2026, 1, 6, 9, 0))
    with pytest.raises(notices.DisconnectRefused, match="winter protection"):
        notices.order_disconnect(collector, n2.id, D(2026, 1, 13), now=T(2026, 1, 7, 9, 0))
    assert disconnect_orders(cold) == 0


def test_a_payment_cancels_the_pending_disconnect_and_the_reconnect_follows_payment(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    n = notice(a, RUN)
    notices.log_contact(collector, n.id, "2085550100", "voicemail", at=T(2026, 3, 20, 9, 0), now=T(2026, 3, 20, 9, 0))
    o = notices.order_disconnect(collector, n.id, D(2026, 3, 24), now=T(2026, 3, 21, 9, 0))
    pay(a, 9_000, D(2026, 3, 22))                                      # $10 left: under the threshold
    s = notices.settle(collector, D(2026, 3, 23))
    assert s.cancelled == [(n.id, "paid: $10.00 past due")]
    assert (notice_of(a).status, orders.get_order(o.order_no).status) == ("cancelled", "cancelled")
    # Paid before the order: the order is refused and the notice cancelled.
    b = factories.account(first="Bee")
    bill(b, 10_000, D(2026, 1, 20))
    nb = notice(b, RUN)
    notices.log_contact(collector, nb.id, "2085550100", "reached", at=T(2026, 3, 20, 9, 0), now=T(2026, 3, 20, 9, 0))
    pay(b, 10_000, D(2026, 3, 21))
    with pytest.raises(notices.DisconnectRefused, match="cancelled: paid"):
        notices.order_disconnect(collector, nb.id, D(2026, 3, 24), now=T(2026, 3, 22, 9, 0))
    assert disconnect_orders(b) == 0 and notice_of(b).status == "cancelled"
    # Disconnected, then paid: the reconnect order (its fee when completed, orders.py).
    c = factories.account(first="Cee")
    bill(c, 10_000, D(2026, 1, 20))
    nc = notice(c, RUN)
    notices.log_contact(collector, nc.id, "2085550100", "reached", at=T(2026, 3, 20, 9, 0), now=T(2026, 3, 20, 9, 0))
    oc = notices.order_disconnect(collector, nc.id, D(2026, 3, 24), now=T(2026, 3, 21, 9, 0))
    boss = operators.create("boss", "Big Boss", "supervisor")
    orders.complete_order(boss, oc.order_no, when=T(2026, 3, 24, 9, 30))
    assert notices.settle(collector, D(2026, 3, 25)).reconnects == []       # not paid yet
    pay(c, 10_000, D(2026, 3, 26))
    s = notices.settle(collector, D(2026, 3, 26))
    recon = orders.get_order(s.reconnects[0])
    assert (recon.kind, recon.status, recon.account_id, recon.due_date) == ("reconnect", "open", c.id, D(2026, 3, 26))
    assert notice_of(c).status == "reconnect" and notice_of(c).reconnect_order_id == recon.id
    assert "Ask for a deposit of $" in recon.notes       # the rules call for one after a disconnection for non-pay
    assert notices.settle(collector, D(2026, 3, 27)).reconnects == []       # once


def test_an_arrangement_or_pledge_hold_cancels_the_pending_disconnect(database, collector, monkeypatch):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    n = notice(a, RUN)
    real = collection_holds.holds

    def with_pledge(ids, on):
        out = real(ids, on)
        if a.id in ids:
            out[a.id] = out.get(a.id, set()) | {"pledge"}
        return out
    monkeypatch.setattr(collection_holds, "holds", with_pledge)
    s = notices.settle(collector, D(2026, 3, 18))
    assert s.cancelled == [(n.id, "an energy-assistance pledge")]


def test_a_notice_past_its_21_days_expires_and_a_new_one_is_sent(database, collector):
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    notice(a, D(2026, 2, 2))
    day = D(2026, 2, 24)
    reg = notices.preview(collector, day, today=day)                 # the preview settles first
    assert notice_of(a).status == "expired" and reg.settled.expired == [notice_of(a).id]
    assert [x.account_id for x in reg.notices] == [a.id]


# ---- properties over dates -------------------------------------------------------------------------

DAYS = st.dates(min_value=D(2025, 10, 1), max_value=D(2027, 3, 31))


@settings(deadline=None)         # the first call loads the year's holidays
@given(DAYS)
def test_property_a_notice_window_starts_7_days_on_and_never_on_a_forbidden_day(day):
    first, last = notices.window(day, notices.NoticeRules())
    assert first >= day + dt.timedelta(days=7) and last == day + dt.timedelta(days=21)
    assert first.weekday() < 5 and notices.holiday_name(first, notices.NoticeRules()) is None
    assert (first - day).days <= 7 + 5                 # a weekend and a holiday or two at most


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notice_day=DAYS, contact_h=st.integers(0, 12 * 24),
       order_in=st.one_of(st.integers(7, 21), st.integers(7, 21), st.integers(0, 30)),
       medical_in=st.one_of(st.none(), st.none(), st.integers(-5, 40)), winter=st.booleans(),
       complete_h=st.integers(-24, 4 * 24))
def test_property_disconnects_never_break_the_rules(database, notice_day, contact_h, order_in, medical_in, winter,
                                                     complete_h):
    """Whatever the days: an order (and its completion) that goes through is 7-21 days after the
    notice, on a weekday that is no holiday (a Friday before noon), 24 hours after the contact
    attempt, and never under a medical certificate or winter protection."""
    op = operators.by_username("prop") if db.Operator.select().where(db.Operator.username == "prop").exists() \
        else operators.create("prop", "Prop Collector", "supervisor")
    medical = notice_day + dt.timedelta(days=medical_in) if medical_in is not None else None
    a = factories.account(medical_cert_until=medical,
                          winter_protection_until=orders.winter_end(notice_day) if winter else None)
    bill(a, 10_000, notice_day - dt.timedelta(days=40))
    first, last = notices.window(notice_day, notices.NoticeRules())
    n = notice(a, notice_day, disconnect_from=first, expires=last)
    contact = T.combine(notice_day, dt.time(8)) + dt.timedelta(hours=contact_h)
    notices.log_contact(op, n.id, "2085550100", "no_answer", at=contact, now=contact)
    on = notice_day + dt.timedelta(days=order_in)
    try:
        o = notices.order_disconnect(op, n.id, on, now=T.combine(notice_day, dt.time(8)))
    except notices.DisconnectRefused:
        assert disconnect_orders(a) == 0
        return
    assert 7 <= (on - notice_day).days <= 21
    assert on.weekday() < 5 and notices.holiday_name(on) is None
    assert contact <= T.combine(on, notices.OPENS) - dt.timedelta(hours=24)
    assert medical is None or medical < on
    assert not (winter and on.month in (12, 1, 2))
    when = T.combine(on, dt.time(0)) + dt.timedelta(hours=complete_h)         # around the order's day
    try:
        orders.complete_order(op, o.order_no, when=when)
    except orders.DisconnectProtected:
        assert db.Account.get_by_id(a.id).status == "active"
        return
    assert 7 <= (when.date() - notice_day).days <= 21
    assert when.weekday() < 5 and notices.holiday_name(when.date()) is None
    assert not (when.weekday() == 4 and when.hour >= 12)
    assert contact <= when - dt.timedelta(hours=24)
    assert medical is None or medical < when.date()
    assert not (winter and when.month in (12, 1, 2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=DAYS, past_due=st.integers(0, 20_000), overdue=st.integers(0, 90), bankrupt=st.booleans())
def test_property_notices_only_past_due_over_the_threshold_and_never_held(database, day, past_due, overdue, bankrupt):
    db.DisconnectNotice.delete().execute()
    db.Letter.delete().execute()
    db.NoticeRun.delete().execute()
    a = factories.account(bankruptcy=bankrupt)
    if past_due:
        bill(a, past_due, day - dt.timedelta(days=overdue))
    planned, _, _ = notices.plan(day)
    mine = [p for p in planned if p.account_id == a.id]
    should = not bankrupt and past_due >= 2500 and overdue > 30
    assert bool(mine) == should
    for p in mine:
        assert p.disconnect_from >= day + dt.timedelta(days=7) and notices.day_refusal(p.disconnect_from) is None


# ---- the worklist's next action ----------------------------------------------------------------------

def test_the_worklist_shows_the_final_call_then_the_disconnect_order_of_a_notice(database, collector):
    from kec_tui.services import collections
    a = factories.account()
    bill(a, 10_000, D(2026, 1, 20))
    n = notice(a, RUN)
    item = collections.worklist(collector, None, D(2026, 3, 17)).items[0]
    assert item.notice_id == n.id
    assert (item.next_action.short, item.next_action.on) == ("Final call", D(2026, 3, 22))
    notices.log_contact(collector, n.id, "2085550100", "reached", at=T(2026, 3, 17, 10, 0), now=T(2026, 3, 17, 10, 0))
    item = collections.worklist(collector, None, D(2026, 3, 17)).items[0]
    assert (item.next_action.short, item.next_action.on) == ("Order disc.", D(2026, 3, 23))
    notices.order_disconnect(collector, n.id, D(2026, 3, 23), now=T(2026, 3, 18, 9, 0))
    item = collections.worklist(collector, None, D(2026, 3, 18)).items[0]
    assert item.next_action.short == "Disc. order" and item.notice_id == n.id


def test_settle_over_many_notices_ages_them_at_once_and_changes_only_the_paid(database, collector):
    made = []
    for i in range(52):
        a = factories.account(first=f"Many{i}")
        bill(a, 10_000, D(2026, 1, 20))
        made.append((a, notice(a, RUN)))
    pay(made[7][0], 10_000, D(2026, 3, 18))
    s = notices.settle(collector, D(2026, 3, 19))
    assert s.cancelled == [(made[7][1].id, "paid: $0.00 past due")] and s.expired == []
    assert db.DisconnectNotice.select().where(db.DisconnectNotice.status == "sent").count() == 51


def test_every_figure_is_a_setting_with_the_rules_default(tmp_path, monkeypatch):
    from kec_tui import config
    for name in config.TYPES:
        monkeypatch.delenv(config.ENV_PREFIX + name.upper(), raising=False)
    assert notices.rules_from(config.Settings()) == notices.NoticeRules(
        min_past_due_cents=2500, after_days=30, notice_days=7, valid_days=21, contact_hours=24, on_weekends=False,
        on_holidays=False, friday_until_hour=12)
    path = tmp_path / "config.toml"
    path.write_text("notice_days = 10\nnotice_valid_days = 30\nfinal_contact_hours = 48\n"
                    "disconnect_friday_until_hour = 15\nnotice_min_past_due_cents = 5000\nholidays = [2026-03-23]\n")
    r = notices.rules_from(config.load(path))
    assert (r.notice_days, r.valid_days, r.contact_hours, r.friday_until_hour, r.min_past_due_cents) == \
        (10, 30, 48, 15, 5000)
    assert notices.window(RUN, r) == (D(2026, 3, 26), D(2026, 4, 15))
    assert notices.day_refusal(D(2026, 3, 23), r) == ("03/23/2026 is a holiday (a day the co-op is closed): no "
                                                     "disconnections on holidays")
    path.write_text("notice_days = 0\n")
    with pytest.raises(config.SettingsError, match="notice_days must be at least 1"):
        config.load(path)
