"""Wake-ups across processes on PostgreSQL: `LISTEN tarry_wake`, and the timer duty.

One thread per store holds one extra connection. It listens on channel
`tarry_wake`, whose notifications the store's transactions send as they commit
(`postgres_ops.wake_payload`), and hands each to the subscribers. On the same
session it holds, or keeps trying to take, an advisory lock that makes this
process the one that fires due timers; the lock goes with the session, so when
the process dies another one takes the duty within a second or so.

The same session holds the *liveness locks* of the lease owners this process
runs as (`hold`), and registers each in `lease_holders` once its lock is held.
Every quarter of a second it looks for registered owners whose lock nobody
holds (`gone_owners`, one statement) and, when one still leases runs, pushes an
`owner_gone` wake-up: workers take those runs over at once.

After a lost connection it reconnects with a growing delay and pushes a
`resync` wake-up: notifications sent meanwhile are gone, so subscribers look.
The liveness locks went with the session, and other processes may be taking
over their runs already, so each held owner is given up for good: its
`on_lost` callback tells the process to stop using it (see `Host`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable

import psycopg

from tarry.storage import wakeups
from tarry.storage.postgres_ops import QUERIES

__all__ = ["Listener"]

_log = logging.getLogger(__name__)
_CHANNEL = "tarry_wake"
_EVENTS_CHANNEL = "tarry_events"
"""Where the transactions that store events announce them (one notification each)."""
_TIMER_LOCK = 0x7A78
"""First key of the advisory lock that gives the timer duty (the second is the schema's)."""
_WAIT_SECONDS = 0.25
"""How long one wait for notifications lasts: how late `stop` may return."""
_DUTY_RETRY_SECONDS = 1.0
"""How often a process without the timer duty tries to take it."""
_MAX_RETRY_SECONDS = 5.0
_GONE_CHECK_SECONDS = 0.25
"""How often the registered owners' liveness locks are looked at."""

_HOLD_WAIT_SECONDS = 5.0
"""How long `hold(wait=True)` waits for the listening thread to take the lock."""
_HOLD_POLL_SECONDS = 0.01

OnLost = Callable[[], None]


class Listener:
    """The listening thread of one store.

    Args:
        url: The database, as the store's pool connects to it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._callbacks: list[Callable[[wakeups.Wake], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.holds_timer_duty = False
        """Whether this process fires due timers now."""
        # Whether to listen on `tarry_events` too, and whether this session does.
        self._events_wanted = False
        self._events_heard = False
        # Owners whose liveness lock this session should hold, and those it holds.
        self._wanted: dict[str, OnLost] = {}
        self._held: set[str] = set()

    def hold(self, owner: str, on_lost: OnLost, *, wait: bool = False) -> bool:
        """Hold `owner`'s liveness lock on this thread's session, from its next turn on.

        With `wait`, returns once the lock is held and registered (within 5 s).
        `on_lost` is called, from the listening thread, if the session ends while
        this process lives; `owner` is then given up for good.

        Returns:
            Whether the lock is held (already) when this returns.
        """
        with self._lock:
            self._wanted[owner] = on_lost
        self.start()
        deadline = time.monotonic() + _HOLD_WAIT_SECONDS
        while wait and owner not in self.held_owners() and time.monotonic() < deadline:
            if self._stop.wait(_HOLD_POLL_SECONDS):
                break
        return owner in self.held_owners()

    def held_owners(self) -> list[str]:
        """The owners whose liveness lock this process holds now."""
        with self._lock:
            return sorted(self._held)

    def subscribe(self, callback: Callable[[wakeups.Wake], None]) -> wakeups.Unlisten:
        """Push every wake-up to `callback` until the returned function is called."""
        with self._lock:
            self._callbacks.append(callback)
        self.start()
        return lambda: self._unsubscribe(callback)

    def hear_events(self) -> None:
        """Also listen on channel `tarry_events`: each notification pushes `Wake("events")`."""
        self._events_wanted = True
        self.start()

    def _unsubscribe(self, callback: Callable[[wakeups.Wake], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def start(self) -> None:
        """Start the thread (once) and wait a moment for it to listen."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="tarry-listen", daemon=True)
            self._thread.start()
        self._ready.wait(5.0)

    def stop(self) -> None:
        """Stop the thread and close its connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                self._listen()
                delay = 0.1
            except psycopg.Error as exc:
                _log.warning("lost the PostgreSQL wake-up connection (%s); reconnecting", exc)
                self._disconnect()
                self._give_up_owners()
            finally:
                self._disconnect()
            if self._stop.wait(delay):
                break
            delay = min(_MAX_RETRY_SECONDS, delay * 2)
            self._push(wakeups.Wake("resync"))

    def _listen(self) -> None:
        conn = psycopg.connect(self.url, autocommit=True)
        self._conn = conn
        conn.execute(f"LISTEN {_CHANNEL}")
        self._ready.set()
        next_try = next_check = 0.0
        while not self._stop.is_set():
            if not self.holds_timer_duty and time.monotonic() >= next_try:
                next_try = time.monotonic() + _DUTY_RETRY_SECONDS
                self._take_timer_duty(conn)
            self._hold_wanted(conn)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + _GONE_CHECK_SECONDS
                self._look_for_gone_owners(conn)
            if self._events_wanted and not self._events_heard:
                conn.execute(f"LISTEN {_EVENTS_CHANNEL}")
                self._events_heard = True
            for notify in conn.notifies(timeout=_WAIT_SECONDS):
                events = notify.channel == _EVENTS_CHANNEL
                self._push(wakeups.Wake("events") if events else _wake_of(notify.payload))

    def _hold_wanted(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with self._lock:
            wanted = [owner for owner in self._wanted if owner not in self._held]
        for owner in wanted:
            row = conn.execute(QUERIES["hold_owner"], {"owner": owner}).fetchone()
            if not (row and row[0]):
                # Held for an instant by another process's look for gone owners (or,
                # 64-bit hashes colliding, by another owner): try again at the next turn.
                continue
            conn.execute(QUERIES["register_owner"], {"owner": owner, "since": time.time()})
            with self._lock:
                self._held.add(owner)

    def _look_for_gone_owners(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with self._lock:
            mine = sorted(self._held)
        if not mine:
            return  # a process that leases nothing has no runs to take over either
        if conn.execute(QUERIES["gone_owners"], {"mine": mine}).fetchall():
            self._push(wakeups.Wake("owner_gone"))

    def _give_up_owners(self) -> None:
        # The session and its locks are gone: other processes may be taking over these
        # owners' runs right now, so this process must not act as them again.
        with self._lock:
            lost = [self._wanted.pop(owner) for owner in sorted(self._held)]
            self._held.clear()
        for on_lost in lost:
            try:
                on_lost()
            except Exception:  # noqa: BLE001 - the other owners must still be told
                _log.exception("a tarry lost-lock callback failed")

    def _take_timer_duty(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        row = conn.execute(QUERIES["take_timer_duty"], {"key": _TIMER_LOCK}).fetchone()
        self.holds_timer_duty = bool(row and row[0])

    def _disconnect(self) -> None:
        self.holds_timer_duty = False  # the lock ends with the session
        self._events_heard = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _push(self, wake: wakeups.Wake) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(wake)
            except Exception:  # noqa: BLE001 - one subscriber must not starve the others
                _log.exception("a tarry wake-up subscriber failed")


def _wake_of(payload: str) -> wakeups.Wake:
    try:
        fields = json.loads(payload)
        return wakeups.Wake(str(fields["event"]), str(fields["run_id"]), fields.get("wait_id"))
    except (ValueError, KeyError, TypeError):
        return wakeups.Wake("resync")
