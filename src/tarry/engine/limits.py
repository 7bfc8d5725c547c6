"""Taking and giving back slots of global concurrency limits, sync and async.

`Acquisition` is the pure part both drivers share: the take to ask the store for,
and how long to wait after a refusal (until a rate limit's decay makes room, else
a back-off; a release in this process wakes its waiters at once). `acquire` and
`acquire_async` loop on it; `Held` is what they return.

Leases: slots taken here are leased to the host's owner and renewed by one
`SlotLeases` thread per process while any are held. A holder whose process dies
loses them when the lease lapses, or at once when a waiter sees that the owner is
gone (same host: its pid ended; PostgreSQL: its liveness lock went).

Inside a flow run a holder is `<run id>/<journal key>`, the same on replay, so a
run resuming after a suspension gets back the slots it parked (see `Held.park`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence

from tarry import errors, interrupts
from tarry.engine import context, run_logs
from tarry.engine.offloading import offload
from tarry.host import Host
from tarry.storage import limits

__all__ = [
    "Acquisition",
    "Held",
    "SlotLeases",
    "acquire",
    "acquire_async",
    "new_acquisition",
    "tag_limit_names",
    "task_slots",
    "task_slots_async",
]

logger = logging.getLogger("tarry.concurrency")

_FIRST_WAIT = 0.005
_LONGEST_WAIT = 0.1
TAG_PREFIX = "tag:"


def tag_limit_names(tags: Sequence[str]) -> tuple[str, ...]:
    """The limits a task with these tags takes a slot of (Prefect's tag limits)."""
    return tuple(f"{TAG_PREFIX}{tag}" for tag in dict.fromkeys(tags))


@dataclasses.dataclass
class Acquisition:
    """One wait for slots: what to ask, and for how long to keep asking."""

    names: tuple[str, ...]
    slots: int
    mode: limits.SlotMode
    holder: str
    run_id: str | None = None
    timeout_seconds: float | None = None
    max_retries: int | None = None
    lease_seconds: float = 30.0
    strict: bool = False
    started: float = dataclasses.field(default_factory=time.monotonic)
    refusals: int = 0
    _backoff: float = _FIRST_WAIT

    def take(self, owner: str) -> limits.SlotTake:
        """The store request for a try now."""
        now = time.time()
        return limits.SlotTake(
            self.names,
            self.slots,
            self.holder,
            owner,
            now,
            now + self.lease_seconds,
            self.mode,
            self.run_id,
            self.strict,
        )

    def wait_after(self, grant: limits.SlotGrant) -> float:
        """Seconds to wait before the next try, after `grant` was a refusal.

        Raises:
            errors.AcquireConcurrencySlotTimeoutError: The timeout or retries ran out.
        """
        self.refusals += 1
        if self.max_retries is not None and self.refusals > self.max_retries:
            raise self._timed_out(grant, f"after {self.max_retries} retries")
        wait = grant.retry_after if grant.retry_after is not None else self._next_backoff()
        if self.timeout_seconds is None:
            return max(wait, 0.001)
        left = self.timeout_seconds - (time.monotonic() - self.started)
        if left <= 0:
            raise self._timed_out(grant, f"within {self.timeout_seconds:g}s")
        return max(min(wait, left), 0.001)

    def _next_backoff(self) -> float:
        wait, self._backoff = self._backoff, min(self._backoff * 2, _LONGEST_WAIT)
        return wait

    def _timed_out(
        self, grant: limits.SlotGrant, when: str
    ) -> errors.AcquireConcurrencySlotTimeoutError:
        full = ", ".join(repr(name) for name in grant.full)
        return errors.AcquireConcurrencySlotTimeoutError(
            f"could not occupy {self.slots} slot(s) of {full} {when}: all in use"
        )


class SlotLeases:
    """This process's held slots: renews their leases and wakes waiters on release.

    A host service (`host.service(SlotLeases)`).
    """

    def __init__(self, host: Host) -> None:
        self._host = host
        self._held: dict[str, float] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def hold(self, holder: str, lease_seconds: float) -> None:
        """Renew `holder`'s slots from now on."""
        with self._changed:
            self._held[holder] = lease_seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._renew, name="tarry-slot-leases", daemon=True
                )
                self._thread.start()

    def drop(self, holder: str) -> None:
        """Stop renewing `holder`'s slots, and wake this process's waiters."""
        with self._changed:
            self._held.pop(holder, None)
            self._changed.notify_all()

    def wait_for_release(self, seconds: float) -> None:
        """Sleep up to `seconds`, less if a holder here releases meanwhile."""
        with self._changed:
            self._changed.wait(seconds)

    def _renew(self) -> None:
        host = self._host
        while True:
            with self._changed:
                leases = list(self._held.values())
                if not leases:
                    self._changed.wait(host.settings.lease_seconds / 3)
                    continue
            time.sleep(min(leases) / 3)
            if host.hub.closed_reason is not None:
                return
            until = time.time() + max(leases)
            try:
                host.store.renew_concurrency_slots(host.owner, until)
            except errors.StoreError:
                logger.warning("could not renew concurrency slot leases", exc_info=True)


@dataclasses.dataclass
class Held:
    """Slots taken: give them back with `release`, or `park` them with a suspending run."""

    host: Host
    acquisition: Acquisition
    grant: limits.SlotGrant

    def release(self) -> None:
        """Free the slots (rate-limit slots are not held: they decay).

        Shielded: a timeout's interrupt never stops a release half-way (freed in the
        store, still renewed here).
        """
        if self.acquisition.mode is limits.SlotMode.CONCURRENCY:
            with interrupts.shielded():
                self.host.store.release_concurrency_slots(self.acquisition.holder)
                self.host.service(SlotLeases).drop(self.acquisition.holder)

    def settle(self, outcome: BaseException | None) -> None:
        """End the holding as the block ended: parked if the run suspends, else released."""
        if isinstance(outcome, errors.RunSuspended):
            self.park()
        else:
            self.release()

    def park(self) -> None:
        """Keep the slots with the run, which is leaving memory, until it ends or resumes."""
        if self.acquisition.run_id is None:
            self.release()
            return
        with interrupts.shielded():
            self.host.store.park_concurrency_slots(self.acquisition.holder)
            self.host.service(SlotLeases).drop(self.acquisition.holder)


def new_acquisition(
    names: str | Sequence[str],
    occupy: int,
    mode: limits.SlotMode,
    *,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    lease_duration: float | None = None,
    strict: bool = False,
    host: Host,
) -> Acquisition:
    """An acquisition for the code running here (its holder the same on replay in a run).

    Raises:
        errors.ConcurrencySlotAcquisitionError: `occupy`, the names or the times are not valid.
    """
    chosen = _checked_names(names)
    _check_numbers(occupy, timeout_seconds, max_retries, lease_duration)
    ctx = context.current_run()
    holder, run_id = _holder(ctx)
    lease = lease_duration if lease_duration is not None else host.settings.lease_seconds
    return Acquisition(
        chosen, occupy, mode, holder, run_id, timeout_seconds, max_retries, lease, strict
    )


def _holder(ctx: context.RunContext | None) -> tuple[str, str | None]:
    if ctx is None:
        return f"{uuid.uuid4()}", None
    return f"{ctx.run.id}/{context.current_scope().next_key()}", ctx.run.id


def _checked_names(names: str | Sequence[str]) -> tuple[str, ...]:
    chosen = (names,) if isinstance(names, str) else tuple(names)
    if not chosen or not all(isinstance(n, str) and n for n in chosen):
        raise errors.ConcurrencySlotAcquisitionError(
            f"names must be a limit's name or a list of them, not {names!r}"
        )
    return chosen


def _check_numbers(
    occupy: int,
    timeout_seconds: float | None,
    max_retries: int | None,
    lease_duration: float | None,
) -> None:
    if isinstance(occupy, bool) or not isinstance(occupy, int) or occupy < 1:
        raise errors.ConcurrencySlotAcquisitionError(
            f"occupy must be a whole number of 1 or more, not {occupy!r}"
        )
    if timeout_seconds is not None and timeout_seconds < 0:
        raise errors.ConcurrencySlotAcquisitionError("timeout_seconds must be 0 or more")
    if max_retries is not None and max_retries < 0:
        raise errors.ConcurrencySlotAcquisitionError("max_retries must be 0 or more")
    if lease_duration is not None and lease_duration <= 0:
        raise errors.ConcurrencySlotAcquisitionError("lease_duration must be more than 0")


def acquire(host: Host, acquisition: Acquisition) -> Held:
    """Take the slots, waiting as long as the acquisition allows.

    Raises:
        errors.AcquireConcurrencySlotTimeoutError: No room in time.
        errors.ConcurrencyLimitMissing: Strict, and a limit does not exist.
        errors.ConcurrencySlotAcquisitionError: The slots can never be taken.
    """
    leases = host.service(SlotLeases)
    while True:
        _check_aborted()
        grant, held = _take(host, acquisition)
        if held is not None:
            return held
        if not _free_gone_owners(host, grant):
            _log_wait(acquisition, grant)
            leases.wait_for_release(acquisition.wait_after(grant))


def _take(host: Host, acquisition: Acquisition) -> tuple[limits.SlotGrant, Held | None]:
    """One try at the slots; shielded, so slots taken are never lost to an interrupt."""
    held: Held | None = None
    try:
        with interrupts.shielded():
            grant = host.store.take_concurrency_slots(acquisition.take(host.owner))
            held = _held(host, acquisition, grant) if grant.granted else None
    except errors.TimeoutInterrupt:
        # Raised as the shield ended: the caller never gets the slots, so free them.
        if held is not None:
            held.release()
        raise
    return grant, held


async def acquire_async(host: Host, acquisition: Acquisition) -> Held:
    """Async version of `acquire`: the store is called off the event loop."""
    while True:
        _check_aborted()
        grant = await offload(host.store.take_concurrency_slots, acquisition.take(host.owner))
        if grant.granted:
            return _held(host, acquisition, grant)
        if not await offload(_free_gone_owners, host, grant):
            _log_wait(acquisition, grant)
            await asyncio.sleep(acquisition.wait_after(grant))


def _check_aborted() -> None:
    ctx = context.current_run()
    if ctx is not None:
        ctx.check_aborted()


def _held(host: Host, acquisition: Acquisition, grant: limits.SlotGrant) -> Held:
    for name in grant.missing:
        logger.debug("no concurrency limit named %r: not limited", name)
    if acquisition.mode is limits.SlotMode.CONCURRENCY:
        host.service(SlotLeases).hold(acquisition.holder, acquisition.lease_seconds)
    return Held(host, acquisition, grant)


def _free_gone_owners(host: Host, grant: limits.SlotGrant) -> bool:
    """Free the slots of holders whose process is known to be gone; whether any were."""
    if not grant.owners:
        return False
    gone = set(host.dead_owners(grant.owners)) | (set(grant.owners) & set(host.store.gone_owners()))
    if not gone:
        return False
    freed = host.store.free_concurrency_slots_of(sorted(gone))
    if freed:
        logger.warning("freed %d concurrency slot(s) held by ended processes %s", freed, gone)
    return freed > 0


def _log_wait(acquisition: Acquisition, grant: limits.SlotGrant) -> None:
    if acquisition.refusals == 0:
        log = run_logs.get_run_logger() if context.current_run() else logger
        log.info(
            "Waiting for %d slot(s) of %s",
            acquisition.slots,
            ", ".join(repr(name) for name in grant.full),
        )


def _tag_acquisition(host: Host, tags: Sequence[str], key: str) -> Acquisition:
    ctx = context.current_run()
    holder = f"{ctx.run.id}/{key}" if ctx is not None else f"{uuid.uuid4()}"
    return Acquisition(
        tag_limit_names(tags),
        1,
        limits.SlotMode.CONCURRENCY,
        holder,
        ctx.run.id if ctx is not None else None,
        lease_seconds=host.settings.lease_seconds,
    )


@contextlib.contextmanager
def task_slots(host: Host, tags: Sequence[str], key: str) -> Iterator[None]:
    """Hold a slot of each `tag:<tag>` limit while a task with these tags runs.

    Tags with no limit do not hold the task back. A task slot is never parked: a
    run suspended inside the task has left the task, so it holds no slot.
    """
    if not tags:
        yield
        return
    held = acquire(host, _tag_acquisition(host, tags, key))
    try:
        yield
    finally:
        held.release()


@contextlib.asynccontextmanager
async def task_slots_async(host: Host, tags: Sequence[str], key: str) -> AsyncIterator[None]:
    """Async version of `task_slots`."""
    if not tags:
        yield
        return
    held = await acquire_async(host, _tag_acquisition(host, tags, key))
    try:
        yield
    finally:
        await offload(held.release)
