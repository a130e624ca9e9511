"""Training mode: the practice database, the trainee, and the Trainer that runs a walkthrough.

`kec-tui train` builds (once, or again with --reset) a practice copy of the demo
co-op in the data dir (practice.db: small, fixed seed, marked as practice in
kec_meta), signs the trainee in there and starts the application with
``training`` set. KecApp then calls ``attach``: the title says TRAINING, a
TrainingPanel is docked at the bottom of every screen (above the Footer), and
the Trainer checks the current step once a second and after every screen change.

The panel never takes the focus or a key: it is drawn, not focused. The
trainee moves it with the app's priority keys Ctrl+G (the next hint / page; the
last folds it to one line) and Ctrl+L (the list of walkthroughs).
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from kec_tui import db, money
from kec_tui.services import operators
from kec_tui.services.operators import OperatorInfo
from kec_tui.training.walkthroughs import CATALOG, Ctx, NotPossible, Walkthrough, by_name, text

PRACTICE_ACCOUNTS = 3_000
PRACTICE_MONTHS = 12
PRACTICE_SEED = 1961                  # fixed: every practice copy is the same co-op
PRACTICE_PASSWORD = "practice"        # the practice supervisor's password (shown in the walkthrough)
PRACTICE_META = "practice"            # kec_meta key marking a practice database
MARKER = "TRAINING — practice database"
CHECK_SECONDS = 1.0
FLASH_SECONDS = 5.0


class NotPractice(RuntimeError):
    """The file named as the practice database is not one (message for the user)."""


# ---- the practice database ------------------------------------------------------------------------

def practice_path(settings) -> Path:
    from kec_tui.config import default_data_dir

    return Path(settings.practice_db or default_data_dir() / "practice.db").expanduser()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build_practice(path: Path, *, accounts: int = PRACTICE_ACCOUNTS, months: int = PRACTICE_MONTHS,
                   seed: int = PRACTICE_SEED, progress: Callable[[int, int], None] | None = None) -> str:
    """Build a fresh practice database at `path` (replacing one there, keeping its keystroke
    statistics). Built beside it and renamed, so a failed build leaves the old one."""
    from kec_tui.services.demo import build_demo

    path = Path(path)
    kept = _read_keystats(path) if path.exists() else []
    building = path.with_name(path.name + ".building")
    _remove(building)
    db.connect(str(building))
    try:
        summary = build_demo(accounts=accounts, months=months, seed=seed, progress=progress)
        seed_practice()
        _restore_keystats(kept)
        db.set_meta(PRACTICE_META, "1")
    finally:
        db.database.close()
    _remove(path)
    os.replace(building, path)
    return str(summary)


def seed_practice() -> None:
    """What the walkthroughs need beyond the demo: a supervisor who can sign in on the form,
    and an earlier member with an unpaid final balance whom an applicant will match."""
    from kec_tui.services import passwords

    if db.Operator.get_or_none(db.Operator.username == "super") is None:
        operators.create("super", "Dana Whitfield", "supervisor")
    passwords.set_password("super", PRACTICE_PASSWORD)
    ensure_bad_debt_scenario()


def open_practice(path: Path) -> None:
    """Connect to the practice database; refuse any database not marked as practice."""
    if not Path(path).exists():
        raise NotPractice(f"No practice database at {path}")
    db.connect(str(path))
    if db.get_meta(PRACTICE_META) != "1":
        db.database.close()
        raise NotPractice(f"{path} is not a practice database (it has no practice mark): training never "
                          f"runs on live data. Rebuild it with kec-tui train --reset")


def _read_keystats(path: Path) -> list[tuple]:
    """The keystroke statistics of an old practice database (trainees' records survive a rebuild)."""
    try:
        db.connect(str(path))
        K, O = db.KeyStats, db.Operator
        rows = list(K.select(O.username, O.name, O.role, K.day, K.keys, K.pastes, K.pasted_chars, K.corrections,
                             K.active_ms).join(O, on=(K.operator == O.id)).tuples())
    except Exception:  # noqa: BLE001 - an unreadable old copy is simply replaced
        rows = []
    finally:
        db.database.close()
    return rows


def _restore_keystats(rows: list[tuple]) -> None:
    from kec_tui.services.keystats import Counts, add_counts

    for username, name, role, day, keys, pastes, chars, corr, active in rows:
        row = db.Operator.get_or_none(db.Operator.username == username)
        op_id = row.id if row else operators.create(username, name, role).id
        add_counts(op_id, {day: Counts(keys, pastes, chars, corr, active)})


def trainee_operator(username: str | None = None) -> OperatorInfo:
    """The trainee in the practice database: the name given (--operator), else the OS login;
    made an MSR there on first use."""
    if not username:
        try:
            username = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (some containers)
            username = ""
    name = re.sub(r"\W", "_", (username or "").strip().lower())[:32].strip("_") or "trainee"
    if not name[0].isalpha():
        name = f"t_{name}"[:32]
    row = db.Operator.get_or_none(db.Operator.username == name)
    if row is not None:
        if not row.active:
            db.Operator.update(active=True).where(db.Operator.id == row.id).execute()
        return operators.by_username(name)
    return operators.create(name, f"{name} (trainee)", "msr")


# ---- the bad-debt scenario ---------------------------------------------------------------------------

SCENARIO_META = "training.bad_debt"
APPLICANT = {"first": "Dale", "last": "Brandvold", "tax_id": "518-44-4417", "birth": "04/12/1979",
             "phone": "2087725519", "prior_street": "311 W Ironwood Dr"}


def ensure_bad_debt_scenario() -> dict:
    """An earlier member (final account, unpaid final bill) and a vacant service location for the
    applicant who matches them; made once, a new vacant location whenever the last one is taken."""
    from kec_tui.checkdigit import make_account_number
    from kec_tui.services import memberships, search_index

    A, M, L, LE, Me = db.Account, db.Member, db.ServiceLocation, db.LedgerEntry, db.Meter
    stored = json.loads(db.get_meta(SCENARIO_META) or "{}")
    today = dt.date.today()
    with db.database.atomic():
        prior = A.get_or_none(A.id == stored.get("prior_account_id")) if stored else None
        if prior is None:
            base = (A.select(fn.MAX(A.number)).scalar() or 100000) // 10 + 1
            member = M.create(member_no=(M.select(fn.MAX(M.member_no)).scalar() or 100000) + 1,
                              first_name=APPLICANT["first"], last_name=APPLICANT["last"],
                              tax_id_last4=APPLICANT["tax_id"][-4:],
                              tax_id_hash=memberships.tax_id_hash(APPLICANT["tax_id"].replace("-", ""),
                                                                  create_salt=True),
                              birth_date=dt.date(1979, 4, 12), phone_mobile=APPLICANT["phone"],
                              mail_street=APPLICANT["prior_street"], mail_city="Coeur d'Alene", mail_zip="83815",
                              joined=today - dt.timedelta(days=900))
            loc = L.create(location_no=_next_location_no(), street=APPLICANT["prior_street"], city="Coeur d'Alene",
                           zip="83815", map_location="T50N R4W S02")
            opened, closed = today - dt.timedelta(days=900), today - dt.timedelta(days=240)
            prior = A.create(number=make_account_number(base), member=member, location=loc, status="final",
                             opened=opened, closed=closed)
            for i, cents in enumerate((13420, 15877, 11209)):
                day = opened + dt.timedelta(days=30 * (i + 1))
                LE.create(account=prior, effective=day, kind="bill", amount_cents=cents, description="Electric service",
                          due_date=day + dt.timedelta(days=20))
                if i < 2:
                    LE.create(account=prior, effective=day + dt.timedelta(days=18), kind="payment",
                              amount_cents=-cents, description="Payment", reference=f"chk {2201 + i}")
            LE.create(account=prior, effective=closed, kind="bill", amount_cents=17555, description="Final bill",
                      due_date=closed + dt.timedelta(days=20))
            search_index.reindex_account(prior.id)
            stored = {"prior_account_id": prior.id}
        loc = L.get_or_none(L.id == stored.get("location_id")) if stored.get("location_id") else None
        taken = loc is not None and A.select().where(A.location == loc.id,
                                                     A.status.in_(("pending", "active", "disconnected"))).exists()
        if loc is None or taken:
            n = stored.get("locations", 0) + 1
            loc = L.create(location_no=_next_location_no(), street=f"{1415 + 2 * n} E Lakeshore Dr", city="Hayden",
                           zip="83835", map_location=f"T51N R4W S{10 + n % 20:02d}")
            meter_no = f"39{loc.location_no:07d}"[-9:]
            if not Me.select().where(Me.meter_no == meter_no).exists():
                Me.create(meter_no=meter_no, location=loc, installed=today - dt.timedelta(days=3000))
            stored.update(location_id=loc.id, locations=n)
        db.set_meta(SCENARIO_META, json.dumps(stored))
    owed = int(LE.select(fn.SUM(LE.amount_cents)).where(LE.account == prior.id).scalar() or 0)
    pm = M.get_by_id(prior.member_id)
    return {**APPLICANT, "phone_fmt": _fmt_phone(APPLICANT["phone"]), "location_no": loc.location_no,
            "location_street": f"{loc.street}, {loc.city}", "prior_account": prior.number,
            "prior_name": f"{pm.first_name} {pm.last_name}", "owed": money.fmt_dollars(owed),
            "sup_user": "super", "sup_password": PRACTICE_PASSWORD}


def _next_location_no() -> int:
    return (db.ServiceLocation.select(fn.MAX(db.ServiceLocation.location_no)).scalar() or 100000) + 1


def _fmt_phone(digits: str) -> str:
    from kec_tui.services.accounts import format_phone

    return format_phone(digits)


# ---- the trainer ---------------------------------------------------------------------------------------

@dataclass
class Run:
    walkthrough: Walkthrough
    ctx: Ctx
    step: int = 0
    started: float = 0.0
    finished: float | None = None

    @property
    def complete(self) -> bool:
        return self.finished is not None


class Trainer:
    """The state of training in one session: the walkthrough running, its step, the panel's page."""

    def __init__(self, app) -> None:
        self.app = app
        self.op: OperatorInfo = app.operator
        self.run: Run | None = None
        self.page = 0                  # which page of the step's texts the panel shows
        self.folded = False            # the panel folded to its one title line
        self.feedback = ""             # what the last check found wrong, if anything
        self.flash = ""                # "Step 1 done" for a few seconds
        self._flash_until = 0.0
        self.message = ""              # no walkthrough running: what the panel says
        self.done = set(filter(None, (db.get_meta(self._done_key) or "").split(",")))

    @property
    def _done_key(self) -> str:
        return f"training.done.{self.op.username}"[:64]

    # -- the catalogue -------------------------------------------------------------------------
    @staticmethod
    def catalog() -> tuple[Walkthrough, ...]:
        return CATALOG

    def start(self, name: str, *, seed: int | None = None) -> str | None:
        """Start a walkthrough; returns why it cannot start, or None."""
        w = by_name(name)
        if w is None:
            return f"No walkthrough named {name!r}"
        coming = w.coming()
        if coming:
            return f"{w.title}: {coming}"
        ctx = Ctx(self.app, self.op, db.now(), {"seed": seed if seed is not None else time.time_ns()},
                  frozenset(id(s) for s in getattr(self.app, "screen_stack", [])))
        try:
            ctx.data.update(w.setup(ctx))
        except NotPossible as e:
            return str(e)
        self.run = Run(w, ctx, started=time.monotonic())
        self.page, self.folded, self.feedback, self.flash = 0, False, "", ""
        self.message = ""
        self.check()
        self.refresh()
        return None

    def stop(self) -> None:
        self.run = None
        self.message = "No walkthrough running: Ctrl+L lists them."
        self.refresh()

    # -- checking ------------------------------------------------------------------------------
    def check(self) -> None:
        """Check the current step (and, past it, the milestones); move on as far as done."""
        run = self.run
        if run is None or run.complete:
            return
        steps = run.walkthrough.steps
        moved = False
        while run.step < len(steps):
            verdict = self._verdict(steps[run.step], run.ctx)
            if verdict is True:
                run.step += 1
                moved = True
                continue
            ahead = next((j for j in range(len(steps) - 1, run.step, -1)
                          if steps[j].milestone and self._verdict(steps[j], run.ctx) is True), None)
            if ahead is not None:
                run.step = ahead + 1
                moved = True
                continue
            self.feedback = verdict if isinstance(verdict, str) else ""
            break
        if moved:
            self.page, self.folded = 0, False
            if run.step >= len(steps):
                run.finished = time.monotonic()
                self.feedback = ""
                self._completed(run)
            else:
                self.feedback = ""
                self._flash(f"✔ Done: {steps[run.step - 1].title}")
                # The new step may already be wrong in a way worth saying at once.
                verdict = self._verdict(steps[run.step], run.ctx)
                self.feedback = verdict if isinstance(verdict, str) else ""
            self.refresh()

    @staticmethod
    def _verdict(step, ctx: Ctx):
        try:
            return step.check(ctx)
        except Exception as exc:  # noqa: BLE001 - a check must never break the work on screen
            return f"(the check could not run: {db.first_line(exc)})"

    def _completed(self, run: Run) -> None:
        self.done.add(run.walkthrough.name)
        try:
            db.set_meta(self._done_key, ",".join(sorted(self.done)))
        except Exception:  # noqa: BLE001 - the record of completion is a nicety
            pass
        self._flash("✔ Walkthrough complete")

    def _flash(self, text_: str) -> None:
        self.flash = text_
        self._flash_until = time.monotonic() + FLASH_SECONDS

    def tick(self) -> None:
        """The timer: the panel on the current screen, the check, the flash expiring."""
        self.ensure_panel(self.app.screen)
        if self.flash and time.monotonic() > self._flash_until:
            self.flash = ""
            self.refresh()
        before = (self.feedback, self.run.step if self.run else None)
        self.check()
        if before != (self.feedback, self.run.step if self.run else None):
            self.refresh()

    def on_screen_change(self, screen) -> None:
        self.ensure_panel(screen)
        self.check()

    # -- what the panel shows ---------------------------------------------------------------------
    def title_line(self) -> str:
        run = self.run
        if run is None:
            return MARKER
        w = run.walkthrough
        n = len(w.steps)
        if run.complete:
            return f"{MARKER} │ {w.title} │ complete ({n} of {n})"
        return f"{MARKER} │ {w.title} │ step {run.step + 1} of {n}: {w.steps[run.step].title}"

    def texts(self) -> list[tuple[str, str]]:
        """The pages of the current step, in the order Ctrl+G shows them: (label, text)."""
        run = self.run
        if run is None:
            lines = [self.message or "Welcome to training on the practice database: nothing here is live work. "
                     "Ctrl+L lists the walkthroughs; pick one with Enter."]
            for w in CATALOG:
                coming = w.coming()
                mark = "✔ " if w.name in self.done else ""
                lines.append(f"{mark}{w.title}" + (f" ({coming})" if coming else ""))
            return [("", "\n".join(lines))]
        w = run.walkthrough
        data = run.ctx.data
        if run.complete:
            took = int((run.finished or 0) - run.started)
            return [("Complete", f"{w.title}: all {len(w.steps)} steps done in {took // 60}:{took % 60:02d}. "
                                 f"{w.done} Ctrl+L: another walkthrough.")]
        step = w.steps[run.step]
        pages = [("Do", text(step.do, data))]
        pages += [(f"Hint {i}/{len(step.hints)}", text(h, data)) for i, h in enumerate(step.hints, 1)]
        pages.append(("Why", text(step.why, data)))
        return pages

    def status(self) -> str:
        return f"Not yet: {self.feedback}" if self.feedback else self.flash

    # -- keys (the app's priority bindings) ---------------------------------------------------------
    def next_page(self, pages: int) -> None:
        """Ctrl+G: the next page of the step; after the last the panel folds; folded, it opens."""
        if self.folded:
            self.folded, self.page = False, 0
        elif self.page + 1 >= pages:
            self.folded, self.page = True, 0
        else:
            self.page += 1
        self.check()
        self.refresh()

    def menu(self) -> None:
        from kec_tui.training.panel import TrainingMenu

        if not isinstance(self.app.screen, TrainingMenu):
            self.app.push_screen(TrainingMenu(self))

    # -- the panels ------------------------------------------------------------------------------------
    def ensure_panel(self, screen) -> None:
        from kec_tui.training.panel import ensure_panel

        ensure_panel(screen)

    def refresh(self) -> None:
        from kec_tui.training.panel import TrainingPanel

        for screen in self.app.screen_stack:
            for panel in screen.query(TrainingPanel):
                panel.sync()


def attach(app, training: bool | str) -> Trainer:
    """Called by KecApp.on_mount when training: the marker, the panel, the checks, the first walkthrough."""
    trainer = Trainer(app)
    app.trainer = trainer
    app.title = MARKER
    op = app.operator
    who = op.name if op.username in op.name else f"{op.name} ({op.username})"
    app.sub_title = f"trainee {who.replace(' (trainee)', '')} · nothing here is live"
    app.screen_change_signal.subscribe(app, trainer.on_screen_change)
    app.set_interval(CHECK_SECONDS, trainer.tick)
    trainer.ensure_panel(app.screen)
    if isinstance(training, str) and training:
        problem = trainer.start(training)
        if problem:
            trainer.message = problem
            app.notify(problem, severity="warning")
    else:
        app.call_after_refresh(trainer.menu)
    return trainer
