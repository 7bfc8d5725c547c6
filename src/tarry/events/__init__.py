"""Events: `emit_event` and the models, at Prefect's path `prefect.events`.

    from tarry.events import emit_event

    emit_event("shop.order.placed", {"tarry.resource.id": "shop.order.42"}, payload={"total": 3})

tarry emits its own events too (a run's every state change, a wait for input opened
and closed, a message sent, deployments, schedules, work pools and queues changed);
see [events](../../docs/events.md).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tarry import event_service, host
from tarry.engine import context, steps
from tarry.events._models import Event, RelatedResource, Resource, to_record

__all__ = ["Event", "RelatedResource", "Resource", "emit_event"]

Event.__module__ = RelatedResource.__module__ = Resource.__module__ = __name__

_EVENT_NAMESPACE = uuid.UUID("7c9e4b1a-2d3f-4a5b-8c6d-0e1f2a3b4c5d")


def emit_event(  # noqa: PLR0917 - Prefect's signature, positional
    event: str,
    resource: Mapping[str, str],
    occurred: datetime.datetime | None = None,
    related: Sequence[Mapping[str, str] | RelatedResource] | None = None,
    payload: Mapping[str, Any] | None = None,
    id: uuid.UUID | None = None,
    follows: Event | uuid.UUID | None = None,
    **kwargs: Any,
) -> Event | None:
    """Store an event, as Prefect's `emit_event` does.

    Inside a flow run, the run (role `flow-run`) and its flow (role `flow`) are added
    to `related`, and the event is emitted once however often the run is replayed.
    Prefect's `prefect.` label and event names are taken as `tarry.`.

    Args:
        event: Its name, such as `shop.order.placed`.
        resource: What it happened to: labels, `tarry.resource.id` required.
        occurred: When it happened (now when omitted).
        related: What it relates to, each with `tarry.resource.id` and `tarry.resource.role`.
        payload: Its details (JSON).
        id: Its id (a new one when omitted); an id stored before stores nothing.
        follows: The event (or its id) this one follows.
        **kwargs: Other fields of Prefect's `Event`, ignored when unknown to tarry.

    Returns:
        The event as stored.

    Raises:
        pydantic.ValidationError: A field does not fit (a resource without
            `tarry.resource.id`, a related resource without a role, ...).
        errors.ValueRefused: The payload cannot be stored unchanged.
    """
    del kwargs
    ctx = context.current_run()
    fields: dict[str, Any] = {
        "event": event,
        "resource": dict(resource),
        "related": [dict(r.root if isinstance(r, Resource) else r) for r in related or ()],
        "payload": dict(payload or {}),
        "follows": follows.id if isinstance(follows, Event) else follows,
    }
    if occurred is not None:
        fields["occurred"] = occurred
    built = Event.model_validate(fields)  # raises before anything is journaled
    if ctx is None:
        return _store(host.get_host(), built, id)
    built = _with_run(built, ctx.run.id, ctx.run.name, ctx.run.flow_name)
    stored = steps.record_keyed(
        "tarry.events.emit_event",
        lambda key: _store(ctx.host, built, id, key).model_dump(mode="json"),
    )
    return Event.model_validate(stored)


def _store(hst: host.Host, built: Event, id: uuid.UUID | None, key: str | None = None) -> Event:
    if id is not None:
        built = built.model_copy(update={"id": id})
    elif key is not None:
        # The same id on a replay after a crash: the store keeps the event once.
        built = built.model_copy(update={"id": uuid.uuid5(_EVENT_NAMESPACE, key)})
    event_service.store_events(hst, [to_record(built)])
    return built


def _with_run(built: Event, run_id: str, run_name: str, flow_name: str) -> Event:
    known = {built.resource.id, *(r.id for r in built.related)}
    added = [
        {"tarry.resource.id": f"tarry.flow-run.{run_id}", "tarry.resource.role": "flow-run",
         "tarry.resource.name": run_name},
        {"tarry.resource.id": f"tarry.flow.{flow_name}", "tarry.resource.role": "flow",
         "tarry.resource.name": flow_name},
    ]  # fmt: skip
    extra = [RelatedResource(r) for r in added if r["tarry.resource.id"] not in known]
    return built.model_copy(update={"related": [*built.related, *extra]})
