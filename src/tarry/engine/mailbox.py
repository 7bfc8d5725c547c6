"""Messages between runs, each received once: sending, and what a received message is.

`tarry.messaging` is their public path and tells what flows may count on. Here a
send stores the message under a key taken from the sender's journal, with a topic
(Prefect's key prefix of its type, or the sender's `key_prefix`); a reply is a send
to the run a received message came from. Receiving is `tarry.engine.receiving`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import types
import typing
import uuid
from collections.abc import Generator
from typing import Any, Generic, TypeVar

import pydantic

from tarry import errors, host, serialization
from tarry.engine import answers, context, input_spec, steps
from tarry.storage import records

__all__ = [
    "Message",
    "RunInputMetadata",
    "SentKey",
    "arespond_to",
    "asend_input",
    "respond_to",
    "send",
    "send_input",
    "topic_of_type",
    "topic_of_value",
    "topics_of_type",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RunInputMetadata:
    """Where a received message came from (Prefect's `prefect.input.RunInputMetadata`).

    `Message.metadata` and `RunInput.metadata` of a received `RunInput` hold one.
    """

    key: str
    """The message's key, unique among the receiver's messages."""
    sender: str | None = None
    """Who sent it, in words (`sender=`); `None` when the sender gave none."""
    receiver: str | None = None
    """The run it was sent to."""
    sender_run_id: str | None = None
    """The run that sent it: `respond` sends there."""
    reply_to: str | None = None
    """The key of the message it answers."""
    sent_at: float | None = None
    """When it was sent."""


@dataclasses.dataclass(frozen=True)
class Message(Generic[T]):
    """A received message with its metadata (`receive_input(..., with_metadata=True)`)."""

    value: T
    """The message, as the type the receiver asked for."""
    key: str
    """Its key, unique among the receiver's messages."""
    sent_at: float
    """When it was sent."""
    sender: str | None = None
    """Who sent it, in words."""
    sender_run_id: str | None = None
    """The run that sent it: replies go there."""
    reply_to: str | None = None
    """The key of the message it answers."""
    receiver: str | None = None
    """The run it was sent to (Prefect's `metadata.receiver`)."""

    @property
    def metadata(self) -> RunInputMetadata:
        """Where it came from (Prefect's `message.metadata.key`, `.sender`, `.receiver`)."""
        return RunInputMetadata(
            key=self.key,
            sender=self.sender,
            receiver=self.receiver,
            sender_run_id=self.sender_run_id,
            reply_to=self.reply_to,
            sent_at=self.sent_at,
        )

    def respond(
        self,
        value: Any,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> Any:
        """Send `value` back to the run that sent this message, as a reply to it.

        Args:
            value: The reply (as for `send_input`).
            sender: Who answers, in words.
            key_prefix: As for `send_input`: only receives of this prefix take it.
            key: The reply's key (default: from the journal, as for `send_input`).

        Returns:
            The reply's key (awaitable in `async def` flows, as in Prefect).

        Raises:
            errors.CannotRespond: No run sent this message (a `RuntimeError`).
        """
        return respond_to(self.metadata, value, sender, key_prefix, key=key)

    async def arespond(
        self,
        value: Any,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> str:
        """Async version of `respond`."""
        return await arespond_to(self.metadata, value, sender, key_prefix, key=key)


def respond_to(
    metadata: RunInputMetadata | None,
    value: Any,
    sender: str | None = None,
    key_prefix: str | None = None,
    *,
    key: str | None = None,
) -> Any:
    """Reply to the message `metadata` describes: `send_input` to its sender, as a reply.

    Returns:
        As `send_input`: the reply's key, or a coroutine of it in `async def` flows.

    Raises:
        errors.CannotRespond: No run sent that message, or `metadata` is `None`.
    """
    target = _reply_target(metadata)
    return send_input(value, target, sender, key_prefix, key=key, reply_to=metadata.key)  # type: ignore[union-attr]


async def arespond_to(
    metadata: RunInputMetadata | None,
    value: Any,
    sender: str | None = None,
    key_prefix: str | None = None,
    *,
    key: str | None = None,
) -> str:
    """Async version of `respond_to`."""
    target = _reply_target(metadata)
    return await asend_input(
        value,
        target,
        sender,
        key_prefix,
        key=key,
        reply_to=metadata.key,  # type: ignore[union-attr]
    )


def _reply_target(metadata: RunInputMetadata | None) -> str:
    if metadata is None or metadata.sender_run_id is None:
        raise errors.CannotRespond(metadata.key if metadata is not None else None)
    return metadata.sender_run_id


def send_input(
    value: Any,
    run_id: str | None = None,
    sender: str | None = None,
    key_prefix: str | None = None,
    *,
    key: str | None = None,
    flow_run_id: str | None = None,
    reply_to: str | None = None,
    hst: host.Host | None = None,
) -> Any:
    """Send `value` to run `run_id`, which gets it from `receive_input`.

    Inside a flow the sender is that run (replies come back to it) and the default
    key is recorded in its journal, so a replayed run does not send again.

    Args:
        value: Anything tarry stores as JSON; a `RunInput` or pydantic model is sent
            as its fields.
        run_id: The receiving run.
        sender: Who sends it, in words (shown with the message).
        key_prefix: Start of the generated key, and what receivers match instead of
            the value's type: only a receive with a `key_prefix` it starts with
            takes the message, as in Prefect (the fourth argument, as there).
        key: Unique among the receiver's messages; sending a key again is a no-op.
        flow_run_id: Prefect's name for `run_id`.
        reply_to: The key of the message this one answers.
        hst: The host; this process's by default.

    Returns:
        The message's key. In the body of an `async def` flow, a coroutine of it to
        await (as in Prefect), which sends when awaited; elsewhere the message is
        sent before the call returns, and on an event loop the key may be awaited too.

    Raises:
        errors.RunNotFound: No run has this id.
        errors.SerializationError: The value cannot be stored as JSON.
    """
    target, key, how = _prepared(
        value, run_id or flow_run_id, key, key_prefix=key_prefix, reply_to=reply_to, hst=hst
    )
    if _in_async_flow():
        return _send_async(value, target, sender, key, how)
    sent = send(value, target, sender, key, reply_to=reply_to, topic=how.topic, hst=hst).key
    return SentKey(sent) if _in_event_loop() else sent


async def asend_input(
    value: Any,
    run_id: str | None = None,
    sender: str | None = None,
    key_prefix: str | None = None,
    *,
    key: str | None = None,
    flow_run_id: str | None = None,
    reply_to: str | None = None,
    hst: host.Host | None = None,
) -> str:
    """Async version of `send_input` (Prefect's `asend_input`): sends when awaited.

    Returns:
        The message's key.
    """
    target, key, how = _prepared(
        value, run_id or flow_run_id, key, key_prefix=key_prefix, reply_to=reply_to, hst=hst
    )
    return await _send_async(value, target, sender, key, how)


def _prepared(
    value: Any,
    target: str | None,
    key: str | None,
    *,
    key_prefix: str | None,
    reply_to: str | None,
    hst: host.Host | None,
) -> tuple[str, str | None, _How]:
    if target is None:
        raise TypeError("send_input() needs the receiving run: run_id (or flow_run_id)")
    if key is None and key_prefix is not None:
        key = f"{key_prefix}-{_new_key(context.current_run())}"
    return str(target), key, _How(key_prefix or topic_of_value(value), reply_to, hst)


def _in_async_flow() -> bool:
    """Whether the caller is the body of an `async def` flow (then sends are awaited).

    It is the flow that decides, not the thread: a sync flow (or a sync task) called
    where an event loop runs (a notebook, async application code) sends at once.
    """
    ctx = context.current_run()
    if ctx is None or context.current_scope().step_key is not None:
        return False
    return ctx.flow.is_async


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class SentKey(str):
    """The key of a message already sent, which may also be awaited (to the same key).

    Code outside an `async def` flow body that runs on an event loop (async
    application code, a notebook, an async task) gets it: the message is sent
    before the call returns, whether or not the caller awaits it, and Prefect's
    `await send_input(...)` still works there.
    """

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, str]:
        """Await the key (the message was sent already)."""
        return self._key().__await__()

    async def _key(self) -> str:
        return str(self)


@dataclasses.dataclass(frozen=True)
class _How:
    """How `send_input` sends, beside what and to whom."""

    topic: str
    reply_to: str | None
    hst: host.Host | None


async def _send_async(
    value: Any, run_id: str, sender: str | None, key: str | None, how: _How
) -> str:
    # The key and sender are taken on the loop: the store thread, where the write
    # happens, does not see this run's context.
    ctx = context.current_run()
    key = key or _new_key(ctx)
    message = await steps.offload(
        send,
        value,
        run_id,
        sender,
        key,
        reply_to=how.reply_to,
        sender_run_id=ctx.run.id if ctx is not None else None,
        topic=how.topic,
        hst=how.hst,
    )
    return message.key


def send(
    value: Any,
    run_id: str,
    sender: str | None = None,
    key: str | None = None,
    *,
    reply_to: str | None = None,
    sender_run_id: str | None = None,
    topic: str | None = None,
    hst: host.Host | None = None,
) -> records.MessageRecord:
    """Like `send_input`, returning the message as stored.

    `sender_run_id` defaults to the run this is called in (if any). `topic` says
    which receivers take it (`topic_of_value`); without one, any receiver may
    (as for messages from the API, CLI and UI, which say no type).

    Raises:
        errors.RunNotFound: No run has this id.
        errors.SerializationError: The value cannot be stored as JSON.
    """
    hst = hst or host.get_host()
    if hst.store.get_run(run_id) is None:
        raise errors.RunNotFound(run_id)
    ctx = context.current_run()
    message = records.MessageRecord(
        run_id=run_id,
        key=key or _new_key(ctx),
        data=_data(value),
        sent_at=hst.clock.now(),
        sender_run_id=sender_run_id or (ctx.run.id if ctx is not None else None),
        sender=sender,
        reply_to=reply_to,
        topic=topic,
    )
    sent = hst.store.send_message(message, answers.resume_as(hst, run_id, message.sent_at))
    if sent.closed is not None and sent.closed.won and sent.step is not None:
        answers.notify(hst, sent.closed, sent.step)
    return sent.message


def _new_key(ctx: context.RunContext | None) -> str:
    if ctx is None:
        return str(uuid.uuid4())
    # The send's place in the run: the same on every replay, so a replayed send is a
    # no-op, and it costs no journal write.
    return f"{ctx.run.id}/{context.current_scope().next_key()}"


def topic_of_value(value: Any) -> str:
    """The topic a value is sent under without `key_prefix` (that of its class)."""
    return topic_of_type(type(value))


def topics_of_type(input_type: Any) -> frozenset[str] | None:
    """The topics of the values a receive of `input_type` takes; `None` for any.

    A class takes its own (`topic_of_value` of its instances); a generic alias
    (`list[int]`) that of its origin, as in Prefect. A `Literal` takes those of its
    values' types and a union those of its members, which Prefect's prefixes miss.
    """
    origin = typing.get_origin(input_type)
    if input_type is None or input_type is typing.Any:
        return None
    if origin is typing.Literal:
        return frozenset(topic_of_type(type(arg)) for arg in typing.get_args(input_type))
    if origin is typing.Annotated:
        return topics_of_type(typing.get_args(input_type)[0])
    if origin is typing.Union or origin is types.UnionType:
        found = [topics_of_type(arg) for arg in typing.get_args(input_type)]
        return None if None in found else frozenset().union(*(f or () for f in found))
    return frozenset([topic_of_type(origin if isinstance(origin, type) else input_type)])


def topic_of_type(cls: Any) -> str:
    """The topic of a class's instances: Prefect's default key prefix for them.

    `<class name>-auto` for a `RunInput`, `<name>runinput-auto` for another pydantic
    model, `<type name>automaticruninput-auto` for a plain type, all lower case.
    """
    name = str(getattr(cls, "__name__", "")).lower()
    if isinstance(cls, type) and issubclass(cls, input_spec.StrictInput):
        return f"{name}-auto"
    if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel):
        return f"{name}runinput-auto"
    return f"{name}automaticruninput-auto"


def _data(value: Any) -> str:
    if isinstance(value, pydantic.BaseModel):
        return json.dumps(value.model_dump(mode="json"))
    return serialization.dumps(value)


# Stored values name their class by `module:qualname`: it keeps the public path it had
# before the engine package, so stores written before and after the move read alike.
Message.__module__ = RunInputMetadata.__module__ = "tarry.messaging"
