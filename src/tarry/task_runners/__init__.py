"""Where submitted tasks run: threads of this process, a Dask cluster or a Ray cluster.

A runner runs the *whole* submitted step in this process: the journal lookup, the
call and the recording of its outcome. A runner that computes elsewhere (Dask, Ray)
sends only the task's own function call away: it installs a remote call for the
step's thread (`remote_call`), which `tarry.steps` uses to invoke the function, so
the journal stays with the flow and a replay never sends a finished task again.
"""

from __future__ import annotations

from tarry.task_runners._dask import DaskTaskRunner
from tarry.task_runners._ray import RayTaskRunner
from tarry.task_runners._remote import (
    RemoteCall,
    RemoteOptions,
    remote_call,
    remote_options,
)
from tarry.task_runners._threads import TaskRunner, ThreadPoolTaskRunner

__all__ = [
    "DaskTaskRunner",
    "RayTaskRunner",
    "RemoteCall",
    "RemoteOptions",
    "TaskRunner",
    "ThreadPoolTaskRunner",
    "remote_call",
    "remote_options",
]
