"""W3 (tarry): pause -> resume latency with pause_flow_run / resume_flow_run.

Usage: python w3_pause_resume.py [TRIALS=20] [resident|suspended]

  resident (default): tarry's default settings. The paused run stays parked in
      memory (a blocked thread) for `resident_seconds` (5 s); the answer wakes it.
  suspended: `resident_seconds=0`. The run leaves memory as soon as its wait is
      open (its stack unwinds; the caller's thread only waits for the run to
      become ready). The answer hands the run back to that caller (Running,
      leased to this process, in the answer's own transaction), which
      re-executes the flow by replay up to the pause, which returns the answer.

Each trial is one sync flow run, called from the main thread, that pauses with
`pause_flow_run(wait_for_input=Approval)`. A resumer thread in the same process
waits until the run's wait is open (and, in `suspended` mode, until the run has
left memory), sleeps a random delay in [0.05, 0.05 + poll_seconds) s (like the
DBOS and Prefect scripts, so the answer lands at a random phase of tarry's
watcher loop), stamps t_submit and calls
`resume_flow_run(run_id, run_input={"approved": True})`. Latency = time at which
the first line after the pause executes minus t_submit (same process,
`time.perf_counter`). One warm-up trial runs first and is not counted.
`send_call_ms` is the cost of the `resume_flow_run` call itself (the key has the
DBOS script's name).
"""

from __future__ import annotations

import queue
import random
import sys
import threading
import time

import tarry_env
from common import emit, summary

import tarry
from tarry import host, runtime
from tarry.input import RunInput
from tarry.states import RunState

WARMUP = 1
MODES = ("resident", "suspended")


class Approval(RunInput):
    approved: bool


ready: queue.Queue[tuple[int, str]] = queue.Queue()
announced: set[str] = set()
after: dict[int, float] = {}


@tarry.flow
def w3(trial: int) -> bool:
    run_id = runtime.flow_run.id
    assert run_id is not None
    # In suspended mode the flow body runs again (by replay) once answered:
    # announce each run once.
    if run_id not in announced:
        announced.add(run_id)
        ready.put((trial, run_id))
    answer = tarry.pause_flow_run(wait_for_input=Approval, timeout=60)
    after[trial] = time.perf_counter()
    return bool(answer.approved)


class Resumer(threading.Thread):
    """Answers each announced run after a random delay; records when and at what cost."""

    def __init__(self, hst: host.Host, trials: int, suspended: bool) -> None:
        super().__init__(name="w3-resumer", daemon=True)
        self.hst = hst
        self.trials = trials
        self.suspended = suspended
        self.submit: dict[int, float] = {}
        self.send_call: dict[int, float] = {}
        self.resident_at_submit: dict[int, int] = {}
        self.error: Exception | None = None
        self._rnd = random.Random(1234)

    def run(self) -> None:
        try:
            for _ in range(self.trials):
                trial, run_id = ready.get(timeout=60)
                self._until_waiting(run_id)
                time.sleep(0.05 + self._rnd.random() * self.hst.settings.poll_seconds)
                self.resident_at_submit[trial] = self.hst.hub.resident()
                t = time.perf_counter()
                self.submit[trial] = t
                tarry.resume_flow_run(run_id, run_input={"approved": True})
                self.send_call[trial] = time.perf_counter() - t
        except Exception as exc:  # noqa: BLE001 - re-raised by main()
            self.error = exc

    def _until_waiting(self, run_id: str) -> None:
        """Until the run's wait is open (and, when suspending, the run left memory)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run = self.hst.store.get_run(run_id)
            if run is not None and run.state is RunState.WAITING:
                left_memory = run.lease_owner is None
                if left_memory or not self.suspended:
                    return
            time.sleep(0.001)
        raise TimeoutError(f"run {run_id} did not reach its wait within 30 s")


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    mode = sys.argv[2] if len(sys.argv) > 2 else "resident"
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}, not {mode!r}")
    suspended = mode == "suspended"
    overrides: dict[str, float] = {"resident_seconds": 0.0} if suspended else {}
    hst = tarry_env.open_host("tarry-w3-", **overrides)
    resumer = Resumer(hst, WARMUP + trials, suspended)
    resumer.start()
    for trial in range(WARMUP):
        assert w3(-1 - trial) is True
    t0 = time.perf_counter()
    for trial in range(trials):
        assert w3(trial) is True, trial
    total = time.perf_counter() - t0
    resumer.join(5)
    if resumer.error is not None:
        raise resumer.error
    tarry_env.close_host(hst)
    lat = [after[i] - resumer.submit[i] for i in range(trials)]
    send = [resumer.send_call[i] for i in range(trials)]
    resident = [resumer.resident_at_submit[i] for i in range(trials)]
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "W3",
            "wait_mode": mode,
            "trials": trials,
            **tarry_env.wait_settings(hst.settings),
            "latency_ms": summary(lat, 1e3, 3),
            "send_call_ms": summary(send, 1e3, 3),
            "resident_at_submit": sum(resident),
            "wall_s": round(total, 2),
        }
    )


if __name__ == "__main__":
    main()
