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

import time
from dataclasses import dataclass
from pathlib import Path

from kec_tui.services import practice
from kec_tui.services.errors import first_line
from kec_tui.services.operators import OperatorInfo
from kec_tui.services.practice import (  # noqa: F401 - the training API (cli, tests)
    NotPractice,
    build_practice,
    ensure_bad_debt_scenario,
    open_practice,
    trainee_operator,
)
from kec_tui.training.walkthroughs import CATALOG, Ctx, NotPossible, Walkthrough, by_name, text

MARKER = "TRAINING — practice database"
CHECK_SECONDS = 1.0
FLASH_SECONDS = 5.0


# ---- the practice database ------------------------------------------------------------------------

def practice_path(settings) -> Path:
    from kec_tui.config import default_data_dir

    return Path(settings.practice_db or default_data_dir() / "practice.db").expanduser()


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
        self.done = practice.walkthroughs_done(self.op.username)

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
        ctx = Ctx(self.app, self.op, practice.clock(), {"seed": seed if seed is not None else time.time_ns()},
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
            return f"(the check could not run: {first_line(exc)})"

    def _completed(self, run: Run) -> None:
        self.done.add(run.walkthrough.name)
        try:
            practice.record_walkthroughs_done(self.op.username, self.done)
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
        why = text(step.why, data)
        if w.document:
            why += f" {self.document_hint()}"
        pages.append(("Why", why))
        return pages

    def document(self) -> str:
        """The document the running walkthrough follows (the reference key opens it), or ""."""
        return self.run.walkthrough.document if self.run else ""

    def document_hint(self) -> str:
        from kec_tui.keymap import keys_text

        return f"{keys_text('app.reference')}: read the policy ({self.document()})."

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
