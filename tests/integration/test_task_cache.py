"""Task caching across runs: a hit returns the stored result without calling the task."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tarry import errors, flow, task
from tarry.cache_policies import INPUTS, TASK_SOURCE, CacheKeyContext
from tarry.states import RunState
from tarry.testing import TestHarness, tarry_test_harness

calls: list[Any] = []
_lock = threading.Lock()


def called(value: Any) -> None:
    with _lock:
        calls.append(value)


@pytest.fixture
def cache_harness(database_url: str) -> Iterator[TestHarness]:
    """A harness with a clock the test moves, on SQLite and on PostgreSQL."""
    calls.clear()
    with tarry_test_harness(fake_clock=True, database_url=database_url) as h:
        yield h


@task(cache_policy=INPUTS + TASK_SOURCE, cache_expiration=dt.timedelta(hours=1))
def price(item: str, qty: int = 1) -> dict[str, Any]:
    called((item, qty))
    return {"item": item, "total": 3 * qty}


@flow
def quote(item: str, qty: int = 1) -> dict[str, Any]:
    return price(item, qty)


def test_a_second_run_with_the_same_inputs_gets_the_cached_result(
    cache_harness: TestHarness,
) -> None:
    first = cache_harness.start(quote, "pen", 2)
    assert first.result() == {"item": "pen", "total": 6}
    second = cache_harness.start(quote, "pen", 2)

    assert second.result() == {"item": "pen", "total": 6}
    assert calls == [("pen", 2)]  # the second run did not call the task
    assert [s.cached_from for s in first.steps()] == [None]
    (hit,) = second.steps()
    assert hit.cached_from is not None
    assert hit.attempts == 0
    assert any(f"Cache hit: key {hit.cached_from}" in line for line in second.logs())


def test_other_inputs_are_a_miss(cache_harness: TestHarness) -> None:
    cache_harness.start(quote, "pen", 2).result()
    cache_harness.start(quote, "pen", 3).result()
    cache_harness.start(quote, "ink", 2).result()

    assert calls == [("pen", 2), ("pen", 3), ("ink", 2)]


def test_after_cache_expiration_the_task_is_called_again(cache_harness: TestHarness) -> None:
    cache_harness.start(quote, "pen").result()
    cache_harness.advance(3599)
    cache_harness.start(quote, "pen").result()
    assert calls == [("pen", 1)]

    cache_harness.advance(2)
    cache_harness.start(quote, "pen").result()
    cache_harness.start(quote, "pen").result()  # the new result is cached for an hour again

    assert calls == [("pen", 1), ("pen", 1)]


@flow
def quote_fresh(item: str) -> dict[str, Any]:
    return price.with_options(refresh_cache=True)(item)


def test_refresh_cache_always_calls_and_replaces_the_cached_result(
    cache_harness: TestHarness,
) -> None:
    cache_harness.start(quote, "pen").result()
    cache_harness.start(quote_fresh, "pen").result()
    cache_harness.start(quote_fresh, "pen").result()
    assert calls == [("pen", 1)] * 3

    later = cache_harness.start(quote, "pen")
    later.result()
    assert calls == [("pen", 1)] * 3  # served from the refreshed entry
    assert later.steps()[0].cached_from is not None


def _broken_key(context: CacheKeyContext, parameters: dict[str, Any]) -> str:
    raise LookupError("no region configured")


@task(cache_key_fn=_broken_key)
def uses_broken_key(x: int) -> int:
    called(x)
    return x


@flow
def broken(x: int) -> int:
    return uses_broken_key(x)


def test_a_cache_key_fn_that_raises_fails_the_task_without_calling_it(
    cache_harness: TestHarness,
) -> None:
    run = cache_harness.start(broken, 1)
    with pytest.raises(errors.CacheKeyError, match=r"task 'uses_broken_key'.*_broken_key"):
        run.result()

    assert run.state is RunState.FAILED
    assert calls == []
    (step,) = run.steps()
    assert step.error is not None
    assert "no region configured" in step.error
    assert (step.status.value, step.cached_from) == ("Failed", None)


def _key_unless_negative(context: CacheKeyContext, parameters: dict[str, Any]) -> str | None:
    return None if parameters["x"] < 0 else f"x:{parameters['x']}"


@task(cache_key_fn=_key_unless_negative)
def keyed(x: int) -> int:
    called(x)
    return x * 10


@flow
def keyed_flow(x: int) -> int:
    return keyed(x)


def test_a_cache_key_fn_returning_none_does_not_cache(cache_harness: TestHarness) -> None:
    for x in (-1, -1, 5, 5):
        cache_harness.start(keyed_flow, x).result()

    assert calls == [-1, -1, 5]
    assert cache_harness.store.get_cached("x:5", 0) is not None


class Opaque:
    """Not storable as JSON."""


@task(cache_policy=INPUTS)
def takes_opaque(thing: Opaque, n: int) -> int:
    called(n)
    return n


@flow
def opaque_flow(n: int) -> int:
    return takes_opaque(Opaque(), n)


def test_inputs_that_are_not_json_run_uncached_with_the_reason_logged(
    cache_harness: TestHarness,
) -> None:
    first = cache_harness.start(opaque_flow, 1)
    assert first.result() == 1
    assert cache_harness.start(opaque_flow, 1).result() == 1

    assert calls == [1, 1]
    assert any(
        "Not cached: task 'takes_opaque': parameter 'thing'" in line for line in first.logs()
    )


@task
def failing(x: int) -> int:
    called(x)
    raise ValueError("flaky")


@flow
def fails_first(x: int) -> int:
    return failing.with_options(cache_policy=INPUTS)(x)


def test_a_failure_is_never_cached(cache_harness: TestHarness) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="flaky"):
            cache_harness.start(fails_first, 1).result()

    assert calls == [1, 1]


@task(cache_policy=INPUTS)
async def async_price(item: str) -> str:
    called(item)
    await asyncio.sleep(0)
    return item.upper()


@flow
async def async_quote(item: str) -> str:
    return await async_price(item)


def test_async_tasks_are_cached_too(cache_harness: TestHarness) -> None:
    assert cache_harness.start(async_quote, "pen").result() == "PEN"
    second = cache_harness.start(async_quote, "pen")

    assert second.result() == "PEN"
    assert calls == ["pen"]
    assert second.steps()[0].cached_from is not None


@flow
def fan_out(items: list[str]) -> list[dict[str, Any]]:
    return [f.result() for f in price.map(items)]


def test_submitted_and_mapped_tasks_are_cached(cache_harness: TestHarness) -> None:
    cache_harness.start(fan_out, ["a", "b"]).result()
    run = cache_harness.start(fan_out, ["a", "b", "c"])

    assert [r["item"] for r in run.result()] == ["a", "b", "c"]
    assert sorted(calls) == [("a", 1), ("b", 1), ("c", 1)]


def test_a_task_without_a_policy_is_called_in_every_run(harness: TestHarness) -> None:
    calls.clear()

    @task
    def plain(x: int) -> int:
        called(x)
        return x

    @flow
    def twice(x: int) -> int:
        return plain(x)

    harness.start(twice, 1).result()
    harness.start(twice, 1).result()

    assert calls == [1, 1]
