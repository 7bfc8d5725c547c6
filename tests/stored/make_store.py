"""Makes `store.db`: a SQLite store written by the tarry of the commit it names.

Run from the repository root, with that commit's code installed:

    python -m tests.stored.make_store

The file holds a finished run, a run waiting for an `Approval` (suspended, no process
holds it) with a message sent to it, and the mail notice of that wait still in the
outbox (no mail server was configured, so its one attempt failed). `test_stored_by_main`
opens a copy with today's code and takes the waiting run to its end.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tarry import config, deployments, host, messaging, worker
from tarry.states import RunState
from tests.stored import flows

HERE = Path(__file__).parent
TARGET = HERE / "store.db"


def _wait_until_suspended(hst: host.Host, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = hst.store.get_run(run_id)
        waits = hst.store.open_inputs(limit=10)
        if run is not None and waits and run.lease_owner is None:
            return
        time.sleep(0.05)
    raise SystemExit(f"run {run_id} did not suspend: {hst.store.get_run(run_id)}")


def _make(home: Path) -> Path:
    settings = config.Settings(home=home, resident_seconds=0, notify_retry_seconds=3600)
    hst = host.Host(settings)
    previous = host.set_host(hst)
    try:
        done = flows.finished(20)
        if done != 41:
            raise SystemExit(f"the finished run returned {done!r}")
        deployments.deploy(flows.waiting, hst=hst)
        run = deployments.start("waiting/waiting", {"amount": 120}, hst=hst)
        runner = worker.Worker(hst, max_runs=2)
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        _wait_until_suspended(hst, run.id)
        messaging.send_input("receipt attached", flow_run_id=run.id, key="note-1")
        runner.stop()
        thread.join(10)
        stored = hst.store.get_run(run.id)
        if stored is None or stored.state is not RunState.WAITING:
            raise SystemExit(f"the waiting run is not waiting: {stored}")
    finally:
        host.set_host(previous)
        hst.close()
    return home / "tarry.db"


def main() -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        made = _make(Path(folder))
        shutil.copyfile(made, TARGET)
    (HERE / "store.commit").write_text(commit + "\n")
    print(f"wrote {TARGET} with tarry at {commit}")


if __name__ == "__main__":
    main()
