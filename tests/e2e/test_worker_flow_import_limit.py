"""A flow file that blocks at import does not hang `tarry worker`: the load fails in time.

After `TARRY_WORKER_IMPORT_TIMEOUT_SECONDS` the worker gives the run back (Pending) with
an error naming the file, says so once in the run's log, and tries again with its
backoff; once the import can finish, the same worker runs the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, deployments, host, service
from tarry.engine import spec
from tarry.states import RunState
from tests.e2e.test_worker_process import tarry_worker
from tests.polling import until
from tests.processes import SLOW

GREETER = """
from tarry import flow

@flow
def greet(name: str = "Ada") -> str:
    return f"hello {name}"
"""

# The same flow, in a file whose import waits while its `.block` file exists (a network
# share that hangs, a module-level call that waits for something).
BLOCKING_GREETER = (
    """
import pathlib, time

while pathlib.Path(__file__).with_suffix(".block").exists():
    time.sleep(0.02)
"""
    + GREETER
)


@pytest.fixture
def this_process(tarry_home: Path) -> Iterator[host.Host]:
    """The test process, as another tarry process on the worker's database."""
    hst = host.Host(config.Settings(home=tarry_home))
    yield hst
    hst.close()


def _overdue_loads(hst: host.Host, run_id: str) -> list[str]:
    return [
        t.reason
        for t in hst.store.get_transitions(run_id)
        if "cannot load its flow" in t.reason and "did not finish within" in t.reason
    ]


def test_a_flow_file_blocking_at_import_fails_its_load_in_time_and_the_run_runs_later(
    tmp_path: Path, tarry_home: Path, this_process: host.Host
) -> None:
    script = tmp_path / "greeter.py"
    script.write_text(GREETER)
    deployments.deploy(spec.load_flow(f"{script}:greet"), "greeter", hst=this_process)
    run = service.start_run("greet/greeter", {"name": "Grace"}, hst=this_process)
    block = script.with_suffix(".block")
    block.touch()
    script.write_text(BLOCKING_GREETER)  # what the worker will import

    env = {"TARRY_WORKER_IMPORT_TIMEOUT_SECONDS": "0.5"}
    with tarry_worker(tarry_home, env=env) as worker:
        reasons = until(lambda: _overdue_loads(this_process, run.id), bool, timeout=SLOW)
        assert worker.poll() is None  # the worker is alive and goes on
        block.unlink()
        done = until(
            lambda: this_process.store.get_run(run.id),
            lambda r: r.state is RunState.COMPLETED,
            timeout=SLOW,
        )

    assert str(script) in reasons[0]
    assert "0.5 s (TARRY_WORKER_IMPORT_TIMEOUT_SECONDS)" in reasons[0]
    assert json.loads(done.result or "null") == "hello Grace"
    said = [line.message for line in this_process.store.get_logs(run.id)]
    assert len([m for m in said if "will try again" in m]) == 1, said
