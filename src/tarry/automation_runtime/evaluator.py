"""The evaluator: reads new events in order, feeds the triggers, commits what they decided.

One process evaluates at a time: the one that serves timers (PostgreSQL: the holder of
the timer duty lock; SQLite and memory: every process, and the store's cursor check
makes a racing second one write nothing). A round reads up to `BATCH` events after
the cursor, feeds them to the `triggers.evaluate.Evaluator`, runs the timers due, and
commits the states, timers, firings with their pending actions and the new cursor in
one transaction (`store.commit_evaluation`). A commit refused (another process
committed first) or a failure drops the evaluator's memory: the next round starts from
what is stored, so nothing is evaluated twice or skipped.

The first round ever (nothing committed yet) starts at the newest event: automations see
the events from then on, not the history a store already holds.

Events stored in this process kick it at once (`store.subscribe_events`), and on
PostgreSQL so do other processes'; otherwise it polls every `POLL_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tarry import clock as clock_module
from tarry import daemon, host
from tarry.automation_runtime import commits, loading
from tarry.triggers import changes, evaluate

__all__ = ["BATCH", "POLL_SECONDS", "AutomationEvaluator"]

_log = logging.getLogger("tarry.automations")

BATCH = 500
"""The most events one round reads."""
POLL_SECONDS = 0.1
"""The longest a round waits for events stored by another process (without a push)."""
#: How often the stored automations are read again (an in-process change reloads at once).
_RELOAD_SECONDS = 1.0
#: The longest the stored cursor stays behind events that changed nothing.
_CURSOR_SECONDS = 1.0
#: After a failed round.
_RETRY_SECONDS = 1.0


class AutomationEvaluator(daemon.Daemon):
    """Evaluates the enabled automations of one host's store against its events.

    Args:
        hst: The host.
    """

    def __init__(self, hst: host.Host) -> None:
        super().__init__("tarry-automations")
        self.host = hst
        self.on_commit: Callable[[list[changes.Firing]], None] = lambda _firings: None
        """Called after each commit with its firings (the action runner kicks itself)."""
        self._lock = threading.Lock()
        self._loader = loading.Loader()
        self._evaluator: evaluate.Evaluator | None = None
        self._automations: dict[str, loading.Loaded] = {}
        self._cursor = 0
        self._read_to = 0
        self._commits = 0
        self._committed_at = float("-inf")
        self._loaded_at = float("-inf")
        self._signature: dict[str, str] | None = None
        self._unsubscribe = hst.store.subscribe_events(self.kick)
        hst.on_close(self.stop)
        if isinstance(hst.clock, clock_module.FakeClock):
            hst.clock.on_advance(self.kick)

    def stop(self) -> None:
        """Stop the thread and the event subscription (safe to call twice)."""
        self._unsubscribe()
        super().stop()

    @property
    def read_to(self) -> int:
        """The `seq` of the last event evaluated (committed now, or within a second)."""
        return self._read_to

    def reload(self) -> None:
        """Read the automations again at the next round (one was made or changed here)."""
        self._loaded_at = float("-inf")
        self.kick()

    def _step(self) -> float:
        try:
            if not self.host.store.serves_timers():
                self._evaluator = (
                    None  # another process evaluates; start afresh if this one takes over
                )
                return _RETRY_SECONDS
            if self.evaluate_once():
                return 0.0
            return self._idle()
        except Exception:  # noqa: BLE001 - a failing store must not end the evaluator
            _log.exception("the tarry automation evaluator's round failed; trying again")
            self._evaluator = None
            return _RETRY_SECONDS

    def _idle(self) -> float:
        due = self._evaluator.next_due() if self._evaluator is not None else None
        if due is None or isinstance(self.host.clock, clock_module.FakeClock):
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, due - self.host.clock.now()))

    def evaluate_once(self) -> bool:
        """Run one round now, on the calling thread.

        Returns:
            Whether it read a full batch (more events may be waiting).
        """
        with self._lock:
            if self.stopping:
                return False
            evaluator, step = self._ready()
            events = self.host.store.events_after(self._read_to, BATCH)
            step.merge(evaluator.feed_many(events))
            now = self.host.clock.now()
            # Behind a backlog, time stops at the last event read: a deadline is judged
            # only once every event that came before it has been seen.
            full = len(events) == BATCH
            step.merge(evaluator.tick(min(now, events[-1].occurred) if full else now))
            if events:
                self._read_to = events[-1].seq
            if step or self._cursor_due():
                self._commit(step, self._read_to, now)
            return full

    def _cursor_due(self) -> bool:
        # Events that changed nothing need no commit of their own: the cursor moves past
        # them with the next commit, or within a second (re-reading them after a crash
        # changes nothing either). So an automation's own events cost no write.
        if self._commits == 0:
            return True  # the first round ever commits where it starts
        behind = self._read_to != self._cursor
        return behind and time.monotonic() - self._committed_at >= _CURSOR_SECONDS

    def _ready(self) -> tuple[evaluate.Evaluator, changes.Changes]:
        if self._evaluator is None:
            state = self.host.store.evaluator_state()
            self._cursor, self._commits = state.cursor, state.commits
            self._read_to = state.cursor
            if state.commits == 0 and state.cursor == 0:
                # Never evaluated: automations see the events from now on, not a store's
                # history (events written before this code ran, say).
                self._read_to = self.host.store.last_event_seq()
            self._evaluator = evaluate.Evaluator(
                {},
                {(s.automation_id, s.key): s.state for s in state.states},
                {(t.automation_id, t.key): t.due_at for t in state.timers},
            )
            self._loaded_at = float("-inf")
            self._signature = None
        if time.monotonic() - self._loaded_at < _RELOAD_SECONDS:
            return self._evaluator, changes.Changes()
        self._loaded_at = time.monotonic()
        self._automations = self._loader.load(self.host.store)
        enabled = {aid: a for aid, a in self._automations.items() if a.record.enabled}
        signature = {aid: a.record.trigger for aid, a in enabled.items()}
        if signature == self._signature:
            return self._evaluator, changes.Changes()
        self._signature = signature
        triggers = {aid: a.trigger for aid, a in enabled.items()}
        return self._evaluator, self._evaluator.set_automations(triggers)

    def _commit(self, step: changes.Changes, cursor_after: int, now: float) -> None:
        commit = commits.build(
            step,
            cursor_before=self._cursor,
            cursor_after=cursor_after,
            commits_before=self._commits,
            automations=self._automations,
            now=now,
        )
        if not self.host.store.commit_evaluation(commit):
            _log.info("another process evaluated these events first; reading its state")
            self._evaluator = None
            return
        self._cursor, self._commits = cursor_after, self._commits + 1
        self._committed_at = time.monotonic()
        if step.firings:
            self._announce(step.firings)

    def _announce(self, firings: list[changes.Firing]) -> None:
        found = [
            commits.automation_event(f, self._automations.get(f.automation_id)) for f in firings
        ]
        try:
            # News only (the firings are committed): no wait for the disk.
            self.host.store.add_events(found, durable=False)
        except Exception:  # noqa: BLE001 - the firings are committed; their events are news only
            _log.exception("the events of %d automation firings could not be stored", len(found))
        self.on_commit(firings)
