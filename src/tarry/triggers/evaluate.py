"""Which events fire which automations: pure evaluation over explicit state.

`Evaluator` holds the enabled automations' triggers, compiled, and a `Book` of their
state. `feed(event)` takes one event, `tick(now)` runs the timers due by `now`
(proactive deadlines, metric checks, windows closing); each returns the `Changes` to
store and the firings to act on. Nothing here reads a clock or does I/O, so the same
events and ticks give the same firings, and an evaluator rebuilt from the stored
states and timers at any step carries on exactly as the one before it (a crash loses
nothing that was committed).

An event visits only the triggers that can match it: triggers are indexed by the event
names they expect (exact, and `prefix*` by prefix length), and the candidates of each
name are cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import pydantic

from tarry.triggers import book as book_module
from tarry.triggers import buckets, changes, composite, metrics, models, nodes
from tarry.triggers import event as event_module

__all__ = ["Evaluator", "trigger_hash"]

_TRIGGER_JSON: pydantic.TypeAdapter[models.TriggerTypes] = pydantic.TypeAdapter(models.TriggerTypes)
#: Past this many distinct event names the name cache starts over (user events may
#: have names without end).
_CACHE_LIMIT = 4096


def trigger_hash(trigger: models.TriggerTypes) -> str:
    """A short digest of the trigger's JSON: the first part of its states' keys."""
    text = _TRIGGER_JSON.dump_json(trigger)
    return hashlib.sha256(text).hexdigest()[:10]


class Evaluator:
    """The triggers of enabled automations, evaluated event by event and tick by tick.

    Args:
        automations: Each enabled automation's trigger, by automation id.
        states: The stored trigger states (JSON text) by (automation id, key).
        timers: The stored timers' due times by (automation id, key).
    """

    def __init__(
        self,
        automations: Mapping[str, models.TriggerTypes] | None = None,
        states: Mapping[changes.StateKey, str] | None = None,
        timers: Mapping[changes.StateKey, float] | None = None,
    ) -> None:
        self._book = book_module.Book(states, timers)
        self._nodes: dict[tuple[str, str], nodes.Node] = {}
        self._hashes: dict[str, str] = {}
        self._always: list[nodes.Node] = []
        self._exact: dict[str, list[nodes.Node]] = {}
        self._prefixes: dict[str, list[nodes.Node]] = {}
        self._lengths: list[int] = []
        self._cache: dict[str, _Route] = {}
        self._rank: dict[int, int] = {}
        self._compile(automations or {})

    def set_automations(self, automations: Mapping[str, models.TriggerTypes]) -> changes.Changes:
        """Evaluate these triggers from now on.

        The state of an automation no longer given, or whose trigger changed, is
        deleted: a changed trigger starts afresh, as in Prefect.

        Returns:
            The states and timers to delete.
        """
        self._compile(automations)
        for key, _ in list(self._book.items()):
            if not self._current(key):
                self._book.delete(key)
        for key in self._timer_keys():
            if not self._current(key):
                self._book.clear_timer(key)
        return self._book.take()

    def feed(self, seen: event_module.EventLike) -> changes.Changes:
        """Evaluate one event.

        Returns:
            The firings it caused and the states and timers to store.
        """
        return self.feed_many((seen,))

    def feed_many(self, events: Iterable[event_module.EventLike]) -> changes.Changes:
        """Evaluate events in order: `feed` of each, merged, each changed state written once.

        Returns:
            The firings they caused and the states and timers to store.
        """
        for seen in events:
            for node in self._candidates(seen):
                node.on_event(self._book, seen)
        return self._book.take()

    def tick(self, now: float) -> changes.Changes:
        """Run every timer due at `now` or before.

        Returns:
            The firings they caused and the states and timers to store.
        """
        done: set[changes.StateKey] = set()
        while (key := self._book.pop_due(now)) is not None:
            if key in done:
                continue  # a node that set its own timer at `now` waits for the next tick
            done.add(key)
            node = self._nodes.get((key[0], key[1].partition("|")[0]))
            if node is None:
                self._book.delete(key)
            else:
                node.on_timer(self._book, key[1], now)
        return self._book.take()

    def next_due(self) -> float | None:
        """When the earliest timer is due, None if no timer is set."""
        return self._book.next_due()

    def snapshot(self) -> tuple[dict[changes.StateKey, str], dict[changes.StateKey, float]]:
        """Every state (JSON text) and timer: what the store holds after the last commit."""
        return self._book.snapshot()

    def _current(self, key: changes.StateKey) -> bool:
        return (key[0], key[1].partition("|")[0]) in self._nodes

    def _timer_keys(self) -> list[changes.StateKey]:
        _, timers = self._book.snapshot()
        return list(timers)

    def _compile(self, automations: Mapping[str, models.TriggerTypes]) -> None:
        self._nodes = {}
        self._hashes = {aid: trigger_hash(trigger) for aid, trigger in automations.items()}
        for automation_id, trigger in automations.items():
            node_id = f"{self._hashes[automation_id]}:t"
            self._add(automation_id, node_id, trigger, nodes.root_emit(automation_id))
        self._index()

    def _add(
        self, automation_id: str, node_id: str, trigger: models.TriggerTypes, emit: nodes.Emit
    ) -> None:
        node: nodes.Node
        if isinstance(trigger, models.EventTrigger):
            node = buckets.EventNode(automation_id, node_id, trigger, emit)
        elif isinstance(trigger, models.MetricTrigger):
            node = metrics.MetricNode(automation_id, node_id, trigger, emit)
        else:
            parent = composite.CompositeNode(automation_id, node_id, trigger, emit)
            for index, child in enumerate(trigger.triggers):
                self._add(automation_id, f"{node_id}.{index}", child, parent.child_emit(index))
            node = parent
        self._nodes[(automation_id, node_id)] = node

    def _index(self) -> None:
        self._always, self._exact, self._prefixes, self._cache = [], {}, {}, {}
        for node in self._nodes.values():
            names = node.names
            if names is None:
                self._always.append(node)
            for name in names or ():
                table = self._prefixes if name.endswith("*") else self._exact
                table.setdefault(name.removesuffix("*"), []).append(node)
        self._lengths = sorted({len(prefix) for prefix in self._prefixes})
        self._rank = {id(node): rank for rank, node in enumerate(self._nodes.values())}

    def _candidates(self, seen: event_module.EventLike) -> list[nodes.Node]:
        route = self._cache.get(seen.event)
        if route is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache = {}
            route = self._cache[seen.event] = _Route(self._lookup(seen.event))
        return route.nodes_for(seen, self._rank)

    def _lookup(self, name: str) -> list[nodes.Node]:
        picked: dict[int, nodes.Node] = {id(node): node for node in self._always}
        for node in self._exact.get(name, ()):
            picked[id(node)] = node
        for length in self._lengths:
            if length > len(name):
                break
            for node in self._prefixes.get(name[:length], ()):
                picked[id(node)] = node
        return list(picked.values())


class _Route:
    """The nodes one event name reaches, indexed by a label their related resource needs.

    Most triggers name the flow (or deployment, ...) they watch: such a node is found by
    the related resource's label value instead of being tried on every event.
    """

    def __init__(self, reached: list[nodes.Node]) -> None:
        self._open: list[nodes.Node] = []
        self._keyed: dict[tuple[str, str], list[nodes.Node]] = {}
        for node in reached:
            key = node.related_key
            if key is None:
                self._open.append(node)
                continue
            for value in key[1]:
                self._keyed.setdefault((key[0], value), []).append(node)
        self._labels = sorted({label for label, _ in self._keyed})

    def nodes_for(self, seen: event_module.EventLike, rank: dict[int, int]) -> list[nodes.Node]:
        if not self._keyed:
            return self._open
        found = {id(node): node for node in self._open}
        for related in seen.related:
            for label in self._labels:
                value = related.get(label)
                if value is not None:
                    for node in self._keyed.get((label, value), ()):
                        found[id(node)] = node
        # In one order whatever the index found first: a composite's children see an
        # event in their own order.
        return sorted(found.values(), key=lambda node: rank[id(node)])
