"""The newcomer's path: `./scripts/start`'s server, then finance challenge 4 in the browser.

The server is started with the same deployments as `scripts/start` (read from it), on
a fresh TARRY_HOME, in its own process. Chromium answers challenge 4 through the inbox
as `examples/README.md` tells: Approve, then a code without zeroes, then the run page
shows the run Completed. The screenshots are the gallery's pictures.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import ROOT
from tests.e2e.browser import screenshot
from tests.processes import tarry_server


def start_script_deployments() -> list[str]:
    """The `--deploy` entrypoints of `scripts/start`."""
    return re.findall(r"--deploy\s+(\S+)", (ROOT / "scripts" / "start").read_text())


@pytest.fixture
def started(tarry_home: Path) -> Iterator[str]:
    """`tarry server --demo` with every deployment of `scripts/start`, in its own process."""
    options = ["--demo"]
    for entrypoint in start_script_deployments():
        options += ["--deploy", entrypoint]
    with tarry_server(tarry_home, *options) as api:
        yield api.removesuffix("/api")


def _answer_from_inbox(page: Page, url: str, source: str, question: str) -> None:
    """Open the inbox and click the question `question` of the run whose code is `source`."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page.goto(url + "/inbox")
        row = page.locator("tbody tr", has_text=source).filter(has_text=question)
        if row.count():
            row.first.get_by_role("link", name="Answer").click()
            return
        time.sleep(0.2)
    raise AssertionError(f"no question {question!r} of {source} in the inbox")


def test_a_newcomer_answers_challenge_4_in_the_browser(page: Page, started: str) -> None:
    assert "examples/finance/challenge_4.py:train_model" in start_script_deployments()
    page.goto(started + "/")
    page.wait_for_url("**/inbox")
    screenshot(page, "gallery-inbox")

    _answer_from_inbox(page, started, "finance/challenge_4.py", "Training budget")
    page.select_option("select[name=decision]", "Approve")
    screenshot(page, "gallery-challenge-4-decision")
    page.click("button[type=submit]")
    page.wait_for_url("**/runs/*")
    run_url = page.url

    _answer_from_inbox(page, started, "finance/challenge_4.py", "authorization")
    code = page.locator("input[name=code]")
    code.fill("1230567")
    page.click("button[type=submit]")
    assert code.evaluate("e => e.validity.valid") is False  # refused before sending
    code.fill("1234567")
    screenshot(page, "gallery-challenge-4-code")
    page.click("button[type=submit]")
    page.wait_for_url("**/runs/*")
    assert page.url.split("?")[0] == run_url.split("?")[0]

    deadline = time.monotonic() + 20
    while "Completed" not in page.locator(".page-head").inner_text():
        assert time.monotonic() < deadline, "the run did not complete"
        time.sleep(0.2)
        page.reload()
    assert "model trained (authorization 1234567)" in page.content()
    screenshot(page, "gallery-challenge-4-done")


def test_every_question_of_the_demo_opens_its_form(page: Page, started: str) -> None:
    page.goto(started + "/inbox")
    deadline = time.monotonic() + 20
    while page.locator("tbody tr").count() < len(DEMO_QUESTIONS):
        assert time.monotonic() < deadline, page.locator("tbody").inner_text()
        time.sleep(0.2)
        page.reload()
    rows = page.locator("tbody tr")
    found = []
    for index in range(rows.count()):
        row = rows.nth(index)
        source = row.locator("td").nth(2).locator("code").inner_text()
        found.append(source)
        link = row.get_by_role("link", name="Answer").get_attribute("href")
        form = page.context.new_page()
        form.goto(started + str(link))
        assert form.locator("form button[type=submit]").count() >= 1, source  # 2: a decision
        screenshot(form, "gallery-form-" + source.replace("/", "-").removesuffix(".py"))
        form.close()
    assert sorted(found) == sorted(DEMO_QUESTIONS)


DEMO_QUESTIONS = [
    "approval_service/workflow.py",
    "course_106/greet_user.py",
    "course_106/greet_user_default.py",
    "course_106/shirt_order.py",
    "finance/challenge_1.py",
    "finance/challenge_2.py",
    "finance/challenge_3.py",
    "finance/challenge_4.py",
    "human_in_loop/approval_with_deadline.py",
    "human_in_loop/conditional_approval.py",
    "human_in_loop/multi_step_approval.py",
    "human_in_loop/simple_approval.py",
]
"""The examples of `scripts/start` whose demo run waits for a person."""
