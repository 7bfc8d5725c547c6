"""The Concurrency pages on the real server: limits, tag limits, holders, Reset, in Chromium."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tarry import concurrency, config, flow, host, task
from tarry.concurrency.sync import concurrency as limited
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server
from tests.polling import until

_release = threading.Event()


@task(tags=["small-db"])
def query() -> str:
    """Holds a slot of the tag `small-db` until the test lets it go."""
    _release.wait(30)
    return "rows"


@flow
def report() -> str:
    """A run whose task holds a tag slot while the page is looked at."""
    return query()


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
    """A server (no worker) with limits `db` (decay 0.5, 5 slots) and `api` (off), and the
    tag limit `small-db` (3); code in this process uses the same host."""
    hst = host.Host(config.Settings(home=tmp_path, database_url=database_url))
    before = host.set_host(hst)
    concurrency.create_limit("db", 5, slot_decay_per_second=0.5, hst=hst)
    concurrency.create_limit("api", 10, active=False, hst=hst)
    concurrency.create_tag_limit("small-db", 3, hst=hst)
    try:
        with live_server(hst, worker=False) as url:
            yield url, hst
    finally:
        host.set_host(before)
        hst.close()


def _text(html: str) -> str:
    """The page's text with its tags taken out and its spaces made single."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return _text(html[start:end])


def _running_report() -> tuple[threading.Thread, str]:
    """A `report` run in a thread of this process, its task holding a `small-db` slot."""
    _release.clear()
    runner = threading.Thread(target=report)
    runner.start()
    [held] = until(lambda: concurrency.limit_holders("tag:small-db"), bool, timeout=20)
    assert held.run_id is not None
    return runner, held.run_id


def test_the_list_shows_global_limits_and_then_tag_limits(served: tuple[str, host.Host]) -> None:
    url, _hst = served
    with limited("db", occupy=2, timeout_seconds=5), httpx.Client(base_url=url) as http:
        listed = http.get("/concurrency")

    assert listed.status_code == 200
    assert '<a href="/concurrency" aria-current="page">Concurrency</a>' in listed.text
    global_limits = _section(listed.text, "global-heading")
    assert "Name Limit Active slots Slot decay per second Active" in global_limits
    assert "api 10 0 0 inactive" in global_limits
    assert "db 5 2 0.5 active" in global_limits
    assert "small-db" not in global_limits
    tags = _section(listed.text, "tags-heading")
    assert "small-db 3 0 active" in tags
    assert 'href="/concurrency/tag%3Asmall-db"' in listed.text


def test_a_limit_page_shows_who_holds_its_slots(served: tuple[str, host.Host]) -> None:
    url, hst = served
    runner, run_id = _running_report()
    try:
        with httpx.Client(base_url=url) as http:
            shown = http.get("/concurrency/tag:small-db")
    finally:
        _release.set()
        runner.join(30)

    assert shown.status_code == 200
    facts = _section(shown.text, "settings-heading")
    assert "Task tag small-db Limit 3 Active slots 1" in facts
    holders = _section(shown.text, "holders-heading")
    run = hst.store.get_run(run_id)
    assert run is not None
    # The run (linked, by name) and what in it holds the slot: its task's step.
    assert f"{run.name} {run_id[:8]}" in holders
    assert f'href="/runs/{run_id}"' in shown.text
    assert "Lease expires" in holders


def test_an_unknown_limit_is_a_404_page(served: tuple[str, host.Host]) -> None:
    url, _hst = served
    with httpx.Client(base_url=url) as http:
        missing = http.get("/concurrency/ghost")
        nul = http.get("/concurrency/a%00b")
        reset = http.post("/concurrency/ghost/reset")

    assert missing.status_code == nul.status_code == 404
    assert "no concurrency limit named &#39;ghost&#39;" in missing.text
    assert reset.status_code == 403  # no CSRF token: refused before anything is looked up


def test_reset_without_the_csrf_token_changes_nothing(served: tuple[str, host.Host]) -> None:
    url, _hst = served
    with limited("db", occupy=2, timeout_seconds=5), httpx.Client(base_url=url) as http:
        http.get("/concurrency/db")
        refused = http.post("/concurrency/db/reset", data={"csrf_token": "x"})
        assert refused.status_code == 403
        assert concurrency.get_limit("db").active_slots(time.time()) == 2


# -- in Chromium -------------------------------------------------------------------


def test_see_a_run_hold_a_tag_slot_and_reset_a_limit_in_the_browser(
    page: Page, served_sqlite: tuple[str, host.Host]
) -> None:
    url, _hst = served_sqlite
    runner, run_id = _running_report()
    try:
        with limited("db", occupy=2, timeout_seconds=5):
            page.goto(f"{url}/")
            page.get_by_role("link", name="Concurrency").click()
            expect(page.get_by_role("heading", name="Concurrency", exact=True)).to_be_visible()
            db_row = page.locator("table.limits tr", has_text="db")
            expect(db_row.locator("td").nth(2)).to_have_text("2")
            tag_row = page.locator("table.tag-limits tr", has_text="small-db")
            expect(tag_row.locator("td").nth(2)).to_have_text("1")
            screenshot(page, "concurrency")

            tag_row.get_by_role("link", name="small-db").click()
            expect(page.get_by_role("heading", name="tag:small-db")).to_be_visible()
            run = _hst.store.get_run(run_id)
            assert run is not None
            holder = page.locator("table.holders").get_by_role("link", name=run.name)
            expect(holder).to_have_attribute("href", f"/runs/{run_id}")
            screenshot(page, "concurrency-tag-holders")

            page.get_by_role("link", name="Concurrency").first.click()
            page.locator("table.limits").get_by_role("link", name="db", exact=True).click()
            expect(page.locator(".limit-active-slots")).to_have_text("2")
            page.get_by_role("button", name="Reset db").click()
            expect(page.get_by_text("Every slot of db is free")).to_be_visible()
            expect(page.locator(".limit-active-slots")).to_have_text("0")
            expect(page.get_by_text("No one holds its slots")).to_be_visible()
            assert concurrency.limit_holders("db") == []
    finally:
        _release.set()
        runner.join(30)
