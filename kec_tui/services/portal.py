"""The member's online account (the co-op's portal) as the MSR sees it, and the help an MSR gives.

What the screen shows: enrolled or not (invited, active), the user name the member chose, the sign-in
e-mail, the last sign-in, locked or not, and beside them paperless billing, autopay (the bank account
masked to its last four digits) and text alerts. What the MSR does: enroll (an invitation to the e-mail),
resend the invitation, unlock, send a password-reset **link** to the e-mail on file (never a password:
nobody here sets, reads or knows one), and change the sign-in e-mail after the caller has answered
identity questions (`portal_identity_questions` of them, 2 by default); which questions were answered
is recorded (PortalIdentityCheck: their names, never the answers). Every action is audited.

The seam where a co-op connects its portal
------------------------------------------
The portal runs outside this program. This module keeps the co-op's records (PortalAccount) and an
outbox of messages (PortalMessage). A co-op connects its portal with a small class, named in the
setting `portal_connector = "package.module:Class"`, that has the methods of `PortalConnector`:

    class MyPortal:
        def send(self, message: OutboxMessage) -> None: ...      # deliver one message; raise to retry later
        def unlock(self, account_number: int, username: str) -> None: ...   # clear the portal's own lock

`deliver_outbox(connector)` hands it every unsent message, oldest first, and marks each sent (or keeps
its error for the next try); `kec-tui portal-outbox` runs it. The portal reports back with
`record_enrolled`, `record_sign_in` and `record_locked` (from its webhook or a nightly file), so the MSR
sees what the member sees. Without a connector the messages wait in the outbox, listed on the screen.
"""
from __future__ import annotations

import datetime as dt
import importlib
import secrets
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Protocol

from peewee import IntegrityError

from kec_tui import config, db, money
from kec_tui.services import audit
from kec_tui.services.accounts import last_payment, mask_bank
from kec_tui.services.contacts import clean as clean_contact, normalize_phone
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

PORTAL_URL = "https://my.kec.coop"
LINK_HOURS = 24                        # an invitation or reset link works this long
IDENTITY_QUESTIONS = {                 # name -> what the MSR asks; the member's answer is checked here
    "tax4": "Last 4 of the tax ID",
    "birth": "Date of birth",
    "phone": "A phone number on file",
    "last_payment": "Amount of the last payment",
    "zip": "Service ZIP code",
}
_questions_needed = 2


def configure(settings: config.Settings) -> int:
    global _questions_needed
    _questions_needed = settings.portal_identity_questions
    return _questions_needed


def questions_needed() -> int:
    return _questions_needed


# ---- what the screen shows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxMessage:
    id: int
    account_number: int
    kind: str
    to_address: str
    subject: str
    body: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    error: str


@dataclass(frozen=True)
class PortalView:
    account_id: int
    account_number: int
    name: str
    status: str                        # not enrolled, invited, active
    username: str
    email: str                         # the sign-in e-mail ("" when not enrolled)
    contact_email: str                 # the e-mail on the account's contacts
    invited_at: dt.datetime | None
    enrolled_at: dt.datetime | None
    last_sign_in_at: dt.datetime | None
    locked: bool
    locked_at: dt.datetime | None
    paperless: bool
    autopay: bool
    bank_masked: str                   # ****1234, never more
    text_alerts: bool
    text_phone: str
    outbox: tuple[OutboxMessage, ...]

    @property
    def enrolled(self) -> bool:
        return self.status != "not enrolled"


def _account(account_id: int) -> db.Account:
    a = db.Account.get_or_none(db.Account.id == account_id)
    if a is None:
        raise NotFound(f"No account with id {account_id}", "account")
    return a


def _message(m: db.PortalMessage, number: int) -> OutboxMessage:
    return OutboxMessage(m.id, number, m.kind, m.to_address, m.subject, m.body, m.created_at, m.sent_at, m.error)


@db.connected
def view(account_id: int, outbox_limit: int = 8) -> PortalView:
    a = _account(account_id)
    m = a.member
    p = db.PortalAccount.get_or_none(db.PortalAccount.account == a.id)
    pref = db.StatementPreference.get_or_none(db.StatementPreference.account == a.id)
    msgs = (db.PortalMessage.select().where(db.PortalMessage.account == a.id)
            .order_by(db.PortalMessage.id.desc()).limit(outbox_limit))
    return PortalView(
        a.id, a.number, f"{m.first_name} {m.last_name}".strip(),
        p.status if p else "not enrolled", p.username if p else "", p.email if p else "", m.email,
        p.invited_at if p else None, p.enrolled_at if p else None, p.last_sign_in_at if p else None,
        bool(p and p.locked_at), p.locked_at if p else None,
        bool(pref and pref.paperless), bool(m.bank_account), mask_bank(m.bank_account),
        bool(p and p.text_alerts), p.text_phone if p else "",
        tuple(_message(x, a.number) for x in msgs))


# ---- the outbox ----------------------------------------------------------------------------------------------

def _link(kind: str) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(24)
    return f"{PORTAL_URL}/{kind}?t={token}", db.now() + dt.timedelta(hours=LINK_HOURS)


def _queue(op: OperatorInfo | None, a: db.Account, kind: str, to: str, subject: str, body: str,
           expires: dt.datetime | None = None) -> db.PortalMessage:
    return db.PortalMessage.create(account=a.id, kind=kind, to_address=to, subject=subject[:120], body=body,
                                   link_expires_at=expires, operator=op.id if op else None)


def _invitation(op: OperatorInfo, a: db.Account, email: str) -> None:
    link, expires = _link("enroll")
    _queue(op, a, "invitation", email, "Set up your online account",
           f"Follow this link to choose your user name and password for account {a.number}:\n{link}\n"
           f"The link works for {LINK_HOURS} hours. We will never ask for your password.", expires)


def _portal(a: db.Account) -> db.PortalAccount:
    p = db.PortalAccount.get_or_none(db.PortalAccount.account == a.id)
    if p is None:
        raise ValidationError(f"Account {a.number} has no online account: enroll it first", "portal")
    return p


# ---- what the MSR does -------------------------------------------------------------------------------------

@db.connected
def enroll(op: OperatorInfo, account_id: int, email: str | None = None) -> PortalView:
    """Invite the member to the portal at `email` (default: the e-mail on the contacts)."""
    require(op, "portal.help")
    a = _account(account_id)
    address = clean_contact("email", (email if email is not None else a.member.email or "").strip())
    if not address:
        raise ValidationError("No e-mail on file: add one to the contacts (F6) or key it, then enroll", "email")
    already = ValidationError(f"Account {a.number} is already enrolled: resend the invitation instead", "portal")
    try:
        with db.write_txn():
            if db.PortalAccount.select().where(db.PortalAccount.account == a.id).exists():
                raise already
            row = db.PortalAccount.create(account=a.id, status="invited", email=address, invited_at=db.now(),
                                          text_phone=a.member.phone_mobile)
            _invitation(op, a, address)
            audit.record(op, "portal.enroll", "portal_account", row.id, account_id=a.id, field="email",
                         after=address)
    except IntegrityError as exc:            # another session enrolled it a moment before (unique account)
        raise already from exc
    return view(a.id)


@db.connected
def resend_invitation(op: OperatorInfo, account_id: int) -> PortalView:
    require(op, "portal.help")
    a = _account(account_id)
    with db.write_txn():
        p = _portal(a)
        if p.status != "invited":
            raise ValidationError("The member has already signed up: send a reset link if they cannot sign in",
                                  "portal")
        _invitation(op, a, p.email)
        db.PortalAccount.update(invited_at=db.now(), updated_at=db.now()).where(db.PortalAccount.id == p.id).execute()
        audit.record(op, "portal.invite_again", "portal_account", p.id, account_id=a.id, after=p.email)
    return view(a.id)


@db.connected
def unlock(op: OperatorInfo, account_id: int, connector: PortalConnector | None = None) -> PortalView:
    """Clear the portal's lock (after identity is verified on the call); the member is told by e-mail."""
    require(op, "portal.help")
    a = _account(account_id)
    with db.write_txn():
        p = _portal(a)
        if p.locked_at is None:
            raise ValidationError("The online account is not locked", "portal")
        done = (db.PortalAccount.update(locked_at=None, updated_at=db.now())
                .where(db.PortalAccount.id == p.id, db.PortalAccount.locked_at.is_null(False)).execute())
        if not done:
            raise ValidationError("The online account was unlocked meanwhile", "portal")
        _queue(op, a, "unlocked", p.email, "Your online account is unlocked",
               f"Your online account for {a.number} was unlocked by member services at your request. "
               f"If you did not ask for this, call us.")
        audit.record(op, "portal.unlock", "portal_account", p.id, account_id=a.id, field="locked",
                     before=f"{p.locked_at:%Y-%m-%d %H:%M}", after="")
    if connector is not None:
        connector.unlock(a.number, p.username)
    return view(a.id)


@db.connected
def send_reset_link(op: OperatorInfo, account_id: int) -> PortalView:
    """A password-reset link to the sign-in e-mail on file. Never a password: none is set or told here."""
    require(op, "portal.help")
    a = _account(account_id)
    with db.write_txn():
        p = _portal(a)
        if p.status != "active":
            raise ValidationError("The member has not signed up yet: resend the invitation instead", "portal")
        link, expires = _link("reset")
        _queue(op, a, "reset_link", p.email, "Reset your online account password",
               f"Follow this link to choose a new password for {p.username or a.number}:\n{link}\n"
               f"The link works for {LINK_HOURS} hours. We will never ask for your password.", expires)
        audit.record(op, "portal.reset_link", "portal_account", p.id, account_id=a.id, after=p.email)
    return view(a.id)


# ---- identity questions and the e-mail change --------------------------------------------------------------

def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _date(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%m/%d/%Y", "%m%d%Y", "%Y-%m-%d", "%m-%d-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _matches(a: db.Account, question: str, answer: str) -> bool:
    m = a.member
    if question == "tax4":
        return bool(m.tax_id_last4) and _digits(answer) == m.tax_id_last4
    if question == "birth":
        return m.birth_date is not None and _date(answer) == m.birth_date
    if question == "phone":
        phone = normalize_phone(answer)
        return len(phone) == 10 and phone in {m.phone_home, m.phone_mobile, m.phone_work} - {""}
    if question == "last_payment":
        paid = last_payment(a.id)
        try:
            return paid is not None and money.parse(answer) == paid[1]
        except (money.MoneyError, InvalidOperation, ValueError):
            return False
    if question == "zip":
        return _digits(answer)[:5] == _digits(a.location.zip)[:5] != ""
    raise ValidationError(f"No identity question {question!r}", "question")


@db.connected
def check_answer(account_id: int, question: str, answer: str, op: OperatorInfo | None = None) -> bool:
    """The caller's answer to one identity question matches the record (the form asks as it goes).
    With `op` (the form's check), a wrong answer is recorded and audited: which question, never the answer."""
    a = _account(account_id)
    right = _matches(a, question, answer)
    if not right and op is not None:
        with db.write_txn():
            db.PortalIdentityCheck.create(account=a.id, operator=op.id, purpose="email_change", questions=question,
                                          passed=False)
            audit.record(op, "portal.identity_refused", "portal_account", None, account_id=a.id, field=question,
                         after=f"asked: {question}")
    return right


@db.connected
def change_email(op: OperatorInfo, account_id: int, new_email: str, answers: dict[str, str],
                 shown: str | None = None) -> PortalView:
    """Change the sign-in e-mail once the caller has answered `questions_needed()` identity questions
    right (answers keyed by IDENTITY_QUESTIONS name; blank ones were not asked). A wrong answer refuses
    the change; the attempt is recorded either way (which questions, never the answers). Both the old
    and the new address are told. `shown`: the e-mail the MSR saw; changed meanwhile by someone else, the
    change is refused (never a lost update)."""
    require(op, "portal.help")
    a = _account(account_id)
    asked = {q: v.strip() for q, v in answers.items() if v and v.strip()}
    unknown = set(asked) - set(IDENTITY_QUESTIONS)
    if unknown:
        raise ValidationError(f"No identity question {sorted(unknown)[0]!r}", "question")
    wrong = [q for q in IDENTITY_QUESTIONS if q in asked and not _matches(a, q, asked[q])]
    passed = not wrong and len(asked) >= _questions_needed
    address = clean_contact("email", (new_email or "").strip())
    with db.write_txn():
        p = _portal(a)
        if asked:
            names = ",".join(q for q in IDENTITY_QUESTIONS if q in asked)
            db.PortalIdentityCheck.create(account=a.id, operator=op.id, purpose="email_change", questions=names,
                                          passed=passed)
            if wrong:
                audit.record(op, "portal.identity_refused", "portal_account", p.id, account_id=a.id,
                             field=wrong[0], after=f"asked: {names}")
    if wrong:
        raise ValidationError(f"{IDENTITY_QUESTIONS[wrong[0]]}: does not match the record; the e-mail is not "
                              f"changed", wrong[0])
    if len(asked) < _questions_needed:
        raise ValidationError(f"Ask {_questions_needed} identity questions before changing the e-mail "
                              f"({len(asked)} answered)", "question")
    if not address:
        raise ValidationError("The new e-mail is required", "email")
    if address == p.email:
        raise ValidationError(f"The sign-in e-mail is already {address}", "email")
    meanwhile = ServiceError("The sign-in e-mail was changed meanwhile by someone else: look again", "email")
    before = p.email if shown is None else shown
    if p.email != before:
        raise meanwhile
    with db.write_txn():
        done = (db.PortalAccount.update(email=address, updated_at=db.now())
                .where(db.PortalAccount.id == p.id, db.PortalAccount.email == before).execute())
        if not done:
            raise meanwhile
        for to in (p.email, address):
            _queue(op, a, "email_changed", to, "Your online account e-mail was changed",
                   f"The sign-in e-mail of the online account for {a.number} is now {address} (it was "
                   f"{p.email}), changed by member services. If you did not ask for this, call us.")
        audit.record(op, "portal.email", "portal_account", p.id, account_id=a.id, field="email", before=p.email,
                     after=f"{address} (identity: {', '.join(q for q in IDENTITY_QUESTIONS if q in asked)})"[:200])
    return view(a.id)


# ---- the seam: the co-op's portal ---------------------------------------------------------------------------

class PortalConnector(Protocol):
    """What a co-op's portal connection provides (see the module's text)."""

    def send(self, message: OutboxMessage) -> None:
        """Deliver one message (e-mail or through the portal); raise any exception to retry it later."""

    def unlock(self, account_number: int, username: str) -> None:
        """Clear the portal's own lock on the member's online account."""


def connector_from_settings(settings: config.Settings) -> PortalConnector | None:
    """The class named by `portal_connector` ("module:Class"), made with no arguments; None without one."""
    path = (settings.portal_connector or "").strip()
    if not path:
        return None
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)()
    except Exception as exc:  # noqa: BLE001 - a setting's mistake is a message, not a traceback
        raise ValidationError(f"Setting portal_connector {path!r}: {db.first_line(exc)}", "portal_connector") from exc


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int


@db.connected
def outbox(limit: int = 100, unsent_only: bool = True) -> list[OutboxMessage]:
    q = (db.PortalMessage.select(db.PortalMessage, db.Account.number).join(db.Account)
         .order_by(db.PortalMessage.id).limit(limit))
    if unsent_only:
        q = q.where(db.PortalMessage.sent_at.is_null())
    return [_message(m, m.account.number) for m in q]


@db.connected
def deliver_outbox(connector: PortalConnector, limit: int = 500) -> Delivery:
    """Hand each unsent message to the connector, oldest first; mark it sent once (a second session
    delivering at the same time skips it), or keep the connector's error for the next try."""
    sent = failed = 0
    for msg in outbox(limit):
        try:
            connector.send(msg)
        except Exception as exc:  # noqa: BLE001 - the connector's error, kept on the message
            db.PortalMessage.update(error=db.first_line(exc)[:200]).where(db.PortalMessage.id == msg.id).execute()
            failed += 1
            continue
        sent += db.PortalMessage.update(sent_at=db.now(), error="").where(
            db.PortalMessage.id == msg.id, db.PortalMessage.sent_at.is_null()).execute()
    waiting = db.PortalMessage.select().where(db.PortalMessage.sent_at.is_null()).count()
    return Delivery(sent, failed, waiting)


def _reported(account_number: int) -> tuple[db.Account, db.PortalAccount]:
    a = db.Account.get_or_none(db.Account.number == int(account_number))
    if a is None:
        raise NotFound(f"No account {account_number}", "account")
    return a, _portal(a)


@db.connected
def record_enrolled(account_number: int, username: str, at: dt.datetime) -> None:
    """The portal says: the member signed up from the invitation with this user name."""
    a, p = _reported(account_number)
    with db.write_txn():
        db.PortalAccount.update(status="active", username=username.strip()[:60], enrolled_at=at,
                                updated_at=db.now()).where(db.PortalAccount.id == p.id).execute()
        audit.record(None, "portal.enrolled", "portal_account", p.id, account_id=a.id, field="username",
                     after=username.strip()[:60])


@db.connected
def record_sign_in(account_number: int, at: dt.datetime) -> None:
    """The portal says: the member signed in at `at` (a later report never moves it back)."""
    _, p = _reported(account_number)
    (db.PortalAccount.update(last_sign_in_at=at)
     .where(db.PortalAccount.id == p.id, db.PortalAccount.last_sign_in_at.is_null()
            | (db.PortalAccount.last_sign_in_at < at)).execute())


@db.connected
def record_locked(account_number: int, at: dt.datetime) -> None:
    """The portal says: too many wrong passwords, the online account is locked."""
    a, p = _reported(account_number)
    with db.write_txn():
        db.PortalAccount.update(locked_at=at, updated_at=db.now()).where(db.PortalAccount.id == p.id).execute()
        audit.record(None, "portal.locked", "portal_account", p.id, account_id=a.id, field="locked",
                     after=f"{at:%Y-%m-%d %H:%M}")


@db.connected
def record_text_alerts(account_number: int, on: bool, phone: str = "") -> None:
    """The portal says: the member turned text alerts on (to `phone`) or off."""
    _, p = _reported(account_number)
    db.PortalAccount.update(text_alerts=on, text_phone=normalize_phone(phone)[:10] if on else p.text_phone,
                            updated_at=db.now()).where(db.PortalAccount.id == p.id).execute()



@db.connected
def practice_caller(account_id: int) -> dict[str, str]:
    """Training only (the practice database): what the walkthrough's caller answers to the identity
    questions. Never used on live work: a screen asks the caller, the service checks the answer."""
    a = _account(account_id)
    m = a.member
    return {"tax4": m.tax_id_last4 or "", "birth": f"{m.birth_date:%m/%d/%Y}" if m.birth_date else "",
            "first": m.first_name, "last": m.last_name}


def seed_demo(seed: int, today: dt.date, limit: int = 4_000) -> int:
    """The demo co-op's online accounts (demo/builder.py, inside its transaction): about 40% of the first
    active accounts with an e-mail, most signed up and signing in over the last two months, some only
    invited, a few locked, a third with text alerts. Deterministic for (seed, today); at most `limit`."""
    import random

    rng = random.Random(f"portal-{seed}")
    A, M = db.Account, db.Member
    rows = (A.select(A.id, M.email, M.first_name, M.last_name, M.phone_mobile).join(M)
            .where(A.status == "active", M.email != "").order_by(A.id).limit(limit * 3).tuples())
    noon = dt.datetime.combine(today, dt.time(12, 0))
    made = []
    for account_id, email, first, last, mobile in rows:
        if rng.random() >= 0.4:
            continue
        invited = noon - dt.timedelta(days=rng.randint(30, 900), hours=rng.randint(0, 8))
        active = rng.random() < 0.88
        user = (first[:1] + last).lower().replace(" ", "").replace("'", "")[:20] + str(rng.randint(1, 99))
        signed = noon - dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600)) if active else None
        alerts = bool(mobile) and rng.random() < 0.33
        made.append({"account": account_id, "status": "active" if active else "invited",
                     "username": user if active else "", "email": email, "invited_at": invited,
                     "enrolled_at": invited + dt.timedelta(days=rng.randint(0, 3)) if active else None,
                     "last_sign_in_at": signed,
                     "locked_at": signed + dt.timedelta(minutes=5) if active and rng.random() < 0.03 else None,
                     "text_alerts": alerts, "text_phone": mobile or "", "updated_at": signed or invited})
        if len(made) == limit:
            break
    for i in range(0, len(made), 500):
        db.PortalAccount.insert_many(made[i:i + 500]).execute()
    return len(made)
