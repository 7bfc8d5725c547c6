"""Typed inputs a paused flow waits for: `RunInput` (Prefect's `prefect.input`).

A wait names what it expects as a `RunInput` subclass, any pydantic model, or a
plain type (`str`, `int`, `float`, `bool`, an `Enum` class, `Literal[...]`, or any
other type pydantic validates, such as `list[int]`). How that becomes a stored
question, and how answers are checked against it, is `tarry.engine.input_spec`;
its `InputSpec`, `input_spec`, `validate`, `to_value` and `initial_complete` are
importable from here too, and so are Prefect's `send_input`, `asend_input`,
`receive_input` and `RunInputMetadata`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from tarry import messaging
from tarry.engine import input_spec as input_spec_module
from tarry.engine import mailbox, receiving
from tarry.engine.input_spec import InputSpec, initial_complete, input_spec, to_value, validate
from tarry.messaging import RunInputMetadata, asend_input, receive_input, send_input

__all__ = [
    "InputSpec",
    "RunInput",
    "RunInputMetadata",
    "asend_input",
    "initial_complete",
    "input_spec",
    "receive_input",
    "send_input",
    "to_value",
    "validate",
]


class RunInput(input_spec_module.StrictInput):
    """Base class of typed inputs a flow waits for (Prefect's `prefect.input.RunInput`).

    Declare fields as on any pydantic model; their titles, descriptions and
    constraints become the answer form, and their validators check each answer
    before it is accepted. Unknown fields in an answer are refused.

    Example:
        ```python
        class UserNameInput(RunInput):
            name: str = Field(description="Who to greet")


        user = pause_flow_run(wait_for_input=UserNameInput.with_initial_data(name="anonymous"))
        ```
    """

    @classmethod
    def with_initial_data(cls, description: str | None = None, **initial: Any) -> type[Self]:
        """A subclass whose fields default to `initial` and whose form shows `description`.

        Fields keep their titles, descriptions, constraints and validators; only
        their defaults change. Calling it on a class it made merges the initial
        data (and keeps the description unless a new one is given).

        Args:
            description: Markdown shown above the answer form.
            **initial: Initial data by field name (or alias).

        Returns:
            The subclass, with the same name as this class.

        Raises:
            TypeError: A key of `initial` is not a field of this class.
        """
        return input_spec_module.derive(cls, description, initial)

    @property
    def metadata(self) -> RunInputMetadata | None:
        """Where this input came from, when it was received as a message (else `None`).

        Prefect's `RunInput.metadata`: `key`, `sender` and `receiver`, and tarry's
        `sender_run_id`, `reply_to` and `sent_at`.
        """
        return receiving.metadata_of(self)

    def respond(
        self,
        run_input: Any,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> Any:
        """Send `run_input` back to the run this input came from, as a reply to it.

        Args:
            run_input: The reply: a `RunInput`, a pydantic model or a plain value.
            sender: Who answers, in words.
            key_prefix: As for `send_input`: only receives of this prefix take it.
            key: The reply's key (default: from the journal, as for `send_input`).

        Returns:
            The reply's key (a coroutine of it to await in the body of an
            `async def` flow, as in Prefect; sent at once everywhere else).

        Raises:
            errors.CannotRespond: This input was not received from a flow run (a
                `RuntimeError`, as in Prefect).
        """
        return mailbox.respond_to(self.metadata, run_input, sender, key_prefix, key=key)

    async def arespond(
        self,
        run_input: Any,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> str:
        """Async version of `respond`."""
        return await mailbox.arespond_to(self.metadata, run_input, sender, key_prefix, key=key)

    def send_to(
        self,
        flow_run_id: str,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> Any:
        """Send this input to a run as a message (see `tarry.send_input`).

        Args:
            flow_run_id: The receiving run.
            sender: Who sends it, in words.
            key_prefix: Start of the key, and what receivers match instead of the type.
            key: The message's key (sending a key again is a no-op).

        Returns:
            The message's key (a coroutine of it to await in the body of an
            `async def` flow, as in Prefect; sent at once everywhere else).
        """
        return messaging.send_input(
            self, flow_run_id, sender=sender, key=key, key_prefix=key_prefix
        )

    async def asend_to(
        self,
        flow_run_id: str,
        sender: str | None = None,
        key_prefix: str | None = None,
        *,
        key: str | None = None,
    ) -> str:
        """Async version of `send_to`."""
        return await asend_input(self, flow_run_id, sender=sender, key=key, key_prefix=key_prefix)

    @classmethod
    def receive(  # noqa: PLR0917 - Prefect's signature
        cls,
        timeout: float | None = 3600,
        poll_interval: float | None = None,
        raise_timeout_error: bool = False,
        exclude_keys: Collection[str] | None = None,
        key_prefix: str | None = None,
        flow_run_id: str | None = None,
        with_metadata: bool = False,
        *,
        consume: bool = True,
    ) -> receiving.Receiver[Self]:
        """Receive messages of this type sent to the current run (see `tarry.receive_input`).

        `poll_interval` is accepted and ignored: a new message wakes the receive.

        Returns:
            An iterable (and async iterable) of instances of this class, each with
            its `metadata`.
        """
        return receive_input(
            cls,
            timeout=timeout,
            poll_interval=poll_interval,
            raise_timeout_error=raise_timeout_error,
            exclude_keys=exclude_keys,
            key_prefix=key_prefix,
            flow_run_id=flow_run_id,
            with_metadata=with_metadata,
            consume=consume,
        )
