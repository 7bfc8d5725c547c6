"""Fan-out (Prefect): one flow mapping a trivial task over N inputs, as `fanout.py`.

Usage: $PREFECT_VENV/bin/python prefect_fanout.py [--runner thread|dask] [--reps 5]
       [--workers W] [N=1000]

Prefect's side of tarry's `fanout.py`, in the style of the baseline scripts in
shared/bench (next to this repository): it imports that folder's `prefect_env`
and `common` (`SHARED_BENCH` overrides where it is), so Prefect runs as there:
ephemeral server on a fresh SQLite `PREFECT_HOME`, one warm-up flow first,
`BENCH_PREFECT_HEARTBEAT=off` to drop the ~1 s heartbeat join of every sync flow
run. Each repetition is one run of a flow doing `inc.map(range(N))` and summing
the results; `fanout_s` is the flow call's wall time. After each flow the script
waits until the server holds its N Completed task runs (`server_settle_s`: task
runs reach the server as events after the flow returned) before the next one.
`--runner dask` uses `prefect_dask.DaskTaskRunner` on a `distributed.LocalCluster` started once
beforehand (`startup_s`), as `fanout.py` does. `--workers` sets the thread pool's
`max_workers` (Prefect's default is unbounded: one thread per task) or the number
of Dask worker processes. Prints one JSON line with the same fields as `fanout.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

SHARED_BENCH = os.environ.get("SHARED_BENCH") or str(
    Path(__file__).resolve().parents[2] / "shared" / "bench"
)
sys.path.insert(0, SHARED_BENCH)

import prefect_env  # noqa: E402  (sets PREFECT_HOME etc. before prefect is imported)
from common import emit, summary  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

WARMUP_N = 10
EMPTY_FLOWS = 5


@task
def inc(i: int) -> int:
    return i + 1


def fanout_body(n: int) -> int:
    return sum(future.result() for future in inc.map(range(n)))


def empty_body(n: int) -> int:
    return n


def start_runner(kind: str, workers: int | None) -> tuple[Any, Any, float, dict[str, Any]]:
    """The task runner, the cluster to close (or None), start-up seconds, details."""
    if kind == "thread":
        runner = ThreadPoolTaskRunner(max_workers=workers)
        return runner, None, 0.0, {"max_workers": runner._max_workers}
    import distributed
    from prefect_dask import DaskTaskRunner

    t0 = time.perf_counter()
    kwargs: dict[str, Any] = {"dashboard_address": ":0"}
    if workers:
        kwargs["n_workers"] = workers
    cluster = distributed.LocalCluster(**kwargs)
    startup = time.perf_counter() - t0
    found = cluster.scheduler_info["workers"].values()
    details = {
        "prefect_dask_version": metadata.version("prefect-dask"),
        "dask_version": metadata.version("dask"),
        "dask_workers": len(found),
        "dask_threads": sum(w["nthreads"] for w in found),
    }
    return DaskTaskRunner(address=cluster.scheduler_address), cluster, startup, details


def timed(call: Any, n: int, expected: int) -> tuple[float, float]:
    """Seconds the flow call took, then seconds until the server had its N task runs."""
    t0 = time.perf_counter()
    state = call(n, return_state=True)
    elapsed = time.perf_counter() - t0
    out = state.result()
    assert out == expected, (out, expected)
    return elapsed, settled(state.state_details.flow_run_id, n)


def settled(flow_run_id: Any, n: int, timeout: float = 600.0) -> float:
    """Wait until the server holds `n` Completed task runs of the flow run; seconds waited.

    Task runs reach the server as events after the flow call returned. Starting
    the next flow before they are in makes the ephemeral SQLite server answer 503
    to the next flow run's creation (as in BASELINES.md's W5 burst).
    """
    from prefect.client.orchestration import get_client

    query = {
        "task_runs": {
            "flow_run_id": {"any_": [str(flow_run_id)]},
            "state": {"type": {"any_": ["COMPLETED"]}},
        }
    }
    t0 = time.perf_counter()
    with get_client(sync_client=True) as client:
        while time.perf_counter() - t0 < timeout:
            if client.request("POST", "/task_runs/count", json=query).json() >= n:  # type: ignore[arg-type]
                break
            time.sleep(0.1)
    return time.perf_counter() - t0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=("thread", "dask"), default="thread")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("n", nargs="?", type=int, default=1000)
    return parser.parse_args(argv)


def main() -> None:
    args = parse(sys.argv[1:])
    warm_server = prefect_env.warm_up()
    runner, cluster, startup, details = start_runner(args.runner, args.workers)
    fanout = flow(name="fanout", task_runner=runner)(fanout_body)
    empty = flow(name="fanout-empty", task_runner=runner)(empty_body)
    warm, _ = timed(fanout, WARMUP_N, WARMUP_N * (WARMUP_N + 1) // 2)
    empties = [timed(empty, 0, 0)[0] for _ in range(EMPTY_FLOWS)]
    runs = [timed(fanout, args.n, args.n * (args.n + 1) // 2) for _ in range(args.reps)]
    reps = [run[0] for run in runs]
    if cluster is not None:
        cluster.close()
    med = statistics.median(reps)
    empty_med = statistics.median(empties)
    emit(
        {
            **prefect_env.versions(),
            "workload": "fanout",
            "runner": args.runner,
            "runner_repr": type(runner).__name__,
            **details,
            "tasks": args.n,
            "cpus": os.cpu_count(),
            "startup_s": round(startup, 3),
            "warmup_first_flow_s": round(warm_server, 2),
            "warmup_flow_s": round(warm, 3),
            "fanout_s": summary(reps),
            "server_settle_s": summary([run[1] for run in runs]),
            "tasks_per_s": round(args.n / med, 1),
            "per_task_ms": round(med / args.n * 1e3, 3),
            "empty_flow_s": round(empty_med, 4),
            "per_task_ms_net": round((med - empty_med) / args.n * 1e3, 3),
        }
    )


if __name__ == "__main__":
    main()
