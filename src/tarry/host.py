"""The process's tarry host: settings, store, lease identity and heartbeats.

One `Host` per process (tests swap it). Every run this process executes is
leased to `Host.owner`, `host:pid:start`, and a heartbeat thread keeps those
leases fresh. A process that finds a lease held by a dead process on its own
host takes the run over at once instead of waiting for the lease to expire.

On a store that can tell (PostgreSQL), the host of a worker also holds a
liveness lock for its owner (`Store.hold_owner`), so processes on other hosts
take its runs over within a second of its death. If the lock is lost while the
process lives (its connection to the database broke), the others may be taking
those runs already: the host gives that owner up for good, stops the runs
executing under it at their next step, and goes on as `host:pid:start~2` (then
`~3`, ...). The runs of the old name are then taken over, by this process too,
as those of a dead one.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from tarry import clock as clock_module
from tarry import config, hub, storage

__all__ = ["Host", "get_host", "owner_is_alive", "set_host"]

logger = logging.getLogger("tarry.host")


def _process_start(pid: int) -> str:
    # The start time (in clock ticks since boot) tells a live process from a
    # new one that reuses a dead one's pid.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_is_alive(owner: str, hostname: str | None = None) -> bool:
    """Whether the process a lease names still runs; unknown for other hosts (`True`).

    Args:
        owner: `host:pid:start` (or `host:pid:start~n`) as made by `Host.owner`.
        hostname: This host's name; `socket.gethostname()` when omitted.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid, start = parts[0], int(parts[1]), parts[2].split("~")[0]
    if host != (hostname or socket.gethostname()):
        return True
    return _pid_alive(pid) and _process_start(pid) == start


S = TypeVar("S")


class Host:
    """What this process needs to execute runs.

    Args:
        settings: The settings; read from the environment when omitted.
        store: The store; opened from `settings` on first use when omitted.
        clock: Where time is read; the system clock when omitted.
    """

    def __init__(
        self,
        settings: config.Settings | None = None,
        store: storage.Store | None = None,
        clock: clock_module.Clock | None = None,
    ) -> None:
        self.settings = settings or config.Settings.from_env()
        self._store = store
        self.clock: clock_module.Clock = clock or clock_module.SystemClock()
        """Where deadlines are measured (a `FakeClock` in tests)."""
        self.hub = hub.Hub()
        """Wakes waiters of this process."""
        pid = os.getpid()
        self._identity = f"{socket.gethostname()}:{pid}:{_process_start(pid)}"
        self.owner = self._identity
        """The name this process leases runs under; a new one after a lost liveness lock."""
        self._lives = 1
        self._holding = False
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}
        self._heartbeat: threading.Thread | None = None
        self._stopped = threading.Event()
        self._closers: list[Callable[[], None]] = []
        self._services_lock = threading.Lock()
        self.services: dict[str, object] = {}
        """Per-host helpers made on demand (the watcher), by name."""

    def service(self, kind: type[S]) -> S:
        """This host's one `kind` helper (the watcher, the dispatcher), made on first use.

        `kind` is called with the host to make it.
        """
        with self._services_lock:
            found = self.services.get(kind.__name__)
            if not isinstance(found, kind):
                found = kind(self)  # type: ignore[call-arg]
                self.services[kind.__name__] = found
        return found

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call `closer` when the host closes, before its store closes."""
        with self._lock:
            self._closers.append(closer)

    @property
    def store(self) -> storage.Store:
        """The store, opened (and migrated) on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = storage.open_store(
                        self.settings.resolved_database_url,
                        sqlite_synchronous=self.settings.sqlite_synchronous,
                    )
        return self._store

    def lease_until(self) -> float:
        """Expiry of a lease taken or renewed now."""
        return time.time() + self.settings.lease_seconds

    def hold_owner(self, *, wait: bool = False) -> None:
        """Hold this process's liveness lock from now on (once; see `Store.hold_owner`).

        Workers call it (with `wait`) before they claim. A process that only calls
        flows holds none: a lost lock stops the runs executing under it, and there a
        lease keeps the runs of a live caller from being taken over by a blip.
        """
        with self._lock:
            if self._holding:
                return
            self._holding = True
            owner = self.owner
        self.store.hold_owner(owner, functools.partial(self._lost, owner), wait=wait)

    def _lost(self, owner: str) -> None:
        # Called from the store's background thread once `owner`'s lock went with its
        # connection: another process may be taking its runs over right now.
        with self._lock:
            if owner != self.owner:
                return
            self._lives += 1
            self.owner = f"{self._identity}~{self._lives}"
            successor = self.owner
            active = list(self._active)
        logger.warning(
            "lost the liveness lock of %s (connection to the database broken); its runs "
            "stop here and are taken over as those of a gone process; now %s",
            owner,
            successor,
        )
        self.abort(active, f"this process lost its lock as {owner}: the run may be taken over")
        self.store.hold_owner(successor, functools.partial(self._lost, successor))

    def dead_owners(self, owners: Iterable[str]) -> list[str]:
        """The lease holders among `owners` known to be gone (same host, process ended)."""
        return [o for o in owners if o != self.owner and not owner_is_alive(o)]

    def track(self, run_id: str) -> None:
        """Count `run_id` as executing here, so its lease is renewed."""
        with self._lock:
            self._active[run_id] = self._active.get(run_id, 0) + 1
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(
                    target=self._beat, name="tarry-heartbeat", daemon=True
                )
                self._heartbeat.start()

    def untrack(self, run_id: str) -> None:
        """Stop counting `run_id` as executing here."""
        with self._lock:
            left = self._active.get(run_id, 0) - 1
            if left > 0:
                self._active[run_id] = left
                return
            self._active.pop(run_id, None)
        self.hub.forget_aborted(run_id)

    def abort(self, run_ids: Iterable[str], reason: str) -> None:
        """Stop those of `run_ids` that execute here (they were cancelled)."""
        with self._lock:
            here = [run_id for run_id in run_ids if run_id in self._active]
        if here:
            self.hub.abort(here, reason)

    def _beat(self) -> None:
        interval = self.settings.lease_seconds / 3
        while not self._stopped.wait(interval):
            with self._lock:
                active = list(self._active)
            if active:
                self.store.renew_leases(self.owner, self.lease_until())
                self._abort_ended(active)

    def _abort_ended(self, run_ids: list[str]) -> None:
        # A run cancelled by another process ends its execution here at its next step.
        ended = [i for i, state in self.store.run_states(run_ids).items() if state.is_final]
        self.abort(ended, "the run ended elsewhere (cancelled)")

    def close(self) -> None:
        """Stop waiters and heart-beating, then close the store.

        Runs still waiting in memory stop where they are (their journal is stored);
        they resume by replay in any process once answered.
        """
        self._stopped.set()
        self.hub.close("the process is shutting down")
        for closer in reversed(self._closers):
            closer()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if self._store is not None:
            self._store.close()


_host_lock = threading.Lock()
_host: Host | None = None


def get_host() -> Host:
    """This process's host, created from the environment on first use."""
    global _host  # noqa: PLW0603 - the one process-wide host
    if _host is None:
        with _host_lock:
            if _host is None:
                _host = Host()
                # Log lines wait for the next group commit; flush them at exit.
                atexit.register(_host.close)
    return _host


def set_host(host: Host | None) -> Host | None:
    """Make `host` this process's host (or forget it with `None`); returns the previous one."""
    global _host
    with _host_lock:
        previous, _host = _host, host
    return previous
