"""A store written by an earlier tarry (`make_store.py`, at the commit in `store.commit`)
is read, answered and finished by today's code: the layout move changed no stored name."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, host, worker
from tarry.clock import FakeClock
from tarry.engine import answers, runs
from tarry.outbound import dispatch
from tarry.states import DeliveryStatus, RunState
from tarry.storage import outbox, records
from tests.smtp_capture import MailCatcher, body_text

HERE = Path(__file__).parent.parent / "stored"


def _stored_host(home: Path, catcher: MailCatcher) -> host.Host:
    home.mkdir()
    shutil.copyfile(HERE / "store.db", home / "tarry.db")
    settings = config.Settings(home=home, resident_seconds=0, **catcher.settings())
    probe = host.Host(settings)
    due = max(item.due_at for item in _outbox(probe))
    probe.close()
    # The notice's next attempt was due 10 minutes after the store was made; a clock
    # set just past it makes the run's own times (a 30-day wait) hold on any date.
    return host.Host(settings, clock=FakeClock(start=due + 1))


def _outbox(hst: host.Host) -> list[outbox.OutboxItem]:
    return [item for run in _runs(hst) for item in hst.store.outbox_of_run(run.id)]


def _runs(hst: host.Host) -> list[records.RunRecord]:
    return hst.store.list_runs(records.RunFilter(limit=10))


def _run(hst: host.Host, flow_name: str) -> records.RunRecord:
    (found,) = [run for run in _runs(hst) if run.flow_name == flow_name]
    return found


@pytest.fixture
def stored(tmp_path: Path, catcher: MailCatcher) -> Iterator[host.Host]:
    hst = _stored_host(tmp_path / "home", catcher)
    previous = host.set_host(hst)
    yield hst
    host.set_host(previous)
    hst.close()


def test_the_finished_run_reads_as_it_was_stored(stored: host.Host) -> None:
    run = _run(stored, "finished")
    assert run.state is RunState.COMPLETED
    assert runs.run_outcome(run) == 41
    assert [step.name for step in stored.store.get_steps(run.id)] == ["double"]


def test_the_waiting_run_keeps_its_wait_message_and_notice(
    stored: host.Host, catcher: MailCatcher
) -> None:
    run = _run(stored, "waiting")
    assert run.state is RunState.WAITING
    assert run.lease_owner is None
    assert [wait.run_id for wait in stored.store.open_inputs(limit=10)] == [run.id]
    assert [m.key for m in stored.store.messages_of_run(run.id)] == ["note-1"]
    dispatch.ensure_dispatcher(stored).kick()
    (mail,) = catcher.wait_for(1)
    assert "is waiting for: pause" in body_text(mail)
    deadline = time.monotonic() + 10
    while _outbox(stored)[0].status is DeliveryStatus.PENDING and time.monotonic() < deadline:
        time.sleep(0.01)
    (item,) = _outbox(stored)
    assert item.status is DeliveryStatus.SENT
    assert item.attempts == 2


def test_the_waiting_run_is_answered_and_finishes_without_repeating_a_step(
    stored: host.Host,
) -> None:
    run = _run(stored, "waiting")
    answers.submit_input(run.id, {"approved": True, "note": "ok"}, responder="ann")
    runner = worker.Worker(stored, max_runs=2)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        ended = _until_ended(stored, run.id)
    finally:
        runner.stop()
        thread.join(10)
    assert ended.state is RunState.COMPLETED, ended
    assert runs.run_outcome(ended) == "120:True:ok:receipt attached"
    logs = [log.message for log in stored.store.get_logs(run.id)]
    assert sum("fetched 120" in line for line in logs) == 1


def _until_ended(hst: host.Host, run_id: str) -> records.RunRecord:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = hst.store.get_run(run_id)
        if run is not None and run.state.is_final:
            return run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} did not end: {hst.store.get_run(run_id)}")
