"""The cash drawer: each operator opens one a day with its starting float; every counter transaction
belongs to the operator's open drawer; closing counts the cash by denomination and the checks and
money orders one by one, compares each tender with the system's totals (over/short), and a supervisor
accepts any difference with a reason. Then the deposit slip and the day's summary across drawers.

One open drawer per operator is the database's guard: `open_for` (the operator's id while open, NULL
once closed) is unique. Closing is `UPDATE ... WHERE status='open'` with its row count checked, so a
drawer closes once, whatever two sessions do.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from kec_tui import db, money
from kec_tui.services import audit, card_numbers, reports
from kec_tui.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

# Bills and coins counted at close, in cents, largest first.
DENOMINATIONS = (10000, 5000, 2000, 1000, 500, 200, 100, 50, 25, 10, 5, 1)
TENDERS = ("cash", "check", "money_order", "card")
TENDER_LABELS = {"cash": "Cash", "check": "Checks", "money_order": "Money orders", "card": "Cards"}
MAX_FLOAT_CENTS = 100_000


class NoOpenDrawer(ServiceError):
    """No drawer is open for the operator: counter transactions need one."""


class DrawerClosed(ServiceError):
    """The drawer is already closed (closing twice, a void after the close)."""


class NeedsSupervisor(ServiceError):
    """The count differs from the system: a supervisor must accept the difference with a reason."""

    def __init__(self, message: str, summary: "DrawerSummary"):
        super().__init__(message, "supervisor")
        self.summary = summary


def denomination_label(cents: int) -> str:
    return f"${cents // 100}" if cents >= 100 else f"{cents}c"


@dataclass(frozen=True)
class DrawerInfo:
    id: int
    operator: str
    operator_id: int
    day: dt.date
    float_cents: int
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    accepted_by: str
    accept_reason: str
    txn_count: int


@dataclass(frozen=True)
class TenderLine:
    tender: str
    expected_cents: int
    counted_cents: int

    @property
    def difference_cents(self) -> int:   # + over, - short
        return self.counted_cents - self.expected_cents


@dataclass(frozen=True)
class DrawerSummary:
    drawer: DrawerInfo
    lines: tuple[TenderLine, ...]
    cash_counts: tuple[tuple[int, int], ...] = ()                  # (denomination, quantity)
    checks: tuple[tuple[str, str, int], ...] = ()                  # (tender, reference, cents)

    @property
    def difference_cents(self) -> int:
        return sum(t.difference_cents for t in self.lines)

    @property
    def balanced(self) -> bool:
        return all(t.difference_cents == 0 for t in self.lines)

    def line(self, tender: str) -> TenderLine:
        return next(t for t in self.lines if t.tender == tender)


@dataclass(frozen=True)
class CheckItem:
    tender: str        # check, money_order
    reference: str
    amount_cents: int


# ---- reading ------------------------------------------------------------------------------------

def _info(d: db.CashDrawer) -> DrawerInfo:
    op = db.Operator.get_by_id(d.operator_id)
    acc = db.Operator.get_or_none(db.Operator.id == d.accepted_by_id) if d.accepted_by_id else None
    count = db.CounterTxn.select().where(db.CounterTxn.drawer == d.id).count()
    return DrawerInfo(d.id, op.username, op.id, d.day, d.float_cents, d.status, d.opened_at, d.closed_at,
                      acc.username if acc else "", d.accept_reason, count)


@db.connected
def get(drawer_id: int) -> DrawerInfo:
    d = db.CashDrawer.get_or_none(db.CashDrawer.id == drawer_id)
    if d is None:
        raise NotFound(f"No drawer {drawer_id}")
    return _info(d)


@db.connected
def open_drawer_of(op: OperatorInfo) -> DrawerInfo | None:
    """The operator's open drawer, or None."""
    d = db.CashDrawer.get_or_none(db.CashDrawer.open_for == op.id)
    return _info(d) if d else None


@db.connected
def closed_since(operator_id: int, since: dt.datetime) -> list[DrawerInfo]:
    """The operator's drawers closed since a moment (training's checks)."""
    D = db.CashDrawer
    return [_info(d) for d in D.select().where(D.operator == operator_id, D.status == "closed",
                                                D.closed_at >= since).order_by(D.id)]


def require_open(op: OperatorInfo, today: dt.date | None = None) -> db.CashDrawer:
    """The operator's open drawer of today (inside the caller's transaction), or NoOpenDrawer."""
    today = today or dt.date.today()
    d = db.CashDrawer.get_or_none(db.CashDrawer.open_for == op.id)
    if d is None:
        raise NoOpenDrawer("No cash drawer is open: open your drawer with its float first", "drawer")
    if d.day != today:
        raise NoOpenDrawer(f"Your drawer of {d.day:%m/%d/%Y} is still open: close it, then open today's",
                           "drawer")
    return d


def expected(drawer_id: int) -> dict[str, int]:
    """What the system says is in the drawer, by tender: cash is the float plus cash taken less change."""
    d = db.CashDrawer.get_by_id(drawer_id)
    T, X = db.CounterTender, db.CounterTxn
    out = dict.fromkeys(TENDERS, 0)
    rows = (T.select(T.kind, pw.fn.SUM(T.amount_cents)).join(X)
            .where(X.drawer == drawer_id, X.voided_at.is_null()).group_by(T.kind).tuples())
    for kind, cents in rows:
        out[kind] = int(cents or 0)
    change = X.select(pw.fn.COALESCE(pw.fn.SUM(X.change_cents), 0)).where(
        X.drawer == drawer_id, X.voided_at.is_null()).scalar()
    out["cash"] += d.float_cents - int(change or 0)
    return out


# ---- opening ------------------------------------------------------------------------------------

@db.connected
def open_drawer(op: OperatorInfo, float_cents: int, today: dt.date | None = None) -> DrawerInfo:
    """Open the operator's drawer for today with its starting float (audited)."""
    require(op, "counter.take")
    today = today or dt.date.today()
    if isinstance(float_cents, bool) or not isinstance(float_cents, int) or not 0 <= float_cents <= MAX_FLOAT_CENTS:
        raise ValidationError(f"The float is 0 to {money.fmt_dollars(MAX_FLOAT_CENTS)}", "float")
    try:
        with db.write_txn():
            existing = db.CashDrawer.get_or_none(db.CashDrawer.open_for == op.id)
            if existing is not None:
                raise ValidationError(f"Your drawer of {existing.day:%m/%d/%Y} is already open "
                                      f"(float {money.fmt_dollars(existing.float_cents)})", "float")
            d = db.CashDrawer.create(operator=op.id, day=today, float_cents=float_cents, open_for=op.id)
            audit.record(op, "drawer.open", "drawer", d.id, field="float", after=money.fmt(float_cents))
    except pw.IntegrityError:      # another session opened it at the same moment
        raise ValidationError("Your drawer is already open", "float") from None
    return _info(d)


# ---- closing ------------------------------------------------------------------------------------

def _clean_counts(cash: Mapping[int, int], checks: Iterable[CheckItem]) -> tuple[list[tuple[int, int]],
                                                                                  list[CheckItem]]:
    counts = []
    for denom, qty in cash.items():
        if denom not in DENOMINATIONS:
            raise ValidationError(f"{denom} cents is not a bill or coin counted here", "cash")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > 99_999:
            raise ValidationError(f"Count of {denomination_label(denom)}: a whole number 0 or more", "cash")
        if qty:
            counts.append((denom, qty))
    counts.sort(key=lambda c: -c[0])
    items = []
    for c in checks:
        if c.tender not in ("check", "money_order"):
            raise ValidationError(f"{c.tender}: only checks and money orders are listed", "checks")
        if isinstance(c.amount_cents, bool) or not isinstance(c.amount_cents, int) or c.amount_cents <= 0:
            raise ValidationError("A check's amount is more than zero", "checks")
        card_numbers.refuse(c.reference, "checks", "Check no.")
        items.append(CheckItem(c.tender, (c.reference or "").strip()[:40], c.amount_cents))
    return counts, items


def _summary(d: db.CashDrawer, counts: list[tuple[int, int]], items: list[CheckItem],
             card_cents: int | None) -> DrawerSummary:
    exp = expected(d.id)
    counted = {"cash": sum(a * q for a, q in counts),
               "check": sum(c.amount_cents for c in items if c.tender == "check"),
               "money_order": sum(c.amount_cents for c in items if c.tender == "money_order"),
               "card": exp["card"] if card_cents is None else card_cents}
    lines = tuple(TenderLine(t, exp[t], counted[t]) for t in TENDERS)
    return DrawerSummary(_info(d), lines, tuple(counts), tuple((c.tender, c.reference, c.amount_cents) for c in items))


@db.connected
def count_summary(drawer_id: int, cash: Mapping[int, int], checks: Iterable[CheckItem] = (),
                  card_cents: int | None = None) -> DrawerSummary:
    """The over/short of a count, without closing (the close screen shows it before it asks)."""
    d = db.CashDrawer.get_or_none(db.CashDrawer.id == drawer_id)
    if d is None:
        raise NotFound(f"No drawer {drawer_id}")
    counts, items = _clean_counts(cash, checks)
    return _summary(d, counts, items, card_cents)


@db.connected
def close_drawer(op: OperatorInfo, drawer_id: int, cash: Mapping[int, int], checks: Iterable[CheckItem] = (),
                 card_cents: int | None = None, *, approver: OperatorInfo | None = None,
                 reason: str = "") -> DrawerSummary:
    """Close the drawer with its count. A difference in any tender needs `approver` (a supervisor who
    signed in, not the drawer's operator) and a reason. Closes once: a second close is DrawerClosed.
    `card_cents` is the card terminal's batch total (None: the terminal agrees with the system)."""
    require(op, "counter.take")
    counts, items = _clean_counts(cash, list(checks))
    if card_cents is not None and (isinstance(card_cents, bool) or not isinstance(card_cents, int)
                                   or card_cents < 0):
        raise ValidationError("The card total is 0 or more", "card")
    reason = (reason or "").strip()
    card_numbers.refuse(reason, "reason")
    with db.write_txn():
        d = db.locked(db.CashDrawer, drawer_id)
        if d is None:
            raise NotFound(f"No drawer {drawer_id}")
        if d.operator_id != op.id and not op.can("drawer.accept"):
            raise PermissionDenied(f"Drawer {d.id} is not yours to close")
        if d.status != "open":
            raise DrawerClosed(f"Drawer {d.id} was already closed {d.closed_at:%m/%d/%Y %H:%M}", "drawer")
        summary = _summary(d, counts, items, card_cents)
        if not summary.balanced:
            over_short = "; ".join(f"{TENDER_LABELS[t.tender]} {'over' if t.difference_cents > 0 else 'short'} "
                                   f"{money.fmt_dollars(abs(t.difference_cents))}"
                                   for t in summary.lines if t.difference_cents)
            if approver is None:
                raise NeedsSupervisor(f"{over_short}: a supervisor must accept the difference", summary)
            if not approver.can("drawer.accept") or approver.id == d.operator_id:
                raise PermissionDenied(f"{approver.username} ({approver.role}) may not accept a drawer's difference")
            if not reason:
                raise ValidationError("Say why the drawer is over or short", "reason")
        n = (db.CashDrawer.update(status="closed", open_for=None, closed_at=db.now(), closed_by=op.id,
                                  accepted_by=approver.id if approver and not summary.balanced else None,
                                  accept_reason=reason[:200] if not summary.balanced else "")
             .where(db.CashDrawer.id == d.id, db.CashDrawer.status == "open").execute())
        if n != 1:
            raise DrawerClosed(f"Drawer {d.id} was already closed", "drawer")
        rows = [dict(drawer=d.id, tender="cash", denomination_cents=a, quantity=q, amount_cents=a * q)
                for a, q in counts]
        rows += [dict(drawer=d.id, tender=c.tender, reference=c.reference, amount_cents=c.amount_cents)
                 for c in items]
        if card_cents is not None:
            rows.append(dict(drawer=d.id, tender="card", amount_cents=card_cents))
        if rows:
            db.DrawerCount.insert_many(rows).execute()
        audit.record(op, "drawer.close", "drawer", d.id, field="over_short",
                     before=" ".join(f"{t.tender}={money.fmt(t.expected_cents)}" for t in summary.lines),
                     after=" ".join(f"{t.tender}={money.fmt(t.counted_cents)}" for t in summary.lines)
                     + (f" accepted by {approver.username}: {reason}" if approver and not summary.balanced else ""))
    return closed_summary(d.id)


@db.connected
def closed_summary(drawer_id: int) -> DrawerSummary:
    """A closed drawer's count against the system, as recorded."""
    d = db.CashDrawer.get_by_id(drawer_id)
    C = db.DrawerCount
    counts = [(c.denomination_cents, c.quantity) for c in
              C.select().where(C.drawer == d.id, C.tender == "cash").order_by(C.denomination_cents.desc())]
    items = [CheckItem(c.tender, c.reference, c.amount_cents) for c in
             C.select().where(C.drawer == d.id, C.tender.in_(("check", "money_order"))).order_by(C.id)]
    card = C.select(C.amount_cents).where(C.drawer == d.id, C.tender == "card").scalar()
    return _summary(d, counts, items, card)


# ---- reports ------------------------------------------------------------------------------------

WIDTH = 64


def deposit_slip_text(drawer_id: int) -> str:
    """The deposit slip of a closed drawer: cash by denomination less the float kept, checks and money
    orders listed, the deposit total (cards settle through the terminal: shown, not deposited)."""
    s = closed_summary(drawer_id)
    d = s.drawer
    if d.status != "closed":
        raise ServiceError(f"Drawer {d.id} is open: close it first, then print its deposit slip")
    out = [f"{reports.COOP_NAME}", f"DEPOSIT SLIP  drawer {d.id}  {d.day:%m/%d/%Y}  {d.operator}",
           f"Closed {d.closed_at:%m/%d/%Y %H:%M}", ""]
    cash = s.line("cash").counted_cents
    out.append("Cash counted")
    for denom, qty in s.cash_counts:
        out.append(f"  {denomination_label(denom):>6} x {qty:>5}  {money.fmt(denom * qty):>14}")
    out.append(f"  {'Counted cash':<16}{money.fmt(cash):>22}")
    out.append(f"  {'Less float kept':<16}{money.fmt(-d.float_cents):>22}")
    cash_deposit = cash - d.float_cents
    out.append(f"  {'Cash deposited':<16}{money.fmt(cash_deposit):>22}")
    out += ["", "Checks and money orders"]
    checks = 0
    for tender, ref, cents in s.checks:
        kind = "MO" if tender == "money_order" else "Chk"
        out.append(f"  {kind:<4}{ref[:20]:<20}{money.fmt(cents):>14}")
        checks += cents
    out.append(f"  {'Checks deposited':<24}{money.fmt(checks):>14}")
    out += ["", f"{'DEPOSIT TOTAL':<26}{money.fmt_dollars(cash_deposit + checks):>14}",
            f"{'Cards (terminal batch)':<26}{money.fmt_dollars(s.line('card').counted_cents):>14}", "",
            f"{'Tender':<14}{'System':>12}{'Counted':>12}{'Over/short':>12}"]
    for t in s.lines:
        out.append(f"{TENDER_LABELS[t.tender]:<14}{money.fmt(t.expected_cents):>12}{money.fmt(t.counted_cents):>12}"
                   f"{money.fmt(t.difference_cents, sign=True):>12}")
    if d.accepted_by:
        out.append(f"Difference accepted by {d.accepted_by}: {d.accept_reason}"[:WIDTH * 2])
    return "\n".join(out) + "\n"


@db.connected
def day_drawers(day: dt.date) -> list[DrawerInfo]:
    return [_info(d) for d in db.CashDrawer.select().where(db.CashDrawer.day == day).order_by(db.CashDrawer.id)]


@db.connected
def day_summary_text(day: dt.date) -> str:
    """Every drawer of the day: float, system and counted totals by tender, over/short; the day's totals."""
    drawers = day_drawers(day)
    out = [reports.COOP_NAME, f"COUNTER DAY SUMMARY  {day:%m/%d/%Y}  {len(drawers)} drawer(s)", "",
           f"{'Drawer':<7}{'Operator':<10}{'Status':<7}{'Tender':<13}{'System':>11}{'Counted':>11}{'Over/sh':>10}"]
    totals = {t: [0, 0] for t in TENDERS}
    for d in drawers:
        s = closed_summary(d.id) if d.status == "closed" else None
        exp = expected(d.id)
        for i, t in enumerate(TENDERS):
            counted = s.line(t).counted_cents if s else None
            totals[t][0] += exp[t]
            totals[t][1] += counted or 0
            head = f"{d.id:<7}{d.operator[:9]:<10}{d.status:<7}" if i == 0 else " " * 24
            out.append(f"{head}{TENDER_LABELS[t]:<13}{money.fmt(exp[t]):>11}"
                       + (f"{money.fmt(counted):>11}{money.fmt(counted - exp[t], sign=True):>10}" if s else
                          f"{'(open)':>11}"))
        if d.accepted_by:
            out.append(f"{'':24}accepted by {d.accepted_by}: {d.accept_reason}"[:90])
    out.append("")
    for t in TENDERS:
        exp, counted = totals[t]
        out.append(f"{'Day total':<24}{TENDER_LABELS[t]:<13}{money.fmt(exp):>11}{money.fmt(counted):>11}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class SlipFiles:
    text: Path
    pdf: Path
    extra: tuple[Path, ...] = field(default=())


@db.connected
def write_deposit_slip(drawer_id: int, directory: str | Path) -> SlipFiles:
    """drawer-N-deposit.txt and .pdf in `directory`."""
    text = deposit_slip_text(drawer_id)
    return _write(directory, f"drawer-{drawer_id}-deposit", text, "the deposit slip")


@db.connected
def write_day_summary(day: dt.date, directory: str | Path) -> SlipFiles:
    return _write(directory, f"counter-day-{day:%Y%m%d}", day_summary_text(day), "the day summary")


def _write(directory: str | Path, stem: str, text: str, what: str) -> SlipFiles:
    d = Path(directory).expanduser()
    try:
        d.mkdir(parents=True, exist_ok=True)
        txt, pdf = d / f"{stem}.txt", d / f"{stem}.pdf"
        txt.write_text(text, encoding="utf-8")
        pdf.write_bytes(reports.text_pdf(text))
    except OSError as exc:
        raise ServiceError(f"Cannot write {what} to {d}: {exc.strerror or exc}") from exc
    return SlipFiles(txt, pdf)
