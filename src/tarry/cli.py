"""The `tarry` command line.

Errors end the command with a non-zero exit and one line saying what went wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tarry import config, errors, host, loader, serialization, service, worker
from tarry.definitions import Flow
from tarry.states import RunState
from tarry.storage import base

__all__ = ["app", "main"]

app = typer.Typer(
    name="tarry",
    help="Durable, human-in-the-loop workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect runs.", no_args_is_help=True)
inputs_app = typer.Typer(help="Inputs runs are waiting for.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(inputs_app, name="inputs")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def _parse_params(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if as_json:
        try:
            loaded = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise _fail(f"--params is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise _fail("--params must be a JSON object such as '{\"n\": 3}'")
        params.update(loaded)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise _fail(f"--param {pair!r} must look like name=value")
        try:
            params[name] = json.loads(text)
        except json.JSONDecodeError:
            params[name] = text
    return params


def _load_flow(entrypoint: str) -> Flow[..., Any]:
    if os.getcwd() not in sys.path:
        # As `python -m` does: flows in the working folder are importable.
        sys.path.insert(0, os.getcwd())
    obj = loader.load_object(entrypoint)
    if not isinstance(obj, Flow):
        raise errors.FlowLoadError(f"{entrypoint} is a {type(obj).__name__}, not a @flow")
    return obj


@app.command("run")
def run_command(
    entrypoint: Annotated[str, typer.Argument(help="module:flow or path/to/file.py:flow")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="name=value (value read as JSON if it parses)"),
    ] = None,
    params: Annotated[str | None, typer.Option(help="All parameters as a JSON object")] = None,
) -> None:
    """Run a flow in this process and print its result as JSON."""
    try:
        flow = _load_flow(entrypoint)
        values = flow.validate_parameters(_parse_params(param or [], params))
        result = asyncio.run(flow(**values)) if flow.is_async else flow(**values)
    except errors.TarryError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the flow's own error, already stored with its run
        raise _fail(f"the flow failed: {type(exc).__name__}: {exc}") from None
    out.print_json(serialization.dumps(result))


@app.command("worker")
def worker_command(
    burst: Annotated[bool, typer.Option(help="Exit once no run is left to execute")] = False,
    max_runs: Annotated[int, typer.Option(min=1, help="Runs executed at once")] = 8,
) -> None:
    """Execute runs that need a process, including runs whose process died."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    hst = host.get_host()
    err.print(f"tarry worker {hst.owner} on {hst.settings.resolved_database_url}", highlight=False)
    runner = worker.Worker(hst, max_runs=max_runs)
    try:
        runner.run(burst=burst)
    except KeyboardInterrupt:
        err.print("stopping after the runs in progress")
        runner.stop()
    finally:
        hst.close()


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: base.RunRecord) -> str:
    if run.started_at is None:
        return "-"
    end = run.ended_at or dt.datetime.now().timestamp()
    return f"{end - run.started_at:.3f}s"


@runs_app.command("ls")
def runs_ls(
    state: Annotated[list[RunState] | None, typer.Option(help="Only runs in this state")] = None,
    flow: Annotated[str | None, typer.Option(help="Only runs of this flow")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """List runs, newest first."""
    runs = service.list_runs(states=state or (), flow_name=flow, limit=limit)
    table = Table("id", "name", "flow", "state", "started", "duration")
    for run in runs:
        table.add_row(
            run.id[:8],
            run.name,
            run.flow_name,
            run.state.value,
            _when(run.started_at),
            _duration(run),
        )
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run's id, or the start of it")],
) -> None:
    """Show a run: state, parameters, result, steps, logs."""
    try:
        detail = service.get_run_detail(run_id)
    except errors.RunNotFound as exc:
        raise _fail(str(exc)) from None
    run = detail.run
    out.print(
        f"[bold]{run.name}[/] ({run.id}) flow [bold]{run.flow_name}[/]: {run.state.value}"
        + (f" - {run.state_reason}" if run.state_reason else ""),
        highlight=False,
    )
    out.print(f"parameters: {run.parameters}", highlight=False, markup=False)
    if run.result is not None:
        out.print(f"result: {run.result}", highlight=False, markup=False)
    steps = Table("key", "step", "kind", "status", "attempts", "duration", title="steps")
    for step in detail.steps:
        steps.add_row(
            step.key,
            step.name,
            step.kind.value,
            step.status.value,
            str(step.attempts),
            f"{step.ended_at - step.started_at:.3f}s",
        )
    out.print(steps)
    for log in detail.logs:
        out.print(f"{_when(log.at)} {log.message}", highlight=False, markup=False)


@inputs_app.command("ls")
def inputs_ls(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List open inputs across runs, oldest first."""
    try:
        waits = service.list_pending_inputs(run_id, limit=limit)
    except errors.TarryError as exc:
        raise _fail(str(exc)) from None
    table = Table("run", "name", "waiting since", "deadline", "asks for")
    for wait in waits:
        table.add_row(
            wait.run_id[:8],
            wait.name,
            _when(wait.created_at),
            _when(wait.deadline),
            _asks_for(wait),
        )
    out.print(table)


def _asks_for(wait: base.WaitRecord) -> str:
    if wait.spec is None:
        return "a go-ahead (no input)"
    schema = json.loads(wait.spec).get("schema", {})
    return ", ".join(schema.get("properties", {})) or "-"


@app.command("resume")
def resume_command(
    run_id: Annotated[str, typer.Argument(help="The run's id, or the start of it")],
    input_json: Annotated[
        str | None,
        typer.Option("--input", "-i", help="The answer as JSON; omit to accept defaults"),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="The wait's name, if it waits for several")
    ] = None,
    responder: Annotated[str | None, typer.Option(help="Who answers")] = None,
) -> None:
    """Answer a run's wait; the answer is validated before it is accepted."""
    try:
        data = json.loads(input_json) if input_json is not None else None
    except json.JSONDecodeError as exc:
        raise _fail(f"--input is not valid JSON: {exc}") from None
    try:
        submitted = service.submit_input(run_id, data, key=key, responder=responder, channel="cli")
    except errors.InputInvalid as exc:
        for problem in exc.field_errors:
            err.print(f"  {problem.field or 'input'}: {problem.message}", highlight=False)
        raise _fail("the answer was refused; the run keeps waiting") from None
    except errors.TarryError as exc:
        raise _fail(str(exc)) from None
    if submitted.wait is None:
        out.print(f"kept for {key!r}: the run will use it when it gets there", highlight=False)
    else:
        out.print(
            f"answered {submitted.wait.name!r} of run {submitted.wait.run_id}", highlight=False
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations this version of tarry needs."""
    settings = config.Settings.from_env()
    try:
        host.Host(settings).store.migrate()
    except errors.TarryError as exc:
        raise _fail(str(exc)) from None
    out.print(f"database up to date: {settings.resolved_database_url}", highlight=False)


def main() -> None:
    """Entry point of the `tarry` command."""
    try:
        app()
    except errors.TarryError as exc:
        err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(1)
