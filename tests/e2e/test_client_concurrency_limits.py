"""`Client` and `AsyncClient`'s concurrency limit methods (Prefect's names), on a real server."""

from __future__ import annotations

import asyncio

import pytest

from tarry import concurrency, errors, host
from tarry.client import AsyncClient, Client
from tarry.concurrency.sync import concurrency as limited
from tests.e2e.test_concurrency_limits_api import api_url, served

__all__ = ["api_url", "served"]


def test_a_client_makes_reads_changes_resets_and_deletes_global_limits(api_url: str) -> None:
    with Client(api_url, token="") as client:
        made = client.create_global_concurrency_limit("db", 3, slot_decay_per_second=0.5)
        assert (made.name, made.limit, made.slot_decay_per_second, made.active) == (
            "db",
            3,
            0.5,
            True,
        )
        client.create_global_concurrency_limit("api", 10, active=False)
        names = [limit.name for limit in client.read_global_concurrency_limits()]
        assert names == ["api", "db"]
        with limited("db", occupy=2, timeout_seconds=5):
            read = client.read_global_concurrency_limit_by_name("db")
            assert (read.active_slots, [h.slots for h in read.holders]) == (2, [2])
            assert client.reset_global_concurrency_limit_by_name("db").active_slots == 0
        changed = client.update_global_concurrency_limit("db", limit=5, active=False)
        assert (changed.limit, changed.active, changed.slot_decay_per_second) == (5, False, 0.5)
        client.delete_global_concurrency_limit_by_name("db")
        assert [limit.name for limit in client.read_global_concurrency_limits()] == ["api"]


def test_a_client_limits_task_tags(api_url: str) -> None:
    with Client(api_url, token="") as client:
        made = client.create_concurrency_limit("small-db", 2)
        assert (made.name, made.tag, made.limit) == ("tag:small-db", "small-db", 2)
        client.create_global_concurrency_limit("plain", 1)
        assert [limit.tag for limit in client.read_concurrency_limits()] == ["small-db"]
        with limited("tag:small-db", timeout_seconds=5):
            assert client.read_concurrency_limit_by_tag("small-db").active_slots == 1
            assert client.reset_concurrency_limit_by_tag("small-db").active_slots == 0
        client.delete_concurrency_limit_by_tag("small-db")
        with pytest.raises(errors.ConcurrencyLimitNotFound, match="'tag:small-db'"):
            client.read_concurrency_limit_by_tag("small-db")


def test_refusals_are_tarry_errors_with_the_servers_reason(api_url: str) -> None:
    with Client(api_url, token="") as client:
        client.create_global_concurrency_limit("db", 2)
        with pytest.raises(errors.ConcurrencyLimitRefused, match="named 'db' exists"):
            client.create_global_concurrency_limit("db", 4)
        with pytest.raises(errors.ConcurrencyLimitRefused, match="limit"):
            client.create_global_concurrency_limit("x", -1)
        with pytest.raises(errors.ConcurrencyLimitRefused, match=r"'\.\.'"):
            client.create_concurrency_limit("..", 1)
        with pytest.raises(errors.ConcurrencyLimitRefused, match="name"):
            client.create_global_concurrency_limit("a/b", 1)
        with pytest.raises(errors.ConcurrencyLimitNotFound) as missing:
            client.update_global_concurrency_limit("ghost", limit=1)
        assert missing.value.name == "ghost"
        with pytest.raises(errors.ConcurrencyLimitNotFound):
            client.delete_global_concurrency_limit_by_name("ghost")
        with pytest.raises(errors.ConcurrencyLimitNotFound):
            client.reset_concurrency_limit_by_tag("ghost")
        # Names are sent quoted: a `?` or `#` in a name reaches the server whole.
        odd = client.create_global_concurrency_limit("what? #1", 1)
        assert client.read_global_concurrency_limit_by_name(odd.name).name == "what? #1"
    assert [lim.name for lim in concurrency.list_limits(hst=host.get_host())] == ["db", "what? #1"]


def test_the_async_client_has_the_same_methods(api_url: str) -> None:
    async def main() -> list[str]:
        async with AsyncClient(api_url, token="") as client:
            await client.create_global_concurrency_limit("db", 2, slot_decay_per_second=1.0)
            await client.create_concurrency_limit("io", 1)
            await client.update_global_concurrency_limit("db", limit=4)
            assert (await client.read_global_concurrency_limit_by_name("db")).limit == 4
            assert (await client.read_concurrency_limit_by_tag("io")).limit == 1
            assert [x.tag for x in await client.read_concurrency_limits()] == ["io"]
            assert (await client.reset_global_concurrency_limit_by_name("db")).active_slots == 0
            assert (await client.reset_concurrency_limit_by_tag("io")).active_slots == 0
            await client.delete_concurrency_limit_by_tag("io")
            with pytest.raises(errors.ConcurrencyLimitNotFound):
                await client.delete_global_concurrency_limit_by_name("ghost")
            await client.delete_global_concurrency_limit_by_name("db")
            return [x.name for x in await client.read_global_concurrency_limits()]

    assert asyncio.run(main()) == []
