"""Receiving mail replies by polling an IMAP folder (`TARRY_IMAP_*`).

For installations that cannot receive SMTP: replies go to an ordinary mailbox and
`ImapPoller` reads it. Every `imap_poll_seconds` it looks for unseen mail in
`imap_folder`, delivers each (`inbound.deliver`) and marks it seen, also when it
names no wait or run (a log line says so), so each mail is delivered once. A mail
whose delivery fails unexpectedly stays unseen and is tried again on the next
polls, and given up (marked seen, logged) after a few attempts. Lost connections
are reopened with a growing delay; the poller logs and goes on, never dies.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from typing import Any

from tarry import config, daemon, host
from tarry.replies import delivery, inbound

__all__ = ["ImapPoller"]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.imap_poller")
_TIMEOUT_SECONDS = 30.0
_MAX_BACKOFF_SECONDS = 300.0
_MAX_ATTEMPTS = 5
"""Deliveries of one mail that may fail before it is given up."""


class ImapPoller(daemon.Daemon):
    """A thread that delivers the replies arriving in an IMAP folder.

    Args:
        hst: The host whose store receives the replies; it stops the poller when
            it closes.
        settings: Where to poll (`imap_*`); the host's settings when omitted.
    """

    def __init__(self, hst: host.Host, settings: config.Settings | None = None) -> None:
        super().__init__("tarry-imap")
        self.host = hst
        self.settings = settings or hst.settings
        self._connection: imaplib.IMAP4 | None = None
        self._attempts: dict[str, int] = {}
        self._failures = 0
        hst.on_close(self.stop)

    def stop(self) -> None:
        """Stop polling, wait for the thread and log out (safe to call twice)."""
        super().stop()
        self._disconnect()

    def _step(self) -> float:
        try:
            self.poll_once()
            self._failures = 0
        except Exception:  # noqa: BLE001 - a failed poll must not end the thread
            self._failures += 1
            _log.exception("polling IMAP %s failed (%d in a row)", self._where(), self._failures)
            self._disconnect()
        return self._delay(self._failures)

    def _delay(self, failures: int) -> float:
        poll = self.settings.imap_poll_seconds
        if failures == 0:
            return poll
        return float(min(_MAX_BACKOFF_SECONDS, max(poll, 1.0) * 2 ** min(failures, 16)))

    def _where(self) -> str:
        return f"{self.settings.imap_host}:{self.settings.imap_port}/{self.settings.imap_folder}"

    def poll_once(self) -> int:
        """Deliver the unseen mail of the folder now (not while the thread runs).

        Returns:
            How many mails were delivered (whatever their outcome).

        Raises:
            imaplib.IMAP4.error: The server refused a command (login, folder).
            OSError: The server cannot be reached.
        """
        connection = self._connect()
        _ok(connection.select(_quoted(self.settings.imap_folder)))
        data = _ok(connection.uid("SEARCH", "UNSEEN"))
        uids = data[0].decode().split() if data and data[0] else []
        return sum(self._deliver(connection, uid) for uid in uids if not self.stopping)

    def _deliver(self, connection: imaplib.IMAP4, uid: str) -> bool:
        raw = _message_bytes(_ok(connection.uid("FETCH", uid, "(BODY.PEEK[])")))
        if raw is None:
            return False  # deleted meanwhile
        try:
            delivered = inbound.deliver(raw, self.host)
        except Exception:  # noqa: BLE001 - one bad mail must not block the others
            _log.exception("could not deliver IMAP message %s", uid)
            if not self._give_up(uid):
                return False
        else:
            self._attempts.pop(uid, None)
            self._log_outcome(uid, delivered)
        _ok(connection.uid("STORE", uid, "+FLAGS", "(\\Seen)"))
        return True

    def _give_up(self, uid: str) -> bool:
        self._attempts[uid] = self._attempts.get(uid, 0) + 1
        if self._attempts[uid] < _MAX_ATTEMPTS:
            return False
        del self._attempts[uid]
        _log.error("giving up IMAP message %s after %d attempts", uid, _MAX_ATTEMPTS)
        return True

    def _log_outcome(self, uid: str, delivered: delivery.Delivery) -> None:
        if delivered.outcome is delivery.Outcome.UNKNOWN_TARGET:
            _log.warning(
                "IMAP message %s in %s answers no question or run here; marked seen",
                uid,
                self.settings.imap_folder,
            )

    def _connect(self) -> imaplib.IMAP4:
        if self._connection is None:
            self._connection = _open(self.settings)
        return self._connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # A connection that failed may be gone already: nothing to log out of.
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            connection.logout()


def _open(settings: config.Settings) -> imaplib.IMAP4:
    """A logged-in connection to the IMAP server, over TLS unless `imap_security` is none."""
    where, port = settings.imap_host, settings.imap_port
    connection: imaplib.IMAP4
    if settings.imap_security == "ssl":
        context = ssl.create_default_context()
        connection = imaplib.IMAP4_SSL(where, port, ssl_context=context, timeout=_TIMEOUT_SECONDS)
    else:
        connection = imaplib.IMAP4(where, port, timeout=_TIMEOUT_SECONDS)
    try:
        if settings.imap_security == "starttls":
            connection.starttls(ssl_context=ssl.create_default_context())
        if settings.imap_username:
            connection.login(settings.imap_username, settings.imap_password)
    except BaseException:
        connection.shutdown()
        raise
    return connection


def _ok(response: tuple[str, list[Any]]) -> list[Any]:
    status, data = response
    if status != "OK":
        detail = b" ".join(part for part in data if isinstance(part, bytes)).decode(
            errors="replace"
        )
        raise imaplib.IMAP4.error(f"IMAP server answered {status}: {detail}")
    return data


def _quoted(folder: str) -> str:
    # imaplib sends mailbox names as they are; a name with spaces must be quoted.
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message_bytes(data: list[Any]) -> bytes | None:
    """The literal of a FETCH response: `[(b'1 (UID 5 BODY[] {123}', b'...'), b')']`."""
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None
