"""Decisions over HTTP: Approve and Reject buttons, a readable heading, one name field."""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import Field

from tarry import approve, flow, pause_flow_run, service
from tarry.input import RunInput
from tarry.server import create_app
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness

with warnings.catch_warnings():
    # Starlette asks for `httpx2`, which is not a dependency; its TestClient works on httpx.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


class Decision(RunInput):
    approved: bool = Field(description="Approve or reject publishing the table.")
    approver: str = Field(min_length=2, max_length=80, description="Kept with the decision.")
    comments: str = Field("", max_length=500, description="Why, in a sentence (optional).")


@flow
def publish() -> str:
    return str(approve("published", "publish"))


@flow
def decide() -> str:
    found = pause_flow_run(Decision, key="approval")
    return f"{found.approved} by {found.approver}: {found.comments}"


@flow
def ask_plainly() -> str:
    return str(pause_flow_run(str))


@pytest.fixture
def ui() -> Iterator[TestHarness]:
    with tarry_test_harness(resident_seconds=3600) as harness:
        yield harness
        for run in harness.store.list_runs(records.RunFilter(limit=100)):
            if not run.state.is_final:
                service.cancel_run(run.id, by="test teardown", hst=harness.host)


@pytest.fixture
def client(ui: TestHarness) -> Iterator[TestClient]:
    with TestClient(create_app(ui.host, worker=False)) as found:
        yield found


def _waiting(ui: TestHarness, flow_: Any) -> tuple[RunHandle, records.WaitRecord]:
    run = ui.start(flow_)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [w for w in run.waits() if w.status is WaitStatus.OPEN]
        if found and run.run.state is RunState.WAITING:
            return run, found[0]
        time.sleep(0.005)
    raise AssertionError("the run never waited")


def _post(client: TestClient, wait_id: str, fields: dict[str, str]) -> tuple[int, str]:
    client.get(f"/inputs/{wait_id}")
    token = str(client.cookies["tarry_csrf"])
    sent = client.post(
        f"/inputs/{wait_id}", data={"csrf_token": token, **fields}, follow_redirects=False
    )
    return sent.status_code, sent.text


def _buttons(html: str) -> list[tuple[str, str, str]]:
    """`(name, value, label)` of each named submit button."""
    pattern = r'<button type="submit" name="([^"]+)" value="([^"]+)"[^>]*>([^<]+)</button>'
    return re.findall(pattern, html)


def test_approve_shows_approve_and_reject_and_a_comment_not_a_checkbox(
    ui: TestHarness, client: TestClient
) -> None:
    _, wait = _waiting(ui, publish)
    html = client.get(f"/inputs/{wait.id}").text
    assert "<h1>Approve: publish</h1>" in html
    assert "approve:publish" not in html.split("<main")[1]
    assert _buttons(html) == [("value", "true", "Approve"), ("value", "false", "Reject")]
    assert 'type="checkbox"' not in html
    assert 'name="comment"' in html
    assert html.count("Your name") == 1


def test_reject_stores_what_a_no_stores_and_the_comment_beside_it(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _waiting(ui, publish)
    status, _ = _post(client, wait.id, {"value": "false", "responder": "Ann"})
    assert status == 303
    run.wait_for(RunState.FAILED)
    stored = ui.store.get_wait(wait.id)
    assert stored is not None
    assert json.loads(stored.answer or "") == {"value": False}  # as resume_flow_run(id, False)
    assert "ApprovalRejected" in str(run.run.error)

    again, second = _waiting(ui, publish)
    _post(client, second.id, {"value": "false", "comment": "Too dear this quarter."})
    again.wait_for(RunState.FAILED)
    found = ui.store.get_wait(second.id)
    assert found is not None
    assert json.loads(found.answer or "") == {"value": False, "comment": "Too dear this quarter."}
    assert "Too dear this quarter." in client.get(f"/inputs/{second.id}").text


def test_a_post_without_a_decision_decides_nothing(ui: TestHarness, client: TestClient) -> None:
    run, wait = _waiting(ui, publish)
    status, html = _post(client, wait.id, {"comment": "pressed Enter"})
    assert status == 422
    assert "Field required" in html
    assert run.run.state is RunState.WAITING


def test_an_approval_model_has_buttons_and_one_name_field(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _waiting(ui, decide)
    html = client.get(f"/inputs/{wait.id}").text
    assert "<h1>Approval</h1>" in html
    assert [label for _, _, label in _buttons(html)] == ["Approve", "Reject"]
    assert html.count("Your name") == 1
    assert "Approver" not in html
    assert 'name="responder"' not in html

    status, _ = _post(client, wait.id, {"approved": "true", "approver": "Ada", "comments": "ok"})
    assert status == 303
    assert run.result() == "True by Ada: ok"
    assert (ui.store.get_wait(wait.id) or wait).responder == "Ada"


def test_a_bare_pause_is_headed_by_the_flow_and_asks_for_your_answer(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _waiting(ui, ask_plainly)
    html = client.get(f"/inputs/{wait.id}").text
    assert "<h1>ask-plainly is waiting for you</h1>" in html
    assert "Your answer" in html
    assert ">Value<" not in html
    inbox = client.get("/inbox").text
    assert "ask-plainly is waiting for you" in inbox
    assert ">pause<" not in inbox
    _post(client, wait.id, {"value": "Approve"})
    assert run.result() == "Approve"
