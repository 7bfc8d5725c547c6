"""The SQLite file's set-up: write-ahead logging, and the numbered migrations applied in order."""

from __future__ import annotations

import sqlite3
import time

from tarry import errors
from tarry.storage import sqlfiles

__all__ = ["apply_migrations", "enable_wal"]


def enable_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Switch the file to WAL, retrying while another process holds its lock."""
    # Switching a new file to WAL needs an exclusive lock, and SQLite does not
    # wait for it: retry while another process is writing to the file.
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise errors.StoreError(f"cannot open the SQLite database: {exc}") from exc
            time.sleep(0.01)


def apply_migrations(conn: sqlite3.Connection) -> None:
    """Apply the migrations the file lacks, in one transaction.

    Raises:
        errors.MigrationError: The file was written by a newer tarry.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tarry_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM tarry_migrations")}
        migrations = sqlfiles.load_migrations("sqlite")
        if done - {m.version for m in migrations}:
            raise errors.MigrationError(
                "this database was written by a newer tarry; upgrade tarry to use it"
            )
        for migration in migrations:
            if migration.version not in done:
                _apply_one(conn, migration)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _apply_one(conn: sqlite3.Connection, migration: sqlfiles.Migration) -> None:
    statement = ""
    for part in migration.sql.split(";"):
        # A trigger's body holds `;`s: a statement ends at a `;` that completes it.
        statement += part + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                conn.execute(statement)
            statement = ""
    conn.execute(
        "INSERT INTO tarry_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.name, time.time()),
    )
