"""The whole tarry exception tree.

Every error tarry raises on purpose derives from :class:`TarryError`, except the
control-flow signals, which derive from :class:`BaseException` so that user code's
``except Exception:`` cannot swallow them by accident::

    TarryError
    ├── ConfigurationError          a setting or database URL is invalid
    ├── StoreError                  the store failed or holds unexpected data
    │   └── MigrationError          the schema cannot be brought up to date
    ├── SerializationError          a value cannot be stored as JSON
    ├── FlowLoadError               an entrypoint cannot be imported
    ├── ParameterError              flow parameters do not fit the signature
    ├── ScheduleInvalid (ValueError) a cron, interval or rrule that cannot be read
    ├── NotSupported                a Prefect option tarry does not support yet
    ├── NotInFlowRun (RuntimeError) a call that needs a flow run was made outside one
    ├── CannotRespond (RuntimeError) the message was not sent by a run: nobody to answer
    ├── NotFound                    no such thing is stored
    │   ├── RunNotFound             no run has this id
    │   ├── WaitNotFound            no wait has this id
    │   ├── DeploymentNotFound      no deployment has this name
    │   ├── ScheduleNotFound        the deployment has no schedule of this slug
    │   ├── WorkPoolNotFound        no work pool has this name
    │   ├── WorkQueueNotFound       the work pool has no queue of this name
    │   ├── WebhookNotFound         no webhook has this id, slug or name
    │   ├── ConcurrencyLimitNotFound  no global concurrency limit has this name
    │   │   └── ConcurrencyLimitMissing  (also ConcurrencySlotAcquisitionError) strict, none
    │   └── AutomationNotFound (ValueError)  no automation has this id or name
    ├── WorkPoolRefused (ValueError) a pool or queue change that cannot be made
    ├── ConcurrencyLimitRefused (ValueError) a concurrency limit that cannot be made so
    ├── AutomationNameTaken (ValueError) another automation has this name
    ├── AutomationInvalid (ValueError) an automation's trigger or actions do not fit
    ├── ConcurrencySlotAcquisitionError  slots that cannot be taken (too many, no decay)
    │   └── AcquireConcurrencySlotTimeoutError (TimeoutError)  no room within the timeout
    ├── RunEnded                    the run has ended; it cannot be changed
    ├── InvalidTransition           a run state change that is not allowed
    │   └── NotRetryable            only a Failed or Crashed top-level run is retried
    ├── NondeterminismError         replay diverged from the recorded journal
    ├── StepFailed                  a recorded step error whose type cannot be rebuilt
    ├── CacheKeyError               a task's `cache_key_fn` raised: no key, no call
    ├── MappingMissingIterable (ValueError) `Task.map` got nothing to map over
    ├── MappingLengthMismatch (ValueError)  `Task.map`'s iterables differ in length
    ├── TaskTimeout (TimeoutError)  a task ran past its ``timeout_seconds``
    ├── FlowTimeout (TimeoutError)  a flow ran past its ``timeout_seconds``
    ├── WaitTimeout (TimeoutError)  nobody answered a wait before its deadline
    ├── ApprovalRejected            an `approve(...)` gate was answered "no"
    ├── RunFailed                   a run ended Failed/Crashed/Cancelled
    ├── LinkRefused                 a signed link or reply address cannot be used
    │   ├── LinkInvalid             it was altered or signed with another key
    │   └── LinkExpired             its time is over
    ├── WebhookTaken (ValueError)   another webhook has this slug or name
    ├── WebhookRefused (ValueError) a webhook's template, or a request through it, is refused
    ├── WebhookSecretMissing        a webhook request carries no secret or signature
    ├── WebhookSecretWrong          its secret or signature is wrong
    ├── WebhookDisabled             the webhook is disabled
    ├── DeliveryFailed              a notification or mail could not be sent
    └── InputError                  an answer to a wait was refused
        ├── InputInvalid (RuntimeError)  the answer does not fit the input model
        │   ├── MessageInvalid (pydantic.ValidationError)  a received message does not fit
        │   └── ValueRefused        a value tarry cannot store (NUL, NaN, too deep or large)
        ├── AlreadyAnswered         someone answered this wait first
        └── NotWaiting              the run has no open wait to answer

    BaseException
    └── ControlSignal               unwinds a flow's stack; never catch it
        ├── RunAborted              the run was taken away from this thread
        ├── RunSuspended            the run leaves memory until its wait ends
        └── TimeoutInterrupt        raised inside a task or flow body its timeout stops

Each leaf's docstring is its default message.
"""

from __future__ import annotations

from tarry.errors import _core, _input, _signals, _webhooks
from tarry.errors._core import (
    AcquireConcurrencySlotTimeoutError,
    ApprovalRejected,
    AutomationInvalid,
    AutomationNameTaken,
    AutomationNotFound,
    CacheKeyError,
    CannotRespond,
    ConcurrencyLimitMissing,
    ConcurrencyLimitNotFound,
    ConcurrencyLimitRefused,
    ConcurrencySlotAcquisitionError,
    ConfigurationError,
    DeliveryFailed,
    DeploymentNotFound,
    FieldError,
    FlowLoadError,
    FlowTimeout,
    InvalidTransition,
    LinkExpired,
    LinkInvalid,
    LinkRefused,
    MappingLengthMismatch,
    MappingMissingIterable,
    MigrationError,
    NondeterminismError,
    NotFound,
    NotInFlowRun,
    NotRetryable,
    NotSupported,
    ParameterError,
    RunEnded,
    RunFailed,
    RunNotFound,
    ScheduleInvalid,
    ScheduleNotFound,
    SerializationError,
    StepFailed,
    StoreError,
    TarryError,
    TaskTimeout,
    WaitNotFound,
    WaitTimeout,
    WorkPoolNotFound,
    WorkPoolRefused,
    WorkQueueNotFound,
)
from tarry.errors._input import (
    AlreadyAnswered,
    InputError,
    InputInvalid,
    MessageInvalid,
    NotWaiting,
    ValueRefused,
)
from tarry.errors._signals import (
    ControlSignal,
    RunAborted,
    RunSuspended,
    TimeoutInterrupt,
)
from tarry.errors._webhooks import (
    WebhookDisabled,
    WebhookNotFound,
    WebhookRefused,
    WebhookSecretMissing,
    WebhookSecretWrong,
    WebhookTaken,
)

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "AlreadyAnswered",
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
    "ControlSignal",
    "DeliveryFailed",
    "DeploymentNotFound",
    "FieldError",
    "FlowLoadError",
    "FlowTimeout",
    "InputError",
    "InputInvalid",
    "InvalidTransition",
    "LinkExpired",
    "LinkInvalid",
    "LinkRefused",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MessageInvalid",
    "MigrationError",
    "NondeterminismError",
    "NotFound",
    "NotInFlowRun",
    "NotRetryable",
    "NotSupported",
    "NotWaiting",
    "ParameterError",
    "RunAborted",
    "RunEnded",
    "RunFailed",
    "RunNotFound",
    "RunSuspended",
    "ScheduleInvalid",
    "ScheduleNotFound",
    "SerializationError",
    "StepFailed",
    "StoreError",
    "TarryError",
    "TaskTimeout",
    "TimeoutInterrupt",
    "ValueRefused",
    "WaitNotFound",
    "WaitTimeout",
    "WebhookDisabled",
    "WebhookNotFound",
    "WebhookRefused",
    "WebhookSecretMissing",
    "WebhookSecretWrong",
    "WebhookTaken",
    "WorkPoolNotFound",
    "WorkPoolRefused",
    "WorkQueueNotFound",
]

# Stored errors name their class by `module:qualname`, and users read `tarry.errors.X`:
# every class says it lives here, whichever file defines it.
for _module in (_core, _input, _signals, _webhooks):
    for _name in _module.__all__:
        getattr(_module, _name).__module__ = __name__
del _module, _name
