"""Events for every interface: store them, announce service changes, sweep the old ones.

`tarry.events.emit_event`, the API and the client all store events through `store_events`;
`service`, `pool_service` and `deployments` announce their changes with `announce` right
after they are made (those changes are not run transitions, which the store writes itself).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tarry import boundary, host
from tarry.storage import events

__all__ = ["SWEEP_BATCH", "announce", "deployment_resource", "related", "store_events", "sweep"]

SWEEP_BATCH = 5000
"""How many events one retention delete takes at most (one short transaction)."""
_SWEEP_ROUNDS = 20

_log = logging.getLogger("tarry.events")


def store_events(hst: host.Host, items: Sequence[events.EventRecord]) -> int:
    """Store events from outside, `received` now; returns how many were new.

    Raises:
        errors.ValueRefused: A payload or label tarry cannot store unchanged.
    """
    now = hst.clock.now()
    for item in items:
        boundary.check(hst.settings, "the event's payload", json.loads(item.payload))
        labels = [*item.resource.values(), *(v for r in item.related for v in r.values())]
        boundary.check(hst.settings, event=item.event, labels="".join(labels))
    stamped = [_received(item, now) for item in items]
    return hst.store.add_events(stamped)


def _received(item: events.EventRecord, now: float) -> events.EventRecord:
    return events.EventRecord(
        item.id, item.occurred, item.event, item.resource, item.related, item.payload, now,
        follows=item.follows,
    )  # fmt: skip


def announce(
    hst: host.Host,
    name: str,
    resource: Mapping[str, str],
    payload: Mapping[str, Any] | None = None,
    related: Sequence[Mapping[str, str]] = (),
) -> None:
    """Store a service event (`tarry.deployment.updated`, ...) of a change just made.

    The change is done already: an event the store refuses is logged, not raised.
    """
    now = hst.clock.now()
    record = events.EventRecord(
        str(uuid.uuid4()),
        now,
        name,
        dict(resource),
        tuple(dict(r) for r in related),
        json.dumps(dict(payload or {}), separators=(",", ":")),
        now,
    )
    try:
        hst.store.add_events([record])
    except Exception:  # noqa: BLE001 - the change stands; only its event is lost
        _log.exception("could not store the event %s", name)


def deployment_resource(name: str) -> dict[str, str]:
    """The resource labels of deployment `name`."""
    return {events.RESOURCE_ID: f"tarry.deployment.{name}", events.RESOURCE_NAME: name}


def related(kind: str, name: str) -> dict[str, str]:
    """A related `tarry.<kind>.<name>` of role `kind` (`flow`, `work-pool`, ...)."""
    return {
        events.RESOURCE_ID: f"tarry.{kind}.{name}",
        events.RESOURCE_ROLE: kind,
        events.RESOURCE_NAME: name,
    }


def sweep(hst: host.Host, now: float) -> int:
    """Delete the events older than the retention (`TARRY_EVENTS_RETENTION`), in batches.

    Returns:
        How many were deleted.
    """
    retention = hst.settings.events_retention
    if retention <= 0:
        return 0
    deleted = 0
    for _ in range(_SWEEP_ROUNDS):
        gone = hst.store.delete_events_before(now - retention, SWEEP_BATCH)
        deleted += gone
        if gone < SWEEP_BATCH:
            break
    return deleted
