"""Exactly-once runs: a run row (a billing run, a late-fee run) committed by one session at a time.

The row has `status`, `claim` (the committing session's token), `heartbeat_at` and
`committed_by` / `committed_at`. A commit claims it with one guarded UPDATE (ready ->
committing, with its token): a second session finds it claimed and is told so. The work is
written in chunks, each in one transaction that first makes sure the claim is still its own
(`hold`, the row locked on PostgreSQL) and leaves a heartbeat (`beat`); each chunk skips what
is already written, so a commit killed midway is run again and finishes what is missing. A
claim whose committer stopped beating for `takeover_after` may be taken over. `finish`
marks the run committed, only by the session that holds the claim.
"""
from __future__ import annotations

import datetime as dt

from kec_tui import db
from kec_tui.services.errors import ServiceError


class RunStateError(ServiceError):
    """A run that cannot take this step now (the runs' modules re-export these)."""


class AlreadyCommitted(RunStateError):
    pass


class RunBusy(RunStateError):
    """Another session is committing this run."""


def claim(model, run_id: int, token: str, operator_id: int | None, ready: tuple[str, ...],
          takeover_after: dt.timedelta) -> tuple[bool, object | None]:
    """Claim the run for this session (in the caller's write transaction): (claimed, the row)."""
    stale = db.now() - takeover_after
    n = (model.update(status="committing", claim=token, heartbeat_at=db.now(), committed_by=operator_id)
         .where(model.id == run_id,
                model.status.in_(ready) | ((model.status == "committing") & (model.heartbeat_at <= stale)))
         .execute())
    return n == 1, model.get_or_none(model.id == run_id)


def hold(model, run_id: int, token: str) -> bool:
    """In a chunk's write transaction: the run (locked on PostgreSQL) is still this session's to commit."""
    mine = db.locked(model, run_id)
    return mine is not None and mine.claim == token and mine.status == "committing"


def beat(model, run_id: int) -> None:
    """A chunk written: the committer is alive."""
    model.update(heartbeat_at=db.now()).where(model.id == run_id).execute()


def release(model, run_id: int, token: str, **fields) -> None:
    """Give the claim up (back to previewed, with `fields`), if this session still holds it."""
    model.update(status="previewed", claim="", **fields).where(model.id == run_id, model.claim == token).execute()


def finish(model, run_id: int, token: str, **fields) -> bool:
    """Mark the run committed (with `fields`), only by the holder of the claim; False: another took it."""
    n = (model.update(status="committed", committed_at=db.now(), **fields)
         .where(model.id == run_id, model.claim == token, model.status == "committing")
         .execute())
    return n == 1
