"""Events as the store keeps them, the filter that reads them, and the built-in events.

An event says that something happened to a *resource* (`tarry.flow-run.<id>`,
`tarry.input.<wait id>`, ...), with the resources it relates to (the run's flow,
deployment, tags, ...) and a JSON payload. Prefect's shape, with `tarry.` labels.

The store writes the built-in events of its own changes in the transaction of the
change: a run's transition, a wait for input opened or closed, a message sent. The
SQL stores do it in triggers of the tables that change (`0014_events.sql`); the
memory store calls the builders below, which say what those triggers write.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tarry.states import RunState, WaitKind, WaitStatus
from tarry.storage import records

__all__ = [
    "RESOURCE_ID",
    "RESOURCE_NAME",
    "RESOURCE_ROLE",
    "EventBell",
    "EventFilter",
    "EventRecord",
    "Horizon",
    "from_row",
    "matches",
    "message_sent_event",
    "run_related",
    "run_transition_event",
    "shown_state",
    "state_type",
    "to_params",
    "wait_closed_event",
    "wait_opened_event",
]

RESOURCE_ID = "tarry.resource.id"
"""The label every resource has: what it is (`tarry.flow-run.<id>`)."""
RESOURCE_NAME = "tarry.resource.name"
"""The label of a resource's name, for people."""
RESOURCE_ROLE = "tarry.resource.role"
"""The label every related resource has: how it relates (`flow`, `tag`, ...)."""


@dataclasses.dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event."""

    id: str
    """Unique id (a UUID); storing an id again changes nothing."""
    occurred: float
    """When it happened (seconds since the epoch)."""
    event: str
    """Its name, such as `tarry.flow-run.Completed`."""
    resource: Mapping[str, str]
    """The labels of the resource it happened to; `tarry.resource.id` is required."""
    related: tuple[Mapping[str, str], ...] = ()
    """Related resources, each with `tarry.resource.id` and `tarry.resource.role`."""
    payload: str = "{}"
    """JSON text of the event's details (an object)."""
    received: float = 0.0
    """When the store received it."""
    seq: int = 0
    """Its place in the store's order, assigned by the store (increasing)."""
    follows: str | None = None
    """The id of an event this one follows, if any."""

    @property
    def resource_id(self) -> str:
        """The resource's `tarry.resource.id`."""
        return self.resource.get(RESOURCE_ID, "")

    @property
    def related_ids(self) -> list[str]:
        """The `tarry.resource.id` of every related resource."""
        return [r.get(RESOURCE_ID, "") for r in self.related]


@dataclasses.dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events `EventStore.list_events` returns, and in what order.

    Newest first (by `seq`) unless `after_seq` is given: then oldest first.
    """

    names: tuple[str, ...] = ()
    """Event names, each exact or a prefix ending in `*` (any name when empty)."""
    resource_id: str | None = None
    """The resource's id, exact or a prefix ending in `*`."""
    related_id: str | None = None
    """The id of a related resource (exact)."""
    since: float | None = None
    """Only events that occurred at or after this time."""
    until: float | None = None
    """Only events that occurred at or before this time."""
    before_seq: int | None = None
    """Only events before this `seq` (the keyset of a newest-first page)."""
    after_seq: int | None = None
    """Only events after this `seq`, oldest first."""
    limit: int = 50
    """The most events returned."""

    @property
    def exact_names(self) -> list[str]:
        """The names without a `*`."""
        return [n for n in self.names if not n.endswith("*")]

    @property
    def name_prefixes(self) -> list[str]:
        """The prefixes of the names ending in `*`, without it."""
        return [n[:-1] for n in self.names if n.endswith("*")]


def _text_matches(value: str, pattern: str) -> bool:
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


def matches(event: EventRecord, where: EventFilter) -> bool:
    """Whether `event` passes `where` (its order and limit aside): what the SQL stores ask."""
    if where.names and not any(_text_matches(event.event, n) for n in where.names):
        return False
    if where.resource_id is not None and not _text_matches(event.resource_id, where.resource_id):
        return False
    if where.related_id is not None and where.related_id not in event.related_ids:
        return False
    if where.since is not None and event.occurred < where.since:
        return False
    if where.until is not None and event.occurred > where.until:
        return False
    if where.before_seq is not None and event.seq >= where.before_seq:
        return False
    return where.after_seq is None or event.seq > where.after_seq


# -- in-process wake-ups --------------------------------------------------------------


class EventBell:
    """Whom to call when events were stored: the evaluator, SSE streams.

    A store rings it after a commit that stored events (and, on PostgreSQL, when
    another process announces some). Callbacks run on the ringing thread: they
    must be quick (set a flag, kick a thread, `call_soon_threadsafe`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` at every ring until the returned function is called."""
        with self._lock:
            self._callbacks.append(callback)
        return lambda: self._unsubscribe(callback)

    def _unsubscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def ring(self) -> None:
        """Call every subscriber; one that fails does not stop the others."""
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001, S112 - a listener's trouble is its own
                continue


@dataclasses.dataclass
class Horizon:
    """Up to which `seq` events may be read in order without missing one (PostgreSQL).

    On PostgreSQL two transactions may commit their events out of `seq` order: a
    reader that moved its cursor past a `seq` still in flight would never see it.
    Writers hold a lock (the table's ROW EXCLUSIVE, which their insert takes before
    the `seq`) until they commit, so
    a `seq` allocated while nobody holds the lock, or once every holder seen then
    has finished, is final. `advance` is fed what the reader sees each time.
    """

    safe: int = 0
    """Every event at or below this `seq` is committed (or never will be)."""
    pending: tuple[int, frozenset[str]] | None = None
    """A `seq` seen allocated and the writers that held the lock then."""

    def advance(self, high: int, holders: frozenset[str]) -> int:
        """The new safe `seq`, given the highest allocated now and the writers holding the lock."""
        if self.pending is not None and not self.pending[1] & holders:
            self.safe = max(self.safe, self.pending[0])
            self.pending = None
        if not holders:
            self.safe = max(self.safe, high)
        elif self.pending is None:
            self.pending = (high, holders)
        return self.safe


# -- the built-in events ------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _new_id() -> str:
    return str(uuid.uuid4())


def state_type(state: str) -> str:
    """Prefect's state type of a stored run state (`Waiting` is Prefect's `PAUSED`)."""
    return "PAUSED" if state == RunState.WAITING.value else state.upper()


def shown_state(state: str, lease_owner: str | None) -> str:
    """A state's name as the API shows it: `Waiting` is `Paused` if leased, else `Suspended`."""
    if state != RunState.WAITING.value:
        return state
    return "Paused" if lease_owner is not None else "Suspended"


def _related(resource_id: str, role: str, name: str | None = None) -> dict[str, str]:
    found = {RESOURCE_ID: resource_id, RESOURCE_ROLE: role}
    if name is not None:
        found[RESOURCE_NAME] = name
    return found


def run_related(run: records.RunRecord) -> tuple[dict[str, str], ...]:
    """What a run's events relate to: flow, deployment, tags, pool, queue, parent."""
    found = [_related(f"tarry.flow.{run.flow_name}", "flow", run.flow_name)]
    if run.deployment is not None:
        found.append(_related(f"tarry.deployment.{run.deployment}", "deployment", run.deployment))
    found += [_related(f"tarry.tag.{tag}", "tag") for tag in run.tags]
    found.append(_related(f"tarry.work-pool.{run.work_pool}", "work-pool", run.work_pool))
    queue = f"{run.work_pool}/{run.work_queue}"
    found.append(_related(f"tarry.work-queue.{queue}", "work-queue", run.work_queue))
    if run.parent_id is not None:
        found.append(_related(f"tarry.flow-run.{run.parent_id}", "parent"))
    return tuple(found)


def run_transition_event(
    run: records.RunRecord, transition: records.TransitionRecord
) -> EventRecord:
    """`tarry.flow-run.<State>`: the event of a run's transition (`run` as it is after it)."""
    to_state = transition.to_state.value
    shown = shown_state(to_state, run.lease_owner)
    resource = {
        RESOURCE_ID: f"tarry.flow-run.{run.id}",
        RESOURCE_NAME: run.name,
        "tarry.state-name": shown,
        "tarry.state-type": state_type(to_state),
    }
    before = None if transition.from_state is None else transition.from_state.value
    initial = None if before is None else {"type": state_type(before), "name": before}
    payload = {
        "intended": {"from": before, "to": to_state},
        "initial_state": initial,
        "validated_state": {
            "type": state_type(to_state),
            "name": shown,
            "message": transition.reason,
        },
    }
    return EventRecord(
        _new_id(),
        transition.at,
        f"tarry.flow-run.{shown}",
        resource,
        run_related(run),
        _dumps(payload),
        received=transition.at,
    )


def _wait_related(wait: records.WaitRecord, run: records.RunRecord) -> tuple[dict[str, str], ...]:
    return (
        _related(f"tarry.flow-run.{run.id}", "flow-run", run.name),
        _related(f"tarry.flow.{run.flow_name}", "flow", run.flow_name),
    )


def _wait_event(
    name: str, wait: records.WaitRecord, run: records.RunRecord, at: float, **payload: Any
) -> EventRecord:
    resource = {RESOURCE_ID: f"tarry.input.{wait.id}", RESOURCE_NAME: wait.name}
    fields = {"wait_id": wait.id, "run_id": wait.run_id, "name": wait.name, **payload}
    related = _wait_related(wait, run)
    return EventRecord(_new_id(), at, name, resource, related, _dumps(fields), received=at)


def wait_opened_event(wait: records.WaitRecord, run: records.RunRecord) -> EventRecord | None:
    """`tarry.input.requested`, when `wait` asks for input (`None` for timers and receives)."""
    if wait.kind is not WaitKind.INPUT:
        return None
    spec = json.loads(wait.spec) if wait.spec else {}
    description = spec.get("description") if isinstance(spec, dict) else None
    return _wait_event(
        "tarry.input.requested",
        wait,
        run,
        wait.created_at,
        kind=wait.kind.value,
        description=description,
        timeout_at=wait.deadline,
    )


_CLOSED_NAMES = {
    WaitStatus.ANSWERED: "tarry.input.answered",
    WaitStatus.TIMED_OUT: "tarry.input.expired",
    WaitStatus.CANCELLED: "tarry.input.cancelled",
}


def wait_closed_event(wait: records.WaitRecord, run: records.RunRecord) -> EventRecord | None:
    """`tarry.input.answered|expired|cancelled` of an input wait just closed (as it is now)."""
    name = _CLOSED_NAMES.get(wait.status)
    if wait.kind is not WaitKind.INPUT or name is None:
        return None
    at = wait.closed_at if wait.closed_at is not None else wait.created_at
    if wait.status is not WaitStatus.ANSWERED:
        return _wait_event(name, wait, run, at)
    answer = None if wait.answer is None else json.loads(wait.answer)
    return _wait_event(name, wait, run, at, answer=answer, channel=wait.channel, by=wait.responder)


def message_sent_event(message: records.MessageRecord) -> EventRecord:
    """`tarry.message.sent`: a message stored for its receiving run."""
    resource = {
        RESOURCE_ID: f"tarry.message.{message.run_id}/{message.key}",
        RESOURCE_NAME: message.key,
    }
    related = [_related(f"tarry.flow-run.{message.run_id}", "receiver")]
    if message.sender_run_id is not None:
        related.append(_related(f"tarry.flow-run.{message.sender_run_id}", "sender"))
    payload = {
        "run_id": message.run_id,
        "key": message.key,
        "topic": message.topic,
        "sender": message.sender,
    }
    return EventRecord(
        _new_id(),
        message.sent_at,
        "tarry.message.sent",
        resource,
        tuple(related),
        _dumps(payload),
        received=message.sent_at,
    )


def to_params(event: EventRecord) -> dict[str, Any]:
    """Query parameters that insert `event` (both SQL stores)."""
    return {
        "id": event.id,
        "occurred": event.occurred,
        "event": event.event,
        "resource_id": event.resource_id,
        "resource": _dumps(dict(event.resource)),
        "related": _dumps([dict(r) for r in event.related]),
        "payload": event.payload,
        "received": event.received,
        "follows": event.follows,
    }


def from_row(row: Mapping[str, Any]) -> EventRecord:
    """The event an `events` row holds (both SQL stores)."""
    related: Sequence[Mapping[str, str]] = json.loads(row["related"])
    return EventRecord(
        id=row["id"],
        occurred=row["occurred"],
        event=row["event"],
        resource=json.loads(row["resource"]),
        related=tuple(related),
        payload=row["payload"],
        received=row["received"],
        seq=row["seq"],
        follows=row["follows"],
    )
