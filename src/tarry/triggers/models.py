"""Triggers: what an automation waits for, in Prefect 3's shapes and JSON `type`s.

`EventTrigger` (`"event"`) counts events, or their absence (`posture="Proactive"`);
`MetricTrigger` (`"metric"`) watches a measure of runs; `CompoundTrigger`
(`"compound"`) and `SequenceTrigger` (`"sequence"`) combine triggers. A trigger given
Prefect's names (`prefect.flow-run.*`, `prefect.resource.name`) holds tarry's
(`tarry.`) once made. Times (`within`, `range`, `firing_for`) are seconds or a
`timedelta`, and are written to JSON as seconds.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Literal

import pydantic

from tarry.triggers import labels as labels_module

__all__ = [
    "CompoundTrigger",
    "EventTrigger",
    "MetricTrigger",
    "MetricTriggerQuery",
    "Posture",
    "ResourceSpecification",
    "SequenceTrigger",
    "TriggerTypes",
]

_ZERO = datetime.timedelta(0)
_FIVE_MINUTES = datetime.timedelta(seconds=300)
#: Prefect's floor for a proactive trigger's window: shorter ones would race the clock.
_PROACTIVE_MINIMUM = datetime.timedelta(seconds=10)


class Posture(enum.StrEnum):
    """How a trigger reads events."""

    #: Fires on the presence of the expected events.
    Reactive = "Reactive"
    #: Fires on their absence within the window.
    Proactive = "Proactive"
    #: Fires on a measure of runs (`MetricTrigger`).
    Metric = "Metric"


class _Model(pydantic.BaseModel):
    # Unknown fields are refused, so a misspelt `whithin` is a 422, not a silent default.
    model_config = pydantic.ConfigDict(extra="forbid", ser_json_timedelta="float")

    @pydantic.model_validator(mode="before")
    @classmethod
    def _drop_server_id(cls, data: Any) -> Any:
        # Prefect's server gives each trigger an `id` in exports; tarry keys triggers by path.
        if isinstance(data, dict) and "id" in data:
            return {key: value for key, value in data.items() if key != "id"}
        return data


def _not_negative(value: datetime.timedelta, name: str) -> datetime.timedelta:
    if value < _ZERO:
        raise ValueError(f"`{name}` must be 0 seconds or more, not {value.total_seconds():g}")
    return value


class ResourceSpecification(pydantic.RootModel[dict[str, str | list[str]]]):
    """Labels a resource must have: each label's value, or a list of values any of which fits.

    Values follow Prefect: `prefix*` matches by prefix and `!value` negates. An empty
    specification matches every resource.
    """

    root: dict[str, str | list[str]] = pydantic.Field(default_factory=dict)

    @pydantic.field_validator("root", mode="after")
    @classmethod
    def _tarry_names(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        return labels_module.map_labels(value)

    def items_as_lists(self) -> list[tuple[str, list[str]]]:
        """Each label with the list of values that fit it."""
        return [(k, [v] if isinstance(v, str) else list(v)) for k, v in self.root.items()]

    def matches(self, resource: dict[str, str]) -> bool:
        """Whether `resource` has every label with a fitting value."""
        return all(
            any(labels_module.matches(each, resource.get(label)) for each in values)
            for label, values in self.items_as_lists()
        )


def _empty_spec() -> ResourceSpecification:
    return ResourceSpecification({})


class _ResourceTrigger(_Model):
    match: ResourceSpecification = pydantic.Field(default_factory=_empty_spec)
    """Labels of the event's resource."""
    match_related: ResourceSpecification | list[ResourceSpecification] = pydantic.Field(
        default_factory=_empty_spec
    )
    """Labels of a related resource; with a list, each must fit some related resource."""

    def related_specs(self) -> list[ResourceSpecification]:
        """`match_related` as a list."""
        spec = self.match_related
        return spec if isinstance(spec, list) else [spec]


class EventTrigger(_ResourceTrigger):
    """Fires on the presence (Reactive) or absence (Proactive) of events within a window.

    Reactive: `threshold` events named in `expect` (after one named in `after`, when
    given) within `within` seconds fire it, once per window. Proactive: fewer than
    `threshold` of them within `within` seconds of the `after` event fire it.
    """

    type: Literal["event"] = "event"
    after: set[str] = pydantic.Field(default_factory=set)
    """Events that arm the trigger first; empty: it is always armed. `prefix*` allowed."""
    expect: set[str] = pydantic.Field(default_factory=set)
    """The events counted; empty: every event. `prefix*` allowed."""
    for_each: set[str] = pydantic.Field(default_factory=set)
    """Labels whose values keep separate counts (`related:<role>:<label>` for a related one)."""
    posture: Literal["Reactive", "Proactive"] = "Reactive"
    """Whether the events' presence or their absence fires it."""
    threshold: int = 1
    """How many events fire it (Reactive), or are expected (Proactive)."""
    within: datetime.timedelta = _ZERO
    """The window in seconds; 0 (Reactive): no time limit."""

    @pydantic.field_validator("after", "expect", mode="after")
    @classmethod
    def _tarry_events(cls, value: set[str]) -> set[str]:
        return {labels_module.map_name(name) for name in value}

    @pydantic.field_validator("for_each", mode="after")
    @classmethod
    def _tarry_labels(cls, value: set[str]) -> set[str]:
        return {labels_module.map_label(label) for label in value}

    @pydantic.field_validator("threshold", mode="after")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"`threshold` must be 1 or more, not {value}")
        return value

    @pydantic.field_validator("within", mode="after")
    @classmethod
    def _within(cls, value: datetime.timedelta) -> datetime.timedelta:
        return _not_negative(value, "within")

    @pydantic.model_validator(mode="after")
    def _proactive_window(self) -> EventTrigger:
        # As Prefect: a proactive trigger without a window gets 10 s; a shorter one is refused.
        if self.posture == Posture.Proactive:
            if self.within == _ZERO:
                self.within = _PROACTIVE_MINIMUM
            elif self.within < _PROACTIVE_MINIMUM:
                raise ValueError("`within` of a Proactive trigger must be 10 seconds or more")
        return self

    @pydantic.field_serializer("after", "expect", "for_each")
    def _sorted(self, value: set[str]) -> list[str]:
        # Sorted, so the same trigger is always stored as the same JSON.
        return sorted(value)


class MetricTriggerQuery(_Model):
    """The measure a `MetricTrigger` watches and when it breaches.

    `successes` is the share of ended runs that completed (0 to 1: 0.7 is 70 %),
    `duration` the mean seconds from Running to the end, `lateness` the mean seconds from
    Pending to Running, all over the last `range` seconds.
    """

    name: Literal["successes", "duration", "lateness"]
    """The measure."""
    threshold: float
    """The value it is compared with."""
    operator: Literal["<", "<=", ">", ">="]
    """How: `measure <operator> threshold` is a breach."""
    range: datetime.timedelta = _FIVE_MINUTES
    """The lookback in seconds (300 or more, as Prefect)."""
    firing_for: datetime.timedelta = _FIVE_MINUTES
    """How long the breach (or its end) must hold before it fires (or resolves)."""

    @pydantic.field_validator("range", mode="after")
    @classmethod
    def _range(cls, value: datetime.timedelta) -> datetime.timedelta:
        if value < _FIVE_MINUTES:
            raise ValueError("`range` must be 300 seconds (5 minutes) or more")
        return value

    @pydantic.field_validator("firing_for", mode="after")
    @classmethod
    def _firing_for(cls, value: datetime.timedelta) -> datetime.timedelta:
        return _not_negative(value, "firing_for")

    @pydantic.model_validator(mode="after")
    def _share(self) -> MetricTriggerQuery:
        if self.name == "successes" and not 0 <= self.threshold <= 1:
            raise ValueError(
                f"`threshold` of `successes` is a share from 0 to 1 (0.7 for 70 %), "
                f"not {self.threshold:g}"
            )
        return self


class MetricTrigger(_ResourceTrigger):
    """Fires when a measure of the matching runs breaches for `metric.firing_for` seconds.

    It fires once, and resolves (running `actions_on_resolve`) once the breach has ended
    for as long; it fires again only after resolving. `match` and `match_related` pick
    the runs (`match_related={"tarry.resource.role": "flow", "tarry.resource.name": [...]}`).
    """

    type: Literal["metric"] = "metric"
    posture: Literal["Metric"] = "Metric"
    """Always `Metric`."""
    metric: MetricTriggerQuery
    """The measure and its breach."""


class _CompositeTrigger(_Model):
    triggers: list[TriggerTypes]
    """The triggers combined."""
    within: datetime.timedelta | None = None
    """The window their firings must fall in, in seconds; None: no limit."""

    @pydantic.field_validator("within", mode="after")
    @classmethod
    def _within(cls, value: datetime.timedelta | None) -> datetime.timedelta | None:
        return None if value is None else _not_negative(value, "within")

    @pydantic.field_validator("triggers", mode="after")
    @classmethod
    def _children(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("`triggers` must name at least one trigger")
        if any(isinstance(each, MetricTrigger) for each in value):
            raise ValueError("a metric trigger cannot be part of a compound or sequence trigger")
        return value


class CompoundTrigger(_CompositeTrigger):
    """Fires when `require` of its triggers fired, in any order, within `within` seconds.

    `require` is `"all"`, `"any"` or a number.
    """

    type: Literal["compound"] = "compound"
    require: int | Literal["any", "all"]
    """How many of `triggers` must fire."""

    @pydantic.model_validator(mode="after")
    def _require(self) -> CompoundTrigger:
        if isinstance(self.require, int):
            if self.require < 1:
                raise ValueError(f"`require` must be 1 or more, not {self.require}")
            if self.require > len(self.triggers):
                raise ValueError(
                    f"`require` is {self.require} but there are only {len(self.triggers)} triggers"
                )
        return self

    @property
    def required(self) -> int:
        """How many child firings fire it."""
        if self.require == "all":
            return len(self.triggers)
        return 1 if self.require == "any" else int(self.require)


class SequenceTrigger(_CompositeTrigger):
    """Fires when its triggers fired in their order, within `within` seconds."""

    type: Literal["sequence"] = "sequence"


def _trigger_type(value: Any) -> str:
    # As Prefect: `type` may be left out where the other fields say what the trigger is.
    if isinstance(value, dict):
        if "type" in value:
            return str(value["type"])
        if "triggers" in value:
            return "compound" if "require" in value else "sequence"
        return "metric" if value.get("posture") == "Metric" else "event"
    return str(getattr(value, "type", "event"))


TriggerTypes = Annotated[
    Annotated[EventTrigger, pydantic.Tag("event")]
    | Annotated[MetricTrigger, pydantic.Tag("metric")]
    | Annotated[CompoundTrigger, pydantic.Tag("compound")]
    | Annotated[SequenceTrigger, pydantic.Tag("sequence")],
    pydantic.Discriminator(_trigger_type),
]
"""Any trigger, told apart by its JSON `type`."""

CompoundTrigger.model_rebuild()
SequenceTrigger.model_rebuild()
