"""Contract: claims by queue priority, within pool, queue and deployment limits."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tarry.states import RunState
from tarry.storage import records
from tests.contract.support import LEASE, ME, NOW, OTHER, T0, run_record

if TYPE_CHECKING:
    from tarry.storage import RunRecord, Store


def setup_pool(store: Store, limit: int | None = None, **queue_limits: int | None) -> None:
    """Pool `etl` with queues named by `queue_limits` (priority in the order given)."""
    store.put_work_pool(records.WorkPoolRecord("etl", T0, T0, concurrency_limit=limit))
    for priority, (name, queue_limit) in enumerate(queue_limits.items(), start=1):
        store.put_work_queue(
            records.WorkQueueRecord(
                "etl", name, T0, T0, priority=priority, concurrency_limit=queue_limit
            )
        )


def pending(
    store: Store, queue: str, at: float = T0, deployment: str | None = None, pool: str = "etl"
) -> RunRecord:
    run = dataclasses.replace(
        run_record(created_at=at), work_pool=pool, work_queue=queue, deployment=deployment
    )
    store.insert_run(run)
    return run


def holding(store: Store, queue: str, deployment: str | None = None) -> RunRecord:
    """A run that holds a slot of `queue`: Running under OTHER's live lease."""
    run = dataclasses.replace(
        run_record(state=RunState.RUNNING, lease_owner=OTHER, lease_expires_at=NOW + 60),
        work_pool="etl",
        work_queue=queue,
        deployment=deployment,
        started_at=T0,
    )
    store.insert_run(run)
    return run


def claim(store: Store, limit: int = 10, queues: tuple[str, ...] = ()) -> list[str]:
    claimed = store.claim_runs(ME, LEASE, NOW, (), limit=limit, pool="etl", queues=queues)
    return [run.id for run in claimed]


def limited_deployment(store: Store, limit: int, strategy: str = "ENQUEUE") -> None:
    store.put_deployment(
        records.DeploymentRecord(
            "demo/d",
            "demo",
            "pkg.mod:demo",
            T0,
            T0,
            work_pool="etl",
            concurrency_limit=limit,
            collision_strategy=strategy,
        )
    )


def test_higher_priority_queues_go_first_then_the_oldest(store: Store) -> None:
    setup_pool(store, high=None, low=None)
    low_old = pending(store, "low", T0)
    high_new = pending(store, "high", T0 + 2)
    high_old = pending(store, "high", T0 + 1)

    assert claim(store, limit=2) == [high_old.id, high_new.id]
    assert claim(store) == [low_old.id]


def test_a_claim_takes_only_runs_of_its_pool(store: Store) -> None:
    setup_pool(store)
    elsewhere = pending(store, "default", pool="default")
    mine = pending(store, "default")

    assert claim(store) == [mine.id]
    assert store.get_run(elsewhere.id).state is RunState.PENDING  # type: ignore[union-attr]


def test_a_claim_takes_only_runs_of_the_queues_it_serves(store: Store) -> None:
    setup_pool(store, high=None, low=None)
    pending(store, "high")
    low = pending(store, "low")

    assert claim(store, queues=("low",)) == [low.id]


def test_a_queue_limit_counts_the_slots_held(store: Store) -> None:
    setup_pool(store, high=2, low=None)
    holding(store, "high")
    first = pending(store, "high", T0 + 1)
    pending(store, "high", T0 + 2)
    low = pending(store, "low", T0 + 3)

    assert claim(store) == [first.id, low.id]
    assert claim(store) == []


def test_a_pool_limit_covers_all_its_queues(store: Store) -> None:
    setup_pool(store, 2, high=None, low=None)
    holding(store, "low")
    high = pending(store, "high", T0 + 2)
    pending(store, "low", T0 + 1)

    assert claim(store) == [high.id]
    assert claim(store) == []


def test_a_suspended_run_holds_no_slot_a_resident_wait_does(store: Store) -> None:
    setup_pool(store, high=1)
    resident = holding(store, "high")
    queued = pending(store, "high", T0 + 1)
    assert claim(store) == []

    suspend = records.StateChange(
        RunState.WAITING, NOW, "suspended", lease_owner=None, lease_expires_at=None
    )
    store.transition(resident.id, (RunState.RUNNING,), suspend)

    assert claim(store) == [queued.id]


def test_a_paused_queue_or_pool_starts_nothing(store: Store) -> None:
    setup_pool(store, high=None, low=None)
    high = store.get_work_queue("etl", "high")
    assert high is not None
    store.put_work_queue(dataclasses.replace(high, paused=True))
    pending(store, "high")
    low = pending(store, "low")
    assert claim(store) == [low.id]

    pool = store.get_work_pool("etl")
    assert pool is not None
    store.put_work_pool(dataclasses.replace(pool, paused=True))
    pending(store, "low")
    assert claim(store) == []


def test_a_run_of_a_missing_queue_waits(store: Store) -> None:
    setup_pool(store)
    pending(store, "gone")

    assert claim(store) == []


def test_a_deployment_at_its_limit_waits_and_others_go_past_it(store: Store) -> None:
    setup_pool(store)
    limited_deployment(store, 1)
    holding(store, "default", "demo/d")
    waiting = [pending(store, "default", T0 + i, "demo/d") for i in range(3)]
    other = pending(store, "default", T0 + 5)

    assert claim(store, limit=1) == [other.id]
    assert all(store.get_run(r.id).state is RunState.PENDING for r in waiting)  # type: ignore[union-attr]


def test_a_deployment_limit_lets_in_as_many_as_it_has_room(store: Store) -> None:
    setup_pool(store)
    limited_deployment(store, 2)
    runs = [pending(store, "default", T0 + i, "demo/d") for i in range(4)]
    other = pending(store, "default", T0 + 9)

    assert claim(store) == [runs[0].id, runs[1].id, other.id]


def test_cancel_new_cancels_a_run_beyond_the_deployment_limit(store: Store) -> None:
    setup_pool(store)
    limited_deployment(store, 1, "CANCEL_NEW")
    holding(store, "default", "demo/d")
    beyond = pending(store, "default", T0 + 1, "demo/d")
    other = pending(store, "default", T0 + 2)

    assert claim(store) == [other.id]
    cancelled = store.get_run(beyond.id)
    assert cancelled is not None
    assert cancelled.state is RunState.CANCELLED
    assert "CANCEL_NEW" in cancelled.state_reason
    assert cancelled.ended_at == NOW


def test_recovery_takes_runs_of_its_pool_whatever_the_limits(store: Store) -> None:
    setup_pool(store, high=1)
    stopped = dataclasses.replace(
        run_record(state=RunState.RUNNING, lease_owner=OTHER, lease_expires_at=NOW - 1),
        work_pool="etl",
        work_queue="high",
        started_at=T0,
    )
    store.insert_run(stopped)
    elsewhere = dataclasses.replace(stopped, id="other-pool", work_pool="default")
    store.insert_run(elsewhere)
    pending(store, "high", T0 + 1)

    assert claim(store) == [stopped.id]
    assert store.get_run("other-pool").lease_owner == OTHER  # type: ignore[union-attr]
