"""The event models of `tarry.events`: Prefect's `Event`, `Resource` and `RelatedResource`.

Label names and event names given with Prefect's `prefect.` prefix are taken as
tarry's `tarry.` (and so are resource ids such as `prefect.flow-run.<id>`), so
code written against Prefect emits the events tarry's own have.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic

from tarry.storage import events as stored

__all__ = ["Event", "RelatedResource", "Resource", "from_record", "tarry_name", "to_record"]

_MAX_NAME = 1024
_MAX_LABELS = 500


def tarry_name(name: str) -> str:
    """`name` with Prefect's `prefect.` prefix taken as tarry's `tarry.`."""
    return "tarry." + name[len("prefect.") :] if name.startswith("prefect.") else name


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, Resource):
        return dict(value.root)
    if not isinstance(value, Mapping):
        raise ValueError("a resource is an object of string labels")
    labels = {tarry_name(str(k)): v for k, v in value.items()}
    if not all(isinstance(v, str) for v in labels.values()):
        raise ValueError("every label's value is a string")
    if stored.RESOURCE_ID in labels:
        labels[stored.RESOURCE_ID] = tarry_name(labels[stored.RESOURCE_ID])
    return labels


class Resource(pydantic.RootModel[dict[str, str]]):
    """What an event happened to: string labels, `tarry.resource.id` required.

    Reads like a mapping (`resource["tarry.resource.name"]`, `.get`, `in`), with
    `.id` and `.name`.
    """

    @pydantic.model_validator(mode="before")
    @classmethod
    def _mapped(cls, value: Any) -> dict[str, str]:
        labels = _labels(value)
        if not labels.get(stored.RESOURCE_ID):
            raise ValueError(f"a resource needs a {stored.RESOURCE_ID!r} label")
        if len(labels) > _MAX_LABELS:
            raise ValueError(f"a resource has at most {_MAX_LABELS} labels")
        return labels

    @property
    def id(self) -> str:
        """Its `tarry.resource.id`."""
        return self.root[stored.RESOURCE_ID]

    @property
    def name(self) -> str | None:
        """Its `tarry.resource.name`, if it has one."""
        return self.root.get(stored.RESOURCE_NAME)

    def __getitem__(self, label: str) -> str:
        return self.root[tarry_name(label)]

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and tarry_name(label) in self.root

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def get(self, label: str, default: str | None = None) -> str | None:
        """The value of `label`, or `default`."""
        return self.root.get(tarry_name(label), default)

    def items(self) -> list[tuple[str, str]]:
        """Its labels and their values."""
        return list(self.root.items())


class RelatedResource(Resource):
    """A resource an event relates to: also needs `tarry.resource.role`."""

    @pydantic.model_validator(mode="after")
    def _has_role(self) -> RelatedResource:
        if not self.root.get(stored.RESOURCE_ROLE):
            raise ValueError(f"a related resource needs a {stored.RESOURCE_ROLE!r} label")
        return self

    @property
    def role(self) -> str:
        """Its `tarry.resource.role`."""
        return self.root[stored.RESOURCE_ROLE]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Event(pydantic.BaseModel):
    """Something that happened to a resource (Prefect's `Event`)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    occurred: datetime.datetime = pydantic.Field(default_factory=_utc_now)
    """When it happened (UTC when given without a zone)."""
    event: str = pydantic.Field(min_length=1, max_length=_MAX_NAME)
    """Its name, such as `shop.order.placed` (`prefect.` is taken as `tarry.`)."""
    resource: Resource
    """What it happened to."""
    related: list[RelatedResource] = pydantic.Field(default_factory=list)
    """What it relates to, each with a role."""
    payload: dict[str, Any] = pydantic.Field(default_factory=dict)
    """Its details (JSON)."""
    id: uuid.UUID = pydantic.Field(default_factory=uuid.uuid4)
    """Unique id: emitting the same id again stores nothing."""
    follows: uuid.UUID | None = None
    """The id of an event this one follows."""
    received: datetime.datetime | None = None
    """When the store received it (set on events read back)."""
    seq: int | None = None
    """Its place in the store's order (set on events read back)."""

    @pydantic.field_validator("event")
    @classmethod
    def _event_name(cls, value: str) -> str:
        return tarry_name(value)

    @pydantic.field_validator("occurred", "received")
    @classmethod
    def _aware(cls, value: datetime.datetime | None) -> datetime.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value

    def related_of_role(self, role: str) -> list[RelatedResource]:
        """The related resources with this role."""
        return [r for r in self.related if r.role == role]


def to_record(event: Event) -> stored.EventRecord:
    """The stored form of `event` (`received` and `seq` are the store's)."""
    return stored.EventRecord(
        id=str(event.id),
        occurred=event.occurred.timestamp(),
        event=event.event,
        resource=dict(event.resource.root),
        related=tuple(dict(r.root) for r in event.related),
        payload=json.dumps(event.payload, separators=(",", ":")),
        follows=None if event.follows is None else str(event.follows),
    )


def _at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def from_record(record: stored.EventRecord) -> Event:
    """The event a store returned."""
    payload = json.loads(record.payload)
    return Event(
        occurred=_at(record.occurred),
        event=record.event,
        resource=Resource(dict(record.resource)),
        related=[RelatedResource(dict(r)) for r in record.related],
        payload=payload if isinstance(payload, dict) else {"value": payload},
        id=uuid.UUID(record.id),
        follows=None if record.follows is None else uuid.UUID(record.follows),
        received=_at(record.received) if record.received else None,
        seq=record.seq,
    )
