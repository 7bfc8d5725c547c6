"""In-process wake-ups: an answer wakes the thread or coroutine parked on its wait.

Keyed by wait id (resident waiters) and by run id (callers waiting for a
suspended run to become ready). Waking is a flag and an event set, well under a
millisecond; nothing here touches the store.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from tarry.storage import records

__all__ = ["Hub", "Signal", "call_soon_batched"]

# Closes made here are remembered until the watcher has passed them; the cap only
# bounds a process that closes many waits and never runs a watcher.
_CLOSED_HERE_MAX = 100_000


class _Inbox:
    """Calls other threads hand to one event loop, run there in batches.

    `call_soon_threadsafe` writes to the loop's wake-up pipe at each call: a
    commit of 500 writes, or 500 answers, would make 500 system calls and 500
    loop wake-ups. Here only the first call of a batch wakes the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._calls: list[tuple[Callable[..., object], tuple[Any, ...]]] = []

    def add(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        with self._lock:
            first = not self._calls
            self._calls.append((fn, args))
        if not first:
            return
        try:
            self._loop.call_soon_threadsafe(self._run)
        except RuntimeError:
            with self._lock:
                self._calls.clear()  # the loop closed: nobody waits for these
            raise

    def _run(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn, args in calls:
            fn(*args)


_inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = weakref.WeakKeyDictionary()
_inboxes_lock = threading.Lock()


def call_soon_batched(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: Any
) -> None:
    """`loop.call_soon_threadsafe(fn, *args)`, with one loop wake-up for calls made together.

    Calls run on the loop in the order made.

    Raises:
        RuntimeError: The loop is closed.
    """
    inbox = _inboxes.get(loop)
    if inbox is None:
        with _inboxes_lock:
            inbox = _inboxes.get(loop)
            if inbox is None:
                inbox = _inboxes[loop] = _Inbox(loop)
    inbox.add(fn, args)


class Signal:
    """A one-shot wake-up that threads and coroutines can both wait on.

    A coroutine's signal holds a flag and, while it waits, one future of its loop:
    no event objects and no timer unless a timeout is asked (100,000 suspended runs
    each hold one).

    Args:
        loop: The event loop of the coroutine that waits, or `None` for a thread.
    """

    __slots__ = ("_flag", "_future", "_loop", "_thread_event")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._thread_event = threading.Event() if loop is None else None
        self._flag = False
        self._future: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the waiter (from any thread)."""
        if self._thread_event is not None:
            self._thread_event.set()
            return
        self._flag = True
        if self._loop is None:
            return
        try:
            call_soon_batched(self._loop, self._wake)
        except RuntimeError:
            # The loop is closed: its coroutine is gone and wakes no more.
            return

    def _wake(self) -> None:
        # On the loop's thread: the flag is already set, so a wait begun after it sees it.
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)

    def clear(self) -> None:
        """Make the next `wait` block again."""
        if self._thread_event is not None:
            self._thread_event.clear()
        self._flag = False
        self._future = None

    def wait(self, timeout: float | None) -> bool:
        """Block this thread until set or `timeout` seconds passed; `True` if set."""
        if self._thread_event is None:
            raise RuntimeError("this signal was made for a coroutine")
        return self._thread_event.wait(timeout)

    def pending(self) -> asyncio.Future[None] | None:
        """A future of the loop that the next `set` completes; `None` if set already."""
        if self._loop is None:
            raise RuntimeError("this signal was made for a thread")
        if self._flag:
            return None
        self._future = self._loop.create_future()
        return self._future

    async def wait_async(self, timeout: float | None) -> bool:
        """Async version of `wait`."""
        future = self.pending()
        if future is None or self._loop is None:
            return True
        timer = None if timeout is None else self._loop.call_later(timeout, _expire, future)
        try:
            await future
        finally:
            self._future = None
            if timer is not None:
                timer.cancel()
        return self._flag


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Parked:
    """A waiter parked on one or more waits (the alternatives of one journal key)."""

    def __init__(self, run_id: str, wait_ids: list[str], signal: Signal) -> None:
        self.run_id = run_id
        self.wait_ids = wait_ids
        self.signal = signal
        self.outcome: records.StepRecord | None = None
        self.suspend_asked = False
        self.crowded = False
        """Whether the resident limit was reached when it parked: it leaves memory at once."""


class Hub:
    """Routes closes of waits and readiness of runs to the waiters of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parked: dict[str, Parked] = {}
        self._resident: set[int] = set()
        # Tuples, and no member entries for a root alone: 100,000 suspended runs each
        # hold one entry here (a list and a self-entry cost twice as much).
        self._watchers: dict[str, tuple[Signal, ...]] = {}
        self._roots: dict[str, str] = {}
        self._members: dict[str, tuple[str, ...]] = {}
        self._specs: dict[str, Any] = {}
        self._ready_listeners: list[Callable[[str], None]] = []
        self._closed_here: dict[str, float] = {}
        self._handed: dict[str, records.RunRecord] = {}
        self._aborted: dict[str, str] = {}
        self._closed_reason: str | None = None

    # -- resident waiters -------------------------------------------------------------

    def park(
        self,
        run_id: str,
        wait_ids: list[str],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_resident: int | None = None,
    ) -> Parked:
        """Register a waiter of run `run_id` for `wait_ids`.

        With `max_resident`, a waiter that finds that many resident already is
        `crowded` and does not count as resident: the check and the count are one
        step, so a burst of waiters never keeps more than `max_resident`.
        """
        parked = Parked(run_id, wait_ids, Signal(loop))
        with self._lock:
            for wait_id in wait_ids:
                self._parked[wait_id] = parked
            parked.crowded = max_resident is not None and len(self._resident) >= max_resident
            if not parked.crowded:
                self._resident.add(id(parked))
        return parked

    def unpark(self, parked: Parked) -> None:
        """Forget a waiter."""
        with self._lock:
            for wait_id in parked.wait_ids:
                if self._parked.get(wait_id) is parked:
                    del self._parked[wait_id]
            self._resident.discard(id(parked))

    def ask_to_suspend(self, run_id: str | None = None) -> bool:
        """Ask the waiter of `run_id` (every waiter: `None`) parked here to leave memory now.

        Returns:
            Whether any waiter was asked.
        """
        with self._lock:
            found = [p for p in self._parked.values() if run_id in (None, p.run_id)]
        for parked in found:
            parked.suspend_asked = True
            parked.signal.set()
        return bool(found)

    def resident(self) -> int:
        """How many waiters are parked."""
        with self._lock:
            return len(self._resident)

    def parked_run_ids(self) -> list[str]:
        """Runs with a waiter parked here, the longest parked first."""
        with self._lock:
            return list(dict.fromkeys(p.run_id for p in self._parked.values()))

    def parked_wait_ids(self) -> set[str]:
        """Ids of the waits someone here is parked on."""
        with self._lock:
            return set(self._parked)

    def is_parked(self, wait_id: str) -> bool:
        """Whether someone here is parked on `wait_id`."""
        with self._lock:
            return wait_id in self._parked

    def anyone_waits(self) -> bool:
        """Whether a waiter is parked here or a caller awaits a suspended run."""
        with self._lock:
            return bool(self._parked or self._watchers)

    def closed(self, wait_id: str, step: records.StepRecord) -> bool:
        """Deliver a wait's journal entry to its parked waiter; `False` if none is here."""
        with self._lock:
            parked = self._parked.get(wait_id)
        if parked is None:
            return False
        parked.outcome = step
        parked.signal.set()
        return True

    def note_closed_here(self, wait_id: str, at: float) -> None:
        """Remember that this process closed `wait_id` (and already woke who waits)."""
        with self._lock:
            self._closed_here[wait_id] = at
            if len(self._closed_here) > _CLOSED_HERE_MAX:
                del self._closed_here[next(iter(self._closed_here))]

    def was_closed_here(self, wait_id: str) -> bool:
        """Whether this process closed `wait_id` (so the watcher need not relay it)."""
        with self._lock:
            return wait_id in self._closed_here

    def forget_closed_before(self, at: float) -> None:
        """Drop the memory of closes made here before `at`."""
        # Oldest first (remembered as they close): drop from the front, not a full copy
        # at each watcher tick while 100,000 answers are being given.
        with self._lock:
            closed = self._closed_here
            while closed:
                first = next(iter(closed))
                if closed[first] >= at:
                    break
                del closed[first]

    # -- runs taken away (cancelled) -------------------------------------------------------

    def abort(self, run_ids: Iterable[str], reason: str) -> None:
        """Stop runs executing here at their next step or wait, and wake their waiters."""
        with self._lock:
            ids = set(run_ids)
            self._aborted.update(dict.fromkeys(ids, reason))
            signals = [p.signal for p in self._parked.values() if p.run_id in ids]
        for signal in signals:
            signal.set()

    def aborted(self, run_id: str) -> str | None:
        """Why run `run_id` must stop, or `None`."""
        return self._aborted.get(run_id) or self._closed_reason

    def close(self, reason: str) -> None:
        """Stop every run and caller waiting in this process (it is shutting down)."""
        with self._lock:
            self._closed_reason = reason
        self.kick_all()

    @property
    def closed_reason(self) -> str | None:
        """Why the hub closed, or `None` while it is open."""
        return self._closed_reason

    def forget_aborted(self, run_id: str) -> None:
        """The run stopped executing here."""
        with self._lock:
            self._aborted.pop(run_id, None)

    # -- input specs of open waits -----------------------------------------------------

    def keep_spec(self, wait_id: str, spec: Any) -> None:
        """Remember the live input spec of a wait opened here (for full validation)."""
        with self._lock:
            self._specs[wait_id] = spec

    def spec(self, wait_id: str) -> Any:
        """The live input spec of a wait opened here, or `None`."""
        with self._lock:
            return self._specs.get(wait_id)

    def forget_specs(self, wait_ids: Iterable[str]) -> None:
        """Drop the specs of waits that closed."""
        with self._lock:
            for wait_id in wait_ids:
                self._specs.pop(wait_id, None)

    # -- suspended runs ---------------------------------------------------------------

    def watch_run(
        self, root_id: str, members: Iterable[str], loop: asyncio.AbstractEventLoop | None = None
    ) -> Signal:
        """Be woken when `root_id` (or a wait of one of its `members`) may be ready."""
        signal = Signal(loop)
        with self._lock:
            self._watchers[root_id] = (*self._watchers.get(root_id, ()), signal)
            others = tuple(member for member in members if member != root_id)
            for member in others:
                self._roots[member] = root_id
            if others:
                self._members[root_id] = (*self._members.get(root_id, ()), *others)
        return signal

    def unwatch_run(self, root_id: str, signal: Signal) -> records.RunRecord | None:
        """Stop watching.

        Returns:
            A run handed over to the last watcher that nobody took: the caller must
            give it back (it is Running, leased to this process).
        """
        with self._lock:
            signals = tuple(s for s in self._watchers.get(root_id, ()) if s is not signal)
            if signals:
                self._watchers[root_id] = signals
                return None
            self._watchers.pop(root_id, None)
            for member in self._members.pop(root_id, ()):
                if self._roots.get(member) == root_id:
                    del self._roots[member]
            return self._handed.pop(root_id, None)

    def awaited_root(self, run_id: str) -> str | None:
        """The top-level run a caller here awaits, if `run_id` is it or in its chain."""
        with self._lock:
            if run_id in self._watchers:
                return run_id
            return self._roots.get(run_id)

    def hand_over(self, run: records.RunRecord) -> bool:
        """Give a run claimed on a caller's behalf to that caller; `False` if none waits."""
        with self._lock:
            signals = self._watchers.get(run.id)
            if not signals:
                return False
            self._handed[run.id] = run
        signals[0].set()
        return True

    def take_handed(self, root_id: str) -> records.RunRecord | None:
        """The run handed over for `root_id`, once (to one of its callers)."""
        with self._lock:
            return self._handed.pop(root_id, None)

    def watched_runs(self) -> set[str]:
        """Runs (and members of their chains) someone here waits on."""
        with self._lock:
            return set(self._watchers) | set(self._roots)

    def watched_roots(self) -> list[str]:
        """Top-level runs someone here waits on."""
        with self._lock:
            return list(self._watchers)

    def on_ready(self, listener: Callable[[str], None]) -> None:
        """Call `listener(run_id)` whenever a run may have become ready."""
        with self._lock:
            self._ready_listeners.append(listener)

    def run_ready(self, run_id: str) -> None:
        """A run (or a member of a watched chain) may be ready: wake who waits."""
        with self._lock:
            root = self._roots.get(run_id, run_id)
            signals = self._watchers.get(root, ())
            listeners = list(self._ready_listeners)
        for signal in signals:
            signal.set()
        for listener in listeners:
            listener(root)

    def kick_all(self) -> None:
        """Wake every waiter to look at the clock again (a fake clock moved)."""
        with self._lock:
            signals = [p.signal for p in self._parked.values()]
            signals += [s for group in self._watchers.values() for s in group]
        for signal in signals:
            signal.set()
