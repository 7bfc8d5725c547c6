"""In Chromium: the deployments pages and the Run form, refused field by field, then started."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tarry import config, deployments, host, loader, schedules, server, service
from tarry.definitions import Flow
from tarry.states import RunState
from tests.conftest import ROOT, run_tarry
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server

REPORT = str(ROOT / "tests" / "e2e" / "flows" / "nightly_report.py") + ":nightly_report"
PIPELINE = str(ROOT / "examples" / "getting_started.py") + ":pipeline"
NAME = "nightly-report/nightly-report"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The real server with two deployments."""
    hst = host.Host(config.Settings(home=tmp_path, worker_poll_seconds=0.05))
    server.deploy_entrypoints(hst, [REPORT, PIPELINE])
    try:
        with live_server(hst) as url:
            yield url, hst
    finally:
        hst.close()


def _completed(hst: host.Host, run_id: str) -> str:
    deadline = time.monotonic() + 20
    while (run := service.get_run(run_id, hst=hst)).state is not RunState.COMPLETED:
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    assert run.result is not None
    return run.result


def test_run_a_deployment_from_the_browser_after_fixing_a_refused_parameter(
    page: Page, served: tuple[str, host.Host]
) -> None:
    url, hst = served
    page.goto(f"{url}/")
    page.get_by_role("link", name="Deployments").click()
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    page.get_by_role("link", name=NAME).click()
    expect(page.get_by_label("Days")).to_have_value("7")  # the default, filled in

    page.get_by_label("Region").fill("mars")
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.get_by_text("The run was not started")).to_be_visible()
    expect(page.get_by_text("unknown region 'mars': use eu or us")).to_be_visible()
    expect(page.get_by_label("Region")).to_have_value("mars")  # what was typed stays
    assert service.list_runs(hst=hst) == []  # nothing was created
    screenshot(page, "run-form-refused")

    page.get_by_label("Region").fill("eu")
    page.get_by_label("Days").fill("3")
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    expect(page.get_by_text(re.compile(r"Run \w+-\w+ started"))).to_be_visible()
    expect(page.locator(".badge").first).to_have_text(re.compile("Pending|Running|Completed"))
    run_id = page.url.rsplit("/", 1)[-1]
    assert _completed(hst, run_id) == '"3-day report for eu"'
    page.goto(f"{url}/deployments/{NAME}")
    expect(page.get_by_role("link", name=service.get_run(run_id, hst=hst).name)).to_be_visible()
    screenshot(page, "deployment-page")


def test_the_run_form_refuses_a_bad_post_with_422_and_creates_nothing(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    with httpx.Client(base_url=url) as http:
        page = http.get(f"/deployments/{NAME}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        posted = http.post(
            f"/deployments/{NAME}/run",
            data={"csrf_token": token.group(1), "region": "eu", "days": "many"},
        )
        missing = http.get("/deployments/no-such/deployment")

    assert posted.status_code == 422
    assert "Input should be a valid integer" in posted.text
    assert service.list_runs(hst=hst) == []
    assert missing.status_code == 404


def test_the_cli_lists_inspects_and_runs_deployments(served: tuple[str, host.Host]) -> None:
    _url, hst = served
    home = hst.settings.home

    listed = run_tarry(home, "deployment", "ls", "--json")
    inspected = run_tarry(home, "deployment", "inspect", NAME)
    refused = run_tarry(home, "deployment", "run", NAME, "-p", "region=mars")
    watched = run_tarry(home, "deployment", "run", NAME, "-p", "region=us", "--watch")
    unknown = run_tarry(home, "deployment", "run", "no/such")

    assert sorted(d["name"] for d in json.loads(listed.stdout)) == [
        "nightly-report/nightly-report",
        "pipeline/getting-started",
    ]
    assert json.loads(inspected.stdout)["parameter_schema"]["properties"]["days"]["default"] == 7
    assert refused.returncode == 1
    assert "region: Value error, unknown region 'mars'" in refused.stderr
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.splitlines()[-2:] == [
        watched.stdout.splitlines()[-2].split(":")[0] + ": Completed",
        'result: "7-day report for us"',
    ]
    assert [json.loads(r.parameters)["region"] for r in service.list_runs(hst=hst)] == ["us"]
    assert (unknown.returncode, unknown.stderr.count("\n")) == (1, 1)
    assert "no deployment named 'no/such'" in unknown.stderr


def test_a_deployments_schedule_is_shown_paused_and_resumed_in_the_browser(
    page: Page, served: tuple[str, host.Host]
) -> None:
    url, hst = served
    flow = loader.load_object(REPORT)
    assert isinstance(flow, Flow)
    deployments.deploy(
        flow, "hourly", parameters={"region": "us"}, schedules=[schedules.Interval(3600)], hst=hst
    )
    deadline = time.monotonic() + 20
    while not service.upcoming_runs("nightly-report/hourly", hst=hst):  # the server's scheduler
        assert time.monotonic() < deadline, "the scheduler made no run ahead"
        time.sleep(0.05)
    page.goto(f"{url}/deployments/nightly-report/hourly")
    expect(page.get_by_text("every 1:00:00 (UTC)")).to_be_visible()
    expect(page.locator(".upcoming li").first).to_be_visible()

    page.get_by_role("button", name="Pause schedule-1").click()

    expect(page.get_by_text("Schedule schedule-1 paused")).to_be_visible()
    expect(page.locator(".schedule .badge")).to_have_text("paused")
    expect(page.locator(".upcoming li")).to_have_count(0)
    screenshot(page, "deployment-schedule-paused")
    page.get_by_role("button", name="Resume schedule-1").click()
    expect(page.get_by_text("Schedule schedule-1 resumed")).to_be_visible()
    assert [s.active for s in service.list_schedules("nightly-report/hourly", hst=hst)] == [True]
