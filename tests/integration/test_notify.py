"""Notifications and mail from flows, against a real SMTP server and a real HTTP
endpoint: what arrives, how often, and what happens when delivery fails."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tarry import approve, flow, pause_flow_run, receive_input
from tarry.notify import Email, Webhook
from tarry.notify import email as mail
from tarry.states import DeliveryStatus, RunState
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.e2e.live import live_server
from tests.smtp_capture import MailCatcher, body_text


class _Hook(BaseHTTPRequestHandler):
    """Keeps each JSON body POSTed to it; answers 500 while `failing` is set."""

    bodies: list[dict[str, Any]]
    failing: bool

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        status = 500 if self.server.failing else 200  # type: ignore[attr-defined]
        if status == 200:
            self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"boom")

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class WebhookReceiver:
    """A real HTTP server on a loopback port, standing in for a Slack channel."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        self.server.bodies = []  # type: ignore[attr-defined]
        self.server.failing = False  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def bodies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.server.bodies  # type: ignore[attr-defined]
        return found

    def fail(self, failing: bool) -> None:
        self.server.failing = failing  # type: ignore[attr-defined]


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def harness(catcher: MailCatcher) -> Iterator[TestHarness]:
    settings = {**catcher.settings(), "resident_seconds": 0, "notify_retry_seconds": 5.0}
    with tarry_test_harness(fake_clock=True, **settings) as h:
        yield h


@flow(notify=[Email(("ann@example.com", "bob@example.com"))])
def expense(amount: int) -> bool:
    answer: bool = approve(True, "expense", timeout=3600)
    return answer


def test_each_recipient_gets_one_notice_with_their_own_approve_and_reject_links(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    run = harness.start(expense, 120)
    run.wait_for(RunState.WAITING)

    mails = catcher.wait_for(2)
    assert sorted(str(m["To"]) for m in mails) == ["ann@example.com", "bob@example.com"]
    ann, bob = (body_text(m) for m in sorted(mails, key=lambda m: str(m["To"])))
    assert "Answer Approve: http://127.0.0.1:4300/l/" in ann
    assert "Answer Reject: " in ann
    assert ann.split("/l/")[1] != bob.split("/l/")[1]  # links name their recipient
    assert "Or reply to this mail with one of: Approve, Reject." in ann
    assert "+w" in str(mails[0]["Reply-To"])

    harness.answer(run.id, True)
    assert run.result() is True
    # A replay of the run (it suspended at once) queued nothing again.
    assert len(catcher.messages) == 2


def test_a_failing_mail_server_never_blocks_the_run_and_each_failure_is_logged(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    run = _refused_once(harness, catcher)

    # The failure is written to the run's log just after the attempt is counted.
    harness.wait_until(
        lambda: any("failed (attempt 1 of 8), retrying in 5 s" in line for line in run.logs())
    )
    assert run.run.state is RunState.WAITING

    catcher.refuse = False
    harness.advance(5)
    assert len(catcher.wait_for(2)) == 2
    harness.wait_until(lambda: _statuses(harness, run.id) == {DeliveryStatus.SENT})
    assert {item.attempts for item in harness.store.outbox_of_run(run.id)} == {2}


def test_notices_for_a_question_answered_before_they_could_go_out_are_skipped(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    run = _refused_once(harness, catcher)

    harness.answer(run.id, False, responder="carol")
    catcher.refuse = False
    harness.advance(5)

    harness.wait_until(lambda: _statuses(harness, run.id) == {DeliveryStatus.SKIPPED})
    assert catcher.messages == []


def _refused_once(harness: TestHarness, catcher: MailCatcher) -> RunHandle:
    """An expense run waiting, whose notices the mail server refused once."""
    catcher.refuse = True
    run = harness.start(expense, 120)
    run.wait_for(RunState.WAITING)
    harness.wait_until(lambda: _attempts(harness, run.id) >= 1)
    return run


def _attempts(harness: TestHarness, run_id: str) -> int:
    return min((item.attempts for item in harness.store.outbox_of_run(run_id)), default=0)


def _statuses(harness: TestHarness, run_id: str) -> set[DeliveryStatus]:
    return {item.status for item in harness.store.outbox_of_run(run_id)}


@flow
def shirt_stock(hook_url: str) -> str:
    size: str = pause_flow_run(str, timeout=600, key="size", notify=Webhook(hook_url))
    return size


def test_a_webhook_gets_a_slack_compatible_body_and_is_retried_until_it_answers_2xx(
    harness: TestHarness, hook: WebhookReceiver
) -> None:
    hook.fail(True)
    run = harness.start(shirt_stock, hook.url)
    run.wait_for(RunState.WAITING)
    harness.wait_until(lambda: _attempts(harness, run.id) >= 1)
    assert hook.bodies == []

    hook.fail(False)
    harness.advance(5)
    harness.wait_until(lambda: len(hook.bodies) == 1)

    harness.wait_until(lambda: _statuses(harness, run.id) == {DeliveryStatus.SENT})
    [body] = hook.bodies
    assert "shirt-stock" in body["text"]
    actions = next(block for block in body["blocks"] if block["type"] == "actions")
    [button] = actions["elements"]
    assert button["text"]["text"] == "Open the form"
    assert button["url"].startswith("http://127.0.0.1:4300/l/")
    [item] = harness.store.outbox_of_run(run.id)
    assert item.attempts == 2
    logs = [log.message for log in harness.store.get_logs(run.id)]
    assert any("answered 500: boom" in line for line in logs)


@flow
def welcome(address: str) -> str:
    mail.send(address, "Welcome", "Reply to tell us your favourite colour.")
    for reply in receive_input(str, timeout=3600, with_metadata=True):
        return f"{reply.sender} likes {reply.value}"
    return "no reply"


def test_a_mail_sent_by_a_flow_goes_out_once_even_when_the_run_is_replayed(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    run = harness.start(welcome, "dee@example.com")
    run.wait_for(RunState.WAITING)
    [sent] = catcher.wait_for(1)
    assert str(sent["Subject"]) == "Welcome"
    assert str(sent["Reply-To"]).startswith("tarry+r")

    harness.advance(3601)  # the run is replayed from its journal to the timeout
    assert run.result() == "no reply"
    assert len(catcher.messages) == 1
    [item] = harness.store.outbox_of_run(run.id)
    assert item.key.startswith(f"mail:{run.id}/")


def test_send_outside_a_flow_hands_the_mail_over_at_once(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    message_id = mail.send(["eve@example.com"], "Report", "All done.", replies=False)

    [sent] = catcher.wait_for(1)
    assert str(sent["Message-ID"]) == message_id
    assert sent["Reply-To"] is None


def test_the_run_page_lists_its_notifications_with_their_status(
    harness: TestHarness, catcher: MailCatcher
) -> None:
    run = _refused_once(harness, catcher)

    with live_server(harness.host, worker=False) as url:
        page = httpx.get(f"{url}/runs/{run.id}").text

    assert "Notifications and mail" in page
    assert "ann@example.com" in page
    assert "try again later" in page
