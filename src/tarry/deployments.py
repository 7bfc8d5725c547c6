"""Deployments: flows registered by name, so runs of them can be started by name.

A server registers the flows it serves; the API, the UI, the CLI and the client
start runs of them by deployment name (`flow-name/deployment-name`) and the
worker that has the code executes them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

import pydantic

from tarry import errors, event_service, host, serialization, work_pools
from tarry import schedules as scheduling
from tarry.engine import runs, spec, steps
from tarry.states import RunState
from tarry.storage import records

__all__ = [
    "deploy",
    "deployment_name",
    "parameter_schema",
    "put_schedules",
    "run_deployment",
    "start",
]

_STARTED_NAMESPACE = uuid.UUID("9a3c1f4e-2b7d-4c1a-8e5f-6d2b0c9a7e31")
_POLL_SECONDS = 0.05


def deployment_name(flow: spec.FlowSpec[..., Any], name: str | None = None) -> str:
    """The full name of `flow`'s deployment `name` (the flow's name when omitted)."""
    return f"{flow.name}/{name or flow.name}"


def deploy(
    flow: spec.FlowSpec[..., Any],
    name: str | None = None,
    *,
    parameters: dict[str, Any] | None = None,
    description: str | None = None,
    tags: tuple[str, ...] = (),
    schedules: Sequence[scheduling.Schedule] | None = None,
    paused: bool | None = None,
    work_pool_name: str | None = None,
    work_queue_name: str | None = None,
    concurrency_limit: int | work_pools.ConcurrencyLimitConfig | None = None,
    collision_strategy: str | None = None,
    hst: host.Host | None = None,
) -> records.DeploymentRecord:
    """Register `flow` so that runs of it can be started by name (and on schedules).

    Args:
        flow: The flow.
        name: The deployment's own name; the flow's name when omitted.
        parameters: Default parameters of its runs.
        description: Markdown shown with it; the flow's docstring when omitted.
        tags: Tags of the deployment.
        schedules: Its schedules, replacing those it had (`[]`: none); when
            omitted, the schedules it has are kept.
        paused: `True` stores every schedule paused, `False` active; when
            omitted, a schedule stored before keeps its state and a new one
            follows its own `active`.
        work_pool_name: The pool whose workers execute its runs (`default`);
            made, with the queue, when missing.
        work_queue_name: The queue of that pool its runs wait in (`default`).
        concurrency_limit: The most of its runs that hold a slot at once, or a
            `work_pools.ConcurrencyLimitConfig` with its collision strategy.
        collision_strategy: `ENQUEUE` (a run beyond the limit waits, the default)
            or `CANCEL_NEW` (it is cancelled).
        hst: The host; this process's by default.

    Returns:
        The deployment as stored.

    Raises:
        errors.ParameterError: The default parameters, or a schedule's, do not fit the flow.
        errors.WorkPoolRefused: The limit, the strategy or a pool or queue name is not valid.
    """
    hst = hst or host.get_host()
    limit, strategy = work_pools.deployment_limit(concurrency_limit, collision_strategy)
    defaults = dict(parameters or {})
    _check_names(flow, defaults)
    for schedule in schedules or ():
        _check_names(flow, {**defaults, **(schedule.parameters or {})})
    # Made last: a deployment refused for its parameters leaves no pool behind.
    queue = work_pools.ensure_work_queue(
        work_pool_name or work_pools.DEFAULT_POOL,
        work_queue_name or work_pools.DEFAULT_QUEUE,
        hst=hst,
    )
    record = _record(flow, name, defaults, description, tags)
    stored = hst.store.put_deployment(
        dataclasses.replace(
            record,
            work_pool=queue.pool,
            work_queue=queue.name,
            concurrency_limit=limit,
            collision_strategy=strategy,
        )
    )
    if schedules is not None:
        put_schedules(stored.name, schedules, paused=paused, hst=hst)
    what = "created" if stored.created_at == record.created_at else "updated"
    event_service.announce(
        hst,
        f"tarry.deployment.{what}",
        event_service.deployment_resource(stored.name),
        related=[event_service.related("flow", stored.flow_name)],
    )
    return stored


def _record(
    flow: spec.FlowSpec[..., Any],
    name: str | None,
    defaults: dict[str, Any],
    description: str | None,
    tags: tuple[str, ...],
) -> records.DeploymentRecord:
    now = time.time()
    return records.DeploymentRecord(
        name=deployment_name(flow, name),
        flow_name=flow.name,
        entrypoint=flow.entrypoint,
        created_at=now,
        updated_at=now,
        description=description if description is not None else inspect.getdoc(flow.fn) or "",
        parameters=serialization.dumps(defaults),
        parameter_schema=json.dumps(parameter_schema(flow)),
        tags=tags or flow.tags,
    )


def put_schedules(
    name: str,
    found: Sequence[scheduling.Schedule],
    *,
    paused: bool | None = None,
    hst: host.Host | None = None,
) -> list[records.ScheduleRecord]:
    """Make `found` the schedules of deployment `name` (see `deploy`).

    A schedule without a slug is named by its position: `schedule-1`, `schedule-2`, ...
    """
    hst = hst or host.get_host()
    now = hst.clock.now()
    before = {s.slug: s for s in hst.store.list_schedules(name)}
    stored = []
    for position, schedule in enumerate(found, start=1):
        slug = schedule.slug or f"schedule-{position}"
        known = before.get(slug)
        active = schedule.active if known is None else known.active
        stored.append(
            records.ScheduleRecord(
                deployment=name,
                slug=slug,
                schedule=scheduling.to_json(schedule),
                created_at=now,
                updated_at=now,
                active=active if paused is None else not paused,
                parameters=serialization.dumps(schedule.parameters or {}),
                missed=schedule.missed,
                made_until=now,
            )
        )
    return hst.store.put_schedules(name, stored)


def _check_names(flow: spec.FlowSpec[..., Any], defaults: dict[str, Any]) -> None:
    # Defaults may leave parameters out (runs give them); the full set is checked
    # against the signature when a run starts.
    try:
        flow.signature.bind_partial(**defaults)
    except TypeError as exc:
        raise errors.ParameterError(
            f"flow {flow.name!r} has no parameters like these: {exc}", flow_name=flow.name
        ) from None


def parameter_schema(flow: spec.FlowSpec[..., Any]) -> dict[str, Any]:
    """JSON Schema of the flow's parameters, for forms that start a run.

    Parameters whose type has no schema are given as free JSON.
    """
    fields: dict[str, Any] = {}
    for name, param in flow.signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[name] = (annotation, default)
    try:
        with warnings.catch_warnings():
            # Parameter names such as `model_name` are fine here; pydantic warns.
            warnings.simplefilter("ignore")
            model: type[pydantic.BaseModel] = pydantic.create_model("Parameters", **fields)
            return model.model_json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError):
        return {"type": "object", "additionalProperties": True}


def start(
    name: str,
    parameters: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    hst: host.Host | None = None,
) -> records.RunRecord:
    """Create a Pending run of deployment `name`; a worker that has its code executes it.

    Parameters are merged over the deployment's defaults and checked against the
    flow's signature before the run is created. Given `run_id`, starting again is
    a no-op: the run made the first time is returned.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
        errors.FlowLoadError: This process cannot import the deployment's flow.
        errors.ParameterError: The parameters do not fit the flow.
    """
    hst = hst or host.get_host()
    deployment = hst.store.get_deployment(name)
    if deployment is None:
        raise errors.DeploymentNotFound(name)
    flow = spec.load_flow(deployment.entrypoint)
    merged = {**serialization.loads(deployment.parameters), **(parameters or {})}
    params = flow.validate_parameters(merged)
    run = dataclasses.replace(
        runs.new_run(flow, params, None, None, run_id=run_id, state=RunState.PENDING),
        deployment=deployment.name,
        work_pool=deployment.work_pool,
        work_queue=deployment.work_queue,
    )
    if not hst.store.insert_run(run, f"started from deployment {deployment.name}"):
        return hst.store.get_run(run.id) or run
    hst.hub.run_ready(run.id)
    return run


def run_deployment(
    name: str,
    parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    as_subflow: bool = True,
    *,
    hst: host.Host | None = None,
) -> records.RunRecord:
    """Start a run of a deployment and wait for it to end (like Prefect's `run_deployment`).

    Inside a flow the started run's id is recorded in the caller's journal, so a
    replay waits for the same run instead of starting another.

    Args:
        name: The deployment, `flow-name/deployment`.
        parameters: Parameters over the deployment's defaults.
        timeout: Seconds to wait for the run to end; `0` returns at once, `None`
            waits until it ends.
        as_subflow: Accepted for Prefect compatibility; the run is started as a
            top-level run of its own.
        hst: The host; this process's by default.

    Returns:
        The run as it is when it ended or the timeout passed.
    """
    del as_subflow
    hst = hst or host.get_host()
    run_id = steps.record_keyed(
        "tarry.run_deployment",
        lambda key: start(name, parameters, run_id=_started_id(key), hst=hst).id,
    )
    return _until_final(hst, run_id, timeout)


def _started_id(key: str | None) -> str | None:
    # From the journal key: a replay after a crash between creating the run and
    # journaling its id finds the same run instead of starting a second one.
    return None if key is None else str(uuid.uuid5(_STARTED_NAMESPACE, key))


def _until_final(hst: host.Host, run_id: str, timeout: float | None) -> records.RunRecord:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        run = hst.store.get_run(run_id)
        if run is None:
            raise errors.RunNotFound(run_id)
        if run.state.is_final or (deadline is not None and time.monotonic() >= deadline):
            return run
        time.sleep(_POLL_SECONDS)
