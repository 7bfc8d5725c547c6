"""The `tarry` command line.

Errors end the command with a non-zero exit and one line saying what went wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
import time
from typing import Annotated, Any

import typer
import typer.main
from rich import markup
from rich.table import Column, Table
from typer._click import exceptions as click_errors  # typer 0.29 bundles click: its errors

from tarry import _version, config, errors, host, loader, serialization, service, work_pools, worker
from tarry.cli import automations as automation_commands
from tarry.cli import deployments
from tarry.cli import events as event_commands
from tarry.cli import limits as limit_commands
from tarry.cli import pools as pool_commands
from tarry.cli import webhooks as webhook_commands
from tarry.cli.output import AS_JSON, err, fail, out, parse_params, print_json
from tarry.definitions import Flow
from tarry.engine import spec
from tarry.states import RunState
from tarry.storage import records
from tarry.web import schemas

__all__ = ["app", "main"]

app = typer.Typer(
    name="tarry",
    help="Durable, human-in-the-loop workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect, cancel and retry runs.", no_args_is_help=True)
inputs_app = typer.Typer(help="Inputs runs are waiting for.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(inputs_app, name="inputs")
app.add_typer(db_app, name="db")
app.add_typer(deployments.app, name="deployment")
app.add_typer(pool_commands.pool_app, name="work-pool")
app.add_typer(pool_commands.queue_app, name="work-queue")
app.add_typer(limit_commands.gcl_app, name="global-concurrency-limit")
app.add_typer(limit_commands.gcl_app, name="gcl", help="Alias of global-concurrency-limit.")
app.add_typer(limit_commands.tag_app, name="concurrency-limit")
app.add_typer(event_commands.events_app, name="events")
app.add_typer(webhook_commands.app, name="webhook")
app.add_typer(automation_commands.app, name="automation")


def _print_version(asked: bool) -> None:
    if asked:
        print(f"tarry {_version.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Durable, human-in-the-loop workflows."""


def _load_flow(entrypoint: str) -> Flow[..., Any]:
    loader.add_working_folder()
    return spec.load_flow(entrypoint, Flow)


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
        values = flow.validate_parameters(parse_params(param or [], params))
        result = asyncio.run(flow(**values)) if flow.is_async else flow(**values)
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the flow's own error, already stored with its run
        raise fail(f"the flow failed: {type(exc).__name__}: {exc}") from None
    out.print_json(serialization.dumps(result))


@app.command("worker")
def worker_command(
    burst: Annotated[bool, typer.Option(help="Exit once no run is left to execute")] = False,
    max_runs: Annotated[int, typer.Option(min=1, help="Runs executed at once")] = 8,
    pool: Annotated[
        str, typer.Option("--pool", "-p", help="The work pool it serves (made when missing)")
    ] = work_pools.DEFAULT_POOL,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue", "-q", help="A queue of the pool it serves (repeatable); all when omitted"
        ),
    ] = None,
) -> None:
    """Execute runs that need a process, including runs whose process died.

    It serves one work pool: the Pending runs of its queues (or of the queues
    named) start by queue priority, then age, within the concurrency limits.
    Ctrl-C or SIGTERM stops it: runs in progress get TARRY_SHUTDOWN_GRACE_SECONDS to
    finish, then are handed back (Pending) for any worker to resume.
    """
    loader.add_working_folder()
    hst = host.get_host()
    queues = list(dict.fromkeys(queue or ()))
    try:
        # A name the pool or queue cannot have is one line, before the worker starts.
        for served in queues or [work_pools.DEFAULT_QUEUE]:
            work_pools.ensure_work_queue(pool, served, hst=hst)
    except errors.TarryError as exc:
        hst.close()
        raise fail(str(exc)) from None
    serves = ", ".join(queues) if queues else "all queues"
    err.print(
        f"tarry worker {hst.owner} on {hst.settings.resolved_database_url}, pool {pool} ({serves})",
        highlight=False,
    )
    runner = worker.Worker(hst, max_runs=max_runs, pool=pool, queues=queues)
    # SIGTERM (systemd, Docker, Kubernetes) stops it as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        runner.run(burst=burst)
    except KeyboardInterrupt:
        grace = hst.settings.shutdown_grace_seconds
        err.print(f"stopping: the runs in progress have {grace:g} s to finish")
        if handed := runner.shutdown(grace):
            err.print(f"handed back {len(handed)} run(s) for any worker to resume")
    finally:
        hst.close()


@app.command("server")
def server_command(
    deploy: Annotated[
        list[str] | None,
        typer.Option(help="Flow to deploy, path/to/file.py:flow or module:flow (repeatable)"),
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="Start one run of each deployed flow that has no unfinished run")
    ] = False,
    bind: Annotated[
        str | None, typer.Option("--host", help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 4300]")] = None,
    max_runs: Annotated[
        int,
        typer.Option(
            min=0, help="Runs the embedded worker executes at once; 0: none (use tarry worker)"
        ),
    ] = 8,
) -> None:
    """Serve the web UI, the REST API and an embedded worker."""
    from tarry import server  # noqa: PLC0415 - web dependencies only for this command

    hst = host.get_host()
    settings = hst.settings
    address = bind or settings.server_host
    chosen = port if port is not None else settings.server_port
    try:
        # A database or a port the server cannot use is one line, before "listening".
        hst.store  # noqa: B018 - opens and migrates it
        sock = server.listening_socket(address, chosen)
        deployed = server.deploy_entrypoints(hst, deploy or [])
        started = server.start_demo_runs(hst, deployed) if demo else []
    except errors.TarryError as exc:
        hst.close()
        raise fail(str(exc)) from None
    where = f"http://{address}:{chosen}"
    err.print(f"tarry server on {where}  (API {where}/api, docs {where}/api/docs)")
    err.print(f"database {settings.resolved_database_url}", highlight=False)
    for deployment in deployed:
        err.print(f"deployed {deployment.name}", highlight=False)
    for run in started:
        err.print(f"started {run.name} ({run.id}) of {run.flow_name}", highlight=False)
    for deployment in deployed if demo else []:
        if missing := server.missing_parameters(deployment):
            needs = ", ".join(missing)
            err.print(f"no demo run of {deployment.name}: it needs {needs}", highlight=False)
    try:
        server.serve(hst, bind=address, port=chosen, max_runs=max_runs, sock=sock)
    finally:
        hst.close()


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: records.RunRecord) -> str:
    if run.started_at is None:
        return "-"
    end = run.ended_at or dt.datetime.now().timestamp()
    return f"{end - run.started_at:.3f}s"


@runs_app.command("ls")
def runs_ls(
    state: Annotated[list[RunState] | None, typer.Option(help="Only runs in this state")] = None,
    flow: Annotated[str | None, typer.Option(help="Only runs of this flow")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List runs, newest first."""
    runs = service.list_runs(states=state or (), flow_name=flow, limit=limit)
    if as_json:
        now = time.time()
        print_json([schemas.RunOut.of(run, now) for run in runs])
        return
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
    run_id: Annotated[str, typer.Argument(help="The run's id, the start of it, or its name")],
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Show a run: state, parameters, result, steps, logs."""
    try:
        detail = service.get_run_detail(run_id)
    except errors.RunNotFound as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(schemas.RunDetailOut.of(detail, time.time()))
        return
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
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List open inputs across runs, oldest first."""
    try:
        items = service.list_inbox(run_id, limit=limit)
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json([schemas.InputOut.of_item(item) for item in items])
        return
    # Folded, not cut with an ellipsis: a narrow terminal still shows whole names.
    headers = ("run", "flow", "wait", "waiting since", "deadline", "asks for")
    table = Table(*(Column(header, overflow="fold") for header in headers))
    for item in items:
        table.add_row(
            f"{item.run.name} ({item.run.id[:8]})",
            item.run.flow_name,
            item.wait.name,
            _when(item.wait.created_at),
            _when(item.wait.deadline),
            _asks_for(item.wait),
        )
    out.print(table)


def _asks_for(wait: records.WaitRecord) -> str:
    if wait.spec is None:
        return "a go-ahead (no input)"
    schema = json.loads(wait.spec).get("schema", {})
    return ", ".join(schema.get("properties", {})) or "-"


@runs_app.command("cancel")
def runs_cancel(
    run_id: Annotated[str, typer.Argument(help="The run's id, the start of it, or its name")],
) -> None:
    """Cancel a run and its child runs; a waiting run's open waits close."""
    try:
        run = service.cancel_run(run_id, by="cli")
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(f"cancelled run {run.name} ({run.id})", highlight=False, markup=False)


@runs_app.command("retry")
def runs_retry(
    run_id: Annotated[str, typer.Argument(help="The run's id, the start of it, or its name")],
) -> None:
    """Continue a Failed or Crashed run from its journal: finished steps are not run again."""
    try:
        run = service.retry_run(run_id, by="cli")
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"retried run {run.name} ({run.id}): attempt {run.attempt}, Pending for a worker",
        highlight=False,
        markup=False,
    )


@runs_app.command("rerun")
def runs_rerun(
    run_id: Annotated[str, typer.Argument(help="The run's id, the start of it, or its name")],
) -> None:
    """Start a new run of the same flow with the same parameters."""
    try:
        run = service.rerun(run_id)
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(f"started run {run.name} ({run.id}), Pending for a worker", highlight=False)


@app.command("send")
def send_command(
    run_id: Annotated[
        str, typer.Argument(help="The receiving run's id, the start of it, or its name")
    ],
    value: Annotated[str, typer.Argument(help="What to send; read as JSON when it parses")],
    key: Annotated[
        str | None, typer.Option(help="Unique per run: a key sent before is ignored")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Who sends it")] = None,
) -> None:
    """Send a message to a run, which gets it from `receive_input`."""
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        data = value
    try:
        sent = service.send_message(run_id, data, key=key, sender=sender or "cli")
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"sent {sent.key} to run {sent.run_id} ({sent.status})", highlight=False, markup=False
    )


@app.command("resume")
def resume_command(
    run_id: Annotated[str, typer.Argument(help="The run's id, the start of it, or its name")],
    *,
    input_json: Annotated[
        str | None,
        typer.Option("--input", "-i", help="The answer as JSON; omit to accept defaults"),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="field=value, repeatable (value read as JSON if it parses, except that a "
            "string field keeps the text); merged over --input",
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="The wait's name, if it waits for several")
    ] = None,
    responder: Annotated[str | None, typer.Option(help="Who answers")] = None,
    ahead: Annotated[
        bool,
        typer.Option(help="Keep the answer for a --key wait the run has not reached yet"),
    ] = False,
) -> None:
    """Answer a run's wait; the answer is validated before it is accepted."""
    try:
        if key is not None and not ahead:
            _check_open(run_id, key)
        data = _answer_data(input_json, field or [], run_id, key)
        submitted = service.submit_input(run_id, data, key=key, responder=responder, channel="cli")
    except errors.InputInvalid as exc:
        for problem in exc.field_errors:
            line = f"{problem.field or 'input'}: {problem.message}"
            err.print(line, highlight=False, markup=False, soft_wrap=True)
        raise fail("the answer was refused; the run keeps waiting") from None
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    if submitted.wait is None:
        out.print(f"kept for {key!r}: the run will use it when it gets there", highlight=False)
    else:
        out.print(
            f"answered {submitted.wait.name!r} of run {submitted.wait.run_id}", highlight=False
        )


def _check_open(run_id: str, key: str) -> None:
    """Refuse a `--key` the run does not wait on: a typo must not become an answer kept ahead."""
    run = service.get_run(run_id)
    if run.state.is_final:
        return  # the answer is refused below, with the run's end as the reason
    names = [wait.name for wait in service.list_pending_inputs(run.id)]
    if key not in names:
        listed = ", ".join(repr(name) for name in names) or "none"
        raise fail(
            f"run {run.name} ({run.id}) has no open wait named {key!r} (open: {listed});"
            " pass --ahead to keep the answer for a wait it has not reached yet"
        )


def _answer_data(input_json: str | None, pairs: list[str], run_id: str, key: str | None) -> Any:
    try:
        data = json.loads(input_json) if input_json is not None else None
    except json.JSONDecodeError as exc:
        raise fail(f"--input is not valid JSON: {exc}") from None
    if not pairs:
        return data
    if data is not None and not isinstance(data, dict):
        raise fail("--set adds fields to an object: give --input as a JSON object, or omit it")
    named = [pair.partition("=") for pair in pairs]
    for (name, sep, _text), pair in zip(named, pairs, strict=True):
        if not sep or not name:
            raise fail(f"--set {pair!r} must look like field=value")
    fields = _answer_fields(run_id, key)
    merged: dict[str, Any] = dict(data or {})
    merged.update((name, _field_value(text, fields.get(name))) for name, _sep, text in named)
    return merged


def _answer_fields(run_id: str, key: str | None) -> dict[str, Any]:
    """The JSON Schema of each field of the open wait the answer goes to; `{}` if unknown."""
    waits = [w for w in service.list_pending_inputs(run_id) if key is None or w.name == key]
    if len(waits) != 1 or waits[0].spec is None:
        return {}
    properties = (json.loads(waits[0].spec).get("schema") or {}).get("properties")
    return properties if isinstance(properties, dict) else {}


_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
    list: "array",
    dict: "object",
}


def _field_value(text: str, schema: Any) -> Any:
    """`text` as JSON when it parses, unless the field wants a string and JSON would not be one.

    `code=0123456` for a string field stays the text `"0123456"`, not the number 123456.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    kinds = _schema_types(schema) if isinstance(schema, dict) else set()
    kind = _JSON_TYPES.get(type(value), "")
    fits = kind in kinds or (kind == "integer" and "number" in kinds)
    return text if "string" in kinds and not fits else value


def _schema_types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    kinds = {declared} if isinstance(declared, str) else set(declared or ())
    for part in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]:
        if isinstance(part, dict):
            kinds |= _schema_types(part)
    return kinds


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations this version of tarry needs."""
    settings = config.Settings.from_env()
    try:
        host.Host(settings).store.migrate()
    except errors.TarryError as exc:
        raise fail(str(exc)) from None
    out.print(f"database up to date: {settings.resolved_database_url}", highlight=False)


def main() -> None:
    """Entry point of the `tarry` command.

    A wrong argument (a value that does not parse, an unknown option, a missing
    argument) is one line on stderr and exit status 2, never a usage box; a tarry
    error is one line and exit status 1.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="tarry", standalone_mode=False)
    except errors.TarryError as exc:
        err.print(f"[bold red]Error:[/] {markup.escape(str(exc))}", highlight=False)
        sys.exit(1)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # a group given no command: its help, as before
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        sys.exit(_usage_error(exc))
    except click_errors.ClickException as exc:
        err.print(f"[bold red]Error:[/] {markup.escape(exc.format_message())}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: click_errors.UsageError) -> int:
    path = exc.ctx.command_path if exc.ctx is not None else "tarry"
    reason = " ".join(exc.format_message().split())
    err.print(
        f"[bold red]Error:[/] {markup.escape(reason)} (see `{markup.escape(path)} --help`)",
        highlight=False,
        soft_wrap=True,
    )
    return exc.exit_code
