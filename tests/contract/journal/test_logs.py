"""Contract: run logs, which adapters may commit lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.contract.support import T0, eventually, log_record, run_record, step_record

if TYPE_CHECKING:
    from pathlib import Path

    from tarry.storage import Store
    from tests.contract.support import Adapter


def insert_run(store: Store) -> str:
    run = run_record()
    store.insert_run(run)
    return run.id


def test_logs_are_visible_after_the_next_write(store: Store) -> None:
    run_id = insert_run(store)
    lines = [log_record(run_id, "first", step_key="1"), log_record(run_id, "second", at=T0 + 1)]

    store.add_logs(lines)
    store.put_step(step_record(run_id, "1"))

    assert store.get_logs(run_id) == lines


def test_logs_become_visible_without_another_write(store: Store) -> None:
    run_id = insert_run(store)
    line = log_record(run_id, "lonely line")

    store.add_logs([line])

    assert eventually(lambda: store.get_logs(run_id), lambda logs: logs != []) == [line]


def test_logs_keep_their_order_across_calls_and_runs(store: Store) -> None:
    first, second = insert_run(store), insert_run(store)
    store.add_logs([log_record(first, "a"), log_record(second, "x")])
    store.add_logs([log_record(first, "b")])
    store.add_logs([])
    store.add_logs([log_record(first, "c"), log_record(second, "y")])
    store.put_step(step_record(first, "1"))

    assert [log.message for log in store.get_logs(first)] == ["a", "b", "c"]
    assert [log.message for log in store.get_logs(second)] == ["x", "y"]


def test_get_logs_returns_the_first_lines_up_to_the_limit(store: Store) -> None:
    run_id = insert_run(store)
    store.add_logs([log_record(run_id, f"line {i}") for i in range(7)])
    store.put_step(step_record(run_id, "1"))

    assert [log.message for log in store.get_logs(run_id, limit=3)] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert len(store.get_logs(run_id)) == 7


def test_logs_survive_close_and_reopen(durable_adapter: Adapter, tmp_path: Path) -> None:
    first = durable_adapter.open(tmp_path)
    run_id = insert_run(first)
    lines = [log_record(run_id, f"line {i}", at=T0 + i) for i in range(3)]
    first.add_logs(lines)
    first.close()

    second = durable_adapter.open(tmp_path)
    try:
        assert second.get_logs(run_id) == lines
    finally:
        second.close()
