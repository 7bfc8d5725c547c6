"""Answer links in Chromium, as the person who got the mail follows them: no login,
a confirm before anything is decided, the form when a choice is not enough."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tarry import service
from tarry.states import RunState
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.e2e.browser import screenshot
from tests.e2e.flows.approvals import APPROVER, authorized_training, budget_approval
from tests.e2e.live import live_server
from tests.smtp_capture import MailCatcher, body_text, mail_catcher


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


def _link(catcher: MailCatcher, label: str, url: str) -> str:
    """The link labelled `label` in the mailed notice, pointed at the test server."""
    text = body_text(catcher.wait_for(1)[-1])
    found = re.search(rf"^(?:Answer|Start your answer) {label}: (\S+)$", text, re.MULTILINE)
    assert found is not None, text
    return url + urllib.parse.urlsplit(found[1]).path


def _waiting(harness: TestHarness, flow_: object) -> RunHandle:
    run = harness.start(flow_)  # type: ignore[arg-type]
    run.wait_for(RunState.WAITING)
    return run


def test_the_approve_link_confirms_then_answers_and_then_says_it_was_answered(
    page: Page, served: tuple[TestHarness, MailCatcher, str]
) -> None:
    harness, catcher, url = served
    run = _waiting(harness, budget_approval)
    link = _link(catcher, "Approve", url)

    page.goto(link)
    assert page.get_by_role("button", name="Confirm: Approve").is_visible()
    assert page.get_by_text(f"Answering as {APPROVER}").is_visible()
    screenshot(page, "link-confirm")
    assert run.run.state is RunState.WAITING

    page.get_by_role("button", name="Confirm: Approve").click()
    page.get_by_text("your answer was recorded").wait_for()
    screenshot(page, "link-done")
    assert run.result() == "Approve"

    response = page.goto(link)
    assert response is not None
    assert response.status == 409
    assert page.get_by_text(f"already answered by {APPROVER}").is_visible()
    screenshot(page, "link-already-answered")


def test_a_choice_that_needs_a_code_opens_the_form_and_the_browser_checks_the_code(
    page: Page, served: tuple[TestHarness, MailCatcher, str]
) -> None:
    harness, catcher, url = served
    run = _waiting(harness, authorized_training)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.goto(_link(catcher, "Approve", url))
    assert page.get_by_label("Decision").input_value() == "Approve"
    code = page.get_by_label("Code")
    code.fill("1230567")
    page.get_by_role("button", name="Submit answer").click()
    assert code.evaluate("e => !e.validity.valid")
    assert posts == []  # the browser refused the zero; nothing was sent
    screenshot(page, "link-form-code")

    code.fill("1234567")
    page.get_by_role("button", name="Submit answer").click()
    page.get_by_text("your answer was recorded").wait_for()
    assert run.result() == "Approve 1234567"
