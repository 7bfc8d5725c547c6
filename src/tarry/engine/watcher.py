"""The per-process watcher: fires due timers and relays answers given elsewhere.

One thread per host, started when something waits. Each tick is two indexed
queries for the whole process, never one per waiting run: waits whose deadline
passed, and waits closed since the last tick (answers that other processes
gave to runs parked or awaited here); what it does with their rows costs one
look-up each, whatever the number of runs waiting. Every few seconds it also
reads the states of some of the suspended runs awaited here, a bounded slice
each time, in turn, to notice runs that another process resumed and finished.

On a store that pushes what other processes change (PostgreSQL's
`LISTEN/NOTIFY`), each push is handled at once instead, the "closed since" query
becomes a safety poll every few seconds, and only the process holding the
store's timer duty fires due timers.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from tarry import clock as clock_module
from tarry import daemon, host
from tarry.engine import answers
from tarry.states import RunState, WaitStatus
from tarry.storage import wakeups

__all__ = ["Watcher", "ensure_watcher"]

_SKEW_SECONDS = 1.0
_DUE_BATCH = 500
_SWEEP_SECONDS = 5.0
# Runs whose states one sweep reads: 100,000 awaited runs are read in turn over
# 250 s instead of all every 5 s (seconds of CPU a minute, while nothing happens).
_SWEEP_BATCH = 2000
_SAFETY_POLL_SECONDS = 2.0
_RUN_NEWS = frozenset({"run_ready", "run_ended"})

# Named as before the engine package, so logging settings that name it still apply.
_log = logging.getLogger("tarry.watcher")


class Watcher(daemon.Daemon):
    """Fires due timers and relays closes of waits for one host."""

    def __init__(self, hst: host.Host) -> None:
        super().__init__("tarry-watcher")
        self.host = hst
        self._since = hst.clock.now() - _SKEW_SECONDS
        self._seen: dict[str, float] = {}
        self._to_sweep: list[str] = []
        self._tick_lock = threading.Lock()
        self._next_sweep = time.monotonic() + _SWEEP_SECONDS
        self._next_relay = 0.0
        self._next_tick = 0.0
        self._wakes: collections.deque[wakeups.Wake] = collections.deque()
        self._poked = False
        self._unlisten = hst.store.listen(self._on_wake)
        hst.on_close(self.stop)
        if isinstance(hst.clock, clock_module.FakeClock):
            hst.clock.on_advance(self._after_fake_advance)

    def stop(self) -> None:
        """Stop the thread."""
        if self._unlisten is not None:
            self._unlisten()
        super().stop()

    def poke(self) -> None:
        """Tick now instead of at the next interval."""
        self._poked = True
        self.kick()

    def _step(self) -> float:
        # A push is handled at once, but timers and the safety poll keep their
        # interval: pushes come with every run made Pending or ended, and a
        # query for due timers at each would cost more than all else a run costs.
        full = self._poked or time.monotonic() >= self._next_tick
        self._poked = False
        if full:
            self._next_tick = time.monotonic() + self.host.settings.poll_seconds
        try:
            if full:
                self.tick()
            else:
                self._handle_wakes_locked()
        except Exception:  # noqa: BLE001 - a failing store must not end the watcher
            _log.exception("the tarry watcher's tick failed; trying again")
        return max(0.0, self._next_tick - time.monotonic())

    def tick(self) -> None:
        """Fire due timers, then relay closes made by other processes."""
        with self._tick_lock:
            if self.stopping:
                return
            self._handle_wakes()
            if self.host.store.serves_timers():
                self.fire_due()
            if self._unlisten is None or time.monotonic() >= self._next_relay:
                self._next_relay = time.monotonic() + _SAFETY_POLL_SECONDS
                self.relay_closed()
            if time.monotonic() >= self._next_sweep:
                self.sweep_suspended()

    def _handle_wakes_locked(self) -> None:
        with self._tick_lock:
            if not self.stopping:
                self._handle_wakes()

    def _on_wake(self, wake: wakeups.Wake) -> None:
        # Called on the store's listening thread: queue it and let this thread work.
        # Every process hears of every run made Pending or ended, which matters only
        # where a caller awaits the run: the rest is dropped here, without a thread switch.
        if wake.event in _RUN_NEWS and self.host.hub.awaited_root(wake.run_id) is None:
            return
        self._wakes.append(wake)
        self.kick()

    def _handle_wakes(self) -> None:
        while self._wakes:
            wake = self._wakes.popleft()
            if wake.event == "resync":
                self._next_relay = 0.0
            elif wake.wait_id is not None:
                self._wait_closed(wake.wait_id, wake.run_id, self.host.clock.now())
            else:
                self._run_changed(wake)

    def _run_changed(self, wake: wakeups.Wake) -> None:
        if wake.event == "run_cancelled":
            self.host.abort([wake.run_id], "the run was cancelled")
        if self.host.hub.awaited_root(wake.run_id) is not None:
            self.host.hub.run_ready(wake.run_id)

    def _wait_closed(self, wait_id: str, run_id: str, at: float) -> None:
        """Relay one close made elsewhere, once: to its parked waiter and its run's caller."""
        hub = self.host.hub
        if wait_id in self._seen or hub.was_closed_here(wait_id):
            return
        self._seen[wait_id] = at
        if hub.is_parked(wait_id):
            self._deliver(wait_id)
        if hub.awaited_root(run_id) is not None:
            hub.run_ready(run_id)

    def fire_due(self) -> int:
        """Apply the timeout outcome of every wait whose deadline passed. Returns how many."""
        due = self.host.store.due_waits(self.host.clock.now(), _DUE_BATCH)
        return sum(answers.fire_timeout(self.host, wait) for wait in due)

    def relay_closed(self) -> None:
        """Wake waiters here whose waits another process closed."""
        hub = self.host.hub
        if not hub.anyone_waits():
            hub.forget_closed_before(self._since)
            return
        rows = self.host.store.closed_waits_since(self._since)
        for wait_id, run_id, closed_at in rows:
            self._wait_closed(wait_id, run_id, closed_at)
        self._advance(rows)

    def sweep_suspended(self) -> None:
        """Wake callers of suspended runs that became Pending or ended, in batched reads.

        Covers what no close relays: a run another process claimed and finished.
        Each sweep reads at most `_SWEEP_BATCH` runs, the next ones in turn.
        """
        self._next_sweep = time.monotonic() + _SWEEP_SECONDS
        if not self._to_sweep:
            self._to_sweep = self.host.hub.watched_roots()
            self._to_sweep.reverse()
        batch = self._to_sweep[-_SWEEP_BATCH:]
        del self._to_sweep[-_SWEEP_BATCH:]
        if not batch:
            return
        for run_id, state in self.host.store.run_states(batch).items():
            if state is RunState.PENDING or state.is_final:
                self.host.hub.run_ready(run_id)

    def _deliver(self, wait_id: str) -> None:
        wait = self.host.store.get_wait(wait_id)
        if wait is None:
            return
        if wait.status is WaitStatus.CANCELLED:
            self._abort_if_ended(wait.run_id)
            return
        step = self.host.store.get_step(wait.run_id, wait.step_key)
        if step is not None:
            self.host.hub.closed(wait_id, step)

    def _abort_if_ended(self, run_id: str) -> None:
        # A wait cancelled with its run (not a losing alternative): stop the run here.
        run = self.host.store.get_run(run_id)
        if run is not None and run.state.is_final:
            self.host.abort([run_id], run.state_reason or f"the run is {run.state.value}")

    def _advance(self, rows: list[tuple[str, str, float]]) -> None:
        if rows:
            self._since = max(self._since, rows[-1][2] - _SKEW_SECONDS)
        # Oldest first (closes arrive in order, give or take the skew): drop from the front.
        seen = self._seen
        while seen:
            first = next(iter(seen))
            if seen[first] >= self._since:
                break
            del seen[first]
        self.host.hub.forget_closed_before(self._since)

    def _after_fake_advance(self) -> None:
        self.tick()
        self.host.hub.kick_all()


def ensure_watcher(hst: host.Host) -> Watcher:
    """The host's watcher, started on first use."""
    found = hst.service(Watcher)
    found.start()
    return found
