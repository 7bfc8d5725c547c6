"""Wake-ups pushed by a store: what other processes changed, and stores that cannot push."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

__all__ = ["Unlisten", "Unpushed", "Wake"]


@dataclasses.dataclass(frozen=True, slots=True)
class Wake:
    """A change another process made that may concern this one, pushed by the store.

    `wait_closed`: a wait of `run_id` (`wait_id`) was answered, timed out, got a
    message or was cancelled. `run_ready`: `run_id` became Pending. `run_ended`:
    `run_id` reached a final state. `run_cancelled`: `run_id` was cancelled.
    `resync`: pushes may have been missed (the store reconnected); look again.
    `owner_gone`: a process that leases runs is gone (`Store.gone_owners` names
    it): take its runs over now. `events`: a transaction stored events (pushed only
    once the store was asked to follow them, `Store.subscribe_events`).
    """

    event: str
    run_id: str = ""
    wait_id: str | None = None


Unlisten = Callable[[], None]
"""Stops what `Store.listen` started."""


class Unpushed:
    """`Store.listen` and `Store.serves_timers` of a store that cannot push changes."""

    def listen(self, callback: Callable[[Wake], None]) -> Unlisten | None:
        """See `Store.listen`: this store cannot push; processes poll it."""
        del callback
        return None

    def serves_timers(self) -> bool:
        """See `Store.serves_timers`: every process may (closing a wait is first-wins)."""
        return True

    def hold_owner(self, owner: str, on_lost: Callable[[], None], *, wait: bool = False) -> bool:
        """See `Store.hold_owner`: a store that cannot push cannot tell a gone process either."""
        del owner, on_lost, wait
        return False

    def gone_owners(self) -> list[str]:
        """See `Store.gone_owners`: none known; leases expire (and same-host checks)."""
        return []
