"""Stopping a sync call where it is when its deadline passes (internal).

A timed call (a task's or a flow's body with `timeout_seconds`) runs in a helper
thread of its own, so that the thread waiting for it can always give up. When the
deadline passes, the waiter interrupts the helper with CPython's
`PyThreadState_SetAsyncExc`: the helper raises `errors.TimeoutInterrupt` at the
next Python bytecode it runs, and unwinds through its `finally` blocks.

An asynchronous exception is only seen while a thread runs Python code. A thread
blocked in C (`time.sleep`, a socket read, a lock, a C extension's long call) gets
it when that call returns; the waiter gives it `GRACE_SECONDS` and then abandons
it, and the interrupt stays pending, so the helper still stops as soon as it is
back in Python.

tarry's own critical sections (journal writes, store commits, slot releases) run
`shielded()`: an interrupt due inside one is held back and raised when the
outermost shield ends, so a step is recorded whole or not at all.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import ctypes
import dataclasses
import functools
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from tarry import errors

__all__ = [
    "GRACE_SECONDS",
    "Interruptible",
    "Shield",
    "ShieldedLock",
    "Wakeable",
    "call_with_deadline",
    "describe",
    "in_timed_call",
    "shielded",
    "sleep",
    "wait_done",
    "waking",
]

T = TypeVar("T")

GRACE_SECONDS = 0.5
"""How long an interrupted call may take to stop before it is abandoned."""

_set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
# The same C function, given NULL: it clears the thread's pending asynchronous exception.
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)

_PACKAGE = str(Path(errors.__file__).parent)


class _Local(threading.local):
    # A class default: looking up a missing thread-local attribute raises inside,
    # which costs microseconds on every shield.
    guard: _Guard | None = None


_local = _Local()


class _Delivered(errors.TimeoutInterrupt):
    """The interrupt as the interpreter raises it: built in the interrupted thread."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        guard = _local.guard
        if guard is not None:
            # Built only when raised, in the thread being interrupted: from here on,
            # nothing is pending for a shield to clear.
            guard.delivered = True


class _Guard:
    """Whether the helper thread of one timed call may be interrupted now.

    The waiter calls `interrupt`; the helper calls the rest. One lock orders them,
    so an interrupt is never set while a shield is up.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread_id = 0
        self.depth = 0
        self.began = self.finished = self.issued = False
        self.pending = self.delivered = self.deferred = False
        self.waking: Wakeable | None = None

    def begin(self) -> bool:
        with self.lock:
            if self.issued:
                return False  # the deadline passed before the call even began
            self.thread_id = threading.get_ident()
            self.began = True
            _local.guard = self
            return True

    def interrupt(self) -> None:
        with self.lock:
            if self.finished or self.issued:
                return
            self.issued = True
            if not self.began or self.depth:
                self.deferred = self.began
                return
            self.pending = True
            _set_async_exc(self.thread_id, _Delivered)
            waking = self.waking
        if waking is not None:
            waking.set()  # a wait of tarry's in the helper returns, so the interrupt lands

    def finish(self) -> None:
        with self.lock:
            self.finished = True
            self._clear()
            _local.guard = None

    def enter(self) -> None:
        with self.lock:
            self.depth += 1
            if self._clear():
                self.deferred = True

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            due = self.depth == 0 and self.deferred
            self.deferred = self.deferred and not due
        if due:
            raise _Delivered()

    def _clear(self) -> bool:
        """Withdraw an interrupt set but not yet raised; whether there was one."""
        if not self.pending or self.delivered:
            return False
        _clear_async_exc(self.thread_id, None)
        self.pending = False
        return True


class Shield:
    """A critical section of tarry's own: no deadline interrupt lands inside it."""

    __slots__ = ("_guard",)

    def __init__(self) -> None:
        self._guard: _Guard | None = None

    def __enter__(self) -> None:
        guard = _local.guard
        if guard is not None:
            guard.enter()
        self._guard = guard

    def __exit__(self, *exc: object) -> None:
        if self._guard is not None:
            self._guard.leave()


def shielded() -> Shield:
    """Hold back a deadline's interrupt until the block ends (it is raised then).

    Costs one thread-local look-up outside timed calls. Shields nest.
    """
    return Shield()


class ShieldedLock:
    """A `threading.Lock` whose holder is shielded: no interrupt lands while it is held.

    For state changed under a lock (the memory store), so that an interrupt never
    leaves it half-changed.
    """

    __slots__ = ("_holder", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder = Shield()  # the current holder's; only the holder touches it

    def __enter__(self) -> None:
        shield = Shield()
        shield.__enter__()
        self._lock.acquire()
        self._holder = shield

    def __exit__(self, *exc: object) -> None:
        shield = self._holder
        self._lock.release()
        shield.__exit__()


class Wakeable(Protocol):
    """What a wait blocks on: anything that can be set (an `Event`, a hub signal)."""

    def set(self) -> None:
        """Wake the waiter."""


class _Waking:
    __slots__ = ("_event", "_guard")

    def __init__(self, event: Wakeable) -> None:
        self._event = event
        self._guard = _local.guard

    def __enter__(self) -> None:
        if self._guard is not None:
            self._guard.waking = self._event

    def __exit__(self, *exc: object) -> None:
        if self._guard is not None:
            self._guard.waking = None


def waking(event: Wakeable) -> _Waking:
    """While the block waits on `event`, an interrupt of this thread sets it too.

    A thread blocked on a lock in C would not see the interrupt until the wait
    ends; set, the wait returns and the interrupt is raised at once.
    """
    return _Waking(event)


def in_timed_call() -> bool:
    """Whether this thread runs a timed call's body (one its deadline interrupts)."""
    return _local.guard is not None


def sleep(seconds: float) -> None:
    """`time.sleep` that a timed call's interrupt cuts short (it raises at once)."""
    if not in_timed_call():
        time.sleep(seconds)
        return
    event = threading.Event()
    with waking(event):
        event.wait(seconds)


def wait_done(futures: Sequence[cf.Future[Any]], timeout: float | None) -> float | None:
    """In a timed call, wait for all `futures` so that its interrupt can break in.

    A wait on futures blocks in C, where an interrupt is not seen; this one wakes
    for it. Outside a timed call it does nothing.

    Returns:
        The timeout left for the caller's own wait: `timeout` as it was outside a
        timed call, else 0 (this wait is over).
    """
    if not in_timed_call():
        return timeout
    pending = [f for f in futures if not f.done()]
    if pending:
        _wait_all(pending, timeout)
    return 0


def _wait_all(pending: list[cf.Future[Any]], timeout: float | None) -> None:
    all_done = threading.Event()
    left = [len(pending)]
    lock = threading.Lock()

    def one_done(_: cf.Future[Any]) -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                all_done.set()

    for future in pending:
        future.add_done_callback(one_done)
    with waking(all_done):
        all_done.wait(timeout)


@dataclasses.dataclass
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None


class Interruptible(Generic[T]):
    """One call in a helper thread of its own, which its waiter can interrupt.

    Args:
        target: What to call (already bound to its context).
        thread_name: The helper thread's name.
    """

    def __init__(self, target: Callable[[], T], thread_name: str) -> None:
        self._target = target
        self._guard = _Guard()
        self._done = threading.Event()
        self._outcome: _Outcome[T] | None = None
        self._thread = threading.Thread(target=self._work, name=thread_name, daemon=True)

    @property
    def interrupted(self) -> bool:
        """Whether the deadline's interrupt was issued (sent, or held back by a shield)."""
        return self._guard.issued

    def start(self) -> None:
        """Start the helper thread."""
        self._thread.start()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for the call to end; whether it did.

        The wait itself can be interrupted (this thread may be a timed call's helper).
        """
        with waking(self._done):
            self._done.wait(seconds)
        return self._outcome is not None

    def stop(self, grace: float = GRACE_SECONDS) -> bool:
        """Interrupt the call and wait `grace` seconds for it to end; whether it did."""
        self._guard.interrupt()
        return self.wait(grace)

    def interrupt(self) -> None:
        """Interrupt the call without waiting for it (its waiter is going away)."""
        self._guard.interrupt()

    def result(self) -> T:
        """The ended call's value, or its error raised."""
        outcome = self._outcome
        if outcome is None:
            raise RuntimeError("the call has not ended")
        if outcome.error is not None:
            raise outcome.error
        return outcome.value  # type: ignore[return-value]

    def where(self) -> str:
        """Where the call is (still running) or was (interrupted): `file:line`, or ''."""
        outcome = self._outcome
        if outcome is not None:
            return _location(_tb_frames(outcome.error.__traceback__ if outcome.error else None))
        frame = sys._current_frames().get(self._guard.thread_id)
        return _location(_stack(frame))

    def _work(self) -> None:
        outcome = self._run()
        # At most one interrupt is ever raised here, and `_run` absorbs one that
        # lands while it builds the outcome: after it, this loop only settles.
        while True:
            try:
                self._guard.finish()
                self._outcome = outcome
                self._done.set()
                return
            except errors.TimeoutInterrupt:
                continue

    def _run(self) -> _Outcome[T]:
        try:
            try:
                if not self._guard.begin():
                    return _Outcome(error=_Delivered())
                return _Outcome(value=self._target())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                return _Outcome(error=exc)
        except errors.TimeoutInterrupt as late:
            return _Outcome(error=late)


def _tb_frames(tb: types.TracebackType | None) -> list[tuple[str, int]]:
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _stack(frame: types.FrameType | None) -> list[tuple[str, int]]:
    frames = []
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return frames[::-1]


def _location(frames: list[tuple[str, int]]) -> str:
    """The innermost frame outside tarry (the user's line), else the innermost one."""
    outside = [f for f in frames if not f[0].startswith(_PACKAGE)]
    chosen = (outside or frames)[-1:] if frames else []
    return "".join(f"{file}:{line}" for file, line in chosen)


def describe(call: Interruptible[Any], *, stopped: bool) -> str:
    """The end of a timeout's message: where the call stopped, or that it was abandoned."""
    where = call.where()
    if stopped:
        return f"; stopped at {where}" if where else ""
    at = f" at {where}" if where else ""
    return (
        f"; it could not be stopped (blocked outside Python{at}) and was abandoned:"
        " it stops when that call returns"
    )


def call_with_deadline(
    target: Callable[[], T],
    seconds: float,
    thread_name: str,
    on_timeout: Callable[[str], BaseException],
    on_abandon: Callable[[BaseException], None] | None = None,
) -> T:
    """Call `target` in a helper thread, in this context, for `seconds` at most.

    When the time is up the helper is interrupted where it is: it raises
    `errors.TimeoutInterrupt` at its next Python bytecode, outside shielded
    sections. One blocked in C past `GRACE_SECONDS` is abandoned (`on_abandon` is
    told); it stops when it is back in Python.

    Args:
        target: The body to run.
        seconds: Its deadline, from now.
        thread_name: The helper thread's name.
        on_timeout: Builds the error to raise from the end of its message: where the
            body stopped, or that it was abandoned.
        on_abandon: Called with that error before it is raised for an abandoned body.

    Raises:
        BaseException: What `on_timeout(...)` returns, when `target` did not return in time.
    """
    call = Interruptible(functools.partial(contextvars.copy_context().run, target), thread_name)
    call.start()
    try:
        finished = call.wait(seconds)
    except BaseException:
        call.interrupt()  # this thread is being stopped, and its helper with it
        raise
    if not finished and not call.stop():
        error = on_timeout(describe(call, stopped=False))
        if on_abandon is not None:
            on_abandon(error)
        raise error
    try:
        return call.result()
    except BaseException:
        # Only this deadline's interrupt becomes `on_timeout`: an error `target`
        # raised by itself (a TimeoutError too) passes through untouched.
        if not call.interrupted:
            raise
        raise on_timeout(describe(call, stopped=True)) from None
