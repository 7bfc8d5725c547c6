"""`tarry deployment ...`: list, inspect and run deployments.

A run started here is created Pending: a worker executes it (`tarry server`'s own, or
any `tarry worker` on the same database). `--watch` follows it until it ends and exits
with the run's outcome.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from tarry import errors, service
from tarry.cli.output import AS_JSON, err, fail, out, parse_params, print_json
from tarry.states import RunState
from tarry.storage import records
from tarry.web import schemas

__all__ = ["app"]

app = typer.Typer(
    help="List, inspect, run, pause and resume deployments and their schedules.",
    no_args_is_help=True,
)
schedule_app = typer.Typer(help="Pause and resume a deployment's schedules.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

_WATCH_POLL_SECONDS = 0.2

Name = Annotated[str, typer.Argument(help="The deployment, flow-name/deployment-name")]
SlugArg = Annotated[
    str | None, typer.Argument(help="The schedule (schedule-1, ...); all when omitted")
]


@app.command("ls")
def ls(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List deployments, by name."""
    found = service.list_deployments(limit=limit)
    if as_json:
        print_json([schemas.DeploymentOut.of(d) for d in found])
        return
    table = Table("name", "flow", "entrypoint", "tags")
    for deployment in found:
        tags = ", ".join(deployment.tags)
        table.add_row(deployment.name, deployment.flow_name, deployment.entrypoint, tags)
    out.print(table)


@app.command("inspect")
def inspect(name: Name) -> None:
    """Print a deployment as JSON: its flow, defaults and parameter schema."""
    try:
        deployment = service.get_deployment(name)
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    print_json(schemas.DeploymentOut.of(deployment))


@app.command("run")
def run(
    name: Name,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="name=value (value read as JSON if it parses)"),
    ] = None,
    params: Annotated[str | None, typer.Option(help="All parameters as a JSON object")] = None,
    watch: Annotated[bool, typer.Option(help="Follow the run until it ends")] = False,
) -> None:
    """Start a run of a deployment with these parameters (over its defaults)."""
    values = parse_params(param or [], params)
    try:
        started = service.start_run(name, values)
    except errors.ParameterError as exc:
        for problem in exc.field_errors:
            err.print(f"{problem.field}: {problem.message}", highlight=False, markup=False)
        raise fail(str(exc)) from None
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(f"started run {started.name} ({started.id}) of {name}", highlight=False)
    if watch:
        _follow(started)


def _follow(run: records.RunRecord) -> None:
    """Print each state the run reaches until it ends; exit 1 unless it completed."""
    seen: RunState | None = None
    while True:
        run = service.get_run(run.id)
        if run.state is not seen:
            seen = run.state
            reason = f" - {run.state_reason}" if run.state_reason else ""
            out.print(f"{run.name}: {run.state.value}{reason}", highlight=False, markup=False)
        if run.state.is_final:
            break
        time.sleep(_WATCH_POLL_SECONDS)
    if run.state is not RunState.COMPLETED:
        raise typer.Exit(1)
    out.print(f"result: {run.result}", highlight=False, markup=False)


def _set_schedules(name: str, slug: str | None, active: bool) -> None:
    try:
        changed = service.set_schedule_active(name, slug, active)
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    if not changed:
        raise fail(f"deployment {name!r} has no schedules")
    word = "resumed" if active else "paused"
    for schedule in changed:
        out.print(f"{word} {name} {schedule.slug}", highlight=False, markup=False)


@app.command("pause")
def pause(name: Name) -> None:
    """Pause a deployment: every schedule of it stops making runs (its runs not due are deleted)."""
    _set_schedules(name, None, False)


@app.command("resume")
def resume(name: Name) -> None:
    """Resume a paused deployment: its schedules make runs again from now on."""
    _set_schedules(name, None, True)


@schedule_app.command("pause")
def schedule_pause(name: Name, slug: SlugArg = None) -> None:
    """Pause a schedule: its runs not due yet are deleted, and no more are made."""
    _set_schedules(name, slug, False)


@schedule_app.command("resume")
def schedule_resume(name: Name, slug: SlugArg = None) -> None:
    """Resume a schedule: runs are made again from now on."""
    _set_schedules(name, slug, True)
