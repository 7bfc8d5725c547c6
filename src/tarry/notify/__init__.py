"""Reaching people where they are: notifications, signed answer links and mail.

Give a wait or a flow `notify=` and each new question is announced by mail (one
mail per recipient, with one-click links and a reply address) or by a
Slack-compatible webhook; `tarry.notify.email.send` sends mail from a flow, and
replies come back to the run as messages.

This package is the face flows use. What leaves (notices, signed links, the outbox
and its dispatcher, SMTP) is `tarry.outbound`; what comes back (replies by SMTP or
IMAP) is `tarry.replies`.
"""

from __future__ import annotations

from tarry.outbound.targets import Email, Notify, Target, Webhook

__all__ = ["Email", "Notify", "Target", "Webhook"]
