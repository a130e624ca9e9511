"""The billing register as the billing clerk reads it, prints and files it: the recent runs,
one run's bills with their flags and exceptions, the totals; as text, CSV and PDF.

A run not yet committed is shown as it would bill now (billing_run.plan: nothing recorded,
its approval untouched); a committed run as its bills were written (cancelled and rebilled
ones marked). The high/low use checks are a preview's: a committed bill keeps what it was
billed with (estimated, first, final, budget), and zero use and the review limit are read
from its kWh and total.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kec_tui import db, money
from kec_tui.services import billing_run
from kec_tui.services.errors import NotFound, ServiceError  # noqa: F401 - what write_register raises
from kec_tui.services.operators import OperatorInfo
from kec_tui.services.reports import COOP_NAME, text_pdf, write_csv_pdf

# What the register lists as exceptions, in its order, and what the flags say.
EXCEPTIONS = {
    "no_reading": "No reading",
    "estimated": "Estimated",
    "high": "High use",
    "low": "Low use",
    "zero": "Zero use",
    "first": "First bill",
    "final": "Final bill",
    "over_limit": "Over the review limit",
}
SHORT = {"no_reading": "noread", "estimated": "est", "high": "high", "low": "low", "zero": "zero",
         "first": "first", "final": "final", "over_limit": "limit"}
WIDTH = 80


@dataclass(frozen=True)
class RunRow:
    """A run in the list: what state it is in, and who did the last of it when."""
    id: int
    cycle: int
    period: str
    status: str
    bills: int
    total_cents: int
    who: str
    when: dt.datetime | None


@dataclass(frozen=True)
class RegisterLine:
    account_id: int
    account_number: int
    name: str
    schedule: str
    kind: str
    kwh: int
    estimated: bool
    budget: str                  # levelized, trueup or ""
    total_cents: int             # the bill's charges
    charged_cents: int           # what the ledger is charged
    exceptions: tuple[str, ...]  # codes of EXCEPTIONS
    bill_id: int | None = None   # a committed bill
    status: str = "planned"      # planned, billed, cancelled

    @property
    def flags(self) -> str:
        out = ["est"] if self.estimated else []
        out += {"levelized": ["budget"], "trueup": ["trueup"]}.get(self.budget, [])
        if self.kind in ("first", "final"):
            out.append(self.kind)
        return " ".join(out)

    @property
    def exception_text(self) -> str:
        """The exceptions the flags do not already say (est: no reading; first, final)."""
        return " ".join(SHORT[c] for c in self.exceptions if c not in ("no_reading", "estimated", "first", "final"))


@dataclass(frozen=True)
class RegisterView:
    run: billing_run.RunInfo
    lines: list[RegisterLine]
    not_billed: list[tuple[int, str]]

    @property
    def total_cents(self) -> int:
        return sum(ln.charged_cents for ln in self.lines if ln.status != "cancelled")

    @property
    def charges_cents(self) -> int:
        return sum(ln.total_cents for ln in self.lines if ln.status != "cancelled")

    @property
    def kwh(self) -> int:
        return sum(ln.kwh for ln in self.lines if ln.status != "cancelled")

    def exceptions_only(self) -> list[RegisterLine]:
        return [ln for ln in self.lines if ln.exceptions]

    def with_exception(self, code: str) -> list[RegisterLine]:
        return [ln for ln in self.lines if code in ln.exceptions]


def _exceptions(codes) -> tuple[str, ...]:
    return tuple(c for c in EXCEPTIONS if c in codes)


def from_register(reg: billing_run.Register) -> RegisterView:
    """The view of a preview just made."""
    lines = [RegisterLine(b.account_id, b.account_number, b.name, b.schedule, b.kind, b.kwh, b.estimated, b.budget,
                          b.total_cents, b.charged_cents, _exceptions(b.exceptions)) for b in reg.bills]
    return RegisterView(reg.run, lines, list(reg.not_billed))


@db.connected
def load(run_id: int) -> RegisterView:
    """The register of a run: as it would bill now, or as it billed (committed)."""
    run = billing_run.get_run(run_id)
    if run.status in ("previewed", "approved"):
        bills, skipped = billing_run.plan(run.cycle, run.period)
        return from_register(billing_run.Register(run, bills, skipped))
    B, A, M = db.Bill, db.Account, db.Member
    limit = billing_run._settings.review_limit_cents
    lines = []
    for (bill_id, aid, number, first, last, schedule, kind, kwh, estimated, budget, total, charged,
         status, acct_status) in (
            B.select(B.id, B.account, A.number, M.first_name, M.last_name, B.schedule, B.kind, B.kwh, B.estimated,
                     B.budget, B.total_cents, B.charged_cents, B.status, A.status)
            .join(A, on=(B.account == A.id)).join(M, on=(A.member == M.id))
            .where(B.run == run_id).order_by(B.account).tuples()):
        codes = ["no_reading", "estimated"] if estimated else []
        if kwh == 0 and not estimated and acct_status == "active":
            codes.append("zero")
        if kind in ("first", "final"):
            codes.append(kind)
        if total > limit:
            codes.append("over_limit")
        lines.append(RegisterLine(aid, number, f"{first} {last}".strip(), schedule, kind, kwh, bool(estimated),
                                  budget, total, charged, _exceptions(codes), bill_id, status))
    return RegisterView(run, lines, [])


@db.connected
def recent_runs(limit: int = 50) -> list[RunRow]:
    """The newest runs first (by period, then cycle)."""
    BR, O = db.BillingRun, db.Operator
    names = dict(O.select(O.id, O.username).tuples())
    out = []
    for r in BR.select().order_by(BR.period.desc(), BR.cycle.desc(), BR.id.desc()).limit(limit):
        if r.status == "committed":
            who, when, bills, total = r.committed_by_id, r.committed_at, r.bill_count, r.total_cents
        elif r.status == "approved":
            who, when, bills, total = r.approved_by_id, r.approved_at, r.preview_count, r.preview_total_cents
        else:
            who, when, bills, total = r.created_by_id, r.created_at, r.preview_count, r.preview_total_cents
            if r.status == "committing":
                who, when = r.committed_by_id or who, r.heartbeat_at or when
        out.append(RunRow(r.id, r.cycle, r.period, r.status, bills, total, names.get(who, ""), when))
    return out


# ---- commit with progress ---------------------------------------------------------------------------

_listeners: dict[int, Callable[[int], None]] = {}
_lock = threading.Lock()


def _notify(run_id: int, written: int) -> None:
    with _lock:
        listener = _listeners.get(run_id)
    if listener is not None:
        listener(written)


def _install() -> None:
    """Chain onto the run's after-chunk seam once: each committed chunk is told to the listener
    of its run (the screen's progress bar), whatever else is chained there."""
    current = billing_run._after_chunk
    if getattr(current, "_register_chain", False):
        return

    def after_chunk(run_id: int, written: int) -> None:
        current(run_id, written)
        _notify(run_id, written)

    after_chunk._register_chain = True  # type: ignore[attr-defined]
    billing_run._after_chunk = after_chunk


def cycle_days() -> dict[int, int]:
    """The bill cycles and the day of the month each is billed (settings)."""
    return dict(billing_run._settings.cycle_days)


def chunk_for(count: int) -> int:
    """Accounts a commit transaction: about twenty steps to show, 200 to the run's own chunk."""
    return max(200, min(billing_run._settings.chunk, -(-count // 20)))


@db.connected
def commit(op: OperatorInfo, run_id: int, progress: Callable[[int, int], None] | None = None
           ) -> billing_run.RunInfo:
    """billing_run.commit, telling `progress(written, of)` after each chunk written."""
    run = billing_run.get_run(run_id)
    if progress is None:
        return billing_run.commit(op, run_id)
    _install()
    with _lock:
        _listeners[run_id] = lambda written: progress(written, run.preview_count)
    try:
        return billing_run.commit(op, run_id, chunk=chunk_for(run.preview_count))
    finally:
        with _lock:
            _listeners.pop(run_id, None)


# ---- the register as text, CSV, PDF ---------------------------------------------------------------

def _status_line(run: billing_run.RunInfo) -> str:
    state = run.status + (f" by {run.approved_by}" if run.approved_by and run.status != "previewed" else "")
    return (f"Cycle {run.cycle}  period {run.period}  bill date {run.bill_date:%m/%d/%Y}  "
            f"due {run.due_date:%m/%d/%Y}  {state}")


def register_text(view: RegisterView, *, exceptions_only: bool = False) -> str:
    """The register as an 80-column listing: the bills, the exceptions, what was not billed, totals."""
    run = view.run
    lines = view.exceptions_only() if exceptions_only else view.lines
    out = [f"{COOP_NAME} - billing register".center(WIDTH).rstrip(), "", _status_line(run)]
    if exceptions_only:
        out.append(f"Exceptions only: {len(lines):,} of {len(view.lines):,} bills")
    out += ["", f"{'Account':>8} {'Name':<20} {'Sch':<4} {'kWh':>7} {'Flags':<11} {'Charged':>10} Exceptions",
            f"{'-' * 8} {'-' * 20} {'-' * 4} {'-' * 7} {'-' * 11} {'-' * 10} {'-' * 14}"]
    for ln in lines:
        flags = ln.flags if ln.status != "cancelled" else "CANCELLED"
        out.append(f"{ln.account_number:>8} {ln.name[:20]:<20} {ln.schedule[:4]:<4} {ln.kwh:>7,} {flags[:11]:<11} "
                   f"{money.fmt(ln.charged_cents):>10} {ln.exception_text}".rstrip())
    out += ["", "Exceptions"]
    for code, label in EXCEPTIONS.items():
        these = view.with_exception(code)
        if these:
            out.append(f"  {label:<22} {len(these):>6,}  {money.fmt(sum(b.charged_cents for b in these)):>12}")
    if not any(ln.exceptions for ln in view.lines):
        out.append("  none")
    if view.not_billed:
        out += ["", f"Not billed ({len(view.not_billed):,})"]
        out += [f"  {number:>8}  {why}"[:WIDTH] for number, why in view.not_billed]
    cancelled = sum(1 for ln in view.lines if ln.status == "cancelled")
    out += ["", "Totals",
            f"  Bills          {len(view.lines) - cancelled:>12,}"
            + (f"   ({cancelled:,} cancelled)" if cancelled else ""),
            f"  kWh            {view.kwh:>12,}",
            f"  Charges        {money.fmt(view.charges_cents):>12}",
            f"  Charged        {money.fmt(view.total_cents):>12}   (budget accounts their budget amount)"]
    return "\n".join(out) + "\n"


CSV_COLUMNS = ["account", "name", "schedule", "kind", "kwh", "estimated", "budget", "charges", "charged",
               "exceptions", "status", "bill_id"]


def register_csv(view: RegisterView) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for ln in view.lines:
        w.writerow([ln.account_number, ln.name, ln.schedule, ln.kind, ln.kwh, "Y" if ln.estimated else "N", ln.budget,
                    str(money.to_decimal(ln.total_cents)), str(money.to_decimal(ln.charged_cents)),
                    " ".join(ln.exceptions), ln.status, ln.bill_id or ""])
    for number, why in view.not_billed:
        w.writerow([number, "", "", "", "", "", "", "", "", "not_billed", why, ""])
    return buf.getvalue()


def register_pdf(view: RegisterView) -> bytes:
    return text_pdf(register_text(view))


@dataclass(frozen=True)
class RegisterFiles:
    csv: Path
    pdf: Path


def write_register(view: RegisterView, directory: str | Path) -> RegisterFiles:
    """register-cycleN-YYYY-MM.csv and .pdf into `directory`."""
    stem = f"register-cycle{view.run.cycle}-{view.run.period}"
    return RegisterFiles(*write_csv_pdf(directory, stem, register_csv(view), register_pdf(view), "the register"))


@db.connected
def run_for(cycle: int, period: str) -> billing_run.RunInfo:
    r = db.BillingRun.get_or_none(db.BillingRun.cycle == cycle, db.BillingRun.period == period)
    if r is None:
        raise NotFound(f"No billing run of cycle {cycle} {period}")
    return billing_run.get_run(r.id)
