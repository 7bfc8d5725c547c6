"""Delivering a mail reply: it answers its wait, or it is a message to its run.

Both go through `tarry.service`, the door every interface uses, so an answer by
mail is validated like a form's and the first answer wins. A refused reply changes
nothing; its `Delivery` says why in words for the sender.
"""

from __future__ import annotations

import dataclasses
import email.message
import enum
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from tarry import errors, host, service
from tarry.forms import fields as forms
from tarry.outbound import outbox, tokens
from tarry.replies import read

__all__ = ["REFUSED", "Delivery", "Outcome", "to_run", "to_wait"]


class Outcome(str, enum.Enum):
    """What became of a delivered mail."""

    #: The reply answered its wait; the run resumes.
    ANSWERED = "answered"
    #: The reply was sent to its run as a message (or had been before).
    MESSAGED = "messaged"
    #: The wait was answered first by someone or something else.
    ALREADY_ANSWERED = "already_answered"
    #: The reply does not fit the wait's input; the run keeps waiting.
    INVALID = "invalid"
    #: The mail names no wait or run of this installation.
    UNKNOWN_TARGET = "unknown_target"
    #: The sender is not among the people the question went to.
    NOT_ALLOWED = "not_allowed"
    #: The run has ended or no longer waits for this answer.
    NOT_WAITING = "not_waiting"


REFUSED = frozenset(
    {Outcome.INVALID, Outcome.NOT_ALLOWED, Outcome.NOT_WAITING, Outcome.ALREADY_ANSWERED}
)
"""The outcomes of an answer refused: its sender is told why."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What became of a delivered mail, and why."""

    outcome: Outcome
    """What became of the mail."""
    run_id: str | None = None
    """The run it went to, when known."""
    wait_id: str | None = None
    """The wait it answered, for a reply to a wait."""
    detail: str = ""
    """Why, in words for the sender (the body of the mail telling them of a refusal)."""
    field_errors: list[errors.FieldError] = dataclasses.field(default_factory=list)
    """For `invalid`: what does not fit, per field."""
    answered_by: str | None = None
    """For `already_answered`: who answered first, when a person did."""


# --- a reply to a wait, a reply to a run --------------------------------------------


def to_wait(
    hst: host.Host, message: email.message.EmailMessage, target: tokens.ReplyTarget, sender: str
) -> Delivery:
    """Answer the wait `target` names with the reply, through `service.submit_input`.

    Args:
        hst: The host whose store and settings to use.
        message: The reply.
        target: The wait it answers (`kind` "wait").
        sender: The replying address (`""` when there is none).

    Returns:
        What became of it: answered, or refused (and why, in `detail`).
    """
    try:
        item = service.get_inbox_item(target.id, hst=hst)
    except errors.WaitNotFound:
        return Delivery(Outcome.UNKNOWN_TARGET, detail="the question this answers is gone")
    run_id, wait_id = item.run.id, item.wait.id
    if not sender or not outbox.may_reply(hst, target, sender):
        return Delivery(Outcome.NOT_ALLOWED, run_id, wait_id, _not_allowed(sender))
    schema = item.spec.get("schema") if item.spec else None
    data = read.parse_answer(schema, read.reply_text(message))
    try:
        service.submit_input(
            run_id, data, wait_id=wait_id, responder=sender, channel="email", hst=hst
        )
    except errors.InputInvalid as exc:
        detail = _invalid(schema, exc.field_errors)
        return Delivery(Outcome.INVALID, run_id, wait_id, detail, exc.field_errors)
    except errors.AlreadyAnswered as exc:
        detail = _already(exc)
        return Delivery(
            Outcome.ALREADY_ANSWERED, run_id, wait_id, detail, answered_by=exc.responder
        )
    except (errors.NotWaiting, errors.RunEnded) as exc:
        detail = f"Your answer came too late: {exc}."
        return Delivery(Outcome.NOT_WAITING, run_id, wait_id, detail)
    return Delivery(Outcome.ANSWERED, run_id, wait_id, "answered")


def to_run(
    hst: host.Host,
    message: email.message.EmailMessage,
    raw: bytes,
    target: tokens.ReplyTarget,
    sender: str,
) -> Delivery:
    """Send the reply's text to the run `target` names, as a message from `sender`.

    The message is keyed by the reply's Message-ID (or its bytes), so the same mail
    delivered twice is one message.

    Args:
        hst: The host whose store and settings to use.
        message: The reply.
        raw: The reply as received.
        target: The run it goes to (`kind` "run").
        sender: The replying address (`""` when there is none).

    Returns:
        What became of it: messaged, or refused (and why, in `detail`).
    """
    try:
        run = service.get_run(target.id, hst=hst)
    except errors.RunNotFound:
        return Delivery(Outcome.UNKNOWN_TARGET, detail="the run this answers is gone")
    if not sender or not outbox.may_reply(hst, target, sender):
        return Delivery(Outcome.NOT_ALLOWED, run_id=run.id, detail=_not_allowed(sender))
    if run.state.is_final:
        detail = f"Your reply came too late: the run has ended ({run.state.value})."
        return Delivery(Outcome.NOT_WAITING, run_id=run.id, detail=detail)
    key = "email:" + _message_key(message, raw)
    try:
        service.send_message(run.id, read.reply_text(message), key=key, sender=sender, hst=hst)
    except errors.ValueRefused as exc:  # a NUL character, or a reply over the size limit
        detail = f"Your reply was not accepted: {exc}."
        return Delivery(Outcome.INVALID, run.id, detail=detail, field_errors=exc.field_errors)
    return Delivery(Outcome.MESSAGED, run_id=run.id, detail="sent to the run")


def _message_key(message: email.message.EmailMessage, raw: bytes) -> str:
    # Without a Message-ID, the same bytes delivered again still make one message.
    message_id = str(message.get("Message-ID") or "").strip()
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


# --- why a reply was refused, in words for its sender -------------------------------


def _not_allowed(sender: str) -> str:
    who = sender or "a sender without an address"
    return (
        f"Your reply was not accepted: the question was not sent to {who}. "
        "Only the people it was sent to can answer it by mail."
    )


def _already(exc: errors.AlreadyAnswered) -> str:
    if exc.responder is None:
        return f"This question is closed ({exc}); your reply changed nothing."
    when = ""
    if exc.answered_at is not None:
        when = time.strftime(" on %Y-%m-%d at %H:%M UTC", time.gmtime(exc.answered_at))
    return (
        f"This question was already answered by {exc.responder}{when}; your reply changed nothing."
    )


def _invalid(schema: Mapping[str, Any] | None, field_errors: list[errors.FieldError]) -> str:
    fields = forms.form_fields({"schema": dict(schema or {})})
    labels = {field.name: field.label for field in fields}
    problems = [
        f"- {_label(error, labels, len(fields))}: {error.message}" for error in field_errors
    ]
    return "\n".join(
        [
            "Your reply could not be used as an answer:",
            "",
            *problems,
            "",
            _how_to_answer(fields),
        ]
    )


def _label(error: errors.FieldError, labels: dict[str, str], count: int) -> str:
    # A one-field form's field is the answer itself (often named just "value").
    if not error.loc or count == 1:
        return "Your answer"
    name = str(error.loc[0])
    return labels.get(name, name)


def _how_to_answer(fields: list[forms.FormField]) -> str:
    if len(fields) == 1:
        return f"Reply with {_expected(fields[0])} as the first line of your mail."
    lines = [f"  {field.label}: {_expected(field)}" for field in fields]
    return "Reply with one line per field, for example:\n" + "\n".join(lines)


def _expected(field: forms.FormField) -> str:
    if field.widget == "select":
        return "one of " + ", ".join(label for key, label in field.options if key)
    if field.widget == "checkbox":
        return "yes or no"
    if field.widget == "number":
        return "a number"
    return "your text" + (f" ({field.help})" if field.help else "")
