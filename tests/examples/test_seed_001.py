"""Seed 001: child workflows, and the four approval patterns, driven end to end.

The child-flow example runs as a script, as its docstring says; the store and the
statistics file it writes are read back. The approval patterns are deployed on a real
server on a loopback port and answered over its HTTP API; the deadline pattern runs on
the test harness's fake clock, which jumps over its hours of waiting.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import config, host, loader, serialization, server
from tarry.definitions import Flow
from tarry.states import RunState, WaitStatus
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.conftest import ROOT, query, run_python, run_tarry, subprocess_env
from tests.e2e.live import live_server
from tests.polling import until

EXAMPLES = ROOT / "examples"
APPROVALS = ("simple_approval", "conditional_approval", "multi_step_approval")
DEADLINE = EXAMPLES / "human_in_loop" / "approval_with_deadline.py"

# -- child flows ----------------------------------------------------------------------------


class _Runs:
    """The runs a script left in its store, by id."""

    def __init__(self, db: Path) -> None:
        columns = "id, flow_name, parent_id, parent_step_key, state, parameters, result"
        rows = query(db, f"SELECT {columns}, started_at, ended_at FROM runs")
        self.by_id = {str(r[0]): r for r in rows}

    def top(self, flow_name: str) -> str:
        [found] = [i for i, r in self.by_id.items() if r[1] == flow_name and r[2] is None]
        return found

    def children(self, run_id: str) -> list[str]:
        kids = [r for r in self.by_id.values() if r[2] == run_id]
        return [str(r[0]) for r in sorted(kids, key=lambda r: int(str(r[3])))]

    def flow(self, run_id: str) -> str:
        return str(self.by_id[run_id][1])

    def state(self, run_id: str) -> str:
        return str(self.by_id[run_id][4])

    def parameters(self, run_id: str) -> Any:
        return serialization.plain(json.loads(str(self.by_id[run_id][5])))

    def result(self, run_id: str) -> Any:
        return serialization.plain(json.loads(str(self.by_id[run_id][6])))

    def interval(self, run_id: str) -> tuple[float, float]:
        row = self.by_id[run_id]
        return float(str(row[7])), float(str(row[8]))


@pytest.fixture(scope="module")
def child_workflow(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, _Runs, Path]:
    """`python examples/child_flows/child_workflow.py FOLDER`: its output, runs and folder."""
    home = tmp_path_factory.mktemp("home")
    folder = tmp_path_factory.mktemp("stored")
    done = run_python(home, str(EXAMPLES / "child_flows" / "child_workflow.py"), str(folder))
    assert done.returncode == 0, done.stderr
    return done.stdout, _Runs(home / "tarry.db"), folder


def test_seed_parent_calls_three_child_flows_in_sequence(
    child_workflow: tuple[str, _Runs, Path],
) -> None:
    _, runs, _ = child_workflow
    parent = runs.top("data-pipeline")
    kids = runs.children(parent)

    assert [runs.flow(k) for k in kids] == ["validation-flow", "processing-flow", "storage-flow"]
    assert {runs.state(k) for k in [parent, *kids]} == {"Completed"}
    # Each one's start follows the previous one's end.
    assert runs.interval(kids[0])[1] <= runs.interval(kids[1])[0]
    assert runs.interval(kids[1])[1] <= runs.interval(kids[2])[0]


def test_seed_data_flows_parent_to_child_to_parent(
    child_workflow: tuple[str, _Runs, Path],
) -> None:
    _, runs, folder = child_workflow
    parent = runs.top("data-pipeline")
    validation, processing, storage = runs.children(parent)

    checked = runs.result(validation)
    assert [r["employee"] for r in checked["valid"]] == ["Ada", "Linus", "Grace"]
    assert [r["reason"] for r in checked["rejected"]] == ["no employee name"]
    assert runs.parameters(processing)["records"] == checked["valid"]
    statistics = runs.result(processing)
    assert statistics == {
        "department": "engineering",
        "employees": 3,
        "total": 27800.0,
        "mean": 9266.67,
        "minimum": 8700.0,
        "maximum": 9900.0,
    }
    assert runs.parameters(storage)["statistics"] == statistics
    assert runs.result(parent) == {
        "statistics": statistics,
        "rejected": checked["rejected"],
        "database": str(folder / "statistics.db"),
    }


def test_seed_storage_child_writes_a_real_database(
    child_workflow: tuple[str, _Runs, Path],
) -> None:
    _, runs, folder = child_workflow
    rows = query(
        folder / "statistics.db",
        "SELECT run_id, department, employees, total, mean FROM department_statistics",
    )

    # One row per storage child run: engineering twice (both parents), the others once.
    assert sorted(str(r[1]) for r in rows) == ["engineering", "engineering", "sales", "support"]
    assert {runs.flow(str(r[0])) for r in rows} == {"storage-flow"}
    by_department = {str(r[1]): r[2:] for r in rows}
    assert by_department["sales"] == (2, 13400.0, 6700.0)
    assert by_department["support"] == (3, 15100.0, 5033.33)


def test_seed_departments_run_as_parallel_children(
    child_workflow: tuple[str, _Runs, Path],
) -> None:
    stdout, runs, _ = child_workflow
    parent = runs.top("all-departments")
    departments = runs.children(parent)

    assert [runs.parameters(d)["department"] for d in departments] == [
        "engineering",
        "sales",
        "support",
    ]
    for department in departments:
        assert runs.flow(department) == "data-pipeline"
        assert [runs.flow(k) for k in runs.children(department)] == [
            "validation-flow",
            "processing-flow",
            "storage-flow",
        ]
    # Every department started before the first one finished: they ran at the same time.
    intervals = [runs.interval(d) for d in departments]
    assert max(start for start, _ in intervals) < min(end for _, end in intervals)
    report = runs.result(parent)
    assert report == {
        "departments": ["engineering", "sales", "support"],
        "employees": 8,
        "total": 56300.0,
        "mean": 7037.5,
        "largest": "engineering",
    }
    assert f"all-departments: {json.dumps(report, separators=(',', ':'))}" in stdout


# -- approvals over the HTTP API ------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    """The API of a real server with the approval examples deployed."""
    hst = host.Host(config.Settings(home=tmp_path, resident_seconds=60, worker_poll_seconds=0.05))
    entrypoints = [f"{EXAMPLES / 'human_in_loop' / name}.py:{name}" for name in APPROVALS]
    server.deploy_entrypoints(hst, entrypoints)
    try:
        with live_server(hst) as url, httpx.Client(base_url=url + "/api") as client:
            yield client
    finally:
        hst.close()


def _start(client: httpx.Client, name: str, **parameters: Any) -> str:
    deployment = f"{name}/{name}".replace("_", "-")
    started = client.post("/runs", json={"deployment": deployment, "parameters": parameters})
    assert started.status_code == 201, started.text
    run_id: str = started.json()["id"]
    return run_id


def _question(client: httpx.Client, run_id: str, name: str) -> dict[str, Any]:
    """The run's open input `name`, once the run asks it."""

    def find() -> list[dict[str, Any]]:
        items = client.get("/inputs", params={"run_id": run_id}).json()["items"]
        return [i for i in items if i["name"] == name]

    found: list[dict[str, Any]] = until(find, bool)
    return found[0]


def _answer(client: httpx.Client, question: dict[str, Any], data: dict[str, Any]) -> httpx.Response:
    responder = data.get("approver")
    body = {"input": data, "responder": responder}
    return client.post(f"/inputs/{question['id']}/answer", json=body)


def _finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = until(
        lambda: client.get(f"/runs/{run_id}").json(),
        lambda d: d["run"]["state"] in ("Completed", "Failed"),
    )
    assert detail["run"]["state"] == "Completed", detail["run"]
    return detail


def _tasks(detail: dict[str, Any]) -> list[str]:
    return [s["name"] for s in detail["steps"] if s["kind"] == "task"]


def test_seed_simple_approval_form_and_approve(api: httpx.Client) -> None:
    run_id = _start(api, "simple_approval")
    question = _question(api, run_id, "approval")
    fields = question["schema"]["properties"]
    assert fields["approved"]["type"] == "boolean"
    assert all(fields[f].get("description") for f in ("approved", "approver", "comments"))
    assert "**12,500 rows**" in question["description"]

    answered = _answer(api, question, {"approved": True, "approver": "Ada"})

    assert answered.status_code == 200, answered.text
    done = _finished(api, run_id)
    assert done["run"]["result"] == "published 12,500 rows of customers (approved by Ada)"
    assert _tasks(done) == ["request_approval", "process_data"]
    assert [w["responder"] for w in done["waits"]] == ["Ada"]


def test_seed_simple_approval_reject_cancels(api: httpx.Client) -> None:
    run_id = _start(api, "simple_approval", dataset="orders", rows=40)
    question = _question(api, run_id, "approval")

    _answer(api, question, {"approved": False, "approver": "Bob", "comments": "wrong month"})

    done = _finished(api, run_id)
    assert done["run"]["result"] == "cancelled publishing orders: rejected by Bob (wrong month)"
    assert _tasks(done) == ["request_approval", "cancel_operation"]


def test_seed_conditional_below_threshold_is_approved_automatically(api: httpx.Client) -> None:
    run_id = _start(api, "conditional_approval", amount=9500)

    done = _finished(api, run_id)

    assert done["run"]["result"] == "paid $9,500.00 to Acme Supplies (approved by auto-approval)"
    assert done["waits"] == []
    assert any("approved automatically" in line["message"] for line in done["logs"])


@pytest.mark.parametrize(
    ("approved", "result"),
    [
        (True, "paid $25,000.00 to Acme Supplies (approved by Cy)"),
        (False, "not paid: $25,000.00 to Acme Supplies rejected by Cy (no reason)"),
    ],
)
def test_seed_conditional_above_threshold_waits_for_finance(
    api: httpx.Client, approved: bool, result: str
) -> None:
    run_id = _start(api, "conditional_approval", amount=25_000)
    question = _question(api, run_id, "payment")
    assert "Pay **$25,000.00 to Acme Supplies**?" in question["description"]

    _answer(api, question, {"approved": approved, "approver": "Cy"})

    assert _finished(api, run_id)["run"]["result"] == result


def test_seed_multi_step_needs_both_gates(api: httpx.Client) -> None:
    run_id = _start(api, "multi_step_approval")
    manager = _question(api, run_id, "manager")
    assert manager["schema"]["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert _answer(api, manager, {"decision": "approve", "approver": "Mo"}).is_success

    finance = _question(api, run_id, "finance")
    assert "Manager review: approve by Mo" in finance["description"]
    refused = _answer(api, finance, {"decision": "maybe", "approver": "F"})
    assert refused.status_code == 422
    assert sorted(e["loc"] for e in refused.json()["errors"]) == [["approver"], ["decision"]]
    assert api.get(f"/runs/{run_id}").json()["run"]["state"] == "Waiting"
    assert _answer(api, finance, {"decision": "approve", "approver": "Fay"}).is_success

    done = _finished(api, run_id)
    assert done["run"]["result"] == (
        "Move billing to a new provider: approved "
        "(Manager review: approve by Mo; Finance review: approve by Fay)"
    )
    assert [(w["name"], w["responder"]) for w in done["waits"]] == [
        ("manager", "Mo"),
        ("finance", "Fay"),
    ]


def test_seed_multi_step_gate_form_in_the_web_ui(api: httpx.Client) -> None:
    run_id = _start(api, "multi_step_approval")
    manager = _question(api, run_id, "manager")

    html = httpx.get(str(api.base_url).removesuffix("api/") + f"inputs/{manager['id']}").text

    assert re.search(r'<option value="approve">approve</option>\s*<option value="reject">', html)
    assert re.search(r'name="approver"[^>]*minlength="2"[^>]*required', html)
    assert re.search(r'<textarea[^>]*name="comments"[^>]*maxlength="500"', html)
    for help_text in ("Your decision for this gate.", "required when you reject"):
        assert help_text in html
    assert "<h1>Manager review</h1>" in html  # the description's heading heads the page
    assert html.count("Your name") == 1  # the approver field, not a second name field


def test_seed_multi_step_rejection_stops_at_the_first_gate(api: httpx.Client) -> None:
    run_id = _start(api, "multi_step_approval", title="New office", budget=900_000)
    manager = _question(api, run_id, "manager")

    refused = _answer(api, manager, {"decision": "reject", "approver": "Mo"})
    assert refused.status_code == 422
    assert [(e["loc"], e["msg"]) for e in refused.json()["errors"]] == [
        (["comments"], "say why you reject")
    ]
    _answer(api, manager, {"decision": "reject", "approver": "Mo", "comments": "not this year"})

    done = _finished(api, run_id)
    assert done["run"]["result"] == "New office: rejected at manager review by Mo: not this year"
    assert [w["name"] for w in done["waits"]] == ["manager"]
    assert "carry_out" not in _tasks(done)


# -- approvals as scripts, answered from the CLI ---------------------------------------------


def _waiting_run(db: Path, script: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and script.poll() is None:
        with contextlib.suppress(sqlite3.OperationalError):  # not created yet
            found = query(db, "SELECT id FROM runs WHERE state = 'Waiting'")
            if found:
                return str(found[0][0])
        time.sleep(0.05)
    script.kill()
    raise AssertionError(f"no run waits; the script said: {script.communicate()}")


def test_seed_simple_approval_script_answered_from_the_cli(tarry_home: Path) -> None:
    script = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "human_in_loop" / "simple_approval.py")],
        env=subprocess_env(tarry_home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = _waiting_run(tarry_home / "tarry.db", script)

    listed = run_tarry(tarry_home, "inputs", "ls")
    refused = run_tarry(tarry_home, "resume", run_id[:8], "--set", "approver=A")
    answered = run_tarry(
        tarry_home, "resume", run_id[:8], "--set", "approved=true", "--set", "approver=Ada"
    )

    out, err = script.communicate(timeout=60)
    assert "approval" in listed.stdout, listed.stderr
    assert refused.returncode != 0
    assert "approver: String should have at least 2 characters" in refused.stderr
    assert answered.returncode == 0, answered.stderr
    assert script.returncode == 0, err
    assert f"tarry resume {run_id} --set approved=true --set approver=YOUR_NAME" in err
    assert out.strip() == "published 12,500 rows of customers (approved by Ada)"


def test_seed_conditional_script_below_threshold_needs_nobody(tarry_home: Path) -> None:
    done = run_python(
        tarry_home, str(EXAMPLES / "human_in_loop" / "conditional_approval.py"), "800"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "paid $800.00 to Acme Supplies (approved by auto-approval)"


# -- deadline, escalation, giving up (fake clock) -------------------------------------------


def _deadline_flow() -> Flow[..., str]:
    found: Flow[..., str] = loader.load_object(f"{DEADLINE}:approval_with_deadline")
    return found


def _next_ask(harness: TestHarness, run: RunHandle, number: int) -> None:
    """Block until the run waits on its ask `number`."""

    def asking() -> bool:
        waits = run.waits()
        return len(waits) == number and waits[-1].status is WaitStatus.OPEN

    harness.wait_until(asking)
    run.wait_for(RunState.WAITING)


def test_seed_deadline_escalates_then_approval_arrives() -> None:
    with tarry_test_harness(fake_clock=True) as harness:
        run = harness.start(_deadline_flow(), request="VPN for Ann", hours=4)
        _next_ask(harness, run, 1)
        harness.advance(4 * 3600 + 1)
        _next_ask(harness, run, 2)

        harness.answer(run.id, {"approved": True, "approver": "Dee"}, key="ask-2")

        assert run.result() == "VPN for Ann: granted by Dee"
        waits = run.waits()
        assert [(w.name, w.status) for w in waits] == [
            ("ask-1", WaitStatus.TIMED_OUT),
            ("ask-2", WaitStatus.ANSWERED),
        ]
        assert "**department head** (ask 2 of 3)" in str(waits[1].spec)
        logs = [line.message for line in harness.store.get_logs(run.id)]
        assert any("team lead did not answer within 4 h" in m for m in logs)


def test_seed_deadline_gives_up_after_three_unanswered_asks() -> None:
    with tarry_test_harness(fake_clock=True) as harness:
        run = harness.start(_deadline_flow(), request="VPN for Ann", hours=4)
        for number in (1, 2, 3):
            _next_ask(harness, run, number)
            harness.advance(4 * 3600 + 1)

        assert run.result() == (
            "VPN for Ann: gave up after 3 unanswered asks "
            "(team lead, department head, director; 4 h each)"
        )
        assert run.run.state is RunState.COMPLETED
        assert {w.status for w in run.waits()} == {WaitStatus.TIMED_OUT}
