"""Where runs live: the `Store` port and its adapters.

`open_store(url)` picks the adapter from the URL's scheme.
"""

from __future__ import annotations

from tarry import errors
from tarry.storage.memory import MemoryStore
from tarry.storage.port import Store
from tarry.storage.records import (
    UNSET,
    DeploymentRecord,
    LogRecord,
    MessageRecord,
    RunFilter,
    RunRecord,
    StateChange,
    StepRecord,
    TransitionRecord,
    WaitRecord,
)
from tarry.storage.sqlite import SqliteStore

__all__ = [
    "UNSET",
    "DeploymentRecord",
    "LogRecord",
    "MemoryStore",
    "MessageRecord",
    "RunFilter",
    "RunRecord",
    "SqliteStore",
    "StateChange",
    "StepRecord",
    "Store",
    "TransitionRecord",
    "WaitRecord",
    "open_store",
]


def open_store(url: str, *, sqlite_synchronous: str = "FULL", migrate: bool = True) -> Store:
    """Open the store a database URL names.

    Args:
        url: `sqlite:///relative/or/absolute.db`, `sqlite:////abs/path.db`,
            `postgresql://user:password@host:port/dbname` (or `postgres://...`) or
            `memory://`.
        sqlite_synchronous: SQLite `PRAGMA synchronous` level.
        migrate: Bring the schema up to date before returning.

    Returns:
        The open store.

    Raises:
        errors.ConfigurationError: The URL's scheme is not supported, or PostgreSQL
            is asked for without psycopg installed.
        errors.StoreError: The database cannot be reached.
    """
    store: Store
    if url.startswith("sqlite:///"):
        store = SqliteStore(url.removeprefix("sqlite:///"), synchronous=sqlite_synchronous)
    elif url.startswith("memory://"):
        store = MemoryStore()
    elif url.startswith(("postgresql://", "postgres://")):
        store = _open_postgres(url)
    else:
        raise errors.ConfigurationError(
            f"unsupported database URL {url!r}: use sqlite:///path/to/file.db"
            " or postgresql://user@host:port/dbname"
        )
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store


def _open_postgres(url: str) -> Store:
    # psycopg is an optional extra: only a PostgreSQL URL needs it.
    try:
        from tarry.storage import postgres  # noqa: PLC0415 - imported only when asked for
    except ImportError as exc:
        if not (exc.name or "").startswith("psycopg"):
            raise
        raise errors.ConfigurationError(
            "a postgresql:// database URL needs psycopg: pip install 'tarry[postgres]'"
        ) from exc
    return postgres.PostgresStore(url)
