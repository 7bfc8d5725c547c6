"""Events over HTTP: list with filters and keyset pages, emit, one by seq, the SSE stream."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from tarry import config, flow, host
from tarry.events import emit_event
from tests.e2e import live


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The API of a server (with its worker) on SQLite or PostgreSQL, and its host."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    hst = host.Host(config.Settings(home=tmp_path, database_url=url, sqlite_synchronous="NORMAL"))
    before = host.set_host(hst)
    try:
        with live.live_server(hst) as base_url:
            yield f"{base_url}/api", hst
    finally:
        host.set_host(before)
        hst.close()


@pytest.fixture
def api_url(served: tuple[str, host.Host]) -> str:
    return served[0]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _order(n: int) -> dict[str, Any]:
    return {
        "event": "shop.order.placed",
        "resource": {"tarry.resource.id": f"shop.order.{n}"},
        "related": [{"tarry.resource.id": "shop.customer.7", "tarry.resource.role": "customer"}],
        "payload": {"n": n},
    }


def test_posted_events_are_listed_newest_first_in_keyset_pages(api_url: str) -> None:
    stored = _ok(httpx.post(f"{api_url}/events", json=[_order(n) for n in range(5)]), 201)
    assert stored["stored"] == 5

    seen: list[int] = []
    params: dict[str, Any] = {"event": "shop.*", "limit": 2}
    while True:
        page = _ok(httpx.get(f"{api_url}/events", params=params))
        seen += [e["payload"]["n"] for e in page["events"]]
        if page["next"] is None:
            break
        params["cursor"] = page["next"]

    assert seen == [4, 3, 2, 1, 0]
    again = _ok(httpx.post(f"{api_url}/events", json=_order(9) | {"id": stored["ids"][0]}), 201)
    assert again["stored"] == 0


def test_filters_by_resource_related_and_time(api_url: str) -> None:
    _ok(httpx.post(f"{api_url}/events", json=[_order(1), _order(12)]), 201)
    other = {"event": "shop.cart.filled", "resource": {"prefect.resource.id": "shop.cart.1"},
             "occurred": "2020-01-01T00:00:00Z"}  # fmt: skip
    _ok(httpx.post(f"{api_url}/events", json=other), 201)

    def ids(**params: Any) -> list[str]:
        found = _ok(httpx.get(f"{api_url}/events", params=params))["events"]
        return sorted(e["resource"]["tarry.resource.id"] for e in found)

    assert ids(resource="shop.order.1") == ["shop.order.1"]
    assert ids(resource="shop.order.*") == ["shop.order.1", "shop.order.12"]
    assert ids(related="shop.customer.7") == ["shop.order.1", "shop.order.12"]
    assert ids(event="shop.*", until="2021-01-01T00:00:00Z") == ["shop.cart.1"]
    assert ids(event="shop.*", since="2021-01-01T00:00:00Z") == ["shop.order.1", "shop.order.12"]


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"since": "yesterday"}, "since"),
        ({"event": "shop.*.placed"}, "event"),
        ({"related": "shop\x00"}, "related"),
        ({"limit": 0}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"until": "inf"}, "until"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(api_url: str, params: dict[str, Any], where: str) -> None:
    response = httpx.get(f"{api_url}/events", params=params)

    assert response.status_code == 422, response.text
    assert where in [part for e in response.json()["errors"] for part in map(str, e["loc"])]


def test_a_posted_event_that_does_not_fit_is_a_422_and_none_is_stored(api_url: str) -> None:
    bad = [_order(1), {"event": "shop.x", "resource": {"tarry.resource.name": "no id"}}]
    response = httpx.post(f"{api_url}/events", json=bad)

    assert response.status_code == 422, response.text
    assert "tarry.resource.id" in response.text
    listed = _ok(httpx.get(f"{api_url}/events", params={"event": "shop.*"}))
    assert listed["events"] == []
    nan = httpx.post(
        f"{api_url}/events",
        content=json.dumps(_order(1) | {"payload": {"x": float("nan")}}),
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422, nan.text


@flow
def hello() -> str:
    return "hi"


def test_a_run_started_over_the_api_has_its_state_events(served: tuple[str, host.Host]) -> None:
    api_url, _ = served
    hello()
    [run] = _ok(httpx.get(f"{api_url}/runs"))["items"]
    found = _ok(httpx.get(f"{api_url}/events", params={"resource": f"tarry.flow-run.{run['id']}"}))
    names = [e["event"] for e in found["events"]]
    assert names[0] == "tarry.flow-run.Completed"
    one = _ok(httpx.get(f"{api_url}/events/{found['events'][0]['seq']}"))
    assert one["resource"]["tarry.resource.name"] == run["name"]
    assert httpx.get(f"{api_url}/events/999999").status_code == 404


def _frames(
    api_url: str, params: dict[str, Any], want: int, **headers: str
) -> list[dict[str, Any]]:
    """Read the stream until `want` events came (or 10 s passed)."""
    found: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{api_url}/events/stream", params=params, headers=headers, timeout=10
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        seq = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            if line.startswith("data: "):
                found.append(json.loads(line[6:]) | {"_id": seq})
                if len(found) >= want:
                    break
    return found


def test_the_stream_sends_new_events_as_they_are_stored(served: tuple[str, host.Host]) -> None:
    api_url, hst = served
    emit_event("shop.order.before", {"tarry.resource.id": "shop.1"})  # at `after`: not sent
    after = hst.store.last_event_seq()
    results: list[list[dict[str, Any]]] = []
    params = {"event": "shop.order.*", "after": after}
    reader = threading.Thread(target=lambda: results.append(_frames(api_url, params, 2)))
    reader.start()
    _wait_for_stream_to_start()
    emit_event("shop.other", {"tarry.resource.id": "shop.2"})  # filtered out
    emit_event("shop.order.placed", {"tarry.resource.id": "shop.order.1"})
    emit_event("shop.order.paid", {"tarry.resource.id": "shop.order.1"})
    reader.join(15)

    [frames] = results
    assert [f["event"] for f in frames] == ["shop.order.placed", "shop.order.paid"]
    assert frames[0]["_id"] == frames[0]["seq"]


def test_the_stream_resumes_after_last_event_id(api_url: str) -> None:
    posted = [_order(n) | {"id": str(uuid.uuid4())} for n in range(3)]
    _ok(httpx.post(f"{api_url}/events", json=posted), 201)
    listed = _ok(httpx.get(f"{api_url}/events", params={"event": "shop.*"}))["events"]
    first_seq = listed[-1]["seq"]

    frames = _frames(api_url, {"event": "shop.*"}, 2, **{"Last-Event-ID": str(first_seq)})

    assert [f["payload"]["n"] for f in frames] == [1, 2]


def test_an_idle_stream_sends_heartbeats(api_url: str) -> None:
    with httpx.stream(
        "GET", f"{api_url}/events/stream", params={"heartbeat": 0.2}, timeout=10
    ) as response:
        lines = response.iter_lines()
        beats = [line for line, _ in zip(lines, range(6), strict=False) if "heartbeat" in line]
    assert beats


def _wait_for_stream_to_start() -> None:
    # Not needed for what is read (the stream starts at `after`): the events come while
    # it waits for them, as they would in use.
    threading.Event().wait(0.5)


def test_the_client_emits_reads_and_follows_events(api_url: str) -> None:
    import asyncio

    from tarry.client import AsyncClient, Client

    with Client(api_url) as client:
        sent = client.emit_event(
            "prefect.shop.placed", {"prefect.resource.id": "shop.order.5"}, payload={"n": 5}
        )
        page = client.read_events("tarry.shop.*")
        assert [e.id for e in page.events] == [sent.id]
        assert page.events[0].resource.id == "shop.order.5"
        with pytest.raises(pydantic.ValidationError):
            client.emit_event("shop.x", {"tarry.resource.name": "no id"})
        start = page.events[0].seq
        client.emit_event("tarry.shop.paid", {"tarry.resource.id": "shop.order.5"})
        followed = next(iter(client.stream_events("tarry.shop.*", after=start)))
        assert followed.event == "tarry.shop.paid"

    async def follow() -> list[str]:
        async with AsyncClient(api_url) as aclient:
            older = await aclient.read_events(resource="shop.order.5", limit=1)
            assert older.next is not None
            names = []
            async for found in aclient.stream_events(resource="shop.*", after=0):
                names.append(found.event)
                if len(names) == 2:
                    break
            return names

    assert asyncio.run(follow()) == ["tarry.shop.placed", "tarry.shop.paid"]
