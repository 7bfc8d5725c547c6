"""Receiving messages: `receive_input` and the `Receiver` it returns.

A receive takes the next message of its topics (see `mailbox.topics_of_type`) as
a journal entry of the receiver, or opens a message wait that a new message closes
like an answer. With `consume=False` it only reads: the message stays pending and
the receiver leaves it out of its next receives (Prefect's reading).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Coroutine
from typing import Any, Generic, TypeVar

from tarry import errors, serialization
from tarry.engine import context, input_spec, waiting
from tarry.engine.mailbox import Message, RunInputMetadata, topics_of_type
from tarry.storage import rules

__all__ = ["Receiver", "metadata_of", "receive_input"]

T = TypeVar("T")


@dataclasses.dataclass
class _Reading:
    """Which messages a `Receiver` takes, and whether it takes or only reads them."""

    key_prefix: str | None
    exclude_keys: set[str]
    topics: frozenset[str] | None
    keep: bool

    def message_filter(self) -> str:
        return rules.message_filter(self.key_prefix, self.exclude_keys, self.topics, keep=self.keep)


class Receiver(Generic[T]):
    """What `receive_input` returns: iterate (or `async for`) to get messages in order.

    It is its own iterator, as Prefect's: `next(receiver)`, `await anext(receiver)`,
    and `receiver.next()` / `await receiver.anext()` (which raise `TimeoutError`).
    """

    def __init__(
        self,
        input_type: Any,
        timeout: float | None,
        raise_timeout_error: bool,
        with_metadata: bool,
        reading: _Reading,
    ) -> None:
        self._spec = input_spec.input_spec(input_type) if input_type is not None else None
        self._timeout = timeout
        self._raise = raise_timeout_error
        self._with_metadata = with_metadata
        self._reading = reading

    def __iter__(self) -> Receiver[T]:
        """The receiver itself: each `next` is the next message, one journal entry each."""
        return self

    def __next__(self) -> Any:
        """The next message; the iteration ends when none comes within the timeout.

        Raises:
            StopIteration: None came in time (`TimeoutError` with `raise_timeout_error`).
        """
        ctx = context.current_run()
        if ctx is not None and ctx.flow.is_async:
            raise TypeError("in an async def flow, receive with `async for` (or await .next())")
        stored = self._receive()
        if stored is None:
            self._timed_out()
            raise StopIteration
        return self._received(stored)

    def __aiter__(self) -> Receiver[T]:
        """The receiver itself, for `async for` in `async def` flows."""
        return self

    async def __anext__(self) -> Any:
        """Async version of `__next__`.

        Raises:
            StopAsyncIteration: None came in time (`TimeoutError` with `raise_timeout_error`).
        """
        stored = await _awaited(self._receive())
        if stored is None:
            self._timed_out()
            raise StopAsyncIteration
        return self._received(stored)

    def next(self) -> Any:
        """The next message (awaitable in `async def` flows, as in Prefect).

        Raises:
            TimeoutError: None came within the timeout.
        """
        stored = self._receive()
        if asyncio.iscoroutine(stored):
            return self._next_async(stored)
        return self._one(stored)

    async def anext(self) -> Any:
        """Async version of `next` (Prefect's `receiver.anext()`).

        Raises:
            TimeoutError: None came within the timeout.
        """
        return self._one(await _awaited(self._receive()))

    async def _next_async(self, pending: Coroutine[Any, Any, Any]) -> Any:
        return self._one(await pending)

    def _receive(self) -> Any:
        return waiting.receive_message(self._timeout, self._reading.message_filter())

    def _one(self, stored: dict[str, Any] | None) -> Any:
        if stored is None:
            raise TimeoutError(f"no message came within {self._timeout} s")
        return self._received(stored)

    def _timed_out(self) -> None:
        if self._raise:
            raise TimeoutError(f"no message came within {self._timeout} s")

    def _received(self, stored: dict[str, Any]) -> Any:
        if self._reading.keep:  # read, not taken: this receiver reads each once
            self._reading.exclude_keys.add(stored["key"])
        value = self._value(stored)
        metadata = _metadata(stored)
        if isinstance(value, input_spec.StrictInput) and not self._spec_unwraps():
            # A received RunInput carries its metadata, as in Prefect, whatever
            # `with_metadata` says; kept beside its fields, so it still equals an
            # instance made with the same fields.
            object.__setattr__(value, _METADATA, metadata)
            return value
        if not self._with_metadata:
            return value
        fields = dataclasses.asdict(metadata)
        return Message(value=value, **{**fields, "sent_at": stored["sent_at"]})

    def _spec_unwraps(self) -> bool:
        return self._spec is not None and self._spec.unwrap

    def _value(self, stored: dict[str, Any]) -> Any:
        data = stored["data"]
        if self._spec is None:
            return serialization.decode(data)
        if self._spec.unwrap:
            data = serialization.decode(data)
            if not isinstance(data, dict):
                data = {"value": data}
        try:
            checked = input_spec.validate(self._spec, data)
        except errors.InputInvalid as exc:
            title = str(self._spec.schema.get("title") or "message")
            raise errors.MessageInvalid(exc.field_errors, title=title, key=stored["key"]) from exc
        return input_spec.to_value(self._spec, checked)


_METADATA = "_tarry_metadata"


def metadata_of(value: Any) -> RunInputMetadata | None:
    """The metadata of a received `RunInput` (`RunInput.metadata`); `None` if not received."""
    found = getattr(value, "__dict__", {}).get(_METADATA)
    return found if isinstance(found, RunInputMetadata) else None


def _metadata(stored: dict[str, Any]) -> RunInputMetadata:
    ctx = context.current_run()
    return RunInputMetadata(
        key=stored["key"],
        sender=stored.get("sender"),
        receiver=ctx.run.id if ctx is not None else None,
        sender_run_id=stored.get("sender_run_id"),
        reply_to=stored.get("reply_to"),
        sent_at=stored.get("sent_at"),
    )


async def _awaited(result: Any) -> Any:
    return await result if asyncio.iscoroutine(result) else result


def receive_input(  # noqa: PLR0917 - Prefect's signature
    input_type: Any = str,
    timeout: float | None = 3600,
    poll_interval: float | None = None,
    raise_timeout_error: bool = False,
    exclude_keys: Collection[str] | None = None,
    key_prefix: str | None = None,
    flow_run_id: str | None = None,
    with_metadata: bool = False,
    *,
    consume: bool = True,
) -> Receiver[Any]:
    """Receive the messages sent to this run, in the order they were sent, each once.

    Each message waits like `pause_flow_run`: in memory for a while, then with the
    run suspended, woken by the next message. Use `for` in flows and `async for`
    in `async def` flows.

    Args:
        input_type: What each message is: a `RunInput` or pydantic model, or any
            other type pydantic validates (`str`, `int`, `list[int]`,
            `tuple[str, str]`, a union, ...); `None` for the value as it was sent.
        timeout: Seconds to wait for each message; then the iteration ends (or
            raises, with `raise_timeout_error`). `None` waits for ever.
        poll_interval: Accepted for Prefect compatibility and ignored: a new message
            wakes the receive at once, nothing polls.
        raise_timeout_error: Raise `TimeoutError` instead of ending the iteration.
        exclude_keys: Keys of messages to leave for another receive.
        key_prefix: Only messages whose key starts with this (or sent with a
            `key_prefix` that does); without it, only messages of `input_type`,
            as in Prefect. Messages of other types stay for their receivers.
        flow_run_id: Prefect's run whose inputs to read: only this run's own id (or
            `None`) is accepted; a run receives only the messages sent to it.
        with_metadata: Yield `Message` objects (value, key, sender, `metadata`,
            `respond`). A `RunInput` is yielded as itself either way, with its
            `metadata` and `respond`, as in Prefect.
        consume: `True` (tarry's default): each message is taken by the receive that
            gets it, and no later receive sees it again. `False` (Prefect's way):
            read without taking, so each new `receive_input` reads from the first
            message again (one iterator still yields each message once; pass
            `exclude_keys` to skip some), and the messages stay for later receives.

    Returns:
        An iterable (and async iterable) of messages.

    Raises:
        errors.NotInFlowRun: Called outside a flow run (a `RuntimeError`, as in Prefect).
        errors.NotSupported: `flow_run_id` names another run.
        errors.MessageInvalid: A message does not fit `input_type` (while iterating);
            it is a `pydantic.ValidationError` and an `errors.InputInvalid`.
    """
    del poll_interval
    ctx = context.current_run()
    if ctx is None:
        raise errors.NotInFlowRun("receive_input")
    if flow_run_id is not None and str(flow_run_id) != ctx.run.id:
        raise errors.NotSupported(
            "receive_input(flow_run_id=...) reads another run's inputs in Prefect; in tarry "
            "a run receives the messages sent to it: receive in that run, or have it respond",
            option="flow_run_id",
        )
    topics = topics_of_type(input_type) if key_prefix is None else None
    reading = _Reading(key_prefix, set(exclude_keys or ()), topics, keep=not consume)
    return Receiver(input_type, timeout, raise_timeout_error, with_metadata, reading)
