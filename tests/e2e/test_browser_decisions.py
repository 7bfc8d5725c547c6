"""In Chromium: an approval is Approve and Reject under a readable title, on the answer page
and behind the mailed link; a code the pattern refuses is refused in the field's own words,
by the browser and by the server alike."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from pydantic import Field

from tarry import approve, flow, pause_flow_run, service
from tarry.input import RunInput
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.e2e.browser import screenshot
from tests.e2e.live import live_server
from tests.smtp_capture import MailCatcher, body_text, mail_catcher

APPROVER = "ana@example.com"
CODE_MESSAGE = "Seven digits, 1 to 9: no zeroes (they look too much like the letter O)."


@flow
def training_budget() -> str:
    """Seed 000's gate as `approve`: a readable title, Approve and Reject."""
    return str(approve("trained", "budget", notify=APPROVER, title="Training budget: $1,500"))


class AuthorizationCode(RunInput):
    code: str = Field(
        pattern=r"^[1-9]{7}$",
        min_length=7,
        max_length=7,
        description="The authorization code finance gave you.",
        json_schema_extra={"error_message": CODE_MESSAGE},
    )


@flow
def authorization() -> str:
    answer = pause_flow_run(AuthorizationCode, key="authorization", timeout=600)
    return f"authorized {answer.code}"


@pytest.fixture
def served() -> Iterator[tuple[TestHarness, MailCatcher, str]]:
    """A harness whose questions are mailed to a real SMTP server, and the server's URL."""
    with mail_catcher() as catcher:
        settings = {**catcher.settings(), "resident_seconds": 3600}
        with tarry_test_harness(**settings) as harness, live_server(harness.host) as url:
            yield harness, catcher, url
            for run in harness.store.list_runs(records.RunFilter(limit=100)):
                if not run.state.is_final:
                    service.cancel_run(run.id, by="test teardown", hst=harness.host)


def _open_wait(harness: TestHarness, flow_: object) -> tuple[RunHandle, records.WaitRecord]:
    run = harness.start(flow_)  # type: ignore[arg-type]
    run.wait_for(RunState.WAITING)
    (wait,) = [w for w in run.waits() if w.status is WaitStatus.OPEN]
    return run, wait


def _mailed_link(catcher: MailCatcher, line: str, url: str) -> str:
    text = body_text(catcher.wait_for(1)[-1])
    found = re.search(rf"^{re.escape(line)}: (\S+)$", text, re.MULTILINE)
    assert found is not None, text
    return url + urllib.parse.urlsplit(found[1]).path


def test_the_approval_page_has_approve_and_reject_under_a_readable_title(
    page: Page, served: tuple[TestHarness, MailCatcher, str]
) -> None:
    harness, _, url = served
    run, wait = _open_wait(harness, training_budget)

    page.goto(f"{url}/inputs/{wait.id}")
    assert page.locator("h1").inner_text() == "Training budget: $1,500"
    assert "approve:budget" not in page.locator("main").inner_text()
    assert page.title().startswith("Training budget: $1,500")
    approve_button = page.get_by_role("button", name="Approve", exact=True)
    reject_button = page.get_by_role("button", name="Reject", exact=True)
    assert approve_button.is_visible()
    assert reject_button.is_visible()
    assert page.locator("input[type=checkbox]").count() == 0
    assert page.get_by_label("Your name").count() == 1
    screenshot(page, "decision-approval")

    page.get_by_label("Comment").fill("Too dear this quarter.")
    reject_button.click()
    page.wait_for_url("**/runs/*")
    run.wait_for(RunState.FAILED)
    stored = harness.store.get_wait(wait.id)
    assert stored is not None
    assert json.loads(stored.answer or "") == {"value": False, "comment": "Too dear this quarter."}


def test_the_mailed_links_show_the_title_and_the_two_buttons(
    page: Page, served: tuple[TestHarness, MailCatcher, str]
) -> None:
    harness, catcher, url = served
    run, _ = _open_wait(harness, training_budget)
    mail = catcher.wait_for(1)[-1]
    assert mail["Subject"] == "[tarry] training-budget: Training budget: $1,500"

    page.goto(_mailed_link(catcher, "Open the form", url))
    assert page.locator("h1").inner_text() == "Training budget: $1,500"
    assert page.get_by_role("button", name="Approve", exact=True).is_visible()
    assert page.get_by_role("button", name="Reject", exact=True).is_visible()
    screenshot(page, "decision-link-form")

    page.goto(_mailed_link(catcher, "Answer Approve", url))
    assert page.locator("h1").inner_text() == "Training budget: $1,500"
    page.get_by_label("Comment").fill("Within budget.")
    page.get_by_role("button", name="Confirm: Approve").click()
    page.get_by_text("your answer was recorded").wait_for()
    assert run.result() == "trained"


def test_a_code_with_a_zero_is_refused_in_the_fields_words_by_browser_and_server(
    page: Page, served: tuple[TestHarness, MailCatcher, str]
) -> None:
    harness, _, url = served
    run, wait = _open_wait(harness, authorization)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.goto(f"{url}/inputs/{wait.id}")
    assert page.locator("h1").inner_text() == "Authorization"
    code = page.get_by_label("Code")
    code.fill("1230567")
    page.get_by_role("button", name="Submit answer").click()
    assert code.evaluate("e => e.validity.valid") is False
    assert code.evaluate("e => e.validationMessage") == CODE_MESSAGE
    assert posts == []  # refused before anything was sent
    screenshot(page, "decision-code-refused")

    # The same form posted directly, past the browser: the server says the same words.
    token = page.locator("input[name=csrf_token]").input_value()
    sent = page.request.post(
        f"{url}/inputs/{wait.id}",
        form={"csrf_token": token, "code": "1230567"},
        max_redirects=0,
    )
    assert sent.status == 422
    assert CODE_MESSAGE in sent.text()
    assert "[1-9]" not in sent.text().split("<main")[1].replace('pattern="[1-9]{7}"', "")
    assert run.run.state is RunState.WAITING
    assert (harness.store.get_wait(wait.id) or wait).status is WaitStatus.OPEN

    code.fill("1234567")
    assert code.evaluate("e => e.validationMessage") == ""
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_url("**/runs/*")
    assert run.result() == "authorized 1234567"
