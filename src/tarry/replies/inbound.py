"""Mail replies: find what they answer, read the new text, deliver it.

`deliver` is what the SMTP endpoint and the IMAP poller call for each mail:

* the reply's token names its wait or run (`tarry.replies.find`);
* a reply to a **wait** is read as an answer (`tarry.replies.read`) and submitted
  through `service.submit_input`, so it is validated like a form; the first answer
  wins; a reply to a **run** becomes a message (`service.send_message`) keyed by the
  reply's Message-ID, so the same mail delivered twice is one message
  (`tarry.replies.delivery`);
* a sender who is not among the mail's recipients is refused, and whoever sent a
  refused answer gets a mail that says why (here).
"""

from __future__ import annotations

import email.message
import email.utils
import logging
from collections.abc import Sequence

from tarry import errors, host
from tarry.outbound import smtp, tokens
from tarry.replies import delivery, find, read

__all__ = ["deliver"]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.inbound")


def deliver(raw: bytes, hst: host.Host, *, recipients: Sequence[str] = ()) -> delivery.Delivery:
    """Deliver one received mail: answer its wait or send it to its run as a message.

    A refused answer (invalid, from someone the question did not go to, too late)
    changes nothing, and its sender gets a mail that says why, unless the mail was
    sent automatically (auto-replies are never answered, so two robots cannot
    write to each other for ever).

    Args:
        raw: The mail as received (RFC 5322 bytes).
        hst: The host whose store and settings to use.
        recipients: The SMTP envelope's recipients, when the mail came over SMTP.

    Returns:
        What became of it.
    """
    message = read.parse_message(raw)
    key = tokens.secret_key(hst.settings)
    target = find.find_target(message, key, recipients=recipients)
    if target is None:
        unknown = delivery.Outcome.UNKNOWN_TARGET
        return delivery.Delivery(unknown, detail="this mail names no question or run here")
    sender = find.sender_address(message)
    if target.kind == "wait":
        delivered = delivery.to_wait(hst, message, target, sender)
    else:
        delivered = delivery.to_run(hst, message, raw, target, sender)
    _log.info(
        "mail from %s to %s %s: %s", sender or "?", target.kind, target.id, delivered.outcome.value
    )
    if delivered.outcome in delivery.REFUSED:
        _tell_sender(hst, message, sender, delivered)
    return delivered


# --- telling the sender -------------------------------------------------------------


def _tell_sender(
    hst: host.Host, message: email.message.EmailMessage, sender: str, delivered: delivery.Delivery
) -> None:
    if not sender or _sent_automatically(message) or _is_own_address(hst, sender):
        return
    if delivered.answered_by is not None and _plain(delivered.answered_by) == _plain(sender):
        return  # their own answer came first (say, the same mail delivered again)
    try:
        smtp.send_reply(hst, message, delivered.detail, target=_thread_target(delivered))
    except errors.TarryError:
        _log.exception("could not tell %s why their reply was refused", sender)


def _thread_target(delivered: delivery.Delivery) -> tokens.ReplyTarget | None:
    """Where a reply to our explanation should go: the same wait or run."""
    if delivered.wait_id is not None:
        return tokens.ReplyTarget("wait", delivered.wait_id)
    return tokens.ReplyTarget("run", delivered.run_id) if delivered.run_id else None


def _sent_automatically(message: email.message.EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted") or "no").strip().lower()
    precedence = str(message.get("Precedence") or "").strip().lower()
    return auto != "no" or precedence in ("bulk", "junk", "list", "auto_reply")


def _is_own_address(hst: host.Host, sender: str) -> bool:
    own = [hst.settings.mail_from, hst.settings.mail_reply_to]
    mine = {_plain(address) for _, address in email.utils.getaddresses(own) if address}
    return _plain(sender) in mine


def _plain(address: str) -> str:
    """An address without its `+tag`, in lower case."""
    local, at, domain = address.casefold().rpartition("@")
    return local.partition("+")[0] + at + domain
