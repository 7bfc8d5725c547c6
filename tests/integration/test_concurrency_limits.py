"""Global concurrency limits and rate limits in code, flows and tasks, on a real SQLite store."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tarry import concurrency, errors, flow, suspend_flow_run, task
from tarry.concurrency import asyncio as async_limits
from tarry.concurrency.sync import ConcurrencySlotAcquisitionError, rate_limit
from tarry.concurrency.sync import concurrency as limited
from tarry.states import RunState
from tarry.storage import RunFilter
from tarry.testing import TestHarness, tarry_test_harness
from tests import polling


class Gauge:
    """How many holders run at once, and the most ever seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.total = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.total += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


gauge = Gauge()


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    global gauge  # noqa: PLW0603 - the flows below report to the module's gauge
    gauge = Gauge()
    with tarry_test_harness() as made:
        yield made


def test_a_limit_lets_that_many_holders_in_at_once(harness: TestHarness) -> None:
    concurrency.create_limit("db", 2)

    def work() -> None:
        with limited("db"), gauge:
            time.sleep(0.02)

    with cf.ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: work(), range(18)))

    assert (gauge.most, gauge.total) == (2, 18)
    assert concurrency.get_limit("db").held_slots == 0
    assert concurrency.get_limit("db").denied_slots > 0


def test_occupy_takes_several_slots_of_every_limit_named(harness: TestHarness) -> None:
    concurrency.create_limit("db", 3)
    concurrency.create_limit("api", 5)
    with limited(["db", "api"], occupy=2):
        assert concurrency.get_limit("db").held_slots == 2
        assert concurrency.get_limit("api").held_slots == 2
        [holder] = concurrency.limit_holders("db")
        assert holder.slots == 2
        with (
            pytest.raises(errors.AcquireConcurrencySlotTimeoutError, match="'db'"),
            limited(["db", "api"], occupy=2, timeout_seconds=0.05),
        ):
            pass
    assert concurrency.get_limit("api").held_slots == 0


def test_a_full_limit_times_out_with_a_timeout_error(harness: TestHarness) -> None:
    concurrency.create_limit("db", 1)
    with limited("db"):
        with (
            pytest.raises(TimeoutError, match=r"could not occupy 1 slot\(s\) of 'db' within"),
            limited("db", timeout_seconds=0.1),
        ):
            pass
        with (
            pytest.raises(errors.AcquireConcurrencySlotTimeoutError, match="after 2 retries"),
            limited("db", max_retries=2),
        ):
            pass


def test_the_slots_are_given_back_when_the_block_raises(harness: TestHarness) -> None:
    concurrency.create_limit("db", 1)
    with pytest.raises(ZeroDivisionError), limited("db"):
        _ = 1 / 0
    with limited("db", timeout_seconds=0):
        pass


def test_an_unknown_limit_does_not_limit_unless_strict(harness: TestHarness) -> None:
    with limited("nobody-made-me"):
        pass
    with (
        pytest.raises(errors.ConcurrencyLimitNotFound, match="tarry gcl create nobody"),
        limited("nobody-made-me", strict=True),
    ):
        pass
    # Prefect raises ConcurrencySlotAcquisitionError here: code written for it still catches it.
    with (
        pytest.raises(ConcurrencySlotAcquisitionError),
        limited("nobody-made-me", strict=True),
    ):
        pass
    assert concurrency.list_limits() == []


def test_bad_arguments_are_refused_before_anything_is_taken(harness: TestHarness) -> None:
    concurrency.create_limit("db", 2)
    with (
        pytest.raises(errors.ConcurrencySlotAcquisitionError, match="occupy must be"),
        limited("db", occupy=0),
    ):
        pass
    with (
        pytest.raises(errors.ConcurrencySlotAcquisitionError, match="its limit is 2"),
        limited("db", occupy=3),
    ):
        pass
    with pytest.raises(errors.ConcurrencySlotAcquisitionError, match="names must be"), limited([]):
        pass
    assert concurrency.get_limit("db").held_slots == 0


def test_limits_refuse_bad_values_and_duplicates(harness: TestHarness) -> None:
    with pytest.raises(errors.ConcurrencyLimitRefused, match="from 0 to"):
        concurrency.create_limit("db", -1)
    with pytest.raises(errors.ConcurrencyLimitRefused, match="0 or more"):
        concurrency.create_limit("db", 1, slot_decay_per_second=-0.5)
    with pytest.raises(errors.ConcurrencyLimitRefused, match="cannot hold '/'"):
        concurrency.create_limit("a/b", 1)
    for name in (".", "..", "", "  ", "tag:", "tag:.."):
        with pytest.raises(errors.ConcurrencyLimitRefused):
            concurrency.create_limit(name, 1)
    with pytest.raises(errors.ConcurrencyLimitRefused, match=r"cannot be named '\.\.'"):
        concurrency.create_tag_limit("..", 1)
    assert concurrency.list_limits() == []
    concurrency.create_limit("db", 1)
    with pytest.raises(errors.ConcurrencyLimitRefused, match="exists"):
        concurrency.create_limit("db", 4)
    assert concurrency.get_limit("db").limit == 1
    with pytest.raises(errors.ConcurrencyLimitNotFound):
        concurrency.update_limit("ghost", limit=3)
    with pytest.raises(errors.ConcurrencyLimitNotFound):
        concurrency.delete_limit("ghost")


def test_a_disabled_limit_lets_everyone_through(harness: TestHarness) -> None:
    concurrency.create_limit("db", 1)
    concurrency.update_limit("db", active=False)
    with limited("db"), limited("db", timeout_seconds=0):
        pass
    concurrency.update_limit("db", active=True)
    with limited("db"), pytest.raises(TimeoutError), limited("db", timeout_seconds=0):
        pass


def test_rate_limit_spaces_calls_by_the_decay(harness: TestHarness) -> None:
    concurrency.create_limit("api", 1, slot_decay_per_second=20)
    started = time.monotonic()
    for _ in range(11):
        rate_limit("api")
    # One at once, then one every 1/20 s: ten intervals take half a second.
    assert time.monotonic() - started >= 0.45


def test_rate_limit_needs_a_decaying_limit(harness: TestHarness) -> None:
    concurrency.create_limit("api", 5)
    with pytest.raises(errors.ConcurrencySlotAcquisitionError, match="slot decay"):
        rate_limit("api")


def test_the_async_twins_hold_and_release(harness: TestHarness) -> None:
    concurrency.create_limit("db", 1)
    concurrency.create_limit("api", 1, slot_decay_per_second=50)

    async def holder(i: int) -> None:
        async with async_limits.concurrency("db"):
            with gauge:
                await asyncio.sleep(0.01)
        await async_limits.rate_limit("api")

    async def main() -> None:
        await asyncio.gather(*(holder(i) for i in range(6)))

    asyncio.run(main())
    assert (gauge.most, gauge.total) == (1, 6)
    assert concurrency.get_limit("db").held_slots == 0


@task(tags=["db"])
def tagged(i: int) -> int:
    with gauge:
        time.sleep(0.02)
    return i


@flow
def fan_out(n: int) -> int:
    return sum(f.result() for f in tagged.map(range(n)))


def test_tasks_with_a_limited_tag_run_that_many_at_once(harness: TestHarness) -> None:
    concurrency.create_tag_limit("db", 2)
    assert fan_out(12) == sum(range(12))
    assert (gauge.most, gauge.total) == (2, 12)
    assert concurrency.get_limit("tag:db").held_slots == 0


_attempts: list[tuple[str, float]] = []


@task(tags=["db"], retries=1, retry_delay_seconds=1.0)
def flaky_once(name: str) -> str:
    _attempts.append((name, time.monotonic()))
    if sum(1 for who, _ in _attempts if who == name) == 1 and name == "flaky":
        raise RuntimeError("first attempt fails")
    return name


@flow
def retry_beside_another() -> list[str]:
    first = flaky_once.submit("flaky")
    time.sleep(0.3)  # the flaky task has failed once and is in its retry delay
    return [flaky_once.submit("steady").result(), first.result()]


def test_a_retrying_task_gives_its_tag_slot_back_during_the_delay(harness: TestHarness) -> None:
    _attempts.clear()
    concurrency.create_tag_limit("db", 1)
    assert retry_beside_another() == ["steady", "flaky"]
    # Only one slot: "steady" ran while "flaky" waited to retry, not after it.
    assert [who for who, _ in _attempts] == ["flaky", "steady", "flaky"]


def test_a_tag_without_a_limit_does_not_hold_tasks_back(harness: TestHarness) -> None:
    assert fan_out(6) == sum(range(6))
    assert gauge.most > 1


@flow
def holds_while_waiting() -> Any:
    with limited("reviewers"):
        return suspend_flow_run(int, timeout=None)


def _suspended(harness: TestHarness, flow_name: str) -> str:
    def waiting() -> list[Any]:
        found = harness.store.list_runs(RunFilter(flow_name=flow_name))
        return [r for r in found if r.state is RunState.WAITING and r.lease_owner is None]

    return str(polling.until(waiting, bool)[0].id)


def test_a_block_around_a_wait_keeps_its_slot_while_the_run_is_suspended(
    harness: TestHarness,
) -> None:
    concurrency.create_limit("reviewers", 1)
    with cf.ThreadPoolExecutor(1) as pool:
        call = pool.submit(holds_while_waiting)
        run_id = _suspended(harness, "holds-while-waiting")
        [holder] = concurrency.limit_holders("reviewers")
        assert (holder.run_id, holder.expires_at) == (run_id, None)
        with pytest.raises(TimeoutError), limited("reviewers", timeout_seconds=0.1):
            pass

        harness.answer(run_id, 7)

        assert call.result(timeout=10) == 7
    assert concurrency.limit_holders("reviewers") == []


@task(tags=["review"])
def asks_inside_a_task() -> Any:
    return suspend_flow_run(int, timeout=None)


@flow
def waits_in_a_tagged_task() -> Any:
    return asks_inside_a_task()


def test_a_run_suspended_inside_a_task_holds_no_task_slot(harness: TestHarness) -> None:
    concurrency.create_tag_limit("review", 1)
    with cf.ThreadPoolExecutor(1) as pool:
        call = pool.submit(waits_in_a_tagged_task)
        run_id = _suspended(harness, "waits-in-a-tagged-task")
        assert concurrency.get_limit("tag:review").held_slots == 0
        harness.answer(run_id, 3)
        assert call.result(timeout=10) == 3
