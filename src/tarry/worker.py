"""Workers: claim runs that need a process and execute them.

A run needs a process when it is Pending, or Running under a lease whose holder
stopped: its lease expired, it names a process of this host that is gone, or
(PostgreSQL) its holder's liveness lock was released, which the store pushes
as an `owner_gone` wake-up within a quarter of a second of the holder's death.
Claimed runs are re-executed from the top and fast-forward through their journal.
`serve` deploys a flow and runs a worker in this process until interrupted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tarry import automation_runtime, deployments, errors, host, scheduler, work_pools
from tarry import schedules as scheduling
from tarry.engine import runs, spec, watcher
from tarry.outbound import dispatch
from tarry.states import RunState
from tarry.storage import records, wakeups

__all__ = ["Worker", "serve"]

logger = logging.getLogger("tarry.worker")
# `serve` came from tarry.deployments; its log line keeps that logger name.
_serve_log = logging.getLogger("tarry.deployments")

_EMPTY_CLAIM_PAUSE_SECONDS = 0.01
# A flow this process could not import is tried again after 1 s, then 2, 4 ... 60 s:
# a deploy that replaces files or a share that blinks delays its runs, never strands them.
_FIRST_RELOAD_SECONDS = 1.0
_MAX_RELOAD_SECONDS = 60.0


class _DaemonPool:
    """The threads that execute a worker's runs.

    Daemon threads, so that a run handed back at shutdown (its step still executing)
    does not keep the process alive, as the threads of a `ThreadPoolExecutor` would.
    Threads are kept, not made per run: a store keeps a connection per thread.
    """

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[cf.Future[None], Callable[[], None]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> cf.Future[None]:
        """Run `job` in a thread of the pool; its future settles when it returns."""
        future: cf.Future[None] = cf.Future()
        self._jobs.put((future, job))
        with self._lock:
            if len(self._threads) < self._size:
                name = f"{self._name}_{len(self._threads)}"
                thread = threading.Thread(target=self._serve, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - the job's caller reads it
                future.set_exception(exc)
            else:
                future.set_result(None)

    def shutdown(self, *, wait: bool = False) -> None:
        """Let the threads end once the jobs given so far are done (with `wait`: join them)."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        for thread in threads if wait else ():
            thread.join()


@dataclasses.dataclass
class _Reload:
    """When this worker may claim again a run whose flow it could not import."""

    failures: int
    not_before: float


class Worker:
    """Executes runs claimed from the store, several at a time.

    Args:
        hst: The process's host; `host.get_host()` when omitted.
        max_runs: The most runs executed at once.
        pool: The work pool it serves (made when missing, see `tarry.work_pools`).
        queues: The queues of the pool it serves, made when missing; all of the
            pool's when empty. Runs go by queue priority, then age, within the
            limits of the pool, the queues and the deployments.
    """

    def __init__(
        self,
        hst: host.Host | None = None,
        *,
        max_runs: int = 8,
        pool: str = work_pools.DEFAULT_POOL,
        queues: Sequence[str] = (),
    ) -> None:
        self.host = hst or host.get_host()
        self.max_runs = max_runs
        self.pool = pool
        self.queues = tuple(queues)
        self._pool = _DaemonPool(max_runs, "tarry-worker")
        self._running: set[cf.Future[None]] = set()
        self._executing: dict[cf.Future[None], str] = {}
        self._asked: set[str] = set()
        self._next_recovery = 0.0
        # Set when the store pushed `owner_gone`: the next claim takes over their runs.
        self._owners_gone = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handed_back = threading.Event()
        self._wake = threading.Event()
        self._maybe_more = False
        # Runs whose flow this process could not import: left to other workers, and
        # claimed again by this one after a backoff (`_Reload`), by monotonic time.
        self._unloadable: dict[str, _Reload] = {}
        # An answer or timer in this process wakes the claim loop at once.
        self.host.hub.on_ready(lambda _run_id: self._wake.set())

    def claim(self) -> list[records.RunRecord]:
        """Claim as many runs as there are free slots, and start executing them.

        Runs of its own that only wait in memory count as room too: for each run
        claimed beyond the free slots, the longest-waiting of them is asked to
        leave memory (it resumes by replay when answered), so waiting never
        blocks work.
        """
        with self._lock:
            free = self.max_runs - len(self._running)
            # Asked runs are on their way out; their slots are taken already.
            mine = set(self._executing.values()) - self._asked
        waiting = [run_id for run_id in self.host.hub.parked_run_ids() if run_id in mine]
        free = max(free, 0)
        if free + len(waiting) == 0:
            self._maybe_more = False
            return []
        limit = free + len(waiting)
        claimed, claimed_at = self._claim_runs(limit)
        # Fewer than asked: nothing else was ready, and whatever becomes ready from now
        # on announces itself (the claim loop clears its wake-up before claiming).
        self._maybe_more = len(claimed) == limit
        for run_id in waiting[: max(0, len(claimed) - free)]:
            with self._lock:
                self._asked.add(run_id)
            self.host.hub.ask_to_suspend(run_id)
        for run in claimed:
            # A run this claim started (no earlier start) has recorded nothing yet:
            # its empty journal need not be read.
            fresh = run.started_at == claimed_at
            future = self._pool.submit(functools.partial(self.execute, run, fresh=fresh))
            with self._lock:
                self._running.add(future)
                self._executing[future] = run.id
            future.add_done_callback(self._done)
        return claimed

    def _claim_runs(self, limit: int) -> tuple[list[records.RunRecord], float]:
        """The runs claimed, and the time given to the claim (a first start's `started_at`)."""
        store = self.host.store
        # Runs of processes that died are looked for every third of a lease, not at
        # every claim: the search reads every leased run, a claim only the oldest
        # ready ones. A store that saw a holder go says so (`owner_gone`) at once.
        periodic = time.monotonic() >= self._next_recovery
        if periodic:
            self._next_recovery = time.monotonic() + self.host.settings.lease_seconds / 3
        dead = self.host.dead_owners(store.lease_owners()) if periodic else []
        if self._owners_gone.is_set():
            self._owners_gone.clear()
            dead += store.gone_owners()
        now = time.time()
        claimed = store.claim_runs(
            self.host.owner,
            self.host.lease_until(),
            now,
            dead,
            limit=limit,
            exclude=self._not_to_claim(),
            recover=periodic or bool(dead),
            pool=self.pool,
            queues=self.queues,
        )
        return claimed, now

    def _not_to_claim(self) -> set[str]:
        # A run still executing here under an owner name this process gave up (its
        # liveness lock was lost) waits for that execution to stop before it is taken
        # over here; other processes may take it at once.
        with self._lock:
            executing = set(self._executing.values())
        return self._not_yet_loadable() | executing

    def _not_yet_loadable(self) -> set[str]:
        now = time.monotonic()
        with self._lock:
            # A run not retried long after its time went to another worker: forget it.
            stale = [
                k for k, r in self._unloadable.items() if now > r.not_before + _MAX_RELOAD_SECONDS
            ]
            for run_id in stale:
                del self._unloadable[run_id]
            return {k for k, r in self._unloadable.items() if r.not_before > now}

    def _done(self, future: cf.Future[None]) -> None:
        with self._lock:
            self._running.discard(future)
            self._asked.discard(self._executing.pop(future, ""))
        self._wake.set()

    def run(self, *, burst: bool = False) -> None:
        """Claim and execute runs until `stop()` (or, with `burst`, until none is left)."""
        poll = self.host.settings.worker_poll_seconds
        for served in self.queues or (work_pools.DEFAULT_QUEUE,):
            work_pools.ensure_work_queue(self.pool, served, hst=self.host)
        watcher.ensure_watcher(self.host)
        # Sends what any process queued, including processes that have gone.
        dispatch.ensure_dispatcher(self.host)
        # Automations act where the timers are served: any worker may be that process.
        automation_runtime.ensure_automations(self.host)
        unlisten = self.host.store.listen(self._on_wake)
        # Before the first claim: a run this worker holds is taken over at once if it dies.
        self.host.hold_owner(wait=True)
        try:
            self._claim_until_stopped(burst=burst, poll=poll)
        finally:
            if unlisten is not None:
                unlisten()
        self._wait_for_runs()
        self._pool.shutdown()

    def _wait_for_runs(self) -> None:
        # Until the runs in progress end, or `shutdown` hands back those that did not.
        while not self._handed_back.is_set():
            with self._lock:
                running = list(self._running)
            if not running:
                return
            cf.wait(running, timeout=0.1)

    def _on_wake(self, wake: wakeups.Wake) -> None:
        if wake.event == "owner_gone":
            self._owners_gone.set()
        if wake.event in ("run_ready", "resync", "owner_gone"):
            self._wake.set()  # another process made a run Pending, or died: claim now

    def _claim_until_stopped(self, *, burst: bool, poll: float) -> None:
        while not self._stop.is_set():
            # Cleared before looking, so a run ending meanwhile still wakes us.
            self._wake.clear()
            claimed = self.claim()
            with self._lock:
                busy = bool(self._running)
            if burst and not claimed and not busy:
                break
            if claimed and self._maybe_more:
                continue  # every slot asked for was filled: more may be ready
            if not claimed:
                # Nothing to take: other workers were quicker. Every run made Pending
                # wakes every worker, so a worker that lost pauses a moment before it
                # claims again: the runs announced meanwhile share one claim, not one each.
                self._stop.wait(min(_EMPTY_CLAIM_PAUSE_SECONDS, poll))
                self._wake.wait(poll)

    def stop(self) -> None:
        """Ask `run` to return once the runs in progress have finished."""
        self._stop.set()
        self._wake.set()

    def shutdown(self, grace: float) -> list[str]:
        """Stop claiming, and hand back within about `grace` seconds what this worker holds.

        Waiting runs leave memory (they resume by replay when answered); runs in
        progress have `grace` seconds to finish, then go back to Pending for any
        worker, which replays them from their journal (the step that was executing
        runs again). `run` then returns; the threads of runs handed back are left to
        end with the process.

        Args:
            grace: Seconds the runs in progress may take to finish.

        Returns:
            The ids of the runs handed back.
        """
        self.stop()
        self.host.hub.ask_to_suspend()
        with self._lock:
            running = list(self._running)
        cf.wait(running, timeout=grace)
        # A wait reached meanwhile leaves memory too.
        self.host.hub.ask_to_suspend()
        with self._lock:
            # Read again: a claim under way when `stop` was called may have added runs.
            late = [run_id for f, run_id in self._executing.items() if not f.done()]
        handed = [run_id for run_id in late if self._hand_back(run_id)]
        self._handed_back.set()
        return handed

    def _back_to_pending(self, reason: str) -> records.StateChange:
        # Only while this worker still holds the run: a run taken over meanwhile stays as is.
        return records.StateChange(
            RunState.PENDING,
            at=time.time(),
            reason=reason,
            lease_owner=None,
            lease_expires_at=None,
            require_owner=self.host.owner,
        )

    def _hand_back(self, run_id: str) -> bool:
        logger.warning("run %s handed back: this worker is stopping", run_id)
        change = self._back_to_pending(
            f"worker {self.host.owner} stopped during the run; any worker resumes it"
        )
        return self.host.store.transition(run_id, (RunState.RUNNING,), change) is not None

    def execute(self, run: records.RunRecord, *, fresh: bool = False) -> None:
        """Execute one claimed run to its final state; its outcome is in the store.

        Args:
            run: The run, as claimed.
            fresh: The run never started before this claim, so its journal is empty.
        """
        journal_steps: list[records.StepRecord] | None = [] if fresh else None
        try:
            # A file that blocks at import must not hold this worker's thread for ever.
            flow = spec.load_flow(
                run.entrypoint,
                timeout=self.host.settings.worker_import_timeout_seconds,
                limit_name="TARRY_WORKER_IMPORT_TIMEOUT_SECONDS",
            )
        except errors.FlowLoadError as exc:
            self._release(run, exc)
            return
        with self._lock:
            self._unloadable.pop(run.id, None)
        try:
            if flow.is_async:
                asyncio.run(
                    runs.execute_run_async(self.host, flow, run, journal_steps=journal_steps)
                )
            else:
                runs.execute_run(self.host, flow, run, journal_steps=journal_steps)
        except errors.ControlSignal as signal:
            logger.info("run %s left this worker: %s", run.id, signal)
        except Exception:
            logger.debug("run %s failed", run.id, exc_info=True)

    def _release(self, run: records.RunRecord, exc: errors.FlowLoadError) -> None:
        # The run itself is fine; only this process lacks its code (another folder,
        # another version, a file being replaced). It goes back to Pending for a worker
        # that has it, and this one tries again later.
        with self._lock:
            first = run.id not in self._unloadable
        delay = self._back_off(run.id)
        logger.error(
            "run %s left for another worker, or this one in %.0f s: %s", run.id, delay, exc
        )
        if first:  # said once in the run's log, not at every attempt
            self._log_to_run(
                run.id,
                f"worker {self.host.owner} cannot load the flow: {exc}; "
                "it will try again, waiting longer each time (up to "
                f"{_MAX_RELOAD_SECONDS:.0f} s), and any worker that can load it may run it",
            )
        change = self._back_to_pending(f"worker {self.host.owner} cannot load its flow: {exc}")
        self.host.store.transition(run.id, (RunState.RUNNING,), change)

    def _back_off(self, run_id: str) -> float:
        """Seconds until this worker claims `run_id` again; doubles at each failure."""
        with self._lock:
            failures = self._unloadable[run_id].failures + 1 if run_id in self._unloadable else 1
            delay = min(_FIRST_RELOAD_SECONDS * 2.0 ** (failures - 1), _MAX_RELOAD_SECONDS)
            self._unloadable[run_id] = _Reload(failures, time.monotonic() + delay)
        return delay

    def _log_to_run(self, run_id: str, message: str) -> None:
        line = records.LogRecord(
            run_id=run_id,
            at=time.time(),
            level=logging.WARNING,
            message=message,
            logger=logger.name,
        )
        # Written with the transition that follows (stores batch log lines).
        self.host.store.add_logs([line])


def serve(
    flow: spec.FlowSpec[..., Any],
    name: str | None = None,
    *,
    parameters: dict[str, Any] | None = None,
    limit: int = 8,
    schedules: Sequence[scheduling.Schedule] | None = None,
    paused: bool | None = None,
    description: str | None = None,
    tags: tuple[str, ...] = (),
    work_pool_name: str | None = None,
    work_queue_name: str | None = None,
    concurrency_limit: int | work_pools.ConcurrencyLimitConfig | None = None,
    hst: host.Host | None = None,
) -> None:
    """Deploy `flow` and execute its runs (and any other runnable run of its pool) here.

    While it serves, this process's scheduler makes the runs of every active
    schedule of the store (see docs/schedules.md).

    Blocks until interrupted (Ctrl-C); the runs in progress have
    `TARRY_SHUTDOWN_GRACE_SECONDS` to finish before they are handed back to any
    worker, and waiting runs leave memory, to resume in any process when answered.

    Args:
        flow: The flow to serve.
        name: The deployment's own name; the flow's name when omitted.
        parameters: Default parameters of its runs.
        limit: The most runs executed at once.
        schedules: Its schedules (see `deployments.deploy`).
        paused: Store its schedules paused (`True`) or active (`False`).
        description: Markdown shown with it; the flow's docstring when omitted.
        tags: Tags of the deployment.
        work_pool_name: The pool of its runs (`default`); this process serves
            every queue of it.
        work_queue_name: The queue of that pool its runs wait in (`default`).
        concurrency_limit: The most of its runs at once (see `deployments.deploy`).
        hst: The host; this process's by default.
    """
    hst = hst or host.get_host()
    deployment = deployments.deploy(
        flow,
        name,
        parameters=parameters,
        description=description,
        tags=tags,
        schedules=schedules,
        paused=paused,
        work_pool_name=work_pool_name,
        work_queue_name=work_queue_name,
        concurrency_limit=concurrency_limit,
        hst=hst,
    )
    scheduler.ensure_scheduler(hst)
    runner = Worker(hst, max_runs=limit, pool=deployment.work_pool)
    _serve_log.info("serving %s (%s); Ctrl-C stops", deployment.name, flow.entrypoint)
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.shutdown(hst.settings.shutdown_grace_seconds)
