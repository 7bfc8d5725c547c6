"""Typed inputs a paused flow waits for: `RunInput` (Prefect's `prefect.input`).

A wait names what it expects as a `RunInput` subclass, any pydantic model, or a
plain type (`str`, `int`, `float`, `bool`, an `Enum` class or `Literal[...]`).
How that becomes a stored question, and how answers are checked against it, is
`tarry.engine.input_spec`; its `InputSpec`, `input_spec`, `validate`, `to_value`
and `initial_complete` are importable from here too.
"""

from __future__ import annotations

from typing import Any, Self

from tarry import messaging
from tarry.engine import input_spec as input_spec_module
from tarry.engine.input_spec import InputSpec, initial_complete, input_spec, to_value, validate

__all__ = ["InputSpec", "RunInput", "initial_complete", "input_spec", "to_value", "validate"]


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

    def send_to(self, flow_run_id: str, sender: str | None = None, key: str | None = None) -> Any:
        """Send this input to a run as a message (see `tarry.send_input`).

        Returns:
            The message's key (a coroutine of it to await in the body of an
            `async def` flow, as in Prefect; sent at once everywhere else).
        """
        return messaging.send_input(self, flow_run_id, sender=sender, key=key)

    @classmethod
    def receive(
        cls,
        timeout: float | None = 3600,
        raise_timeout_error: bool = False,
        exclude_keys: Any = None,
        key_prefix: str | None = None,
        with_metadata: bool = False,
    ) -> Any:
        """Receive messages of this type sent to the current run (see `tarry.receive_input`).

        Returns:
            An iterable (and async iterable) of instances of this class.
        """
        return messaging.receive_input(
            cls,
            timeout=timeout,
            raise_timeout_error=raise_timeout_error,
            exclude_keys=exclude_keys,
            key_prefix=key_prefix,
            with_metadata=with_metadata,
        )
