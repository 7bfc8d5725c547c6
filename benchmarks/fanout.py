"""Fan-out: one flow mapping a trivial task over N inputs on a task runner.

Usage: python fanout.py [--runner thread|dask|ray] [--reps 5] [--workers W] [N=1000]

Each repetition is one run of a flow doing `inc.map(range(N))` and summing the
results, on a fresh SQLite database (`synchronous=FULL` unless
`TARRY_SQLITE_SYNCHRONOUS` says otherwise; `TARRY_DATABASE_URL=postgresql://...`
uses a fresh PostgreSQL schema instead): every task is a journaled step, its row
committed (concurrent steps share commits) before its future resolves.
`fanout_s` is the wall time of the whole flow call. A cluster is started once
beforehand and its start-up is reported apart as `startup_s`: a Dask
`LocalCluster`, which the flows' `DaskTaskRunner` joins by address, or Ray
(`ray.init()`), which `RayTaskRunner()` then uses. One warm-up flow (N=10) runs
first. Reports the median repetition as `tasks_per_s` and `per_task_ms`
(fanout_s / N), and `per_task_ms_net`, net of an empty flow's time.

`--workers` sets the thread pool's `max_workers` (default: tarry's default,
`min(32, cpu count + 4)`), the number of Dask worker processes or Ray's
`num_cpus` (default: their choice for this machine). Target (issue 18): the
thread pool's tasks/s at least 5 times Prefect 3.8.8's on the same workload
(`prefect_fanout.py`, in shared/bench style, next to this script).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import tarry_env
from common import emit, summary

import tarry
from tarry import task_runners

WARMUP_N = 10
EMPTY_FLOWS = 5


@tarry.task
def inc(i: int) -> int:
    return i + 1


def fanout_body(n: int) -> int:
    return sum(future.result() for future in inc.map(range(n)))


def empty_body(n: int) -> int:
    return n


class Cluster:
    """A runner's cluster started once, and the runner each flow run uses."""

    def __init__(self, kind: str, workers: int | None) -> None:
        self.kind = kind
        self.workers = workers
        self.handle: Any = None
        self.startup_s = 0.0
        self.details: dict[str, Any] = {}

    def start(self) -> None:
        t0 = time.perf_counter()
        starters: dict[str, Callable[[], None]] = {
            "thread": lambda: None,
            "dask": self._start_dask,
            "ray": self._start_ray,
        }
        starters[self.kind]()
        self.startup_s = time.perf_counter() - t0

    def runner(self) -> Any:
        if self.kind == "thread":
            return task_runners.ThreadPoolTaskRunner(max_workers=self.workers)
        if self.kind == "dask":
            return task_runners.DaskTaskRunner(address=self.handle.scheduler_address)
        return _ray_runner_class()()

    def close(self) -> None:
        if self.kind == "dask":
            self.handle.close()
        elif self.kind == "ray":
            import ray  # type: ignore[import-not-found,unused-ignore]

            ray.shutdown()

    def _start_dask(self) -> None:
        import distributed

        kwargs: dict[str, Any] = {"dashboard_address": ":0"}
        if self.workers:
            kwargs["n_workers"] = self.workers
        self.handle = distributed.LocalCluster(**kwargs)  # type: ignore[no-untyped-call]
        workers = self.handle.scheduler_info["workers"].values()
        self.details = {
            "dask_version": metadata.version("dask"),
            "dask_workers": len(workers),
            "dask_threads": sum(w["nthreads"] for w in workers),
        }

    def _start_ray(self) -> None:
        import ray  # type: ignore[import-not-found,unused-ignore]

        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.workers:
            kwargs["num_cpus"] = self.workers
        ray.init(**kwargs)
        cpus = ray.cluster_resources()["CPU"]  # type: ignore[no-untyped-call,unused-ignore]
        self.details = {"ray_version": ray.__version__, "ray_cpus": cpus}


def _ray_runner_class() -> Any:
    runner = getattr(task_runners, "RayTaskRunner", None)
    if runner is None:
        sys.exit(
            "fanout.py --runner ray: tarry.task_runners.RayTaskRunner is not in this "
            f"tarry ({tarry.__file__}); it comes with the ray-runner branch"
        )
    if importlib.util.find_spec("ray") is None:
        sys.exit("fanout.py --runner ray: Ray is not installed (pip install ray)")
    return runner


def timed(call: Callable[[int], int], n: int, expected: int) -> float:
    """Seconds one call of the flow `call` with `n` took; its result must be `expected`."""
    t0 = time.perf_counter()
    out = call(n)
    elapsed = time.perf_counter() - t0
    assert out == expected, (out, expected)
    return elapsed


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=("thread", "dask", "ray"), default="thread")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("n", nargs="?", type=int, default=1000)
    return parser.parse_args(argv)


def main() -> None:
    args = parse(sys.argv[1:])
    if args.runner == "ray":
        _ray_runner_class()
    hst = tarry_env.open_host("tarry-fanout-")
    cluster = Cluster(args.runner, args.workers)
    cluster.start()
    runner = cluster.runner()
    fanout = tarry.flow(name="fanout", task_runner=runner)(fanout_body)
    empty = tarry.flow(name="fanout-empty", task_runner=runner)(empty_body)
    warm = timed(fanout, WARMUP_N, WARMUP_N * (WARMUP_N + 1) // 2)
    empties = [timed(empty, 0, 0) for _ in range(EMPTY_FLOWS)]
    reps = [timed(fanout, args.n, args.n * (args.n + 1) // 2) for _ in range(args.reps)]
    cluster.close()
    tarry_env.close_host(hst)
    med = statistics.median(reps)
    empty_med = statistics.median(empties)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "fanout",
            "runner": args.runner,
            "runner_repr": repr(runner),
            **cluster.details,
            "tasks": args.n,
            "cpus": os.cpu_count(),
            "startup_s": round(cluster.startup_s, 3),
            "warmup_flow_s": round(warm, 3),
            "fanout_s": summary(reps),
            "tasks_per_s": round(args.n / med, 1),
            "per_task_ms": round(med / args.n * 1e3, 3),
            "empty_flow_s": round(empty_med, 4),
            "per_task_ms_net": round((med - empty_med) / args.n * 1e3, 3),
        }
    )


if __name__ == "__main__":
    main()
