"""The web UI, driven over HTTP as a browser without JavaScript would drive it."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest

from tarry import flow, get_run_logger, pause_flow_run, receive_input, send_input, service, task
from tarry.definitions import Flow
from tarry.input import RunInput
from tarry.server import create_app
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness

with warnings.catch_warnings():
    # Starlette asks for `httpx2`, which is not a dependency; its TestClient works on httpx.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert("


class ShirtOrder(RunInput):
    size: Literal["S", "M", "L"] = pydantic.Field(description="Shirt size")
    gift: bool = pydantic.Field(False, description="Wrap it as a present")
    quantity: int = pydantic.Field(1, ge=1, le=10, description="How many shirts")
    code: str = pydantic.Field(
        pattern=r"^[A-Z]{3}-[0-9]{2}$", min_length=6, max_length=6, description="Voucher code"
    )
    note: str | None = pydantic.Field(None, description="A note for the card")

    @pydantic.model_validator(mode="after")
    def gifts_need_a_note(self) -> ShirtOrder:
        if self.gift and not self.note:
            raise ValueError("a gift needs a note for the card")
        return self


DESCRIPTION = (
    "## Pick a **shirt**\n\n"
    f"Sizes run small. {XSS}\n\n"
    "See [the size guide](https://example.com/sizes) or [this](javascript:alert(1))."
)


@task
def prepare(customer: str) -> str:
    get_run_logger().info("preparing an order for %s", customer)
    return f"basket of {customer}"


@flow
def shirt_shop(customer: str) -> str:
    prepare(customer)
    order = pause_flow_run(ShirtOrder.with_initial_data(DESCRIPTION, quantity=2))
    return f"{order.quantity} x {order.size} ({order.code})"


@flow
def double(x: int) -> int:
    return x * 2


@flow
def parent_with_pause() -> int:
    doubled = double(21)
    pause_flow_run()
    return doubled


@pytest.fixture
def ui() -> Iterator[TestHarness]:
    """A host whose waits stay in memory; time moves only on `advance`."""
    with tarry_test_harness(resident_seconds=3600, fake_clock=True) as h:
        yield h
        # A run left waiting would keep its thread, and pytest, alive for ever; and
        # the store must outlive the threads that unwind after the cancel.
        for run in h.store.list_runs(records.RunFilter(limit=1000)):
            if not run.state.is_final:
                service.cancel_run(run.id, by="test teardown", hst=h.host)
        while _started:
            with contextlib.suppress(Exception):  # the test saw how it ended
                _started.pop().result(timeout=10)


_started: list[RunHandle] = []


def _start(ui: TestHarness, flow_: Flow[..., Any], *args: Any) -> RunHandle:
    """Start a run in the background; the `ui` fixture ends it after the test."""
    handle = ui.start(flow_, *args)
    _started.append(handle)
    return handle


@pytest.fixture
def client(ui: TestHarness) -> Iterator[TestClient]:
    with TestClient(create_app(ui.host, worker=False)) as c:
        yield c


def _waiting(run: RunHandle) -> records.WaitRecord:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [w for w in run.waits() if w.status is WaitStatus.OPEN]
        if found and run.run.state is RunState.WAITING:
            return found[0]
        time.sleep(0.005)
    raise AssertionError(f"run {run.id} never waited")


def _shop(ui: TestHarness, customer: str = "Ann") -> tuple[RunHandle, records.WaitRecord]:
    run = _start(ui, shirt_shop, customer)
    return run, _waiting(run)


def _csrf(client: TestClient, path: str) -> str:
    """Open a page as a browser would and return the CSRF token its forms carry."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = str(client.cookies["tarry_csrf"])
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is None or found.group(1) == token
    return token


def _control(html: str, name: str) -> str:
    """The opening tag of the form control named `name`."""
    found = re.search(rf'<(input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert found, f"no control named {name}"
    return found.group(0)


def _field_block(html: str, name: str) -> str:
    """The markup of the field holding the control `name` (up to the next field)."""
    start = html.index(_control(html, name))
    block_start = html.rindex('<div class="field', 0, start)
    block_end = html.find('<div class="field', start)
    return html[block_start : block_end if block_end != -1 else len(html)]


def _answer(
    client: TestClient, wait_id: str, fields: dict[str, str], *, follow: bool = False
) -> tuple[int, str, str]:
    token = _csrf(client, f"/inputs/{wait_id}")
    sent = client.post(
        f"/inputs/{wait_id}", data={"csrf_token": token, **fields}, follow_redirects=follow
    )
    return sent.status_code, sent.headers.get("location", ""), sent.text


def _insert_runs(ui: TestHarness, count: int, flow_name: str, state: RunState) -> list[str]:
    ids = []
    start = time.time() - count
    for i in range(count):
        run = records.RunRecord(
            id=str(uuid.uuid4()),
            name=f"{flow_name}-{i:03d}",
            flow_name=flow_name,
            entrypoint="tests:nothing",
            parameters="{}",
            state=state,
            created_at=start + i,
            state_reason="made by the test",
        )
        ui.store.insert_run(run, "made by the test")
        ids.append(run.id)
    return ids


# -- run list ---------------------------------------------------------------------------


def test_run_list_shows_runs_newest_first_with_state_badges(
    ui: TestHarness, client: TestClient
) -> None:
    ids = _insert_runs(ui, 3, "nightly", RunState.COMPLETED)
    run, _ = _shop(ui)

    page = client.get("/runs")

    assert page.status_code == 200
    html = page.text
    assert html.index(run.run.name) < html.index("nightly-002") < html.index("nightly-000")
    assert f'href="/runs/{ids[0]}"' in html
    assert ids[0][:8] in html
    assert '<span class="badge badge-waiting">Waiting</span>' in html
    assert '<span class="badge badge-completed">Completed</span>' in html
    assert "made by the test" in html  # the state reason
    assert 'hx-trigger="every 3s"' in html  # htmx refreshes the list in place


def test_run_list_filters_by_state_and_flow_name(ui: TestHarness, client: TestClient) -> None:
    _insert_runs(ui, 2, "nightly", RunState.COMPLETED)
    _insert_runs(ui, 2, "nightly", RunState.FAILED)
    _insert_runs(ui, 2, "weekly", RunState.FAILED)

    failed = client.get("/runs", params={"state": "Failed"}).text
    assert "weekly-000" in failed
    assert "nightly-001" in failed
    assert "badge-completed" not in failed
    assert re.search(r'value="Failed" checked', failed)

    nightly_failed = client.get("/runs", params={"state": ["Failed", "Crashed"], "flow": "nightly"})
    assert "weekly" not in nightly_failed.text.split('id="runs-list"')[1]
    assert nightly_failed.text.count("badge-failed") == 2

    nothing = client.get("/runs", params={"flow": "monthly"}).text
    assert "No runs match these filters." in nothing

    invalid = client.get("/runs", params={"state": "Sleepy"})
    assert invalid.status_code == 422
    assert "text/html" in invalid.headers["content-type"]


def test_run_list_pages_with_newer_and_older_links(ui: TestHarness, client: TestClient) -> None:
    _insert_runs(ui, 5, "batch", RunState.COMPLETED)

    first = client.get("/runs", params={"limit": 2, "flow": "batch"}).text
    assert "batch-004" in first
    assert "batch-003" in first
    assert "batch-002" not in first
    older = re.search(r'href="([^"]+)" rel="next">Older', first)
    assert older is not None
    assert "offset=2" in older.group(1)
    assert "flow=batch" in older.group(1)

    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert "batch-002" in second
    assert "batch-001" in second
    assert "batch-004" not in second
    assert 'rel="prev">← Newer' in second

    last = client.get("/runs", params={"limit": 2, "offset": 4, "flow": "batch"}).text
    assert "batch-000" in last
    assert 'rel="next"' not in last  # no older page
    assert "Runs 5\N{EN DASH}5" in last


def test_the_home_page_is_the_inbox_when_something_waits(
    ui: TestHarness, client: TestClient
) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/runs"
    _shop(ui)
    assert client.get("/", follow_redirects=False).headers["location"] == "/inbox"


# -- run detail -------------------------------------------------------------------------


def test_run_detail_shows_header_timeline_logs_and_the_open_wait(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui, "Ann")

    page = client.get(f"/runs/{run.id[:8]}")  # a unique prefix is enough

    assert page.status_code == 200
    html = page.text
    assert f"<h1>{run.run.name}</h1>" in html
    assert run.id in html
    assert "shirt-shop" in html
    assert '<span class="badge badge-waiting">Waiting</span>' in html
    assert "&#34;customer&#34;: &#34;Ann&#34;" in html  # parameters as pretty JSON
    # The step timeline: the task with its result and a bar on the time axis.
    timeline = html.split('class="table timeline"')[1].split("</table>")[0]
    assert "prepare" in timeline
    assert "basket of Ann" in timeline
    assert '<rect class="fill fill-completed fill-task"' in timeline
    # The wait it is on, with a link to answer and the answer form inline.
    assert f'href="/inputs/{wait.id}"' in html
    assert f'action="/inputs/{wait.id}"' in html
    # Logs and state changes.
    assert "preparing an order for Ann" in html
    assert '<span class="level">INFO</span>' in html
    assert "State changes" in html
    assert "badge-running" in html
    # Buttons: a resident waiting run can be suspended and cancelled.
    assert f'action="/runs/{run.id}/cancel"' in html
    assert f'action="/runs/{run.id}/suspend"' in html
    assert "/resume" not in html  # its form has a required field without initial data


def test_run_detail_links_child_runs_and_shows_the_journal(
    ui: TestHarness, client: TestClient
) -> None:
    run = _start(ui, parent_with_pause)
    _waiting(run)
    [child] = ui.store.list_runs(records.RunFilter(parent_id=run.id))

    html = client.get(f"/runs/{run.id}").text

    assert "Child runs" in html
    assert f'href="/runs/{child.id}"' in html
    assert "double" in html
    assert '<span class="kind kind-subflow">subflow</span>' in html
    child_page = client.get(f"/runs/{child.id}").text
    assert f'href="/runs/{run.id}"' in child_page  # back to the parent
    assert '<pre class="json">42</pre>' in child_page  # its result
    assert '<span class="badge badge-completed">Completed</span>' in child_page


@flow
def broken(what: str) -> None:
    raise ValueError(f"cannot handle {what}")


def test_a_failed_run_shows_its_error_and_traceback(ui: TestHarness, client: TestClient) -> None:
    run = _start(ui, broken, XSS)
    with pytest.raises(ValueError, match="cannot handle"):
        run.result()

    html = client.get(f"/runs/{run.id}").text

    assert '<span class="badge badge-failed">Failed</span>' in html
    error = html.split('<pre class="error-text">')[1].split("</pre>")[0]
    assert "ValueError: cannot handle &lt;script&gt;" in error
    assert "<summary>Traceback</summary>" in html
    assert "<script>alert" not in html
    assert f'action="/runs/{run.id}/cancel"' not in html  # it has ended


def test_an_unknown_run_is_a_404_page(client: TestClient) -> None:
    page = client.get("/runs/no-such-run")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Not found" in page.text
    assert "no run with id" in page.text


def test_ui_pages_forbid_inline_scripts_and_framing(ui: TestHarness, client: TestClient) -> None:
    run, wait = _shop(ui)
    for path in ("/runs", f"/runs/{run.id}", "/inbox", f"/inputs/{wait.id}", "/runs/nope"):
        page = client.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


# -- inbox ------------------------------------------------------------------------------


def test_inbox_lists_pending_questions_with_links_to_their_forms(
    ui: TestHarness, client: TestClient
) -> None:
    runs = [_shop(ui, name) for name in ("Ann", "Bob", "Cid")]

    html = client.get("/inbox").text

    for run, wait in runs:
        assert f'href="/inputs/{wait.id}"' in html
        assert run.run.name in html
    assert "shirt-shop" in html
    assert "Pick a shirt" in html  # the description's first line, as plain text
    assert 'hx-trigger="every 3s"' in html

    first = client.get("/inbox", params={"limit": 2}).text
    assert first.count('class="btn btn-primary btn-small"') == 2
    nxt = re.search(r'href="([^"]+)" rel="next">Newer', first)
    assert nxt is not None
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert second.count('class="btn btn-primary btn-small"') == 1
    assert "Questions 3\N{EN DASH}3" in second


def test_an_empty_inbox_says_so(client: TestClient) -> None:
    assert "Nothing is waiting for an answer." in client.get("/inbox").text


# -- the answer form --------------------------------------------------------------------


def test_the_form_has_one_control_per_field_with_browser_checks(
    ui: TestHarness, client: TestClient
) -> None:
    _, wait = _shop(ui)

    html = client.get(f"/inputs/{wait.id}").text

    size = _control(html, "size")
    assert size.startswith("<select")
    assert "required" in size
    options = re.findall(r'<option value="([^"]*)"', _field_block(html, "size"))
    assert options == ["", "S", "M", "L"]  # no size is chosen for the person
    gift = _control(html, "gift")
    assert 'type="checkbox"' in gift
    assert "checked" not in gift
    assert "required" not in gift
    quantity = _control(html, "quantity")
    assert 'type="number"' in quantity
    assert 'min="1"' in quantity
    assert 'max="10"' in quantity
    assert 'value="2"' in quantity  # the initial data
    code = _control(html, "code")
    assert 'pattern="[A-Z]{3}-[0-9]{2}"' in code  # browsers anchor patterns themselves
    assert 'minlength="6"' in code
    assert 'maxlength="6"' in code
    assert "required" in code
    # Help text under each field, linked for screen readers.
    assert "Shirt size" in _field_block(html, "size")
    assert "Voucher code" in _field_block(html, "code")
    assert "aria-describedby" in code
    # The responder's name, and the CSRF field.
    assert 'name="responder"' in html
    assert "Your name" in html
    assert 'name="csrf_token"' in html


def test_the_description_is_markdown_shown_safely_above_the_form(
    ui: TestHarness, client: TestClient
) -> None:
    _, wait = _shop(ui)

    html = client.get(f"/inputs/{wait.id}").text

    description = html.split('<div class="prose description">')[1].split("</div>")[0]
    # Its heading line heads the page instead of the wait's key, and is not repeated.
    assert "<h1>Pick a shirt</h1>" in html
    assert "Pick a" not in description
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in description
    assert "<script>alert" not in html
    assert 'href="https://example.com/sizes"' in description
    assert 'rel="nofollow noopener noreferrer"' in description
    assert "javascript:" not in description.replace("[this](javascript:alert(1))", "")
    assert html.index('class="prose description"') < html.index('class="answer-form"')


class Handover(RunInput):
    responder: str = pydantic.Field(description="Who acts next")


@flow
def handover() -> str:
    return str(pause_flow_run(Handover).responder)


def test_a_model_field_named_responder_keeps_its_name_and_your_name_moves_aside(
    ui: TestHarness, client: TestClient
) -> None:
    run = _start(ui, handover)
    wait = _waiting(run)
    html = client.get(f"/inputs/{wait.id}").text
    assert "Who acts next" in _field_block(html, "responder")
    assert 'autocomplete="name"' in _control(html, "_responder")

    _answer(client, wait.id, {"responder": "team B", "_responder": "Ann"})

    assert run.result() == "team B"
    assert ui.store.get_wait(wait.id).responder == "Ann"  # type: ignore[union-attr]


def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui)
    client.get(f"/inputs/{wait.id}")  # the browser has its CSRF cookie
    answer = {"size": "M", "code": "ABC-12"}

    missing = client.post(f"/inputs/{wait.id}", data=answer)
    wrong = client.post(f"/inputs/{wait.id}", data={**answer, "csrf_token": "forged"})

    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert "nothing was changed" in refused.text
    assert ui.store.waits_of_run(run.id)[0].status is WaitStatus.OPEN
    assert client.post(f"/runs/{run.id}/cancel", data={}).status_code == 403
    assert run.run.state is RunState.WAITING


def test_an_invalid_answer_shows_each_error_next_to_its_field(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui)

    status, _, html = _answer(
        client, wait.id, {"size": "", "quantity": "12", "code": "abcdef", "responder": "Ann"}
    )

    assert status == 422
    assert "The answer was not accepted" in html
    assert "Field required" in _field_block(html, "size")
    assert "less than or equal to 10" in _field_block(html, "quantity")
    # The field's description, not the regex.
    assert '<p class="field-error" id="' in _field_block(html, "code")
    assert "should match pattern" not in _field_block(html, "code")
    assert 'aria-invalid="true"' in _control(html, "code")
    # What the person typed is kept.
    assert 'value="abcdef"' in _control(html, "code")
    assert 'value="12"' in _control(html, "quantity")
    assert 'value="Ann"' in _control(html, "responder")
    assert run.run.state is RunState.WAITING
    assert ui.store.get_wait(wait.id).status is WaitStatus.OPEN  # type: ignore[union-attr]


def test_an_error_about_the_whole_answer_is_shown_above_the_fields(
    ui: TestHarness, client: TestClient
) -> None:
    _, wait = _shop(ui)

    status, _, html = _answer(client, wait.id, {"size": "S", "code": "ABC-12", "gift": "true"})

    assert status == 422
    errors_box = html.split('class="form-errors"')[1].split("</div>")[0]
    assert "a gift needs a note for the card" in errors_box
    assert "checked" in _control(html, "gift")  # the ticked box stays ticked


def test_a_valid_answer_resumes_the_run_and_a_second_one_is_refused(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui)

    status, location, _ = _answer(
        client, wait.id, {"size": "M", "code": "ABC-12", "responder": "Ann"}
    )

    assert (status, location) == (303, f"/runs/{run.id}")
    assert "Answer accepted." in client.get(location).text
    assert run.result() == "2 x M (ABC-12)"
    run_page = client.get(f"/runs/{run.id}").text
    assert '<span class="badge badge-completed">Completed</span>' in run_page
    assert "Answered questions" in run_page
    assert ">Ann<" in run_page
    assert ">ui<" in run_page

    token = _csrf(client, f"/inputs/{wait.id}")
    assert "Submit answer" not in client.get(f"/inputs/{wait.id}").text  # no form any more
    late = client.post(
        f"/inputs/{wait.id}", data={"csrf_token": token, "size": "L", "code": "XYZ-99"}
    )
    assert late.status_code == 409  # a form left open elsewhere hears who answered
    assert "already answered by Ann" in late.text
    stored = ui.store.get_wait(wait.id)
    assert stored is not None
    assert stored.answer is not None
    assert json.loads(stored.answer)["size"] == "M"  # the first answer stands


def test_a_form_left_open_on_a_cancelled_run_says_it_can_no_longer_be_answered(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui)
    token = _csrf(client, f"/inputs/{wait.id}")
    service.cancel_run(run.id, by="ops", hst=ui.host)

    late = client.post(
        f"/inputs/{wait.id}", data={"csrf_token": token, "size": "S", "code": "ABC-12"}
    )

    assert late.status_code == 409
    assert "can no longer be answered" in late.text
    assert '<span class="badge badge-cancelled">Cancelled</span>' in late.text
    assert 'class="answer-form"' not in late.text


def test_a_closed_wait_shows_its_answer_who_gave_it_when_and_how(
    ui: TestHarness, client: TestClient
) -> None:
    run, wait = _shop(ui)
    _answer(client, wait.id, {"size": "L", "code": "XYZ-99", "responder": "Bea"})
    run.result()

    html = client.get(f"/inputs/{wait.id}").text

    assert '<span class="badge badge-wait-answered">answered</span>' in html
    assert "<dt>Answered by</dt><dd>Bea</dd>" in html
    assert "<dt>Via</dt><dd>ui</dd>" in html
    assert "Closed at" in html
    assert "<time datetime=" in html
    assert "&#34;size&#34;: &#34;L&#34;" in html
    assert 'class="answer-form"' not in html


def test_the_inbox_forgets_answered_questions(ui: TestHarness, client: TestClient) -> None:
    run, wait = _shop(ui)
    _answer(client, wait.id, {"size": "S", "code": "ABC-12"})
    run.result()
    assert f"/inputs/{wait.id}" not in client.get("/inbox").text


# -- actions ----------------------------------------------------------------------------


def test_cancel_button_cancels_and_says_so(ui: TestHarness, client: TestClient) -> None:
    run, wait = _shop(ui)
    token = _csrf(client, f"/runs/{run.id}")

    done = client.post(f"/runs/{run.id}/cancel", data={"csrf_token": token}, follow_redirects=False)

    assert (done.status_code, done.headers["location"]) == (303, f"/runs/{run.id}")
    page = client.get(done.headers["location"]).text
    assert "Run cancelled." in page
    assert '<span class="badge badge-cancelled">Cancelled</span>' in page
    assert f'action="/runs/{run.id}/cancel"' not in page
    assert "Run cancelled." not in client.get(f"/runs/{run.id}").text  # shown once
    assert ui.store.get_wait(wait.id).status is not WaitStatus.OPEN  # type: ignore[union-attr]


def test_an_action_that_is_not_allowed_is_a_readable_message(
    ui: TestHarness, client: TestClient
) -> None:
    [done_id] = _insert_runs(ui, 1, "finished", RunState.COMPLETED)
    token = _csrf(client, f"/runs/{done_id}")

    page = client.post(f"/runs/{done_id}/cancel", data={"csrf_token": token})

    assert page.status_code == 200
    assert "Could not cancel this run" in page.text
    assert "has ended (Completed)" in page.text
    suspended = client.post(f"/runs/{done_id}/suspend", data={"csrf_token": token})
    assert "Could not suspend this run" in suspended.text


def test_suspend_takes_the_run_out_of_memory_and_resume_continues_it(
    ui: TestHarness, client: TestClient
) -> None:
    run = _start(ui, parent_with_pause)
    _waiting(run)
    token = _csrf(client, f"/runs/{run.id}")
    held_by = run.run.lease_owner
    assert held_by is not None  # resident: a thread holds it

    suspended = client.post(f"/runs/{run.id}/suspend", data={"csrf_token": token})

    assert "Run suspended" in suspended.text
    assert run.run.lease_owner is None
    assert f'action="/runs/{run.id}/suspend"' not in suspended.text
    [wait] = [w for w in run.waits() if w.status is WaitStatus.OPEN]
    assert f'name="wait_id" value="{wait.id}"' in suspended.text

    resumed = client.post(f"/runs/{run.id}/resume", data={"csrf_token": token, "wait_id": wait.id})

    assert "Run resumed." in resumed.text
    assert run.result() == 42


def test_a_pause_without_input_can_be_resumed_from_its_page(
    ui: TestHarness, client: TestClient
) -> None:
    run = _start(ui, parent_with_pause)
    wait = _waiting(run)

    html = client.get(f"/inputs/{wait.id}").text
    assert "This pause takes no input" in html
    assert ">Resume</button>" in html

    status, location, _ = _answer(client, wait.id, {})
    assert (status, location) == (303, f"/runs/{run.id}")
    assert run.result() == 42


# -- login ------------------------------------------------------------------------------


@pytest.fixture
def locked() -> Iterator[TestClient]:
    with (
        tarry_test_harness(fake_clock=True, api_token="s3cret") as h,
        TestClient(create_app(h.host, worker=False)) as c,
    ):
        yield c


def test_pages_need_the_token_when_one_is_set(locked: TestClient) -> None:
    asked = locked.get("/runs?state=Failed", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Fruns%3Fstate%3DFailed"
    assert locked.post("/runs/x/cancel", follow_redirects=False).status_code == 303

    login = locked.get(asked.headers["location"])
    assert 'type="password"' in login.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "next": "/runs?state=Failed"}

    wrong = locked.post("/login", data={**form, "token": "guess"})
    assert wrong.status_code == 401
    assert "That token is not right" in wrong.text
    assert locked.get("/runs", follow_redirects=False).status_code == 303

    right = locked.post("/login", data={**form, "token": "s3cret"}, follow_redirects=False)
    assert (right.status_code, right.headers["location"]) == (303, "/runs?state=Failed")
    assert "s3cret" not in locked.cookies["tarry_session"]
    assert locked.get("/runs").status_code == 200
    assert "Log out" in locked.get("/runs").text

    locked.post("/logout", data={"csrf_token": token.group(1)})
    assert locked.get("/runs", follow_redirects=False).status_code == 303


def test_login_only_sends_people_to_pages_of_this_site(locked: TestClient) -> None:
    page = locked.get("/login", params={"next": "//evil.example/x"})
    assert 'name="next" value="/"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    done = locked.post(
        "/login",
        data={"csrf_token": token.group(1), "token": "s3cret", "next": "https://evil.example"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/"


def test_login_is_not_needed_without_a_token(client: TestClient) -> None:
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    assert "Log out" not in client.get("/runs").text


# -- escaping ---------------------------------------------------------------------------


class Note(RunInput):
    text: str = pydantic.Field(description=f"Say something {XSS}", title=f"Note {XSS}")
    mood: Literal["ok", "<b>bold</b>"] = "ok"


@flow(name=f"evil {XSS}")
def evil(tag: str) -> str:
    get_run_logger().warning("got %s", tag)
    note = pause_flow_run(Note.with_initial_data(f"Question {XSS}"))
    return str(note.text)


def test_script_tags_from_users_are_shown_as_text_on_every_page(
    ui: TestHarness, client: TestClient
) -> None:
    run = _start(ui, evil, XSS)
    wait = _waiting(run)

    pages = {
        "list": client.get("/runs").text,
        "detail": client.get(f"/runs/{run.id}").text,
        "inbox": client.get("/inbox").text,
        "form": client.get(f"/inputs/{wait.id}").text,
    }
    status, _, invalid = _answer(client, wait.id, {"text": "", "responder": XSS})
    assert status == 422
    pages["invalid form"] = invalid
    _answer(client, wait.id, {"text": XSS, "mood": "<b>bold</b>", "responder": XSS})
    assert run.result() == XSS
    pages["answered run"] = client.get(f"/runs/{run.id}").text
    pages["closed wait"] = client.get(f"/inputs/{wait.id}").text

    for name, html in pages.items():
        assert "<script>alert" not in html, name
        assert "<b>bold" not in html, name
    assert ESCAPED in pages["list"]  # the flow name
    assert pages["detail"].count(ESCAPED) >= 3  # flow name, parameter, log line, field help
    assert "got &lt;script&gt;" in pages["detail"]
    assert f"Note {ESCAPED}" in pages["form"]
    assert f"Say something {ESCAPED}" in pages["form"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in pages["form"]  # an option label
    assert f"Question {ESCAPED}" in pages["inbox"]
    assert ESCAPED in pages["closed wait"]  # the answer, the responder, the prompt
    assert "<dt>Answered by</dt><dd>&lt;script&gt;" in pages["closed wait"]


@flow
def listener() -> list[str]:
    heard = []
    for text in receive_input(str, timeout=3600):
        heard.append(text)
        break
    return heard


def test_the_run_page_lists_its_messages_escaped(ui: TestHarness, client: TestClient) -> None:
    run = ui.start(listener)
    run.wait_for(RunState.WAITING)
    send_input(XSS, run.id, sender="ada", key="note-1", hst=ui.host)
    assert run.result() == [XSS]

    html = client.get(f"/runs/{run.id}").text

    assert "<h2>Messages</h2>" in html
    assert "note-1" in html
    assert "ada" in html
    assert XSS not in html
    assert "&lt;script&gt;" in html
