"""Flyte's "Waiting for external inputs" (seeds/002): every workflow, answered over the real API.

The workflows are deployed with `tarry.deployments` on a real server (uvicorn on a
loopback port, its worker on) and answered with `tarry.client.Client`, as
`examples/flyte/remote.py` does; sleeps and timeouts run on the test harness's
fake clock, where hours pass in milliseconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tarry import config, deployments, errors, host, loader
from tarry.client import Client
from tarry.states import RunState, WaitStatus
from tarry.testing import TestHarness, tarry_test_harness
from tarry.web.schemas import InputOut, RunOut
from tests.conftest import ROOT, query, run_tarry, subprocess_env
from tests.e2e import live
from tests.polling import until_found

EXAMPLE = ROOT / "examples" / "flyte" / "waiting_for_external_inputs.py"
REMOTE = ROOT / "examples" / "flyte" / "remote.py"
WORKFLOWS = (
    "sleep_wf",
    "reporting_wf",
    "reporting_with_approval_wf",
    "approval_as_promise_wf",
    "conditional_wf",
)
DATA = [1.0, 2.0, 3.0, 4.0, 5.0]
REPORT = {"mean": 3.0, "length": 5, "max": 5.0, "min": 1.0}
FINAL = {"title": "my report", **REPORT}
INVALID = {"invalid_report": True}
NOT_A_BOOL = ((("value",), "Input should be a valid boolean, unable to interpret input"),)
NOT_A_STR = ((("value",), "Input should be a valid string"),)


# -- the real API ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A client of a real server with the five workflows deployed."""
    home = tmp_path_factory.mktemp("flyte-home")
    settings = config.Settings(
        home=home, sqlite_synchronous="NORMAL", resident_seconds=30, worker_poll_seconds=0.05
    )
    hst = host.Host(settings)
    try:
        for name in WORKFLOWS:
            flow = loader.load_object(f"{EXAMPLE}:{name}")
            deployments.deploy(flow, "waiting-for-external-inputs", hst=hst)
        with live.live_server(hst, worker=True) as url, Client(f"{url}/api", token="") as api:
            yield api
    finally:
        hst.close()


def _start(client: Client, workflow: str) -> RunOut:
    deployment = f"{workflow.replace('_', '-')}/waiting-for-external-inputs"
    return client.create_flow_run_from_deployment(deployment, {"data": DATA})


def _waiting_for(client: Client, run_id: str, name: str) -> InputOut:
    """The run's open wait `name`, once it is the only one."""

    def only() -> InputOut | None:
        found = client.list_pending_inputs(run_id)
        return found[0] if [w.name for w in found] == [name] else None

    return until_found(only)


def _field_errors(exc: errors.InputInvalid) -> tuple[tuple[tuple[str | int, ...], str], ...]:
    return tuple((e.loc, e.message) for e in exc.field_errors)


def _hours(wait: InputOut) -> float:
    assert wait.deadline is not None
    return (wait.deadline - wait.created_at) / dt.timedelta(hours=1)


def test_reporting_wf_titles_the_report_it_made_before_asking(client: Client) -> None:
    run = _start(client, "reporting_wf")
    title = _waiting_for(client, run.id, "title")
    assert (title.schema_ or {})["properties"]["value"]["type"] == "string"
    assert _hours(title) == 1
    made = client.read_flow_run_detail(run.id).steps
    assert [(s.name, s.result) for s in made] == [("create_report", REPORT)]

    answer = client.resume_flow_run(run.id, "my report", key="title", responder="analyst")
    assert answer.accepted
    done = client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02)
    assert (done.state, done.result) == (RunState.COMPLETED, FINAL)


@pytest.mark.parametrize("approved", [True, False])
def test_reporting_with_approval_wf_returns_the_report_only_once_approved(
    client: Client, approved: bool
) -> None:
    run = _start(client, "reporting_with_approval_wf")
    _waiting_for(client, run.id, "title")
    client.resume_flow_run(run.id, "my report", key="title")
    gate = _waiting_for(client, run.id, "approve-final-report")
    assert (gate.schema_ or {})["properties"]["value"]["type"] == "boolean"
    assert _hours(gate) == 2

    client.resume_flow_run(run.id, approved, key="approve-final-report", responder="editor")
    done = client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02)
    if approved:
        assert (done.state, done.result) == (RunState.COMPLETED, FINAL)
    else:
        assert done.state is RunState.FAILED
        assert done.error["type"] == "tarry.errors:ApprovalRejected"
        assert "approval 'approve-final-report' was rejected" in done.state_reason


def test_approval_as_promise_wf_approves_the_raw_report_then_titles_it(client: Client) -> None:
    run = _start(client, "approval_as_promise_wf")
    _waiting_for(client, run.id, "title")
    # `report >> title_input`: the report exists before the title is asked for.
    assert [s.name for s in client.read_flow_run_detail(run.id).steps] == ["create_report"]
    client.resume_flow_run(run.id, "my report", key="title")
    _waiting_for(client, run.id, "raw-report-approval")

    client.resume_flow_run(run.id, True, key="raw-report-approval")
    assert client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02).result == FINAL


@pytest.mark.parametrize(("review_passes", "result"), [(True, FINAL), (False, INVALID)])
def test_conditional_wf_takes_the_branch_the_review_chose(
    client: Client, review_passes: bool, result: dict[str, Any]
) -> None:
    run = _start(client, "conditional_wf")
    _waiting_for(client, run.id, "title-input")
    client.resume_flow_run(run.id, "my report", key="title-input")
    review = _waiting_for(client, run.id, "review-passes")
    assert _hours(review) == 2

    client.resume_flow_run(run.id, review_passes, key="review-passes")
    done = client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02)
    assert (done.state, done.result) == (RunState.COMPLETED, result)
    steps = [s.name for s in client.read_flow_run_detail(run.id).steps]
    branch = "finalize_report" if review_passes else "invalid_report"
    assert steps == ["create_report", "input:title-input", "input:review-passes", branch]


def test_signals_set_out_of_order_are_kept_until_the_run_reaches_them(client: Client) -> None:
    run = _start(client, "conditional_wf")
    _waiting_for(client, run.id, "title-input")

    early = client.resume_flow_run(run.id, True, key="review-passes", responder="reviewer")
    assert (early.accepted, early.kept_for_later, early.wait) == (False, True, None)
    assert [w.name for w in client.list_pending_inputs(run.id)] == ["title-input"]
    client.resume_flow_run(run.id, "my report", key="title-input")

    assert client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02).result == FINAL
    waits = {w.name: w for w in client.read_flow_run_detail(run.id).waits}
    assert (waits["review-passes"].status, waits["review-passes"].responder) == (
        WaitStatus.ANSWERED,
        "reviewer",
    )


def test_wrong_typed_signals_are_refused_by_field_and_the_run_keeps_waiting(
    client: Client,
) -> None:
    run = _start(client, "conditional_wf")
    title = _waiting_for(client, run.id, "title-input")
    with pytest.raises(errors.InputInvalid) as not_a_str:
        client.resume_flow_run(run.id, 42, key="title-input")
    assert _field_errors(not_a_str.value) == NOT_A_STR
    assert client.read_input(title.id).status is WaitStatus.OPEN
    client.resume_flow_run(run.id, "my report", key="title-input")

    review = _waiting_for(client, run.id, "review-passes")
    with pytest.raises(errors.InputInvalid) as not_a_bool:
        client.answer_input(review.id, "maybe")
    assert _field_errors(not_a_bool.value) == NOT_A_BOOL
    assert client.read_flow_run(run.id).state is RunState.WAITING
    assert client.read_input(review.id).status is WaitStatus.OPEN

    client.answer_input(review.id, True)
    assert client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02).result == FINAL


def test_a_wrong_typed_early_signal_is_refused_when_the_run_reaches_its_wait(
    client: Client,
) -> None:
    # Before the run reaches a wait nobody knows its type: the answer is kept unchecked.
    run = _start(client, "conditional_wf")
    _waiting_for(client, run.id, "title-input")
    assert client.resume_flow_run(run.id, "maybe", key="review-passes").kept_for_later
    client.resume_flow_run(run.id, "my report", key="title-input")

    review = _waiting_for(client, run.id, "review-passes")
    assert client.read_flow_run(run.id).state is RunState.WAITING
    client.answer_input(review.id, False)
    assert client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02).result == INVALID


def test_the_remote_example_starts_conditional_wf_and_sets_both_signals(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = loader.load_object(f"{REMOTE}:main")
    assert remote(client) == FINAL
    printed = capsys.readouterr().out
    assert "waits for: title-input\n" in printed
    assert f"ended Completed: {FINAL}" in printed


# -- time, on the harness's fake clock ---------------------------------------------------------


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(fake_clock=True) as found:
        yield found


def _still_waiting(harness: TestHarness, run_id: str, name: str) -> None:
    time.sleep(0.1)  # a timer that wrongly fired would have closed its wait by now
    [wait] = [w for w in harness.store.waits_of_run(run_id) if w.name == name]
    assert wait.status is WaitStatus.OPEN
    assert harness.store.get_run(run_id).state is RunState.WAITING  # type: ignore[union-attr]


def _reached(harness: TestHarness, run_id: str, name: str) -> None:
    harness.wait_until(lambda: any(w.name == name for w in harness.store.waits_of_run(run_id)))


def test_sleep_wf_sleeps_ten_seconds_then_computes(harness: TestHarness) -> None:
    run = harness.start(loader.load_object(f"{EXAMPLE}:sleep_wf"), num=7)
    _reached(harness, run.id, "sleep")
    harness.advance(9.5)
    _still_waiting(harness, run.id, "sleep")
    assert [s.name for s in harness.store.get_steps(run.id)] == []

    harness.advance(0.5)
    assert run.result() == 7
    assert [s.name for s in harness.store.get_steps(run.id)] == [
        "sleep",
        "long_running_computation",
    ]


@pytest.mark.parametrize(
    ("workflow", "answers", "wait", "hours", "waited_for"),
    [
        ("reporting_wf", {}, "title", 1, "input 'title'"),
        ("conditional_wf", {"title-input": "x"}, "review-passes", 2, "input 'review-passes'"),
        (
            "reporting_with_approval_wf",
            {"title": "x"},
            "approve-final-report",
            2,
            "input 'approve-final-report'",
        ),
    ],
)
def test_an_unanswered_wait_fails_the_run_at_its_timeout(
    harness: TestHarness,
    workflow: str,
    answers: dict[str, Any],
    wait: str,
    hours: int,
    waited_for: str,
) -> None:
    run = harness.start(loader.load_object(f"{EXAMPLE}:{workflow}"), data=DATA)
    for name, value in answers.items():
        _reached(harness, run.id, name)
        harness.answer(run.id, value, key=name)
    _reached(harness, run.id, wait)
    harness.advance(hours * 3600 - 1)
    _still_waiting(harness, run.id, wait)

    harness.advance(1)
    with pytest.raises(errors.WaitTimeout) as timed_out:
        run.result()
    within = f"{hours} hour" + ("s" if hours > 1 else "")
    assert f"nobody answered {waited_for} within {within}" in str(timed_out.value)
    assert run.wait_for(RunState.FAILED).state_reason.startswith("WaitTimeout: ")
    [closed] = [w for w in run.waits() if w.name == wait]
    assert closed.status is WaitStatus.TIMED_OUT


# -- the script, as its docstring says to run it -------------------------------------------------


@contextlib.contextmanager
def _script(home: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    started = subprocess.Popen(
        [sys.executable, str(EXAMPLE), *args],
        env=subprocess_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield started
    finally:
        if started.poll() is None:
            started.kill()
        started.communicate(timeout=30)


def _run_id_of(home: Path, script: subprocess.Popen[str]) -> str:
    def open_wait() -> str | None:
        assert script.poll() is None, script.communicate()
        if not (home / "tarry.db").exists():
            return None
        try:
            found = query(home / "tarry.db", "SELECT run_id FROM waits WHERE status = 'open'")
        except sqlite3.OperationalError:  # the script has not made its tables yet
            return None
        return str(found[0][0]) if found else None

    return until_found(open_wait)


def test_the_script_runs_conditional_wf_answered_from_the_command_line(tarry_home: Path) -> None:
    with _script(tarry_home, "conditional_wf") as script:
        run_id = _run_id_of(tarry_home, script)
        for name, answer in (("review-passes", "true"), ("title-input", '"my report"')):
            answered = run_tarry(
                tarry_home, "resume", run_id[:8], "--key", name, "--input", answer, "--ahead"
            )
            assert answered.returncode == 0, answered.stderr
        out, err = script.communicate(timeout=60)

    assert script.returncode == 0, err
    told, result = out.splitlines()[:-1], out.splitlines()[-1]
    assert "  tarry resume RUN --key title-input --input '\"my report\"' --ahead" in told
    assert "  tarry resume RUN --key review-passes --input 'true' --ahead" in told
    assert result == str(FINAL)
