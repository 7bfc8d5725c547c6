"""Testing support: run flows against a temporary store, answer waits, move time.

`tarry_test_harness()` (also `test_harness`) is a context manager: inside it every
flow call uses a fresh SQLite file in a temporary folder, removed afterwards. Use
it in a test or as a pytest fixture::

    @pytest.fixture(autouse=True)
    def tarry_store():
        with tarry_test_harness() as harness:
            yield harness

With `fake_clock=True`, time stands still until `harness.advance(seconds)`: a
one-hour timeout is tested in milliseconds. `harness.start(flow, ...)` runs a flow
in the background so the test can answer its waits with `harness.answer(...)`,
which goes through the same validation as the web form.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tarry import answers, config, host
from tarry import clock as clock_module
from tarry.definitions import Flow
from tarry.states import RunState
from tarry.storage import base

__all__ = ["RunHandle", "TestHarness", "tarry_test_harness", "test_harness"]


class RunHandle:
    """A flow run started in the background by `TestHarness.start`."""

    __test__ = False

    def __init__(self, harness: TestHarness, future: cf.Future[Any], run_id: str) -> None:
        self._harness = harness
        self._future = future
        self.id = run_id
        """The run's id."""

    @property
    def run(self) -> base.RunRecord:
        """The run as stored now."""
        found = self._harness.store.get_run(self.id)
        if found is None:
            raise LookupError(f"run {self.id} is not in the store")
        return found

    def result(self, timeout: float = 10.0) -> Any:
        """The flow's return value (its error is raised), waiting `timeout` seconds at most."""
        return self._future.result(timeout)

    def wait_for(self, *states: RunState, timeout: float = 10.0) -> base.RunRecord:
        """Block until the run is in one of `states`."""
        return self._harness.wait_for_state(self.id, *states, timeout=timeout)

    def waits(self) -> list[base.WaitRecord]:
        """The run's waits, oldest first."""
        return self._harness.store.waits_of_run(self.id)


class TestHarness:
    """What `tarry_test_harness` yields: the temporary host, its store and its clock."""

    __test__ = False

    def __init__(self, hst: host.Host) -> None:
        self.host = hst
        self.store = hst.store
        self.clock = hst.clock
        self._pool = cf.ThreadPoolExecutor(thread_name_prefix="tarry-test-run")

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward: due timers fire, resident waiters look again.

        Raises:
            TypeError: The harness was made without `fake_clock=True`.
        """
        if not isinstance(self.clock, clock_module.FakeClock):
            raise TypeError("advance() needs tarry_test_harness(fake_clock=True)")
        self.clock.advance(seconds)

    def answer(
        self, run_id: str, data: Any = None, *, key: str | None = None, responder: str = "test"
    ) -> answers.Submitted:
        """Answer a run's wait, validated like any answer (`InputInvalid` if it does not fit)."""
        return answers.submit_input(
            run_id, data, key=key, responder=responder, channel="test", hst=self.host
        )

    def start(self, flow: Flow[..., Any], *args: Any, **kwargs: Any) -> RunHandle:
        """Start a run of `flow` in the background and return once it exists."""
        before = {r.id for r in self._runs_of(flow)}
        runner = contextvars.copy_context()
        future = self._pool.submit(runner.run, self._call, flow, args, kwargs)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = [r.id for r in self._runs_of(flow) if r.id not in before]
            if new:
                return RunHandle(self, future, new[0])
            if future.done():
                future.result()
            time.sleep(0.002)
        raise TimeoutError(f"flow {flow.name!r} did not start a run within 10 s")

    def _runs_of(self, flow: Flow[..., Any]) -> list[base.RunRecord]:
        return self.store.list_runs(base.RunFilter(flow_name=flow.name, parent_id=None, limit=1000))

    def _call(self, flow: Flow[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if flow.is_async:
            return asyncio.run(flow(*args, **kwargs))
        return flow(*args, **kwargs)

    def wait_for_state(
        self, run_id: str, *states: RunState, timeout: float = 10.0
    ) -> base.RunRecord:
        """Block until the run is in one of `states` (real time, polled every 2 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.store.get_run(run_id)
            if run is not None and run.state in states:
                return run
            if time.monotonic() > deadline:
                found = run.state.value if run else "missing"
                raise TimeoutError(f"run {run_id} is {found}, not {[s.value for s in states]}")
            time.sleep(0.002)

    def wait_until(self, condition: Callable[[], object], timeout: float = 10.0) -> None:
        """Block until `condition()` is true (polled every 2 ms).

        For what happens in background threads: a notification being sent, a
        message arriving.

        Raises:
            TimeoutError: It was still false after `timeout` seconds (real time).
        """
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"still not true after {timeout:g} s: {condition!r}")
            time.sleep(0.002)

    def close(self) -> None:
        """Stop background runs' pool (they end with the host)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def tarry_test_harness(*, fake_clock: bool = False, **settings: Any) -> Iterator[TestHarness]:
    """Run flows against a temporary SQLite store for the duration of the block.

    Args:
        fake_clock: Stop time until `TestHarness.advance` moves it.
        **settings: `Settings` fields to override, e.g. `resident_seconds=0`.
    """
    with tempfile.TemporaryDirectory(prefix="tarry-test-") as folder:
        values: dict[str, Any] = {"sqlite_synchronous": "NORMAL", **settings}
        values["home"] = Path(folder)
        clock = clock_module.FakeClock() if fake_clock else None
        hst = host.Host(config.Settings(**values), clock=clock)
        previous = host.set_host(hst)
        harness = TestHarness(hst)
        try:
            yield harness
        finally:
            host.set_host(previous)
            harness.close()
            hst.close()


test_harness = tarry_test_harness
test_harness.__test__ = False  # type: ignore[attr-defined]
