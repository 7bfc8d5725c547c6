"""A per-process background thread: a loop of steps, woken early by a kick, stopped once.

The outbox dispatcher, the watcher and the IMAP poller each run such a loop. A
subclass says what one step does and how long to idle after it; `Daemon` starts
the thread (once, as a daemon thread, so it never keeps the process alive), idles
between steps until the time is up or someone calls `kick`, and on `stop` ends the
loop and waits for the thread.
"""

from __future__ import annotations

import abc
import threading

__all__ = ["Daemon"]


class Daemon(abc.ABC):
    """A background thread that runs `_step` until stopped.

    Each round clears the kick, runs `_step` and idles for the seconds it returns,
    or less if `kick` or `stop` is called meanwhile. A kick that comes while a step
    runs is kept, so the next round starts at once. After the last round,
    `_finish` runs on the thread (a dispatcher sends what is due, say).

    Args:
        name: The thread's name, as debuggers and thread dumps show it.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called: a long step checks it to end early."""
        return self._stop.is_set()

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Run the next step now instead of after the idle time."""
        self._kick.set()

    def stop(self) -> None:
        """End the loop after the step under way and wait for the thread (safe to call twice)."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.clear()
            self._kick.wait(self._step())
        self._finish()

    @abc.abstractmethod
    def _step(self) -> float:
        """Do one round of work, on the thread.

        An exception ends the thread: catch and log what the loop should survive.

        Returns:
            The seconds to idle before the next round (unless kicked).
        """

    def _finish(self) -> None:
        """What to do on the thread once stopped, after the last step (nothing by default)."""
        return  # a hook, not abstract: only some daemons have work left when they stop
