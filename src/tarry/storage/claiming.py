"""Which Pending runs a claim takes: queue priority, then age, within every concurrency limit.

Pure: each store reads a `ClaimPlan` (the pool, its queues, the limited deployments
and the slots they hold) and the oldest Pending runs of each queue that has room,
then applies `pick` and writes what it chose, all in one transaction. A slot is held
by a leased top-level run that is Running or Waiting in memory (a resident wait); a
run suspended on its wait holds none, so waiting for a person never blocks a queue.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from tarry.storage import records

__all__ = [
    "CANCEL_NEW",
    "COLLISION_STRATEGIES",
    "ENQUEUE",
    "Candidate",
    "Claim",
    "ClaimPlan",
    "DeploymentLimit",
    "Picked",
    "cancel_reason",
    "claim_in_rounds",
    "pick",
]

ENQUEUE = "ENQUEUE"
CANCEL_NEW = "CANCEL_NEW"
COLLISION_STRATEGIES = (ENQUEUE, CANCEL_NEW)

# A deployment at its limit can hide the runs behind it in a queue from one read of
# candidates; a claim reads again without it, at most this many times.
_MAX_ROUNDS = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """What a worker asks of `Store.claim_runs`, as every adapter passes it around.

    Built from `claim_runs`'s arguments in their order; the collections are kept as tuples.
    """

    owner: str
    lease_expires_at: float
    now: float
    dead_owners: Collection[str]
    exclude: Collection[str]
    limit: int
    recover: bool = True
    pool: str = records.DEFAULT_POOL
    queues: Collection[str] = ()

    def __post_init__(self) -> None:
        for name in ("dead_owners", "exclude", "queues"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def expired_before(self) -> float:
        """Leases that ran out before this are taken over (none without recovery)."""
        return self.now if self.recover else float("-inf")

    @property
    def gone(self) -> Collection[str]:
        """Holders whose runs are taken over (none without recovery)."""
        return self.dead_owners if self.recover else ()


@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentLimit:
    """A deployment's concurrency limit and what happens to a run beyond it."""

    limit: int
    strategy: str = ENQUEUE


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A Pending run a claim may take."""

    id: str
    work_queue: str
    deployment: str | None
    created_at: float


@dataclasses.dataclass(frozen=True)
class ClaimPlan:
    """What a claim in one pool needs to know before it reads candidates.

    Attributes:
        pool: The pool, or `None` when it does not exist (nothing is claimed).
        queues: The queues the worker serves, unpaused, in claim order.
        busy_by_queue: Slots held per queue of the pool.
        deployment_limits: Limits of the deployments that have one.
        busy_by_deployment: Slots held per limited deployment.
    """

    pool: records.WorkPoolRecord | None
    queues: Sequence[records.WorkQueueRecord]
    busy_by_queue: Mapping[str, int] = dataclasses.field(default_factory=dict)
    deployment_limits: Mapping[str, DeploymentLimit] = dataclasses.field(default_factory=dict)
    busy_by_deployment: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(
        cls,
        pool: records.WorkPoolRecord | None,
        queues: Iterable[records.WorkQueueRecord],
        served: Iterable[str] = (),
    ) -> ClaimPlan:
        """The plan's static part: the served, unpaused queues of `pool` in priority order."""
        wanted = set(served)
        kept = [q for q in queues if not q.paused and (not wanted or q.name in wanted)]
        return cls(pool, sorted(kept, key=lambda q: (q.priority, q.name)))

    @property
    def is_limited(self) -> bool:
        """Whether a limit applies: then the slots held are counted (a shared store locks first)."""
        pool_limited = self.pool is not None and self.pool.concurrency_limit is not None
        queue_limited = any(q.concurrency_limit is not None for q in self.queues)
        return pool_limited or queue_limited or bool(self.deployment_limits)

    @property
    def is_open(self) -> bool:
        """Whether Pending runs may be claimed at all (the pool exists and is not paused)."""
        return self.pool is not None and not self.pool.paused and bool(self.queues)

    def pool_room(self) -> int | None:
        """Free slots of the pool (`None`: unlimited)."""
        limit = self.pool.concurrency_limit if self.pool is not None else None
        return None if limit is None else max(0, limit - sum(self.busy_by_queue.values()))

    def queue_room(self, queue: records.WorkQueueRecord) -> int | None:
        """Free slots of `queue` (`None`: unlimited)."""
        if queue.concurrency_limit is None:
            return None
        return max(0, queue.concurrency_limit - self.busy_by_queue.get(queue.name, 0))

    def takes(self, limit: int) -> list[tuple[str, int]]:
        """How many candidates to read from each queue with room, in claim order."""
        most = _least(limit, self.pool_room())
        found = [(q.name, _least(most, self.queue_room(q))) for q in self.queues]
        return [(name, take) for name, take in found if take > 0]

    def full_deployments(self) -> list[str]:
        """`ENQUEUE` deployments at their limit: their runs are not even read."""
        return sorted(
            name
            for name, limit in self.deployment_limits.items()
            if limit.strategy == ENQUEUE and self.busy_by_deployment.get(name, 0) >= limit.limit
        )

    def after(self, picked: Picked, candidates: Sequence[Candidate]) -> ClaimPlan:
        """The plan once `picked`'s claims hold their slots."""
        chosen = {c.id: c for c in candidates}
        taken = [chosen[run_id] for run_id in picked.claim]
        by_queue = Counter(self.busy_by_queue) + Counter(c.work_queue for c in taken)
        by_deployment = Counter(self.busy_by_deployment) + Counter(
            c.deployment
            for c in taken
            if c.deployment is not None and c.deployment in self.deployment_limits
        )
        return dataclasses.replace(
            self, busy_by_queue=dict(by_queue), busy_by_deployment=dict(by_deployment)
        )


@dataclasses.dataclass
class Picked:
    """What a claim does with the candidates it read."""

    claim: list[str] = dataclasses.field(default_factory=list)
    """Runs to make Running, in claim order."""
    cancel: list[str] = dataclasses.field(default_factory=list)
    """Runs of `CANCEL_NEW` deployments at their limit, to cancel."""
    passed_over: int = 0
    """Runs left Pending because their deployment is at its limit."""


def pick(plan: ClaimPlan, candidates: Sequence[Candidate], limit: int) -> Picked:
    """The candidates to claim (by queue priority, then age) and to cancel, within the limits."""
    order = {q.name: i for i, q in enumerate(plan.queues)}
    queue_room = {q.name: plan.queue_room(q) for q in plan.queues}
    pool_room = plan.pool_room()
    deployment_room = {
        name: max(0, dl.limit - plan.busy_by_deployment.get(name, 0))
        for name, dl in plan.deployment_limits.items()
    }
    picked = Picked()
    ranked = sorted(
        (c for c in candidates if c.work_queue in order),
        key=lambda c: (order[c.work_queue], c.created_at),
    )
    for candidate in ranked:
        if len(picked.claim) == limit or pool_room == 0:
            break
        if queue_room[candidate.work_queue] == 0:
            continue
        deployment = candidate.deployment
        if deployment in deployment_room and deployment_room[deployment] == 0:
            if plan.deployment_limits[deployment].strategy == CANCEL_NEW:
                picked.cancel.append(candidate.id)
            else:
                picked.passed_over += 1
            continue
        picked.claim.append(candidate.id)
        queue_room[candidate.work_queue] = _less(queue_room[candidate.work_queue])
        pool_room = _less(pool_room)
        if deployment in deployment_room:
            deployment_room[deployment] -= 1
    return picked


def claim_in_rounds(
    plan: ClaimPlan,
    limit: int,
    read: Callable[[ClaimPlan, int, Sequence[str]], Sequence[Candidate]],
) -> tuple[Picked, dict[str, Candidate]]:
    """Read candidates and pick, again while a deployment at its limit held runs back.

    Args:
        plan: The plan with the slots held before this claim.
        limit: The most runs to claim.
        read: Reads candidates for a plan, a number still to claim and run ids
            already seen (to leave out), e.g. by `plan.takes(...)` and
            `plan.full_deployments()`.

    Returns:
        Everything picked, and every candidate read by id.
    """
    total = Picked()
    seen: dict[str, Candidate] = {}
    for _ in range(_MAX_ROUNDS):
        wanted = limit - len(total.claim)
        if wanted <= 0:
            break
        candidates = read(plan, wanted, sorted(seen))
        seen.update((c.id, c) for c in candidates)
        picked = pick(plan, candidates, wanted)
        total.claim += picked.claim
        total.cancel += picked.cancel
        total.passed_over += picked.passed_over
        plan = plan.after(picked, candidates)
        if not (picked.passed_over or picked.cancel) or not candidates:
            break
    return total, seen


def cancel_reason(deployment: str | None, limit: DeploymentLimit | None) -> str:
    """The transition reason of a run cancelled by `CANCEL_NEW`."""
    most = limit.limit if limit is not None else "its"
    return (
        f"cancelled: deployment {deployment} is at its concurrency limit ({most}) "
        "and its collision strategy is CANCEL_NEW"
    )


def _least(a: int, b: int | None) -> int:
    return a if b is None else min(a, b)


def _less(room: int | None) -> int | None:
    return None if room is None else room - 1
