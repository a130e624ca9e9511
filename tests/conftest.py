"""Shared fixtures: a fresh database on SQLite and, where a server answers, PostgreSQL.

With CI=true the PostgreSQL tests are required: an unreachable server fails them
instead of skipping them.
"""
from __future__ import annotations

import atexit
import os

import pytest

from kec_tui import db
from kec_tui.services import operators

PG_BASE = os.environ.get("KEC_TUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
_pg_checked: dict[str, str | None] = {}


def _admin(sql: str, *params) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_BASE, connect_timeout=3)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
    finally:
        conn.close()


def _drop_pg_databases() -> None:
    for name, err in _pg_checked.items():
        if err is None:
            try:
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass


atexit.register(_drop_pg_databases)


def _drop_abandoned() -> None:
    """Databases of test processes that were killed before they could clean up."""
    import psycopg2

    conn = psycopg2.connect(PG_BASE, connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'kec_test_%'")
            names = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    for name in names:
        pid = name.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - another run may be dropping it too
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pg_url(worker: str) -> str:
    """A database of this test process's own, so parallel runs and workers never meet."""
    name = f"kec_test_{worker}_{os.getpid()}"
    if name not in _pg_checked:
        try:
            _drop_abandoned()
            _admin(f'CREATE DATABASE "{name}"')
            _pg_checked[name] = None
        except Exception as exc:  # noqa: BLE001
            _pg_checked[name] = str(exc).strip().splitlines()[0]
    err = _pg_checked[name]
    if err:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but {PG_BASE} does not answer: {err}")
        pytest.skip(f"no PostgreSQL server at {PG_BASE}: {err}")
    return PG_BASE.rsplit("/", 1)[0] + "/" + name


def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def open_database(kind: str, request, tmp_path) -> str:
    if kind == "postgres":
        url = pg_url(worker_id(request))
        db.connect(url, create=False)
        db.drop_all()
        db.migrate()
    else:
        url = str(tmp_path / "test.db")
        db.connect(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """A fresh, migrated, empty database on each backend; yields its URL."""
    url = open_database(request.param, request, tmp_path)
    yield url
    db.database.close()


@pytest.fixture
def sqlite_db(request, tmp_path):
    url = open_database("sqlite", request, tmp_path)
    yield url
    db.database.close()


@pytest.fixture
def msr(database_any):
    return operators.create("msr1", "Pat Keyer", "msr")


@pytest.fixture
def supervisor(database_any):
    return operators.create("super", "Sam Boss", "supervisor")


@pytest.fixture
def database_any(request):
    """Whichever database fixture the test asked for."""
    for name in ("database", "sqlite_db"):
        if name in request.fixturenames:
            return request.getfixturevalue(name)
    return request.getfixturevalue("sqlite_db")
