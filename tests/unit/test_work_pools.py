"""Work pool and queue verbs: what they make, and the wrong values they refuse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarry import config, deployments, errors, flow, host, work_pools
from tarry.storage import claiming, records


@pytest.fixture
def hst() -> Iterator[host.Host]:
    made = host.Host(config.Settings(database_url="memory://"))
    yield made
    made.store.close()


def test_a_new_pool_has_a_default_queue(hst: host.Host) -> None:
    work_pools.create_work_pool("etl", concurrency_limit=4, hst=hst)

    status = work_pools.pool_status("etl", hst=hst)
    assert status.pool.concurrency_limit == 4
    assert [q.name for q in status.queues] == ["default"]
    assert (status.busy, status.pending) == (0, 0)


def test_creating_a_pool_twice_is_refused_unless_overwritten(hst: host.Host) -> None:
    work_pools.create_work_pool("etl", hst=hst)

    with pytest.raises(errors.WorkPoolRefused, match="exists already"):
        work_pools.create_work_pool("etl", hst=hst)
    again = work_pools.create_work_pool("etl", description="loads", overwrite=True, hst=hst)
    assert again.description == "loads"


@pytest.mark.parametrize("name", ["", "a b", "x/y", "é", "n" * 101])
def test_a_bad_name_is_refused(hst: host.Host, name: str) -> None:
    with pytest.raises(errors.WorkPoolRefused, match="name"):
        work_pools.create_work_pool(name, hst=hst)


@pytest.mark.parametrize("limit", [-1, 1.5, True, "3", 2**31])
def test_a_bad_limit_is_refused(hst: host.Host, limit: object) -> None:
    with pytest.raises(errors.WorkPoolRefused, match="concurrency_limit"):
        work_pools.create_work_pool("etl", concurrency_limit=limit, hst=hst)  # type: ignore[arg-type]


def test_a_new_queue_comes_after_the_others_unless_given_a_priority(hst: host.Host) -> None:
    work_pools.create_work_pool("etl", hst=hst)
    work_pools.create_work_queue("low", "etl", hst=hst)
    work_pools.create_work_queue("urgent", "etl", priority=1, hst=hst)

    queues = work_pools.list_work_queues("etl", hst=hst)
    assert [(q.name, q.priority) for q in queues] == [
        ("default", 1),
        ("urgent", 1),
        ("low", 2),
    ]


def test_a_queue_of_a_missing_pool_is_refused(hst: host.Host) -> None:
    with pytest.raises(errors.WorkPoolNotFound, match="tarry work-pool ls"):
        work_pools.create_work_queue("high", "nowhere", hst=hst)
    with pytest.raises(errors.WorkPoolNotFound):
        work_pools.list_work_queues("nowhere", hst=hst)


def test_updates_change_only_what_they_name(hst: host.Host) -> None:
    work_pools.create_work_pool("etl", concurrency_limit=3, hst=hst)
    work_pools.create_work_queue("high", "etl", concurrency_limit=2, hst=hst)

    pool = work_pools.update_work_pool("etl", paused=True, hst=hst)
    queue = work_pools.update_work_queue("high", "etl", concurrency_limit=None, hst=hst)

    assert (pool.paused, pool.concurrency_limit) == (True, 3)
    assert (queue.concurrency_limit, queue.priority) == (None, 2)


def test_the_defaults_cannot_be_deleted(hst: host.Host) -> None:
    with pytest.raises(errors.WorkPoolRefused, match="pause it instead"):
        work_pools.delete_work_pool("default", hst=hst)
    with pytest.raises(errors.WorkPoolRefused, match="pause it instead"):
        work_pools.delete_work_queue("default", "default", hst=hst)


def test_deleting_what_is_not_there_says_so(hst: host.Host) -> None:
    with pytest.raises(errors.WorkPoolNotFound):
        work_pools.delete_work_pool("etl", hst=hst)
    with pytest.raises(errors.WorkQueueNotFound, match="tarry work-queue ls --pool default"):
        work_pools.delete_work_queue("high", hst=hst)


def test_ensure_makes_a_missing_pool_and_queue_once(hst: host.Host) -> None:
    first = work_pools.ensure_work_queue("etl", "high", hst=hst)
    second = work_pools.ensure_work_queue("etl", "high", hst=hst)

    assert first == second
    assert [q.name for q in work_pools.list_work_queues("etl", hst=hst)] == ["default", "high"]


def test_a_deployment_limit_is_an_int_or_a_config() -> None:
    config_limit = work_pools.ConcurrencyLimitConfig(2, "CANCEL_NEW")

    assert work_pools.deployment_limit(None) == (None, "ENQUEUE")
    assert work_pools.deployment_limit(3, "cancel_new") == (3, "CANCEL_NEW")
    assert work_pools.deployment_limit(config_limit) == (2, "CANCEL_NEW")
    with pytest.raises(errors.WorkPoolRefused, match="ENQUEUE or CANCEL_NEW"):
        work_pools.deployment_limit(1, "DROP")
    with pytest.raises(errors.WorkPoolRefused, match="from 1 to"):
        work_pools.deployment_limit(0)


def queue(name: str, priority: int, limit: int | None = None) -> records.WorkQueueRecord:
    return records.WorkQueueRecord("p", name, 0.0, 0.0, priority, concurrency_limit=limit)


def test_pick_stops_at_the_pool_limit_across_queues() -> None:
    plan = claiming.ClaimPlan.of(
        records.WorkPoolRecord("p", 0.0, 0.0, concurrency_limit=2),
        [queue("a", 1), queue("b", 2)],
    )
    runs = [claiming.Candidate(f"r{i}", "ab"[i % 2], None, float(i)) for i in range(6)]

    assert pick_ids(plan, runs) == ["r0", "r2"]


def test_pick_skips_a_full_queue_for_the_next_one() -> None:
    plan = claiming.ClaimPlan.of(
        records.WorkPoolRecord("p", 0.0, 0.0), [queue("a", 1, 1), queue("b", 2)]
    )
    runs = [claiming.Candidate(f"r{i}", "ab"[i // 2], None, float(i)) for i in range(4)]

    assert pick_ids(plan, runs) == ["r0", "r2", "r3"]


def pick_ids(plan: claiming.ClaimPlan, runs: list[claiming.Candidate]) -> list[str]:
    return claiming.pick(plan, runs, limit=10).claim


def test_a_refused_deployment_makes_no_pool_or_queue(hst: host.Host) -> None:
    @flow
    def load(table: str = "orders") -> str:
        return table

    with pytest.raises(errors.ParameterError):
        deployments.deploy(load, "x", parameters={"nope": 1}, work_pool_name="etl", hst=hst)
    with pytest.raises(errors.WorkPoolRefused, match="work queue name"):
        deployments.deploy(load, "x", work_pool_name="etl", work_queue_name="a b", hst=hst)

    assert [p.name for p in work_pools.list_work_pools(hst=hst)] == ["default"]
