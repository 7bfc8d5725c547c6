"""The Events pages on the real server: the list, its filters in the URL, keyset pages, an
event's JSON, links to runs; in Chromium and over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tarry import config, flow, host
from tarry.events import emit_event
from tarry.storage import RunFilter, events
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server


@flow
def shipping() -> str:
    emit_event("shop.order.shipped", {"tarry.resource.id": "shop.order.7"})
    return "sent"


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The pages (no worker) over SQLite and PostgreSQL; code here uses the same host."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    yield from _serve(tmp_path, url)


@pytest.fixture
def served_sqlite(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
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


def test_the_list_pages_by_keyset_with_its_filters_kept(served: tuple[str, host.Host]) -> None:
    url, _ = served
    for n in range(55):
        emit_event("shop.order.placed", {"tarry.resource.id": f"shop.order.{n}"})
    emit_event("shop.cart.filled", {"tarry.resource.id": "shop.cart.1"})

    first = httpx.get(f"{url}/events", params={"event": "shop.order.*"})
    assert first.status_code == 200
    assert "shop.order.54" in first.text
    assert "shop.cart.1" not in first.text
    older = re.search(r'href="(/events\?[^"]*cursor=\d+[^"]*)" rel="next"', first.text)
    assert older is not None
    second = httpx.get(url + older.group(1).replace("&amp;", "&"))
    assert "shop.order.4" in _text(second.text)
    assert "shop.order.54" not in second.text
    assert 'rel="next"' not in second.text.replace('<span class="btn btn-disabled"', "")


def test_a_bad_filter_shows_why_and_an_unknown_event_is_a_404(
    served: tuple[str, host.Host],
) -> None:
    url, _ = served
    bad = httpx.get(f"{url}/events", params={"event": "shop.*.placed"})
    assert bad.status_code == 422
    assert "is only at the end, for a prefix" in bad.text
    assert httpx.get(f"{url}/events/987654").status_code == 404


def test_find_a_runs_events_and_read_one_in_the_browser(
    page: Page, served_sqlite: tuple[str, host.Host]
) -> None:
    url, hst = served_sqlite
    shipping()
    [run] = hst.store.list_runs(RunFilter())

    page.goto(f"{url}/")
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
    expect(page.locator("table.events")).to_contain_text("tarry.flow-run.Completed")
    screenshot(page, "events")

    page.get_by_role("searchbox", name="Event").fill("shop.*")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/events\?event=shop\.\*"))
    rows = page.locator("table.events tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=re.compile(run.id[:8]))).to_have_attribute(
        "href", f"/runs/{run.id}"
    )

    rows.first.get_by_role("link", name="shop.order.shipped").click()
    expect(page.get_by_role("heading", name="shop.order.shipped")).to_be_visible()
    expect(page.locator(".event-json")).to_contain_text('"tarry.resource.id": "shop.order.7"')
    expect(page.locator(".event-json")).to_contain_text('"tarry.resource.role": "flow-run"')
    screenshot(page, "event")
    [stored] = hst.store.list_events(events.EventFilter(names=("shop.order.shipped",)))
    assert page.url.endswith(f"/events/{stored.seq}")
