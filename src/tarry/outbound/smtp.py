"""Mail out, the transport: mail payloads, their MIME messages, the SMTP connection.

A mail is first a payload (`mail_payload`): what the outbox stores, with a
Message-ID derived from a seed (so queueing it again gives the same mail) and, when
replies are wanted, a Reply-To address that carries a signed token. The dispatcher
turns payloads into MIME messages (`build_message`) and hands them to the server over
one `smtp_connection` per batch; `send_now` and `send_reply` hand one mail over at once.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import smtplib
import ssl
import uuid
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from typing import Any

from tarry import errors, host
from tarry.config import Settings
from tarry.outbound import tokens

__all__ = [
    "SmtpConnection",
    "build_message",
    "mail_payload",
    "reply_address",
    "send_now",
    "send_reply",
    "smtp_connection",
]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.email")
_MAIL_NAMESPACE = uuid.UUID("5c1d8c7e-0d7b-4f57-9d0e-3a4b61f0f2aa")


def _mailbox(settings: Settings) -> tuple[str, str]:
    """The local part and domain replies go to."""
    address = email.utils.parseaddr(settings.mail_reply_to or settings.mail_from)[1]
    local, _, domain = address.rpartition("@")
    return (local or address or "tarry"), (domain or "localhost")


def reply_address(settings: Settings, target: tokens.ReplyTarget) -> str:
    """`local+token@domain`: a reply to it is delivered to `target`."""
    local, domain = _mailbox(settings)
    token = tokens.reply_token(tokens.secret_key(settings), target)
    return f"{local}+{token}@{domain}"


def _message_id(settings: Settings, target: tokens.ReplyTarget | None, seed: str) -> str:
    # Derived from `seed`, so the same mail gets the same id when queued again;
    # it starts with the reply token, so `In-Reply-To` finds the target too.
    unique = uuid.uuid5(_MAIL_NAMESPACE, seed).hex[:16]
    token = tokens.reply_token(tokens.secret_key(settings), target) if target else "m"
    return f"<{token}.{unique}@{_mailbox(settings)[1]}>"


def mail_payload(
    settings: Settings,
    to: Sequence[str],
    subject: str,
    text: str,
    *,
    html: str | None = None,
    target: tokens.ReplyTarget | None = None,
    seed: str,
) -> dict[str, Any]:
    """A mail as the outbox stores it; `target` is where replies go (`None`: nowhere)."""
    payload: dict[str, Any] = {"to": list(to), "subject": subject, "text": text, "html": html}
    payload["message_id"] = _message_id(settings, target, seed)
    if target is not None:
        payload["reply_to"] = reply_address(settings, target)
    return payload


def build_message(settings: Settings, payload: dict[str, Any]) -> EmailMessage:
    """The MIME message of a stored mail payload."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = payload["message_id"]
    for header, field in _OPTIONAL_HEADERS:
        if payload.get(field):
            message[header] = payload[field]
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    return message


_OPTIONAL_HEADERS = (
    ("Reply-To", "reply_to"),
    ("In-Reply-To", "in_reply_to"),
    ("References", "references"),
)


class SmtpConnection:
    """An open connection to the configured mail server."""

    def __init__(self, client: smtplib.SMTP) -> None:
        self._client = client

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server.

        Raises:
            errors.DeliveryFailed: The server refused it or the connection failed.
        """
        try:
            refused = self._client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise errors.DeliveryFailed(f"mail to {message['To']}: {exc}") from exc
        if refused:
            raise errors.DeliveryFailed(f"the mail server refused {', '.join(refused)}")


@contextlib.contextmanager
def smtp_connection(settings: Settings) -> Iterator[SmtpConnection]:
    """A connection to `TARRY_SMTP_HOST`, logged in if a user name is set.

    Raises:
        errors.DeliveryFailed: No mail server is set, or it cannot be reached.
    """
    if not settings.smtp_host:
        raise errors.DeliveryFailed("no mail server is set: set TARRY_SMTP_HOST")
    try:
        client = _connect(settings)
    except (smtplib.SMTPException, OSError) as exc:
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        raise errors.DeliveryFailed(f"cannot reach the mail server {where}: {exc}") from exc
    try:
        yield SmtpConnection(client)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()


def _connect(settings: Settings) -> smtplib.SMTP:
    host_, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host_, port, timeout=30)
    else:
        client = smtplib.SMTP(host_, port, timeout=30)
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        client.login(settings.smtp_username, settings.smtp_password)
    return client


def send_now(settings: Settings, payload: dict[str, Any]) -> None:
    """Hand one mail to the server over a connection of its own.

    Raises:
        errors.DeliveryFailed: It could not be handed over.
    """
    with smtp_connection(settings) as connection:
        connection.send(build_message(settings, payload))


def send_reply(
    hst: host.Host,
    original: EmailMessage,
    text: str,
    *,
    target: tokens.ReplyTarget | None = None,
) -> bool:
    """Answer a received mail at once (say, to explain why a reply was refused).

    The answer stays in the mail's thread; with `target`, a reply to the answer
    goes to that wait or run again (a corrected answer, say).
    Failures are logged, not raised: the answer is a courtesy.

    Returns:
        Whether the mail server took the answer.
    """
    sender = email.utils.parseaddr(str(original.get("Reply-To") or original.get("From", "")))[1]
    if not sender:
        return False
    payload = mail_payload(
        hst.settings, [sender], _re(original), text, target=target, seed=uuid.uuid4().hex
    )
    payload.update(_thread_of(original))
    try:
        send_now(hst.settings, payload)
    except errors.DeliveryFailed as exc:
        _log.warning("could not answer the mail from %s: %s", sender, exc)
        return False
    return True


def _re(original: EmailMessage) -> str:
    subject = str(original.get("Subject", ""))
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def _thread_of(original: EmailMessage) -> dict[str, str | None]:
    """`In-Reply-To` and `References` that keep an answer in the original's thread."""
    message_id = str(original.get("Message-ID", "")).strip()
    earlier = str(original.get("References", "")).split()
    return {
        "in_reply_to": message_id or None,
        "references": " ".join([*earlier, message_id]).strip() or None,
    }
