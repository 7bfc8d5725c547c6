"""Refused answers: an answer or message that does not fit, or a wait nobody can answer."""

from __future__ import annotations

from typing import Any

import pydantic
import pydantic_core

from tarry.errors._core import FieldError, TarryError

__all__ = [
    "AlreadyAnswered",
    "InputError",
    "InputInvalid",
    "MessageInvalid",
    "NotWaiting",
    "ValueRefused",
]


class InputError(TarryError):
    """An answer to a wait was refused; the run keeps waiting."""


class InputInvalid(InputError, RuntimeError):
    """The answer does not fit the input model; see `field_errors`.

    Also a `RuntimeError`: Prefect's `resume_flow_run` refuses an invalid answer with
    one ("Cannot resume this run: ..."), so Prefect code that catches it keeps working.
    """

    def __init__(self, field_errors: list[FieldError]) -> None:
        parts = [f"{e.field or 'input'}: {e.message}" for e in field_errors]
        super().__init__("invalid input: " + "; ".join(parts))
        self.field_errors = field_errors


class MessageInvalid(InputInvalid, pydantic.ValidationError):
    """A received message does not fit the type its receiver asked for.

    Also a `pydantic.ValidationError` (`errors()`, `title`), as Prefect's `receive_input` raises.
    """

    def __new__(cls, *args: Any, **_kwargs: Any) -> MessageInvalid:
        if len(args) >= 2 and isinstance(args[0], str) and not _field_errors(args[1]):
            # pydantic's own construction (`from_exception_data` calls the class with its
            # title and converted line errors)
            return pydantic.ValidationError.__new__(cls, *args)
        field_errors = _field_errors(args[0]) if args else []
        title = str(_kwargs.get("title") or "message")
        details = [_line_error(e) for e in field_errors or []]
        return cls.from_exception_data(title, details)

    def __init__(
        self, field_errors: Any = None, *args: Any, title: str = "message", key: str = ""
    ) -> None:
        found = _field_errors(field_errors)
        if found is None and isinstance(field_errors, str) and not args:
            TarryError.__init__(self, field_errors)  # rebuilt from its stored message
            self.field_errors, self.key = [], key
            return
        if found is None:  # pydantic's construction, before ours
            found = [_from_pydantic(e) for e in self.errors()]
        super().__init__(found)
        self.key = key

    def __str__(self) -> str:
        """The message, as for every tarry error (pydantic's own is `errors()`)."""
        return str(self.args[0]) if self.args else ""


def _field_errors(candidate: Any) -> list[FieldError] | None:
    if isinstance(candidate, list) and all(isinstance(e, FieldError) for e in candidate):
        return candidate
    return None


def _line_error(error: FieldError) -> pydantic_core.InitErrorDetails:
    # A custom error keeps tarry's type and message; braces would be read as a template.
    message = error.message.replace("{", "(").replace("}", ")")
    return {
        "type": pydantic_core.PydanticCustomError(error.type, message),
        "loc": error.loc,
        "input": None,
    }


def _from_pydantic(error: pydantic_core.ErrorDetails) -> FieldError:
    return FieldError(tuple(error["loc"]), error["msg"], error["type"])


class ValueRefused(InputInvalid):
    """A value from outside cannot be stored unchanged; nothing was changed.

    `tarry.boundary.check` refuses a NUL, a number not finite, or nesting, a field or a
    value over its limit (`what` says where); a form shows it by its field.
    """

    def __init__(self, what: str, field_errors: list[FieldError]) -> None:
        super().__init__(field_errors)
        parts = [f"{e.field or 'value'}: {e.message}" for e in field_errors]
        self.args = (f"{what} cannot be stored: " + "; ".join(parts),)
        self.what = what


class AlreadyAnswered(InputError):
    """Someone answered this wait first."""

    def __init__(
        self,
        wait_id: str,
        responder: str | None,
        answered_at: float | None,
        status: str = "answered",
    ) -> None:
        if status == "answered":
            done = "was already answered" + (f" by {responder}" if responder else "")
        else:
            done = "timed out" if status == "timed_out" else "was cancelled (another wait won)"
        super().__init__(f"wait {wait_id} {done}")
        self.wait_id = wait_id
        self.responder = responder
        self.answered_at = answered_at


class NotWaiting(InputError):
    """The run has no open wait that this answer could go to."""

    def __init__(self, run_id: str, detail: str, *, message: str | None = None) -> None:
        super().__init__(message or f"run {run_id} {detail}")
        self.run_id = run_id

    @classmethod
    def not_paused(cls, run_id: str, state: str) -> NotWaiting:
        """The run is not paused (Prefect's `NotPausedError`, and its words).

        Args:
            run_id: The run.
            state: Its state now, such as `Running` or `Completed`.

        Returns:
            The error: "Cannot resume a run that isn't paused: run ... is Running".
        """
        detail = f"is {state}, not waiting for input"
        return cls(
            run_id, detail, message=f"Cannot resume a run that isn't paused: run {run_id} {detail}"
        )
