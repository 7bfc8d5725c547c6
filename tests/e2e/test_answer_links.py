"""Answer links, end to end: a real mail server receives the notice, and its links are
followed on the real HTTP server, as a person clicking them in their mail would."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pytest

from tarry import flow, pause_flow_run, service
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.e2e.flows.approvals import APPROVER, authorized_training, budget_approval
from tests.e2e.live import live_server
from tests.smtp_capture import MailCatcher, body_text

ANN = APPROVER


@flow
def open_ended() -> str:
    answer: str = pause_flow_run(
        Literal["Approve", "Disapprove"], timeout=None, key="whenever", notify=ANN
    )
    return answer


@pytest.fixture
def harness(catcher: MailCatcher) -> Iterator[TestHarness]:
    settings = {**catcher.settings(), "resident_seconds": 3600, "link_max_age_seconds": 3600}
    with tarry_test_harness(fake_clock=True, **settings) as h:
        yield h
        for run in h.store.list_runs(records.RunFilter(limit=100)):
            if not run.state.is_final:
                service.cancel_run(run.id, by="test teardown", hst=h.host)


@pytest.fixture
def server(harness: TestHarness) -> Iterator[httpx.Client]:
    with live_server(harness.host, worker=False) as url, httpx.Client(base_url=url) as client:
        yield client


def _links(catcher: MailCatcher, count: int = 1) -> dict[str, str]:
    """The paths of the links in the latest notice: by option label, and "form"."""
    text = body_text(catcher.wait_for(count)[-1])
    found = dict(re.findall(r"^(?:Answer|Start your answer) (.+?): (\S+)$", text, re.MULTILINE))
    found["form"] = re.search(r"^Open the form: (\S+)$", text, re.MULTILINE)[1]  # type: ignore[index]
    return {label: urllib.parse.urlsplit(url).path for label, url in found.items()}


def _waiting(harness: TestHarness, flow_: Any) -> RunHandle:
    run = harness.start(flow_)
    run.wait_for(RunState.WAITING)
    return run


def test_an_approve_link_answers_once_after_a_confirm_and_then_says_who_answered(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, budget_approval)
    links = _links(catcher)
    assert set(links) == {"Approve", "Disapprove", "form"}

    page = server.get(links["Approve"])
    assert page.status_code == 200
    assert "Confirm: Approve" in page.text
    assert f"Answering as <strong>{ANN}</strong>" in page.text
    assert run.run.state is RunState.WAITING  # opening a link decides nothing

    done = server.post(links["Approve"])
    assert done.status_code == 200
    assert "your answer was recorded" in done.text
    assert run.result() == "Approve"
    [wait] = run.waits()
    assert (wait.responder, wait.channel) == (ANN, "link")

    again = server.post(links["Approve"])
    assert again.status_code == 409
    assert f"already answered by {ANN}" in again.text
    other = server.get(links["Disapprove"])
    assert other.status_code == 409


def test_an_edited_link_is_refused_with_403_and_changes_nothing(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, budget_approval)
    path = _links(catcher)["Disapprove"]
    token = path.removeprefix("/l/")
    edited = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    for response in (server.get(f"/l/{edited}"), server.post(f"/l/{edited}")):
        assert response.status_code == 403
        assert "This link is not valid" in response.text
    assert server.get("/l/not-a-token").status_code == 403
    assert run.run.state is RunState.WAITING


def test_a_link_after_the_deadline_is_refused_with_410(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, budget_approval)
    approve = _links(catcher)["Approve"]

    harness.advance(601)

    response = server.post(approve)
    assert response.status_code == 410
    assert "can no longer be used" in response.text
    # Nobody answered in time: the run's thread, woken by the timeout, fails it.
    run.assert_state(RunState.FAILED)


def test_a_link_expires_on_its_own_when_the_question_has_no_deadline(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, open_ended)
    approve = _links(catcher)["Approve"]

    harness.advance(3601)  # link_max_age_seconds

    response = server.get(approve)
    assert response.status_code == 410
    assert "This link expired" in response.text
    assert run.waits()[0].status is WaitStatus.OPEN


def test_a_choice_that_needs_more_fields_opens_the_form_prefilled_and_validates_it(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, authorized_training)
    links = _links(catcher)

    form = server.get(links["Approve"])
    assert form.status_code == 200
    assert "Confirm:" not in form.text
    assert re.search(r'<option value="Approve" selected>', form.text)
    assert f'action="{links["Approve"]}"' in form.text

    refused = server.post(links["Approve"], data={"decision": "Approve", "code": "1230567"})
    assert refused.status_code == 422
    assert "Seven digits, no zeroes." in refused.text  # the field's words, not its regex
    assert run.run.state is RunState.WAITING

    accepted = server.post(links["Approve"], data={"decision": "Approve", "code": "1234567"})
    assert accepted.status_code == 200
    assert run.result() == "Approve 1234567"
    assert run.waits()[0].responder == ANN


def test_a_link_form_with_a_nul_character_is_refused_by_its_field_and_the_run_keeps_waiting(
    harness: TestHarness, server: httpx.Client, catcher: MailCatcher
) -> None:
    run = _waiting(harness, authorized_training)
    links = _links(catcher)

    refused = server.post(links["Approve"], data={"decision": "Approve", "code": "1234\x00567"})

    assert refused.status_code == 422
    assert "NUL character" in refused.text
    assert run.run.state is RunState.WAITING
    assert [w.status for w in run.waits()] == [WaitStatus.OPEN]
