"""Email drip campaign, challenge 5: many recipients, one run each (seeds/000 part 2).

`drip_to_all` is the parent flow: for each recipient it starts a run of challenge
4's `drip_campaign` with `run_deployment(..., timeout=0)`, which returns at once.
Each start is a task, so a replayed parent starts no one twice, and the tasks run
on a few threads, so the starts share their commits. A worker executes the drip
runs a few at a time. Each one mails its recipient, then waits for the reply *out
of memory*: a waiting run holds no thread and no stack, only its rows, and is
resumed by replay when the reply or the end of its window comes. So ten thousand
recipients fit in one process on SQLite, in bounded memory and threads
(`benchmarks/drip_campaign.py`).

    python examples/drip_campaign/challenge_5_many.py [COUNT=100] [WINDOW_SECONDS=120]

mails person0@example.com ... through `TARRY_SMTP_HOST` (see README.md) and
prints how many people got one email and how many got two.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tarry import config, flow, host, service, task, worker
from tarry.deployments import deployment_name, run_deployment
from tarry.states import RunState
from tarry.storage import records

sys.path.insert(0, str(Path(__file__).parent))
from challenge_4_email import drip_campaign

DRIP = deployment_name(drip_campaign)


@task
def start_drip(to: str, window_seconds: float) -> str:
    return run_deployment(DRIP, {"to": to, "window_seconds": window_seconds}, timeout=0).id


@flow(log_prints=True)
def drip_to_all(recipients: list[str], window_seconds: float = 120) -> list[str]:
    """Start one drip campaign run per recipient.

    Returns:
        The ids of the runs started, in the order of `recipients`.
    """
    started = [f.result() for f in start_drip.map(recipients, window_seconds=window_seconds)]
    print(f"started {len(started)} drip campaigns")
    return started


def outcomes(run_ids: list[str]) -> Counter[str]:
    """How many drip runs ended how (`1 email(s)`, `2 email(s)`), once all have ended."""
    ended: Counter[str] = Counter()
    for run_id in run_ids:
        while not (run := service.get_run(run_id)).state.is_final:
            time.sleep(0.5)
        ended[_outcome(run)] += 1
    return ended


def _outcome(run: records.RunRecord) -> str:
    return f"{run.result} email(s)" if run.state is RunState.COMPLETED else run.state.value


def main(count: int, window_seconds: float) -> None:
    # A drip run may wait days: it leaves memory, and its worker thread, as soon
    # as it waits (by default a wait stays in memory for 5 s in case the answer
    # comes at once), so the worker goes straight on to the next recipient.
    hst = host.Host(config.Settings.from_env(resident_seconds=0))
    host.set_host(hst)
    drip_campaign.deploy()
    runner = worker.Worker(hst)
    executing = threading.Thread(target=runner.run, name="drip-worker")
    executing.start()
    try:
        run_ids = drip_to_all([f"person{i}@example.com" for i in range(count)], window_seconds)
        for outcome, people in sorted(outcomes(run_ids).items()):
            print(f"{people} people: {outcome}")
    finally:
        runner.stop()
        executing.join()
        hst.close()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 100,
        float(sys.argv[2]) if len(sys.argv) > 2 else 120,
    )
