"""Run W1, W2, W3 (resident and suspended) and W4 on two commits, alternating, and
print each workload's median on both and their ratio.

    ../.venv/bin/python compare.py OLD NEW [REPS=3]

Each commit's `src/` and `benchmarks/` are copied out with `git archive` (so the
working tree may change meanwhile, and each side runs its own benchmark scripts),
and every repetition runs the old and the new side back to back, in turns old-first
and new-first, so that a machine growing busier weighs on both alike. Each run
appends its line to `results/compare-<workload>.jsonl` (the `run_all.sh` wrapper
format with `"commit"`), and the last line printed is one JSON line with the medians
and `new/old` ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: name: (script and arguments, the figure compared (lower is better), its path in the line)
WORKLOADS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "w1": (["w1_task_overhead.py", "500"], ("us_per_step",)),
    "w2": (["w2_workflow_start.py", "200"], ("per_wf_ms", "median")),
    "w3": (["w3_pause_resume.py", "20", "resident"], ("latency_ms", "median")),
    "w3-suspended": (["w3_pause_resume.py", "20", "suspended"], ("latency_ms", "median")),
    "w4": (["w4_ping_pong.py", "50"], ("rtt_ms", "median")),
}


def snapshot(commit: str, into: Path) -> Path:
    """A copy of `commit`'s src/ and benchmarks/ under `into`; returns its root."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src", "benchmarks"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_once(root: Path, script: list[str]) -> dict[str, Any]:
    """One benchmark process on the snapshot at `root`; its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *script],
        cwd=root / "benchmarks",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{script} failed at {root}:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = round(time.monotonic() - started, 3)
    return result


def figure(result: dict[str, Any], path: tuple[str, ...]) -> float:
    """The compared number of a result line."""
    value: Any = result
    for key in path:
        value = value[key]
    return float(value)


def main() -> None:
    old, new = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ids = {
        side: subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for side, rev in (("old", old), ("new", new))
    }
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    figures: dict[str, dict[str, list[float]]] = {w: {"old": [], "new": []} for w in WORKLOADS}
    with tempfile.TemporaryDirectory(prefix="tarry-compare-") as folder:
        roots = {side: snapshot(ids[side], Path(folder) / side) for side in ids}
        for rep in range(1, reps + 1):
            order = ("old", "new") if rep % 2 else ("new", "old")
            for name, (script, path) in WORKLOADS.items():
                for side in order:
                    result = run_once(roots[side], script)
                    figures[name][side].append(figure(result, path))
                    line = {"bench": f"compare-{name}", "rep": rep, "commit": ids[side]}
                    with (results_dir / f"compare-{name}.jsonl").open("a") as out:
                        out.write(json.dumps({**line, "result": result}) + "\n")
                    print(f"{name} {side} rep {rep}: {figure(result, path):g}", file=sys.stderr)
    summary = {"old": ids["old"], "new": ids["new"], "reps": reps}
    for name, (_, path) in WORKLOADS.items():
        old_median = statistics.median(figures[name]["old"])
        new_median = statistics.median(figures[name]["new"])
        summary[name] = {
            "figure": ".".join(path),
            "old": old_median,
            "new": new_median,
            "new/old": round(new_median / old_median, 3),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
