"""Contract: work pools and queues as stored, and the counts of their runs."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import RunState
from tarry.storage import records
from tests.contract.support import T0, run_record

if TYPE_CHECKING:
    from tarry.storage import Store


def pool(name: str = "etl", **fields: object) -> records.WorkPoolRecord:
    return records.WorkPoolRecord(name, T0, T0, **fields)  # type: ignore[arg-type]


def queue(name: str, pool_name: str = "etl", **fields: object) -> records.WorkQueueRecord:
    return records.WorkQueueRecord(pool_name, name, T0, T0, **fields)  # type: ignore[arg-type]


def test_a_new_store_has_the_default_pool_with_its_default_queue(store: Store) -> None:
    assert [p.name for p in store.list_work_pools()] == ["default"]
    [only] = store.list_work_queues("default")
    assert (only.pool, only.name, only.priority, only.concurrency_limit) == (
        "default",
        "default",
        1,
        None,
    )


def test_a_pool_reads_back_and_gets_a_default_queue(store: Store) -> None:
    made = pool(description="nightly loads", concurrency_limit=3, paused=True)

    assert store.put_work_pool(made) == made
    assert store.get_work_pool("etl") == made
    assert [(q.pool, q.name) for q in store.list_work_queues("etl")] == [("etl", "default")]


def test_putting_a_pool_again_changes_it_and_keeps_created_at_and_queues(store: Store) -> None:
    store.put_work_pool(pool())
    store.put_work_queue(queue("high", priority=1))

    changed = store.put_work_pool(dataclasses.replace(pool(), created_at=T0 + 9, paused=True))

    assert (changed.created_at, changed.paused) == (T0, True)
    assert [q.name for q in store.list_work_queues("etl")] == ["default", "high"]


def test_queues_list_by_pool_priority_and_name(store: Store) -> None:
    store.put_work_pool(pool())
    store.put_work_queue(queue("low", priority=3))
    store.put_work_queue(queue("b", priority=2))
    store.put_work_queue(queue("a", priority=2))

    assert [(q.name, q.priority) for q in store.list_work_queues("etl")] == [
        ("default", 1),
        ("a", 2),
        ("b", 2),
        ("low", 3),
    ]
    assert [q.pool for q in store.list_work_queues()] == ["default"] + ["etl"] * 4


def test_a_queue_reads_back_and_changes_in_place(store: Store) -> None:
    store.put_work_pool(pool())
    made = queue("high", priority=1, concurrency_limit=2, description="urgent")
    assert store.put_work_queue(made) == made

    later = dataclasses.replace(made, created_at=T0 + 5, updated_at=T0 + 5, paused=True)
    assert store.put_work_queue(later) == dataclasses.replace(later, created_at=T0)
    assert store.get_work_queue("etl", "high") == dataclasses.replace(later, created_at=T0)


def test_a_queue_needs_its_pool(store: Store) -> None:
    with pytest.raises(errors.WorkPoolNotFound):
        store.put_work_queue(queue("high", "nowhere"))


def test_deleting_a_pool_deletes_its_queues(store: Store) -> None:
    store.put_work_pool(pool())
    store.put_work_queue(queue("high"))

    assert store.delete_work_pool("etl") is True
    assert store.delete_work_pool("etl") is False
    assert store.get_work_pool("etl") is None
    assert store.list_work_queues("etl") == []


def test_deleting_a_queue(store: Store) -> None:
    store.put_work_pool(pool())
    store.put_work_queue(queue("high"))

    assert store.delete_work_queue("etl", "high") is True
    assert store.delete_work_queue("etl", "high") is False
    assert store.get_work_queue("etl", "high") is None


def test_queue_counts_tell_pending_from_slot_holding_runs(store: Store) -> None:
    store.put_work_pool(pool())
    store.put_work_queue(queue("high"))
    for run in (
        run_record(),
        run_record(state=RunState.RUNNING, lease_owner="h:1:1", lease_expires_at=T0 + 30),
        # Suspended: Waiting without a lease holds no slot.
        run_record(state=RunState.WAITING),
        run_record(state=RunState.WAITING, lease_owner="h:1:1", lease_expires_at=T0 + 30),
        run_record(state=RunState.COMPLETED),
    ):
        store.insert_run(dataclasses.replace(run, work_pool="etl", work_queue="high"))
    store.insert_run(dataclasses.replace(run_record(), work_pool="etl"))

    assert store.queue_counts("etl") == {
        "default": records.QueueCounts(pending=1, busy=0),
        "high": records.QueueCounts(pending=1, busy=2),
    }
    assert store.queue_counts("default") == {}


def test_a_run_keeps_its_deployment_pool_and_queue(store: Store) -> None:
    run = dataclasses.replace(
        run_record(), deployment="demo/nightly", work_pool="etl", work_queue="high"
    )
    store.insert_run(run)

    assert store.get_run(run.id) == run


def test_a_deployment_keeps_its_pool_queue_and_limit(store: Store) -> None:
    made = records.DeploymentRecord(
        "demo/nightly",
        "demo",
        "pkg.mod:demo",
        T0,
        T0,
        work_pool="etl",
        work_queue="high",
        concurrency_limit=2,
        collision_strategy="CANCEL_NEW",
    )
    store.put_deployment(made)

    assert store.get_deployment("demo/nightly") == made


def test_runs_list_by_deployment(store: Store) -> None:
    mine = dataclasses.replace(run_record(), deployment="demo/nightly")
    store.insert_run(mine)
    store.insert_run(dataclasses.replace(run_record(), deployment="demo/other"))
    store.insert_run(run_record())

    found = store.list_runs(records.RunFilter(deployment="demo/nightly"))

    assert [r.id for r in found] == [mine.id]
