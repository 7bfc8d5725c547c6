"""What one evaluation step decided: firings, and the state and timers to store.

`Evaluator.feed` and `Evaluator.tick` each return `Changes`; several merge into one
(the runtime commits a batch of events at once). A state or timer mapped to None is
deleted.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Literal

from tarry.triggers import event as event_module

__all__ = ["Changes", "Firing", "StateKey"]

StateKey = tuple[str, str]
"""(automation id, key): where a trigger's state and its timer are stored."""

#: Firing ids are uuid5s in this namespace, so evaluating the same events again
#: (after a crash before the commit) names the same firings.
_FIRINGS = uuid.UUID("8f1f54b6-1c55-4d7b-9d43-0b3a7a2f5c21")


@dataclasses.dataclass(frozen=True)
class Firing:
    """An automation fired (became triggered) or resolved."""

    automation_id: str
    """The automation."""
    kind: Literal["triggered", "resolved"]
    """Which of its action lists run (`actions` always, and `actions_on_<kind>`)."""
    key: str
    """The trigger's key: its path, and for `for_each` the bucket's values."""
    at: float
    """When, in epoch seconds (the event's time, or the tick's)."""
    event: event_module.Event | None
    """The triggering event (a proactive trigger's: the one that armed it)."""
    context: dict[str, Any]
    """JSON-ready facts for templates: `labels` of the bucket, `count`, `metric`, ..."""

    @property
    def id(self) -> str:
        """A stable id: the same firing decided twice has the same id."""
        seen = self.event.id if self.event is not None else ""
        name = f"{self.automation_id}|{self.kind}|{self.key}|{self.at!r}|{seen}"
        return str(uuid.uuid5(_FIRINGS, name))


@dataclasses.dataclass
class Changes:
    """Firings, and states and timers to put (a value) or delete (None)."""

    firings: list[Firing] = dataclasses.field(default_factory=list)
    """In the order they happened."""
    states: dict[StateKey, str | None] = dataclasses.field(default_factory=dict)
    """Each trigger state as JSON text, or None to delete it."""
    timers: dict[StateKey, float | None] = dataclasses.field(default_factory=dict)
    """Each timer's due time, or None to delete it."""

    def merge(self, later: Changes) -> None:
        """Add `later`'s changes (its values win)."""
        self.firings.extend(later.firings)
        self.states.update(later.states)
        self.timers.update(later.timers)

    def __bool__(self) -> bool:
        return bool(self.firings or self.states or self.timers)

    @property
    def put_states(self) -> dict[StateKey, str]:
        """The states to write."""
        return {key: value for key, value in self.states.items() if value is not None}

    @property
    def delete_states(self) -> list[StateKey]:
        """The states to delete."""
        return [key for key, value in self.states.items() if value is None]

    @property
    def put_timers(self) -> dict[StateKey, float]:
        """The timers to write."""
        return {key: value for key, value in self.timers.items() if value is not None}

    @property
    def delete_timers(self) -> list[StateKey]:
        """The timers to delete."""
        return [key for key, value in self.timers.items() if value is None]
