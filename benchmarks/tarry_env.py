"""Shared tarry set-up: a fresh SQLite database in a temporary folder.

`TARRY_SQLITE_SYNCHRONOUS` (FULL by default) sets SQLite's `PRAGMA synchronous`.
Every other setting is read from its `TARRY_*` variable (tarry's default when
unset) unless a benchmark overrides it in code. The database URL always points
at the fresh folder, whatever `TARRY_HOME` or `TARRY_DATABASE_URL` say. The
folder is deleted when the benchmark ends unless `BENCH_KEEP=1`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

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
        home=Path(make_workdir(prefix)), database_url="", **overrides
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


def versions(settings: config.Settings | None = None) -> dict[str, Any]:
    """The fields that say which engine and configuration a result line is for."""
    settings = settings or config.Settings.from_env()
    return {
        "engine": "tarry",
        "version": tarry.__version__,
        "mode": "sqlite",
        "synchronous": settings.sqlite_synchronous,
    }


def wait_settings(settings: config.Settings) -> dict[str, Any]:
    """The settings that decide whether a waiting run stays in memory (W3, W5)."""
    return {
        "resident_seconds": settings.resident_seconds,
        "max_resident_runs": settings.max_resident_runs,
        "poll_interval_s": settings.poll_seconds,
    }
