"""What a mail reply answers: the wait or run its reply token names, and who sent it.

Every mail tarry sends carries a signed reply token twice: in its Reply-To
(`tarry+<token>@example.com`) and in its Message-ID (`<<token>.<random>@...>`),
so a reply names its wait or run by the address it goes to, and by the
In-Reply-To / References headers when a mail system rewrote the address.
"""

from __future__ import annotations

import email.message
import email.utils
import re
from collections.abc import Iterable, Iterator, Sequence

from tarry import errors
from tarry.outbound import tokens

__all__ = ["address_token", "find_target", "sender_address"]

_ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")
_ID_HEADERS = ("In-Reply-To", "References")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def find_target(
    message: email.message.EmailMessage, key: bytes, *, recipients: Iterable[str] = ()
) -> tokens.ReplyTarget | None:
    """The wait or run a reply answers, from the first valid reply token it carries.

    Tokens are looked for in `recipients` (the SMTP envelope), then the local part
    (`name+token`) of the To, Cc, Delivered-To and X-Original-To addresses, then
    the In-Reply-To and References message ids (`<token.random@host>`). Tokens
    that are malformed or signed with another key are skipped.

    Args:
        message: The reply.
        key: The installation's secret key (`tokens.secret_key`).
        recipients: Envelope recipients, when the mail came over SMTP.

    Returns:
        The target, or `None` when the mail carries no valid token.
    """
    for token in _candidate_tokens(message, recipients):
        try:
            return tokens.read_reply_token(key, token)
        except errors.LinkInvalid:
            continue
    return None


def address_token(address: str) -> str | None:
    """The `+token` part of an address's local part (`tarry+abc@x` -> `abc`), if any."""
    local = address.strip().strip("<>").rpartition("@")[0]
    _, plus, token = local.rpartition("+")
    return token if plus and token else None


def _candidate_tokens(
    message: email.message.EmailMessage, recipients: Iterable[str]
) -> Iterator[str]:
    addresses = [*recipients, *_header_addresses(message, _ADDRESS_HEADERS)]
    for address in addresses:
        token = address_token(address)
        if token is not None:
            yield token
    for message_id in _referenced_ids(message):
        # The token is the Message-ID's local part up to its first dot.
        yield message_id.partition("@")[0].partition(".")[0]


def _header_addresses(message: email.message.EmailMessage, names: Sequence[str]) -> list[str]:
    values = [str(value) for name in names for value in message.get_all(name) or ()]
    return [address for _, address in email.utils.getaddresses(values) if address]


def _referenced_ids(message: email.message.EmailMessage) -> list[str]:
    ids = _MESSAGE_ID.findall(str(message.get("In-Reply-To") or ""))
    # References lists the thread oldest first: the mail replied to is the last one.
    ids += reversed(_MESSAGE_ID.findall(str(message.get("References") or "")))
    return ids


def sender_address(message: email.message.EmailMessage) -> str:
    """The address in the From header (`""` when there is none)."""
    addresses = _header_addresses(message, ("From",))
    return addresses[0] if addresses else ""
