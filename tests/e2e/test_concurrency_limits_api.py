"""Concurrency limits over HTTP: a real server, and code holding slots on the same store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import concurrency, config, host
from tarry.concurrency.sync import concurrency as limited
from tests.e2e import live


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The API of a server (no worker) on SQLite or PostgreSQL, and its host for code here."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    hst = host.Host(config.Settings(home=tmp_path, database_url=url, sqlite_synchronous="NORMAL"))
    before = host.set_host(hst)
    try:
        with live.live_server(hst, worker=False) as base_url:
            yield f"{base_url}/api", hst
    finally:
        host.set_host(before)
        hst.close()


@pytest.fixture
def api_url(served: tuple[str, host.Host]) -> str:
    """The API base URL of `served`."""
    return served[0]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _refused(response: httpx.Response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert words in body["detail"], body


def test_make_read_change_reset_and_delete_limits(api_url: str) -> None:
    limits = f"{api_url}/concurrency-limits"
    made = _ok(
        httpx.post(limits, json={"name": "db", "limit": 5, "slot_decay_per_second": 0.5}), 201
    )
    assert (made["name"], made["tag"], made["limit"], made["active"]) == ("db", None, 5, True)
    assert (made["active_slots"], made["slot_decay_per_second"], made["holders"]) == (0, 0.5, [])
    tag = _ok(httpx.post(limits, json={"name": "tag:io", "limit": 2}), 201)
    assert (tag["name"], tag["tag"], tag["slot_decay_per_second"]) == ("tag:io", "io", 0.0)
    assert [limit["name"] for limit in _ok(httpx.get(limits))] == ["db", "tag:io"]

    # Code holds 2 slots: the API shows them, with their holder and lease.
    with limited("db", occupy=2, timeout_seconds=5):
        shown = _ok(httpx.get(f"{limits}/db"))
        assert shown["active_slots"] == 2
        [held] = shown["holders"]
        assert (held["slots"], held["run_id"]) == (2, None)
        assert held["expires_at"] > held["acquired_at"]
        reset = _ok(httpx.post(f"{limits}/db/reset"))
        assert (reset["active_slots"], reset["holders"]) == (0, [])

    changed = _ok(httpx.patch(f"{limits}/db", json={"limit": 7, "active": False}))
    assert (changed["limit"], changed["active"], changed["slot_decay_per_second"]) == (
        7,
        False,
        0.5,
    )
    # Fields left out (or null) stay.
    kept = _ok(httpx.patch(f"{limits}/db", json={"slot_decay_per_second": None}))
    assert (kept["limit"], kept["slot_decay_per_second"]) == (7, 0.5)
    assert _ok(httpx.get(f"{limits}/tag%3Aio"))["limit"] == 2
    _ok(httpx.delete(f"{limits}/db"), 204)
    _ok(httpx.delete(f"{limits}/tag:io"), 204)
    assert _ok(httpx.get(limits)) == []


def test_bad_requests_get_a_reason_and_change_nothing(served: tuple[str, host.Host]) -> None:
    api_url, hst = served
    limits = f"{api_url}/concurrency-limits"
    concurrency.create_limit("db", 2, hst=hst)
    cases: list[tuple[httpx.Response, int, str, str]] = [
        (
            httpx.post(limits, json={"name": "db", "limit": 4}),
            409,
            "concurrency_limit_refused",
            "exists",
        ),
        (httpx.post(limits, json={"name": "x", "limit": -1}), 422, "invalid_request", "limit"),
        (httpx.post(limits, json={"name": "x", "limit": True}), 422, "invalid_request", "limit"),
        (httpx.post(limits, json={"name": "x", "limit": 2**31}), 422, "invalid_request", "limit"),
        (
            httpx.post(limits, json={"name": "x", "limit": 1, "slot_decay_per_second": -1}),
            422,
            "invalid_request",
            "slot_decay_per_second",
        ),
        (httpx.post(limits, json={"name": "a/b", "limit": 1}), 422, "invalid_request", "name"),
        (httpx.post(limits, json={"name": "", "limit": 1}), 422, "invalid_request", "name"),
        (
            httpx.post(limits, json={"name": "..", "limit": 1}),
            409,
            "concurrency_limit_refused",
            "'..'",
        ),
        (
            httpx.post(limits, json={"name": " ", "limit": 1}),
            409,
            "concurrency_limit_refused",
            "1-200",
        ),
        (
            httpx.post(limits, json={"name": "tag:", "limit": 1}),
            409,
            "concurrency_limit_refused",
            "1-200",
        ),
        (httpx.post(limits, json={"name": "x"}), 422, "invalid_request", "limit"),
        (
            httpx.post(limits, json={"name": "x", "limit": 1, "size": 3}),
            422,
            "invalid_request",
            "size",
        ),
        (httpx.post(limits, content=b"{", headers=_JSON), 422, "invalid_request", "JSON"),
        (httpx.get(f"{limits}/ghost"), 404, "not_found", "no concurrency limit named 'ghost'"),
        (httpx.get(f"{limits}/a%00b"), 404, "not_found", "no concurrency limit"),
        (httpx.patch(f"{limits}/ghost", json={"limit": 1}), 404, "not_found", "'ghost'"),
        (httpx.patch(f"{limits}/db", json={"limit": -2}), 422, "invalid_request", "limit"),
        (httpx.patch(f"{limits}/db", json={"active": "maybe"}), 422, "invalid_request", "active"),
        (httpx.post(f"{limits}/ghost/reset"), 404, "not_found", "'ghost'"),
        (httpx.delete(f"{limits}/ghost"), 404, "not_found", "'ghost'"),
    ]
    for response, status, code, words in cases:
        _refused(response, status, code, words)
    assert [(lim.name, lim.limit) for lim in concurrency.list_limits(hst=hst)] == [("db", 2)]


_JSON = {"content-type": "application/json"}
