"""An SMTP endpoint that receives mail replies and delivers them (`inbound.deliver`).

Point an MX record, or a forwarding rule of your mail server, for the reply
address at it. Recipients whose `+token` is not a valid reply token are refused
while the mail is still being sent (550), so a mistyped or forged address bounces
at the sending server. Each accepted mail is delivered in a worker thread (the
store is synchronous), and the SMTP answer says what became of it:

* 250: answered, sent to its run, already answered, or refused as an answer (an
  invalid answer, a sender the question did not go to, a run that ended): the
  sender gets a mail that says why, so the sending server must not bounce it too;
* 550: the mail names no wait or run here;
* 451: delivery failed unexpectedly (logged); the sending server tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tarry import errors
from tarry import host as host_module
from tarry.outbound import tokens
from tarry.replies import delivery, find, inbound

__all__ = ["MAX_MESSAGE_BYTES", "InboundHandler", "SmtpEndpoint", "start_smtp_endpoint"]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.smtp_endpoint")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
"""Larger mails are refused: a reply to a question needs no more."""

_ACCEPTED = frozenset(
    {
        delivery.Outcome.ANSWERED,
        delivery.Outcome.MESSAGED,
        delivery.Outcome.ALREADY_ANSWERED,
        delivery.Outcome.INVALID,
        delivery.Outcome.NOT_ALLOWED,
        delivery.Outcome.NOT_WAITING,
    }
)


class InboundHandler:
    """aiosmtpd handler: checks reply addresses, delivers each mail.

    Args:
        hst: The host whose store and settings receive the mail.
    """

    def __init__(self, hst: host_module.Host) -> None:
        self.host = hst
        self._key = tokens.secret_key(hst.settings)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept a recipient, unless its `+token` is not a valid reply token."""
        token = find.address_token(address)
        if token is not None:
            try:
                tokens.read_reply_token(self._key, token)
            except errors.LinkInvalid:
                return f"550 5.1.1 <{address}>: this reply address is not valid here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Deliver the mail in a worker thread and answer with what became of it."""
        raw = envelope.original_content or _bytes(envelope.content)
        try:
            delivered = await asyncio.to_thread(
                inbound.deliver, raw, self.host, recipients=list(envelope.rcpt_tos)
            )
        except Exception:  # noqa: BLE001 - one bad mail must not stop the endpoint
            # The sender's server keeps the mail and tries again later.
            _log.exception("could not deliver a mail from %s", envelope.mail_from)
            return "451 4.3.0 the reply could not be delivered now; try again later"
        return _answer(delivered)


def _bytes(content: bytes | str | None) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8", "surrogateescape")
    return content or b""


def _answer(delivered: delivery.Delivery) -> str:
    if delivered.outcome in _ACCEPTED:
        return f"250 2.0.0 {delivered.outcome.value}"
    return "550 5.1.1 this mail answers no question or run here"


class _Controller(Controller):
    """aiosmtpd's threaded controller, able to listen on a port the system picks (0)."""

    def _trigger_server(self) -> None:
        # aiosmtpd connects to its own port once to finish starting; with port 0
        # that must be the port actually bound.
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpEndpoint:
    """A running SMTP endpoint; `stop()` it when done."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller
        self.host: str = controller.hostname
        """The address it listens on."""
        self.port: int = controller.port
        """The port it listens on (the one picked, when 0 was asked for)."""

    def stop(self) -> None:
        """Stop listening and end its thread."""
        self._controller.stop()


def start_smtp_endpoint(hst: host_module.Host, host: str, port: int) -> SmtpEndpoint:
    """Start receiving mail replies over SMTP on `host:port` (0: any free port).

    Args:
        hst: The host whose store and settings receive the mail.
        host: The address to listen on.
        port: The port; 0 lets the system pick one (see `SmtpEndpoint.port`).

    Returns:
        The running endpoint.

    Raises:
        OSError: The address cannot be listened on.
    """
    _check_free(host, port)
    controller = _Controller(
        InboundHandler(hst),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        # aiosmtpd's default greeting name comes from a DNS lookup that can hang.
        server_hostname=socket.gethostname(),
    )
    try:
        controller.start()
    except BaseException:
        _stop_failed(controller)
        raise
    return SmtpEndpoint(controller)


def _check_free(host: str, port: int) -> None:
    # aiosmtpd reports a port it cannot listen on only after its 5 s start timeout.
    if port == 0:
        return
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio listens
        probe.bind(address)


def _stop_failed(controller: Controller) -> None:
    # A failed start (say, the port is taken) leaves a thread or an open loop behind.
    controller.stop(no_assert=True)
    if not controller.loop.is_running() and not controller.loop.is_closed():
        controller.loop.close()
