"""Inbound webhooks over HTTP: a real server turning outside requests into stored events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import config, host
from tarry.storage import events
from tests.e2e import live

PUSH = """{
  "event": "github.{{ headers['x-github-event'] }}",
  "id": "{{ headers['x-github-delivery'] }}",
  "resource": {"tarry.resource.id": "github.repo.{{ body.repository.full_name }}"},
  "payload": {"ref": {{ body.ref | tojson }}, "seen": {{ headers | tojson }}}
}"""
BODY = {"ref": "refs/heads/main", "repository": {"full_name": "acme/shop"}}


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The API of a server with an API token, on SQLite or PostgreSQL, and its host."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    settings = config.Settings(
        home=tmp_path, database_url=url, sqlite_synchronous="NORMAL", api_token="admin-token"
    )
    hst = host.Host(settings)
    try:
        with live.live_server(hst, worker=False) as base_url:
            yield f"{base_url}/api", hst
    finally:
        hst.close()


ADMIN = {"Authorization": "Bearer admin-token"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _refused(response: httpx.Response, status: int, words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert words in body["detail"], body
    return body


def _stored(hst: host.Host) -> list[events.EventRecord]:
    return hst.store.list_events(events.EventFilter(names=("github.*",)))


def _push(url: str, secret: str, delivery: str = "d-1", **headers: str) -> httpx.Response:
    sent = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, **headers}
    if secret:
        sent["X-Tarry-Webhook-Secret"] = secret
    return httpx.post(url, json=BODY, headers=sent)


def test_a_push_with_the_secret_becomes_a_stored_event(served: tuple[str, host.Host]) -> None:
    api, hst = served
    made = _ok(
        httpx.post(f"{api}/webhooks", json={"name": "gh", "template": PUSH}, headers=ADMIN), 201
    )
    assert made["url"].endswith(f"/api/webhooks/{made['slug']}")

    received = _ok(_push(made["url"], made["secret"]), 202)

    [event] = _stored(hst)
    assert (received["id"], received["event"]) == ("d-1", "github.push")
    assert (event.id, event.event, event.resource_id) == (
        "d-1",
        "github.push",
        "github.repo.acme/shop",
    )
    payload = json.loads(event.payload)
    assert payload["ref"] == "refs/heads/main"
    assert "x-tarry-webhook-secret" not in payload["seen"]  # a template never sees the secret
    assert f"tarry.webhook.{made['id']}" in event.related_ids
    # Sent again (the sender retries with its delivery id): stored once.
    _ok(_push(made["url"], made["secret"]), 202)
    assert len(_stored(hst)) == 1


def test_a_body_signed_with_the_secret_is_accepted_and_a_bad_signature_refused(
    served: tuple[str, host.Host],
) -> None:
    api, hst = served
    made = _ok(
        httpx.post(f"{api}/webhooks", json={"name": "gh", "template": PUSH}, headers=ADMIN), 201
    )
    raw = json.dumps(BODY).encode()
    good = "sha256=" + hmac.new(made["secret"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-2",
        "Content-Type": "application/json",
    }

    _ok(httpx.post(made["url"], content=raw, headers={**headers, "X-Hub-Signature-256": good}), 202)
    bad = {**headers, "X-Tarry-Webhook-Signature": "sha256=" + "0" * 64, "X-GitHub-Delivery": "d-3"}
    _refused(httpx.post(made["url"], content=raw, headers=bad), 403, "wrong")

    assert [e.id for e in _stored(hst)] == ["d-2"]


def test_a_wrong_or_missing_secret_unknown_slug_or_disabled_webhook_stores_nothing(
    served: tuple[str, host.Host],
) -> None:
    api, hst = served
    made = _ok(
        httpx.post(f"{api}/webhooks", json={"name": "gh", "template": PUSH}, headers=ADMIN), 201
    )

    _refused(_push(made["url"], ""), 401, "needs its secret")
    _refused(_push(made["url"], "not-it"), 403, "wrong")
    _refused(_push(f"{api}/webhooks/no-such-slug", made["secret"]), 404, "no webhook")
    _ok(httpx.post(f"{api}/webhooks/gh/disable", headers=ADMIN))
    _refused(_push(made["url"], made["secret"]), 409, "disabled")

    assert _stored(hst) == []
    _ok(httpx.post(f"{api}/webhooks/gh/enable", headers=ADMIN))
    _ok(_push(made["url"], made["secret"]), 202)
    assert len(_stored(hst)) == 1


def test_a_body_that_does_not_fit_the_template_is_a_422_and_stores_nothing(
    served: tuple[str, host.Host],
) -> None:
    api, hst = served
    made = _ok(
        httpx.post(f"{api}/webhooks", json={"name": "gh", "template": PUSH}, headers=ADMIN), 201
    )
    headers = {
        "X-Tarry-Webhook-Secret": made["secret"],
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d",
    }

    body = _refused(httpx.post(made["url"], json={"ref": "x"}, headers=headers), 422, "repository")
    _refused(
        httpx.post(
            made["url"], content=b"{nope", headers={**headers, "Content-Type": "application/json"}
        ),
        422,
        "not JSON",
    )

    assert body["code"] == "webhook_refused"
    assert _stored(hst) == []


def test_a_bad_template_is_refused_when_made_and_nothing_is_made(
    served: tuple[str, host.Host],
) -> None:
    api, hst = served
    no_id = '{"event": "a", "resource": {"tarry.resource.name": "{{ body.x }}"}}'

    _refused(
        httpx.post(f"{api}/webhooks", json={"name": "a", "template": "{{ oops"}, headers=ADMIN),
        422,
        "does not compile",
    )
    _refused(
        httpx.post(f"{api}/webhooks", json={"name": "b", "template": no_id}, headers=ADMIN),
        422,
        "tarry.resource.id",
    )

    assert _ok(httpx.get(f"{api}/webhooks", headers=ADMIN)) == []
    assert hst.store.list_webhooks() == []


def test_admin_routes_need_the_token_and_never_show_the_secret_again(
    served: tuple[str, host.Host],
) -> None:
    api, _ = served
    _refused(httpx.post(f"{api}/webhooks", json={"name": "gh", "template": PUSH}), 401, "token")
    made = _ok(
        httpx.post(
            f"{api}/webhooks",
            json={"name": "gh", "template": PUSH, "slug": "github"},
            headers=ADMIN,
        ),
        201,
    )

    listed = _ok(httpx.get(f"{api}/webhooks", headers=ADMIN))
    shown = _ok(httpx.get(f"{api}/webhooks/github", headers=ADMIN))
    rotated = _ok(httpx.post(f"{api}/webhooks/gh/rotate-secret", headers=ADMIN))
    changed = _ok(httpx.patch(f"{api}/webhooks/gh", json={"description": "pushes"}, headers=ADMIN))

    assert [w["slug"] for w in listed] == ["github"]
    assert "secret" not in shown
    assert "secret" not in changed
    assert rotated["secret"] != made["secret"]
    assert changed["description"] == "pushes"
    _refused(_push(made["url"], made["secret"]), 403, "wrong")  # the old secret stopped working
    _ok(_push(made["url"], rotated["secret"]), 202)
    _refused(
        httpx.post(
            f"{api}/webhooks", json={"name": "x", "template": PUSH, "slug": "github"}, headers=ADMIN
        ),
        409,
        "slug",
    )
    _ok(httpx.delete(f"{api}/webhooks/gh", headers=ADMIN), 204)
    _refused(httpx.get(f"{api}/webhooks/gh", headers=ADMIN), 404, "no webhook")


def test_form_and_text_bodies_reach_the_template(served: tuple[str, host.Host]) -> None:
    api, hst = served
    template = (
        '{"event": "github.form", "resource": {"tarry.resource.id": "github.{{ body.answer'
        ' if body is mapping else body }}"}}'
    )
    made = _ok(
        httpx.post(f"{api}/webhooks", json={"name": "f", "template": template}, headers=ADMIN), 201
    )
    secret = {"X-Tarry-Webhook-Secret": made["secret"]}

    _ok(httpx.post(made["url"], data={"answer": "yes"}, headers=secret), 202)
    _ok(
        httpx.post(
            made["url"], content=b"plain words", headers={**secret, "Content-Type": "text/plain"}
        ),
        202,
    )

    assert sorted(e.resource_id for e in _stored(hst)) == ["github.plain words", "github.yes"]


def test_the_webhook_routes_are_in_the_openapi_document(served: tuple[str, host.Host]) -> None:
    api, _ = served
    document = _ok(httpx.get(f"{api}/openapi.json"))

    receive = document["paths"]["/api/webhooks/{slug}"]["post"]
    assert {"202", "401", "403", "404", "409", "422"} <= set(receive["responses"])
    assert "text/plain" in receive["requestBody"]["content"]
    assert "/api/webhooks/{key}/rotate-secret" in document["paths"]
