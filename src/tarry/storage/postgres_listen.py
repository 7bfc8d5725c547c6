"""Wake-ups across processes on PostgreSQL: `LISTEN tarry_wake`, and the timer duty.

One thread per store holds one extra connection. It listens on channel
`tarry_wake`, whose notifications the store's transactions send as they commit
(`postgres_ops.wake_payload`), and hands each to the subscribers. On the same
session it holds, or keeps trying to take, an advisory lock that makes this
process the one that fires due timers; the lock goes with the session, so when
the process dies another one takes the duty within a second or so.

After a lost connection it reconnects with a growing delay and pushes a
`resync` wake-up: notifications sent meanwhile are gone, so subscribers look.
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

__all__ = ["Listener"]

_log = logging.getLogger(__name__)
_CHANNEL = "tarry_wake"
_TIMER_LOCK = 0x7A78
"""First key of the advisory lock that gives the timer duty (the second is the schema's)."""
_WAIT_SECONDS = 0.25
"""How long one wait for notifications lasts: how late `stop` may return."""
_DUTY_RETRY_SECONDS = 1.0
"""How often a process without the timer duty tries to take it."""
_MAX_RETRY_SECONDS = 5.0


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

    def subscribe(self, callback: Callable[[wakeups.Wake], None]) -> wakeups.Unlisten:
        """Push every wake-up to `callback` until the returned function is called."""
        with self._lock:
            self._callbacks.append(callback)
        self.start()
        return lambda: self._unsubscribe(callback)

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
        next_try = 0.0
        while not self._stop.is_set():
            if not self.holds_timer_duty and time.monotonic() >= next_try:
                next_try = time.monotonic() + _DUTY_RETRY_SECONDS
                self._take_timer_duty(conn)
            for notify in conn.notifies(timeout=_WAIT_SECONDS):
                self._push(_wake_of(notify.payload))

    def _take_timer_duty(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        query = "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))"
        row = conn.execute(query, (_TIMER_LOCK,)).fetchone()
        self.holds_timer_duty = bool(row and row[0])

    def _disconnect(self) -> None:
        self.holds_timer_duty = False  # the lock ends with the session
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
