"""`tarry server`: deploy flows, then serve the API, the UI and an embedded worker.

`create_app(hst)` is the server's ASGI application: the HTTP app of `tarry.web.app`
with a lifespan that runs, while it is up, the watcher, the scheduler, the mail receivers the
settings ask for, and an embedded worker that executes the runs started through the
API and UI, and every run that needs a process, in this process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from tarry import automation_runtime, deployments, errors, host, loader, scheduler, service
from tarry.engine import spec, watcher
from tarry.replies import receivers
from tarry.states import RunState
from tarry.storage import records
from tarry.web import app as web_app
from tarry.worker import Worker

__all__ = [
    "create_app",
    "deploy_entrypoints",
    "listening_socket",
    "missing_parameters",
    "serve",
    "start_demo_runs",
]

logger = logging.getLogger("tarry.server")

_UNFINISHED = (RunState.PENDING, RunState.RUNNING, RunState.WAITING, RunState.SCHEDULED)


def create_app(hst: host.Host | None = None, *, worker: bool = True, max_runs: int = 8) -> FastAPI:
    """The server application for `hst` (this process's host by default).

    Args:
        hst: The host whose store it serves.
        worker: Run an embedded worker while the app is up.
        max_runs: How many runs the embedded worker executes at once.
    """
    hst = hst or host.get_host()
    return web_app.build_app(hst, lifespan=_lifespan(hst, max_runs if worker else 0))


def _lifespan(hst: host.Host, max_runs: int) -> web_app.Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher.ensure_watcher(hst)
        scheduler.ensure_scheduler(hst)
        automation_runtime.ensure_automations(hst)
        stop_receivers = receivers.start_mail_receivers(hst)
        embedded = Worker(hst, max_runs=max_runs) if max_runs > 0 else None
        thread = None
        if embedded is not None:
            thread = threading.Thread(target=embedded.run, name="tarry-server-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            if embedded is not None and thread is not None:
                # Waiting runs leave memory (they resume by replay in any process),
                # so stopping does not wait for people to answer; runs in progress
                # are handed back after the grace period.
                embedded.shutdown(hst.settings.shutdown_grace_seconds)
                thread.join(timeout=hst.settings.shutdown_grace_seconds)
            for stop in stop_receivers:
                stop()

    return lifespan


def deploy_entrypoints(
    hst: host.Host, entrypoints: Iterable[str]
) -> list[records.DeploymentRecord]:
    """Import each `path/to/file.py:flow` (or `module:flow`) and register it as a deployment.

    Each is named after its file or module: `flow-name/file-name`.

    Raises:
        errors.FlowLoadError: An entrypoint cannot be imported or is not a flow.
    """
    loader.add_working_folder()
    deployed = []
    for entrypoint in entrypoints:
        found = spec.load_flow(entrypoint)
        deployed.append(deployments.deploy(found, _name_of(entrypoint), hst=hst))
    return deployed


def _name_of(entrypoint: str) -> str:
    """`examples/finance/challenge_4.py:train_model` is deployed as `train-model/challenge-4`."""
    where = entrypoint.rpartition(":")[0]
    stem = Path(where).stem if where.endswith(".py") else where.rpartition(".")[2]
    return stem.replace("_", "-")


def start_demo_runs(
    hst: host.Host, deployed: Iterable[records.DeploymentRecord]
) -> list[records.RunRecord]:
    """Start one run of each deployment that has no unfinished run, so a new user sees one.

    A deployment whose flow needs parameters it has no default for is left out
    (see `missing_parameters`): its runs are started with parameters, by the API or
    a script.
    """
    started = []
    for deployment in deployed:
        if missing_parameters(deployment):
            continue
        busy = service.list_runs(
            states=_UNFINISHED, flow_name=deployment.flow_name, limit=500, hst=hst
        )
        if all(run.entrypoint != deployment.entrypoint for run in busy):
            started.append(service.start_run(deployment.name, hst=hst))
    return started


def missing_parameters(deployment: records.DeploymentRecord) -> list[str]:
    """The flow's required parameters the deployment gives no default for."""
    required = json.loads(deployment.parameter_schema).get("required", [])
    defaults = json.loads(deployment.parameters)
    return [name for name in required if name not in defaults]


def listening_socket(bind: str, port: int) -> socket.socket:
    """A socket bound to `bind:port`, so a server that cannot listen says so before it starts.

    Raises:
        errors.ConfigurationError: The port is in use, the address is not this machine's,
            or the port needs privileges; the message says what to do.
    """
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port a stopped server left in TIME_WAIT is free to take again.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
    except OSError as exc:
        sock.close()
        raise errors.ConfigurationError(_cannot_listen(bind, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def _cannot_listen(bind: str, port: int, exc: OSError) -> str:
    where = f"{bind}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is in use (another tarry server?);"
            " stop that process or choose another port with --port or TARRY_SERVER_PORT"
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: ports below 1024 need privileges; choose a higher one"
    reason = exc.strerror or str(exc)
    return (
        f"cannot listen on {where}: {reason}; use an address of this machine"
        " with --host or TARRY_SERVER_HOST (127.0.0.1, or 0.0.0.0 for every interface)"
    )


def serve(
    hst: host.Host,
    *,
    bind: str,
    port: int,
    max_runs: int = 8,
    sock: socket.socket | None = None,
) -> None:
    """Serve the API, the UI and an embedded worker (of `max_runs`; 0: none) until interrupted.

    Args:
        hst: The host whose store and settings the server uses.
        bind: The address to listen on.
        port: The port to listen on.
        max_runs: Runs the embedded worker executes at once; 0: no worker.
        sock: A socket already bound (by `listening_socket`) to `bind:port`.
    """
    app = create_app(hst, worker=max_runs > 0, max_runs=max_runs)
    config = uvicorn.Config(
        app,
        host=bind,
        port=port,
        log_level="warning",
        lifespan="on",
        # SIGTERM or Ctrl-C: requests in flight get this long, then the app stops.
        timeout_graceful_shutdown=max(1, round(hst.settings.shutdown_grace_seconds)),
    )
    uvicorn.Server(config).run(sockets=[sock or listening_socket(bind, port)])
