"""Task caching across processes: two `tarry run` commands on one SQLite file, and the hit
on the run page and in the API of the real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tarry import config, host, loader
from tarry.definitions import Flow
from tarry.testing import tarry_test_harness
from tests.conftest import ROOT, query, run_tarry
from tests.e2e.live import live_server

QUOTE = str(ROOT / "tests" / "e2e" / "flows" / "cached_quote.py") + ":quote"


def _quote(home: Path, calls: Path, qty: int) -> dict[str, object]:
    done = run_tarry(
        home, "run", QUOTE, "-p", "item=pen", "-p", f"qty={qty}", "-p", f"calls_file={calls}"
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_process_gets_the_cached_result_and_the_run_page_shows_it(
    tarry_home: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    first = _quote(tarry_home, calls, 2)
    second = _quote(tarry_home, calls, 2)
    _quote(tarry_home, calls, 5)

    assert first == second == {"item": "pen", "total": 6}
    assert calls.read_text().splitlines() == ["pen x2", "pen x5"]  # the second run: no call
    rows = query(
        tarry_home / "tarry.db",
        "SELECT r.id, s.cached_from FROM runs r JOIN steps s ON s.run_id = r.id"
        " ORDER BY r.created_at",
    )
    (miss_id, no_key), (hit_id, key), _ = rows
    assert no_key is None
    assert isinstance(key, str)
    [(stored_by,)] = query(
        tarry_home / "tarry.db", "SELECT run_id FROM task_cache WHERE key = ?", key
    )
    assert stored_by == miss_id

    hst = host.Host(config.Settings(home=tarry_home))
    try:
        with live_server(hst, worker=False) as url:
            hit_page = httpx.get(f"{url}/runs/{hit_id}", timeout=10).text
            miss_page = httpx.get(f"{url}/runs/{miss_id}", timeout=10).text
            detail = httpx.get(f"{url}/api/runs/{hit_id}", timeout=10).json()
    finally:
        hst.close()

    assert 'class="badge badge-cached"' in hit_page
    assert f'title="{key}"' in hit_page
    assert f"Cache hit: key {key}" in hit_page  # the log line, on the same page
    assert "badge-cached" not in miss_page
    assert [s["cached_from"] for s in detail["steps"]] == [key]
    assert any(f"Cache hit: key {key}" in line["message"] for line in detail["logs"])


def test_the_cached_badge_shows_in_the_browser(page: Page, tmp_path: Path) -> None:
    quote = loader.load_object(QUOTE)
    assert isinstance(quote, Flow)
    calls = str(tmp_path / "calls.txt")
    with tarry_test_harness() as harness:
        harness.start(quote, "ink", 1, calls).result()
        hit = harness.start(quote, "ink", 1, calls)
        hit.result()
        with live_server(harness.host, worker=False) as url:
            page.goto(f"{url}/runs/{hit.run.id}")
            badge = page.locator(".timeline .badge-cached")

            expect(badge).to_have_count(1)
            expect(badge).to_be_visible()
            expect(badge).to_have_text("Cached")
            expect(page.get_by_text("Cache hit: key", exact=False)).to_be_visible()
