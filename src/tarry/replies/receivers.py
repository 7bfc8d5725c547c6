"""The mail receivers a server runs, as its settings ask: an SMTP endpoint, IMAP polling."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tarry import host
from tarry.replies import imap_poller, smtp_endpoint

__all__ = ["start_mail_receivers"]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.receivers")


def start_mail_receivers(hst: host.Host) -> list[Callable[[], None]]:
    """Start the configured receivers of mail replies; returns how to stop each.

    Raises:
        OSError: The inbound SMTP port cannot be listened on.
    """
    settings = hst.settings
    stoppers: list[Callable[[], None]] = []
    if settings.inbound_smtp_port:
        endpoint = smtp_endpoint.start_smtp_endpoint(
            hst, settings.inbound_smtp_host, settings.inbound_smtp_port
        )
        _log.info("receiving mail replies on smtp://%s:%d", endpoint.host, endpoint.port)
        stoppers.append(endpoint.stop)
    if settings.imap_host:
        poller = imap_poller.ImapPoller(hst)
        poller.start()
        _log.info("polling %s for mail replies", settings.imap_host)
        stoppers.append(poller.stop)
    return stoppers
