"""The guided walkthroughs of training mode: steps, their checks and the why of each procedure.

A walkthrough's ``setup`` picks its member, stubs or applicant from the practice
database when it starts (so it works again and again on the same practice copy)
and returns them as ``data``; the texts of its steps name them with
``{placeholders}``. Each step's ``check`` looks at what the trainee did: the
database (a note, an audited change, a batch and its lines, an order, an
account opened) or which screen and account are open. It returns True when the
step is done, a short message when something is wrong ("not yet, because ..."),
or None while there is nothing to say. Checks are plain queries, run on a timer
and after every screen change; they never touch the keyboard.

A ``milestone`` step is checked by its result in the database: if the trainee
did it before the check caught up with the steps in between (a quick trainee
opens the contacts and saves within a second), the walkthrough moves on past it.

Walkthroughs that drive a screen not in this build (``needs``) are listed as
coming, never faked.
"""
from __future__ import annotations

import datetime as dt
import importlib
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from kec_tui import money
from kec_tui.checkdigit import make_scan_line
from kec_tui.services import accounts, counter, drawers, portal, practice
from kec_tui.services.accounts import format_phone
from kec_tui.services.operators import OperatorInfo

Verdict = bool | str | None


class NotPossible(Exception):
    """The practice database has nothing this walkthrough can use (message for the trainee)."""


@dataclass
class Ctx:
    """What a check may look at."""

    app: object                       # the KecApp: its screen stack and settings
    op: OperatorInfo                  # the trainee
    since: dt.datetime                # when the walkthrough started (database clock, seconds)
    data: dict = field(default_factory=dict)
    before: frozenset = frozenset()   # ids of the screens open when it started (not the trainee's doing)

    @property
    def screens(self) -> list:
        return list(getattr(self.app, "screen_stack", []))

    def open(self, cls_path: str, **attrs) -> object | None:
        """The topmost open screen of that class (module:Class) whose attributes match, or None."""
        cls = load(cls_path)
        if cls is None:
            return None
        for screen in reversed(self.screens):
            if isinstance(screen, cls) and all(getattr(screen, k, None) == v for k, v in attrs.items()):
                return screen
        return None


@dataclass(frozen=True)
class Step:
    title: str
    do: str                                   # what to do ({placeholders} from the data)
    why: str                                  # why the procedure is so
    check: Callable[[Ctx], Verdict]
    hints: tuple[str, ...] = ()
    milestone: bool = False                   # checked in the database: may be passed by doing it early


@dataclass(frozen=True)
class Walkthrough:
    name: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    setup: Callable[[Ctx], dict]
    done: str                                 # the completion message: what was practised
    needs: tuple[str, ...] = ()               # "module:Class" of the screens it drives
    document: str = ""                        # the policy or training document it follows (Shift+F1 opens it)

    def coming(self) -> str | None:
        """Why it cannot run in this build yet (a screen is missing), or None."""
        for path in self.needs:
            if load(path) is None:
                return f"coming: needs {path.split(':')[1]} ({path.split(':')[0].rsplit('.', 1)[1]}.py)"
        return None


def load(path: str):
    """`module:Class` or None when the module or class does not exist (yet)."""
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    except Exception:  # noqa: BLE001 - a screen half-written by another engineer: not available
        return None


def text(template: str, data: dict) -> str:
    try:
        return template.format(**data)
    except (KeyError, IndexError, ValueError):
        return template


# ---- picking from the practice database ------------------------------------------------------------

ACCOUNT_SCREEN = "kec_tui.screens.account:AccountScreen"
CONTACT_SCREEN = "kec_tui.screens.contacts:ContactScreen"
ORDER_QUEUE = "kec_tui.screens.orders:OrderQueueScreen"
NEW_ORDER = "kec_tui.screens.orders:NewOrderScreen"
NEW_MEMBER = "kec_tui.screens.membership:NewMembershipScreen"


def _rng(ctx: Ctx) -> random.Random:
    return random.Random(ctx.data.get("seed"))


def _candidates(rng: random.Random, limit: int = 400) -> list[int]:
    """Active accounts of members with one account, not flagged, in a random order."""
    ids = practice.check_candidates()
    rng.shuffle(ids)
    return ids[:limit]


def _unique_name(v: accounts.AccountView) -> bool:
    """The name finds this account first and no other account of the same name."""
    found = accounts.lookup(v.name, limit=5).hits
    return bool(found) and found[0].account_id == v.id and sum(h.name == v.name for h in found) == 1


def _pick(ctx: Ctx, want: Callable[[accounts.AccountView], bool], n: int = 1, *,
          exclude: set[int] = frozenset(), what: str = "a member",
          among: list[int] | None = None) -> list[accounts.AccountView]:
    picked: list[accounts.AccountView] = []
    ids = _candidates(_rng(ctx)) if among is None else _rng(ctx).sample(among, len(among))
    for aid in ids:
        if aid in exclude:
            continue
        v = accounts.view(aid)
        if v.other_accounts or v.flags or not want(v) or not _unique_name(v):
            continue
        picked.append(v)
        if len(picked) == n:
            return picked
    raise NotPossible(f"The practice database has no {what} for this walkthrough: rebuild it (kec-tui train --reset)")


def _street(v: accounts.AccountView) -> str:
    return v.service_address.split(",")[0]


def _spoken(v: accounts.AccountView) -> str:
    """The name as the caller says it: "Gerald Steele" (the screens show "Steele, Gerald")."""
    return practice.member_spoken_name(v.member_id)


def _account_open(ctx: Ctx) -> Verdict:
    """The caller's account screen is open (anywhere in the stack: a modal may be on top)."""
    target = ctx.data["account_id"]
    if ctx.open(ACCOUNT_SCREEN, account_id=target):
        return True
    top = ctx.open(ACCOUNT_SCREEN)
    if top is not None and id(top) not in ctx.before:
        v = getattr(top, "view", None)
        who = f"{v.number} ({v.name}, {_street(v)})" if v else "another account"
        return f"Account {who} is open: not the caller's. F2 goes back to Lookup."
    return None


FIND = Step(
    "Find the caller's account",
    "{caller} F2 Lookup: type the name, Enter.",
    "One box finds a member by name, service address, phone, account or meter number. Names repeat: "
    "confirm the service address with the caller before you say anything about the account (it is "
    "confidential).",
    _account_open,
    hints=("Lookup finds as you type; Enter opens the first result. The words can be in any order and "
           "may be the start of a word: 'smi joh'.",
           "Not the right one? Esc goes back to the results; Down moves into the list, Enter opens the "
           "one at {street}."),
)


# ---- (a) a billing question ------------------------------------------------------------------------

def _setup_billing(ctx: Ctx) -> dict:
    def good(v: accounts.AccountView) -> bool:
        return v.amount_due_cents > 0 and v.due_date is not None and v.past_due_cents == 0
    try:
        v, = _pick(ctx, good, what="member with a current bill")
    except NotPossible:
        v, = _pick(ctx, lambda v: v.amount_due_cents > 0 and v.due_date is not None,
                   what="member with a bill due")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "due_cents": v.amount_due_cents,
            "due_date": v.due_date.isoformat(),
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. What do I owe, and when is it due?\""}


_MONEY = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?")
_DATE = re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?\b")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WORD_DATE = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?\s+(\d{1,2})\b", re.I)


def note_answers(note: str, cents: int, due: dt.date) -> tuple[bool, bool]:
    """Does the note give this amount and this due date (month and day; a year must match if given)?"""
    amount_ok = False
    for whole, frac in _MONEY.findall(note.replace("$ ", "$")):
        value = int(whole.replace(",", "")) * 100 + int(frac or 0)
        if value == cents:
            amount_ok = True
    date_ok = False
    for m, d, y in _DATE.findall(note):
        year_ok = not y or int(y) % 100 == due.year % 100
        if int(m) == due.month and int(d) == due.day and year_ok:
            date_ok = True
    for mon, d in _WORD_DATE.findall(note):
        if _MONTHS.index(mon[:3].lower()) + 1 == due.month and int(d) == due.day:
            date_ok = True
    return amount_ok, date_ok


def _billing_noted(ctx: Ctx) -> Verdict:
    notes = practice.notes_since(ctx.data["account_id"], ctx.op.id, ctx.since)
    if not notes:
        return None
    due = dt.date.fromisoformat(ctx.data["due_date"])
    results = [note_answers(t, ctx.data["due_cents"], due) for t in notes]
    if any(a and d for a, d in results):
        return True
    if not any(a for a, _ in results):
        return "Your note does not give the amount due as the summary shows it (e.g. $84.17): F7 adds another note."
    return "Your note does not give the due date as the summary shows it (e.g. 12/05/2025): F7 adds another note."


BILLING = Walkthrough(
    "billing", "Answer a billing question",
    "A member asks what they owe and when it is due: find the account, read the bill, note the call.",
    steps=(
        FIND,
        Step("Tell the amount due and the due date; note the call",
             "Tell the caller the Amount due and the Due date (the summary, left). Note the call: F7, type "
             "what you told them with the amount and the date; Ctrl+S saves.",
             "Amount due is what to pay by the due date; Balance can include charges billed after the "
             "statement, and Past due is already late (a late fee follows). A note on the account tells the "
             "next MSR, the supervisor and any later dispute exactly what the member was told.",
             _billing_noted, milestone=True,
             hints=("A note like: Asked about the bill: told $84.17 due 12/05/2025. (Your own words; the "
                    "amount and the date as the screen shows them.)",
                    "The ledger (F9) shows each bill and payment with the running balance, newest first.",
                    "Notes are kept with your name and the time; they cannot be edited later, so read the "
                    "amount from the screen, not from memory.")),
    ),
    setup=_setup_billing,
    done="You found the member, confirmed the address, read the amount due and due date from the "
         "summary and noted what you told them.",
    document="training/counter-and-phone-basics",
)


# ---- (b) a contact update ---------------------------------------------------------------------------

def _setup_contact(ctx: Ctx) -> dict:
    v, = _pick(ctx, lambda v: True, what="member")
    rng = _rng(ctx)
    current = v.contact.phone_mobile
    new = current
    while new == current:
        new = f"208555{rng.randrange(100, 10000):04d}"
    return {"account_id": v.id, "member_id": v.member_id, "name": v.name, "street": _street(v),
            "new_phone": new, "new_phone_fmt": format_phone(new),
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. My new cell phone is {format_phone(new)}.\""}


def _contacts_open(ctx: Ctx) -> Verdict:
    for screen in reversed(ctx.screens):
        cls = load(CONTACT_SCREEN)
        if cls is not None and isinstance(screen, cls):
            view = getattr(screen, "view", None)
            if view is not None and view.id == ctx.data["account_id"]:
                return True
            return "These are another member's contacts: Esc, then find the caller's account."
    return None


def _phone_saved(ctx: Ctx) -> Verdict:
    changes = practice.contact_changes_since(ctx.data["member_id"], ctx.op.id, ctx.since)
    rows = [after for field_, after in changes if field_ == "phone_mobile"]
    if ctx.data["new_phone"] in rows:
        return True
    if rows:
        return (f"The mobile phone was saved as {format_phone(rows[-1])}; the member said "
                f"{ctx.data['new_phone_fmt']}: F6 and change it again.")
    if changes:
        return "You saved another field; the member's new number goes in Mobile phone."
    return None


def _history_shown(ctx: Ctx) -> Verdict:
    screen = ctx.open(ACCOUNT_SCREEN, account_id=ctx.data["account_id"])
    if screen is None or screen is not ctx.screens[-1]:
        return None
    try:
        from textual.widgets import TabbedContent

        return screen.query_one(TabbedContent).active == "history" or None
    except Exception:  # noqa: BLE001 - the screen is changing: ask again on the next check
        return None


CONTACT = Walkthrough(
    "contact", "Update a contact",
    "A member gives a new cell phone number: change it on the contact screen and read it back.",
    steps=(
        FIND,
        Step("Open the contact screen",
             "On the account, F6 opens the contact screen of {name}.",
             "Contact details change only here: each field is checked (a phone is 10 digits, an e-mail "
             "has an @) and every change is logged with your name, the time, the old and the new value.",
             _contacts_open),
        Step("Change the mobile phone and save",
             "Enter (or Tab) down to Mobile phone, Ctrl+E erases it, type {new_phone_fmt}, F10 saves.",
             "The audit log keeps the old number beside the new one, so a mis-keyed change can be traced and "
             "put right. Type the number as the member says it: (208) 555-0123, 208-555-0123 or 2085550123 "
             "are all taken.",
             _phone_saved, milestone=True,
             hints=("Up goes back a field; Esc leaves without saving anything.",
                    "A bad value keeps the cursor in the field with the reason; nothing typed is lost.")),
        Step("Read it back from the history",
             "F12 shows the account's change history: read the new number back to the member from there.",
             "Reading back from the record (not from your note pad) confirms what was saved, under whose "
             "name, and catches a mis-keyed digit while the member is still on the line.",
             _history_shown),
    ),
    setup=_setup_contact,
    done="You found the member, changed the mobile phone on the contact screen (checked, saved, logged with "
         "the old number) and read it back from the change history.",
    document="training/counter-and-phone-basics",
)


# ---- (c) a payment batch ------------------------------------------------------------------------------

STUBS = 4


def _setup_batch(ctx: Ctx) -> dict:
    def good(v: accounts.AccountView) -> bool:
        return 1000 <= v.amount_due_cents <= 60000 and v.balance_cents == v.amount_due_cents
    picked = _pick(ctx, good, STUBS, what=f"{STUBS} members with a bill due")
    settings = getattr(ctx.app, "settings", None)
    from kec_tui.services.batches import scan_layout

    layout = scan_layout(settings) if settings is not None else None
    rng = _rng(ctx)
    check = rng.randrange(1001, 9000)
    stubs = []
    for i, v in enumerate(picked):
        amount = v.amount_due_cents
        if i == STUBS - 1:                    # a partial payment: the amount is keyed
            amount = max(500, (v.amount_due_cents // 2) // 100 * 100)
        stub = {"account_id": v.id, "number": v.number, "name": v.name, "cents": amount,
                "due_cents": v.amount_due_cents, "check_no": "" if i == 0 else str(check + i)}
        if i == 0:
            stub["scan"] = make_scan_line(v.number, v.amount_due_cents, *([layout] if layout else []))
        stubs.append(stub)
    total = sum(s["cents"] for s in stubs)
    cells = []
    for i, s in enumerate(stubs, 1):
        if "scan" in s:
            cells.append(f"{i} SCAN {s['scan']}")
        elif s["cents"] == s["due_cents"]:
            cells.append(f"{i} Acct {s['number']} {money.fmt_dollars(s['cents'])} due, ck {s['check_no']}")
        else:
            cells.append(f"{i} Acct {s['number']} pays {money.fmt_dollars(s['cents'])}, ck {s['check_no']}")
    lines = [" │ ".join(cells[i:i + 2]) for i in range(0, len(cells), 2)]
    return {"stubs": stubs, "count": len(stubs), "total_cents": total, "total": money.fmt_dollars(total),
            "total_keyed": str(money.to_decimal(total)), "stub_list": "\n".join(lines)}


def _batch(ctx: Ctx) -> practice.PracticeBatch | None:
    return practice.latest_batch_since(ctx.op.id, ctx.since)


def _batch_opened(ctx: Ctx) -> Verdict:
    b = _batch(ctx)
    if b is None:
        return None
    if b.control_count == ctx.data["count"] and b.control_total_cents == ctx.data["total_cents"]:
        return True
    return (f"batch {b.number} was opened for {b.control_count} / {money.fmt_dollars(b.control_total_cents)}, "
            f"the tape says {ctx.data['count']} / {ctx.data['total']}: F11 in the batch corrects it.")


def _stubs_keyed(ctx: Ctx) -> Verdict:
    b = _batch(ctx)
    if b is None:
        return None
    lines = practice.active_batch_lines(b.id)
    want = Counter((s["account_id"], s["cents"]) for s in ctx.data["stubs"])
    have = Counter((a, c) for _, a, _, c in lines)
    for seq, a, text_, cents in lines:
        if want[(a, cents)] < have[(a, cents)]:
            return (f"line {seq} ({text_} {money.fmt_dollars(cents)}) is not on the stub list: F6, then Enter "
                    f"on it changes it, F9 voids it.")
    keyed = sum((want & have).values())
    if keyed == len(ctx.data["stubs"]) and len(lines) == keyed:
        return True
    return f"{keyed} of {len(ctx.data['stubs'])} stubs keyed." if keyed else None


def _batch_posted(ctx: Ctx) -> Verdict:
    b = _batch(ctx)
    if b is None:
        return None
    if b.status == "posted":
        return True if _stubs_keyed(ctx) is True or b.accepted else \
            "The batch posted, but not with the stubs on the list."
    return None


BATCH = Walkthrough(
    "batch", "Key and post a payment batch",
    f"Open a batch from the adding-machine tape, key {STUBS} mail stubs (one scanned), balance and post.",
    steps=(
        Step("Open a batch from the tape",
             "Tape: {count} stubs, {total}. F3 batch list, F5 new batch: Enter (today), Enter (Check), "
             "{count} Enter, {total_keyed} Enter.",
             "The control count and total come from a tape run before keying. What you key must add up to "
             "them: if it does not, a stub was mis-keyed or lost, and the batch will not post until it is "
             "found. Posting only what balances keeps the ledger and the bank deposit equal.",
             _batch_opened, milestone=True,
             hints=("The date and tender have defaults: Enter takes them. A typing slip: Up goes back a field, "
                    "Ctrl+E erases it.",)),
        Step("Key the stubs",
             "{stub_list}",
             "Every account number ends in a check digit: a wrong or swapped digit is refused at the field. "
             "The scan line carries the account, the amount due and its own check digit: a scanner types it "
             "with one Enter. Enter on an empty Amount takes the amount due; a partial payment is keyed "
             "(45.6 or 45.60). Every line is saved on Enter: nothing is lost if you leave.",
             _stubs_keyed, milestone=True,
             hints=("SCAN: type the 21 digits in Account and Enter (a scanner does it): the line is saved at "
                    "once. \"due\": Enter on the empty Amount takes the amount due.",
                    "Account, Enter: the member and amount due appear; Amount, Enter; Check no., Enter: the "
                    "line is saved.",
                    "A wrong line: F6 goes to the lines, Enter changes the highlighted line, F9 voids it; Esc "
                    "returns to keying.")),
        Step("Balance and post",
             "The totals line says BALANCED: F10 posts the batch, Enter confirms. (The reports go to the "
             "practice folder.)",
             "Posting writes every payment to the ledger in one transaction, exactly once; it cannot be "
             "undone (a wrong payment is reversed later, with a reason). An out-of-balance batch needs a "
             "supervisor, who accepts the difference with a reason.",
             _batch_posted, milestone=True),
    ),
    setup=_setup_batch,
    done="You opened a batch from its tape, keyed and scanned the stubs, balanced it against the controls "
         "and posted it once.",
    needs=("kec_tui.screens.batches:BatchListScreen", "kec_tui.screens.batch_entry:BatchEntryScreen"),
)


# ---- (d) a service order -----------------------------------------------------------------------------

def _setup_order(ctx: Ctx) -> dict:
    def good(v: accounts.AccountView) -> bool:
        return bool(v.meter_no) and not practice.has_open_reread(v.id)
    v, = _pick(ctx, good, what="member with a meter")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "number": v.number,
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. That last reading is wrong: please read "
                      f"my meter again.\""}


def _order_made(ctx: Ctx) -> Verdict:
    made = practice.orders_made_since(ctx.data["account_id"], ctx.op.id, ctx.since)
    if any(kind == "reread" for _, kind in made):
        return True
    if made:
        no, kind = made[-1]
        return (f"Order {no} is a {kind.replace('_', ' ')}; the member asked for a re-read: cancel it from the "
                f"queue (F4) and create a re-read.")
    return None


def _queue_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(ORDER_QUEUE) is not None else None


ORDER = Walkthrough(
    "order", "Create a service order",
    "A member disputes a reading: create a re-read order from the account and find it in the queue.",
    steps=(
        FIND,
        Step("Create a re-read order",
             "Ctrl+N: new order. Type: r until re-read, Enter; Enter (priority 3); Enter (due: next "
             "business day); member asked: y, Enter; a note, Enter.",
             "An order carries the work to the field crew with a due date and priority. A re-read checks a "
             "disputed reading before any bill is adjusted; when the member asked for it and the reading "
             "was right, the trip fee is charged on completion.",
             _order_made, milestone=True,
             hints=("Choice fields: key the choice (its first letters are enough), or its first letter again for "
                    "the next with that letter; space cycles.",
                    "A second open order of the same kind on one account is refused: look in the Orders tab "
                    "(F10) first.")),
        Step("Find it in the queue",
             "F4 opens the order queue (to do, by due date): your re-read for {name} is in it.",
             "The queue is what the crew and the dispatcher work from: by status and due date, so nothing "
             "promised to a member is forgotten.",
             _queue_open),
    ),
    setup=_setup_order,
    done="You found the member, created a re-read order with the right type, priority and due date, and "
         "saw it in the queue the crew works from.",
    needs=(NEW_ORDER, ORDER_QUEUE),
    document="disconnect-rules",
)


# ---- (e) a new account with a bad-debt hit ---------------------------------------------------------------

def _setup_membership(ctx: Ctx) -> dict:
    return practice.ensure_bad_debt_scenario()


def _membership_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(NEW_MEMBER) is not None else None


def _hit_found(ctx: Ctx) -> Verdict:
    screen = ctx.open(NEW_MEMBER)
    found = getattr(screen, "audit", None) if screen is not None else None
    if found is None:
        return None
    if any(h.account_number == ctx.data["prior_account"] for h in getattr(found, "hits", [])):
        return True
    return ("The audit did not find the earlier membership: check the name, phone and location "
            "(Up goes back a field).")


def _account_opened(ctx: Ctx) -> Verdict:
    for _aid, last_name, overridden in practice.accounts_opened_since(ctx.op.id, ctx.since):
        if last_name.lower() != ctx.data["last"].lower():
            continue
        return True if overridden else "The account opened without the supervisor's override on record."
    return None


MEMBERSHIP = Walkthrough(
    "membership", "Open a new account with a bad-debt hit",
    "An applicant for service once left a final bill unpaid: the bad-debt audit finds it; acknowledge, get a "
    "supervisor's override, open the account.",
    steps=(
        Step("Start a new membership",
             "F9 opens the new membership form (F2 first if a form has the focus).",
             "Every applicant goes through the same form so the bad-debt audit always runs: name, tax ID, "
             "birth date, phones and prior addresses are searched among earlier memberships.",
             _membership_open),
        Step("Key the applicant and the location",
             "{first} {last} · tax ID {tax_id} · born {birth} · mobile {phone_fmt} · prior address "
             "{prior_street} · location {location_no}",
             "The tax ID is keyed in full but kept only as its last 4 and a keyed hash: it can be matched, "
             "never shown. The audit runs as soon as the location is chosen.",
             _hit_found,
             hints=("Enter after each field. No home or work phone, no e-mail: Enter leaves them blank. "
                    "Mailing street blank: mail goes to the service address. Up goes back; Ctrl+E erases.",
                    "Location {location_no} is {location_street}, vacant: the applicant moves in there.")),
        Step("Acknowledge the hit, get the override, open the account",
             "Tell the applicant about the {owed} owed; y acknowledges. Supervisor {sup_user}, password "
             "{sup_password}, a reason. Enter to the end; y opens the account.",
             "An unpaid final balance follows the person, not the address. Co-op policy: the old balance is "
             "paid or arranged before new service, or a supervisor overrides with a reason, on record. "
             "A deposit guards the new account.",
             _account_opened, milestone=True,
             hints=("The hit: {prior_name}'s final account {prior_account} owes {owed}, matched by name, tax "
                    "ID, birth date, phone and prior address: a strong hit.",
                    "A reason like: Pays old balance on arrangement. Then rental: no; rate: RES; deposit: "
                    "not waived; connect date: Enter.")),
    ),
    setup=_setup_membership,
    done="You keyed an applicant, saw the bad-debt audit find an unpaid final balance, acknowledged it, had "
         "a supervisor override it with a reason, and opened the account with its deposit and connect order.",
    needs=(NEW_MEMBER,),
    document="deposits",
)


# ---- (f) explain a bill -----------------------------------------------------------------------------------

BILLS_SCREEN = "kec_tui.screens.bills:BillsScreen"


def _setup_explain(ctx: Ctx) -> dict:
    v, = _pick(ctx, lambda v: practice.latest_bill(v.id) is not None, what="member with a bill to explain",
               among=practice.billed_candidates())
    bill_id, kwh, day = practice.latest_bill(v.id)
    return {"account_id": v.id, "name": v.name, "street": _street(v), "bill_id": bill_id, "kwh": f"{kwh:,}",
            "bill_date": f"{day:%m/%d/%Y}",
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. What is on my bill, and why is it not the same "
                      f"as last month?\""}


def _bills_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(BILLS_SCREEN, account_id=ctx.data["account_id"]) is not None else None


def _compared(ctx: Ctx) -> Verdict:
    screen = ctx.open(BILLS_SCREEN, account_id=ctx.data["account_id"])
    if screen is None:
        return None
    return True if getattr(screen, "mode", "") == "compare" else None


def _explain_noted(ctx: Ctx) -> Verdict:
    notes = practice.notes_since(ctx.data["account_id"], ctx.op.id, ctx.since)
    if not notes:
        return None
    if any(ctx.data["kwh"] in t or ctx.data["kwh"].replace(",", "") in t for t in notes):
        return True
    return f"Your note does not give the bill's kWh ({ctx.data['kwh']}): F7 adds another note."


EXPLAIN = Walkthrough(
    "explain", "Explain a bill",
    "A member asks what is on the bill and why it differs from last month: the bill in plain words, the "
    "comparison, a note of the call.",
    steps=(
        FIND,
        Step("Open the bills",
             "Ctrl+E lists the account's bills, newest first; under the list the highlighted bill is in plain "
             "words: read the caller the charges of the bill of {bill_date}.",
             "Each line says what the charge is, its rate, the kWh and the amount, so you explain the bill the "
             "way it was worked out. Read the readings and days too: most questions are answered there.",
             _bills_open,
             hints=("The highest charge is usually energy: kWh times the price per kWh, in blocks for some "
                    "schedules.",)),
        Step("Compare with last month",
             "F6 compares the bill with the month before and the same month last year, and says why it "
             "differs: tell the caller.",
             "A bill changes for a few reasons: more days in the period, more use per day, a rate change or an "
             "estimate. Saying which one, with the numbers, settles most calls without a re-read.",
             _compared),
        Step("Note the call",
             "Esc back to the account; F7: note what you explained, with the bill's kWh ({kwh}); Ctrl+S saves.",
             "The note tells the next MSR what the member was told, in case they call again or dispute it.",
             _explain_noted, milestone=True,
             hints=("A note like: Explained bill of {bill_date}, {kwh} kWh, more days than last month.",)),
    ),
    setup=_setup_explain,
    done="You opened the member's bills, explained the charges in plain words, compared the bill with other "
         "months and noted the call.",
    needs=(BILLS_SCREEN,),
)


# ---- (g) make an adjustment ------------------------------------------------------------------------------

ADJUST_SCREEN = "kec_tui.screens.adjustment:AdjustmentScreen"
COURTESY_CENTS = 1_500
METER_CENTS = 15_000


def _setup_adjust(ctx: Ctx) -> dict:
    if not ctx.op.can("adjustment.make"):
        raise NotPossible(f"Adjustments are made by MSRs, billing staff and supervisors ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough adjust")
    v, = _pick(ctx, lambda v: True, what="member")
    return {"account_id": v.id, "name": v.name, "street": _street(v),
            "courtesy": money.fmt_dollars(COURTESY_CENTS), "meter": money.fmt_dollars(METER_CENTS),
            "sup_user": "super", "sup_password": practice.PRACTICE_PASSWORD,
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. The crew left my gate open and the dog got out; "
                      f"and the meter test says my meter ran fast.\""}


def _adjusted(reason: str, cents: int, approved: bool):
    def check(ctx: Ctx) -> Verdict:
        done = practice.adjustments_since(ctx.data["account_id"], ctx.op.id, ctx.since)
        if any(r == reason and c == -cents and bool(by) == approved for r, c, by in done):
            return True
        wrong = [d for d in done if d[0] == reason]
        if wrong:
            r, c, _ = wrong[-1]
            return (f"That {r} adjustment is {money.fmt_dollars(c)}: the step asks for a credit of "
                    f"{money.fmt_dollars(cents)} (a debit adds to the balance). Another one corrects it.")
        return None
    return check


ADJUST = Walkthrough(
    "adjust", "Make an adjustment",
    "Credit an account with a reason code: a small courtesy credit, then a meter-error credit over the limit "
    "that a supervisor signs for.",
    steps=(
        FIND,
        Step("A courtesy credit",
             "Ctrl+A: credit (Enter), {courtesy}, reason C (courtesy), a note of why; Enter posts it.",
             "An adjustment is one ledger entry with a reason code, never an edit of a bill: the ledger shows "
             "what was charged and what was forgiven, and the reason code tells the auditor why.",
             _adjusted("COURTESY", COURTESY_CENTS, False), milestone=True,
             hints=("Choice fields: the first letter selects. The note is kept with the entry and your name.",)),
        Step("A meter-error credit over the limit",
             "Ctrl+A: credit, {meter}, reason M (meter error), a note. Over the limit a supervisor signs in: "
             "{sup_user}, password {sup_password}; Enter posts it.",
             "Above the limit a second person approves on the spot: large credits are where mistakes and fraud "
             "cost most. A wrong password stops the form (Esc, key it again); nothing is posted without it.",
             _adjusted("METER", METER_CENTS, True), milestone=True),
    ),
    setup=_setup_adjust,
    done="You posted a courtesy credit with its reason code and note, and a meter-error credit over the limit "
         "that a supervisor signed for on the form; both are on the ledger and the next statement.",
    needs=(ADJUST_SCREEN,),
    document="credit-and-collection",
)


# ---- (h) a meter reading route -------------------------------------------------------------------------

READINGS_SCREEN = "kec_tui.screens.readings:ReadingEntryScreen"
SHEET = 4
BILLING_ONLY = ("Meter readings are keyed by billing clerks: start training as one "
                "(kec-tui train --role billing)")


def _setup_readings(ctx: Ctx) -> dict:
    if not ctx.op.can("reading.key"):
        raise NotPossible(BILLING_ONLY)
    cycles = [1, 2, 3, 4]
    _rng(ctx).shuffle(cycles)
    for cycle in cycles:
        sheet = practice.reading_sheet(cycle, SHEET)
        if sheet:
            break
    else:
        raise NotPossible("The practice database has no reading route for this walkthrough: rebuild it "
                          "(kec-tui train --reset)")
    cells = [f"{i} meter {s['meter']}: {s['reading']}" for i, s in enumerate(sheet, 1)]
    bad = sheet[-1]
    return {"cycle": cycle, "sheet": sheet, "sheet_list": "\n".join(" │ ".join(cells[i:i + 2]) for i in (0, 2)),
            "bad_meter": bad["meter"], "bad_reading": f"{bad['reading']:,}", "bad_last": f"{bad['last']:,}",
            "good_count": len(sheet) - 1}


def _route_open(ctx: Ctx) -> Verdict:
    screen = ctx.open(READINGS_SCREEN)
    if screen is None:
        return None
    cycle = getattr(screen, "cycle", None)
    if cycle == ctx.data["cycle"] and getattr(screen, "route", None):
        return True
    if cycle is not None and getattr(screen, "route", None):
        return (f"This is cycle {cycle}; the sheet is cycle {ctx.data['cycle']}: F12 leaves, Ctrl+Y and key "
                f"{ctx.data['cycle']}.")
    return None


def _sheet_keyed(ctx: Ctx) -> Verdict:
    keyed = practice.readings_keyed_since(ctx.op.id, ctx.since)
    good = {s["meter"]: s["reading"] for s in ctx.data["sheet"][:-1]}
    have = {meter: reading for _, meter, reading in keyed}
    for meter, reading in have.items():
        if meter in good and reading != good[meter]:
            return (f"Meter {meter} was saved as {reading:,}; the sheet says {good[meter]:,}. A saved reading "
                    f"is corrected by a supervisor: Ctrl+L and start the walkthrough again.")
    done = sum(have.get(m) == r for m, r in good.items())
    if done == len(good):
        return True
    return f"{done} of {len(good)} readings keyed." if done else None


def _reread_sent(ctx: Ctx) -> Verdict:
    bad = ctx.data["sheet"][-1]
    if any(kind == "reread" for _, kind in practice.orders_made_since(bad["account_id"], ctx.op.id, ctx.since)):
        return True
    if any(meter == bad["meter"] for _, meter, _ in practice.readings_keyed_since(ctx.op.id, ctx.since)):
        return (f"Meter {bad['meter']}'s lower reading was saved (accepted as a rollover): a mis-read is sent "
                f"to be read again, not accepted. Tell your supervisor so the bill is held.")
    return None


READINGS = Walkthrough(
    "readings", "Key a reading route",
    f"Key a cycle's meter readings from a handheld sheet, {SHEET} meters in route order; the last one is "
    "a mis-read: send it to be read again.",
    steps=(
        Step("Open the cycle's route",
             "Ctrl+Y opens meter readings: key the cycle, {cycle}, and Enter.",
             "Readings are keyed by bill cycle, in route order: the screen shows each meter with its account, "
             "address and last reading, in the order the reader walked them, so the sheet and the screen go "
             "down together.",
             _route_open,
             hints=("F2 first if a form has the focus elsewhere. The cycle is printed at the top of the sheet.",)),
        Step("Key the readings from the sheet",
             "{sheet_list}\nKey each reading and Enter: it is saved and the next meter comes up.",
             "Each reading is saved on Enter and checked against the last one, the same month last year and "
             "the 12-month average: a slip of a digit shows at once as high or low use, while the sheet is "
             "still in your hand.",
             _sheet_keyed, milestone=True,
             hints=("Check the meter number on the screen against the sheet before you key its reading.",
                    "Keys typed after a refusal are held, not used: Esc, then key the reading again.")),
        Step("Send the mis-read to be read again",
             "Meter {bad_meter} reads {bad_reading}, lower than its last {bad_last}: the form locks. F9 makes "
             "a re-read service order.",
             "A reading lower than the last is either the dials going round (a rollover, thousands of kWh) or "
             "a mis-read. On a meter that uses hundreds a month it is a mis-read: billing it as a rollover "
             "would bill the member for a meter's whole turn. A re-read order sends a reader back before "
             "the bill goes out.",
             _reread_sent, milestone=True,
             hints=("F8 would accept it as a rollover: only when the meter really went round (the last "
                    "reading was near 99,999).",
                    "The re-read order is in the order queue (F4), due the next business day.")),
    ),
    setup=_setup_readings,
    done="You keyed a cycle's readings in route order from the sheet, each checked and saved on Enter, and "
         "sent a mis-read to be read again with a service order instead of billing it.",
    needs=(READINGS_SCREEN,),
    document="meter-access",
)


# ---- (i) the reading exceptions queue ------------------------------------------------------------------

QUEUE_SCREEN = "kec_tui.screens.reading_exceptions:ReadingExceptionsScreen"


def _setup_exceptions(ctx: Ctx) -> dict:
    if not ctx.op.can("reading.key"):
        raise NotPossible(BILLING_ONLY)
    cycles = [1, 2, 3, 4]
    _rng(ctx).shuffle(cycles)
    for cycle in cycles:
        scenario = practice.reading_exceptions_scenario(cycle)
        if scenario:
            break
    else:
        raise NotPossible("The practice database has no meters for this walkthrough: rebuild it "
                          "(kec-tui train --reset)")
    zero, letters, lower = scenario["zero"], scenario["letters"], scenario["lower"]
    return {"zero": zero, "letters": letters, "lower": lower, "zero_meter": zero["meter"],
            "letters_meter": letters["meter"], "letters_read": letters["read"], "fix": str(letters["fix"]),
            "lower_meter": lower["meter"], "lower_read": f"{int(lower['read']):,}", "lower_last": f"{lower['last']:,}"}


def _state(ctx: Ctx, which: str) -> str | None:
    x_id = ctx.data[which]["exception_id"]
    return practice.reading_exception_states([x_id]).get(x_id)


def _queue_shown(ctx: Ctx) -> Verdict:
    return True if ctx.open(QUEUE_SCREEN) is not None else None


def _zero_accepted(ctx: Ctx) -> Verdict:
    state = _state(ctx, "zero")
    if state == "accepted":
        return True
    if state in ("reread", "corrected"):
        return (f"Meter {ctx.data['zero_meter']} was {'sent to be re-read' if state == 'reread' else 'corrected'}: "
                "no use on an occupied account is accepted when the member was away. Ctrl+L starts again.")
    return None


def _letters_corrected(ctx: Ctx) -> Verdict:
    state, fix = _state(ctx, "letters"), ctx.data["letters"]["fix"]
    if state == "corrected":
        saved = [r for _, m, r in practice.readings_keyed_since(ctx.op.id, ctx.since) if m == ctx.data["letters_meter"]]
        if saved and saved[-1] != fix:
            return (f"Meter {ctx.data['letters_meter']} was corrected to {saved[-1]:,}; the reader's sheet says "
                    f"{fix:,}. Ctrl+L starts again.")
        return True
    if state == "reread":
        return (f"Meter {ctx.data['letters_meter']} went to a re-read; the reader's sheet had the digits: "
                "Enter on the row keys them. Ctrl+L starts again.")
    return None


def _lower_reread(ctx: Ctx) -> Verdict:
    state = _state(ctx, "lower")
    if state == "reread":
        return True
    if state in ("accepted", "corrected"):
        return (f"Meter {ctx.data['lower_meter']}'s lower reading was {state}: a mis-read goes back to be read "
                "again (F9). Tell your supervisor so the bill is held; Ctrl+L starts again.")
    return None


EXCEPTIONS = Walkthrough(
    "exceptions", "Work the reading exceptions",
    "The AMI system sent three reads the checks refused: accept the one with no use, key the right digits "
    "of the garbled one, send the lower one to be read again.",
    steps=(
        Step("Open the exceptions queue",
             "Ctrl+Y opens meter readings; F6 opens the exceptions queue.",
             "Reads refused at the line or in an AMI or handheld file wait here, each with why it was refused "
             "and where it came from (the file and its line), until someone works it: none is billed unseen.",
             _queue_shown),
        Step("Accept the read with no use",
             "Up/Down to meter {zero_meter} (no use): the member was away. F8 accepts it.",
             "No use on an active account is usually a vacant home or a member away; accepting records that "
             "you looked at it (your name is on the reading). A stuck meter would show no use month after "
             "month: that is a meter test order, not an accept.",
             _zero_accepted, milestone=True),
        Step("Correct the garbled read",
             "Meter {letters_meter} came as {letters_read}; the reader's sheet says {fix}. Enter on its row, key "
             "{fix}, Enter.",
             "A read with letters is no reading at all: it cannot be accepted. The corrected reading goes "
             "through the same checks as one keyed on the route, so a slip is caught again.",
             _letters_corrected, milestone=True,
             hints=("A correction lower than the last locks the form like on the route: Esc, key it again.",)),
        Step("Send the lower read to be read again",
             "Meter {lower_meter} read {lower_read}, lower than its last {lower_last}: F9 makes a re-read order.",
             "Lower than the last is a rollover of the dials or a mis-read; on a meter that uses hundreds a "
             "month it is a mis-read. The re-read order sends a reader back; the order number is shown.",
             _lower_reread, milestone=True),
    ),
    setup=_setup_exceptions,
    done="You worked the reading exceptions queue: accepted a read with no use, corrected a garbled read "
         "through the same checks, and sent a mis-read back to be read again with a service order.",
    needs=(QUEUE_SCREEN,),
    document="meter-access",
)


# ---- (j) the billing run of a cycle -----------------------------------------------------------------------

BILLING_RUNS = "kec_tui.screens.billing:BillingScreen"
REGISTER = "kec_tui.screens.billing:RegisterScreen"


def _setup_billrun(ctx: Ctx) -> dict:
    if not ctx.op.can("billing.run"):
        raise NotPossible(
            f"Run billing for a cycle is for billing clerks and supervisors ({ctx.op.username} is "
            f"{ctx.op.role}): start training as one: kec-tui train --role billing --walkthrough billrun")
    return practice.ensure_billing_scenario()


def _run_state(ctx: Ctx) -> tuple[str, int] | None:
    return practice.billing_run_state(ctx.data["cycle"], ctx.data["period"])


def _runs_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(BILLING_RUNS) is not None else None


def _previewed(ctx: Ctx) -> Verdict:
    screen = ctx.open(REGISTER)
    run = getattr(getattr(screen, "view", None), "run", None)
    if run is None:
        return None
    if (run.cycle, run.period) != (ctx.data["cycle"], ctx.data["period"]):
        return (f"This is the register of cycle {run.cycle} {run.period}; this walkthrough bills cycle "
                f"{ctx.data['cycle']} {ctx.data['period']}: Esc, F5 and key those.")
    return True


def _exceptions_read(ctx: Ctx) -> Verdict:
    screen = ctx.open(REGISTER)
    if screen is not None and getattr(screen, "only_exceptions", False):
        return True
    state = _run_state(ctx)
    return True if state is not None and state[0] in ("approved", "committed") else None


def _approved(ctx: Ctx) -> Verdict:
    state = _run_state(ctx)
    return True if state is not None and state[0] in ("approved", "committing", "committed") else None


def _committed(ctx: Ctx) -> Verdict:
    state = _run_state(ctx)
    if state is None or state[0] != "committed":
        return None
    screen = ctx.open(REGISTER)
    if screen is not None and getattr(screen, "busy", ""):
        return None                       # the statements are still being written
    return True


BILLRUN = Walkthrough(
    "billrun", "Run billing for a cycle",
    "Preview a cycle's billing register, read its exceptions, have it approved by a supervisor, commit it "
    "once and print the statements.",
    steps=(
        Step("Open the billing runs",
             "Ctrl+W opens the billing runs: the cycles and periods billed, previewed or approved.",
             "Billing runs one cycle for one period at a time, after its meters are read. The list shows "
             "what was done and by whom, so two clerks never bill the same cycle twice.",
             _runs_open),
        Step("Preview the register of cycle {cycle}, {period}",
             "F5: cycle {cycle}, Enter; period {period}, Enter. The billing register comes up: a bill for "
             "each of the cycle's accounts with its kWh and amount; nothing is billed yet.",
             "The register is the bills as they would be written: you check them before anyone is charged. "
             "A period is YYYY-MM; a cycle that does not exist or has nothing to bill is refused.",
             _previewed,
             hints=("The cycle's {meters} meters were read on the handheld route two days before the bill "
                    "date {bill_date}.",)),
        Step("Read the exceptions",
             "F4 shows the exceptions only: estimated bills (no reading), high or low use, zero use, first "
             "and final bills, bills over the review limit. F4 again shows every bill.",
             "An exception is a bill to look at before it goes out: a misread meter makes a wrong bill for "
             "a member, and a complaint later. A bill you doubt is rebilled after the commit (F6), with a "
             "reason.",
             _exceptions_read),
        Step("Have a supervisor approve it",
             "F8 approves. You are not a supervisor: {sup_user} signs in here, password {sup_password}, "
             "Enter.",
             "Two people see every cycle before it bills: the clerk who checks the register and the "
             "supervisor who approves it, by name, in the audit log.",
             _approved, milestone=True,
             hints=("A wrong password is refused and the keys after it are held: Esc, then key it again.",)),
        Step("Commit and print the statements",
             "F10 commits, Enter confirms. The bar shows the bills being written, then the statements: the "
             "print vendor's file and one PDF, in the reports folder.",
             "A run commits exactly once: a second commit of the period is refused, and a commit cut off "
             "midway finishes what is missing when run again, never billing an account twice.",
             _committed, milestone=True),
    ),
    setup=_setup_billrun,
    done="You previewed a cycle's billing register, read its exceptions, had a supervisor approve it, "
         "committed it once and wrote its statements for the print vendor.",
    needs=(BILLING_RUNS, REGISTER),
)


# ---- (k) the delinquency worklist ------------------------------------------------------------------------

COLLECTIONS = "kec_tui.screens.collections:CollectionsScreen"


def _setup_collections(ctx: Ctx) -> dict:
    from kec_tui.services import collections

    today = practice.clock().date()
    for cycle in collections.cycles(ctx.app.settings):
        items = [i for i in collections.worklist(None, cycle, today).items if i.status == "active"]
        if items:
            i = items[0]
            return {"cycle": cycle, "account_id": i.account_id, "number": i.number, "name": i.name,
                    "days": i.days_past_due, "past_due": money.fmt_dollars(i.past_due_cents),
                    "action": i.next_action.what, "line": collections.worklist(None, cycle, today).items.index(i) + 1}
    raise NotPossible("The practice database has no past-due account: rebuild it (kec-tui train --reset)")


def _worklist_open(ctx: Ctx) -> Verdict:
    screen = ctx.open(COLLECTIONS)
    if screen is None:
        return None
    if getattr(screen, "cycle", None) == ctx.data["cycle"]:
        return True
    if getattr(screen, "cycle", None) is not None:
        return f"That is cycle {screen.cycle}: key {ctx.data['cycle']} in Cycle (Ctrl+E erases it), Enter, Enter."
    return None


def _delinquent_open(ctx: Ctx) -> Verdict:
    return _account_open(ctx)


def _call_noted(ctx: Ctx) -> Verdict:
    return True if practice.notes_since(ctx.data["account_id"], ctx.op.id, ctx.since) else None


WORKLIST = Walkthrough(
    "collections", "Work the delinquency worklist",
    "Call a past-due member from the worklist: open the cycle's list, the account at the top, and note the call.",
    steps=(
        Step("Open the worklist of cycle {cycle}",
             "Shift+F4 opens the collections worklist. Cycle: {cycle}, Enter; As of: today, Enter.",
             "The worklist is every past-due account of a bill cycle, the longest past due first: the ones "
             "closest to a disconnect notice are called first. Payments pay the oldest bill first, so the days "
             "past due are those of the oldest bill still unpaid.",
             _worklist_open,
             hints=("The list shows, for each account: what is past due, days, bills paid late and payments "
                    "returned in 12 months (Lt/Rt), flags (MED medical certificate, WIN winter protection, LL "
                    "landlord ...) and the next action.",)),
        Step("Open {number} ({name})",
             "Down moves into the list; {name}, {days} days past due, {past_due}, is the first active "
             "account: Down to it (line {line} of the list), Enter opens the account.",
             "Before the call, read the account: the ledger, the flags and the notes of earlier calls. A medical "
             "certificate or winter protection changes what you may say about disconnection.",
             _delinquent_open,
             hints=("Esc goes back to the list from the account; the line under the list shows the highlighted "
                    "account's aging and phone.",)),
        Step("Note the call",
             "F7: a note of the call (what the member promised, e.g. Will pay 50.00 Friday), Enter.",
             "Every contact about a past-due balance is noted: the next MSR, a supervisor reviewing a "
             "disconnect, or an agency asking about the account reads what was said. The worklist's next "
             "action for it: {action}.",
             _call_noted, milestone=True),
    ),
    setup=_setup_collections,
    done="You opened a cycle's delinquency worklist, read the longest past-due account and noted the call.",
    needs=(COLLECTIONS,),
    document="credit-and-collection",
)


# ---- (m) help with the online account ----------------------------------------------------------------------

PORTAL_SCREEN = "kec_tui.screens.portal:PortalScreen"


def _setup_portal(ctx: Ctx) -> dict:
    if not ctx.op.can("portal.help"):
        raise NotPossible(f"Online account help is for MSRs ({ctx.op.role} may not): train as one: "
                          "kec-tui train --role msr --walkthrough portal")

    def good(v: accounts.AccountView) -> bool:
        facts = portal.practice_caller(v.id)
        return (bool(v.contact.email) and bool(facts["tax4"]) and bool(facts["birth"])
                and portal.view(v.id, outbox_limit=0).status == "not enrolled")
    v, = _pick(ctx, good, what="member with an e-mail and no online account")
    facts = portal.practice_caller(v.id)
    new = f"{facts['first'] or 'member'}.{facts['last']}{v.number % 100}@example.net".lower().replace(" ", "")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "email": v.contact.email, "new_email": new,
            "tax4": facts["tax4"], "birth": facts["birth"],
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. I'd like to pay my bill online.\""}


def _portal_view(ctx: Ctx) -> portal.PortalView:
    return portal.view(ctx.data["account_id"])


def _enrolled(ctx: Ctx) -> Verdict:
    return True if _portal_view(ctx).enrolled else None


def _email_changed(ctx: Ctx) -> Verdict:
    v = _portal_view(ctx)
    if v.email == ctx.data["new_email"]:
        return True
    if v.email and v.email != ctx.data["email"]:
        return f"The sign-in e-mail is {v.email}: the caller said {ctx.data['new_email']}. F12 again corrects it."
    return None


def _invited_again(ctx: Ctx) -> Verdict:
    sent = [m for m in _portal_view(ctx).outbox if m.kind == "invitation"]
    return True if any(m.to_address == ctx.data["new_email"] for m in sent) else None


ONLINE = Walkthrough(
    "portal", "Help with the online account",
    "A member wants to pay online: enroll them, change the sign-in e-mail after identity questions, and send "
    "the invitation again to the new address.",
    steps=(
        FIND,
        Step("Enroll the member",
             "Ctrl+U opens the online account. F5 enrolls: Y sends the invitation to {email}.",
             "The member chooses their own user name and password from the invitation's link: we never set, "
             "know or ask for a password. The invitation waits in the outbox until the portal sends it.",
             _enrolled, milestone=True,
             hints=("The screen shows the online account as the portal reports it: enrolled, last sign-in, "
                    "locked, paperless, autopay (bank masked), text alerts.",)),
        Step("Change the sign-in e-mail",
             "\"Oh, I don't use that e-mail any more: use {new_email}.\" F12: ask two identity questions; the "
             "caller answers last 4 of the tax ID {tax4} and date of birth {birth} (Enter on the others: not "
             "asked); then the new e-mail, Enter.",
             "Whoever controls the sign-in e-mail controls the account (reset links go there): so identity comes "
             "first, which questions were answered is recorded, and both addresses are told of the change.",
             _email_changed, milestone=True,
             hints=("A wrong answer locks the form and is recorded; Esc, key it again.",)),
        Step("Send the invitation to the new address",
             "F6 sends the invitation again (Y): now to {new_email}. Esc back to the account.",
             "The first invitation went to the old address; the member signs up from the new one.",
             _invited_again, milestone=True),
    ),
    setup=_setup_portal,
    done="You enrolled a member in the online account, changed the sign-in e-mail after two identity questions "
         "and sent the invitation to the new address.",
    needs=(PORTAL_SCREEN,),
    document="training/online-account-help",
)


# ---- the daily GL journal ---------------------------------------------------------------------------------

JOURNAL_SCREEN = "kec_tui.screens.journal:JournalScreen"


def _setup_journal(ctx: Ctx) -> dict:
    from kec_tui.services import gl_journal

    if not ctx.op.can("journal.close"):
        raise NotPossible("The GL journal is closed by billing clerks: start training as one "
                          "(kec-tui train --role billing)")
    today = practice.clock().date()
    day = gl_journal.next_open_day(today)
    if not gl_journal.any_closed():
        day = today - dt.timedelta(days=7)     # a practice co-op starts its journal a week back
    if gl_journal.is_closed(day):
        raise NotPossible("Every day to today is closed in the practice database: rebuild it (kec-tui train --reset)")
    return {"day": f"{day:%m/%d/%Y}", "iso": day.isoformat()}


def _journal_previewed(ctx: Ctx) -> Verdict:
    screen = ctx.open(JOURNAL_SCREEN)
    j = getattr(screen, "journal", None) if screen is not None else None
    if j is None:
        return None
    if j.day.isoformat() == ctx.data["iso"]:
        return True
    return f"That is {j.day:%m/%d/%Y}: key {ctx.data['day']} in Day (Ctrl+E erases it), Enter."


def _journal_closed(ctx: Ctx) -> Verdict:
    from kec_tui.services import gl_journal

    return True if gl_journal.is_closed(dt.date.fromisoformat(ctx.data["iso"])) else None


JOURNAL = Walkthrough(
    "journal", "Close the day's GL journal",
    "Preview a day's general-ledger journal, check that it ties, and close it (billing clerks).",
    steps=(
        Step("Preview the journal of {day}",
             "Shift+F6, 5 (the back-office menu) opens the GL journal. Day: {day}, Enter.",
             "Every day's money goes to the general ledger as one journal: each ledger entry of the day "
             "summarised into debits and credits by GL account. The lines must balance, the receivable and "
             "unapplied cash must tie to the ledger, and the cash of each posted batch to its deposit.",
             _journal_previewed,
             hints=("Below the lines: the ledger's own sum against the journal, then the batch deposits; a note "
                    "names any late entry (dated a closed day, posted after it) journaled here.",)),
        Step("Close {day}",
             "F10 asks to close the day, F10 again closes it: the journal is kept and written to the reports "
             "folder as CSV, fixed width and detail.",
             "A day is closed once and in order: accounting imports each day's journal once. An entry posted "
             "later for a closed day (a return keyed next morning) goes to the next open day with a note, "
             "never into a journal already imported.",
             _journal_closed, milestone=True),
    ),
    setup=_setup_journal,
    done="You previewed a day's GL journal, checked its ties and closed it once.",
    needs=(JOURNAL_SCREEN,),
)


# ---- (l) a capital credit inquiry ------------------------------------------------------------------------

CAPITAL_CREDITS = "kec_tui.screens.capital_credits:CapitalCreditsScreen"


def _setup_capital_credits(ctx: Ctx) -> dict:
    v, = _pick(ctx, lambda v: v.status == "active", what="active member")
    balance, worth = practice.ensure_capital_credits(v.id)
    return {"account_id": v.id, "name": v.name, "street": _street(v), "balance_cents": balance,
            "balance": money.fmt_dollars(balance), "worth": money.fmt_dollars(worth),
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. How much do I have in capital credits?\""}


def _credits_open(ctx: Ctx) -> Verdict:
    if ctx.open(CAPITAL_CREDITS, account_id=ctx.data["account_id"]):
        return True
    if ctx.open(CAPITAL_CREDITS):
        return f"Those are another member's capital credits: Esc, then find {ctx.data['name']} (F2)."
    return None


def _credits_noted(ctx: Ctx) -> Verdict:
    notes = practice.notes_since(ctx.data["account_id"], ctx.op.id, ctx.since)
    if not notes:
        return None
    if any(note_answers(t, ctx.data["balance_cents"], dt.date.min)[0] for t in notes):
        return True
    return f"Your note does not give the balance as the screen shows it ({ctx.data['balance']}): F7 adds another note."


CREDITS = Walkthrough(
    "capital_credits", "Answer a capital credit question",
    "A member asks about their capital credits: find the account, read the credits by year, note what you told.",
    steps=(
        FIND,
        Step("Open the member's capital credits",
             "On the account, F8 opens its menu: 1 shows {name}'s capital credits.",
             "Capital credits are the member's share of the co-op's margins, allocated each year in proportion "
             "to what they paid for electricity. They belong to the member (all their accounts together) and "
             "are paid back years later, oldest years first: a bill credit while the member has service, a "
             "check after.",
             _credits_open,
             hints=("Each line is a year: allocated, retired (paid back), balance, the years left in the "
                    "rotation and what it is worth paid today.",)),
        Step("Tell the balance; note the call",
             "Tell the caller the balance ({balance}); an early retirement would pay {worth} today (the "
             "present value). Esc back to the account, F7: a note with the balance, Enter.",
             "Only estates (and a member who asks, where the board allows it) are paid early, at the present "
             "value: the credits discounted for the years left in the rotation. A supervisor approves each.",
             _credits_noted, milestone=True,
             hints=("A note like: Asked about capital credits: balance {balance}, told about estate retirement.",)),
    ),
    setup=_setup_capital_credits,
    done="You found the member, read their capital credits by year and noted what you told them.",
    needs=(CAPITAL_CREDITS,),
)


# ---- (m) an outage call with a wire down ------------------------------------------------------------------

OUTAGE_BOARD = "kec_tui.screens.outages:OutageBoardScreen"


def _setup_outage(ctx: Ctx) -> dict:
    v, = _pick(ctx, lambda v: v.status == "active", what="active member")
    return {"account_id": v.id, "number": v.number, "name": v.name, "street": _street(v),
            "caller": f"\"This is {_spoken(v)} at {_street(v)}. The power's out and a line is down across "
                      f"the driveway!\""}


def _wire_logged(ctx: Ctx) -> Verdict:
    from kec_tui.services import outages

    mine = [c for c in outages.calls_since(ctx.op.id, ctx.since) if c.account_number == ctx.data["number"]]
    if not mine:
        return None
    if any(c.condition == "wire" for c in mine):
        return True
    return "The caller sees a wire down: that is 4 (an emergency), not what was keyed. Ctrl+T logs another call."


def _board_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(OUTAGE_BOARD) else None


def _wire_dispatched(ctx: Ctx) -> Verdict:
    from kec_tui.services import outages

    calls = [c for c in outages.calls_since(ctx.op.id, ctx.since) if c.condition == "wire"]
    return True if calls and all(c.dispatched for c in calls) else None


OUTAGE = Walkthrough(
    "outage", "Log an outage call with a wire down",
    "A member reports a power line down: log the call, see it flagged, hand it to dispatch on the outage board.",
    steps=(
        FIND,
        Step("Log the call: a wire down",
             "Tell the caller to stay at least 30 feet from the wire and keep others away. On the account, "
             "Ctrl+T: 4 (wire down), Enter; Enter takes the caller's name and phone; Y for a call back; a note "
             "(where the wire is), Enter.",
             "A wire down or a fire is a safety emergency: it is flagged at the top of every MSR's screen until "
             "someone hands it to dispatch. Calls on the same transformer are grouped into one outage, so the "
             "crew sees how big it is and every MSR reads back the same estimate.",
             _wire_logged, milestone=True,
             hints=("The legend above the form: 1 lights out, 2 partial, 3 flicker, 4 wire down ... 8 fire.",)),
        Step("Open the outage board",
             "Shift+F9 opens the outage board: the emergency is listed above the outages.",
             "The board refreshes itself: calls other MSRs log appear within seconds; the outage with the "
             "emergency is shown first, in red.",
             _board_open),
        Step("Hand the emergency to dispatch",
             "Call dispatch (the crew on call), then F9 records the emergency as dispatched: the flag at the "
             "top of the screens comes down.",
             "Only a person who has told dispatch records it: the flag stays on every screen until then, so no "
             "wire down waits unseen.",
             _wire_dispatched, milestone=True),
    ),
    setup=_setup_outage,
    done="You logged a wire-down call, saw it flagged on the outage board and handed it to dispatch.",
    needs=(OUTAGE_BOARD,),
)


# ---- (m) enroll a member in autopay -----------------------------------------------------------------------

AUTOPAY_SCREEN = "kec_tui.screens.autopay:AutopayEnrollScreen"
AUTOPAY_ROUTING = "121042882"
AUTOPAY_BANK = "4455667788"


def _setup_autopay(ctx: Ctx) -> dict:
    from kec_tui.services import autopay

    if not ctx.op.can("autopay.enroll"):
        raise NotPossible(f"Autopay is enrolled by MSRs and supervisors ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough autopay")
    v, = _pick(ctx, lambda v: v.status == "active" and autopay.get_enrollment(v.id) is None, what="member")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "routing": AUTOPAY_ROUTING,
            "bank": AUTOPAY_BANK, "masked": f"****{AUTOPAY_BANK[-4:]}",
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. I'd like my bill paid automatically from my "
                      f"checking account: routing {AUTOPAY_ROUTING}, account {AUTOPAY_BANK}. I signed the form "
                      f"today.\""}


def _autopay_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(AUTOPAY_SCREEN) is not None else None


def _autopay_enrolled(ctx: Ctx) -> Verdict:
    from kec_tui.services import autopay

    e = autopay.enrolled_since(ctx.data["account_id"], ctx.op.id, ctx.since)
    if e is None:
        return None
    if e.routing != ctx.data["routing"] or e.bank_masked != ctx.data["masked"]:
        return (f"Enrolled with routing {e.routing} and account {e.bank_masked}: the member said {ctx.data['routing']} "
                f"and {ctx.data['masked']}. F8, 7 again and key them as said (a change sends a new prenote).")
    if e.account_type != "checking":
        return "The member said checking: F8, 7 again, C for checking."
    return True


AUTOPAY = Walkthrough(
    "autopay", "Enroll a member in autopay",
    "A member asks to have the bill drafted from a bank account: key the routing number (checked by its check "
    "digit), the account number, checking, and the day the member signed.",
    steps=(
        FIND,
        Step("Open the autopay form",
             "F8, 7 (the account's menu: autopay) opens Autopay. Enter keeps enroll (S would stop autopay).",
             "The member signs an authorization first (on paper or the web): the date of it is kept, because the "
             "bank may ask the co-op to show it for any draft the member disputes.",
             _autopay_open),
        Step("Key the bank details",
             "Routing {routing} (9 digits: the cursor moves on by itself), account {bank}, Enter; C checking, "
             "Enter; Enter takes today as the day signed and saves.",
             "A routing number's 9th digit is a check digit (weights 3, 7, 1): a mis-keyed digit is refused at "
             "the field and the keys you typed after it are held, so nothing lands in the wrong field. The bank "
             "account is shown masked ({masked}) once keyed, on screen and in the log. A zero-dollar prenote goes "
             "to the bank with the next draft run; the first draft follows its waiting period if the bank does "
             "not return it.",
             _autopay_enrolled, milestone=True,
             hints=("Refused? Esc clears the routing number; key the 9 digits again.",)),
    ),
    setup=_setup_autopay,
    done="You enrolled the member in autopay: the routing number passed its check digit, the account is kept "
         "masked, and a prenote goes with the next draft run before the first draft.",
    needs=(AUTOPAY_SCREEN,),
)


# ---- (l) the front counter: the drawer, a payment with a product sale, the close --------------------------

COUNTER_SCREEN = "kec_tui.screens.counter:CounterScreen"
DRAWER_SCREEN = "kec_tui.screens.drawer:DrawerScreen"
COUNTER_ITEM, COUNTER_QTY = "LED4PK", 2


def _setup_counter(ctx: Ctx) -> dict:
    if not ctx.op.can("counter.take"):
        raise NotPossible(f"Counter payments are taken by MSRs ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough counter")
    v, = _pick(ctx, lambda v: 1_000 <= v.amount_due_cents <= v.balance_cents, what="member with a bill due")
    due = v.amount_due_cents
    cash = (due + 2_000) // 1_000 * 1_000 + 1_000          # whole tens above what is due, items included
    return {"account_id": v.id, "name": v.name, "street": _street(v), "due": money.fmt_dollars(due),
            "due_keyed": money.fmt(due).replace(",", ""), "due_cents": due, "item": COUNTER_ITEM,
            "qty": COUNTER_QTY, "cash": money.fmt(cash).replace(",", ""), "sup_password": practice.PRACTICE_PASSWORD,
            "caller": f"At the counter: \"I'm {_spoken(v)}, {_street(v)}. I'd like to pay my bill, and two packs "
                      f"of those LED bulbs.\""}


def _drawer_open(ctx: Ctx) -> Verdict:
    return True if drawers.open_drawer_of(ctx.op) is not None else None


def _counter_taken(ctx: Ctx) -> Verdict:
    taken = counter.taken_since(ctx.op.id, ctx.since, ctx.data["account_id"])
    if not taken:
        return None
    r = taken[-1]
    if (r.payment_cents == ctx.data["due_cents"] and any(s.code == COUNTER_ITEM and s.quantity == COUNTER_QTY
                                                        for s in r.sales) and not r.sale_to_account):
        return True
    return (f"Receipt {r.id} is {money.fmt_dollars(r.payment_cents)} with {len(r.sales)} item line(s): the step asks "
            f"for the amount due {ctx.data['due']} and {COUNTER_QTY} x {COUNTER_ITEM} paid here. Void it on the "
            f"drawer (Shift+F5, F9) and take it again.")


def _drawer_closed(ctx: Ctx) -> Verdict:
    return True if drawers.closed_since(ctx.op.id, ctx.since) else None


COUNTER = Walkthrough(
    "counter", "Take a counter payment and balance the drawer",
    "Open your cash drawer with its float, take a walk-in payment with a product sale and change, and close "
    "the drawer with its count.",
    steps=(
        Step("Open your cash drawer",
             "Shift+F5 opens your cash drawer; F5: the starting float, 100.00, Enter.",
             "Every counter transaction belongs to the open drawer of the one who took it: at the close the "
             "drawer's cash must be its float plus the cash taken less the change given, and a difference is "
             "somebody's, on a day, at a drawer.",
             _drawer_open, hints=("Esc goes back from the drawer to where you were.",)),
        FIND,
        Step("Take the payment and the sale",
             "Ctrl+K: Payment {due_keyed} (Enter alone takes the amount due), Item {item}, Quantity {qty}, "
             "Enter on the next item, Items paid: cash (Enter); Cash {cash}, Enter on the other tenders and "
             "the note: the receipt is written and the change shown.",
             "One receipt carries the payment and the sale: the ledger gets the payment, the drawer the cash, "
             "and sales tax is figured on the taxable items. Only cash gives change; a card is recorded by its "
             "type, last four digits and approval code, never its number.",
             _counter_taken, milestone=True,
             hints=("A check on a cash-only account is refused at the line: ask for cash, a money order or a "
                    "card.", "A payment above the balance asks whether the rest is a credit (Y).")),
        Step("Close the drawer",
             "Shift+F5, F10: key the count of each bill and coin in your drawer (the system line above the form "
             "says what the cash should be), Enter through the checks and the card total. If it is over or "
             "short, a supervisor signs in: super, password {sup_password}, and the reason.",
             "The count is blind to nothing: the form shows the over/short per tender against the system; a "
             "difference is accepted only by a supervisor with a reason, and the deposit slip lists what goes "
             "to the bank (the float stays in the drawer).",
             _drawer_closed, milestone=True),
    ),
    setup=_setup_counter,
    done="You opened a drawer with its float, took a payment and a product sale on one receipt with change, "
         "and closed the drawer with its count; the deposit slip is in the reports folder.",
    needs=(COUNTER_SCREEN, DRAWER_SCREEN),
)


# ---- (m) the disconnect-notice run and the final contact call ---------------------------------------------

NOTICE_RUN = "kec_tui.screens.notices:NoticeRunScreen"
CONTACT_DIALOG = "kec_tui.screens.notices:ContactDialog"


def _setup_notices(ctx: Ctx) -> dict:
    from kec_tui.services import notices

    if not ctx.op.can("collections.act"):
        raise NotPossible("Notice runs are collections work: kec-tui train --role collections --walkthrough notices")
    today = practice.clock().date()
    run = notices.run_of_day(today)
    if run is not None and run.status == "committed":
        raise NotPossible(f"Today's notice run is done in this practice co-op ({run.notice_count} notices): "
                          "rebuild it (kec-tui train --reset)")
    planned, _, _ = notices.plan(today)
    if not planned:
        raise NotPossible("The practice database has no account to notice today: rebuild it (kec-tui train --reset)")
    return {"count": len(planned), "total": money.fmt_dollars(sum(p.past_due_cents for p in planned)),
            "day": f"{today:%m/%d/%Y}", "first": planned[0].disconnect_from.strftime("%m/%d/%Y"),
            "until": planned[0].expires.strftime("%m/%d/%Y")}


def _notice_run_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(NOTICE_RUN) is not None else None


def _notices_sent(ctx: Ctx) -> Verdict:
    from kec_tui.services import notices

    run = notices.run_of_day(practice.clock().date())
    return True if run is not None and run.status == "committed" else None


def _call_logged(ctx: Ctx) -> Verdict:
    from kec_tui.services import notices

    return True if notices.contacts_by(ctx.op.id, ctx.since) else None


NOTICES = Walkthrough(
    "notices", "Send the disconnect notices and log the final call",
    "Run today's 7-day disconnect notices from the worklist, then log the final contact call on a noticed account.",
    steps=(
        Step("Open the notice run",
             "Shift+F4 opens the collections worklist; F11 opens the disconnect-notice run.",
             "Idaho's rules (IDAPA 31.21.01) ask for a written notice at least 7 days before a disconnection "
             "for non-payment, and a new notice when the member is not disconnected within 21 days. The run "
             "finds every account past due over the threshold, except those held (bankruptcy, a kept "
             "arrangement) or with a notice still good.",
             _notice_run_open),
        Step("Preview and send today's notices",
             "Run day: today ({day}), Enter shows the {count} notices ({total} past due). Read the list, then "
             "F10 sends them.",
             "Sending is done once a day: a second run the same day is refused, so no member gets two notices. "
             "Each notice is a letter logged on the account with its text, and a line of the print vendor's file "
             "(the folder is shown below the list). These members may be disconnected from {first} to {until}.",
             _notices_sent, milestone=True,
             hints=("Each line: the account, what is past due, days past due, and the window the notice opens "
                    "for a disconnection (7 days on, moved past weekends and holidays, up to 21 days).",)),
        Step("Log the final contact call",
             "Esc back to the worklist (its next actions now say Final call). Down into the list, highlight an "
             "account whose next action is Final call, F5: Enter takes the member's phone, the result (r reached, "
             "n no answer, v voicemail ...), a note, Enter.",
             "A disconnection needs a contact attempt at least 24 hours before it, logged with the number and "
             "the result: the call is the member's last chance to pay, arrange or tell us of a medical "
             "certificate. After it, F6 makes the disconnect order from the first day the rules allow.",
             _call_logged, milestone=True),
    ),
    setup=_setup_notices,
    done="You sent the day's 7-day disconnect notices (letters and the print vendor's file) and logged the final "
         "contact call the rules ask for before a disconnection.",
    needs=(COLLECTIONS, NOTICE_RUN, CONTACT_DIALOG),
)



# ---- a high-bill inquiry ------------------------------------------------------------------------------------

ENERGY_SCREEN = "kec_tui.screens.energy:EnergyScreen"


def _setup_high_bill(ctx: Ctx) -> dict:
    from kec_tui.services import energy

    def good(v: accounts.AccountView) -> bool:
        return v.status == "active" and len(energy.usage(v.id).months) == 12
    v, = _pick(ctx, good, what="member with a year of readings")
    return {"account_id": v.id, "name": v.name, "street": _street(v),
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. My bill is way higher than usual, what happened? "
                      f"We did put a hot tub in last month.\""}


def _energy_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(ENERGY_SCREEN, account_id=ctx.data["account_id"]) else None


def _checklist_kept(ctx: Ctx) -> Verdict:
    from kec_tui.services import energy

    found = [i for i in energy.inquiries(ctx.data["account_id"]) if i.operator == ctx.op.username
             and i.at >= ctx.since]
    if not found:
        return None
    if "appliance" in found[0].found:
        return True
    return "The member named a new appliance (the hot tub): answer Y at that item. F6 goes through it again."


HIGH_BILL = Walkthrough(
    "high_bill", "Answer a high-bill inquiry",
    "A member calls about a high bill: compare this year with last, go through the checklist, keep what you found.",
    steps=(
        FIND,
        Step("Open the energy use",
             "On the account, F8 opens its menu: 2 shows the energy use of {name}.",
             "This year against last, month by month: a higher month in winter is the heating; a higher month "
             "than the same month last year asks what changed. The tips below match the member's pattern.",
             _energy_open),
        Step("Go through the checklist",
             "F6: Enter (N) on each item the member says no to, Y for the new appliance (the hot tub); a note "
             "of what they said; Enter keeps it on the account.",
             "The checklist is what every MSR asks, in the same order: a longer period, an estimated read, "
             "weather, appliances, people at home, a rate change, a leak. What the bills show is filled in; "
             "what was found is kept on the account for the next call and the energy consultant.",
             _checklist_kept, milestone=True,
             hints=("Y or space sets yes; Enter goes on to the next item.",)),
    ),
    setup=_setup_high_bill,
    done="You compared the member's use with last year, went through the high-bill checklist with them and "
         "kept what you found on the account.",
    needs=(ENERGY_SCREEN,),
)

CATALOG: tuple[Walkthrough, ...] = (BILLING, CONTACT, BATCH, ORDER, MEMBERSHIP, EXPLAIN, ADJUST, READINGS,
                                    EXCEPTIONS, BILLRUN, WORKLIST, CREDITS, OUTAGE, HIGH_BILL, COUNTER, ONLINE, NOTICES,
                                    JOURNAL, AUTOPAY)


# The credit walkthroughs (deposit, write-off list, bankruptcy) build on this module's steps and checks.
from kec_tui.training import credit_walkthroughs  # noqa: E402

CATALOG += credit_walkthroughs.CATALOG


def by_name(name: str) -> Walkthrough | None:
    name = name.strip().lower()
    for w in CATALOG:
        if w.name == name:
            return w
    return None


# ---- a payment arrangement, an energy-assistance pledge -----------------------------------------

ARRANGEMENT_SCREEN = "kec_tui.screens.arrangement:ArrangementScreen"
PLEDGE_SCREEN = "kec_tui.screens.assistance:PledgeScreen"
ARRANGE_INSTALLMENTS = 4
ARRANGE_DOWN_CENTS = 2_500
PLEDGE_CENTS = 15_000
PLEDGE_REFERENCE = "L-PRACTICE"


def _past_due_member(ctx: Ctx, what: str) -> accounts.AccountView:
    """An active past-due account with no arrangement or pledge, whose name finds it alone."""
    from kec_tui.services import arrangements, assistance, collections

    today = practice.clock().date()
    items = [i for i in collections.worklist(None, None, today).items
             if i.status == "active" and not {"arrangement", "pledge", "bankruptcy"} & set(i.flags)]
    rng = _rng(ctx)
    for i in rng.sample(items, min(len(items), 200)):
        v = accounts.view(i.account_id)
        if (v.other_accounts or v.balance_cents <= ARRANGE_DOWN_CENTS + ARRANGE_INSTALLMENTS
                or arrangements.current(v.id, today) is not None or assistance.pledges_for(v.id)
                or not _unique_name(v)):
            continue
        return v
    raise NotPossible(f"The practice database has no {what} for this walkthrough: rebuild it (kec-tui train --reset)")


def _setup_arrange(ctx: Ctx) -> dict:
    if not ctx.op.can("arrangement.make"):
        raise NotPossible(f"Payment arrangements are made by MSRs and collections staff ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough arrangement")
    v = _past_due_member(ctx, "past-due member")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "balance": money.fmt_dollars(v.balance_cents),
            "down": money.fmt_dollars(ARRANGE_DOWN_CENTS), "n": ARRANGE_INSTALLMENTS,
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. I can't pay the whole "
                      f"{money.fmt_dollars(v.balance_cents)} at once; can I pay "
                      f"{money.fmt_dollars(ARRANGE_DOWN_CENTS)} now and the rest over a few months?\""}


def _arranged(ctx: Ctx) -> Verdict:
    from kec_tui.services import arrangements

    found = arrangements.current(ctx.data["account_id"], practice.clock().date())
    if found is None or found[0].operator != ctx.op.username or found[0].status != "active":
        return None
    info = found[0]
    if (info.down_cents, info.installments) != (ARRANGE_DOWN_CENTS, ARRANGE_INSTALLMENTS):
        return (f"That arrangement is {money.fmt_dollars(info.down_cents)} down and {info.installments} "
                f"installments; the member asked for {ctx.data['down']} down and {ctx.data['n']}. It is agreed "
                f"now: a supervisor cancels it.")
    return True


ARRANGE = Walkthrough(
    "arrangement", "Agree a payment arrangement",
    "A member behind on the bill pays the balance over time: a down payment today and installments added to "
    "the next bills, with the agreement printed.",
    steps=(
        FIND,
        Step("Agree the arrangement",
             "F8, 5 (the account's menu: arrangement): Enter takes the balance ({balance}), down payment {down}, "
             "Enter; {n} installments, Enter; Enter adds them to the next bills; a note of what the member said; "
             "Enter agrees it.",
             "An arrangement stops late fees and disconnect notices while the member keeps it: the down "
             "payment today, each installment and each new bill by its due date. One missed past the grace "
             "breaks it and the notices resume. The number of arrangements in 12 months is limited: beyond it "
             "a supervisor signs. The agreement is printed for the member to sign.",
             _arranged, milestone=True,
             hints=("More installments than the limit shown is refused: Esc, key fewer.",
                    "The account's flags now show ARRANGEMENT kept with the next amount due.")),
    ),
    setup=_setup_arrange,
    done="You agreed a payment arrangement: a down payment and installments on the next bills, printed for the "
         "member to sign; while it is kept no late fee or notice goes out.",
    needs=(ARRANGEMENT_SCREEN,),
)


def _setup_pledge(ctx: Ctx) -> dict:
    from kec_tui.services import assistance

    if not ctx.op.can("assistance.record"):
        raise NotPossible(f"Pledges are recorded by MSRs and collections staff ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough pledge")
    if "CAP" not in {a.code for a in assistance.agencies()}:
        raise NotPossible("The practice database has no assistance agencies: rebuild it (kec-tui train --reset)")
    v = _past_due_member(ctx, "past-due member")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "amount": money.fmt_dollars(PLEDGE_CENTS),
            "reference": PLEDGE_REFERENCE, "hold": assistance.hold_days(),
            "caller": f"\"This is the Community Action Partnership. We are pledging {money.fmt_dollars(PLEDGE_CENTS)}"
                      f" of LIHEAP for {_spoken(v)}, {_street(v)}; our voucher is {PLEDGE_REFERENCE}.\""}


def _pledged(ctx: Ctx) -> Verdict:
    from kec_tui.services import assistance

    mine = [p for p in assistance.pledges_for(ctx.data["account_id"]) if p.status == "pending"]
    if not mine:
        return None
    p = mine[0]
    if (p.agency, p.amount_cents) != ("CAP", PLEDGE_CENTS):
        return (f"That pledge is {p.agency} {money.fmt_dollars(p.amount_cents)}: the agency said CAP "
                f"{ctx.data['amount']}.")
    return True


PLEDGE = Walkthrough(
    "pledge", "Record an energy-assistance pledge",
    "An agency (LIHEAP through the community action agency) calls with a pledge for a member: record it, so "
    "disconnection is held until the agency pays.",
    steps=(
        FIND,
        Step("Record the pledge",
             "F8, 6 (the account's menu: pledge): agency CAP, Enter; {amount}, Enter; Enter (today), Enter (the "
             "expiry); reference {reference}; Enter records it.",
             "A pending pledge holds disconnection for {hold} days and keeps late fees off: the agency's money is "
             "coming. The agency pays many pledges with one check later; it is keyed from the worklist (F12) and "
             "matched to the pledges, short and over payments listed.",
             _pledged, milestone=True,
             hints=("The agency is required: a pledge without one is refused (Esc, key it).",)),
    ),
    setup=_setup_pledge,
    done="You recorded an agency's pledge on the account: disconnection is held while it is pending, and the "
         "agency's check will be matched to it.",
    needs=(PLEDGE_SCREEN,),
)


APPLICATION_SCREEN = "kec_tui.screens.assistance:ApplicationScreen"
APPLICATION_NOTE = "LIHEAP winter, pay stubs to follow"


def _setup_application(ctx: Ctx) -> dict:
    from kec_tui.services import assistance

    if not ctx.op.can("assistance.record"):
        raise NotPossible(f"Applications are recorded by MSRs and collections staff ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough assistance_application")
    if "CAP" not in {a.code for a in assistance.agencies()}:
        raise NotPossible("The practice database has no assistance agencies: rebuild it (kec-tui train --reset)")
    v = _past_due_member(ctx, "past-due member")
    return {"account_id": v.id, "name": v.name, "street": _street(v), "note": APPLICATION_NOTE,
            "caller": f"\"This is {_spoken(v)}, {_street(v)}. I'm behind on the bill; can you help me apply for "
                      f"LIHEAP with the Community Action Partnership? I'll bring my pay stubs.\""}


def _applied(ctx: Ctx) -> Verdict:
    from kec_tui.services import assistance

    mine = [a for a in assistance.applications_for(ctx.data["account_id"]) if a.operator == ctx.op.username]
    if not mine:
        return None
    if mine[-1].agency != "CAP":
        return (f"That application is with {mine[-1].agency}: the member asked for LIHEAP with the Community "
                "Action Partnership (CAP).")
    return True


APPLICATION = Walkthrough(
    "assistance_application", "Help a member apply for energy assistance",
    "A member behind on the bill asks for help applying for LIHEAP: record the application you helped with, so "
    "collections sees help is on the way and the agency's pledge can follow.",
    steps=(
        FIND,
        Step("Record the application",
             "F8, then the menu's last item (End, Enter: energy-assistance application): agency CAP, Enter; Enter "
             "(today); the note \"{note}\"; Enter records it.",
             "LIHEAP runs through the community action agency: the member applies with them, the MSR helps and "
             "records it (a note on the account says so). When the agency commits money it calls with a pledge, "
             "which holds disconnection.",
             _applied, milestone=True,
             hints=("An agency code not on file is refused: Esc, key one from the list under the form.",)),
    ),
    setup=_setup_application,
    done="You recorded an energy-assistance application you helped with: a note on the account says so, and the "
         "agency's pledge can follow.",
    needs=(APPLICATION_SCREEN,),
)


CATALOG += (ARRANGE, PLEDGE, APPLICATION)


# ---- a damage claim: a car hit a pole ---------------------------------------------------------------------

CLAIMS_SCREEN = "kec_tui.screens.damage_claims:DamageClaimsScreen"
CLAIM_PARTY = "Dale Driver"
CLAIM_LINES = (("labor", "Line crew", "6.5", 85_00), ("material", "Class 4 pole, 40 ft", "1", 1_234_56))


def _setup_claim(ctx: Ctx) -> dict:
    from kec_tui.services import damage_claims

    if not ctx.op.can(damage_claims.HANDLE):
        raise NotPossible(f"Damage claims are kept by MSRs, billing and collections staff ({ctx.op.role} may not): "
                          "train as one: kec-tui train --role msr --walkthrough damage_claim")
    day = dt.date.today() - dt.timedelta(days=2)
    direct = sum(damage_claims.line_amount(Decimal(q), rate) for _, _, q, rate in CLAIM_LINES)
    percent = damage_claims.rules().overhead_percent
    total = direct + damage_claims.overhead(direct, percent)
    return {"incident": f"{day:%m/%d/%Y}", "incident_on": day, "party": CLAIM_PARTY, "total_cents": total,
            "total": money.fmt_dollars(total), "overhead": f"{percent.normalize():f}",
            "caller": f"\"Line crew here: on {day:%m/%d} a pickup slid off Hwy 95 at Lancaster Rd and broke a pole. "
                      f"The driver is {CLAIM_PARTY}, insured with Gem State Mutual, their claim GS-26-0042. We "
                      f"worked 6.5 crew hours at $85.00 and set a new Class 4 pole, 40 ft, $1,234.56.\""}


def _claims_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(CLAIMS_SCREEN) else None


def _mine(ctx: Ctx):
    from kec_tui.services import damage_claims

    return [c for c in damage_claims.opened_by(ctx.op, ctx.since) if c.direction == "against"]


def _claim_opened(ctx: Ctx) -> Verdict:
    mine = _mine(ctx)
    if not mine:
        return None
    c = mine[0]
    if c.damaged != "pole":
        return f"Claim {c.claim_no} says a {c.damaged} was damaged: the crew said a pole (Esc, F6 for a new claim)."
    if c.incident_on != ctx.data["incident_on"]:
        return f"Claim {c.claim_no} has the incident on {c.incident_on:%m/%d/%Y}: the crew said {ctx.data['incident']}."
    return True


def _claim_invoiced(ctx: Ctx) -> Verdict:
    mine = [c for c in _mine(ctx) if c.invoiced_on]
    if not mine:
        return None
    c = mine[0]
    if c.total_cents != ctx.data["total_cents"]:
        from kec_tui.services import damage_claims

        return (f"Claim {c.claim_no} was invoiced for {money.fmt_dollars(c.total_cents)}, not {ctx.data['total']}: "
                f"check the lines (6.5 hours x $85.00, 1 pole x $1,234.56). Open a new claim to try again "
                f"(this one: {damage_claims.STATUS_LABELS[c.status]}).")
    return True


DAMAGE_CLAIM = Walkthrough(
    "damage_claim", "Bill a third party for a damaged pole",
    "A driver broke a pole: open a damage claim with the driver's insurer, key the crew's cost lines and "
    "send the invoice.",
    steps=(
        Step("Open the damage claims",
             "Shift+F6 opens the back-office menu: 7 lists the damage claims.",
             "Damage to co-op property by someone else is billed to them or their insurer: the claim keeps the "
             "incident, the party, the insurer's claim number and every payment until it is closed.",
             _claims_open),
        Step("Open the claim",
             "F6: the incident date {incident}, Enter; Hwy 95 at Lancaster Rd; P (pole); what happened; {party}; "
             "Enter past the address and phone; Gem State Mutual; GS-26-0042; Enter past the adjuster and "
             "their phone: the claim opens.",
             "The insurer's claim number goes on every letter: the adjuster finds the file by it.",
             _claim_opened, milestone=True),
        Step("Key the costs and invoice",
             "F6: L (labor), Line crew, 6.5, 85.00; F6: M (material), Class 4 pole, 40 ft, 1, 1234.56; then F7 "
             "writes the invoice ({total} with the {overhead}% overhead).",
             "The overhead percentage covers what the lines do not show (supervision, stores, vehicles): it is "
             "the co-op's setting, kept on the claim when it is opened. The invoice is a PDF, its path shown; "
             "the claim ages from today.",
             _claim_invoiced, milestone=True,
             hints=("A wrong line cannot be changed after the invoice: check the total before F7.",)),
    ),
    setup=_setup_claim,
    done="You opened a damage claim against the driver with their insurer's claim number, keyed the crew's "
         "costs and sent the invoice; payments and a settlement go on the same claim.",
    needs=(CLAIMS_SCREEN,),
)

CATALOG += (DAMAGE_CLAIM,)
