"""`Client` and `AsyncClient`'s work pool and queue methods against a real server."""

from __future__ import annotations

import asyncio

import pytest

from tarry import errors
from tarry.client import AsyncClient, Client
from tests.e2e.test_work_pools_api import api_url

__all__ = ["api_url"]


def test_a_client_makes_reads_changes_and_deletes_pools_and_queues(api_url: str) -> None:
    with Client(api_url, token="") as client:
        made = client.create_work_pool("gpu", description="big", concurrency_limit=2)
        assert (made.name, made.description, made.concurrency_limit) == ("gpu", "big", 2)
        assert [q.name for q in made.queues] == ["default"]
        assert [p.name for p in client.read_work_pools()] == ["default", "etl", "gpu"]

        fast = client.create_work_queue(
            "fast", work_pool_name="gpu", priority=1, concurrency_limit=1
        )
        assert (fast.work_pool_name, fast.priority, fast.concurrency_limit) == ("gpu", 1, 1)
        slow = client.create_work_queue("slow", work_pool_name="gpu", description="later")
        assert slow.priority == 2
        assert [q.name for q in client.read_work_queues("gpu")] == ["default", "fast", "slow"]
        every = [(q.work_pool_name, q.name) for q in client.read_work_queues()]
        assert every == [
            ("default", "default"),
            ("etl", "default"),
            ("etl", "high"),
            ("gpu", "default"),
            ("gpu", "fast"),
            ("gpu", "slow"),
        ]

        assert client.pause_work_pool("gpu").paused
        assert not client.resume_work_pool("gpu").paused
        assert client.update_work_pool("gpu", description="bigger").concurrency_limit == 2
        assert client.update_work_pool("gpu", concurrency_limit=None).concurrency_limit is None
        assert client.read_work_pool("gpu").description == "bigger"

        assert client.pause_work_queue("slow", "gpu").paused
        assert not client.resume_work_queue("slow", "gpu").paused
        moved = client.update_work_queue("slow", work_pool_name="gpu", priority=9)
        assert (moved.priority, moved.description) == (9, "later")
        assert client.read_work_queue("slow", "gpu").priority == 9
        assert client.read_work_queue("default").work_pool_name == "default"

        client.delete_work_queue("slow", work_pool_name="gpu")
        assert [q.name for q in client.read_work_pool("gpu").queues] == ["default", "fast"]
        client.delete_work_pool("gpu")
        assert [p.name for p in client.read_work_pools()] == ["default", "etl"]


def test_the_client_raises_what_the_server_refuses(api_url: str) -> None:
    with Client(api_url, token="") as client:
        with pytest.raises(errors.WorkPoolNotFound, match="no work pool named 'nope'"):
            client.read_work_pool("nope")
        with pytest.raises(errors.WorkPoolNotFound):
            client.read_work_queues("nope")
        with pytest.raises(errors.WorkPoolNotFound):
            client.read_work_queue("high", "nope")
        with pytest.raises(errors.WorkQueueNotFound, match="has no queue named 'nope'") as found:
            client.read_work_queue("nope", "etl")
        assert (found.value.pool, found.value.name) == ("etl", "nope")
        with pytest.raises(errors.WorkQueueNotFound):
            client.delete_work_queue("nope", work_pool_name="etl")
        with pytest.raises(errors.WorkPoolRefused, match="exists already"):
            client.create_work_pool("etl")
        with pytest.raises(errors.WorkPoolRefused, match="has a queue named 'high'"):
            client.create_work_queue("high", work_pool_name="etl")
        with pytest.raises(errors.WorkPoolRefused, match="cannot be deleted"):
            client.delete_work_pool("default")
        with pytest.raises(errors.WorkPoolRefused, match="cannot be deleted"):
            client.delete_work_queue("default", work_pool_name="etl")
        with pytest.raises(errors.WorkPoolRefused, match="concurrency_limit"):
            client.create_work_pool("x", concurrency_limit=-1)
        with pytest.raises(errors.WorkPoolRefused, match="priority"):
            client.update_work_queue("high", work_pool_name="etl", priority=0)
        # A refused value is a ValueError, as Python's own bad values are.
        with pytest.raises(ValueError, match="name"):
            client.create_work_pool("bad name")
        assert [p.name for p in client.read_work_pools()] == ["default", "etl"]


def test_the_async_client_has_the_same_methods(api_url: str) -> None:
    async def main() -> list[str]:
        async with AsyncClient(api_url, token="") as client:
            await client.create_work_pool("gpu", paused=True)
            await client.create_work_queue("fast", work_pool_name="gpu", concurrency_limit=4)
            assert not (await client.resume_work_pool("gpu")).paused
            assert (await client.pause_work_queue("fast", "gpu")).paused
            assert not (await client.resume_work_queue("fast", "gpu")).paused
            changed = await client.update_work_queue(
                "fast", work_pool_name="gpu", concurrency_limit=None, description="d"
            )
            assert (changed.concurrency_limit, changed.description) == (None, "d")
            assert (await client.update_work_pool("gpu", concurrency_limit=3)).concurrency_limit
            assert (await client.read_work_queue("fast", "gpu")).description == "d"
            assert len(await client.read_work_queues()) == 5
            assert (await client.read_work_pool("gpu")).concurrency_limit == 3
            await client.delete_work_queue("fast", "gpu")
            await client.delete_work_pool("gpu")
            with pytest.raises(errors.WorkPoolNotFound):
                await client.read_work_pool("gpu")
            return [p.name for p in await client.read_work_pools()]

    assert asyncio.run(main()) == ["default", "etl"]
