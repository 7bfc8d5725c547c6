"""Actions: what an automation does when it fires, in Prefect 3's shapes and JSON `type`s.

Where Prefect names a target by id (`deployment_id`, `work_pool_id`, ...), tarry takes
its name there too (tarry's deployments, pools and automations are named), or in a
field of its own (`deployment`, `work_pool`, `work_queue`, `automation`). `source`
says where the target comes from: `"selected"` (the action names it) or `"inferred"`
(the triggering event's resource or related resources name it). String fields marked
*templated* are Jinja templates rendered against the firing (see `triggers.templates`).
Prefect's notification blocks do not exist in tarry: `send-notification` and
`call-webhook` name their recipients and URL themselves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from tarry import states

__all__ = [
    "ActionTypes",
    "CallWebhook",
    "CancelFlowRun",
    "ChangeFlowRunState",
    "DoNothing",
    "PauseAutomation",
    "PauseDeployment",
    "PauseWorkPool",
    "PauseWorkQueue",
    "ResumeAutomation",
    "ResumeDeployment",
    "ResumeFlowRun",
    "ResumeWorkPool",
    "ResumeWorkQueue",
    "RunDeployment",
    "SendInput",
    "SendNotification",
    "SuspendFlowRun",
]

Source = Literal["selected", "inferred"]

#: The states a run can be put in, by Prefect's state type (`CANCELLING` ends Cancelled).
_STATES = {
    "SCHEDULED": states.RunState.SCHEDULED.value,
    "PENDING": states.RunState.PENDING.value,
    "COMPLETED": states.RunState.COMPLETED.value,
    "FAILED": states.RunState.FAILED.value,
    "CANCELLED": states.RunState.CANCELLED.value,
    "CANCELLING": states.RunState.CANCELLED.value,
    "CRASHED": states.RunState.CRASHED.value,
}

_NO_BLOCKS = "tarry has no blocks, so `block_document_id` cannot be used: give {instead} instead"


class _Action(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    @property
    def label(self) -> str:
        """The action's JSON `type`, as pages and logs name it."""
        return str(getattr(self, "type", type(self).__name__))


def _refuse_blocks(data: Any, instead: str) -> Any:
    if isinstance(data, dict) and "block_document_id" in data:
        raise ValueError(_NO_BLOCKS.format(instead=instead))
    return data


def _check_source(source: str, given: dict[str, str | None], what: str) -> None:
    named = [name for name, value in given.items() if value]
    if source == "selected" and not named:
        raise ValueError(f"a selected {what} needs {' or '.join(f'`{n}`' for n in given)}")
    if source == "inferred" and named:
        raise ValueError(
            f"an inferred {what} comes from the triggering event: leave out `{named[0]}`"
        )


class DoNothing(_Action):
    """Do nothing (the firing is still recorded and its event still emitted)."""

    type: Literal["do-nothing"] = "do-nothing"


class _DeploymentAction(_Action):
    source: Source = "selected"
    """`selected`: `deployment` (or `deployment_id`) names it; `inferred`: the event's."""
    deployment_id: str | None = None
    """The deployment's name (Prefect's field; tarry's deployments are named)."""
    deployment: str | None = None
    """The deployment's name."""

    @pydantic.model_validator(mode="after")
    def _target(self) -> _DeploymentAction:
        given = {"deployment": self.deployment, "deployment_id": self.deployment_id}
        _check_source(self.source, given, "deployment")
        return self

    @property
    def deployment_name(self) -> str | None:
        """The deployment named, None when it is inferred."""
        return self.deployment or self.deployment_id


class RunDeployment(_DeploymentAction):
    """Start a run of a deployment, with `parameters` (templated) over its defaults."""

    type: Literal["run-deployment"] = "run-deployment"
    parameters: dict[str, Any] | None = None
    """The run's parameters; None: the deployment's. String values are templated."""
    job_variables: dict[str, Any] | None = None
    """Accepted for Prefect's documents; tarry's workers take no job variables."""


class PauseDeployment(_DeploymentAction):
    """Pause a deployment's schedules."""

    type: Literal["pause-deployment"] = "pause-deployment"


class ResumeDeployment(_DeploymentAction):
    """Resume a deployment's schedules."""

    type: Literal["resume-deployment"] = "resume-deployment"


class _FlowRunAction(_Action):
    source: Source = "inferred"
    """`inferred` (the default, as Prefect): the triggering event's run; `selected`: by id."""
    flow_run_id: str | None = None
    """The run, by id (or prefix) when `selected`."""

    @pydantic.model_validator(mode="after")
    def _target(self) -> _FlowRunAction:
        _check_source(self.source, {"flow_run_id": self.flow_run_id}, "flow run")
        return self


class CancelFlowRun(_FlowRunAction):
    """Cancel a run."""

    type: Literal["cancel-flow-run"] = "cancel-flow-run"


class SuspendFlowRun(_FlowRunAction):
    """Suspend a run (it leaves memory and resumes from its journal)."""

    type: Literal["suspend-flow-run"] = "suspend-flow-run"


class ResumeFlowRun(_FlowRunAction):
    """Resume a paused or suspended run (as answering its wait with no input)."""

    type: Literal["resume-flow-run"] = "resume-flow-run"


class ChangeFlowRunState(_FlowRunAction):
    """Put a run in `state` (Prefect's state types, any case), with `message` as the reason."""

    type: Literal["change-flow-run-state"] = "change-flow-run-state"
    state: str
    """The state: `CANCELLED`, `FAILED`, `COMPLETED`, `CRASHED`, `PENDING`, `SCHEDULED`, ..."""
    name: str | None = None
    """Accepted for Prefect's documents; the state's name is its type in tarry."""
    message: str | None = None
    """The reason the run shows (templated)."""

    @pydantic.field_validator("state", mode="after")
    @classmethod
    def _state(cls, value: str) -> str:
        state = _STATES.get(value.upper())
        if state is None:
            raise ValueError(f"`state` must be one of {', '.join(sorted(_STATES))}, not {value!r}")
        return state


class SendInput(_FlowRunAction):
    """Send `value` (templated) to a run as a message (`tarry.send_input`).

    The message key is `key` when given, else one made from the firing, so a retried
    action never sends twice.
    """

    type: Literal["send-input"] = "send-input"
    value: Any = None
    """What to send; strings in it are templated."""
    key: str | None = None
    """The message key (templated); default: `automation-<firing>-<index>`."""


class SendNotification(_Action):
    """Mail `to` (addresses) and POST to `webhook` (a Slack-compatible URL).

    Prefect's `block_document_id` is refused: give `to` or `webhook`.
    """

    type: Literal["send-notification"] = "send-notification"
    to: list[str] = pydantic.Field(default_factory=list)
    """Mail addresses, or http(s) URLs of Slack-compatible webhooks."""
    webhook: str | None = None
    """A Slack-compatible webhook URL."""
    subject: str = "tarry automated notification"
    """The subject (templated)."""
    body: str
    """The text (templated)."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_block(cls, data: Any) -> Any:
        data = _refuse_blocks(data, "`to` (mail addresses) or `webhook` (a URL)")
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            return {**data, "to": [data["to"]]}
        return data

    @pydantic.model_validator(mode="after")
    def _someone(self) -> SendNotification:
        if not self.to and not self.webhook:
            raise ValueError("a notification needs `to` (mail addresses) or `webhook` (a URL)")
        for each in [*self.to, *([self.webhook] if self.webhook else [])]:
            if "@" not in each and not each.startswith(("https://", "http://")):
                raise ValueError(f"{each!r} is neither a mail address nor an http(s) URL")
        return self


class CallWebhook(_Action):
    """Call `url` with `payload` (templated; JSON text is sent as JSON).

    Prefect's `block_document_id` is refused: give `url`.
    """

    type: Literal["call-webhook"] = "call-webhook"
    url: str
    """The URL (templated)."""
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    """The HTTP method."""
    headers: dict[str, str] = pydantic.Field(default_factory=dict)
    """Extra request headers."""
    payload: str = ""
    """The body (templated)."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_block(cls, data: Any) -> Any:
        return _refuse_blocks(data, "`url`")

    @pydantic.field_validator("url", mode="after")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://", "{{")):
            raise ValueError(f"`url` must be an http(s) URL, not {value!r}")
        return value


class _WorkPoolAction(_Action):
    source: Source = "selected"
    """`selected`: `work_pool` (or `work_pool_id`) names it; `inferred`: the event's."""
    work_pool_id: str | None = None
    """The pool's name (Prefect's field)."""
    work_pool: str | None = None
    """The pool's name."""

    @pydantic.model_validator(mode="after")
    def _target(self) -> _WorkPoolAction:
        given = {"work_pool": self.work_pool, "work_pool_id": self.work_pool_id}
        _check_source(self.source, given, "work pool")
        return self

    @property
    def pool_name(self) -> str | None:
        """The pool named, None when it is inferred."""
        return self.work_pool or self.work_pool_id


class PauseWorkPool(_WorkPoolAction):
    """Pause a work pool: its runs stay queued."""

    type: Literal["pause-work-pool"] = "pause-work-pool"


class ResumeWorkPool(_WorkPoolAction):
    """Resume a work pool."""

    type: Literal["resume-work-pool"] = "resume-work-pool"


class _WorkQueueAction(_Action):
    source: Source = "selected"
    """`selected`: `work_queue` (`<pool>/<queue>`, or `work_queue_id`); `inferred`: the event's."""
    work_queue_id: str | None = None
    """The queue as `<pool>/<queue>` (Prefect's field)."""
    work_queue: str | None = None
    """The queue as `<pool>/<queue>`."""

    @pydantic.model_validator(mode="after")
    def _target(self) -> _WorkQueueAction:
        given = {"work_queue": self.work_queue, "work_queue_id": self.work_queue_id}
        _check_source(self.source, given, "work queue")
        named = self.queue_name
        if named is not None and "/" not in named:
            raise ValueError(f"name the queue as `<pool>/<queue>`, not {named!r}")
        return self

    @property
    def queue_name(self) -> str | None:
        """`<pool>/<queue>`, None when it is inferred."""
        return self.work_queue or self.work_queue_id


class PauseWorkQueue(_WorkQueueAction):
    """Pause a work queue."""

    type: Literal["pause-work-queue"] = "pause-work-queue"


class ResumeWorkQueue(_WorkQueueAction):
    """Resume a work queue."""

    type: Literal["resume-work-queue"] = "resume-work-queue"


class _AutomationAction(_Action):
    source: Source = "selected"
    """`selected`: `automation` (or `automation_id`); `inferred`: the event's, or this one."""
    automation_id: str | None = None
    """The automation's id or name (Prefect's field)."""
    automation: str | None = None
    """The automation's name or id."""

    @pydantic.model_validator(mode="after")
    def _target(self) -> _AutomationAction:
        given = {"automation": self.automation, "automation_id": self.automation_id}
        _check_source(self.source, given, "automation")
        return self

    @property
    def automation_name(self) -> str | None:
        """The automation named, None when it is inferred."""
        return self.automation or self.automation_id


class PauseAutomation(_AutomationAction):
    """Disable an automation."""

    type: Literal["pause-automation"] = "pause-automation"


class ResumeAutomation(_AutomationAction):
    """Enable an automation."""

    type: Literal["resume-automation"] = "resume-automation"


ActionTypes = Annotated[
    DoNothing
    | RunDeployment
    | PauseDeployment
    | ResumeDeployment
    | CancelFlowRun
    | SuspendFlowRun
    | ResumeFlowRun
    | ChangeFlowRunState
    | SendInput
    | SendNotification
    | CallWebhook
    | PauseWorkPool
    | ResumeWorkPool
    | PauseWorkQueue
    | ResumeWorkQueue
    | PauseAutomation
    | ResumeAutomation,
    pydantic.Field(discriminator="type"),
]
"""Any action, told apart by its JSON `type`."""
