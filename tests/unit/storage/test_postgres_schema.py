"""PostgreSQL schema: migrations, the canonical schema they build, and the named queries."""

from __future__ import annotations

import ast
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from tarry import errors
from tarry.storage import (
    automation_sql,
    cache_rows,
    event_sql,
    limit_sql,
    named_reads,
    open_store,
    pool_sql,
    postgres,
    postgres_automations,
    postgres_cache,
    postgres_events,
    postgres_limits,
    postgres_listen,
    postgres_ops,
    postgres_pools,
    postgres_schedules,
    postgres_webhooks,
    sqlfiles,
    webhook_sql,
)
from tarry.storage.postgres import PostgresStore
from tests.conftest import postgres_session_url
from tests.contract.support import run_record

CANONICAL_SCHEMA = Path(__file__).with_name("postgres_schema.txt")
"""`schema_of` a freshly migrated schema: its tables, columns, constraints and indexes."""

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity,
       CASE WHEN a.attcollation <> t.typcollation THEN c.collname END AS collation
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def _column(name: str, type_: str, not_null: bool, default: str | None, *rest: str) -> str:
    identity, collation = rest
    parts = [f"  {name} {type_}"]
    if collation:
        parts.append(f'COLLATE "{collation}"')
    if not_null:
        parts.append("NOT NULL")
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if identity:
        parts.append("GENERATED ALWAYS AS IDENTITY" if identity == "a" else "IDENTITY")
    return " ".join(parts)


def _table(conn: psycopg.Connection[tuple[object, ...]], table: str, schema: str) -> list[str]:
    lines = [f"TABLE {table}"]
    lines += [_column(*row) for row in conn.execute(_COLUMNS, (table,))]  # type: ignore[arg-type]
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass ORDER BY conname",
        (table,),
    )
    lines += [f"  CONSTRAINT {name} {definition}" for name, definition in constraints]
    indexes = conn.execute(
        "SELECT indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() AND tablename = %s ORDER BY indexname",
        (table,),
    )
    lines += [f"  {str(index).replace(f'{schema}.', '')}" for (index,) in indexes]
    return lines


def schema_of(url: str) -> list[str]:
    """The tables of the URL's schema with their columns, constraints and indexes, one per line."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        assert row is not None
        schema = str(row[0])
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
        ).fetchall()
        return [line for (table,) in tables for line in _table(conn, str(table), schema)]


def canonical_schema() -> list[str]:
    return CANONICAL_SCHEMA.read_text().strip().splitlines()


def migrated(url: str) -> str:
    open_store(url).close()
    return url


def applied_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM tarry_migrations ORDER BY 1").fetchall()
    return [int(str(version)) for (version,) in rows]


def test_migrating_an_empty_schema_builds_the_canonical_schema(postgres_url: str) -> None:
    assert schema_of(migrated(postgres_url)) == canonical_schema()


def test_migrate_twice_changes_nothing_and_keeps_data(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        run = run_record()
        store.insert_run(run)

        store.migrate()
        store.migrate()

        assert store.get_run(run.id) == run
    finally:
        store.close()
    assert schema_of(postgres_url) == canonical_schema()
    assert applied_versions(postgres_url) == [
        m.version for m in sqlfiles.load_migrations("postgres")
    ]


def test_schema_version_counts_applied_migrations(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        assert store.schema_version() == 0
        store.migrate()
        assert store.schema_version() == len(sqlfiles.load_migrations("postgres"))
    finally:
        store.close()


def test_concurrent_migrations_of_one_schema_apply_each_migration_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def migrate(store: PostgresStore) -> None:
        start.wait()
        store.migrate()

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            for future in [pool.submit(migrate, store) for store in stores]:
                future.result()
    finally:
        for store in stores:
            store.close()

    assert applied_versions(postgres_url) == [
        m.version for m in sqlfiles.load_migrations("postgres")
    ]
    assert schema_of(postgres_url) == canonical_schema()


def test_database_from_a_newer_tarry_is_refused_and_left_alone(postgres_url: str) -> None:
    migrated(postgres_url)
    newer = len(sqlfiles.load_migrations("postgres")) + 1
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tarry_migrations (version, name, applied_at) VALUES (%s, 'future', 0)",
            (newer,),
        )
    before = schema_of(postgres_url)

    store = PostgresStore(postgres_url)
    try:
        with pytest.raises(errors.MigrationError):
            store.migrate()
    finally:
        store.close()

    assert schema_of(postgres_url) == before
    assert applied_versions(postgres_url)[-1] == newer


def test_a_failing_migration_applies_none_of_them(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = sqlfiles.load_migrations("postgres")
    broken = sqlfiles.Migration(len(good) + 1, "broken", "CREATE TABLE runs (id TEXT);")
    monkeypatch.setattr(sqlfiles, "load_migrations", lambda dialect: [*good, broken])

    with pytest.raises(errors.StoreError):
        open_store(postgres_url)

    assert schema_of(postgres_url) == []


def test_both_dialects_number_and_name_their_migrations_alike() -> None:
    # A migration number means the same change on either database.
    def numbered(dialect: str) -> list[tuple[int, str]]:
        return [(m.version, m.name) for m in sqlfiles.load_migrations(dialect)]

    assert numbered("postgres") == numbered("sqlite")


def test_every_file_in_the_migrations_folder_is_a_numbered_migration() -> None:
    folder = resources.files("tarry.storage").joinpath("migrations/postgres")
    names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
    loaded = sqlfiles.load_migrations("postgres")

    assert names == [f"{m.version:04d}_{m.name}.sql" for m in loaded]


_QUERY_CALLS = ("_read", "_write", "_returning", "_locked", "_count", "_changed")
"""Functions whose first string argument names a query."""


def _string_constants(node: ast.AST) -> set[str]:
    return {
        str(n.value)
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _query_names_used(module_file: str) -> set[str]:
    """Query names in `QUERIES["x"]`, `_read("x", ...)` and the like, and `query = "x" if ...`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(Path(module_file).read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("QUERIES", "_QUERIES")
        ):
            names |= _string_constants(node.slice)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in _QUERY_CALLS:
                names |= {str(a.value) for a in node.args if isinstance(a, ast.Constant)}
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "query" for t in node.targets
        ):
            names |= _string_constants(node.value)
    return names


ADAPTER_MODULES = (
    postgres.__file__,
    postgres_ops.__file__,
    postgres_listen.__file__,
    named_reads.__file__,
    postgres_schedules.__file__,
    postgres_pools.__file__,
    pool_sql.__file__,
    limit_sql.__file__,
    postgres_limits.__file__,
    postgres_cache.__file__,
    cache_rows.__file__,
    postgres_events.__file__,
    event_sql.__file__,
    automation_sql.__file__,
    postgres_automations.__file__,
    postgres_webhooks.__file__,
    webhook_sql.__file__,
)


def test_every_query_the_adapter_uses_is_in_queries_sql() -> None:
    used = set().union(*map(_query_names_used, ADAPTER_MODULES))
    assert {"get_run", "put_step", "list_runs", "lock_run_chain", "put_variable"} <= used

    assert used - set(sqlfiles.load_queries("postgres")) == set()


def test_every_named_query_is_used_by_the_adapter() -> None:
    mentioned = set().union(
        *(_string_constants(ast.parse(Path(f).read_text())) for f in ADAPTER_MODULES)
    )

    assert set(sqlfiles.load_queries("postgres")) - mentioned == set()


_PLANNABLE = sorted(
    name
    for name, query in sqlfiles.load_queries("postgres").items()
    if not query.upper().startswith("CREATE")  # DDL is checked by applying the migrations
)


@pytest.mark.parametrize("name", _PLANNABLE)
def test_every_named_query_compiles_against_the_schema(name: str) -> None:
    query = sqlfiles.load_queries("postgres")[name]
    params = dict.fromkeys(re.findall(r"%\((\w+)\)s", query))
    with psycopg.connect(postgres_session_url()) as conn:
        # EXPLAIN plans the statement (names, types, locks) without running it.
        conn.execute(f"EXPLAIN {query}", params).fetchall()


def test_upgrading_a_version_8_schema_keeps_its_deployments_and_adds_schedules(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(postgres_ops.QUERIES["create_migrations_table"])
        for migration in sqlfiles.load_migrations("postgres")[:8]:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO tarry_migrations (version, name, applied_at) VALUES (%s, %s, 0)",
                (migration.version, migration.name),
            )
        conn.execute(
            "INSERT INTO deployments (name, flow_name, entrypoint, created_at, updated_at)"
            " VALUES ('etl/nightly', 'etl', 'etl.py:etl', 1, 1)"
        )

    store = open_store(postgres_url)
    try:
        deployment = store.get_deployment("etl/nightly")
        assert deployment is not None
        assert deployment.entrypoint == "etl.py:etl"
        assert store.list_schedules("etl/nightly") == []
    finally:
        store.close()
    assert applied_versions(postgres_url)[-1] == sqlfiles.load_migrations("postgres")[-1].version
    assert schema_of(postgres_url) == canonical_schema()
