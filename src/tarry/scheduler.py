"""The scheduler: makes deployments' runs ahead as Scheduled rows, and releases them on time.

One per host (a `daemon.Daemon`), started by `tarry server` and `flow.serve`, on two
threads:

* the planning thread, every `MAX_IDLE_SECONDS`, makes for every active schedule
  the runs of its slots up to `AHEAD_SECONDS` ahead (and at least `MIN_AHEAD` of
  them), as Scheduled runs keyed `(deployment, slot time)`, so two schedulers on
  one database make each run once;
* the planning thread also deletes the events past their retention, every
  `SWEEP_SECONDS` (`event_service.sweep`);
* the releasing thread makes the runs whose time came Pending (workers claim them
  at once), after applying the schedule's `missed` policy to slots that passed
  while no scheduler ran, then idles until the next slot is due (at most
  `MAX_IDLE_SECONDS`), so a run is released within milliseconds of its time.

Time is read from the host's clock: on a `FakeClock` every `advance` runs a round
(planning, then releasing) at once, on the advancing thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence

from tarry import clock as clock_module
from tarry import daemon, event_service, host, names, schedules, serialization
from tarry.states import RunState
from tarry.storage import records

__all__ = [
    "AHEAD_SECONDS",
    "GRACE_SECONDS",
    "MAX_AHEAD",
    "MAX_IDLE_SECONDS",
    "MIN_AHEAD",
    "SWEEP_SECONDS",
    "Scheduler",
    "ensure_scheduler",
    "scheduled_run_id",
]

AHEAD_SECONDS = 600.0
"""Runs are made this far ahead of their time."""
MIN_AHEAD = 3
"""At least this many runs of each schedule are made ahead, however far away."""
MAX_AHEAD = 100
"""At most this many runs of a schedule are made ahead (as Prefect)."""
MAX_IDLE_SECONDS = 1.0
"""The longest the scheduler idles: schedules another process stored are seen this soon."""
GRACE_SECONDS = 60.0
"""A slot due this long before the scheduler looked is late, not yet missed."""
SWEEP_SECONDS = 60.0
"""How often the planning thread deletes the events past their retention."""
_MAX_MISSED = 1000
_RELEASE_BATCH = 500
_SLOT_NAMESPACE = uuid.UUID("3b8f2d6a-91c4-4e57-a0b3-7c5d9e1f2a64")

_log = logging.getLogger("tarry.scheduler")


def scheduled_run_id(deployment: str, slot_at: float) -> str:
    """The id of the run of `deployment` due at `slot_at`: every scheduler makes the same."""
    return str(uuid.uuid5(_SLOT_NAMESPACE, f"{deployment}@{slot_at!r}"))


class Scheduler(daemon.Daemon):
    """Makes and releases the scheduled runs of one host's store.

    Its thread releases runs on time; planning (which writes the runs ahead, a
    transaction per schedule) runs on a second thread, so a round of planning never
    delays a release.
    """

    def __init__(self, hst: host.Host) -> None:
        super().__init__("tarry-scheduler")
        self.host = hst
        self._plan_lock = threading.Lock()
        self._release_lock = threading.Lock()
        # Slots due before this (less the grace) passed while no scheduler of this
        # process looked: the `missed` policy decides what becomes of them.
        self._looked_at = hst.clock.now()
        self._schedules: dict[tuple[str, str], records.ScheduleRecord] = {}
        # When a sparse schedule (whose `MIN_AHEAD` runs reach past `AHEAD_SECONDS`)
        # is planned again: at its next slot, so `MIN_AHEAD` stay ahead.
        self._recheck: dict[tuple[str, str], float] = {}
        self._planner = _Planner(self)
        hst.on_close(self.stop)
        if isinstance(hst.clock, clock_module.FakeClock):
            hst.clock.on_advance(self._after_fake_advance)

    def start(self) -> None:
        """Start the releasing and the planning threads (once)."""
        super().start()
        self._planner.start()

    def stop(self) -> None:
        """Stop both threads (safe to call twice)."""
        self._planner.stop()
        super().stop()

    def _step(self) -> float:
        try:
            self._release_now()
            return self._idle()
        except Exception:  # noqa: BLE001 - a failing store must not end the scheduler
            _log.exception("the tarry scheduler's round failed; trying again")
            return MAX_IDLE_SECONDS

    def _idle(self) -> float:
        now = self.host.clock.now()
        upcoming = self.host.store.due_slots(now + MAX_IDLE_SECONDS, 1)
        return max(0.0, upcoming[0].slot_at - now) if upcoming else MAX_IDLE_SECONDS

    def tick(self) -> list[str]:
        """Plan, then release what is due, on this thread.

        Returns:
            The ids of the runs made Pending.
        """
        self.plan_now()
        return self._release_now()

    def plan_now(self) -> int:
        """Plan at the clock's time, unless stopped. Returns how many runs were made."""
        with self._plan_lock:
            if self.stopping:
                return 0
            made = self.plan(self.host.clock.now())
        if made:
            self.kick()  # a run made now may be due before the release thread wakes
        return made

    def _release_now(self) -> list[str]:
        with self._release_lock:
            if self.stopping:
                return []
            now = self.host.clock.now()
            released = self.release(now)
            self._looked_at = now
            return released

    def _after_fake_advance(self) -> None:
        # At once, on the advancing thread: after `advance` returns, what came due is Pending.
        self.tick()

    # -- planning ---------------------------------------------------------------

    def plan(self, now: float) -> int:
        """Make the runs ahead of every active schedule. Returns how many were made."""
        active = self.host.store.list_schedules(active_only=True)
        self._schedules = {(s.deployment, s.slug): s for s in active}
        deployments: dict[str, records.DeploymentRecord | None] = {}
        made = 0
        for schedule in active:
            recheck = self._recheck.get((schedule.deployment, schedule.slug), float("inf"))
            if not _needs_runs(schedule, now) and now < recheck:
                continue
            if schedule.deployment not in deployments:
                deployments[schedule.deployment] = self.host.store.get_deployment(
                    schedule.deployment
                )
            found = deployments[schedule.deployment]
            if found is not None:
                made += self._plan_one(found, schedule, now)
        return made

    def _plan_one(
        self, deployment: records.DeploymentRecord, schedule: records.ScheduleRecord, now: float
    ) -> int:
        when = schedules.from_json(schedule.schedule)
        start = now if schedule.made_until is None else schedule.made_until
        cutoff = self._looked_at - GRACE_SECONDS
        missed = _kept(schedules.slots(when, start, cutoff, _MAX_MISSED), schedule.missed)
        horizon, nearest = _horizon(when, now)
        if horizon > now + AHEAD_SECONDS and nearest:
            self._recheck[(schedule.deployment, schedule.slug)] = nearest
        ahead = schedules.slots(when, max(start, cutoff), horizon, MAX_AHEAD)
        slot_ats = [*missed, *ahead]
        runs = [(_slot(schedule, at), _run(deployment, schedule, at, now)) for at in slot_ats]
        made = self.host.store.add_scheduled_runs(schedule, runs, max(horizon, start))
        return len(made)

    # -- releasing --------------------------------------------------------------

    def release(self, now: float) -> list[str]:
        """Make the runs due by `now` Pending, after each schedule's `missed` policy."""
        released: list[str] = []
        while not self.stopping:
            due = self.host.store.due_slots(now, _RELEASE_BATCH)
            if not due:
                break
            keep, drop = self._by_policy(due)
            reason = "missed while no scheduler ran (its schedule's missed policy)"
            ready = self.host.store.release_slots(keep, drop, now, reason)
            for run_id in ready:
                self.host.hub.run_ready(run_id)
            released += ready
            if len(due) < _RELEASE_BATCH:
                break
        return released

    def _by_policy(
        self, due: Sequence[records.SlotRecord]
    ) -> tuple[list[records.SlotRecord], list[records.SlotRecord]]:
        cutoff = self._looked_at - GRACE_SECONDS
        keep = [slot for slot in due if slot.slot_at >= cutoff]
        missed: dict[tuple[str, str], list[records.SlotRecord]] = {}
        for slot in due:
            if slot.slot_at < cutoff:
                missed.setdefault((slot.deployment, slot.slug), []).append(slot)
        drop: list[records.SlotRecord] = []
        for key, slots in missed.items():
            kept = _kept_slots(slots, self._policy(key))
            keep += kept
            drop += [slot for slot in slots if slot not in kept]
        return keep, drop

    def _policy(self, key: tuple[str, str]) -> str:
        found = self._schedules.get(key)
        # A slot of a schedule paused or removed meanwhile would have been deleted with it.
        return "all" if found is None else found.missed


class _Planner(daemon.Daemon):
    """The scheduler's planning thread: plans every `MAX_IDLE_SECONDS`."""

    def __init__(self, scheduler: Scheduler) -> None:
        super().__init__("tarry-scheduler-plan")
        self._scheduler = scheduler
        self._next_sweep = 0.0

    def _step(self) -> float:
        try:
            self._scheduler.plan_now()
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + SWEEP_SECONDS
                hst = self._scheduler.host
                event_service.sweep(hst, hst.clock.now())
        except Exception:  # noqa: BLE001 - a failing store must not end the planner
            _log.exception("the tarry scheduler's planning failed; trying again")
        return MAX_IDLE_SECONDS


def _needs_runs(schedule: records.ScheduleRecord, now: float) -> bool:
    # Planned again once half the look-ahead is used, not at every round.
    return schedule.made_until is None or schedule.made_until < now + AHEAD_SECONDS / 2


def _horizon(when: schedules.Schedule, now: float) -> tuple[float, float | None]:
    """How far ahead to make runs, and the next slot after `now` (`None`: no more)."""
    nearest = schedules.slots(when, now, float("inf"), MIN_AHEAD)
    return max([now + AHEAD_SECONDS, *nearest]), nearest[0] if nearest else None


def _kept(slot_ats: list[float], policy: str) -> list[float]:
    if policy == "all":
        return slot_ats
    if policy == "latest":
        return slot_ats[-1:]
    return []


def _kept_slots(slots: list[records.SlotRecord], policy: str) -> list[records.SlotRecord]:
    if policy == "all":
        return slots
    if policy == "latest":
        return [max(slots, key=lambda slot: slot.slot_at)]
    return []


def _slot(schedule: records.ScheduleRecord, slot_at: float) -> records.SlotRecord:
    run_id = scheduled_run_id(schedule.deployment, slot_at)
    return records.SlotRecord(schedule.deployment, slot_at, schedule.slug, run_id)


def _run(
    deployment: records.DeploymentRecord,
    schedule: records.ScheduleRecord,
    slot_at: float,
    now: float,
) -> records.RunRecord:
    merged = {
        **serialization.loads(deployment.parameters),
        **serialization.loads(schedule.parameters),
    }
    return records.RunRecord(
        id=scheduled_run_id(deployment.name, slot_at),
        name=names.run_name(),
        flow_name=deployment.flow_name,
        entrypoint=deployment.entrypoint,
        parameters=serialization.dumps(merged),
        state=RunState.SCHEDULED,
        created_at=now,
        state_reason=f"scheduled for {_iso(slot_at)} by {schedule.slug}",
        tags=deployment.tags,
        deployment=deployment.name,
        work_pool=deployment.work_pool,
        work_queue=deployment.work_queue,
    )


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def ensure_scheduler(hst: host.Host) -> Scheduler:
    """The host's scheduler, started on first use."""
    found = hst.service(Scheduler)
    found.start()
    return found
