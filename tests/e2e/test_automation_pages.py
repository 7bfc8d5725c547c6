"""The Automations pages on the real server: list, detail with firings, enable/disable, new
from pasted JSON with field errors; over HTTP on both stores, and in Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tarry import automation_service, config, host
from tarry.storage import automations
from tests.conftest import ROOT
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server
from tests.e2e.test_automations_api import commit_firing

SEED_TEXT = (ROOT / "examples/automations/daily-exports.json").read_text()


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The pages over SQLite and over PostgreSQL (see `_serve`)."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    yield from _serve(tmp_path, url)


@pytest.fixture
def served_sqlite(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The pages over SQLite, for the browser."""
    yield from _serve(tmp_path, "")


def _serve(tmp_path: Path, database_url: str) -> Iterator[tuple[str, host.Host]]:
    hst = host.Host(config.Settings(home=tmp_path, database_url=database_url))
    before = host.set_host(hst)
    try:
        with live_server(hst, worker=False) as url:
            yield url, hst
    finally:
        host.set_host(before)
        hst.close()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _fire(hst: host.Host, automation_id: str) -> None:
    """A firing of two actions, one done and one failed, as the action runner leaves them."""
    event = {"event": "tarry.block.remote-file-system.write_path.called"}
    firing = automations.FiringRecord(
        "firing-1", automation_id, 1000.0, "triggered", "", json.dumps(event), "{}"
    )
    # Settled already, so the server's own action runner has nothing left to do with them.
    done, failed = automations.ActionStatus.DONE, automations.ActionStatus.FAILED
    actions = [
        automations.ActionRecord(
            "firing-1", 0, '{"type":"send-notification"}', done, 1, "mailed", 0.0, 1001.0
        ),
        automations.ActionRecord(
            "firing-1", 1, '{"type":"run-deployment"}', failed, 1, "no deployment etl/nightly",
            0.0, 1001.0,
        ),
    ]  # fmt: skip
    commit_firing(hst, firing, actions)


def _csrf(client: httpx.Client, path: str) -> str:
    html = client.get(path).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_list_detail_firings_and_refusals_over_http(served: tuple[str, host.Host]) -> None:
    url, hst = served
    made = automation_service.create_automation(SEED_TEXT, hst=hst)
    _fire(hst, made.id)
    with httpx.Client(base_url=url) as client:
        listed = _text(client.get("/automations").text)
        assert "daily-exports-done compound: all of 2 within 1h enabled" in listed
        detail = client.get(f"/automations/{made.id}").text
        assert "tarry.block.remote-file-system.write_path.called" in detail
        shown = _text(detail)
        assert "send-notification done 1 attempt mailed" in shown
        assert "run-deployment failed 1 attempt no deployment etl/nightly" in shown
        assert client.get("/automations/nobody").status_code == 404
        token = _csrf(client, "/automations/new")
        forged = client.post(f"/automations/{made.id}/disable", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert hst.store.get_automation(made.id).enabled  # type: ignore[union-attr]
        bad = json.loads(SEED_TEXT) | {"name": "other", "actions": [{"type": "launch-rocket"}]}
        refused = client.post(
            "/automations/new", data={"csrf_token": token, "document": json.dumps(bad)}
        )
        assert refused.status_code == 422
        assert "launch-rocket" in _text(refused.text)
        taken = client.post("/automations/new", data={"csrf_token": token, "document": SEED_TEXT})
        assert taken.status_code == 409
        assert [a.name for a in hst.store.list_automations()] == ["daily-exports-done"]


# -- in Chromium -------------------------------------------------------------------


def test_paste_the_seed_see_it_listed_disable_it_and_read_its_firings_in_the_browser(
    page: Page, served_sqlite: tuple[str, host.Host]
) -> None:
    url, hst = served_sqlite
    page.goto(f"{url}/")
    page.get_by_role("link", name="Automations").click()
    expect(page.get_by_role("heading", name="Automations", exact=True)).to_be_visible()
    expect(page.get_by_text("No automations.")).to_be_visible()
    page.get_by_role("link", name="New automation").click()

    # A bad document first: its field errors show next to the text, which is kept.
    bad = json.loads(SEED_TEXT) | {"trigger": {"type": "event", "within": -1}}
    page.get_by_label("JSON or YAML").fill(json.dumps(bad))
    page.get_by_role("button", name="Create").click()
    errors_shown = page.locator("#automation-document-error")
    expect(errors_shown).to_contain_text("`within` must be 0 seconds or more")
    expect(page.get_by_label("JSON or YAML")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "automation-new-refused")
    assert hst.store.list_automations() == []

    page.get_by_label("JSON or YAML").fill(SEED_TEXT)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="daily-exports-done")).to_be_visible()
    expect(page.locator(".trigger-summary")).to_have_text("compound: all of 2 within 1h")
    expect(page.locator("pre.automation-trigger")).to_contain_text("tarry.resource.role")
    expect(page.get_by_text("It has not fired yet.")).to_be_visible()

    page.get_by_role("button", name="Disable daily-exports-done").click()
    expect(page.get_by_text("Automation daily-exports-done disabled")).to_be_visible()
    expect(page.locator(".automation-enabled")).to_have_text("disabled")
    found = hst.store.get_automation("daily-exports-done")
    assert found is not None
    assert not found.enabled

    _fire(hst, found.id)
    page.get_by_role("link", name="Automations").first.click()
    row = page.locator("table.automations tr", has_text="daily-exports-done")
    expect(row.locator("td").nth(2)).to_have_text("disabled")
    expect(row.locator("td").nth(3)).not_to_have_text("never")
    row.get_by_role("button", name="Enable daily-exports-done").click()
    expect(row.locator("td").nth(2)).to_have_text("enabled")
    screenshot(page, "automations")

    row.get_by_role("link", name="daily-exports-done").click()
    firing = page.locator("table.firings tbody tr").first
    expect(firing).to_contain_text("send-notification")
    expect(firing).to_contain_text("no deployment etl/nightly")
    screenshot(page, "automation-detail")
