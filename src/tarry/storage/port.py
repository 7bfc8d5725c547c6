"""The storage port: the `Store` protocol every adapter implements, as 16 small protocols.

`Store` is the union of `RunStore`, `LeaseStore`, `JournalStore`, `WaitStore`,
`EarlyInputStore`, `MessageStore`, `CatalogStore`, `ScheduleStore`,
`WorkPoolStore`, `LimitStore`, `CacheStore`, `EventStore` (in `port_events`),
`OutboxStore`, `AutomationStore` (in `port_automations`), `WebhookStore` (in
`port_webhooks`) and `Wakeups`, plus its
lifecycle (`migrate`, `close`). Code that needs one theme may annotate with
that theme's protocol, so a test can hand it a small fake; `Host.store` stays a
full `Store`. The records they take and return are in `records`.

Writes that return are durable to the degree the adapter promises (SQLite with
`synchronous=FULL`: they survive power loss), except `add_logs`, which may be
batched with the next write.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from tarry.states import RunState
from tarry.storage import limits, outbox, port_automations, port_webhooks, records, wakeups
from tarry.storage.port_events import EventStore

__all__ = [
    "CacheStore",
    "CatalogStore",
    "EarlyInputStore",
    "EventStore",
    "JournalStore",
    "LeaseStore",
    "LimitStore",
    "MessageStore",
    "OutboxStore",
    "RunStore",
    "ScheduleStore",
    "Store",
    "WaitStore",
    "Wakeups",
    "WorkPoolStore",
]


class RunStore(Protocol):
    """Runs: create, read, list and change state with preconditions."""

    def insert_run(self, run: records.RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """Store a new run and its first transition, atomically.

        With `durable=False` the write survives a process crash at once but may
        reach stable storage only with the store's next durable write; a process
        that creates a run and executes it itself uses that to save a flush.

        Returns:
            `False`, and changes nothing, when a run with this id exists.
        """

    def get_run(self, run_id: str) -> records.RunRecord | None:
        """The run with this id, or `None`."""

    def run_states(self, run_ids: Sequence[str]) -> dict[str, RunState]:
        """The state of each of `run_ids` that exists (one query, for many runs)."""

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to `limit` run ids that start with `prefix`, in id order (empty when none)."""

    def list_runs(self, where: records.RunFilter) -> list[records.RunRecord]:
        """Runs matching `where`, newest first."""

    def get_transitions(self, run_id: str) -> list[records.TransitionRecord]:
        """The run's state changes, oldest first."""

    def transition(
        self, run_id: str, expected: Collection[RunState], change: records.StateChange
    ) -> records.RunRecord | None:
        """Apply `change` if the run is in one of the `expected` states.

        When `change.require_owner` is set, the run must also be leased to it.

        The state, the fields of `change` and a transition row are written in one
        transaction. `ended_at` is set on entering a final state, `started_at` on
        first entering Running.

        Returns:
            The updated run, or `None` (nothing written) when the run is missing or
            in another state.
        """


class LeaseStore(Protocol):
    """Which process executes which top-level run: claims and leases."""

    def claim_runs(
        self,
        owner: str,
        lease_expires_at: float,
        now: float,
        dead_owners: Collection[str],
        *,
        limit: int,
        exclude: Collection[str] = (),
        recover: bool = True,
        pool: str = records.DEFAULT_POOL,
        queues: Collection[str] = (),
    ) -> list[records.RunRecord]:
        """Take up to `limit` top-level runs that need a process, atomically.

        Claimable: Pending runs, and Running runs whose lease expired before `now`
        or whose holder is in `dead_owners`. Each claimed run becomes Running with
        `owner`'s lease, and a transition row says why. Child runs are never
        claimed: their parent's replay re-enters them, nor are runs in `exclude`.
        With `recover=False` only Pending runs are claimed (the search for runs of
        gone processes reads every leased run; workers make it now and then).
        A run claimed for the first time gets `started_at = now`; one that started
        before keeps its own, so `started_at == now` tells the caller that the run
        has no journal yet.

        Only runs of `pool` are claimed, and of its `queues` (all its queues when
        empty). Pending runs go by queue priority (lower first), then age; none is
        claimed from a paused pool or queue, nor beyond the concurrency limit of its
        queue, its pool or its deployment (`claiming.pick` says how; leased Running
        and Waiting runs hold the slots). A Pending run of a `CANCEL_NEW` deployment
        that is at its limit is Cancelled instead. Runs taken over from gone
        processes hold their slots already and are claimed whatever the limits.

        Returns:
            The claimed runs as updated.
        """

    def lease_owners(self) -> list[str]:
        """Distinct lease holders of Running runs."""

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """Extend every lease `owner` holds on a Running run. Returns how many."""

    def hold_owner(self, owner: str, on_lost: Callable[[], None], *, wait: bool = False) -> bool:
        """Let other processes see at once when `owner`, a lease holder here, is gone.

        A store shared by processes that can (PostgreSQL) holds a lock for `owner`
        that the database itself releases when this process's connection ends, and
        registers `owner` once the lock is held; `gone_owners` in other processes
        then names it, and they take its runs over without waiting for its leases
        to expire. The lock is taken and held on a connection of its own by a
        background thread, within a moment of this call (until then, leases alone
        protect `owner`'s runs); with `wait`, this call returns once it is held.

        If that connection ends while this process lives, other processes may be
        taking `owner`'s runs over already: `on_lost` is called (from that thread)
        and the process must not act as `owner` again (no more steps, renewals or
        claims under that name). The lock is never taken again for `owner`.

        Returns:
            Whether this store can tell (`False`: leases alone say who is gone).
        """

    def gone_owners(self) -> list[str]:
        """Owners gone at once: registered by `hold_owner`, lock released, leasing top-level runs.

        Their runs may be claimed at once (pass them to `claim_runs`). Registered
        owners that are gone and lease nothing are forgotten. Empty on a store that
        cannot tell. Never names an owner this process holds.
        """


class JournalStore(Protocol):
    """A run's journal of steps and its log lines."""

    def put_step(self, step: records.StepRecord, *, owner: str | None = None) -> bool:
        """Record a step, replacing an entry with the same run and key.

        With `owner`, only while that process holds the run's lease: a process that
        lost the run (paused past its lease, another took it over) cannot overwrite
        the journal. Returns whether the step was recorded.
        """

    def get_steps(self, run_id: str) -> list[records.StepRecord]:
        """The run's journal in key order (empty when none)."""

    def get_step(self, run_id: str, key: str) -> records.StepRecord | None:
        """One journal entry of the run, or `None`."""

    def add_logs(self, logs: Sequence[records.LogRecord]) -> None:
        """Append log lines. They may be written with the next write, not at once."""

    def get_logs(self, run_id: str, limit: int = 1000) -> list[records.LogRecord]:
        """The run's first `limit` log lines in the order they were logged."""


class WaitStore(Protocol):
    """What runs wait for, and the atomic changes that close waits.

    `suspend_runs` and `cancel_run` change runs and close waits in one transaction;
    they live here because the wait is what they close.
    """

    def open_waits(
        self, waits: Sequence[records.WaitRecord], change: records.StateChange
    ) -> list[records.WaitRecord]:
        """Store the waits of one journal key and move their run to Waiting, atomically.

        Waits already stored are skipped; `change` applies only if the run is Running
        and none of the waits at that key is closed yet. A MESSAGE wait is closed at
        once with the oldest pending message it takes. Adapters may commit this
        lazily: a run whose wait was lost opens it again when it is recovered.

        Returns:
            The waits stored at that key, as they are now (some may be closed).
        """

    def close_wait(self, close: records.WaitClose) -> records.WaitClosed | None:
        """Answer or time out a wait if it is still open, atomically.

        One transaction writes the wait, cancels its other alternatives, writes the
        journal entry and consumes the early input. If the waiting run is resident
        (Waiting with a lease) it goes back to Running; if its top-level run is
        suspended (Waiting with no lease), that run moves on as `close.resume_as`
        says (Pending by default).

        Returns:
            What was done (`won=False` and the wait as it is when it was closed
            before), or `None` when no wait has that id.
        """

    def suspend_runs(
        self,
        run_ids: Sequence[str],
        wait_ids: Sequence[str],
        *,
        owner: str,
        at: float,
        reason: str,
    ) -> bool:
        """Release the leases of a waiting run and its ancestors, atomically.

        `run_ids` (all leased to `owner`) become Waiting with no lease, if every wait
        in `wait_ids` is still open.

        Returns:
            `False`, and nothing changed, when one of the waits was closed meanwhile.
        """

    def cancel_run(self, run_id: str, at: float, reason: str) -> records.RunsCancelled | None:
        """Cancel a run and its unfinished descendants, and close their open waits, atomically.

        Whoever holds their leases loses them; runs already final stay as they are.

        Returns:
            What was cancelled (nothing when the run had ended), or `None` when no
            run has that id.
        """

    def get_wait(self, wait_id: str) -> records.WaitRecord | None:
        """The wait with this id, or `None`."""

    def waits_of_run(self, run_id: str) -> list[records.WaitRecord]:
        """All waits of a run, oldest first."""

    def open_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[records.WaitRecord]:
        """Open input waits (of one run, or of all runs), oldest first."""

    def due_waits(self, now: float, limit: int) -> list[records.WaitRecord]:
        """Open waits whose deadline is at or before `now`, earliest first."""

    def closed_waits_since(self, since: float) -> list[tuple[str, str, float]]:
        """`(wait_id, run_id, closed_at)` of waits closed at or after `since`."""


class EarlyInputStore(Protocol):
    """Answers sent for a named wait before the run reaches it."""

    def add_early_input(self, early: records.EarlyInput) -> int:
        """Keep an answer for a wait the run has not reached. Returns its id."""

    def pending_early_inputs(self, run_id: str, name: str) -> list[records.EarlyInput]:
        """Pending early inputs for a run's wait name, oldest first."""

    def reject_early_input(self, early_id: int, detail: str) -> None:
        """Mark a pending early input rejected, with the reason."""


class MessageStore(Protocol):
    """Messages between runs, each received at most once."""

    def send_message(
        self, message: records.MessageRecord, resume_as: records.StateChange | None = None
    ) -> records.MessageSent:
        """Store a message and deliver it to a matching open receive of its run, atomically.

        The receiving run's oldest open MESSAGE wait whose filters the message
        passes is closed with it (as `close_wait` would, with `resume_as`).
        Otherwise the message stays pending until a receive opens; `open_waits`
        delivers the oldest matching pending message at once.

        Returns:
            What was done; `created=False` when the key was sent before.
        """

    def messages_of_run(
        self, run_id: str, *, sent: bool = False, limit: int = 200
    ) -> list[records.MessageRecord]:
        """Messages sent to the run (or, with `sent`, by it), oldest first."""

    def message_with_key(self, run_id: str, key: str) -> records.MessageRecord | None:
        """The message sent to the run with this key, or `None`."""


class CatalogStore(Protocol):
    """What is registered by name: deployments and variables."""

    def put_deployment(self, deployment: records.DeploymentRecord) -> records.DeploymentRecord:
        """Register a deployment, or update the one of that name (keeping `created_at`).

        Returns:
            The deployment as stored.
        """

    def get_deployment(self, name: str) -> records.DeploymentRecord | None:
        """The deployment of this name, or `None`."""

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[records.DeploymentRecord]:
        """Deployments by name."""

    def get_variable(self, name: str) -> str | None:
        """The JSON value of a variable, or `None` when it is not set."""

    def set_variable(self, name: str, value: str, at: float, *, overwrite: bool) -> bool:
        """Set a variable to a JSON value.

        Returns:
            `False`, and nothing changed, when it was set before and not `overwrite`.
        """


class ScheduleStore(Protocol):
    """Deployments' schedules and the runs made ahead for their slots."""

    def put_schedules(
        self, deployment: str, schedules: Sequence[records.ScheduleRecord]
    ) -> list[records.ScheduleRecord]:
        """Make `schedules` the deployment's schedules, replacing what it had.

        A schedule stored before under the same slug keeps `created_at`, and
        `made_until` too when its schedule is unchanged; a removed one takes its
        runs not yet due with it.

        Returns:
            The deployment's schedules as stored, by slug.
        """

    def list_schedules(
        self, deployment: str | None = None, *, active_only: bool = False
    ) -> list[records.ScheduleRecord]:
        """Schedules (of one deployment, or all) by deployment and slug."""

    def set_schedule_active(
        self, deployment: str, slug: str, active: bool, at: float
    ) -> records.ScheduleRecord | None:
        """Pause or resume a schedule; `None` when there is no such schedule.

        Pausing deletes the runs it made that are not due yet (still Scheduled);
        resuming starts its slots at `at`, so the paused time counts as nothing missed.
        """

    def add_scheduled_runs(
        self,
        schedule: records.ScheduleRecord,
        made: Sequence[tuple[records.SlotRecord, records.RunRecord]],
        made_until: float,
    ) -> list[str]:
        """Insert Scheduled runs for slots, each unless its `(deployment, slot_at)` exists.

        In one transaction with moving the schedule's `made_until` forward to
        `made_until` (never back), so two schedulers never make the same run. The
        commit need not wait for the disk: what a crash loses is made again.

        Returns:
            The ids of the runs this call made.
        """

    def due_slots(self, now: float, limit: int) -> list[records.SlotRecord]:
        """Unreleased slots due by `now`, earliest first."""

    def release_slots(
        self,
        release: Sequence[records.SlotRecord],
        drop: Sequence[records.SlotRecord],
        at: float,
        drop_reason: str,
    ) -> list[str]:
        """Make the Scheduled runs of `release` Pending and cancel those of `drop`.

        Each slot is marked released by one call only (two schedulers never both
        release it); a run no longer Scheduled (cancelled meanwhile) is left as it is.

        Returns:
            The ids of the runs made Pending by this call.
        """

    def upcoming_runs(
        self, deployment: str, limit: int = 50
    ) -> list[tuple[records.SlotRecord, records.RunRecord]]:
        """The deployment's unreleased slots and their runs, earliest first."""


class WorkPoolStore(Protocol):
    """Work pools and their queues, and how many runs each holds."""

    def put_work_pool(self, pool: records.WorkPoolRecord) -> records.WorkPoolRecord:
        """Create or replace a pool (keeping its `created_at`); a new pool gets a `default` queue.

        Returns:
            The pool as stored.
        """

    def get_work_pool(self, name: str) -> records.WorkPoolRecord | None:
        """The pool with this name, or `None`."""

    def list_work_pools(self) -> list[records.WorkPoolRecord]:
        """Every pool, by name."""

    def delete_work_pool(self, name: str) -> bool:
        """Delete a pool and its queues. Returns whether it existed."""

    def put_work_queue(self, queue: records.WorkQueueRecord) -> records.WorkQueueRecord:
        """Create or replace a queue of an existing pool (keeping its `created_at`).

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
        """

    def get_work_queue(self, pool: str, name: str) -> records.WorkQueueRecord | None:
        """The queue `name` of `pool`, or `None`."""

    def list_work_queues(self, pool: str | None = None) -> list[records.WorkQueueRecord]:
        """The queues of `pool` (of every pool when `None`), by pool, priority and name."""

    def delete_work_queue(self, pool: str, name: str) -> bool:
        """Delete a queue. Returns whether it existed."""

    def queue_counts(self, pool: str) -> dict[str, records.QueueCounts]:
        """Per queue of `pool` that has any: its Pending runs and the runs holding a slot."""


class LimitStore(Protocol):
    """Global concurrency limits and the slots their holders lease (see `storage.limits`)."""

    def create_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """Store a new limit. Returns `False` (and changes nothing) when the name is taken."""

    def update_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """Change a limit's `limit`, `active` and decay. Returns whether it exists."""

    def get_concurrency_limit(self, name: str, now: float) -> limits.ConcurrencyLimitRecord | None:
        """The limit with this name, its slots held at `now` counted, or `None`."""

    def list_concurrency_limits(self, now: float) -> list[limits.ConcurrencyLimitRecord]:
        """Every limit by name, slots held at `now` counted."""

    def delete_concurrency_limit(self, name: str) -> bool:
        """Delete a limit and its holders' slots. Returns whether it existed."""

    def reset_concurrency_limit(self, name: str) -> bool:
        """Free every slot of the limit, held or decaying. Returns whether it exists."""

    def concurrency_holders(self, name: str, now: float) -> list[limits.SlotHolder]:
        """Who holds slots of the limit at `now`, oldest first."""

    def take_concurrency_slots(self, take: limits.SlotTake) -> limits.SlotGrant:
        """Take slots of every limit named, all or none, in one transaction.

        Raises:
            errors.ConcurrencyLimitMissing: `take.strict` and a limit does not exist.
            errors.ConcurrencySlotAcquisitionError: A limit can never grant them.
        """

    def release_concurrency_slots(self, holder: str) -> int:
        """Free every slot `holder` holds. Returns how many rows went."""

    def park_concurrency_slots(self, holder: str) -> int:
        """Keep `holder`'s slots with its run, without a lease, until the run ends."""

    def renew_concurrency_slots(self, owner: str, expires_at: float) -> int:
        """Extend the leases of the slots `owner` holds (not parked ones)."""

    def free_concurrency_slots_of(self, owners: Sequence[str]) -> int:
        """Free the leased slots of processes known to be gone."""


class CacheStore(Protocol):
    """Task results cached across runs, by cache key (`@task(cache_policy=...)`)."""

    def put_cached(self, entry: records.CacheEntry) -> None:
        """Store `entry`, replacing what its key held; of two writers of one key, one wins whole."""

    def get_cached(self, key: str, now: float) -> records.CacheEntry | None:
        """The entry stored under `key`, or `None` when there is none or it expired by `now`."""


class OutboxStore(Protocol):
    """The outbox operations of a store."""

    def queue_outbox(self, items: Sequence[outbox.OutboxItem]) -> int:
        """Queue items whose keys are new; returns how many were new."""

    def claim_outbox(
        self, owner: str, now: float, until: float, limit: int
    ) -> list[outbox.OutboxItem]:
        """Claim up to `limit` pending items due by `now` for `owner` until `until`.

        Items claimed by another owner whose claim has not run out are skipped,
        so two dispatchers never send the same item at once. Oldest due first.
        """

    def settle_outbox(self, outcomes: Sequence[tuple[int, outbox.Settlement]]) -> None:
        """Record how attempts ended (by item id), in one transaction; release the claims."""

    def outbox_of_run(self, run_id: str) -> list[outbox.OutboxItem]:
        """The run's items, oldest first."""

    def next_outbox_due(self) -> float | None:
        """When the earliest pending item is due, or `None` when none is pending."""


class Wakeups(Protocol):
    """What other processes change, pushed to this one, and who fires timers."""

    def listen(self, callback: Callable[[wakeups.Wake], None]) -> wakeups.Unlisten | None:
        """Push what other processes change to `callback`, from a background thread.

        Returns:
            How to stop, or `None` when this store cannot push (then the process
            polls: one indexed query per tick for all its waiters).
        """

    def serves_timers(self) -> bool:
        """Whether this process should fire due timers now.

        On a store many processes share, one process at a time does (the others
        take over if it goes); closing a wait is first-wins anyway, so a timer
        never fires twice.
        """


class Store(
    RunStore,
    LeaseStore,
    JournalStore,
    WaitStore,
    EarlyInputStore,
    MessageStore,
    CatalogStore,
    ScheduleStore,
    WorkPoolStore,
    LimitStore,
    CacheStore,
    EventStore,
    OutboxStore,
    port_automations.AutomationStore,
    port_webhooks.WebhookStore,
    Wakeups,
    Protocol,
):
    """Durable home of runs, journals, logs and the outbox. One adapter per database."""

    def migrate(self) -> None:
        """Bring the schema up to date, applying numbered migrations in order.

        Safe to call from several processes at once.

        Raises:
            errors.MigrationError: The database is newer than this tarry or broken.
        """

    def close(self) -> None:
        """Flush pending writes and close connections. Later calls fail."""
