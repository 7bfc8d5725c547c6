"""Global concurrency limits: their records, and the pure rule that grants slots.

A limit has `limit` slots. Two kinds of use take them:

* `concurrency()` blocks hold *leased* slots, one row per holder and limit, until
  the block ends. A row whose lease lapsed (its process died) holds nothing; a row
  parked with a suspended run (no expiry) holds until that run ends.
* `rate_limit()` calls take *decaying* slots: each limit keeps how many it had at
  `decayed_at`, and they fall by `slot_decay_per_second` since.

Every store reads the limits and the live rows inside one transaction and asks
`decide` what to write; the answer is all or nothing over the names asked.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum

from tarry import errors

__all__ = [
    "ConcurrencyLimitRecord",
    "Decision",
    "HeldSlots",
    "SlotGrant",
    "SlotHolder",
    "SlotMode",
    "SlotTake",
    "decayed",
    "decide",
]


class SlotMode(StrEnum):
    """How a take uses its slots."""

    #: Held by the holder until released (or its lease lapses).
    CONCURRENCY = "concurrency"
    #: Taken for good; they decay at the limit's `slot_decay_per_second`.
    RATE_LIMIT = "rate_limit"


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrencyLimitRecord:
    """A global concurrency limit (Prefect's "global concurrency limit")."""

    name: str
    """Unique name, used in code: `concurrency("name")`."""
    limit: int
    """The most slots in use at once."""
    created_at: float
    """When it was made."""
    updated_at: float
    """When its settings last changed."""
    active: bool = True
    """An inactive limit is not enforced: takes pass without using its slots."""
    slot_decay_per_second: float = 0.0
    """How fast rate-limit slots free themselves (0: no decay, no `rate_limit`)."""
    decaying_slots: float = 0.0
    """Rate-limit slots in use at `decayed_at`."""
    decayed_at: float = 0.0
    """When `decaying_slots` was last written."""
    denied_slots: int = 0
    """Slots asked for and refused, over the limit's life."""
    held_slots: int = 0
    """Slots held by live `concurrency()` holders when read (not stored)."""

    def active_slots(self, now: float) -> int:
        """Slots in use at `now`: held ones and those not yet decayed."""
        return self.held_slots + math.ceil(decayed(self, now) - 1e-9)


@dataclasses.dataclass(frozen=True, slots=True)
class SlotHolder:
    """Slots of one limit held by one holder."""

    limit_name: str
    """The limit."""
    holder: str
    """Who holds them (a run's step, or a process's block)."""
    slots: int
    """How many."""
    owner: str
    """The process whose lease keeps them."""
    acquired_at: float
    """When they were taken."""
    expires_at: float | None
    """When the lease lapses unless renewed; `None` while parked with a suspended run."""
    run_id: str | None = None
    """The run holding them, if any."""


@dataclasses.dataclass(frozen=True, slots=True)
class SlotTake:
    """A request for slots of one or more limits, granted all at once or not at all."""

    names: tuple[str, ...]
    """The limits."""
    slots: int
    """Slots of each."""
    holder: str
    """Who takes them: taking again under the same holder adopts the slots it holds."""
    owner: str
    """The process taking them (renews the lease)."""
    now: float
    """The time of the take."""
    expires_at: float
    """The lease's expiry."""
    mode: SlotMode = SlotMode.CONCURRENCY
    """Leased or decaying slots."""
    run_id: str | None = None
    """The run taking them; parked slots stay with it."""
    strict: bool = False
    """Refuse (raise) when a limit does not exist; else missing limits are skipped."""


@dataclasses.dataclass(frozen=True, slots=True)
class SlotGrant:
    """What a take got."""

    granted: bool
    """Whether the slots were taken (or nothing needed taking)."""
    missing: tuple[str, ...] = ()
    """Names with no limit (skipped)."""
    full: tuple[str, ...] = ()
    """Limits with no room now (when refused)."""
    retry_after: float | None = None
    """Seconds until decay alone makes room; `None` when a holder must release first."""
    owners: tuple[str, ...] = ()
    """The processes holding the full limits' slots (to find dead ones)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HeldSlots:
    """Live leased slots of one limit, as a take reads them."""

    total: int = 0
    """Slots held by others."""
    mine: bool = False
    """Whether the taking holder already holds some (a re-entry: adopt them)."""
    owners: tuple[str, ...] = ()
    """The processes holding them."""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """What a take writes."""

    grant: SlotGrant
    """The answer."""
    insert: tuple[str, ...] = ()
    """Limits to add a holder row to."""
    adopt: tuple[str, ...] = ()
    """Limits where the holder's rows are renewed under the new owner."""
    decay: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """New `decaying_slots` per limit, as of the take's `now`."""
    denied: tuple[str, ...] = ()
    """Limits whose `denied_slots` grow by the take's slots."""


def decayed(limit: ConcurrencyLimitRecord, now: float) -> float:
    """Rate-limit slots still in use at `now`."""
    elapsed = max(0.0, now - limit.decayed_at)
    return max(0.0, limit.decaying_slots - limit.slot_decay_per_second * elapsed)


def decide(
    take: SlotTake,
    limits: Mapping[str, ConcurrencyLimitRecord],
    held: Mapping[str, HeldSlots],
) -> Decision:
    """What to write for `take`, given the stored limits and their live rows.

    Raises:
        errors.ConcurrencyLimitMissing: `take.strict` and a limit does not exist.
        errors.ConcurrencySlotAcquisitionError: A limit can never grant the slots
            (fewer than asked), or a rate limit has no decay.
    """
    missing = tuple(n for n in take.names if n not in limits)
    if missing and take.strict:
        raise errors.ConcurrencyLimitMissing(missing[0])
    used = [limits[n] for n in take.names if n in limits and limits[n].active]
    for limit in used:
        _check_fits(take, limit)
    full = [lim for lim in used if not _has_room(take, lim, held.get(lim.name, HeldSlots()))]
    if full:
        return _refused(take, full, held, missing)
    return _granted(take, used, held, missing)


def _check_fits(take: SlotTake, limit: ConcurrencyLimitRecord) -> None:
    if take.slots > limit.limit:
        raise errors.ConcurrencySlotAcquisitionError(
            f"cannot occupy {take.slots} slots of {limit.name!r}: its limit is {limit.limit}"
        )
    if take.mode is SlotMode.RATE_LIMIT and limit.slot_decay_per_second <= 0:
        raise errors.ConcurrencySlotAcquisitionError(
            f"rate_limit needs a limit with slot decay: {limit.name!r} has none; set one with "
            f"`tarry gcl update {limit.name} --slot-decay-per-second N`"
        )


def _has_room(take: SlotTake, limit: ConcurrencyLimitRecord, held: HeldSlots) -> bool:
    if held.mine and take.mode is SlotMode.CONCURRENCY:
        return True
    in_use = held.total + decayed(limit, take.now)
    # A small tolerance keeps float decay from refusing a slot freed exactly now.
    return in_use + take.slots <= limit.limit + 1e-9


def _refused(
    take: SlotTake,
    full: Sequence[ConcurrencyLimitRecord],
    held: Mapping[str, HeldSlots],
    missing: tuple[str, ...],
) -> Decision:
    waits = [_decay_wait(take, lim, held.get(lim.name, HeldSlots())) for lim in full]
    retry_after = None if any(w is None for w in waits) else max(w for w in waits if w is not None)
    owners = sorted({o for lim in full for o in held.get(lim.name, HeldSlots()).owners})
    grant = SlotGrant(False, missing, tuple(lim.name for lim in full), retry_after, tuple(owners))
    return Decision(grant, denied=tuple(lim.name for lim in full))


def _decay_wait(take: SlotTake, limit: ConcurrencyLimitRecord, held: HeldSlots) -> float | None:
    rate = limit.slot_decay_per_second
    excess = held.total + decayed(limit, take.now) + take.slots - limit.limit
    if rate <= 0 or held.total + take.slots > limit.limit:
        return None  # only a holder's release can make room
    return max(0.0, excess / rate)


def _granted(
    take: SlotTake,
    used: Sequence[ConcurrencyLimitRecord],
    held: Mapping[str, HeldSlots],
    missing: tuple[str, ...],
) -> Decision:
    grant = SlotGrant(True, missing)
    if take.mode is SlotMode.RATE_LIMIT:
        decay = {lim.name: decayed(lim, take.now) + take.slots for lim in used}
        return Decision(grant, decay=decay)
    mine = tuple(lim.name for lim in used if held.get(lim.name, HeldSlots()).mine)
    insert = tuple(lim.name for lim in used if lim.name not in mine)
    return Decision(grant, insert=insert, adopt=mine)
