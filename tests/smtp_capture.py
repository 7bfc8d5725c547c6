"""A real SMTP server on a loopback port that keeps every mail it receives.

Tests point `TARRY_SMTP_*` at it to see what tarry sends, as a mail server would.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.net import free_port

__all__ = ["MailCatcher", "body_text", "mail_catcher"]


class MailCatcher:
    """Collects received mail; can be told to refuse mail for a while."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook: keep the mail (or refuse it, while `refuse` is set)."""
        if self.refuse:
            return "451 try again later"
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Mails received for `address`."""
        with self._lock:
            return [m for m in self.messages if address in str(m.get("To", ""))]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until `count` mails arrived in all; returns them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} mails arrived, not {count}")
                self._arrived.wait(left)
            return list(self.messages)

    def settings(self) -> dict[str, Any]:
        """`Settings` overrides that send tarry's mail here."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}


@contextmanager
def mail_catcher() -> Iterator[MailCatcher]:
    """A running `MailCatcher` on a free loopback port."""
    catcher = MailCatcher()
    catcher.port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    try:
        yield catcher
    finally:
        controller.stop()


def body_text(message: EmailMessage) -> str:
    """The plain-text body of a mail."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")
