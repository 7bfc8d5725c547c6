"""Shared tarry set-up: a fresh database, SQLite in a temporary folder or a PostgreSQL schema.

`TARRY_SQLITE_SYNCHRONOUS` (FULL by default) sets SQLite's `PRAGMA synchronous`.
Every other setting is read from its `TARRY_*` variable (tarry's default when
unset) unless a benchmark overrides it in code. The database is always new: a
`tarry.db` in the fresh folder, whatever `TARRY_HOME` says, or, when
`TARRY_DATABASE_URL` is a `postgresql://` URL, a new schema `bench_<hex>` in that
database (also the connections' `application_name`). The folder (and the schema) are
deleted when the benchmark ends unless `BENCH_KEEP=1`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from common import make_workdir

import tarry
from tarry import config, host

__all__ = ["close_host", "open_host", "versions", "wait_settings"]


def open_host(prefix: str, **overrides: Any) -> host.Host:
    """Make a host on a fresh SQLite database this process's host, store opened.

    Args:
        prefix: Start of the temporary folder's name.
        **overrides: `Settings` fields to set, e.g. `resident_seconds=0`.

    Returns:
        The host; close it with `close_host` when the benchmark ends.
    """
    settings = config.Settings.from_env(
        home=Path(make_workdir(prefix)), database_url=_fresh_postgres_schema(), **overrides
    )
    hst = host.Host(settings)
    host.set_host(hst)
    hst.store  # noqa: B018 - open and migrate the database before timing anything
    return hst


def close_host(hst: host.Host) -> None:
    """Flush and close `hst`, forget it as this process's host, delete its folder."""
    hst.close()
    host.set_host(None)
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(hst.settings.home, ignore_errors=True)
        _drop_postgres_schema(hst.settings.database_url)


def _postgres_url() -> str:
    url = os.environ.get("TARRY_DATABASE_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else ""


def _fresh_postgres_schema() -> str:
    """A URL for a new schema of `TARRY_DATABASE_URL`'s database, or "" (SQLite)."""
    url = _postgres_url()
    if not url:
        return ""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    # The schema's name as application_name too: its backends can be told from others'.
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{separator}options={options}&application_name={schema}"


def _drop_postgres_schema(url: str) -> None:
    if not url:
        return
    import psycopg

    schema = str(psycopg.conninfo.conninfo_to_dict(url)["options"]).removeprefix("-csearch_path=")
    with psycopg.connect(_postgres_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def versions(settings: config.Settings | None = None) -> dict[str, Any]:
    """The fields that say which engine and configuration a result line is for."""
    settings = settings or config.Settings.from_env()
    postgres = settings.database_url.startswith(("postgresql://", "postgres://"))
    return {
        "engine": "tarry",
        "version": tarry.__version__,
        "mode": "postgresql" if postgres else "sqlite",
        "synchronous": "synchronous_commit" if postgres else settings.sqlite_synchronous,
    }


def wait_settings(settings: config.Settings) -> dict[str, Any]:
    """The settings that decide whether a waiting run stays in memory (W3, W5)."""
    return {
        "resident_seconds": settings.resident_seconds,
        "max_resident_runs": settings.max_resident_runs,
        "poll_interval_s": settings.poll_seconds,
    }
