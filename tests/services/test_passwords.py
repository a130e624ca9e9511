"""Passwords: scrypt hashes with a salt each, constant-time check, never the plaintext."""
import time

import pytest

from kec_tui import db
from kec_tui.services import operators, passwords
from kec_tui.services.errors import NotFound, ValidationError


def test_hash_and_verify():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password("correct horse battery", stored)
    assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    assert not passwords.needs_rehash(stored)


@pytest.mark.parametrize("attempt", ["correct horse batter", "Correct horse battery", "", "correct horse battery "])
def test_wrong_password_refused(attempt):
    stored = passwords.hash_password("correct horse battery")
    assert not passwords.verify_password(attempt, stored)


def test_hashes_differ_per_salt():
    a, b = passwords.hash_password("same secret"), passwords.hash_password("same secret")
    assert a != b
    assert a.split("$")[2] != b.split("$")[2]
    assert passwords.verify_password("same secret", a) and passwords.verify_password("same secret", b)


def test_stored_string_has_no_plaintext():
    secret = "Tr0ub4dor&3xyzzy"
    stored = passwords.hash_password(secret)
    assert secret not in stored
    assert secret.lower() not in stored.lower()
    for piece in stored.split("$"):
        assert secret not in piece


@pytest.mark.parametrize("stored", [None, "", "plaintext", "scrypt$n=16384,r=8,p=1$$", "md5$x$y$z",
                                    "scrypt$n=1099511627776,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
                                    "scrypt$n=16384,r=8,p=1$!!!$???"])
def test_malformed_or_hostile_hashes_never_verify(stored):
    started = time.perf_counter()
    assert not passwords.verify_password("anything", stored)
    assert time.perf_counter() - started < 1.0  # a tampered n must not make a login hang


def test_parameters_travel_with_the_hash():
    """A hash made with other parameters still verifies, and is marked for rehashing."""
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"old secret", salt=salt, n=2**10, r=8, p=1, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode().rstrip("=")  # noqa: E731
    old = f"scrypt$n=1024,r=8,p=1${b64(salt)}${b64(key)}"
    assert passwords.verify_password("old secret", old)
    assert passwords.needs_rehash(old)


def test_set_password_and_check_login(sqlite_db):
    operators.create("msr1", "Pat Keyer", "msr")
    passwords.set_password("msr1", "keyer-pass-1")
    row = db.Operator.get(db.Operator.username == "msr1")
    assert "keyer-pass-1" not in row.password_hash
    assert passwords.check_login("msr1", "keyer-pass-1").username == "msr1"
    assert passwords.check_login("MSR1 ", "keyer-pass-1").username == "msr1"
    assert passwords.check_login("msr1", "keyer-pass-2") is None
    assert passwords.check_login("nobody", "keyer-pass-1") is None
    audit = db.AuditLog.get(db.AuditLog.action == "operator.password")
    assert "keyer-pass-1" not in audit.before + audit.after
    assert row.password_hash not in audit.before + audit.after


def test_operator_without_password_or_inactive_cannot_log_in(sqlite_db):
    operators.create("msr2", "No Password", "msr")
    assert passwords.check_login("msr2", "") is None
    assert passwords.check_login("msr2", "anything-at-all") is None
    operators.create("gone", "Left Us", "msr")
    passwords.set_password("gone", "was-a-password")
    db.Operator.update(active=False).where(db.Operator.username == "gone").execute()
    assert passwords.check_login("gone", "was-a-password") is None


def test_bad_new_passwords_refused(sqlite_db):
    operators.create("msr1", "Pat Keyer", "msr")
    for bad in ["short", " leading-space", "line\nbreak-in-it", "x" * 2000]:
        with pytest.raises(ValidationError):
            passwords.set_password("msr1", bad)
    with pytest.raises(NotFound):
        passwords.set_password("nobody", "long-enough-pass")
    assert db.Operator.get(db.Operator.username == "msr1").password_hash is None


def test_an_old_hash_is_upgraded_on_login(sqlite_db):
    import base64
    import hashlib

    operators.create("msr1", "Pat Keyer", "msr")
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"old secret pw", salt=salt, n=2**10, r=8, p=1, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode().rstrip("=")  # noqa: E731
    db.Operator.update(password_hash=f"scrypt$n=1024,r=8,p=1${b64(salt)}${b64(key)}").execute()
    assert passwords.check_login("msr1", "old secret pw") is not None
    stored = db.Operator.get(db.Operator.username == "msr1").password_hash
    assert not passwords.needs_rehash(stored) and passwords.verify_password("old secret pw", stored)


def test_has_password(sqlite_db):
    """The idle lock asks for a password only of an operator who has one."""
    op = operators.create("msr1", "Pat Keyer", "msr")
    assert not operators.has_password(op.id)
    passwords.set_password("msr1", "keyer-pass-1")
    assert operators.has_password(op.id)
    assert not operators.has_password(op.id + 1000)
