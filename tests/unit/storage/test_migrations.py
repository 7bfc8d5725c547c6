"""SQLite schema: migrations, the canonical schema they build, and the named queries."""

from __future__ import annotations

import ast
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pytest

from tarry import errors
from tarry.storage import (
    cache_rows,
    event_sql,
    named_reads,
    open_store,
    sqlfiles,
    sqlite_automations,
    sqlite_cache,
    sqlite_events,
    sqlite_schedules,
    sqlite_webhooks,
    webhook_sql,
)
from tarry.storage import sqlite as sqlite_adapter
from tarry.storage.sqlite import SqliteStore
from tests.contract.support import run_record

CANONICAL_SCHEMA = Path(__file__).with_name("sqlite_schema.sql")
"""`sqlite3 tarry.db .schema` of a freshly migrated database."""


def normalize(sql: str) -> str:
    return " ".join(sql.split())


def schema_of(db: Path) -> list[str]:
    """The database's CREATE statements, as `.schema` prints them, whitespace normalized."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute(
            "SELECT sql FROM sqlite_master"
            " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    return [normalize(f"{sql};") for (sql,) in found]


def canonical_schema() -> list[str]:
    statements, statement = [], ""
    for line in re.split(r"(?<=;)\s*\n", CANONICAL_SCHEMA.read_text().strip()):
        # A trigger's body holds `;` at ends of lines: a statement ends where it is complete.
        statement += line + "\n"
        if sqlite3.complete_statement(statement):
            statements.append(normalize(statement))
            statement = ""
    return statements


def migrated(db: Path) -> Path:
    store = SqliteStore(db)
    try:
        store.migrate()
    finally:
        store.close()
    return db


def applied_versions(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [v for (v,) in conn.execute("SELECT version FROM tarry_migrations ORDER BY 1")]
    finally:
        conn.close()


def test_migrating_an_empty_database_builds_the_canonical_schema(tmp_path: Path) -> None:
    db = migrated(tmp_path / "t.db")

    assert schema_of(db) == canonical_schema()


def test_migrate_twice_changes_nothing_and_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = open_store(f"sqlite:///{db}")
    try:
        run = run_record()
        store.insert_run(run)

        store.migrate()
        store.migrate()

        assert store.get_run(run.id) == run
    finally:
        store.close()
    assert schema_of(db) == canonical_schema()
    assert applied_versions(db) == [m.version for m in sqlfiles.load_migrations("sqlite")]


def test_schema_version_counts_applied_migrations(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "t.db")
    try:
        assert store.schema_version() == 0
        store.migrate()
        assert store.schema_version() == len(sqlfiles.load_migrations("sqlite"))
    finally:
        store.close()


def test_concurrent_migrations_of_one_file_apply_each_migration_once(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    stores = [SqliteStore(db) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def migrate(store: SqliteStore) -> None:
        start.wait()
        store.migrate()

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            for future in [pool.submit(migrate, store) for store in stores]:
                future.result()
    finally:
        for store in stores:
            store.close()

    assert applied_versions(db) == [m.version for m in sqlfiles.load_migrations("sqlite")]
    assert schema_of(db) == canonical_schema()


def test_database_from_a_newer_tarry_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = migrated(tmp_path / "t.db")
    newer = len(sqlfiles.load_migrations("sqlite")) + 1
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO tarry_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
            (newer,),
        )
    conn.close()
    before = schema_of(db)

    store = SqliteStore(db)
    try:
        with pytest.raises(errors.MigrationError):
            store.migrate()
    finally:
        store.close()

    assert schema_of(db) == before
    assert applied_versions(db)[-1] == newer


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    migrations = sqlfiles.load_migrations("sqlite")

    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.name and m.sql.strip() for m in migrations)


def test_every_file_in_the_migrations_folder_is_a_numbered_migration() -> None:
    folder = resources.files("tarry.storage").joinpath("migrations/sqlite")
    names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
    loaded = sqlfiles.load_migrations("sqlite")

    assert names == [f"{m.version:04d}_{m.name}.sql" for m in loaded]


def _query_names_used_by_the_sqlite_adapter() -> set[str]:
    sources = (
        Path(str(m.__file__)).read_text()
        for m in (
            sqlite_adapter,
            named_reads,
            sqlite_schedules,
            sqlite_cache,
            cache_rows,
            sqlite_events,
            event_sql,
            sqlite_automations,
            sqlite_webhooks,
            webhook_sql,
        )
    )
    names: set[str] = set()
    for node in (n for source in sources for n in ast.walk(ast.parse(source))):
        # _QUERIES["name"] and self._read("name", ...)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "_QUERIES"
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(str(node.slice.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_read"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def test_every_query_the_adapter_uses_is_in_queries_sql() -> None:
    used = _query_names_used_by_the_sqlite_adapter()
    assert {"get_run", "put_step", "list_runs"} <= used  # the scan finds both call styles

    assert used - set(sqlfiles.load_queries("sqlite")) == set()


@pytest.mark.parametrize("name", sorted(sqlfiles.load_queries("sqlite")))
def test_every_named_query_compiles_against_the_schema(tmp_path: Path, name: str) -> None:
    query = sqlfiles.load_queries("sqlite")[name]
    params = dict.fromkeys(re.findall(r":(\w+)", query))
    conn = sqlite3.connect(migrated(tmp_path / "t.db"))
    try:
        conn.execute(f"EXPLAIN {query}", params).fetchall()
    finally:
        conn.close()


def test_upgrading_a_version_8_database_keeps_its_deployments_and_adds_schedules(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "CREATE TABLE tarry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL)"
        )
        for migration in sqlfiles.load_migrations("sqlite")[:8]:
            conn.executescript(migration.sql)
            conn.execute(
                "INSERT INTO tarry_migrations VALUES (?, ?, 0)", (migration.version, migration.name)
            )
        conn.execute(
            "INSERT INTO deployments (name, flow_name, entrypoint, created_at, updated_at)"
            " VALUES ('etl/nightly', 'etl', 'etl.py:etl', 1, 1)"
        )
    conn.close()

    store = open_store(f"sqlite:///{db}")
    try:
        deployment = store.get_deployment("etl/nightly")
        assert deployment is not None
        assert deployment.entrypoint == "etl.py:etl"
        assert store.list_schedules("etl/nightly") == []
    finally:
        store.close()
    assert applied_versions(db)[-1] == sqlfiles.load_migrations("sqlite")[-1].version
    assert schema_of(db) == canonical_schema()
