"""The tree's root and its errors about settings, the store, flows, runs and links."""

from __future__ import annotations

import dataclasses

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ApprovalRejected",
    "AutomationInvalid",
    "AutomationNameTaken",
    "AutomationNotFound",
    "CacheKeyError",
    "CannotRespond",
    "ConcurrencyLimitMissing",
    "ConcurrencyLimitNotFound",
    "ConcurrencyLimitRefused",
    "ConcurrencySlotAcquisitionError",
    "ConfigurationError",
    "DeliveryFailed",
    "DeploymentNotFound",
    "FieldError",
    "FlowLoadError",
    "FlowTimeout",
    "InvalidTransition",
    "LinkExpired",
    "LinkInvalid",
    "LinkRefused",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MigrationError",
    "NondeterminismError",
    "NotFound",
    "NotInFlowRun",
    "NotRetryable",
    "NotSupported",
    "ParameterError",
    "RunEnded",
    "RunFailed",
    "RunNotFound",
    "ScheduleInvalid",
    "ScheduleNotFound",
    "SerializationError",
    "StepFailed",
    "StoreError",
    "TarryError",
    "TaskTimeout",
    "WaitNotFound",
    "WaitTimeout",
    "WorkPoolNotFound",
    "WorkPoolRefused",
    "WorkQueueNotFound",
]


class TarryError(Exception):
    """A tarry operation failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigurationError(TarryError):
    """A tarry setting is invalid; check the TARRY_* environment variables."""


class StoreError(TarryError):
    """The store failed or holds data this version of tarry cannot read."""


class MigrationError(StoreError):
    """The database schema cannot be brought up to date; run `tarry db upgrade`."""


class SerializationError(TarryError):
    """A value cannot be stored as JSON.

    Return and pass JSON-compatible values, pydantic models, dataclasses, enums,
    datetimes, UUIDs, decimals, bytes, tuples or sets from tasks and flows.
    """


class FlowLoadError(TarryError):
    """A flow entrypoint cannot be imported; use `module:flow` or `path/to/file.py:flow`."""


class ParameterError(TarryError):
    """The parameters do not fit the flow's signature; `field_errors` names each one."""

    def __init__(
        self,
        message: str | None = None,
        *,
        flow_name: str = "",
        field_errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.flow_name = flow_name
        self.field_errors = field_errors or []


class ScheduleInvalid(TarryError, ValueError):
    """A schedule cannot be read: a bad cron expression, interval, rrule or time zone."""


class NotSupported(TarryError, NotImplementedError):
    """A Prefect option or call that tarry does not support yet, refused rather than ignored."""

    def __init__(self, message: str | None = None, *, option: str = "") -> None:
        super().__init__(message or self.__doc__)
        self.option = option


class NotInFlowRun(TarryError, RuntimeError):
    """This can only be called inside a flow run (a `RuntimeError`, as Prefect's)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} can only be called inside a flow run")
        self.what = what


class CannotRespond(TarryError, RuntimeError):
    """Cannot respond to an input that was not sent by a flow run (no run to answer)."""

    def __init__(self, key: str | None) -> None:
        if key is None:
            super().__init__("Cannot respond to an input that was not received from a flow run")
        else:
            super().__init__(f"Cannot respond to message {key!r}: it was not sent by a flow run")
        self.key = key


class NotFound(TarryError):
    """Nothing stored has this id or name."""


class RunNotFound(NotFound):
    """No run has this id (or prefix of one, or name), or several do."""

    def __init__(self, run_id: str, *, ambiguous: bool = False) -> None:
        problem = (
            "several runs have the id prefix or name" if ambiguous else "no run with id or name"
        )
        super().__init__(f"{problem} {run_id!r}; list runs with `tarry runs ls`")
        self.run_id = run_id


class WaitNotFound(NotFound):
    """No wait has this id."""

    def __init__(self, wait_id: str) -> None:
        super().__init__(f"no wait with id {wait_id!r}; list open ones with `tarry inputs ls`")
        self.wait_id = wait_id


class DeploymentNotFound(NotFound):
    """No deployment has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no deployment named {name!r}; names look like 'flow-name/deployment'")
        self.name = name


class ScheduleNotFound(NotFound):
    """The deployment has no schedule of this slug."""


class WorkPoolNotFound(NotFound):
    """No work pool has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no work pool named {name!r}; list them with `tarry work-pool ls`")
        self.name = name


class WorkQueueNotFound(NotFound):
    """The work pool has no queue of this name."""

    def __init__(self, pool: str, name: str) -> None:
        super().__init__(
            f"work pool {pool!r} has no queue named {name!r}; "
            f"list them with `tarry work-queue ls --pool {pool}`"
        )
        self.pool = pool
        self.name = name


class WorkPoolRefused(TarryError, ValueError):
    """A work pool or queue change that cannot be made (a bad value, the default's deletion)."""


class ConcurrencyLimitNotFound(NotFound):
    """No global concurrency limit has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no concurrency limit named {name!r}; create it with "
            f"`tarry gcl create {name} --limit N` or list them with `tarry gcl ls`"
        )
        self.name = name


class ConcurrencyLimitRefused(TarryError, ValueError):
    """A concurrency limit that cannot be made so (a bad name or value, or it exists)."""


class AutomationNameTaken(TarryError, ValueError):
    """Another automation has this name: automation names are unique."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"an automation named {name!r} exists; choose another name or update that one"
        )
        self.name = name


class AutomationNotFound(NotFound, ValueError):
    """No automation has this id or name (a `ValueError` too, as Prefect's `read` raises)."""

    def __init__(self, id_or_name: str) -> None:
        super().__init__(
            f"no automation has the id or name {id_or_name!r}; list them with `tarry automation ls`"
        )
        self.id_or_name = id_or_name


class AutomationInvalid(TarryError, ValueError):
    """An automation that cannot be made so; `field_errors` names each wrong field."""

    def __init__(self, field_errors: list[FieldError]) -> None:
        parts = [f"{e.field or 'automation'}: {e.message}" for e in field_errors]
        super().__init__("the automation is not valid: " + "; ".join(parts))
        self.field_errors = field_errors


class ConcurrencySlotAcquisitionError(TarryError):
    """Slots that can never be taken: more than the limit has, or a rate limit with no decay."""


class AcquireConcurrencySlotTimeoutError(ConcurrencySlotAcquisitionError, TimeoutError):
    """The slots were not free within `timeout_seconds` (or `max_retries` attempts)."""


class ConcurrencyLimitMissing(ConcurrencyLimitNotFound, ConcurrencySlotAcquisitionError):
    """`strict=True` and the limit does not exist (Prefect raises the second base here)."""


class RunEnded(TarryError):
    """The run has ended, so it cannot be cancelled, suspended or resumed."""

    def __init__(self, run_id: str, state: str, action: str) -> None:
        super().__init__(f"run {run_id} has ended ({state}); it cannot be {action}")
        self.run_id = run_id
        self.state = state


class InvalidTransition(TarryError):
    """A run cannot move between these two states."""

    def __init__(self, run_id: str, from_state: str, to_state: str) -> None:
        super().__init__(f"run {run_id} cannot go from {from_state} to {to_state}")
        self.run_id = run_id
        self.from_state = from_state
        self.to_state = to_state


class NotRetryable(InvalidTransition):
    """Only a Failed or Crashed top-level run is retried; this one is not."""

    def __init__(self, run_id: str, state: str, why: str) -> None:
        TarryError.__init__(self, f"run {run_id} is {state}: {why}")
        self.run_id = run_id
        self.from_state = state
        self.to_state = "Pending"


class NondeterminismError(TarryError):
    """The flow's code no longer matches the journal of the run it replays.

    Code between steps must make the same calls in the same order on every
    execution. Read clocks and random numbers through `tarry.now()`,
    `tarry.uuid4()` and `tarry.random()`, or inside tasks, and deploy code changes
    to new runs only.
    """

    def __init__(self, run_id: str, step_key: str, detail: str) -> None:
        advice = (self.__doc__ or "").split("\n\n", 1)[1].strip()
        super().__init__(f"run {run_id}, step {step_key}: {detail}. {' '.join(advice.split())}")
        self.run_id = run_id
        self.step_key = step_key


class StepFailed(TarryError):
    """A step failed earlier and its exception type could not be rebuilt on replay."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.error_message = message


class CacheKeyError(TarryError):
    """A task's `cache_key_fn` raised, so the task was not called and nothing was cached."""

    def __init__(self, message: str | None = None, *, task_name: str = "") -> None:
        super().__init__(message)
        self.task_name = task_name


class MappingMissingIterable(TarryError, ValueError):
    """`Task.map` was given no iterable argument to map over."""


class MappingLengthMismatch(TarryError, ValueError):
    """The iterable arguments of `Task.map` differ in length."""


class TaskTimeout(TarryError, TimeoutError):
    """A task ran longer than its `timeout_seconds`."""


class FlowTimeout(TarryError, TimeoutError):
    """A flow ran longer than its `timeout_seconds`."""


class WaitTimeout(TarryError, TimeoutError):
    """Nobody answered a wait before its deadline."""

    def __init__(self, run_id: str, wait_name: str, seconds: float) -> None:
        super().__init__(f"run {run_id}: nobody answered {wait_name} within {_duration(seconds)}")
        self.run_id = run_id
        self.wait_name = wait_name
        self.seconds = seconds


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


class ApprovalRejected(TarryError):
    """An approval gate was answered "no"."""

    def __init__(self, run_id: str, name: str, responder: str | None = None) -> None:
        who = f" by {responder}" if responder else ""
        super().__init__(f"run {run_id}: approval {name!r} was rejected{who}")
        self.run_id = run_id
        self.name = name
        self.responder = responder


class RunFailed(TarryError):
    """A run did not complete."""

    def __init__(self, run_id: str, state: str, reason: str) -> None:
        super().__init__(f"run {run_id} ended {state}: {reason}")
        self.run_id = run_id
        self.state = state
        self.reason = reason


class LinkRefused(TarryError):
    """A signed link or reply address cannot be used."""


class LinkInvalid(LinkRefused):
    """This link was altered, cut short or signed with another server's key."""


class LinkExpired(LinkRefused):
    """This link's time is over."""

    def __init__(self, expired_at: float) -> None:
        super().__init__()
        self.expired_at = expired_at


class DeliveryFailed(TarryError):
    """A notification or mail could not be sent; it is retried later."""


@dataclasses.dataclass(frozen=True)
class FieldError:
    """Why one field of an answer was refused."""

    loc: tuple[str | int, ...]
    """Where: field names and list indexes from the top of the input; `()` for the
    whole input (a cross-field rule)."""
    message: str
    """What is wrong, for a person."""
    type: str = "value_error"
    """A machine-readable kind, such as `missing` or `string_too_short`."""

    @property
    def field(self) -> str:
        """`loc` as a dotted path (`""` for the whole input)."""
        return ".".join(str(part) for part in self.loc)
