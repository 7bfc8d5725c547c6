"""Contract: migration 0015 makes the automation tables once; what they hold outlives the store."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import psycopg

from tarry.storage import automations, open_store, postgres_ops, sqlfiles
from tests.contract.automations.support import actions_of, automation, evaluation, firing
from tests.contract.automations.test_evaluation import race

if TYPE_CHECKING:
    from pathlib import Path

    from tests.contract.support import Adapter

AUTOMATIONS = 15
"""The number of the migration that adds the automation tables."""


def test_the_automation_migration_is_numbered_15_in_both_dialects() -> None:
    for dialect in ("sqlite", "postgres"):
        by_version = {m.version: m.name for m in sqlfiles.load_migrations(dialect)}
        assert by_version[AUTOMATIONS] == "automations"


def test_automations_and_evaluation_outlive_the_store(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    first = durable_adapter.open(tmp_path)
    first.put_automation(automation("a1", "kept"), create=True)
    state = automations.TriggerStateRecord("a1", "root", '{"seen": 2}', 5.0)
    commit = evaluation(
        0, 8, put_states=[state], firings=[(firing("f1", "a1"), actions_of("f1", 1))]
    )
    first.commit_evaluation(commit)
    first.close()

    second = durable_adapter.open(tmp_path)  # migrates again: a no-op
    try:
        second.migrate()
        assert second.get_automation("kept") == automation("a1", "kept")
        found = second.evaluator_state()
        assert (found.cursor, found.commits, found.states) == (8, 1, [state])
        assert [(f.id, a.index) for f, a in second.due_actions(1e12, 10)] == [("f1", 0)]
    finally:
        second.close()


def test_two_stores_on_one_database_racing_from_one_cursor_commit_once(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    stores = [durable_adapter.open(tmp_path) for _ in range(3)]
    try:
        stores[0].put_automation(automation("a1", "one"), create=True)
        assert [race(list(stores), before) for before in range(5)] == [1] * 5
        assert stores[1].evaluator_state().cursor == 5
        assert len(stores[2].firings_of("a1", limit=100)) == 5
    finally:
        for store in stores:
            store.close()


def test_a_version_14_sqlite_database_is_upgraded_with_cursor_zero(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "CREATE TABLE tarry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL)"
        )
        for migration in sqlfiles.load_migrations("sqlite")[: AUTOMATIONS - 1]:
            conn.executescript(migration.sql)
            conn.execute(
                "INSERT INTO tarry_migrations VALUES (?, ?, 0)", (migration.version, migration.name)
            )
    conn.close()

    for _ in range(2):  # opening migrates; the second time, nothing is left to do
        store = open_store(f"sqlite:///{db}")
        try:
            assert store.evaluator_state() == automations.EvaluatorState(0, [], [], 0)
            assert store.list_automations() == []
        finally:
            store.close()
    conn = sqlite3.connect(db)
    try:
        versions = [v for (v,) in conn.execute("SELECT version FROM tarry_migrations")]
        cursors = conn.execute("SELECT count(*) FROM automation_cursor").fetchone()
    finally:
        conn.close()
    assert versions.count(AUTOMATIONS) == 1
    assert cursors == (1,)


def test_a_version_14_postgres_schema_is_upgraded_with_cursor_zero(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(postgres_ops.QUERIES["create_migrations_table"])
        for migration in sqlfiles.load_migrations("postgres")[: AUTOMATIONS - 1]:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO tarry_migrations (version, name, applied_at) VALUES (%s, %s, 0)",
                (migration.version, migration.name),
            )

    for _ in range(2):
        store = open_store(postgres_url)
        try:
            assert store.evaluator_state() == automations.EvaluatorState(0, [], [], 0)
        finally:
            store.close()
    with psycopg.connect(postgres_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM tarry_migrations")]
        cursors = conn.execute("SELECT count(*) FROM automation_cursor").fetchone()
    assert versions.count(AUTOMATIONS) == 1
    assert cursors == (1,)


def test_a_settlement_that_does_not_wait_for_the_disk_outlives_the_store(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    first = durable_adapter.open(tmp_path)
    first.put_automation(automation("a1", "quick"), create=True)
    first.commit_evaluation(evaluation(0, 1, firings=[(firing("f1", "a1"), actions_of("f1", 2))]))
    done = automations.ActionStatus.DONE
    assert first.settle_action("f1", 0, done, "sent", at=7.0, durable=False)
    first.close()

    second = durable_adapter.open(tmp_path)
    try:
        ((_, actions),) = second.firings_of("a1")
        assert [(a.status, a.settled_at) for a in actions] == [
            (done, 7.0),
            (automations.ActionStatus.PENDING, None),
        ]
    finally:
        second.close()
