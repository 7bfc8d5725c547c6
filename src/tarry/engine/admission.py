"""How many top-level async flow calls of one event loop start at once.

`asyncio.gather` over 100,000 flow calls would otherwise take them all into
their first store write before any reaches its wait: every run's record,
context and stack alive at once, hundreds of MiB the allocator keeps after
they suspend. A call waits here for a place before it makes its run, and gives
it back as soon as the run waits (parks on its first wait or suspends), ends,
or has held it for `_HOLD_SECONDS`: a flow that runs long without waiting
never keeps another from starting for longer than that, so calls that await
one another cannot deadlock on the gate.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import weakref

__all__ = ["Place", "enter", "leave_current"]

_PLACES = 1000
_HOLD_SECONDS = 0.5


class _Gate:
    """The places of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.free = _PLACES
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()

    def give_back(self) -> None:
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes to it
                return
        self.free += 1


class Place:
    """A place taken at the gate, given back once."""

    __slots__ = ("_gate", "_timer", "_token")

    def __init__(self, gate: _Gate) -> None:
        self._gate: _Gate | None = gate
        self._timer: asyncio.TimerHandle | None = gate.loop.call_later(_HOLD_SECONDS, self.leave)
        self._token: contextvars.Token[Place | None] | None = None

    def leave(self) -> None:
        """Give the place back (later calls do nothing); on the loop's thread."""
        gate, self._gate = self._gate, None
        if gate is None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        gate.give_back()

    def __enter__(self) -> Place:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave()
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()
_current: contextvars.ContextVar[Place | None] = contextvars.ContextVar(
    "tarry_admission_place", default=None
)


async def enter() -> Place:
    """Wait for a place at this loop's gate.

    Used as a context manager, the place is the current task's (`leave_current`)
    and is given back at the latest when the block ends.
    """
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _Gate(loop)
    if gate.free > 0 and not gate.queue:
        gate.free -= 1
    else:
        waiter = loop.create_future()
        gate.queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                gate.give_back()  # the place came just as the call was cancelled
            raise
    return Place(gate)


def leave_current() -> None:
    """Give back the place the current task holds, if any (its run waits now)."""
    place = _current.get()
    if place is not None:
        place.leave()
