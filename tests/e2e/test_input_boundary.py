"""The input boundary on the real server, on SQLite and PostgreSQL alike.

NUL characters, numbers that are not finite, deep nesting and oversized values
get a 4xx naming what is wrong (never a 500, never stored changed), and a run
that waits keeps waiting, unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry import client as tarry_client
from tarry import config, errors, host, server
from tests.conftest import ROOT
from tests.e2e.live import live_server
from tests.polling import until

NOTE = str(ROOT / "tests" / "e2e" / "flows" / "boundary.py") + ":take_note"
DEPLOYMENT = "take-note/boundary"
JSON = {"content-type": "application/json"}


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """A server on a fresh store of each kind, with the note flow deployed."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    settings = config.Settings(
        home=tmp_path, database_url=url, resident_seconds=60, worker_poll_seconds=0.05
    )
    hst = host.Host(settings)
    server.deploy_entrypoints(hst, [NOTE])
    try:
        with live_server(hst) as base, httpx.Client(base_url=base + "/api") as client:
            yield client
    finally:
        hst.close()


def _waiting_run(client: httpx.Client) -> tuple[str, str]:
    """Start a run and wait for its note input; returns the run's and the wait's ids."""
    run_id = client.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    items = until(lambda: client.get("/inputs", params={"run_id": run_id}).json()["items"], bool)
    return run_id, items[0]["id"]


def _snapshot(client: httpx.Client, run_id: str) -> dict[str, Any]:
    """What a user sees of a run, without the clock's part (its running duration)."""
    detail = client.get(f"/runs/{run_id}").json()
    detail["run"].pop("duration_s")
    seen = {key: detail[key] for key in ("run", "steps", "transitions", "waits")}
    return {**seen, "messages": client.get(f"/runs/{run_id}/messages").json()}


def _refused(response: httpx.Response, loc: list[str | int]) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "value_refused"
    assert [e["loc"] for e in body["errors"]] == [loc]


BAD_ANSWERS = [
    pytest.param({"input": {"text": "a\x00b"}}, ["text"], id="nul-in-answer"),
    pytest.param({"input": {"extra": {"k\x00": 1}}}, ["extra", "k\x00"], id="nul-in-a-name"),
    pytest.param({"input": {"text": "ok"}, "responder": "ada\x00"}, ["responder"], id="nul-who"),
    pytest.param({"input": {"text": "x" * 70_000}}, ["text"], id="field-too-long"),
]


@pytest.mark.parametrize(("body", "loc"), BAD_ANSWERS)
def test_a_refused_answer_names_its_field_and_the_run_keeps_waiting(
    served: httpx.Client, body: dict[str, Any], loc: list[str | int]
) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)

    _refused(served.post(f"/inputs/{wait_id}/answer", json=body), loc)
    _refused(served.post(f"/runs/{run_id}/resume", json=body), loc)

    assert _snapshot(served, run_id) == before
    assert before["run"]["state"] == "Waiting"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_that_is_not_finite_is_refused_not_stored_as_null(
    served: httpx.Client, number: str
) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)

    answer = served.post(
        f"/inputs/{wait_id}/answer", content=f'{{"input": {{"score": {number}}}}}', headers=JSON
    )
    message = served.post(
        f"/runs/{run_id}/messages", content=f'{{"value": {number}}}', headers=JSON
    )

    _refused(answer, ["score"])
    _refused(message, [])
    assert "not a JSON number" in answer.json()["detail"]
    assert _snapshot(served, run_id) == before


@pytest.mark.parametrize("text", ["NaN", "inf", "1e999"])
def test_text_a_model_would_coerce_into_a_number_that_is_not_finite_is_refused(
    served: httpx.Client, text: str
) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)

    _refused(served.post(f"/inputs/{wait_id}/answer", json={"input": {"score": text}}), ["score"])

    assert _snapshot(served, run_id) == before


def test_an_answer_nested_500_levels_deep_gets_422_with_a_reason(served: httpx.Client) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)
    deep = '{"input": {"extra": ' + "[" * 500 + "]" * 500 + "}}"

    refused = served.post(f"/inputs/{wait_id}/answer", content=deep, headers=JSON)

    assert refused.status_code == 422, refused.text
    assert "nested deeper than 64 levels" in refused.json()["detail"]
    assert _snapshot(served, run_id) == before


def test_a_message_nested_too_deep_for_the_json_parser_gets_the_same_422(
    served: httpx.Client,
) -> None:
    run_id, _ = _waiting_run(served)
    deep = '{"value": ' + "[" * 100_000 + "]" * 100_000 + "}"

    refused = served.post(f"/runs/{run_id}/messages", content=deep, headers=JSON)

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "value_refused"
    assert "nested deeper than 64 levels" in refused.json()["detail"]
    assert served.get(f"/runs/{run_id}/messages").json() == []


def test_nul_in_an_id_is_not_found_and_in_a_filter_or_key_is_refused(
    served: httpx.Client,
) -> None:
    run_id, _ = _waiting_run(served)
    before = _snapshot(served, run_id)

    assert served.get("/runs/%00").status_code == 404
    assert served.get("/runs/%00/messages").status_code == 404
    assert served.get("/inputs/%00").status_code == 404
    assert served.get("/inputs", params={"run_id": "\x00"}).status_code == 404
    assert served.get("/deployments/a%00b").status_code == 404
    _refused(served.get("/runs", params={"flow": "\x00"}), ["flow"])
    _refused(served.post(f"/runs/{run_id}/messages", json={"value": 1, "key": "k\x00"}), ["key"])
    _refused(
        served.post(f"/runs/{run_id}/messages", json={"value": 1, "sender": "\x00"}), ["sender"]
    )
    _refused(served.post(f"/runs/{run_id}/messages", json={"value": ["\x00"]}), [0])
    started = {"deployment": DEPLOYMENT, "parameters": {"label": "a\x00"}}
    _refused(served.post("/runs", json=started), ["label"])

    assert _snapshot(served, run_id) == before
    assert len(served.get("/runs").json()["items"]) == 1


def test_bodies_fields_messages_and_parameters_are_bounded(served: httpx.Client) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)
    big = "x" * 60_000  # each under the field limit; ten over the value limit

    too_large = served.post(f"/inputs/{wait_id}/answer", json={"input": {"text": "y" * 1_100_000}})
    message = served.post(f"/runs/{run_id}/messages", json={"value": [big] * 10})
    parameters = served.post(
        "/runs", json={"deployment": DEPLOYMENT, "parameters": {"label": [big] * 10}}
    )

    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["code"] == "body_too_large"
    for response in (message, parameters):
        assert response.status_code == 422, response.text
        assert "at most 524288 characters of JSON" in response.json()["detail"]
    assert _snapshot(served, run_id) == before
    assert len(served.get("/runs").json()["items"]) == 1


def test_a_body_sent_in_chunks_is_bounded_too(served: httpx.Client) -> None:
    run_id, _ = _waiting_run(served)
    chunks = (b'{"value": "' + b"x" * 100_000 for _ in range(11))

    refused = served.post(f"/runs/{run_id}/messages", content=chunks, headers=JSON)

    assert refused.status_code == 413, refused.text
    assert served.get(f"/runs/{run_id}/messages").json() == []


@pytest.fixture(params=["with-token", "without-token"])
def ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    """A server on SQLite (credentials never reach the store), with or without an API token."""
    token = "s3cret" if request.param == "with-token" else ""
    hst = host.Host(config.Settings(home=tmp_path, api_token=token, worker_poll_seconds=0.05))
    server.deploy_entrypoints(hst, [NOTE])
    try:
        with live_server(hst) as base, httpx.Client(base_url=base) as client:
            yield client, token
    finally:
        hst.close()


FORM = b"application/x-www-form-urlencoded"
E_ACUTE = "\u00e9".encode()
"""`é` as UTF-8 bytes, the way a browser or curl sends it in a header."""


def test_credentials_beyond_ascii_are_refused_never_a_500(ui: tuple[httpx.Client, str]) -> None:
    client, token = ui
    bearer = client.get("/api/runs", headers={b"authorization": b"Bearer " + E_ACUTE})
    cookie = client.get("/api/runs", headers={b"cookie": b"tarry_session=" + E_ACUTE})
    csrf = {b"cookie": b"tarry_csrf=" + E_ACUTE, b"content-type": FORM}
    if token:
        csrf[b"authorization"] = f"Bearer {token}".encode()
    form = client.post("/login", content="csrf_token=%C3%A9&token=%C3%A9", headers=csrf)
    logout = client.post("/logout", content="csrf_token=%C3%A9", headers=csrf)

    expected = 401 if token else 200
    assert (bearer.status_code, cookie.status_code) == (expected, expected)
    # Without a token, /login has nothing to check and goes home.
    assert (form.status_code, logout.status_code) == (403 if token else 303, 403)
    assert "nothing was changed" in logout.text


def test_a_405_says_which_methods_the_path_takes(ui: tuple[httpx.Client, str]) -> None:
    client, token = ui
    auth = {"authorization": f"Bearer {token}"} if token else {}

    refused = client.delete("/api/runs", headers=auth)

    assert refused.status_code == 405
    assert set(refused.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert refused.json()["code"] == "method_not_allowed"


def test_the_openapi_documents_every_status_an_operation_returns(
    ui: tuple[httpx.Client, str],
) -> None:
    client, _ = ui
    paths = client.get("/api/openapi.json").json()["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"401", "413", "422"} <= documented, (method, path)
            if "{" in path:
                assert "404" in documented, (method, path)
            if "requestBody" in operation:
                assert "400" in documented, (method, path)


def test_the_client_raises_value_refused_and_the_run_keeps_waiting(served: httpx.Client) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)

    with tarry_client.Client(str(served.base_url)) as client:
        with pytest.raises(errors.ValueRefused, match="not JSON numbers"):
            client.answer_input(wait_id, {"score": math.nan})
        with pytest.raises(errors.ValueRefused, match="NUL") as refused:
            client.answer_input(wait_id, {"text": "a\x00"})

    assert refused.value.field_errors[0].loc == ("text",)
    assert _snapshot(served, run_id) == before


UI_FORMS = [
    pytest.param({"text": "a\x00b"}, "NUL character", id="nul-in-a-field"),
    pytest.param({"score": "1e999"}, "not a JSON number", id="infinite-number"),
    pytest.param({"extra": "[" * 100 + "]" * 100}, "nested deeper than 64", id="deep-json"),
    pytest.param({"text": "ok", "responder": "ada\x00"}, "NUL character", id="nul-who"),
]


@pytest.mark.parametrize(("fields", "reason"), UI_FORMS)
def test_the_ui_form_shows_what_the_boundary_refused_and_the_run_keeps_waiting(
    served: httpx.Client, fields: dict[str, str], reason: str
) -> None:
    run_id, wait_id = _waiting_run(served)
    before = _snapshot(served, run_id)
    ui = httpx.Client(base_url=str(served.base_url).rstrip("/").removesuffix("/api"))
    with ui:
        page = ui.get(f"/inputs/{wait_id}").text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        refused = ui.post(f"/inputs/{wait_id}", data={"csrf_token": csrf, **fields})

    assert refused.status_code == 422, refused.text
    assert reason in refused.text
    assert "correct the fields marked below" in refused.text
    assert _snapshot(served, run_id) == before
