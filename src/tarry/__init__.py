"""tarry: durable, human-in-the-loop workflows for Python.

A flow is a plain function decorated with `@flow`; every `@task` it calls is a
step recorded in the run's journal, so a crashed or retried run fast-forwards
through finished steps instead of running them again.
"""

from __future__ import annotations

from tarry.context import RunContext
from tarry.context import current_run as get_run_context
from tarry.definitions import Flow, Task, flow, task
from tarry.errors import (
    FlowTimeout,
    NondeterminismError,
    ParameterError,
    RunFailed,
    TarryError,
    TaskTimeout,
)
from tarry.futures import TarryFuture
from tarry.recorded import now, random, uuid4
from tarry.run_logs import get_run_logger
from tarry.states import RunState, StepStatus

__version__ = "0.1.0"

__all__ = [
    "Flow",
    "FlowTimeout",
    "NondeterminismError",
    "ParameterError",
    "RunContext",
    "RunFailed",
    "RunState",
    "StepStatus",
    "TarryError",
    "TarryFuture",
    "Task",
    "TaskTimeout",
    "flow",
    "get_run_context",
    "get_run_logger",
    "now",
    "random",
    "task",
    "uuid4",
]
