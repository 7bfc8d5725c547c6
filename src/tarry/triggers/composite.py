"""Compound and sequence triggers: their children's firings, remembered within `within`.

A child that fires tells its composite, which keeps the latest firing of each child
(older than `within` before the newest are dropped, as Prefect does). A compound fires
once `require` children have fired, a sequence once every child has, in its order;
then it forgets them, so it fires once for each complete set. A timer at the oldest
firing's expiry drops it, so a half-complete state does not stay forever.
"""

from __future__ import annotations

from typing import Any

from tarry.triggers import book as book_module
from tarry.triggers import event as event_module
from tarry.triggers import models, nodes

__all__ = ["CompositeNode"]


class CompositeNode:
    """A compiled `CompoundTrigger` or `SequenceTrigger`.

    Args:
        automation_id: Its automation.
        node_id: `<trigger hash>:<path>`.
        trigger: The trigger.
        emit: Where it reports a firing.
    """

    def __init__(
        self,
        automation_id: str,
        node_id: str,
        trigger: models.CompoundTrigger | models.SequenceTrigger,
        emit: nodes.Emit,
    ) -> None:
        self.automation_id = automation_id
        self.node_id = node_id
        self._emit = emit
        self._size = len(trigger.triggers)
        self._sequence = isinstance(trigger, models.SequenceTrigger)
        self._required = (
            trigger.required if isinstance(trigger, models.CompoundTrigger) else self._size
        )
        self._within = None if trigger.within is None else trigger.within.total_seconds()

    def child_emit(self, index: int) -> nodes.Emit:
        """The `Emit` of child `index`."""

        def emit(book: book_module.Book, signal: nodes.Signal) -> None:
            self._child_fired(book, index, signal)

        return emit

    @property
    def names(self) -> set[str]:
        """No names: composites read no events themselves (their children do)."""
        return set()

    @property
    def related_key(self) -> None:
        """Not indexed: it reads no events."""
        return None

    def on_event(self, book: book_module.Book, seen: event_module.EventLike) -> None:
        """Composites read no events themselves (their children do)."""

    def on_timer(self, book: book_module.Book, key: str, now: float) -> None:
        """Drop the child firings that have left the window."""
        state_key = (self.automation_id, key)
        state = book.get(state_key)
        if state is None or self._within is None:
            return
        self._drop_before(state, now - self._within, inclusive=True)
        self._keep(book, state_key, state)

    def _child_fired(
        self,
        book: book_module.Book,
        index: int,
        signal: nodes.Signal,
    ) -> None:
        at, context = signal.at, signal.context
        mine = {"trigger": self.node_id.partition(":")[2], "children": [context]}
        if self._required == 1 and not (self._sequence and self._size > 1):
            self._emit(book, nodes.Signal(self.node_id, at, signal.event, mine))
            return
        state_key = (self.automation_id, self.node_id)
        state = book.get(state_key) or {"firings": {}, "n": 0}
        if self._within is not None:
            self._drop_before(state, at - self._within, inclusive=False)
        state["n"] += 1
        state["firings"][str(index)] = {"at": at, "n": state["n"], "context": context}
        if not self._ready(state["firings"]):
            self._keep(book, state_key, state)
            return
        book.delete(state_key)
        mine["children"] = [f["context"] for f in self._in_order(state["firings"])]
        self._emit(book, nodes.Signal(self.node_id, at, signal.event, mine))

    def _ready(self, firings: dict[str, dict[str, Any]]) -> bool:
        if not self._sequence:
            return len(firings) >= self._required
        order = [int(index) for index, _ in sorted(firings.items(), key=_when)]
        return order == list(range(self._size))

    @staticmethod
    def _in_order(firings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return [firing for _, firing in sorted(firings.items(), key=_when)]

    @staticmethod
    def _drop_before(state: dict[str, Any], horizon: float, *, inclusive: bool) -> None:
        state["firings"] = {
            index: firing
            for index, firing in state["firings"].items()
            if firing["at"] > horizon or (not inclusive and firing["at"] == horizon)
        }

    def _keep(
        self, book: book_module.Book, state_key: tuple[str, str], state: dict[str, Any]
    ) -> None:
        if not state["firings"]:
            book.delete(state_key)
            return
        book.put(state_key, state)
        if self._within is not None:
            oldest = min(firing["at"] for firing in state["firings"].values())
            book.set_timer(state_key, oldest + self._within)


def _when(item: tuple[str, dict[str, Any]]) -> tuple[float, int]:
    return item[1]["at"], item[1]["n"]
