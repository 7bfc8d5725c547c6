"""Whom to tell when a flow waits for someone: `notify=` of waits and flows."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

__all__ = ["Email", "Notify", "Target", "Webhook", "targets_of"]


@dataclasses.dataclass(frozen=True)
class Email:
    """Mail the question to these addresses, each with links of their own.

    Each recipient may answer by link, by the form, or by replying to the mail;
    a reply from any other address is refused.
    """

    to: str | tuple[str, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        """The recipients."""
        return (self.to,) if isinstance(self.to, str) else tuple(self.to)


@dataclasses.dataclass(frozen=True)
class Webhook:
    """POST the question to `url` as a Slack-compatible JSON body (text and link buttons)."""

    url: str


Target = Email | Webhook
Notify = Target | str | Sequence[Target | str] | None
"""What `notify=` takes: a target, a mail address, an `https://` webhook URL, or a list."""


def targets_of(notify: Notify) -> tuple[Target, ...]:
    """`notify` as a tuple of targets.

    Raises:
        ValueError: A string is neither a mail address nor an http(s) URL.
    """
    if notify is None:
        return ()
    if isinstance(notify, Email | Webhook | str):
        return (_target(notify),)
    return tuple(_target(each) for each in notify)


def _target(each: Target | str) -> Target:
    if not isinstance(each, str):
        return each
    if each.startswith(("https://", "http://")):
        return Webhook(each)
    if "@" in each:
        return Email(each)
    raise ValueError(f"notify: {each!r} is neither a mail address nor an http(s) URL")
