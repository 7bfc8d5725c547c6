"""Work pools and queues over HTTP: a real server (its worker serves the default pool)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import config, deployments, host, work_pools
from tarry.engine import spec
from tests.e2e import live
from tests.e2e.test_work_pool_cli import SHOUT


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    """A server with `shout/loads` deployed to the queue `high` of the pool `etl`."""
    hst = host.Host(config.Settings(home=tmp_path, sqlite_synchronous="NORMAL"))
    try:
        flow = spec.load_flow(SHOUT)
        deployments.deploy(
            flow,
            "loads",
            work_pool_name="etl",
            work_queue_name="high",
            concurrency_limit=work_pools.ConcurrencyLimitConfig(2, "CANCEL_NEW"),
            hst=hst,
        )
        with live.live_server(hst, worker=True) as base_url:
            yield f"{base_url}/api"
    finally:
        hst.close()


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_make_change_and_delete_pools_and_queues(api_url: str) -> None:
    pools = f"{api_url}/work-pools"
    made = _ok(
        httpx.post(pools, json={"name": "gpu", "concurrency_limit": 1, "description": "big"}), 201
    )
    assert (made["name"], made["concurrency_limit"], made["paused"]) == ("gpu", 1, False)
    assert [q["name"] for q in made["queues"]] == ["default"]
    assert [p["name"] for p in _ok(httpx.get(pools))] == ["default", "etl", "gpu"]

    queue = _ok(
        httpx.post(f"{pools}/gpu/queues", json={"name": "fast", "concurrency_limit": 3}), 201
    )
    assert (queue["work_pool_name"], queue["priority"], queue["concurrency_limit"]) == (
        "gpu",
        2,
        3,
    )
    changed = _ok(httpx.patch(f"{pools}/gpu/queues/fast", json={"priority": 5, "paused": True}))
    assert (changed["priority"], changed["paused"], changed["concurrency_limit"]) == (5, True, 3)
    cleared = _ok(httpx.patch(f"{pools}/gpu/queues/fast", json={"concurrency_limit": None}))
    assert (cleared["concurrency_limit"], cleared["priority"]) == (None, 5)
    assert _ok(httpx.get(f"{pools}/gpu/queues/fast"))["paused"] is True
    assert [q["name"] for q in _ok(httpx.get(f"{pools}/gpu/queues"))] == ["default", "fast"]

    # A PATCH changes what it names: the limit stays when the body leaves it out.
    paused = _ok(httpx.patch(f"{pools}/gpu", json={"paused": True}))
    assert (paused["paused"], paused["concurrency_limit"]) == (True, 1)
    cleared_pool = _ok(httpx.patch(f"{pools}/gpu", json={"concurrency_limit": None}))
    assert (cleared_pool["paused"], cleared_pool["concurrency_limit"]) == (True, None)

    assert httpx.delete(f"{pools}/gpu/queues/fast").status_code == 204
    assert httpx.get(f"{pools}/gpu/queues/fast").status_code == 404
    assert httpx.delete(f"{pools}/gpu").status_code == 204
    assert httpx.get(f"{pools}/gpu").status_code == 404


def test_a_pool_counts_its_waiting_runs_and_runs_name_their_queue(api_url: str) -> None:
    deployment = _ok(httpx.get(f"{api_url}/deployments/shout/loads"))
    assert {k: deployment[k] for k in ("work_pool", "work_queue")} == {
        "work_pool": "etl",
        "work_queue": "high",
    }
    assert (deployment["concurrency_limit"], deployment["collision_strategy"]) == (2, "CANCEL_NEW")

    body = {"deployment": "shout/loads", "parameters": {"text": "hi"}}
    run = _ok(httpx.post(f"{api_url}/runs", json=body), 201)
    assert (run["deployment"], run["work_pool"], run["work_queue"]) == (
        "shout/loads",
        "etl",
        "high",
    )
    # The server's worker serves the default pool: the run waits in etl/high.
    etl = _ok(httpx.get(f"{api_url}/work-pools/etl"))
    assert (etl["pending"], etl["busy"]) == (1, 0)
    high = _ok(httpx.get(f"{api_url}/work-pools/etl/queues/high"))
    assert (high["pending"], high["busy"]) == (1, 0)
    listed = _ok(httpx.get(f"{api_url}/runs"))["items"]
    assert [(r["id"], r["work_pool"]) for r in listed] == [(run["id"], "etl")]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/work-pools/nope", None, 404, "not_found"),
        ("PATCH", "/work-pools/nope", {"paused": True}, 404, "not_found"),
        ("DELETE", "/work-pools/nope", None, 404, "not_found"),
        ("GET", "/work-pools/nope/queues", None, 404, "not_found"),
        ("POST", "/work-pools/nope/queues", {"name": "q"}, 404, "not_found"),
        ("GET", "/work-pools/etl/queues/nope", None, 404, "not_found"),
        ("GET", "/work-pools/nope/queues/high", None, 404, "not_found"),
        ("PATCH", "/work-pools/etl/queues/nope", {"priority": 2}, 404, "not_found"),
        ("DELETE", "/work-pools/etl/queues/nope", None, 404, "not_found"),
        ("GET", "/work-pools/a%00b", None, 404, "not_found"),
        ("POST", "/work-pools", {"name": "etl"}, 409, "work_pool_refused"),
        ("POST", "/work-pools/etl/queues", {"name": "high"}, 409, "work_pool_refused"),
        ("DELETE", "/work-pools/default", None, 409, "work_pool_refused"),
        ("DELETE", "/work-pools/etl/queues/default", None, 409, "work_pool_refused"),
        ("POST", "/work-pools", {"name": "bad name"}, 422, "invalid_request"),
        ("POST", "/work-pools", {"name": "x" * 101}, 422, "invalid_request"),
        ("POST", "/work-pools", {"name": "x", "concurrency_limit": -1}, 422, "invalid_request"),
        # JSON's true is not the number 1 (the schema says integer).
        ("POST", "/work-pools", {"name": "x", "concurrency_limit": True}, 422, "invalid_request"),
        ("POST", "/work-pools", {"name": "x", "concurrency_limit": 2**31}, 422, "invalid_request"),
        ("POST", "/work-pools", {"name": "x", "description": "a\x00b"}, 422, "invalid_request"),
        ("POST", "/work-pools", {"name": "x", "type": "process"}, 422, "invalid_request"),
        ("PATCH", "/work-pools/etl", {"concurrency_limit": -3}, 422, "invalid_request"),
        ("PATCH", "/work-pools/etl", {"paused": "maybe"}, 422, "invalid_request"),
        ("POST", "/work-pools/etl/queues", {"name": "q", "priority": 0}, 422, "invalid_request"),
        ("POST", "/work-pools/etl/queues", {"name": "q/r"}, 422, "invalid_request"),
        ("PATCH", "/work-pools/etl/queues/high", {"priority": 0}, 422, "invalid_request"),
        ("PATCH", "/work-pools/etl/queues/high", {"concurrency_limit": -1}, 422, "invalid_request"),
    ],
)
def test_wrong_requests_get_a_reason_never_a_500(
    api_url: str, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = httpx.request(method, f"{api_url}{path}", json=body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.json()["detail"]
    # Nothing was made or removed.
    names = [p["name"] for p in _ok(httpx.get(f"{api_url}/work-pools"))]
    assert names == ["default", "etl"]
    etl = _ok(httpx.get(f"{api_url}/work-pools/etl"))
    assert [q["name"] for q in etl["queues"]] == ["default", "high"]
