"""The REST API on the real server: finance challenge 4 answered over HTTP, errors, lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import config, host, server
from tarry.states import RunState
from tarry.storage import RunFilter
from tests.conftest import ROOT
from tests.e2e.live import live_server
from tests.polling import until

CHALLENGE_4 = str(ROOT / "examples" / "finance" / "challenge_4.py") + ":train_model"
DEPLOYMENT = "train-model/challenge-4"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, host.Host]]:
    """A server on a fresh SQLite file with finance challenge 4 deployed."""
    hst = host.Host(config.Settings(home=tmp_path, resident_seconds=60, worker_poll_seconds=0.05))
    server.deploy_entrypoints(hst, [CHALLENGE_4])
    try:
        with live_server(hst) as url, httpx.Client(base_url=url + "/api") as client:
            yield client, hst
    finally:
        hst.close()


def _open_input(client: httpx.Client, run_id: str, name: str) -> dict[str, Any]:
    def find() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = client.get("/inputs", params={"run_id": run_id}).json()[
            "items"
        ]
        return [i for i in items if i["name"] == name]

    found: list[dict[str, Any]] = until(find, bool)
    return found[0]


@pytest.mark.example
def test_finance_challenge_4_over_the_api(served: tuple[httpx.Client, host.Host]) -> None:
    client, _ = served
    started = client.post("/runs", json={"deployment": DEPLOYMENT})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]

    approval = _open_input(client, run_id, "approval")
    assert approval["schema"]["properties"]["decision"]["enum"] == ["Approve", "Disapprove"]
    assert "$1,500" in approval["description"]
    answered = client.post(
        f"/inputs/{approval['id']}/answer", json={"input": {"decision": "Approve"}}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["accepted"] is True

    code = _open_input(client, run_id, "authorization")
    refused = client.post(f"/inputs/{code['id']}/answer", json={"input": {"code": "1230567"}})
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "invalid_input"
    assert [e["loc"] for e in body["errors"]] == [["code"]]
    assert client.get(f"/runs/{run_id}").json()["run"]["state"] == "Waiting"

    accepted = client.post(
        f"/inputs/{code['id']}/answer", json={"input": {"code": "1234567"}, "responder": "fin"}
    )
    assert accepted.status_code == 200, accepted.text
    done = until(
        lambda: client.get(f"/runs/{run_id}").json(), lambda d: d["run"]["state"] == "Completed"
    )
    assert done["run"]["result"] == "model trained (authorization 1234567)"
    assert [w["responder"] for w in done["waits"]] == [None, "fin"]
    assert [s["kind"] for s in done["steps"]] == ["task", "wait", "wait", "task"]


def test_a_second_answer_gets_409_with_who_answered(served: tuple[httpx.Client, host.Host]) -> None:
    client, _ = served
    run_id = client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    approval = _open_input(client, run_id, "approval")
    url = f"/inputs/{approval['id']}/answer"
    assert client.post(
        url, json={"input": {"decision": "Disapprove"}, "responder": "ada"}
    ).is_success

    again = client.post(url, json={"input": {"decision": "Approve"}})

    assert again.status_code == 409
    assert again.json()["code"] == "already_answered"
    assert "ada" in again.json()["detail"]


def test_resume_answers_the_wait_the_run_is_on(served: tuple[httpx.Client, host.Host]) -> None:
    client, _ = served
    run_id = client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    _open_input(client, run_id, "approval")

    resumed = client.post(f"/runs/{run_id[:8]}/resume", json={"input": {"decision": "Disapprove"}})

    assert resumed.status_code == 200, resumed.text
    done = until(
        lambda: client.get(f"/runs/{run_id}").json()["run"], lambda r: r["state"] == "Completed"
    )
    assert done["result"] == "not approved"


def test_cancel_ends_a_waiting_run_and_empties_its_inbox_entry(
    served: tuple[httpx.Client, host.Host],
) -> None:
    client, _ = served
    run_id = client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    _open_input(client, run_id, "approval")

    cancelled = client.post(f"/runs/{run_id}/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "Cancelled"
    assert client.get("/inputs", params={"run_id": run_id}).json()["items"] == []
    again = client.post(f"/runs/{run_id}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "run_ended")


def test_suspend_takes_a_waiting_run_out_of_memory_and_an_answer_still_resumes_it(
    served: tuple[httpx.Client, host.Host],
) -> None:
    client, hst = served
    run_id = client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    approval = _open_input(client, run_id, "approval")

    suspended = client.post(f"/runs/{run_id}/suspend")

    assert suspended.status_code == 200, suspended.text
    run = hst.store.get_run(run_id)
    assert run is not None
    assert (run.state, run.lease_owner) == (RunState.WAITING, None)
    client.post(f"/inputs/{approval['id']}/answer", json={"input": {"decision": "Disapprove"}})
    until(lambda: client.get(f"/runs/{run_id}").json()["run"]["state"], lambda s: s == "Completed")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/runs/no-such-run", None, 404, "not_found"),
        ("GET", "/inputs/no-such-wait", None, 404, "not_found"),
        ("GET", "/deployments/no/such", None, 404, "not_found"),
        ("POST", "/runs", {"deployment": "no/such"}, 404, "not_found"),
        (
            "POST",
            "/runs",
            {"deployment": DEPLOYMENT, "parameters": {"x": 1}},
            422,
            "invalid_parameters",
        ),
        ("POST", "/runs", {"nope": 1}, 422, "invalid_request"),
        ("GET", "/runs?limit=0", None, 422, "invalid_request"),
        ("GET", "/runs?state=Sleeping", None, 422, "invalid_request"),
        ("POST", "/runs/no-such-run/resume", {}, 404, "not_found"),
        ("GET", "/nowhere", None, 404, "no_such_route"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(
    served: tuple[httpx.Client, host.Host],
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    client, _ = served

    response = client.request(method, path, json=body)

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_malformed_json_is_a_422_not_a_500(served: tuple[httpx.Client, host.Host]) -> None:
    client, _ = served
    response = client.post(
        "/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_lists_are_paged(served: tuple[httpx.Client, host.Host]) -> None:
    client, _ = served
    ids = [client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"] for _ in range(3)]

    first = client.get("/runs", params={"limit": 2, "flow": "train-model"}).json()
    second = client.get("/runs", params={"limit": 2, "offset": first["next_offset"]}).json()

    assert [r["id"] for r in first["items"] + second["items"]] == ids[::-1]
    assert second["next_offset"] is None
    deployments = client.get("/deployments").json()["items"]
    assert [d["name"] for d in deployments] == [DEPLOYMENT]


def test_a_token_protects_every_api_call(tmp_path: Path) -> None:
    hst = host.Host(config.Settings(home=tmp_path, api_token="s3cret"))
    try:
        with live_server(hst, worker=False) as url:
            anonymous = httpx.get(url + "/api/runs")
            wrong = httpx.get(url + "/api/runs", headers={"Authorization": "Bearer nope"})
            right = httpx.get(url + "/api/runs", headers={"Authorization": "Bearer s3cret"})
    finally:
        hst.close()
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert wrong.status_code == 401
    assert right.status_code == 200


def test_typed_results_are_plain_json_without_tags_or_server_paths(tmp_path: Path) -> None:
    hst = host.Host(config.Settings(home=tmp_path, worker_poll_seconds=0.05))
    server.deploy_entrypoints(
        hst, [str(ROOT / "tests" / "e2e" / "flows" / "echo.py") + ":summarize"]
    )
    try:
        with live_server(hst) as url, httpx.Client(base_url=url + "/api") as client:
            started = client.post(
                "/runs", json={"deployment": "summarize/echo", "parameters": {"text": "a b"}}
            )
            run_id = started.json()["id"]
            run = until(
                lambda: client.get(f"/runs/{run_id}").json()["run"],
                lambda found: found["state"] == "Completed",
            )
            page = httpx.get(f"{url}/runs/{run_id}").text
    finally:
        hst.close()
    assert run["result"] == {"text": "a b", "when": "2026-12-06", "words": ["a", "b"]}
    assert "__tarry__" not in page  # the run page shows the same plain JSON
    assert "2026-12-06" in page


def test_refused_parameters_are_named_field_by_field(
    served: tuple[httpx.Client, host.Host],
) -> None:
    client, hst = served
    before = len(hst.store.list_runs(RunFilter()))

    refused = client.post("/runs", json={"deployment": DEPLOYMENT, "parameters": {"x": 1}})

    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"loc": ["x"], "msg": "not a parameter of this flow", "type": "extra_forbidden"}
    ]
    assert len(hst.store.list_runs(RunFilter())) == before
