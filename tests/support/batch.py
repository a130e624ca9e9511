"""Shared helpers for the batch screen tests.

Keys go through the driver path as bursts (tests/support/keys.py):
every key event is queued before anything is awaited, so the type-ahead path
is what every test exercises.
"""
from __future__ import annotations

import datetime as dt
import re

from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.batch_entry import BatchEntryScreen
from kec_tui.services import batches
from tests import factories
from tests.support.keys import send_burst, settle

BATCH_DATE = dt.date(2025, 10, 1)  # fixed, so screens look the same any day


def make_app(sqlite_db, op, tmp_path, **settings) -> KecApp:
    settings = Settings(db=sqlite_db, theme="textual-dark", reports_dir=str(tmp_path / "reports"), **settings)
    return KecApp(settings, op)


def accounts(n: int, *, due_cents=lambda i: 10_000 + 137 * i, **kw) -> list:
    """n plain active accounts, each owing due_cents(i)."""
    return [factories.account(first=f"Member{i}", last=f"Test{i:03d}", street=f"{100 + i} Main St",
                              bills=(due_cents(i),), **kw) for i in range(n)]


def open_batch(op, count: int = 5, total_cents: int = 50_000, tender: str = "check") -> batches.BatchInfo:
    return batches.open_batch(op, tender, count, total_cents, batch_date=BATCH_DATE)


def keys_of(text: str) -> list[str]:
    """Literal text as key names; '\\r' is Enter."""
    return ["enter" if ch == "\r" else ch for ch in text]


def expand(*items: str) -> list[str]:
    """Key names ("enter", "f8", "ctrl+t") stay; other strings are literal text ('\\r' is Enter)."""
    out: list[str] = []
    for item in items:
        if item in KEY_NAMES or re.fullmatch(r"f\d+|(ctrl|shift)\+.+", item):
            out.append(item)
        else:
            out += keys_of(item)
    return out


async def press(pilot, *items: str, done=lambda: True) -> None:
    """A burst of keys through the driver (nothing awaited between them), then wait until handled."""
    send_burst(pilot.app, expand(*items))
    await settle(pilot, done)
    await pilot.app.workers.wait_for_complete()
    await settle(pilot)


KEY_NAMES = {"enter", "tab", "escape", "up", "down", "left", "right", "home", "end", "backspace", "delete",
             "plus", "minus", "asterisk", "space", "pageup", "pagedown"}


async def entry_screen(pilot, batch_id: int) -> BatchEntryScreen:
    screen = BatchEntryScreen(batch_id)
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def db_lines(batch_id: int, include_void: bool = False) -> list[tuple[str, int, str, str]]:
    """(account as keyed, cents, check no., source) of a batch's lines, in keyed order."""
    return [(str(ln.account_number), ln.amount_cents, ln.check_no, ln.source)
            for ln in batches.lines(batch_id, limit=10_000, include_void=include_void)]
