"""Deployments: flows registered by name, so runs of them can be started by name.

A server registers the flows it serves; the API, the UI, the CLI and the client
start runs of them by deployment name (`flow-name/deployment-name`) and the
worker that has the code executes them.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from typing import Any

import pydantic

from tarry import errors, host, serialization
from tarry.definitions import Flow
from tarry.storage import base

__all__ = ["deploy", "deployment_name", "load_flow", "parameter_schema"]


def deployment_name(flow: Flow[..., Any], name: str | None = None) -> str:
    """The full name of `flow`'s deployment `name` (the flow's name when omitted)."""
    return f"{flow.name}/{name or flow.name}"


def deploy(
    flow: Flow[..., Any],
    name: str | None = None,
    *,
    parameters: dict[str, Any] | None = None,
    description: str | None = None,
    tags: tuple[str, ...] = (),
    hst: host.Host | None = None,
) -> base.DeploymentRecord:
    """Register `flow` so that runs of it can be started by name.

    Args:
        flow: The flow.
        name: The deployment's own name; the flow's name when omitted.
        parameters: Default parameters of its runs.
        description: Markdown shown with it; the flow's docstring when omitted.
        tags: Tags of the deployment.
        hst: The host; this process's by default.

    Returns:
        The deployment as stored.

    Raises:
        errors.ParameterError: The default parameters do not fit the flow.
    """
    hst = hst or host.get_host()
    defaults = flow.validate_parameters(dict(parameters or {}))
    now = time.time()
    record = base.DeploymentRecord(
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
    return hst.store.put_deployment(record)


def parameter_schema(flow: Flow[..., Any]) -> dict[str, Any]:
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


def load_flow(deployment: base.DeploymentRecord) -> Flow[..., Any]:
    """The flow of a deployment, imported from its entrypoint.

    Raises:
        errors.FlowLoadError: This process cannot import it.
    """
    from tarry import loader  # noqa: PLC0415 - imports user code, only when starting runs

    found = loader.load_object(deployment.entrypoint)
    if not isinstance(found, Flow):
        raise errors.FlowLoadError(f"{deployment.entrypoint} is not a @flow")
    return found
