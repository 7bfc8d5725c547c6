"""tarry: durable, human-in-the-loop workflows for Python.

A flow is a plain function decorated with `@flow`; every `@task` it calls is a
step recorded in the run's journal, so a crashed or retried run fast-forwards
through finished steps instead of running them again.
"""

from __future__ import annotations

from tarry._version import __version__ as __version__
from tarry.client import get_client
from tarry.definitions import Flow, Task, flow, task
from tarry.engine.context import RunContext
from tarry.engine.context import current_run as get_run_context
from tarry.engine.run_logs import get_run_logger
from tarry.errors import (
    AlreadyAnswered,
    ApprovalRejected,
    FlowTimeout,
    InputInvalid,
    NondeterminismError,
    NotWaiting,
    ParameterError,
    RunFailed,
    TarryError,
    TaskTimeout,
    WaitTimeout,
)
from tarry.futures import TarryFuture
from tarry.mapping import unmapped
from tarry.messaging import asend_input, receive_input, send_input
from tarry.recorded import now, random, uuid4
from tarry.states import RunState, StepStatus
from tarry.waits import (
    apause_flow_run,
    approve,
    aresume_flow_run,
    asuspend_flow_run,
    pause_flow_run,
    resume_flow_run,
    sleep,
    suspend_flow_run,
    wait_any,
    wait_for_input,
)

__all__ = [
    "AlreadyAnswered",
    "ApprovalRejected",
    "Flow",
    "FlowTimeout",
    "InputInvalid",
    "NondeterminismError",
    "NotWaiting",
    "ParameterError",
    "RunContext",
    "RunFailed",
    "RunState",
    "StepStatus",
    "TarryError",
    "TarryFuture",
    "Task",
    "TaskTimeout",
    "WaitTimeout",
    "apause_flow_run",
    "approve",
    "aresume_flow_run",
    "asend_input",
    "asuspend_flow_run",
    "flow",
    "get_client",
    "get_run_context",
    "get_run_logger",
    "now",
    "pause_flow_run",
    "random",
    "receive_input",
    "resume_flow_run",
    "send_input",
    "sleep",
    "suspend_flow_run",
    "task",
    "unmapped",
    "uuid4",
    "wait_any",
    "wait_for_input",
]
