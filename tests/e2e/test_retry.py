"""Retry continues a failed run from its journal; Rerun starts a new one: UI, API, CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tarry import config, errors, host, server, service
from tarry.client import Client
from tarry.states import RunState
from tarry.storage import RunRecord
from tests.conftest import ROOT, run_tarry
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server

FLAKY = str(ROOT / "tests" / "e2e" / "flows" / "flaky_etl.py") + ":flaky_etl"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The real server with the flaky ETL deployed."""
    hst = host.Host(config.Settings(home=tmp_path, worker_poll_seconds=0.05))
    server.deploy_entrypoints(hst, [FLAKY])
    try:
        with live_server(hst) as url:
            yield url, hst
    finally:
        hst.close()


def _in_state(hst: host.Host, run_id: str, state: RunState) -> RunRecord:
    deadline = time.monotonic() + 20
    while (run := service.get_run(run_id, hst=hst)).state is not state:
        assert time.monotonic() < deadline, f"run is {run.state}, never {state}: {run}"
        time.sleep(0.02)
    return run


def _failed_run(hst: host.Host, tmp_path: Path) -> tuple[RunRecord, Path, Path]:
    log, ready = tmp_path / "extract.log", tmp_path / "ready"
    run = service.start_run("flaky-etl/flaky-etl", {"log": str(log), "ready": str(ready)}, hst=hst)
    return _in_state(hst, run.id, RunState.FAILED), log, ready


def test_retry_in_the_browser_keeps_the_finished_steps(
    page: Page, served: tuple[str, host.Host], tmp_path: Path
) -> None:
    url, hst = served
    failed, log, ready = _failed_run(hst, tmp_path)
    page.goto(f"{url}/runs/{failed.id}")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()

    ready.touch()  # the warehouse is back
    page.get_by_role("button", name="Retry").click()

    expect(page.get_by_text("Run retried")).to_be_visible()
    done = _in_state(hst, failed.id, RunState.COMPLETED)
    page.reload()
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    screenshot(page, "run-retried")
    assert (done.result, done.attempt, done.ended_at is not None) == ("42", 2, True)
    assert log.read_text(encoding="utf-8") == "extracted\n"  # the extract step ran once


def test_rerun_in_the_browser_starts_a_new_run_with_the_same_parameters(
    page: Page, served: tuple[str, host.Host], tmp_path: Path
) -> None:
    url, hst = served
    failed, log, ready = _failed_run(hst, tmp_path)
    ready.touch()
    page.goto(f"{url}/runs/{failed.id}")

    page.get_by_role("button", name="Rerun").click()

    expect(page.get_by_text("A new run with the same parameters has started")).to_be_visible()
    fresh_id = page.url.rsplit("/", 1)[-1]
    assert fresh_id != failed.id
    fresh = _in_state(hst, fresh_id, RunState.COMPLETED)
    assert fresh.parameters == failed.parameters
    assert service.get_run(failed.id, hst=hst).state is RunState.FAILED
    assert log.read_text(encoding="utf-8") == "extracted\nextracted\n"  # a new run, all steps


def test_the_api_retries_only_failed_top_level_runs(
    served: tuple[str, host.Host], tmp_path: Path
) -> None:
    url, hst = served
    failed, log, ready = _failed_run(hst, tmp_path)
    with Client(f"{url}/api") as client:
        ready.touch()
        retried = client.retry_flow_run(failed.name)  # a run's name will do
        assert (retried.id, retried.state, retried.attempt) == (failed.id, RunState.PENDING, 2)
        _in_state(hst, failed.id, RunState.COMPLETED)

        with pytest.raises(errors.NotRetryable, match="is Completed: only a Failed or Crashed"):
            client.retry_flow_run(failed.id)
    assert log.read_text(encoding="utf-8") == "extracted\n"


def test_the_cli_retries_a_run_and_refuses_one_that_is_not_failed(
    served: tuple[str, host.Host], tmp_path: Path
) -> None:
    _url, hst = served
    failed, log, ready = _failed_run(hst, tmp_path)
    ready.touch()
    home = hst.settings.home

    retried = run_tarry(home, "runs", "retry", failed.id[:8])
    _in_state(hst, failed.id, RunState.COMPLETED)
    again = run_tarry(home, "runs", "retry", failed.id)

    assert retried.returncode == 0, retried.stderr
    assert f"retried run {failed.name} ({failed.id}): attempt 2" in " ".join(retried.stdout.split())
    assert again.returncode == 1
    assert "is Completed: only a Failed or Crashed run is retried" in " ".join(again.stderr.split())
    assert log.read_text(encoding="utf-8") == "extracted\n"
