"""Automations over HTTP and through the client: a real server on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import config, errors, host
from tarry.client import AsyncClient, Client
from tarry.storage import automations, events
from tests.conftest import ROOT
from tests.e2e import live
from tests.polling import until

SEED: dict[str, Any] = json.loads((ROOT / "examples/automations/daily-exports.json").read_text())


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


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_the_seed_json_is_made_read_changed_and_deleted(served: tuple[str, host.Host]) -> None:
    api_url, hst = served
    base = f"{api_url}/automations"
    made = _ok(httpx.post(base, json=SEED), 201)
    assert made["name"] == "daily-exports-done"
    assert made["trigger_summary"] == "compound: all of 2 within 1h"
    child = made["trigger"]["triggers"][0]
    assert child["expect"] == ["tarry.block.remote-file-system.write_path.called"]
    assert child["match_related"]["tarry.resource.role"] == "flow"
    assert made["last_fired"] is None
    assert [a["name"] for a in _ok(httpx.get(base))] == ["daily-exports-done"]
    assert _ok(httpx.get(f"{base}/daily-exports-done"))["id"] == made["id"]

    changed = _ok(httpx.put(f"{base}/{made['id']}", json={**SEED, "description": "new"}))
    assert (changed["id"], changed["description"]) == (made["id"], "new")
    off = _ok(httpx.patch(f"{base}/daily-exports-done", json={"enabled": False}))
    assert off["enabled"] is False
    assert hst.store.get_automation(made["id"]).enabled is False  # type: ignore[union-attr]
    assert _ok(httpx.get(f"{base}/{made['id']}/firings")) == []
    _ok(httpx.delete(f"{base}/{made['id']}"), 204)
    _refused(httpx.get(f"{base}/{made['id']}"), 404, "not_found")
    assert hst.store.list_automations() == []


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ({"actions": [{"type": "launch-rocket"}]}, "actions", "launch-rocket"),
        ({"trigger": {"type": "event", "within": -5}}, "within", "0 seconds or more"),
        ({"trigger": {"type": "event", "threshold": 0}}, "threshold", "1 or more"),
        (
            {"actions": [{"type": "call-webhook", "block_document_id": "abc"}]},
            "actions",
            "blocks",
        ),
    ],
)
def test_bad_input_is_a_422_with_its_field_and_nothing_is_made(
    served: tuple[str, host.Host], change: dict[str, Any], where: str, words: str
) -> None:
    api_url, hst = served
    body = _refused(
        httpx.post(f"{api_url}/automations", json={**SEED, **change}), 422, "invalid_request"
    )
    assert any(where in map(str, e["loc"]) and words in e["msg"] for e in body["errors"]), body
    assert hst.store.list_automations() == []


def test_unknown_is_404_duplicate_is_409_and_nothing_is_a_500(
    served: tuple[str, host.Host],
) -> None:
    api_url, _ = served
    base = f"{api_url}/automations"
    for response in (
        httpx.get(f"{base}/nobody"),
        httpx.patch(f"{base}/nobody", json={"enabled": True}),
        httpx.put(f"{base}/nobody", json=SEED),
        httpx.delete(f"{base}/nobody"),
        httpx.get(f"{base}/nobody/firings"),
    ):
        assert "nobody" in _refused(response, 404, "not_found")["detail"]
    _ok(httpx.post(base, json=SEED), 201)
    taken = _refused(httpx.post(base, json=SEED), 409, "automation_name_taken")
    assert "daily-exports-done" in taken["detail"]
    odd: list[Any] = [[], "text", {**SEED, "name": "x\x00"}, {**SEED, "name": ""}]
    for each in odd:
        assert httpx.post(base, json=each).status_code == 422, each
    assert httpx.post(
        base, content=b"{not json", headers={"content-type": "application/json"}
    ).status_code in (400, 422)


def test_the_openapi_document_describes_the_routes(served: tuple[str, host.Host]) -> None:
    document = _ok(httpx.get(f"{served[0]}/openapi.json"))
    paths = document["paths"]
    assert set(paths["/api/automations"]) == {"get", "post"}
    assert set(paths["/api/automations/{ref}"]) == {"get", "put", "patch", "delete"}
    assert "404" in paths["/api/automations/{ref}/firings"]["get"]["responses"]
    assert "409" in paths["/api/automations"]["post"]["responses"]
    assert "AutomationIn" in document["components"]["schemas"]


def test_the_clients_make_read_pause_and_delete(served: tuple[str, host.Host]) -> None:
    api_url, hst = served
    with Client(api_url) as client:
        made_id = client.create_automation(SEED)
        assert client.read_automation(made_id).name == "daily-exports-done"  # type: ignore[union-attr]
        assert client.read_automation("nobody") is None
        assert [a.id for a in client.read_automations_by_name("daily-exports-done")] == [
            str(made_id)
        ]
        client.pause_automation(made_id)
        assert client.read_automations()[0].enabled is False
        client.resume_automation(made_id)
        with pytest.raises(errors.AutomationNameTaken):
            client.create_automation(SEED)
        with pytest.raises(errors.AutomationInvalid) as caught:
            client.create_automation({**SEED, "name": "x", "actions": [{"type": "nope"}]})
        assert caught.value.field_errors
        with pytest.raises(errors.AutomationNotFound):
            client.read_automation_firings("nobody")
        _fire(hst, str(made_id))
        firing = client.read_automation_firings(made_id)[0]
        assert (firing.kind, firing.actions[0].type) == ("triggered", "send-notification")

    async def async_side() -> bool:
        async with AsyncClient(api_url) as client:
            found = await client.read_automation(made_id)
            assert found is not None
            await client.update_automation(made_id, {**SEED, "description": "async"})
            await client.delete_automation(made_id)
            return await client.read_automation(made_id) is None

    assert asyncio.run(async_side())


def _fire(hst: host.Host, automation_id: str) -> None:
    firing = automations.FiringRecord("f1", automation_id, 10.0, "triggered", "", "", "{}")
    action = automations.ActionRecord("f1", 0, json.dumps(SEED["actions"][0]))
    commit_firing(hst, firing, [action])


def commit_firing(
    hst: host.Host, firing: automations.FiringRecord, actions: list[automations.ActionRecord]
) -> None:
    """Store a firing as the evaluator would; the server's own evaluator may commit between
    the read and the write, so the write is tried again on its fresh state."""
    for _ in range(50):
        state = hst.store.evaluator_state()
        commit = automations.EvaluationCommit(
            state.cursor, state.cursor, firings=[(firing, actions)], commits_before=state.commits
        )
        if hst.store.commit_evaluation(commit):
            return
    raise AssertionError("the firing could not be committed")


def test_an_automation_made_over_http_fires_on_its_event(served: tuple[str, host.Host]) -> None:
    api_url, hst = served
    document = {
        "name": "on-order",
        "trigger": {"type": "event", "expect": ["shop.order.placed"], "threshold": 2},
        "actions": [{"type": "do-nothing"}],
    }
    made = _ok(httpx.post(f"{api_url}/automations", json=document), 201)
    for n in (1, 2):
        event = events.EventRecord(
            str(uuid.uuid4()), time.time(), "shop.order.placed", {"tarry.resource.id": f"o.{n}"}
        )
        hst.store.add_events([event])
    fired = until(
        lambda: _ok(httpx.get(f"{api_url}/automations/on-order/firings")),
        lambda found: bool(found) and found[0]["actions"][0]["status"] == "done",
    )
    assert len(fired) == 1
    assert fired[0]["triggering_event"]["event"] == "shop.order.placed"
    assert _ok(httpx.get(f"{api_url}/automations/{made['id']}"))["last_fired"] is not None
