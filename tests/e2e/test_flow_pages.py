"""The flow pages, and where deployments and runs show their pool, on the real server."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tarry import config, deployments, host, loader, service, work_pools
from tarry.definitions import Flow
from tarry.states import RunState
from tarry.storage import records
from tests.conftest import ROOT
from tests.e2e.live import live_server

REPORT = str(ROOT / "tests" / "e2e" / "flows" / "nightly_report.py") + ":nightly_report"
ODD = "reports/weekly <b>"
"""A flow called without a deployment, whose name needs escaping in a path and a page."""


@pytest.fixture(params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, host.Host, dict[str, records.RunRecord]]]:
    """The server without a worker and two flows' runs, over SQLite and PostgreSQL.

    `nightly-report` has two deployments, `eu` (pool `gpu`, queue `high`, at most one
    run, CANCEL_NEW) and `us` (the default pool), and one Pending run of each; `ODD`
    has a Completed and a Failed run and no deployment.
    """
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    hst = host.Host(config.Settings(home=tmp_path, database_url=url))
    flow = loader.load_object(REPORT)
    assert isinstance(flow, Flow)
    deployments.deploy(
        flow,
        "eu",
        parameters={"region": "eu"},
        work_pool_name="gpu",
        work_queue_name="high",
        concurrency_limit=work_pools.ConcurrencyLimitConfig(1, "CANCEL_NEW"),
        hst=hst,
    )
    deployments.deploy(flow, "us", parameters={"region": "us"}, hst=hst)
    runs = {
        "eu": service.start_run("nightly-report/eu", hst=hst),
        "us": service.start_run("nightly-report/us", hst=hst),
        "done": _odd_run(hst, RunState.COMPLETED, "older"),
        "failed": _odd_run(hst, RunState.FAILED, "newer"),
    }
    try:
        with live_server(hst, worker=False) as url:
            yield url, hst, runs
    finally:
        hst.close()


def _odd_run(hst: host.Host, state: RunState, name: str) -> records.RunRecord:
    at = time.time() - (20 if name == "older" else 10)
    run = records.RunRecord(
        id=str(uuid.uuid4()),
        name=name,
        flow_name=ODD,
        entrypoint="tests:nothing",
        parameters="{}",
        state=state,
        created_at=at,
        started_at=at,
        ended_at=at + 1,
    )
    hst.store.insert_run(run, "made by the test")
    return run


def _text(page: str) -> str:
    """The page's text with its tags taken out and its spaces made single."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _row(page: str, link: str) -> str:
    """The table row that holds the link to `link`."""
    found = re.search(rf'<tr>(?:(?!</tr>).)*href="{re.escape(link)}".*?</tr>', page, re.S)
    assert found is not None, f"no row links {link}"
    return found.group(0)


def test_the_flows_page_lists_flows_with_deployments_last_run_and_states(
    served: tuple[str, host.Host, dict[str, records.RunRecord]],
) -> None:
    url, _hst, runs = served
    with httpx.Client(base_url=url) as http:
        listed = http.get("/flows")

    assert listed.status_code == 200
    assert '<a href="/flows" aria-current="page">Flows</a>' in listed.text
    report = _row(listed.text, "/flows/nightly-report")
    assert '<a href="/deployments/nightly-report/eu">nightly-report/eu</a>' in report
    assert '<a href="/deployments/nightly-report/us">nightly-report/us</a>' in report
    assert f'href="/runs/{runs["us"].id}"' in report  # the newest run
    assert "Pending 2" in _text(report)
    assert 'href="/runs?flow=nightly-report"' in report
    odd = _row(listed.text, "/flows/reports/weekly%20%3Cb%3E")
    assert "reports/weekly &lt;b&gt;" in odd
    assert "<b>" not in odd
    assert "none" in _text(odd)  # no deployments
    assert "newer" in _text(odd)
    assert "Failed" in _text(odd)
    assert "Completed 1 Failed 1" in _text(odd)
    assert 'href="/runs?flow=reports/weekly%20%3Cb%3E"' in odd
    assert listed.text.index("/flows/nightly-report") < listed.text.index("/flows/reports")


def test_a_flows_page_shows_its_deployments_and_recent_runs(
    served: tuple[str, host.Host, dict[str, records.RunRecord]],
) -> None:
    url, _hst, runs = served
    with httpx.Client(base_url=url) as http:
        report = http.get("/flows/nightly-report")
        odd = http.get("/flows/reports/weekly%20%3Cb%3E")
        unknown = http.get("/flows/no-such-flow")
        runs_of_odd = http.get("/runs", params={"flow": ODD})

    assert report.status_code == 200
    eu = _row(report.text, "/deployments/nightly-report/eu")
    assert '<a href="/work-pools/gpu">gpu</a> / high' in eu
    assert "Last 20 runs: Pending 2" in _text(report.text)
    for run in (runs["eu"], runs["us"]):
        row = _row(report.text, f"/runs/{run.id}")
        assert f'href="/deployments/{run.deployment}"' in row
    assert odd.status_code == 200
    assert "<h1>reports/weekly &lt;b&gt;</h1>" in odd.text
    assert "No deployments: its runs were started by calling the flow." in odd.text
    assert odd.text.index("newer") < odd.text.index("older")
    assert unknown.status_code == 404
    assert "no flow named &#39;no-such-flow&#39; has deployments or runs" in unknown.text
    assert runs["done"].id in runs_of_odd.text
    assert runs["eu"].id not in runs_of_odd.text


def test_a_deployments_page_shows_its_pool_limit_and_only_its_own_runs(
    served: tuple[str, host.Host, dict[str, records.RunRecord]],
) -> None:
    url, _hst, runs = served
    with httpx.Client(base_url=url) as http:
        eu = http.get("/deployments/nightly-report/eu")
        us = http.get("/deployments/nightly-report/us")
        listed = http.get("/deployments")

    said = _text(eu.text)
    assert "Work pool gpu , queue high" in said
    assert "Concurrency limit 1 , collision strategy CANCEL_NEW" in said
    assert "a run beyond the limit is cancelled" in said
    assert '<a href="/work-pools/gpu"><strong>gpu</strong></a>' in eu.text
    assert '<a href="/flows/nightly-report">' in eu.text
    assert runs["eu"].id in eu.text
    assert runs["us"].id not in eu.text
    assert runs["us"].id in us.text
    assert runs["eu"].id not in us.text
    assert "Work pool default , queue default" in _text(us.text)
    assert "No concurrency limit" in _text(us.text)
    row = _row(listed.text, "/deployments/nightly-report/eu")
    assert '<a href="/work-pools/gpu">gpu</a> / high' in row


def test_a_deployments_page_without_runs_says_so(
    served: tuple[str, host.Host, dict[str, records.RunRecord]],
) -> None:
    url, hst, _runs = served
    flow = loader.load_object(REPORT)
    assert isinstance(flow, Flow)
    deployments.deploy(flow, "idle", parameters={"region": "eu"}, hst=hst)
    with httpx.Client(base_url=url) as http:
        idle = http.get("/deployments/nightly-report/idle")

    assert "No runs of this deployment yet." in idle.text


def test_runs_of_a_deployment_show_it_and_their_pool_on_the_run_page_and_list(
    served: tuple[str, host.Host, dict[str, records.RunRecord]],
) -> None:
    url, _hst, runs = served
    with httpx.Client(base_url=url) as http:
        eu = http.get(f"/runs/{runs['eu'].id}")
        odd = http.get(f"/runs/{runs['done'].id}")
        listed = http.get("/runs")

    said = _text(eu.text)
    assert "Deployment nightly-report/eu" in said
    assert "Work pool gpu / high" in said
    assert '<a href="/deployments/nightly-report/eu">nightly-report/eu</a>' in eu.text
    assert '<a href="/work-pools/gpu">gpu</a>' in eu.text
    assert '<a href="/flows/nightly-report">nightly-report</a>' in eu.text
    assert "<dt>Deployment</dt>" not in odd.text
    assert "<dt>Work pool</dt>" not in odd.text
    row = _row(listed.text, f"/runs/{runs['eu'].id}")
    assert '<a href="/deployments/nightly-report/eu">nightly-report/eu</a>' in row
    assert "on gpu / high" in _text(row)
    assert "/deployments/" not in _row(listed.text, f"/runs/{runs['done'].id}")
