"""SIGKILLs of the process that evaluates and acts: every firing's action still happens once."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, deployments, host
from tarry.automation_runtime import AutomationEvaluator
from tarry.engine import spec
from tarry.storage import RunFilter
from tarry.storage import automations as records
from tarry.storage.events import EventRecord
from tests.conftest import ROOT, subprocess_env

EVENTS_PER_TRIAL = 5
TRIALS = 8


@pytest.fixture
def this_process(tarry_home: Path) -> Iterator[host.Host]:
    """The test process, as another tarry process on the worker's database."""
    hst = host.Host(config.Settings(home=tarry_home))
    yield hst
    hst.close()


def _worker(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tarry", "worker"],
        env=subprocess_env(home, TARRY_WORKER_POLL_SECONDS="0.1", TARRY_LOGGING_LEVEL="WARNING"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _automation(hst: host.Host) -> str:
    now = time.time()
    action = {
        "type": "run-deployment",
        "deployment": "shout/shout",
        "parameters": {"text": "n{{ event.payload.n }}"},
    }
    record = records.AutomationRecord(
        id=str(uuid.uuid4()),
        name="ping-starts-shout",
        description="",
        enabled=True,
        trigger=json.dumps({"type": "event", "expect": ["kill.ping"]}),
        actions=json.dumps([action]),
        actions_on_trigger="[]",
        actions_on_resolve="[]",
        created_at=now,
        updated_at=now,
    )
    assert hst.store.put_automation(record, create=True)
    return record.id


def _ping(hst: host.Host, n: int) -> None:
    event = EventRecord(
        id=str(uuid.uuid4()),
        occurred=time.time(),
        event="kill.ping",
        resource={"tarry.resource.id": f"kill.thing.{n}"},
        payload=json.dumps({"n": n}),
    )
    assert hst.store.add_events([event]) == 1


def _all_acted(hst: host.Host, automation_id: str, count: int) -> bool:
    firings = hst.store.firings_of(automation_id, limit=count + 10)
    done = records.ActionStatus.DONE
    return len(firings) == count and all(a.status is done for _, rows in firings for a in rows)


def test_every_firing_acts_once_across_sigkills(tarry_home: Path, this_process: host.Host) -> None:
    hst = this_process
    deployments.deploy(spec.load_flow(f"{ROOT}/tests/e2e/flows/echo.py:shout"), hst=hst)
    automation_id = _automation(hst)
    AutomationEvaluator(hst).evaluate_once()  # the first round ever: it starts from here
    rng = random.Random(19)
    sent = 0
    for _ in range(TRIALS):
        proc = _worker(tarry_home)
        kill_at = time.monotonic() + rng.uniform(0.3, 2.5)
        for _ in range(EVENTS_PER_TRIAL):
            _ping(hst, sent)
            sent += 1
            time.sleep(rng.uniform(0.0, 0.4))
        time.sleep(max(0.0, kill_at - time.monotonic()))
        proc.kill()
        proc.wait()
    proc = _worker(tarry_home)
    try:
        deadline = time.monotonic() + 60
        while not _all_acted(hst, automation_id, sent):
            assert time.monotonic() < deadline, hst.store.firings_of(automation_id, limit=100)
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    runs = hst.store.list_runs(RunFilter(flow_name="shout", limit=1000))
    texts = sorted(json.loads(run.parameters)["text"] for run in runs)
    assert texts == sorted(f"n{n}" for n in range(sent))
