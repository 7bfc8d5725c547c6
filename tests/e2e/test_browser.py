"""In Chromium: finance challenge 4 and every field kind, answered through the generated forms."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request

from tarry import config, host, server, service
from tarry.states import RunState
from tarry.storage import RunRecord
from tests.conftest import ROOT
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server

CHALLENGE_4 = str(ROOT / "examples" / "finance" / "challenge_4.py") + ":train_model"
ALL_FIELDS = str(ROOT / "tests" / "e2e" / "flows" / "all_fields.py") + ":order_everything"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The real server with finance challenge 4 and the every-field flow deployed."""
    settings = config.Settings(home=tmp_path, resident_seconds=60, worker_poll_seconds=0.05)
    hst = host.Host(settings)
    server.deploy_entrypoints(hst, [CHALLENGE_4, ALL_FIELDS])
    try:
        with live_server(hst) as url:
            yield url, hst
    finally:
        hst.close()


def _open_wait(hst: host.Host, run_id: str, name: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for item in service.list_inbox(run_id, hst=hst):
            if item.wait.name == name:
                return item.wait.id
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} never waited for {name!r}")


def _ended(hst: host.Host, run_id: str) -> RunRecord:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run = service.get_run(run_id, hst=hst)
        if run.state.is_final:
            return run
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not end")


def _posts(page: Page) -> list[str]:
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST":
            sent.append(request.url)

    page.on("request", record)
    return sent


@pytest.mark.example
def test_finance_challenge_4_in_the_browser(page: Page, served: tuple[str, host.Host]) -> None:
    url, hst = served
    run = service.start_run("train-model/challenge-4", hst=hst)
    approval = _open_wait(hst, run.id, "approval")

    page.goto(url + "/inbox")
    page.click(f"a[href='/inputs/{approval}']")
    page.select_option("select[name=decision]", "Approve")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/runs/{run.id}*")

    code_wait = _open_wait(hst, run.id, "authorization")
    page.goto(f"{url}/inputs/{code_wait}")
    posts = _posts(page)
    code = page.locator("input[name=code]")
    for bad in ("1230567", "123456", "12a4567"):
        code.fill(bad)
        page.click("button[type=submit]")
        assert code.evaluate("e => e.validity.valid") is False, bad
    assert page.url == f"{url}/inputs/{code_wait}"
    assert posts == []  # the browser refused every bad code: nothing was sent
    assert service.get_run(run.id, hst=hst).state is RunState.WAITING
    code.fill("1234567")
    page.fill("input[name=responder]", "Fin Ance")
    screenshot(page, "answer-form-challenge-4")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/runs/{run.id}*")

    assert len(posts) == 1
    done = _ended(hst, run.id)
    assert done.state is RunState.COMPLETED
    page.reload()
    assert "model trained (authorization 1234567)" in page.content()
    screenshot(page, "run-detail-challenge-4")


def test_the_same_bad_code_sent_to_the_api_gets_a_422_and_the_run_still_waits(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    run = service.start_run("train-model/challenge-4", hst=hst)
    service.submit_input(run.id, {"decision": "Approve"}, key="approval", hst=hst)
    code_wait = _open_wait(hst, run.id, "authorization")

    response = httpx.post(
        f"{url}/api/inputs/{code_wait}/answer", json={"input": {"code": "1230567"}}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["code"]
    assert service.get_run(run.id, hst=hst).state is RunState.WAITING


def test_every_field_kind_renders_and_round_trips(
    page: Page, served: tuple[str, host.Host]
) -> None:
    url, hst = served
    run = service.start_run("order-everything/all-fields", hst=hst)
    wait_id = _open_wait(hst, run.id, "pause")
    page.goto(f"{url}/inputs/{wait_id}")

    assert page.locator("h1").inner_text() == "Order"  # the description's heading heads it
    assert "<script>alert('x')</script>" in page.locator(".description").inner_text()
    assert page.locator("select[name=colour]").input_value() == "green"
    assert page.locator("input[name=quantity]").input_value() == "2"
    attrs: dict[str, Any] = page.locator("input[name=quantity]").evaluate(
        "e => ({type: e.type, min: e.min, max: e.max})"
    )
    assert attrs == {"type": "number", "min": "1", "max": "10"}
    assert page.locator("input[name=weight_kg]").evaluate("e => e.required") is True
    nickname = page.locator("input[name=nickname]")
    assert (nickname.get_attribute("minlength"), nickname.get_attribute("maxlength")) == ("2", "12")

    page.select_option("select[name=size]", "large")
    page.select_option("select[name=priority]", "3")
    page.select_option("select[name=colour]", "blue")
    page.check("input[name=gift]")
    page.fill("input[name=quantity]", "11")
    page.fill("input[name=weight_kg]", "2.5")
    page.fill("input[name=nickname]", "Bob")
    page.click("button[type=submit]")
    assert page.locator("input[name=quantity]").evaluate("e => e.validity.rangeOverflow")
    assert page.locator("input[name=nickname]").evaluate("e => e.validity.patternMismatch")
    page.fill("input[name=quantity]", "3")
    page.fill("input[name=nickname]", "bob")
    page.fill("input[name=note]", "<b>fragile</b>")
    screenshot(page, "answer-form-every-field")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/runs/{run.id}*")

    done = _ended(hst, run.id)
    assert done.state is RunState.COMPLETED
    assert service.get_run_detail(run.id, hst=hst).run.result is not None
    result = httpx.get(f"{url}/api/runs/{run.id}").json()["run"]["result"]
    assert result == {
        "size": "large",
        "priority": 3,
        "colour": "blue",
        "gift": True,
        "quantity": 3,
        "weight_kg": 2.5,
        "nickname": "bob",
        "note": "<b>fragile</b>",
    }
    page.reload()
    assert "<b>fragile</b>" in page.inner_text("body")
    screenshot(page, "run-detail-every-field")
