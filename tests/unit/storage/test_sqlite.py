"""SQLite adapter specifics: group commit, pragmas, sharing a file, closing."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import RunState
from tarry.storage import StateChange, open_store
from tarry.storage.sqlite import SqliteStore
from tests.contract.support import T0, log_record, run_record, step_record

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tarry.storage import RunRecord


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "tarry.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db)
    opened.migrate()
    yield opened
    opened.close()


def rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """What another connection (another process) reads from the file right now."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def trace_statements(store: SqliteStore, hook: Callable[[str], None] | None = None) -> list[str]:
    """Record every statement the store's write connection runs (calling `hook` first)."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if hook is not None:
            hook(sql)
        seen.append(sql)

    store._writer.set_trace_callback(trace)
    return seen


def insert(store: SqliteStore, state: RunState = RunState.PENDING) -> RunRecord:
    run = run_record(state=state)
    assert store.insert_run(run)
    return run


# -- group commit ---------------------------------------------------------------------------


def test_concurrent_writers_all_land_in_fewer_commits_than_writes(store: SqliteStore) -> None:
    threads, writes_each = 8, 50
    runs = [insert(store) for _ in range(threads)]
    statements = trace_statements(store)
    start = threading.Barrier(threads)

    def write_journal(run: RunRecord) -> None:
        start.wait()
        for n in range(writes_each):
            store.put_step(step_record(run.id, str(n)))

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(write_journal, run) for run in runs]:
            future.result()

    for run in runs:
        assert [s.key for s in store.get_steps(run.id)] == [str(n) for n in range(writes_each)]
    commits = statements.count("COMMIT")
    assert 0 < commits < threads * writes_each


def test_writes_queued_without_waiting_share_a_few_commits(store: SqliteStore) -> None:
    runs = [run_record() for _ in range(500)]
    statements = trace_statements(store)
    outcomes: list[tuple[object, BaseException | None]] = []
    all_told = threading.Event()

    def told(result: object, error: BaseException | None) -> None:
        outcomes.append((result, error))
        if len(outcomes) == len(runs):
            all_told.set()

    for run in runs:
        store.write_soon(told, store.insert_run, run)
    store.write_soon(told, store.insert_run, runs[0])  # already there: refused, not failed
    assert all_told.wait(10)
    assert store.get_run(runs[-1].id) is not None
    assert outcomes.count((True, None)) == len(runs)
    assert 0 < statements.count("COMMIT") < 50


def test_a_queued_write_that_fails_tells_its_error_and_spares_the_others(
    store: SqliteStore,
) -> None:
    done = insert(store, RunState.COMPLETED)
    told: list[tuple[object, BaseException | None]] = []
    both = threading.Event()

    def tell(result: object, error: BaseException | None) -> None:
        told.append((result, error))
        if len(told) == 2:
            both.set()

    change = StateChange(RunState.RUNNING, at=T0 + 1)
    store.write_soon(tell, store.transition, done.id, {RunState.COMPLETED}, change)
    late = run_record()
    store.write_soon(tell, store.insert_run, late)
    assert both.wait(10)
    errors_told = [type(error) for _, error in told if error is not None]
    assert errors_told == [errors.InvalidTransition]
    assert store.get_run(late.id) is not None


def test_a_failing_operation_does_not_undo_the_others_in_its_batch(
    store: SqliteStore, db: Path
) -> None:
    done = insert(store, RunState.COMPLETED)
    run = insert(store)
    late_run = run_record()
    leader_in = threading.Event()
    release = threading.Event()

    def hold_first_batch(sql: str) -> None:
        if sql == "BEGIN IMMEDIATE" and not leader_in.is_set():
            leader_in.set()
            release.wait(5)

    statements = trace_statements(store, hold_first_batch)
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(store.put_step, step_record(run.id, "1"))
        assert leader_in.wait(5)
        # The leader is now committing; these queue up and share the next batch.
        stored_2 = pool.submit(store.put_step, step_record(run.id, "2"))
        failed = pool.submit(
            store.transition,
            done.id,
            {RunState.COMPLETED},
            StateChange(RunState.RUNNING, at=T0 + 1),
        )
        inserted = pool.submit(store.insert_run, late_run)
        stored_3 = pool.submit(store.put_step, step_record(run.id, "3"))
        deadline = time.monotonic() + 5
        while len(store._commits._queue) < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        release.set()
        first.result()
        stored_2.result()
        with pytest.raises(errors.InvalidTransition):
            failed.result()
        assert inserted.result() is True
        stored_3.result()

    assert statements.count("COMMIT") == 2, "the four operations should share one batch"
    assert rows(db, "SELECT key FROM steps WHERE run_id = ? ORDER BY key", run.id) == [
        ("1",),
        ("2",),
        ("3",),
    ]
    assert rows(db, "SELECT state FROM runs WHERE id = ?", late_run.id) == [("Pending",)]
    assert rows(db, "SELECT state FROM runs WHERE id = ?", done.id) == [("Completed",)]


def test_a_rejected_log_line_does_not_fail_unrelated_writes(store: SqliteStore) -> None:
    run = insert(store)
    store.add_logs([log_record("no-such-run", "orphan line")])
    store.add_logs([log_record(run.id, "kept line")])

    store.put_step(step_record(run.id, "1"))

    assert [s.key for s in store.get_steps(run.id)] == ["1"]
    assert [log.message for log in store.get_logs(run.id)] == ["kept line"]


def test_a_write_is_committed_when_it_returns(store: SqliteStore, db: Path) -> None:
    run = insert(store)

    store.put_step(step_record(run.id, "1"))

    assert rows(db, "SELECT key FROM steps WHERE run_id = ?", run.id) == [("1",)]


def test_logs_are_committed_with_the_next_write(store: SqliteStore, db: Path) -> None:
    run = insert(store)
    store.add_logs([log_record(run.id, "one"), log_record(run.id, "two")])
    store.put_step(step_record(run.id, "1"))

    assert rows(db, "SELECT message FROM logs WHERE run_id = ? ORDER BY id", run.id) == [
        ("one",),
        ("two",),
    ]


# -- pragmas --------------------------------------------------------------------------------


def test_file_is_in_wal_mode_with_full_sync_by_default(db: Path) -> None:
    opened = open_store(f"sqlite:///{db}")
    try:
        assert isinstance(opened, SqliteStore)
        assert rows(db, "PRAGMA journal_mode") == [("wal",)]
        assert opened._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        opened.close()


def test_normal_sync_when_asked(db: Path) -> None:
    opened = open_store(f"sqlite:///{db}", sqlite_synchronous="NORMAL")
    try:
        assert isinstance(opened, SqliteStore)
        assert opened._writer.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        run = insert(opened)
        assert opened.get_run(run.id) == run
    finally:
        opened.close()


def test_creates_the_databases_folder(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "deeper" / "tarry.db"

    opened = open_store(f"sqlite:///{db}")
    opened.close()

    assert db.is_file()


# -- several stores on one file -------------------------------------------------------------


def test_a_second_store_on_the_same_file_sees_committed_data(store: SqliteStore, db: Path) -> None:
    other = SqliteStore(db)
    try:
        run = insert(store)
        assert other.get_run(run.id) == run

        other.put_step(step_record(run.id, "1"))
        assert [s.key for s in store.get_steps(run.id)] == ["1"]

        claimed = other.claim_runs("other:1:1", T0 + 30, T0, (), limit=5)
        assert [c.id for c in claimed] == [run.id]
        assert store.claim_runs("me:1:1", T0 + 30, T0, (), limit=5) == []
        assert store.lease_owners() == ["other:1:1"]

        store.add_logs([log_record(run.id, "from the first store")])
        store.put_step(step_record(run.id, "2"))
        assert [log.message for log in other.get_logs(run.id)] == ["from the first store"]
    finally:
        other.close()


def test_opening_a_new_database_waits_while_another_process_writes_to_it(db: Path) -> None:
    # Several workers started at once on a brand-new database: one of them is
    # still creating it while the others open it.
    other_process = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other_process.execute("BEGIN IMMEDIATE")
    other_process.execute("CREATE TABLE unrelated (x)")
    finish = threading.Timer(0.2, other_process.execute, ["COMMIT"])
    finish.start()
    try:
        opened = SqliteStore(db)
        opened.migrate()
        opened.close()
    finally:
        finish.join()
        other_process.close()

    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_each_pending_run_is_claimed_by_exactly_one_of_two_stores(
    store: SqliteStore, db: Path
) -> None:
    runs = {insert(store).id for _ in range(40)}
    other = SqliteStore(db)
    try:

        def claim_all(claimer: SqliteStore, owner: str) -> list[str]:
            got: list[str] = []
            while batch := claimer.claim_runs(owner, T0 + 30, T0, (), limit=3):
                got.extend(r.id for r in batch)
            return got

        with ThreadPoolExecutor(2) as pool:
            mine = pool.submit(claim_all, store, "me:1:1")
            theirs = pool.submit(claim_all, other, "other:1:1")
            claimed = mine.result() + theirs.result()
    finally:
        other.close()

    assert sorted(claimed) == sorted(runs)


# -- closing --------------------------------------------------------------------------------


def test_closed_store_raises_store_error(store: SqliteStore) -> None:
    run = insert(store)
    store.close()

    with pytest.raises(errors.StoreError):
        store.get_run(run.id)
    with pytest.raises(errors.StoreError):
        store.put_step(step_record(run.id, "1"))
    with pytest.raises(errors.StoreError):
        store.insert_run(run_record())
    store.close()


def test_close_commits_pending_logs(store: SqliteStore, db: Path) -> None:
    run = insert(store)
    store.add_logs([log_record(run.id, "last words")])

    store.close()

    assert rows(db, "SELECT message FROM logs WHERE run_id = ?", run.id) == [("last words",)]
