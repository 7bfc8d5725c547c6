"""What each action does, through the doors every interface uses (`service`, `pool_service`).

Each effect returns what it did, in words (the action's `detail`). An effect that finds
its work done already (the run ended, the deployment paused) says so and succeeds:
acting twice changes nothing. One that cannot act raises: a `ValueError` or a tarry
error that a retry cannot mend (no such deployment, a template that does not render)
fails the action at once; any other error is retried (see `automation_runtime.actions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tarry import boundary, deployments, errors, pool_service, service
from tarry.automation_runtime import job as job_module
from tarry.automation_runtime import notifying
from tarry.states import TRANSITIONS, RunState
from tarry.storage import records
from tarry.triggers import actions, targets

__all__ = ["perform"]

Job = job_module.Job
Effect = Callable[[Job, Any], str]


def perform(job: Job) -> str:
    """Do the job's action.

    Returns:
        What was done, in words.

    Raises:
        ValueError: It cannot be done (what is missing, which template failed).
        errors.TarryError: The store or a door refused it.
    """
    return _EFFECTS[type(job.action)](job, job.action)


def _run_id(job: Job, given: str | None) -> str:
    found = given or targets.run_of(job.event)
    if not found:
        raise ValueError("the triggering event names no flow run; give `flow_run_id`")
    return found


def _deployment(job: Job, given: str | None) -> str:
    found = given or targets.deployment_of(job.event)
    if not found:
        raise ValueError("the triggering event names no deployment; give `deployment`")
    return found


def _do_nothing(job: Job, action: actions.DoNothing) -> str:
    return "did nothing, as asked"


def _run_deployment(job: Job, action: actions.RunDeployment) -> str:
    name = _deployment(job, action.deployment_name)
    rendered = job.render(action.parameters) if action.parameters is not None else None
    boundary.check(job.hst.settings, "the parameters", rendered or {})
    run = deployments.start(name, rendered, run_id=job.run_id, hst=job.hst)
    return f"started run {run.name} ({run.id}) of {name}"


def _schedules(active: bool) -> Effect:
    def effect(job: Job, action: actions.PauseDeployment | actions.ResumeDeployment) -> str:
        name = _deployment(job, action.deployment_name)
        changed = service.set_schedule_active(name, None, active, hst=job.hst)
        verb = "resumed" if active else "paused"
        return f"{verb} {len(changed)} schedule(s) of {name}"

    return effect


def _cancel(job: Job, action: actions.CancelFlowRun) -> str:
    run_id = _run_id(job, action.flow_run_id)
    try:
        run = service.cancel_run(run_id, by=job.by, hst=job.hst)
    except errors.RunEnded as ended:
        return f"run {run_id} had ended already ({ended})"
    return f"cancelled run {run.name} ({run.id})"


def _suspend(job: Job, action: actions.SuspendFlowRun) -> str:
    run_id = _run_id(job, action.flow_run_id)
    try:
        run = service.suspend_run(run_id, hst=job.hst)
    except errors.RunEnded as ended:
        return f"run {run_id} had ended already ({ended})"
    return f"suspended run {run.name} ({run.id})"


def _resume(job: Job, action: actions.ResumeFlowRun) -> str:
    run_id = _run_id(job, action.flow_run_id)
    try:
        service.submit_input(run_id, None, responder=job.by, channel="automation", hst=job.hst)
    except (errors.AlreadyAnswered, errors.NotWaiting) as done:
        return f"run {run_id} was not waiting any more ({done})"
    return f"resumed run {run_id}"


def _change_state(job: Job, action: actions.ChangeFlowRunState) -> str:
    run_id = _run_id(job, action.flow_run_id)
    target = RunState(action.state)
    message = job.render(action.message) if action.message else f"set by {job.by}"
    if target is RunState.CANCELLED:
        return _cancel(job, actions.CancelFlowRun(source="selected", flow_run_id=run_id))
    run = service.get_run(run_id, hst=job.hst)
    if run.state is target:
        return f"run {run.id} was {target.value} already"
    allowed = [state for state, into in TRANSITIONS.items() if target in into]
    change = records.StateChange(to_state=target, at=job.hst.clock.now(), reason=str(message))
    if target.is_final:
        change = records.StateChange(target, change.at, change.reason, lease_owner=None)
    changed = job.hst.store.transition(run.id, allowed, change)
    if changed is None:
        raise errors.InvalidTransition(run.id, run.state.value, target.value)
    if target.is_final:
        job.hst.abort([run.id], str(message))
    if target in (RunState.PENDING, RunState.SCHEDULED):
        job.hst.hub.run_ready(run.id)
    return f"run {run.id} is {target.value} now"


def _send_input(job: Job, action: actions.SendInput) -> str:
    run_id = _run_id(job, action.flow_run_id)
    key = job.render(action.key) if action.key else None
    key = str(key) if key else f"automation-{job.firing.id}-{job.index}"
    value = job.render(action.value)
    message = service.send_message(run_id, value, key=key, sender=job.by, hst=job.hst)
    return f"sent input {message.key} to run {message.run_id}"


def _pool(paused: bool) -> Effect:
    def effect(job: Job, action: actions.PauseWorkPool | actions.ResumeWorkPool) -> str:
        name = action.pool_name or targets.work_pool_of(job.event)
        if not name:
            raise ValueError("the triggering event names no work pool; give `work_pool`")
        pool_service.update_work_pool(name, paused=paused, hst=job.hst)
        return f"{'paused' if paused else 'resumed'} work pool {name}"

    return effect


def _queue(paused: bool) -> Effect:
    def effect(job: Job, action: actions.PauseWorkQueue | actions.ResumeWorkQueue) -> str:
        named = action.queue_name or targets.work_queue_of(job.event)
        if not named:
            raise ValueError("the triggering event names no work queue; give `work_queue`")
        pool, _, queue = named.partition("/")
        pool_service.update_work_queue(queue, pool, paused=paused, hst=job.hst)
        return f"{'paused' if paused else 'resumed'} work queue {named}"

    return effect


def _automation(enabled: bool) -> Effect:
    def effect(job: Job, action: actions.PauseAutomation | actions.ResumeAutomation) -> str:
        named = action.automation_name or targets.automation_of(job.event)
        found = job.hst.store.get_automation(named or job.firing.automation_id)
        if found is None:
            raise ValueError(f"no automation has the id or name {named!r}")
        job.hst.store.set_automation_enabled(found.id, enabled, job.hst.clock.now())
        return f"{'enabled' if enabled else 'disabled'} automation {found.name}"

    return effect


_EFFECTS: dict[type, Effect] = {
    actions.DoNothing: _do_nothing,
    actions.RunDeployment: _run_deployment,
    actions.PauseDeployment: _schedules(active=False),
    actions.ResumeDeployment: _schedules(active=True),
    actions.CancelFlowRun: _cancel,
    actions.SuspendFlowRun: _suspend,
    actions.ResumeFlowRun: _resume,
    actions.ChangeFlowRunState: _change_state,
    actions.SendInput: _send_input,
    actions.SendNotification: notifying.send_notification,
    actions.CallWebhook: notifying.call_webhook,
    actions.PauseWorkPool: _pool(paused=True),
    actions.ResumeWorkPool: _pool(paused=False),
    actions.PauseWorkQueue: _queue(paused=True),
    actions.ResumeWorkQueue: _queue(paused=False),
    actions.PauseAutomation: _automation(enabled=False),
    actions.ResumeAutomation: _automation(enabled=True),
}
