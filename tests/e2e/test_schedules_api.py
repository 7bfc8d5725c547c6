"""Schedules over HTTP: a real server (scheduler and worker on), `Client` and the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tarry import config, deployments, errors, host
from tarry.client import Client
from tarry.engine import spec
from tarry.schedules import Cron, Interval, Schedule
from tests.e2e import live
from tests.e2e.test_client import ECHO
from tests.polling import until

DEPLOYMENT = "echo/hourly"


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    hst = host.Host(config.Settings(home=tmp_path, sqlite_synchronous="NORMAL"))
    try:
        flow = spec.load_flow(ECHO)
        hourly: list[Schedule] = [
            Cron("0 * * * *", parameters={"n": 1}),
            Interval(86_400, slug="daily"),
        ]
        deployments.deploy(flow, "hourly", schedules=hourly, hst=hst)
        with live.live_server(hst, worker=True) as base_url:
            yield f"{base_url}/api"
    finally:
        hst.close()


def test_a_client_lists_schedules_and_upcoming_runs_and_pauses_one(api_url: str) -> None:
    with Client(api_url, token="") as client:
        found = client.read_deployment_schedules(DEPLOYMENT)
        assert [(s.slug, s.active) for s in found] == [("daily", True), ("schedule-1", True)]
        assert found[1].schedule == {"cron": "0 * * * *", "timezone": None}
        assert found[1].description == "cron 0 * * * * (UTC)"
        assert found[1].parameters == {"n": 1}

        upcoming = until(lambda: client.read_upcoming_runs(DEPLOYMENT), lambda u: len(u) >= 6)
        hourly = [u for u in upcoming if u.slug == "schedule-1"]
        assert len(hourly) == 3
        assert all(u.run.state.value == "Scheduled" for u in upcoming)
        assert all(u.scheduled_for.minute == 0 for u in hourly)

        paused = client.update_deployment_schedule(DEPLOYMENT, "schedule-1", active=False)
        assert not paused.active
        assert {u.slug for u in client.read_upcoming_runs(DEPLOYMENT)} == {"daily"}
        resumed = client.update_deployment_schedule(DEPLOYMENT, "schedule-1", active=True)
        assert resumed.active


def test_unknown_deployments_and_schedules_are_not_found(api_url: str) -> None:
    with Client(api_url, token="") as client:
        with pytest.raises(errors.DeploymentNotFound):
            client.read_deployment_schedules("nope/nope")
        with pytest.raises(errors.DeploymentNotFound):
            client.read_upcoming_runs("nope/nope")
        with pytest.raises(errors.ScheduleNotFound, match="it has: daily, schedule-1"):
            client.update_deployment_schedule(DEPLOYMENT, "weekly", active=False)

    refused = httpx.patch(f"{api_url}/deployments/{DEPLOYMENT}/schedules/daily", json={"on": 1})
    assert refused.status_code == 422
