"""Fixtures shared by the whole suite."""

from __future__ import annotations

import functools
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from tarry import host
from tarry.storage import open_store
from tarry.testing import TestHarness, tarry_test_harness
from tests.smtp_capture import MailCatcher, mail_catcher

ROOT = Path(__file__).resolve().parent.parent

POSTGRES_URL = os.environ.get(
    "TARRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/tarry_test"
)
"""The PostgreSQL database the tests use (created if missing). Each test session
works in schemas of its own, so sessions running at once do not meet."""


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    """Flows called in the test run against a fresh SQLite file."""
    with tarry_test_harness() as h:
        yield h


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    """A real SMTP server on a loopback port that keeps every mail it receives."""
    with mail_catcher() as found:
        yield found


@pytest.fixture
def tarry_home(tmp_path: Path) -> Path:
    """A TARRY_HOME folder for subprocesses of the test."""
    home = tmp_path / "home"
    home.mkdir()
    return home


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a tarry subprocess that uses `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARRY_")}
    env.update(TARRY_HOME=str(home), PYTHONPATH=str(ROOT / "src"), **extra)
    return env


def run_python(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS` (a script of the repository) in a subprocess using `home`."""
    return subprocess.run(
        [sys.executable, *args],
        env=subprocess_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_tarry(
    home: Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the `tarry` command in a subprocess using `home` (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "tarry", *args],
        env=subprocess_env(home, **(env or {})),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def query(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of a query on a SQLite file, read with a fresh connection."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _no_leaked_host() -> Iterator[None]:
    # A test that forgets to restore the process host would make later tests
    # write into its store.
    before = host.set_host(None)
    host.set_host(before)
    yield
    assert host.set_host(before) is before


# -- PostgreSQL ---------------------------------------------------------------------------

_postgres_schemas: list[str] = []
"""Schemas this session created, dropped when it ends."""


@functools.cache
def _postgres_database() -> None:
    """Create the test database if it is missing; fail the test if the server is unreachable."""
    dbname = str(psycopg.conninfo.conninfo_to_dict(POSTGRES_URL).get("dbname") or "postgres")
    admin = psycopg.conninfo.make_conninfo(POSTGRES_URL, dbname="postgres", connect_timeout=5)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.errors.DuplicateDatabase:
        pass  # another test session created it just now
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL}: {exc}\n"
            "Start it (scripts/test-deps does) or set TARRY_TEST_POSTGRES_URL.",
            pytrace=False,
        )


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    _postgres_database()
    return psycopg.connect(POSTGRES_URL, autocommit=True)


def postgres_schema_url() -> str:
    """The URL of a new, empty schema of the test database, dropped when the session ends."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    _postgres_schemas.append(schema)
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def drop_postgres_schema(url: str) -> None:
    """Drop a schema made by `postgres_schema_url`, with everything in it."""
    options = psycopg.conninfo.conninfo_to_dict(url)["options"]
    schema = str(options).removeprefix("-csearch_path=")
    with _admin() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    _postgres_schemas.remove(schema)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty (not migrated) schema of the test database, dropped after."""
    url = postgres_schema_url()
    yield url
    drop_postgres_schema(url)


@functools.cache
def _postgres_session() -> tuple[str, psycopg.Connection[tuple[object, ...]]]:
    """This session's migrated schema (its URL) and a connection to it."""
    url = postgres_schema_url()
    open_store(url).close()  # migrates it
    return url, psycopg.connect(url, autocommit=True)


def postgres_session_url() -> str:
    """The URL of this session's migrated schema, which `empty_postgres_schema` empties."""
    return _postgres_session()[0]


def empty_postgres_schema() -> None:
    """Empty the tables of this session's migrated schema.

    DELETE, not TRUNCATE: on tables this small it takes well under a millisecond,
    where TRUNCATE takes tens.
    """
    conn = _postgres_session()[1]
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        " AND tablename NOT IN ('tarry_migrations', 'runs', 'work_pools', 'work_queues',"
        " 'automation_cursor')"
        # Deployments after their schedules, firings after their actions: they refer to them.
        " ORDER BY tablename IN ('deployments', 'automation_firings')"
    ).fetchall()
    with conn.transaction():
        for (table,) in tables:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(str(table))))
        conn.execute("DELETE FROM runs")  # last: the other tables refer to it
        # The migration's default pool and queue stay, as they were made.
        conn.execute("DELETE FROM work_queues WHERE pool <> 'default' OR name <> 'default'")
        conn.execute("DELETE FROM work_pools WHERE name <> 'default'")
        conn.execute("UPDATE work_pools SET concurrency_limit = NULL, paused = FALSE")
        conn.execute("UPDATE automation_cursor SET seq = 0, commits = 0, updated_at = 0")
        conn.execute(
            "UPDATE work_queues SET concurrency_limit = NULL, paused = FALSE, priority = 1"
        )


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schemas() -> Iterator[None]:
    yield
    if _postgres_session.cache_info().currsize:
        _postgres_session()[1].close()
    for schema in list(_postgres_schemas):
        with _admin() as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        _postgres_schemas.remove(schema)
