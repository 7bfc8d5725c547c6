"""What every compiled trigger shares: where it reports a firing.

A trigger in an automation's tree is compiled into a node. A node that fires calls its
`Emit`: the root's adds a `Firing` to the book, a composite's child's tells the
composite. Keys: a node's id is `<trigger hash>:<path>` (the root is `t`, its
children `t.0`, `t.1`, ...), so the states of an automation whose trigger changed are
told apart from the new trigger's; a `for_each` bucket adds `|<values as JSON>`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, Protocol

from tarry.triggers import book as book_module
from tarry.triggers import changes, event

__all__ = ["Emit", "Kind", "Node", "Signal", "root_emit"]

Kind = Literal["triggered", "resolved"]


@dataclasses.dataclass(frozen=True)
class Signal:
    """A node fired: what it tells its parent (or, at the top, the book)."""

    key: str
    """The node's key (a bucket's, for an event trigger with `for_each`)."""
    at: float
    """When, in epoch seconds."""
    event: event.Event | None
    """The triggering event."""
    context: dict[str, Any]
    """Facts for templates."""
    kind: Kind = "triggered"
    """Triggered, or (a metric trigger) resolved."""


Emit = Callable[[book_module.Book, Signal], None]
"""A node fired: tell its parent."""


class Node(Protocol):
    """A compiled trigger."""

    automation_id: str
    node_id: str

    @property
    def names(self) -> set[str] | None:
        """The event names it reads (exact or `prefix*`); None: any event."""

    @property
    def related_key(self) -> tuple[str, frozenset[str]] | None:
        """A label and values a related resource must have for it to read an event."""

    def on_event(self, book: book_module.Book, seen: event.EventLike) -> None:
        """Take in an event whose name this node's index lists."""

    def on_timer(self, book: book_module.Book, key: str, now: float) -> None:
        """A timer of this node under `key` is due at `now`."""


def root_emit(automation_id: str) -> Emit:
    """The `Emit` of an automation's top trigger: a `Firing` in the book."""

    def emit(book: book_module.Book, signal: Signal) -> None:
        firing = changes.Firing(
            automation_id, signal.kind, signal.key, signal.at, signal.event, signal.context
        )
        book.firings.append(firing)

    return emit
