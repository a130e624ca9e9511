"""Operator passwords: scrypt with a random salt, parameters kept in the stored string.

Stored form (one string in Operator.password_hash)::

    scrypt$n=16384,r=8,p=1$<salt, base64>$<derived key, base64>

The parameters travel with the hash, so they can be raised later and old
hashes still verify (``needs_rehash`` says when to store a new one). The
plaintext is never stored, logged or returned; comparison is constant time.
"""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import hmac
import logging
import os
import re
from pathlib import Path

from kec_tui import db
from kec_tui.services import audit
from kec_tui.services.errors import NotFound, ValidationError
from kec_tui.services.operators import OperatorInfo

log = logging.getLogger("kec_tui.auth")

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1      # ~16 MiB and ~40 ms per hash on one core of the CI machine
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 12           # NIST SP 800-63B: length and a blocklist, no composition rules
MAX_LENGTH = 1024          # a bound on the work an attacker can make one login cost
COMMON_FILE = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt.gz"
_MAXMEM = 64 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A new hash string for `password` (a fresh random salt each time)."""
    if not isinstance(password, str):
        raise TypeError("password must be str")
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}$n={N},r={R},p={P}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, params, salt, key = stored.split("$")
        if scheme != SCHEME:
            return None
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        # Refuse parameters no hash of ours has: a tampered row must not make a login hang.
        if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16:
            return None
        salt_raw, key_raw = _unb64(salt), _unb64(key)
        if not salt_raw or not 16 <= len(key_raw) <= 64:
            return None
        return n, r, p, salt_raw, key_raw
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches the stored hash string; False for anything else."""
    parsed = _parse(stored) if stored else None
    if parsed is None or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    n, r, p, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(key)), key)


def needs_rehash(stored: str) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[:3] != (N, R, P)


# A hash to verify against when the operator does not exist or has no password,
# so a refusal takes as long as a wrong password (no probing for names by timing).
@functools.cache
def _dummy() -> str:
    return hash_password("kec-tui: no such operator")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (Django's 20,000), lower case."""
    with gzip.open(COMMON_FILE, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def is_common(password: str) -> bool:
    """A listed password, or one padded out to length with digits, symbols or repeats of itself:
    "password1234", "qwerty!!!!!!", "dragondragon" are as guessable as the word."""
    common = common_passwords()
    low = password.lower()
    if low in common:
        return True
    core = re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", low))
    if core != low and (core in common or not core):
        return True
    for size in range(1, len(low) // 2 + 1):        # a repeat of a shorter string
        if len(low) % size == 0 and low[:size] * (len(low) // size) == low:
            return low[:size] in common or size <= 3
    return False


def validate_new(password: str) -> None:
    """NIST SP 800-63B: at least 12 characters, not a known common password; any characters."""
    if not isinstance(password, str) or not password.strip():
        raise ValidationError("A password cannot be empty or only spaces", "password")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"A password may have at most {MAX_LENGTH} characters", "password")
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_LENGTH} characters", "password")
    if password != password.strip() or "\n" in password or "\r" in password:
        raise ValidationError("A password may not start or end with spaces or hold a line break", "password")
    if is_common(password):
        raise ValidationError("That password is on the list of common passwords: choose another", "password")


def set_password(username: str, password: str, *, by: OperatorInfo | None = None,
                 temporary: bool = False) -> OperatorInfo:
    """Store a new hashed password for the operator; audited (without any of it). `temporary`:
    an administrator set it, so the operator must choose their own at the next sign-in."""
    validate_new(password)
    row = db.Operator.get_or_none(db.Operator.username == username.strip().lower())
    if row is None:
        raise NotFound(f"No operator named {username!r}")
    hashed = hash_password(password)
    with db.database.atomic():
        had = bool(row.password_hash)
        db.Operator.update(password_hash=hashed, must_change_password=temporary).where(
            db.Operator.id == row.id).execute()
        audit.record(by, "operator.password", "operator", row.id, field="password",
                     before="set" if had else "", after="set, to change at sign-in" if temporary else "set")
    log.info("password %s for operator %s", "changed" if had else "set", row.username)
    return OperatorInfo(row.id, row.username, row.name, row.role)


@db.connected
def must_change(operator_id: int) -> bool:
    """The operator signs in with a password an administrator set: they must choose their own."""
    row = db.Operator.get_or_none(db.Operator.id == operator_id)
    return bool(row and row.must_change_password)


@db.connected
def change_own(op: OperatorInfo, new_password: str) -> None:
    """The operator's own new password (the first sign-in's, or any later change)."""
    row = db.Operator.get_or_none(db.Operator.id == op.id)
    if row is None:
        raise NotFound(f"No operator named {op.username!r}")
    if row.password_hash and verify_password(new_password, row.password_hash):
        raise ValidationError("Choose a password other than the one you were given", "password")
    set_password(op.username, new_password, by=op)


def check_login(username: str, password: str) -> OperatorInfo | None:
    """The active operator whose password this is, or None. Never says which part was wrong."""
    name = (username or "").strip().lower()
    row = db.Operator.get_or_none(db.Operator.username == name, db.Operator.active == True)  # noqa: E712
    stored = row.password_hash if row is not None and row.password_hash else None
    ok = verify_password(password, stored or _dummy()) and stored is not None
    if not ok:
        return None
    if needs_rehash(stored):
        db.Operator.update(password_hash=hash_password(password)).where(db.Operator.id == row.id).execute()
    return OperatorInfo(row.id, row.username, row.name, row.role)


@db.connected
def record_login(username: str, ok: bool, how: str) -> None:
    """Audit a sign-in or a refused one for a known operator (`how`: "ssh password 10.0.0.5" ...).

    Unknown names are only logged: the audit log keeps operators' actions."""
    row = db.Operator.get_or_none(db.Operator.username == (username or "").strip().lower())
    if row is None:
        return
    op = OperatorInfo(row.id, row.username, row.name, row.role)
    audit.record(op, "login" if ok else "login.refused", "operator", row.id, after=how[:200])


@db.connected
def sign_in(username: str, password: str, how: str) -> bool:
    """Check a sign-in and audit it (or its refusal), in one call from any thread."""
    ok = check_login(username, password) is not None
    record_login(username, ok, how)
    return ok
