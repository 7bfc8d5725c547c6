"""W6 (tarry): SIGKILL a 5-step flow after step 3; restart; does it resume?

Usage: python w6_crash_recovery.py [cli|script]   (driver; prints the JSON line)

The driver runs the flow `w6_flow:w6` in a child process (`... child first`)
with `TARRY_HOME` set to a fresh folder, and SIGKILLs it as soon as step 3 is
done (step 4 blocks). It then starts the recovery process and times it:

* `cli` (default): `python -m tarry worker --burst`, what a user would run. The
  worker sees that the run's lease holder is a dead process of this host,
  claims the run at once and replays it; it exits when no run is left.
* `script`: `... child recover`, a few lines that import `tarry.worker.Worker`,
  run it in burst mode and print timestamps (like the DBOS child).

Afterwards the driver reads the run from the SQLite file and reports how many
times each step ran and how long the recovery took. Children's stderr (tarry's
logs) goes to `first.log` / `recover.log` in the work folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FLOW_NAME = "w6"
TIMEOUT_S = 120


# -- child processes -----------------------------------------------------------------------


def child_first() -> None:
    """Run the flow; the driver kills this process during step 4."""
    import w6_flow

    w6_flow.w6(0)


def child_recover() -> None:
    """Recover the run with a burst worker and print timestamps as JSON."""
    t_proc = time.monotonic()
    from tarry import host, worker

    t_import = time.monotonic()
    hst = host.get_host()
    hst.store  # noqa: B018 - open the database: the "launch" of this process
    t_launch = time.monotonic()
    worker.Worker(hst).run(burst=True)
    t_done = time.monotonic()
    hst.close()
    times = {"t_proc": t_proc, "t_import": t_import, "t_launch": t_launch, "t_done": t_done}
    print(json.dumps(times), flush=True)


# -- driver --------------------------------------------------------------------------------


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a child with stdout kept (for the recover script) and stderr in `log`."""
    with log.open("ab") as err:
        return subprocess.Popen(args, env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=err)


def wait_for_marker(log: Path, marker: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll `log` every 2 ms until it holds `marker`."""
    deadline = time.monotonic() + TIMEOUT_S
    while not (log.exists() and marker in log.read_text()):
        if proc.poll() is not None:
            raise RuntimeError(f"the first process exited early with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError("the first run never reached step 3")
        time.sleep(0.002)


def recover_command(mode: str) -> list[str]:
    """The command line of the recovery process."""
    if mode == "cli":
        return [sys.executable, "-m", "tarry", "worker", "--burst"]
    return [sys.executable, str(Path(__file__).resolve()), "child", "recover"]


def read_run(home: Path) -> dict[str, Any]:
    """The W6 run's state, result and recovery time, read from the database."""
    from tarry import config, host, serialization, service

    hst = host.Host(config.Settings.from_env(home=home, database_url=""))
    try:
        runs = service.list_runs(flow_name=FLOW_NAME, hst=hst)
        assert len(runs) == 1, runs
        detail = service.get_run_detail(runs[0].id, hst=hst)
    finally:
        hst.close()
    claims = [t.at for t in detail.transitions if t.reason.startswith("recovered from")]
    return {
        "state": detail.run.state.value,
        "result": serialization.loads(detail.run.result),
        "ended_at": detail.run.ended_at,
        "claimed_at": claims[0] if claims else None,
        "transitions": [
            f"{t.from_state and t.from_state.value}->{t.to_state.value}" for t in detail.transitions
        ],
    }


def step_counts(lines: list[str]) -> dict[str, int]:
    """How many times each step ran, from the W6 log's lines."""
    names = [line.split("@")[0] for line in lines]
    return {f"step{k}": names.count(f"step{k}") for k in range(1, 6)}


def crash_first(env: dict[str, str], work: Path, steps_log: Path) -> tuple[float, list[str]]:
    """Run the flow in a first process, kill it after step 3; (kill time, log at kill)."""
    me = [sys.executable, str(Path(__file__).resolve()), "child"]
    first = spawn([*me, "first"], dict(env, W6_BLOCK="1"), work / "first.log")
    wait_for_marker(steps_log, "after-step3", first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    return time.monotonic(), steps_log.read_text().split()


def recover(env: dict[str, str], work: Path, mode: str) -> dict[str, Any]:
    """Run the recovery process to its exit; its spawn/exit times and printed JSON."""
    t_spawn_wall, t_spawn = time.time(), time.monotonic()
    proc = spawn(recover_command(mode), dict(env, W6_BLOCK="0"), work / "recover.log")
    stdout, _ = proc.communicate(timeout=TIMEOUT_S)
    t_exit = time.monotonic()
    if proc.returncode != 0:
        raise RuntimeError(f"recovery exited with {proc.returncode}; see {work / 'recover.log'}")
    printed = [ln for ln in stdout.decode().splitlines() if ln.startswith("{")]
    child = json.loads(printed[-1]) if printed else {}
    return {"t_spawn_wall": t_spawn_wall, "t_spawn": t_spawn, "t_exit": t_exit, **child}


def report(
    mode: str, work: Path, t_kill: float, log_at_kill: list[str], rec: dict[str, Any]
) -> dict[str, Any]:
    """The result line's fields (beyond the engine's)."""
    log_all = (work / "steps.log").read_text().split()
    runs = step_counts(log_all)
    run = read_run(work)
    step5 = [float(x.split("@")[1]) for x in log_all if x.startswith("step5@")]
    t_spawn, t_spawn_wall = rec["t_spawn"], rec["t_spawn_wall"]
    script = "t_done" in rec

    def since_spawn(wall: float | None) -> float | None:
        return None if wall is None else round(wall - t_spawn_wall, 3)

    return {
        "workload": "W6",
        "recovery": mode,
        "log_at_kill": [x.split("@")[0] for x in log_at_kill],
        "step_executions": runs,
        "resumed_without_redoing_1_3": all(runs[f"step{k}"] == 1 for k in (1, 2, 3)),
        "each_step_once": all(n == 1 for n in runs.values()),
        "result": run["result"],
        "state": run["state"],
        "restart_spawn_to_complete_s": since_spawn(run["ended_at"]),
        "launch_s": round(rec["t_launch"] - rec["t_import"], 3) if script else None,
        "launch_to_complete_s": round(rec["t_done"] - rec["t_import"], 3) if script else None,
        "restart_spawn_to_claim_s": since_spawn(run["claimed_at"]),
        "restart_spawn_to_step5_done_s": round(max(step5) - t_spawn, 3) if step5 else None,
        "restart_process_exit_s": round(rec["t_exit"] - t_spawn, 3),
        "kill_to_restart_s": round(t_spawn - t_kill, 3),
        "transitions": run["transitions"],
        "workdir": str(work),
    }


def driver(mode: str) -> None:
    import tarry_env
    from common import emit, make_workdir

    from tarry import config

    work = Path(make_workdir("tarry-w6-"))
    steps_log = work / "steps.log"
    env = dict(os.environ, TARRY_HOME=str(work), W6_LOG=str(steps_log))
    env.pop("TARRY_DATABASE_URL", None)
    t_kill, log_at_kill = crash_first(env, work, steps_log)
    rec = recover(env, work, mode)
    settings = config.Settings.from_env(home=work, database_url="")
    emit({**tarry_env.versions(settings), **report(mode, work, t_kill, log_at_kill, rec)})


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        child_first() if sys.argv[2] == "first" else child_recover()
    else:
        mode = sys.argv[1] if len(sys.argv) > 1 else "cli"
        if mode not in ("cli", "script"):
            sys.exit("usage: w6_crash_recovery.py [cli|script]")
        driver(mode)
