"""Mail from a flow: `send`, one journaled step.

Inside a flow, `send` queues the mail in the store's outbox as one journaled step,
so a replay or a crash never sends it twice, and returns at once; this process's
dispatcher sends it, retrying failures. Its Reply-To address carries a signed token:
a reply comes back to the run as a message (`tarry.receive_input`).
Outside a flow, `send` hands the mail to the SMTP server at once.

The transport (payloads, MIME, the SMTP connection) is `tarry.outbound.smtp`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tarry import host
from tarry.engine import context, steps
from tarry.outbound import outbox, smtp, tokens

__all__ = ["send"]


def send(
    to: str | Sequence[str],
    subject: str,
    text: str,
    *,
    html: str | None = None,
    replies: bool = True,
) -> str:
    """Send a mail; inside a flow, replies to it come back to the run as messages.

    Args:
        to: One address or several.
        subject: The subject line.
        text: The plain-text body.
        html: An HTML body shown instead of `text` by mail programs that can.
        replies: Route replies to this run (inside a flow): each reply becomes a
            message for `tarry.receive_input`, its `sender` the replying address.

    Returns:
        The mail's Message-ID.

    Raises:
        errors.DeliveryFailed: Outside a flow only: the mail could not be handed
            to the server. Inside a flow, failures are retried and logged to the run.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("send needs at least one recipient")
    return steps.record_keyed(
        "tarry.notify.email.send",
        lambda key: _send(recipients, subject, text, html=html, replies=replies, key=key),
    )


def _send(
    to: list[str], subject: str, text: str, *, html: str | None, replies: bool, key: str | None
) -> str:
    ctx = context.current_run()
    hst = ctx.host if ctx else host.get_host()
    target = tokens.ReplyTarget("run", ctx.run.id) if ctx and replies else None
    seed = key or uuid.uuid4().hex
    payload = smtp.mail_payload(
        hst.settings, to, subject, text, html=html, target=target, seed=seed
    )
    if ctx is None or key is None:
        smtp.send_now(hst.settings, payload)
    else:
        outbox.queue_mail(hst, ctx.run.id, f"mail:{key}", payload)
    return str(payload["message_id"])
