"""Password tries counted across connections: spacing, back-off, locks, unlocks, address bans."""
import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import operators, passwords, sign_in_guard as guard
from kec_tui.services.errors import NotFound, PermissionDenied

PASSWORD = "keyer-pass-long-1"
T0 = dt.datetime(2026, 11, 30, 9, 0, 0)


class Clock:
    def __init__(self, start=T0):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(guard, "_now", c)
    return c


@pytest.fixture
def people(database):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    sup = operators.create("super", "Sam Boss", "supervisor")
    for name in ("msr1", "super"):
        passwords.set_password(name, PASSWORD)
    for name in ("msr2", "msr3", "msr4"):
        operators.create(name, name.title(), "msr")
        passwords.set_password(name, PASSWORD)
    return msr, sup


def attempt(clock, username, password, address="10.0.0.9"):
    """A try as a server makes it: reserve, wait the slot out (on the fake clock), evaluate."""
    ticket = guard.reserve(username, address, f"test {address}")
    if ticket.refused:
        return None
    clock.advance(ticket.wait_s)
    return guard.evaluate(username, password, address, f"test {address}")


def audit_actions(action):
    return [r.after for r in db.AuditLog.select().where(db.AuditLog.action == action)]


def test_a_right_password_signs_in_and_a_wrong_one_is_recorded(people, clock):
    assert attempt(clock, "msr1", PASSWORD).username == "msr1"
    clock.advance(5)
    assert attempt(clock, "msr1", "wrong-password-x") is None
    rows = list(db.SignInAttempt.select().order_by(db.SignInAttempt.id))
    assert [(r.username, r.ok, r.evaluated) for r in rows] == [("msr1", True, True), ("msr1", False, True)]
    assert PASSWORD not in str([r.__data__ for r in rows])


def test_tries_of_one_operator_queue_a_second_apart_then_double(people, clock):
    """Reserved together (twenty connections at once), the slots are spaced; after the free
    failures each further slot is twice as far."""
    waits = [guard.reserve("msr1", "10.0.0.9", "t").wait_s for _ in range(5)]
    assert waits == [0.0, 1.0, 2.0, 3.0, 4.0]
    clock.advance(10)
    steps = []
    for _ in range(7):
        ticket = guard.reserve("msr1", "10.0.0.9", "t")
        clock.advance(ticket.wait_s)
        steps.append(ticket.wait_s)
        assert guard.evaluate("msr1", "wrong-password-x", "10.0.0.9", "t") is None
    # failures before each try: 0, 1, 2 (1 s apart), 3 -> 1 s, 4 -> 2 s, 5 -> 4 s, 6 -> 8 s
    assert steps == [0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 4.0]


def test_a_try_that_would_wait_too_long_is_refused_unevaluated(people, clock):
    for _ in range(31):
        assert not guard.reserve("msr1", "10.0.0.9", "t").refused
    assert guard.reserve("msr1", "10.0.0.9", "t").refused      # its slot is 31 s away: over 30
    assert db.SignInAttempt.select().where(db.SignInAttempt.evaluated == False).count() == 1  # noqa: E712


def test_ten_failures_lock_the_operator_even_against_the_right_password(people, clock):
    msr, sup = people
    for _ in range(10):
        assert attempt(clock, "msr1", "wrong-password-x") is None
    assert [o.username for o in guard.locked_operators(clock())] == ["msr1"]
    assert len(audit_actions("operator.locked")) == 1
    clock.advance(60)
    assert attempt(clock, "msr1", PASSWORD) is None               # same answer as a wrong password
    assert guard.guesses_evaluated("msr1", T0) == 10               # ... and not even checked
    refused = db.AuditLog.select().where(db.AuditLog.action == "login.refused", db.AuditLog.field == "operator locked")
    assert refused.count() == 1
    # Another operator is not affected.
    assert attempt(clock, "msr2", PASSWORD).username == "msr2"


def test_a_supervisor_unlocks_an_msr_may_not(people, clock):
    msr, sup = people
    for _ in range(10):
        attempt(clock, "msr1", "wrong-password-x")
    with pytest.raises(PermissionDenied):
        guard.unlock(msr, "msr1")
    assert guard.locked_operators(clock())
    with pytest.raises(NotFound):
        guard.unlock(sup, "nobody")
    guard.unlock(sup, "msr1")
    assert not guard.locked_operators(clock())
    assert attempt(clock, "msr1", PASSWORD).username == "msr1"
    unlocked = db.AuditLog.get(db.AuditLog.action == "operator.unlocked")
    assert unlocked.operator_id == sup.id
    events = guard.recent_events()
    assert [e.action for e in events][:2] == ["operator.unlocked", "login.refused"] or \
        "operator.unlocked" in [e.action for e in events]
    assert {"operator.locked", "operator.unlocked"} <= {e.action for e in events}


def test_the_lock_lifts_when_the_window_passes(people, clock):
    for _ in range(10):
        attempt(clock, "msr1", "wrong-password-x")
    clock.advance(9 * 60)
    assert attempt(clock, "msr1", PASSWORD) is None
    clock.advance(2 * 60)
    assert attempt(clock, "msr1", PASSWORD).username == "msr1"


def test_a_sign_in_forgets_the_failures_before_it(people, clock):
    for _ in range(6):
        attempt(clock, "msr1", "wrong-password-x")
    assert attempt(clock, "msr1", PASSWORD)
    for _ in range(6):
        assert attempt(clock, "msr1", "wrong-password-x") is None
    assert not guard.locked_operators(clock())


def test_an_address_failing_against_three_operators_is_banned(people, clock):
    for name in ("msr2", "nosuchname", "msr3"):
        assert attempt(clock, name, "wrong-password-x", "203.0.113.7") is None
    assert guard.banned_until("203.0.113.7", clock()) is not None
    assert attempt(clock, "msr1", PASSWORD, "203.0.113.7") is None       # even the right password
    assert attempt(clock, "msr1", PASSWORD, "10.0.0.9").username == "msr1"  # another address is not banned
    clock.advance(11 * 60)
    assert guard.banned_until("203.0.113.7", clock()) is None
    assert attempt(clock, "msr4", PASSWORD, "203.0.113.7").username == "msr4"


def test_unknown_names_take_as_long_and_leave_no_audit(people, clock):
    ticket = guard.reserve("nosuchname", "10.0.0.9", "t")
    assert not ticket.refused and ticket.wait_s == 1.0
    assert guard.evaluate("nosuchname", "whatever-it-is", "10.0.0.9", "t") is None
    assert db.AuditLog.select().where(db.AuditLog.action == "login.refused").count() == 0


@pytest.mark.parametrize("bad", ["", "            ", "x" * 10_000, "short", "password1234", "dragondragon",
                                 " leading-space-pw", "trailing-space-pw ", "two\nlines-password"])
def test_password_rules(database, bad):
    operators.create("msr1", "Pat Keyer", "msr")
    with pytest.raises(Exception) as err:
        passwords.set_password("msr1", bad)
    assert err.value.__class__.__name__ == "ValidationError"
    assert bad.strip() == "" or bad not in str(err.value)


def test_an_administrators_password_must_be_changed_at_sign_in(database):
    op = operators.create("msr1", "Pat Keyer", "msr")
    passwords.set_password("msr1", "given-by-admin-1", temporary=True)
    assert passwords.must_change(op.id)
    with pytest.raises(Exception, match="other than the one"):
        passwords.change_own(op, "given-by-admin-1")
    with pytest.raises(Exception, match="common"):
        passwords.change_own(op, "password123456")
    passwords.change_own(op, "my own long phrase")
    assert not passwords.must_change(op.id)
    assert passwords.check_login("msr1", "my own long phrase")
