"""`tarry work-pool`, `tarry work-queue`, `tarry worker --pool` and `tarry deployment
pause|resume`, run as a user would, each in its own process."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from tarry import deployments, host, service, work_pools
from tarry.engine import spec
from tarry.schedules import Cron
from tarry.states import RunState
from tarry.testing import TestHarness
from tests.conftest import ROOT, run_tarry, subprocess_env
from tests.e2e.test_worker_process import tarry_worker, this_process
from tests.polling import until
from tests.processes import SLOW

__all__ = ["this_process"]

SHOUT = f"{ROOT / 'tests' / 'e2e' / 'flows' / 'echo.py'}:shout"
"""A flow that returns its `text` in capitals."""


def _ok(home: Path, *args: str) -> str:
    done = run_tarry(home, *args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip()


def _json(home: Path, *args: str) -> Any:
    return json.loads(_ok(home, *args, "--json"))


def _refused(home: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return run_tarry(home, *args)


def test_make_list_limit_pause_and_delete_pools_and_queues(harness: TestHarness) -> None:
    home, hst = harness.host.settings.home, harness.host
    made = _ok(
        home, "work-pool", "create", "etl", "--concurrency-limit", "3", "--description", "loads"
    )
    assert made == "created work pool etl (running, concurrency limit 3)"
    high = _ok(home, "work-queue", "create", "high", "--pool", "etl", "--priority", "1", "-l", "2")
    assert high == "created work queue high of pool etl (priority 1, concurrency limit 2)"
    low = _ok(home, "work-queue", "create", "low", "-p", "etl")
    assert low == "created work queue low of pool etl (priority 2, concurrency limit none)"

    # Two runs wait in etl/high: no worker serves the pool yet.
    flow = spec.load_flow(SHOUT)
    deployments.deploy(flow, "loads", work_pool_name="etl", work_queue_name="high", hst=hst)
    for text in ("a", "b"):
        service.start_run("shout/loads", {"text": text}, hst=hst)

    pools = {p["name"]: p for p in _json(home, "work-pool", "ls")}
    assert set(pools) == {"default", "etl"}
    assert (pools["etl"]["concurrency_limit"], pools["etl"]["pending"]) == (3, 2)
    assert [q["name"] for q in pools["etl"]["queues"]] == ["default", "high", "low"]
    table = _ok(home, "work-pool", "ls")
    assert [w for w in _row(table, "etl")] == ["etl", "no", "3", "0", "2", "3"]

    etl = _json(home, "work-pool", "inspect", "etl")
    shown = [
        (q["name"], q["priority"], q["concurrency_limit"], q["pending"]) for q in etl["queues"]
    ]
    assert shown == [("default", 1, None, 0), ("high", 1, 2, 2), ("low", 2, None, 0)]
    inspected = _ok(home, "work-pool", "inspect", "etl")
    assert inspected.splitlines()[0] == (
        "work pool etl: running, concurrency limit 3, 0 busy, 2 pending"
    )
    assert _row(inspected, "high") == ["high", "1", "2", "no", "2", "0"]
    queue = _json(home, "work-queue", "inspect", "high", "--pool", "etl")
    assert (queue["work_pool_name"], queue["pending"], queue["busy"]) == ("etl", 2, 0)
    listed = _json(home, "work-queue", "ls", "--pool", "etl")
    assert [q["name"] for q in listed] == ["default", "high", "low"]
    everywhere = _ok(home, "work-queue", "ls")
    assert _row(everywhere, "default")[:2] == ["default", "default"]

    assert _ok(home, "work-pool", "pause", "etl") == "paused work pool etl"
    assert work_pools.get_work_pool("etl", hst=hst).paused
    assert _ok(home, "work-pool", "resume", "etl") == "resumed work pool etl"
    assert not work_pools.get_work_pool("etl", hst=hst).paused
    assert _ok(home, "work-pool", "set-concurrency-limit", "etl", "5") == (
        "work pool etl: concurrency limit 5"
    )
    assert work_pools.get_work_pool("etl", hst=hst).concurrency_limit == 5
    _ok(home, "work-pool", "clear-concurrency-limit", "etl")
    assert work_pools.get_work_pool("etl", hst=hst).concurrency_limit is None
    _ok(home, "work-pool", "update", "etl", "--description", "nightly", "--concurrency-limit", "4")
    pool = work_pools.get_work_pool("etl", hst=hst)
    assert (pool.description, pool.concurrency_limit) == ("nightly", 4)

    assert _ok(home, "work-queue", "pause", "low", "--pool", "etl") == (
        "paused work queue low of pool etl"
    )
    assert work_pools.get_work_queue("low", "etl", hst=hst).paused
    _ok(home, "work-queue", "resume", "low", "--pool", "etl")
    assert not work_pools.get_work_queue("low", "etl", hst=hst).paused
    _ok(home, "work-queue", "set-concurrency-limit", "low", "1", "--pool", "etl")
    assert work_pools.get_work_queue("low", "etl", hst=hst).concurrency_limit == 1
    _ok(home, "work-queue", "clear-concurrency-limit", "low", "--pool", "etl")
    assert work_pools.get_work_queue("low", "etl", hst=hst).concurrency_limit is None
    _ok(home, "work-queue", "update", "low", "-p", "etl", "--priority", "7", "--description", "x")
    changed = work_pools.get_work_queue("low", "etl", hst=hst)
    assert (changed.priority, changed.description) == (7, "x")

    assert _ok(home, "work-queue", "delete", "low", "--pool", "etl") == (
        "deleted work queue low of pool etl"
    )
    assert [q.name for q in work_pools.list_work_queues("etl", hst=hst)] == ["default", "high"]
    assert _ok(home, "work-pool", "delete", "etl") == "deleted work pool etl"
    assert [p.name for p in work_pools.list_work_pools(hst=hst)] == ["default"]
    # Its runs stay, to wait for a pool of that name.
    assert len(service.list_runs(states=[RunState.PENDING], hst=hst)) == 2


def _row(table: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{table}")


def test_every_wrong_argument_exits_non_zero_with_one_line(harness: TestHarness) -> None:
    home, hst = harness.host.settings.home, harness.host
    work_pools.create_work_pool("etl", hst=hst)
    work_pools.create_work_queue("high", "etl", hst=hst)
    cases = {
        ("work-pool", "create", "etl"): "work pool 'etl' exists already",
        ("work-pool", "create", "bad name"): "work pool name 'bad name' is not valid",
        (
            "work-pool",
            "create",
            "x",
            "--concurrency-limit",
            "-1",
        ): "from 0 to 2147483647, or none; got -1",
        ("work-pool", "create", "x", "--concurrency-limit", "3000000000"): "from 0 to 2147483647",
        ("work-pool", "inspect", "nope"): "no work pool named 'nope'",
        ("work-pool", "inspect", "nope", "--json"): "no work pool named 'nope'",
        ("work-pool", "pause", "nope"): "no work pool named 'nope'",
        ("work-pool", "resume", "nope"): "no work pool named 'nope'",
        ("work-pool", "set-concurrency-limit", "nope", "2"): "no work pool named 'nope'",
        (
            "work-pool",
            "set-concurrency-limit",
            "etl",
            "-1",
        ): "from 0 to 2147483647, or none; got -1",
        ("work-pool", "clear-concurrency-limit", "nope"): "no work pool named 'nope'",
        ("work-pool", "update", "etl"): "nothing to change",
        ("work-pool", "update", "nope", "--description", "d"): "no work pool named 'nope'",
        ("work-pool", "update", "etl", "--concurrency-limit", "-2"): "got -2",
        ("work-pool", "delete", "default"): "the default work pool cannot be deleted",
        ("work-pool", "delete", "nope"): "no work pool named 'nope'",
        ("work-queue", "create", "high", "--pool", "etl"): "has a queue named 'high' already",
        ("work-queue", "create", "q", "--pool", "nope"): "no work pool named 'nope'",
        ("work-queue", "create", "q", "-p", "etl", "--priority", "0"): "from 1 to 1000000; got 0",
        ("work-queue", "create", "q", "-p", "etl", "--priority", "2000000"): "from 1 to 1000000",
        ("work-queue", "create", "q", "-p", "etl", "--limit", "-1"): "got -1",
        ("work-queue", "create", "q!", "-p", "etl"): "work queue name 'q!' is not valid",
        ("work-queue", "ls", "--pool", "nope"): "no work pool named 'nope'",
        ("work-queue", "inspect", "nope", "--pool", "etl"): "pool 'etl' has no queue named 'nope'",
        ("work-queue", "inspect", "high"): "pool 'default' has no queue named 'high'",
        ("work-queue", "inspect", "high", "--pool", "nope"): "no work pool named 'nope'",
        ("work-queue", "pause", "nope", "-p", "etl"): "has no queue named 'nope'",
        ("work-queue", "resume", "nope", "-p", "etl"): "has no queue named 'nope'",
        ("work-queue", "set-concurrency-limit", "high", "-3", "-p", "etl"): "got -3",
        ("work-queue", "set-concurrency-limit", "nope", "3", "-p", "etl"): "no queue named 'nope'",
        ("work-queue", "clear-concurrency-limit", "nope", "-p", "etl"): "no queue named 'nope'",
        ("work-queue", "update", "high", "-p", "etl"): "nothing to change",
        (
            "work-queue",
            "update",
            "high",
            "-p",
            "etl",
            "--priority",
            "0",
        ): "from 1 to 1000000; got 0",
        ("work-queue", "update", "nope", "-p", "etl", "--limit", "1"): "no queue named 'nope'",
        ("work-queue", "delete", "default", "-p", "etl"): "default queue cannot be deleted",
        ("work-queue", "delete", "nope", "-p", "etl"): "no queue named 'nope'",
        ("worker", "--pool", "bad name", "--burst"): "work pool name 'bad name' is not valid",
        ("worker", "-p", "etl", "-q", "no/slash", "--burst"): "work queue name 'no/slash'",
        ("deployment", "pause", "nope/nope"): "no deployment named 'nope/nope'",
        ("deployment", "resume", "nope/nope"): "no deployment named 'nope/nope'",
    }
    # Refusals change nothing, so they run side by side: each is a process of its own.
    with cf.ThreadPoolExecutor(4) as threads:
        done = dict(zip(cases, threads.map(lambda a: _refused(home, a), cases), strict=True))
    for args, message in cases.items():
        result = done[args]
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
    # Nothing was made or changed by them.
    assert [p.name for p in work_pools.list_work_pools(hst=hst)] == ["default", "etl"]
    assert [q.name for q in work_pools.list_work_queues("etl", hst=hst)] == ["default", "high"]


def test_an_argument_that_does_not_parse_is_one_line_too(harness: TestHarness) -> None:
    home = harness.host.settings.home
    cases = {
        ("work-pool", "set-concurrency-limit", "etl", "abc"): "Invalid value for 'limit'",
        ("work-pool", "create"): "Missing argument 'name'",
        ("work-pool", "ls", "--bogus"): "No such option: --bogus",
        ("work-pool", "frobnicate"): "No such command 'frobnicate'",
        ("work-queue", "create", "q", "--priority", "high"): "Invalid value for '--priority'",
        ("worker", "--max-runs", "many"): "Invalid value for '--max-runs'",
        ("deployment", "run"): "Missing argument",
    }
    with cf.ThreadPoolExecutor(4) as threads:
        done = dict(zip(cases, threads.map(lambda a: _refused(home, a), cases), strict=True))
    for args, message in cases.items():
        result = done[args]
        assert result.returncode == 2, (args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert message in line, (args, line)
        assert line.startswith("Error: "), line
        assert line.endswith(" --help`)"), line


def test_pausing_a_deployment_pauses_all_its_schedules(harness: TestHarness) -> None:
    home, hst = harness.host.settings.home, harness.host
    flow = spec.load_flow(SHOUT)
    nightly = [Cron("0 2 * * *", parameters={"text": "n"}), Cron("0 3 * * *", slug="late")]
    deployments.deploy(flow, "nightly", parameters={"text": "t"}, schedules=nightly, hst=hst)
    deployments.deploy(flow, "manual", parameters={"text": "t"}, hst=hst)

    paused = _ok(home, "deployment", "pause", "shout/nightly")
    assert paused.splitlines() == ["paused shout/nightly late", "paused shout/nightly schedule-1"]
    assert [s.active for s in service.list_schedules("shout/nightly", hst=hst)] == [False, False]
    resumed = _ok(home, "deployment", "resume", "shout/nightly")
    assert resumed.splitlines() == [
        "resumed shout/nightly late",
        "resumed shout/nightly schedule-1",
    ]
    assert [s.active for s in service.list_schedules("shout/nightly", hst=hst)] == [True, True]

    refused = run_tarry(home, "deployment", "pause", "shout/manual")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "Error: deployment 'shout/manual' has no schedules"


def test_a_worker_of_one_pool_and_queue_runs_only_their_runs(
    tarry_home: Path, this_process: host.Host
) -> None:
    hst = this_process
    flow = spec.load_flow(SHOUT)
    work_pools.create_work_pool("etl", hst=hst)
    for queue in ("high", "low"):
        work_pools.create_work_queue(queue, "etl", hst=hst)
        deployments.deploy(flow, queue, work_pool_name="etl", work_queue_name=queue, hst=hst)
    deployments.deploy(flow, "elsewhere", hst=hst)
    # The runs it must leave alone are older: by age alone they would go first.
    left = [
        service.start_run("shout/elsewhere", {"text": "default pool"}, hst=hst),
        service.start_run("shout/low", {"text": "other queue"}, hst=hst),
    ]
    served = service.start_run("shout/high", {"text": "served"}, hst=hst)

    env = {"TARRY_WORKER_POLL_SECONDS": "0.05"}
    with tarry_worker(tarry_home, "--pool", "etl", "--queue", "high", env=env) as proc:
        assert proc.stderr is not None
        started = proc.stderr.readline()
        done = until(
            lambda: hst.store.get_run(served.id),
            lambda r: r.state.is_final,
            timeout=SLOW,
        )
    assert started.startswith("tarry worker "), started
    assert started.rstrip().endswith(", pool etl (high)"), started
    assert (done.state, json.loads(done.result or "null")) == (RunState.COMPLETED, "SERVED")
    for run in left:
        still = hst.store.get_run(run.id)
        assert still is not None
        assert (still.state, still.started_at) == (RunState.PENDING, None), still


def _in_terminal(home: Path, answer: str, *args: str) -> tuple[int, str]:
    # The command's stdin is a pseudo-terminal, as in a person's shell.
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tarry", *args],
        stdin=child,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=subprocess_env(home),
        cwd=ROOT,
    )
    os.close(child)
    os.write(main, answer.encode() + b"\n")
    out, _ = proc.communicate(timeout=60)
    os.close(main)
    return proc.returncode, out.decode()


def test_delete_asks_in_a_terminal_and_no_keeps_the_pool(harness: TestHarness) -> None:
    home, store = harness.host.settings.home, harness.host.store
    _ok(home, "work-pool", "create", "etl")
    _ok(home, "work-queue", "create", "low", "--pool", "etl")

    code, said = _in_terminal(home, "n", "work-queue", "delete", "low", "--pool", "etl")
    assert (code, "Delete the work queue low of pool etl?" in said) == (1, True)
    assert "nothing deleted" in said
    code, said = _in_terminal(home, "n", "work-pool", "delete", "etl")
    assert (code, "Delete the work pool etl and its queues?" in said) == (1, True)
    assert store.get_work_queue("etl", "low") is not None

    code, said = _in_terminal(home, "y", "work-pool", "delete", "etl")
    assert (code, "deleted work pool etl" in said) == (0, True)
    assert store.get_work_pool("etl") is None
