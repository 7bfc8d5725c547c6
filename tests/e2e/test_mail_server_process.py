"""`tarry server` as its own process, answering by mail: the notice arrives at a real
SMTP server, its link is followed on the server, and a reply is sent to the server's
own SMTP endpoint, as a mail system would deliver it."""

from __future__ import annotations

import email.utils
import re
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry.client import Client
from tests.net import free_port
from tests.processes import tarry_server
from tests.smtp_capture import MailCatcher, body_text

APPROVER = "finance@example.com"
DEPLOYMENT = "expense-approval/expense-approval"


@pytest.fixture
def server(tarry_home: Path, catcher: MailCatcher) -> Iterator[tuple[str, int]]:
    """The server's base URL and its inbound SMTP port."""
    port, inbound = free_port(), free_port()
    env = {
        "TARRY_SMTP_HOST": "127.0.0.1",
        "TARRY_SMTP_PORT": str(catcher.port),
        "TARRY_SMTP_SECURITY": "none",
        "TARRY_MAIL_FROM": "Approvals <approvals@tarry.test>",
        "TARRY_INBOUND_SMTP_PORT": str(inbound),
        "TARRY_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    deploy = "examples/notify/expense_approval.py:expense_approval"
    with tarry_server(tarry_home, "--deploy", deploy, port=port, env=env) as api:
        yield api.removesuffix("/api"), inbound


def _start(url: str, catcher: MailCatcher) -> tuple[str, EmailMessage]:
    with Client(url + "/api") as client:
        run = client.create_flow_run_from_deployment(DEPLOYMENT, {"amount": 2000})
    [notice] = catcher.wait_for(1, timeout=20)
    return run.id, notice


def _result(url: str, run_id: str) -> Any:
    deadline = time.monotonic() + 20
    with Client(url + "/api") as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state.is_final:
                return run.result
            time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


@pytest.mark.example
def test_the_approve_link_in_the_mail_approves_on_the_real_server(
    server: tuple[str, int], catcher: MailCatcher
) -> None:
    url, _ = server
    run_id, notice = _start(url, catcher)
    text = body_text(notice)
    approve_link = re.search(r"^Answer Approve: (\S+)$", text, re.MULTILINE)[1]  # type: ignore[index]
    assert approve_link.startswith(f"{url}/l/")

    assert "Confirm: Approve" in httpx.get(approve_link).text
    assert httpx.post(approve_link).status_code == 200

    assert _result(url, run_id) == "approved $2,000"
    assert httpx.post(approve_link).status_code == 409


@pytest.mark.example
def test_a_reply_to_the_notice_rejects_through_the_servers_smtp_endpoint(
    server: tuple[str, int], catcher: MailCatcher
) -> None:
    url, inbound = server
    run_id, notice = _start(url, catcher)

    reply = EmailMessage()
    reply["From"] = f"Finance <{APPROVER}>"
    reply["To"] = str(notice["Reply-To"])
    reply["Subject"] = f"Re: {notice['Subject']}"
    reply["Message-ID"] = email.utils.make_msgid(domain="example.com")
    reply["In-Reply-To"] = str(notice["Message-ID"])
    reply.set_content(f"Reject, over budget.\n\nOn Monday, Approvals wrote:\n> {notice['Subject']}")
    recipient = email.utils.parseaddr(str(notice["Reply-To"]))[1]
    with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as client:
        client.send_message(reply, from_addr=APPROVER, to_addrs=[recipient])

    assert _result(url, run_id) == "rejected"
