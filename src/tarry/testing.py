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
in the background so the test can answer its waits with `harness.answer(...)` and
send it messages with `harness.send(...)`, both going through the same validation
as the web UI. With `worker=True` an in-process worker executes runs started from
deployments, and with `scheduler=True` deployments' schedules make runs (on the
fake clock as it is advanced). `RunHandle.assert_state`, `assert_steps` and
`assert_logged` fail with what the run is doing, its open waits and its last log lines.

Installed with tarry, the pytest plugin `tarry.pytest_plugin` offers the same as the
`tarry_harness` fixture.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tarry import clock as clock_module
from tarry import config, host, scheduler, serialization, service
from tarry import worker as worker_module
from tarry.definitions import Flow
from tarry.engine import answers, runs
from tarry.states import FINAL_STATES, RunState, StepKind, WaitStatus
from tarry.storage import records

__all__ = ["RunHandle", "RunRef", "TestHarness", "tarry_test_harness", "test_harness"]

_STEP_KINDS = (StepKind.TASK, StepKind.SUBFLOW)


class RunHandle:
    """A flow run started in the background by `TestHarness.start`."""

    __test__ = False

    def __init__(self, harness: TestHarness, future: cf.Future[Any] | None, run_id: str) -> None:
        self._harness = harness
        self._future = future
        self.id = run_id
        """The run's id."""

    def __repr__(self) -> str:
        return f"<RunHandle {self.id}>"

    @property
    def run(self) -> records.RunRecord:
        """The run as stored now."""
        found = self._harness.store.get_run(self.id)
        if found is None:
            raise LookupError(f"run {self.id} is not in the store")
        return found

    @property
    def state(self) -> RunState:
        """The run's state now."""
        return self.run.state

    def result(self, timeout: float = 10.0) -> Any:
        """The flow's return value (its error is raised), waiting `timeout` seconds at most.

        A run started by `TestHarness.start` gives what its call returned; any other
        run (from a deployment, executed by the harness's worker) its stored result.

        Raises:
            TimeoutError: The run did not end within `timeout` seconds.
        """
        if self._future is not None:
            return self._future.result(timeout)
        return runs.run_outcome(self.wait_for(*FINAL_STATES, timeout=timeout))

    def wait_for(self, *states: RunState, timeout: float = 10.0) -> records.RunRecord:
        """Block until the run is in one of `states`."""
        return self._harness.wait_for_state(self.id, *states, timeout=timeout)

    def waits(self) -> list[records.WaitRecord]:
        """The run's waits, oldest first."""
        return self._harness.store.waits_of_run(self.id)

    def open_waits(self) -> list[records.WaitRecord]:
        """The run's waits nobody has answered yet, oldest first."""
        return [w for w in self.waits() if w.status is WaitStatus.OPEN]

    def steps(self) -> list[records.StepRecord]:
        """The run's journal: tasks, child flows, waits and recorded values, in order."""
        return self._harness.store.get_steps(self.id)

    def step_names(self) -> list[str]:
        """The names of the tasks and child flows the run called, in journal order."""
        return [s.name for s in self.steps() if s.kind in _STEP_KINDS]

    def logs(self) -> list[str]:
        """The run's log lines (prints included with `log_prints`), oldest first."""
        return [log.message for log in self._harness.store.get_logs(self.id)]

    def messages(self) -> list[Any]:
        """The values of the messages sent to the run, oldest first."""
        found = self._harness.store.messages_of_run(self.id, sent=False, limit=10_000)
        return [serialization.loads(m.data) for m in found]

    def assert_state(self, *states: RunState, timeout: float = 10.0) -> records.RunRecord:
        """Assert the run reaches one of `states` within `timeout` seconds.

        Raises:
            AssertionError: It did not; the message tells what the run is doing.
        """
        try:
            return self.wait_for(*states, timeout=timeout)
        except TimeoutError:
            wanted = " or ".join(s.value for s in states)
            raise AssertionError(f"{self.describe()}\nexpected: {wanted}") from None

    def assert_steps(self, *names: str) -> None:
        """Assert the run called exactly these tasks and child flows, in this order.

        Raises:
            AssertionError: The journal holds other steps.
        """
        found = self.step_names()
        if found != list(names):
            raise AssertionError(f"{self.describe()}\nexpected steps: {list(names)}")

    def assert_logged(self, text: str) -> None:
        """Assert one of the run's log lines contains `text`.

        Raises:
            AssertionError: None does.
        """
        if not any(text in line for line in self.logs()):
            raise AssertionError(f"{self.describe()}\nexpected a log line with {text!r}")

    def describe(self) -> str:
        """What the run is doing: state, reason, steps, open waits and last log lines."""
        run = self.run
        lines = [f"run {run.id} ({run.flow_name}) is {run.state.value}"]
        if run.state_reason:
            lines.append(f"reason: {run.state_reason}")
        lines.append(f"steps: {self.step_names()}")
        lines += [f"waiting on {w.kind.value} {w.name!r}" for w in self.open_waits()]
        lines += ["last log lines:", *(f"  {line}" for line in self.logs()[-5:])]
        return "\n".join(lines)


RunRef = RunHandle | str
"""A run, as its handle or its id."""


def _run_id(run: RunRef) -> str:
    return run.id if isinstance(run, RunHandle) else run


class TestHarness:
    """What `tarry_test_harness` yields: the temporary host, its store and its clock."""

    __test__ = False

    def __init__(self, hst: host.Host) -> None:
        self.host = hst
        self.store = hst.store
        self.clock = hst.clock
        self._pool = cf.ThreadPoolExecutor(thread_name_prefix="tarry-test-run")
        self.worker: worker_module.Worker | None = None
        """The in-process worker, once `start_worker` (or `worker=True`) started it."""
        self._worker_thread: threading.Thread | None = None

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward: due timers fire, resident waiters look again.

        Raises:
            TypeError: The harness was made without `fake_clock=True`.
        """
        if not isinstance(self.clock, clock_module.FakeClock):
            raise TypeError("advance() needs tarry_test_harness(fake_clock=True)")
        self.clock.advance(seconds)

    def answer(
        self, run: RunRef, data: Any = None, *, key: str | None = None, responder: str = "test"
    ) -> answers.Submitted:
        """Answer a run's wait (or the one named `key`), validated like a form's answer.

        Raises:
            errors.InputInvalid: The answer does not fit; the run keeps waiting.
            errors.AlreadyAnswered: The wait was answered before.
            errors.NotWaiting: The run has no wait the answer could go to.
        """
        return answers.submit_input(
            _run_id(run), data, key=key, responder=responder, channel="test", hst=self.host
        )

    def send(
        self, run: RunRef, value: Any, *, key: str | None = None, sender: str = "test"
    ) -> records.MessageRecord:
        """Send a message to a run, as the web UI, API and `tarry send` do.

        Raises:
            errors.RunNotFound: No run has this id.
            errors.SerializationError: The value cannot be stored as JSON.
        """
        return service.send_message(_run_id(run), value, key=key, sender=sender, hst=self.host)

    def handle(self, run_id: str) -> RunHandle:
        """A handle on any run of the store, e.g. one started from a deployment."""
        return RunHandle(self, None, run_id)

    def start_worker(self, max_runs: int = 8) -> worker_module.Worker:
        """Start an in-process worker that executes Pending and orphaned runs.

        It picks up runs started from deployments (`tarry.deployments.start`) and
        runs whose caller stopped waiting; it stops with the harness.
        """
        if self.worker is None:
            self.worker = worker_module.Worker(self.host, max_runs=max_runs)
            self._worker_thread = threading.Thread(
                target=self.worker.run, name="tarry-test-worker", daemon=True
            )
            self._worker_thread.start()
        return self.worker

    def start_scheduler(self) -> scheduler.Scheduler:
        """Start the host's scheduler: deployments' schedules make runs (see docs/schedules.md).

        It runs a round before returning (the runs ahead are made), and on the fake
        clock each `advance` runs one at once, so when it returns the runs whose
        time came are Pending (and a worker executes them).
        """
        found = scheduler.ensure_scheduler(self.host)
        found.tick()
        return found

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

    def _runs_of(self, flow: Flow[..., Any]) -> list[records.RunRecord]:
        return self.store.list_runs(
            records.RunFilter(flow_name=flow.name, parent_id=None, limit=1000)
        )

    def _call(self, flow: Flow[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if flow.is_async:
            return asyncio.run(flow(*args, **kwargs))
        return flow(*args, **kwargs)

    def wait_for_state(
        self, run_id: str, *states: RunState, timeout: float = 10.0
    ) -> records.RunRecord:
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
        """Stop the worker and background runs' pool (their runs end with the host)."""
        if self.worker is not None:
            self.worker.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def join_worker(self, timeout: float = 10.0) -> None:
        """Wait for a stopped worker's thread (after the host closed its waiting runs)."""
        if self._worker_thread is not None:
            self._worker_thread.join(timeout)


@contextmanager
def tarry_test_harness(
    *, fake_clock: bool = False, worker: bool = False, scheduler: bool = False, **settings: Any
) -> Iterator[TestHarness]:
    """Run flows against a temporary SQLite store for the duration of the block.

    Args:
        fake_clock: Stop time until `TestHarness.advance` moves it.
        worker: Start an in-process worker (`TestHarness.start_worker`).
        scheduler: Start the scheduler (`TestHarness.start_scheduler`).
        **settings: `Settings` fields to override, e.g. `resident_seconds=0`.
    """
    with tempfile.TemporaryDirectory(prefix="tarry-test-") as folder:
        values: dict[str, Any] = {"sqlite_synchronous": "NORMAL", **settings}
        values["home"] = Path(folder)
        clock = clock_module.FakeClock() if fake_clock else None
        hst = host.Host(config.Settings(**values), clock=clock)
        previous = host.set_host(hst)
        harness = TestHarness(hst)
        if worker:
            harness.start_worker()
        if scheduler:
            harness.start_scheduler()
        try:
            yield harness
        finally:
            host.set_host(previous)
            harness.close()
            hst.close()
            harness.join_worker()


test_harness = tarry_test_harness
test_harness.__test__ = False  # type: ignore[attr-defined]
