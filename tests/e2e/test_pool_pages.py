"""The work pool pages on the real server: counts, Pause/Resume, limits, refusals, in Chromium."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tarry import config, deployments, host, loader, service, work_pools
from tarry.definitions import Flow
from tarry.states import RunState
from tarry.storage import records
from tests.conftest import ROOT
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server

REPORT = str(ROOT / "tests" / "e2e" / "flows" / "nightly_report.py") + ":nightly_report"
GPU = "nightly-report/gpu"


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The pages over SQLite and over PostgreSQL (see `_serve`)."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    with _serve(tmp_path, url) as served:
        yield served


@pytest.fixture
def served_sqlite(tmp_path: Path) -> Iterator[tuple[str, host.Host]]:
    """The pages over SQLite (see `_serve`), for the browser."""
    with _serve(tmp_path, "") as served:
        yield served


@contextlib.contextmanager
def _serve(tmp_path: Path, database_url: str) -> Iterator[tuple[str, host.Host]]:
    """The server without a worker (runs stay Pending) and a `gpu` pool (`""`: SQLite).

    The pool has a `high` queue with two Pending runs of a deployment and one run a
    process holds, and a `low` queue; the `default` pool is there too.
    """
    hst = host.Host(config.Settings(home=tmp_path, database_url=database_url))
    flow = loader.load_object(REPORT)
    assert isinstance(flow, Flow)
    deployments.deploy(
        flow, "gpu", work_pool_name="gpu", work_queue_name="high", concurrency_limit=2, hst=hst
    )
    work_pools.update_work_queue("high", "gpu", concurrency_limit=3, hst=hst)
    work_pools.create_work_queue("low", "gpu", hst=hst)
    work_pools.update_work_pool("gpu", concurrency_limit=4, hst=hst)
    for region in ("eu", "us"):
        service.start_run(GPU, {"region": region}, hst=hst)
    hst.store.insert_run(_held_run())
    try:
        with live_server(hst, worker=False) as url:
            yield url, hst
    finally:
        hst.close()


def _held_run() -> records.RunRecord:
    """A Running run of the `high` queue that another process leases: it holds a slot."""
    return records.RunRecord(
        id=str(uuid.uuid4()),
        name="busy-bee",
        flow_name="nightly-report",
        entrypoint=REPORT,
        parameters='{"region": "eu"}',
        state=RunState.RUNNING,
        created_at=time.time() - 5,
        deployment=GPU,
        work_pool="gpu",
        work_queue="high",
        lease_owner="elsewhere:1:1",
        lease_expires_at=time.time() + 3600,
        started_at=time.time() - 4,
    )


def _csrf(http: httpx.Client, path: str) -> str:
    page = http.get(path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


def _row(html: str, queue: str) -> str:
    """The table row of one queue (the page's first pool that has it)."""
    found = re.search(rf'<tr class="queue" data-queue="{queue}">.*?</tr>', html, re.S)
    assert found is not None, f"no row for queue {queue}"
    return found.group(0)


def _text(html: str) -> str:
    """The page's text with its tags taken out and its spaces made single."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pool_card(html: str, pool: str) -> str:
    start = html.index(f'id="pool-{pool}"')
    end = html.find('<section class="card pool"', start)
    return html[start : end if end != -1 else len(html)]


# -- pages -------------------------------------------------------------------------


def test_the_list_shows_each_pool_with_its_limit_slots_pending_and_queues(
    served: tuple[str, host.Host],
) -> None:
    url, _hst = served
    with httpx.Client(base_url=url) as http:
        listed = http.get("/work-pools")

    assert listed.status_code == 200
    assert '<a href="/work-pools" aria-current="page">Work pools</a>' in listed.text
    gpu = _text(_pool_card(listed.text, "gpu"))
    assert "gpu active" in gpu
    assert "Slots in use 1 / 4 Pending 2" in gpu
    assert 'value="4"' in _pool_card(listed.text, "gpu")  # the limit field holds the limit
    high, low = _text(_row(listed.text, "high")), _text(_row(listed.text, "low"))
    assert high.startswith("high 2 active 1 / 3 2")  # priority, status, busy / limit, pending
    assert low.startswith("low 3 active 0 / ∞ (no limit) 0")
    assert "default active" in _text(_pool_card(listed.text, "default"))


def test_a_pool_page_shows_its_queues_and_the_deployments_it_runs(
    served: tuple[str, host.Host],
) -> None:
    url, _hst = served
    with httpx.Client(base_url=url) as http:
        shown = http.get("/work-pools/gpu")
        default = http.get("/work-pools/default")

    assert shown.status_code == 200
    assert "<h1>gpu</h1>" in shown.text
    assert _text(_row(shown.text, "high")).startswith("high 2 active 1 / 3 2")
    assert f'<a href="/deployments/{GPU}">{GPU}</a>' in shown.text
    assert "2 ENQUEUE" in _text(shown.text)  # the deployment's own limit and strategy
    assert "No deployment sends its runs to this pool." in default.text


def test_pause_and_resume_buttons_pause_and_resume_a_pool_and_a_queue(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    with httpx.Client(base_url=url) as http:
        token = _csrf(http, "/work-pools")
        sent = {"csrf_token": token, "back": "list"}
        paused = http.post("/work-pools/gpu/queues/high/pause", data=sent)
        after_pause = http.get(paused.headers["location"])
        queue_paused = work_pools.get_work_queue("high", "gpu", hst=hst).paused
        pool = http.post("/work-pools/gpu/pause", data={"csrf_token": token})
        pool_paused = work_pools.get_work_pool("gpu", hst=hst).paused
        http.post("/work-pools/gpu/queues/high/resume", data=sent)
        resumed = http.post("/work-pools/gpu/resume", data=sent, follow_redirects=True)

    assert (paused.status_code, paused.headers["location"]) == (303, "/work-pools#pool-gpu")
    assert queue_paused
    assert "Queue high of work pool gpu paused: its Pending runs wait" in after_pause.text
    assert "high 2 paused" in _text(_row(after_pause.text, "high"))
    assert "Resume queue high of gpu" in _text(_row(after_pause.text, "high"))
    assert (pool.status_code, pool.headers["location"]) == (303, "/work-pools/gpu")
    assert pool_paused
    assert "Work pool gpu resumed." in resumed.text
    assert "gpu active" in _text(_pool_card(resumed.text, "gpu"))
    assert not work_pools.get_work_queue("high", "gpu", hst=hst).paused
    assert not work_pools.get_work_pool("gpu", hst=hst).paused


def test_the_limit_form_sets_and_clears_a_queues_and_a_pools_limit(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    with httpx.Client(base_url=url) as http:
        token = _csrf(http, "/work-pools/gpu")
        set_queue = http.post(
            "/work-pools/gpu/queues/low/limit",
            data={"csrf_token": token, "concurrency_limit": " 5 "},
            follow_redirects=True,
        )
        low = work_pools.get_work_queue("low", "gpu", hst=hst).concurrency_limit
        zero = http.post(
            "/work-pools/gpu/limit", data={"csrf_token": token, "concurrency_limit": "0"}
        )
        pool_zero = work_pools.get_work_pool("gpu", hst=hst).concurrency_limit
        cleared = http.post(
            "/work-pools/gpu/queues/high/limit",
            data={"csrf_token": token, "concurrency_limit": ""},
            follow_redirects=True,
        )

    assert low == 5
    assert "Queue low of work pool gpu has a concurrency limit of 5." in set_queue.text
    assert "low 3 active 0 / 5" in _text(_row(set_queue.text, "low"))
    assert zero.status_code == 303
    assert pool_zero == 0
    assert "Queue high of work pool gpu has no concurrency limit." in cleared.text
    assert work_pools.get_work_queue("high", "gpu", hst=hst).concurrency_limit is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "Enter a whole number of at least 0"),
        ("many", "Enter a whole number of at least 0"),
        ("1.5", "Enter a whole number of at least 0"),
        ("\u0663", "Enter a whole number of at least 0"),  # an Arabic-Indic three
        ("1000001", "Enter at most 1,000,000"),
        ("99999999999999999999", "Enter at most 1,000,000"),
    ],
)
def test_a_refused_limit_is_shown_next_to_its_field_and_changes_nothing(
    served: tuple[str, host.Host], typed: str, message: str
) -> None:
    url, hst = served
    before = work_pools.pool_status("gpu", hst=hst)
    with httpx.Client(base_url=url) as http:
        token = _csrf(http, "/work-pools")
        on_list = http.post(
            "/work-pools/gpu/queues/high/limit",
            data={"csrf_token": token, "concurrency_limit": typed, "back": "list"},
        )
        on_pool = http.post(
            "/work-pools/gpu/limit", data={"csrf_token": token, "concurrency_limit": typed}
        )

    assert on_list.status_code == on_pool.status_code == 422
    assert "Nothing was changed: correct the limit marked below." in on_list.text
    high = _row(on_list.text, "high")
    assert f'value="{typed}"' in high
    assert 'aria-invalid="true"' in high
    assert re.search(r'<p class="field-error" id="limit-\d+-2-error">' + message, high)
    assert _row(on_list.text, "low").count("field-error") == 0
    assert "<h1>Work pools</h1>" in on_list.text
    assert "<h1>gpu</h1>" in on_pool.text
    pool_form = _pool_card(on_pool.text, "gpu").split("<table", 1)[0]
    assert f'value="{typed}"' in pool_form
    assert message in pool_form
    assert work_pools.pool_status("gpu", hst=hst) == before


def test_an_unknown_pool_queue_or_action_is_a_404_page_and_changes_nothing(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    before = work_pools.pool_status("gpu", hst=hst)
    with httpx.Client(base_url=url) as http:
        token = _csrf(http, "/work-pools")
        bad = {"csrf_token": token, "concurrency_limit": "nope"}
        answers = {
            "page": http.get("/work-pools/nowhere"),
            "nul": http.get("/work-pools/a%00b"),
            "pause": http.post("/work-pools/nowhere/pause", data={"csrf_token": token}),
            "queue": http.post("/work-pools/gpu/queues/nowhere/limit", data=bad),
            "queue of unknown pool": http.post("/work-pools/nowhere/queues/high/pause", data=bad),
            "action": http.post("/work-pools/gpu/explode", data={"csrf_token": token}),
        }

    for what, answer in answers.items():
        assert answer.status_code == 404, what
        assert answer.headers["content-type"].startswith("text/html"), what
    assert "no work pool named &#39;nowhere&#39;" in answers["page"].text
    assert "work pool &#39;gpu&#39; has no queue named &#39;nowhere&#39;" in answers["queue"].text
    assert "no work pool action &#39;explode&#39;" in answers["action"].text
    assert work_pools.pool_status("gpu", hst=hst) == before


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    served: tuple[str, host.Host],
) -> None:
    url, hst = served
    with httpx.Client(base_url=url) as http:
        http.get("/work-pools")  # the cookie is set; the form field is missing
        refused = http.post("/work-pools/gpu/pause")
        wrong = http.post("/work-pools/gpu/queues/high/limit", data={"csrf_token": "x"})

    assert refused.status_code == wrong.status_code == 403
    assert "nothing was changed" in refused.text
    assert not work_pools.get_work_pool("gpu", hst=hst).paused
    assert work_pools.get_work_queue("high", "gpu", hst=hst).concurrency_limit == 3


# -- in Chromium -------------------------------------------------------------------


def test_pause_and_resume_a_queue_then_go_from_flows_to_a_deployment_in_the_browser(
    page: Page, served_sqlite: tuple[str, host.Host]
) -> None:
    url, hst = served_sqlite
    page.goto(f"{url}/")
    page.get_by_role("link", name="Work pools").click()
    high = page.locator('tr[data-queue="high"]')
    expect(high.locator(".queue-status")).to_have_text("active")
    expect(high.locator(".queue-pending")).to_have_text("2")
    screenshot(page, "work-pools")

    page.get_by_role("button", name="Pause queue high of gpu").click()

    expect(page.get_by_text("Queue high of work pool gpu paused")).to_be_visible()
    expect(high.locator(".queue-status")).to_have_text("paused")
    assert work_pools.get_work_queue("high", "gpu", hst=hst).paused
    screenshot(page, "work-pools-queue-paused")
    page.get_by_role("button", name="Resume queue high of gpu").click()
    expect(page.get_by_text("Queue high of work pool gpu resumed.")).to_be_visible()
    expect(high.locator(".queue-status")).to_have_text("active")
    assert not work_pools.get_work_queue("high", "gpu", hst=hst).paused

    page.get_by_role("link", name="Flows").click()
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()
    screenshot(page, "flows")
    page.get_by_role("link", name=GPU).click()
    expect(page.get_by_role("heading", name=GPU)).to_be_visible()
    expect(page.get_by_role("link", name="busy-bee")).to_be_visible()
    screenshot(page, "deployment-with-pool")
    page.get_by_role("link", name="gpu", exact=True).click()
    expect(page.get_by_role("heading", name="gpu", exact=True)).to_be_visible()
