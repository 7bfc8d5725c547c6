"""Answering by mail, end to end: tarry mails the question to a real SMTP server, the
person replies as their mail program would, and the reply arrives over tarry's SMTP
endpoint or in a real IMAP mailbox (Debian's Dovecot) that tarry polls."""

from __future__ import annotations

import email.policy
import email.utils
import grp
import imaplib
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tarry import flow, receive_input, serialization, service
from tarry.notify import email as mail
from tarry.replies import delivery, find, imap_poller, inbound, read, smtp_endpoint
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tests.e2e.flows.approvals import APPROVER as JANE
from tests.e2e.flows.approvals import authorized_training, budget_approval
from tests.net import free_port
from tests.smtp_capture import MailCatcher, body_text

MALLORY = "mallory@example.net"


@flow
def still_interested(person: str) -> list[str]:
    mail.send(person, "Still interested?", "Reply to this mail and tell us.")
    return [m.value for m in receive_input(str, timeout=600)]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def harness(catcher: MailCatcher) -> Iterator[TestHarness]:
    settings = {**catcher.settings(), "resident_seconds": 3600, "mail_from": "tarry@example.com"}
    with tarry_test_harness(**settings) as h:
        yield h
        for run in h.store.list_runs(records.RunFilter(limit=100)):
            if not run.state.is_final:
                service.cancel_run(run.id, by="test teardown", hst=h.host)


@pytest.fixture
def endpoint(harness: TestHarness) -> Iterator[smtp_endpoint.SmtpEndpoint]:
    """tarry's inbound SMTP endpoint on a free loopback port."""
    running = smtp_endpoint.start_smtp_endpoint(harness.host, "127.0.0.1", 0)
    try:
        yield running
    finally:
        running.stop()


# --- a person replying ----------------------------------------------------------------------


def question_for(catcher: MailCatcher, person: str, count: int = 1) -> EmailMessage:
    """The `count`-th mail sent to `person`, once it arrived."""
    deadline = time.monotonic() + 10
    while len(catcher.to(person)) < count:
        assert time.monotonic() < deadline, f"no mail number {count} for {person}"
        time.sleep(0.01)
    return catcher.to(person)[count - 1]


def reply(question: EmailMessage, text: str, sender: str = JANE, **headers: str) -> EmailMessage:
    """A reply as Gmail writes it: new text above the quoted question."""
    message = EmailMessage()
    message["From"] = f"Someone <{sender}>"
    message["To"] = str(question["Reply-To"])
    message["Subject"] = f"Re: {question['Subject']}"
    message["Date"] = email.utils.formatdate()
    message["Message-ID"] = email.utils.make_msgid(domain="mail.example.com")
    message["In-Reply-To"] = str(question["Message-ID"])
    message["References"] = str(question["Message-ID"])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    quoted = textwrap.indent(body_text(question), "> ", lambda _: True)
    attribution = f"On Mon, Jun 3, 2024 at 10:15 AM Tarry <\n{question['Reply-To']}> wrote:"
    message.set_content(f"{text}\n\n{attribution}\n\n{quoted}")
    return message


def smtp_send(endpoint: smtp_endpoint.SmtpEndpoint, message: EmailMessage | bytes) -> None:
    """Hand a mail to tarry's endpoint, as the replying person's mail server does."""
    raw = message if isinstance(message, bytes) else wire(message)
    parsed = read.parse_message(raw)
    recipient = email.utils.parseaddr(str(parsed["To"]))[1]
    sender = find.sender_address(parsed)
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        client.sendmail(sender, [recipient], raw)


def wire(message: EmailMessage) -> bytes:
    """The mail as sent over SMTP: CRLF line ends, long message ids left unfolded."""
    return message.as_bytes(policy=email.policy.SMTP.clone(max_line_length=998))


def waiting(harness: TestHarness, flow_: Any, *args: Any) -> RunHandle:
    run = harness.start(flow_, *args)
    run.wait_for(RunState.WAITING)
    return run


def open_wait(run: RunHandle) -> records.WaitRecord:
    (wait,) = [w for w in run.waits() if w.status is WaitStatus.OPEN]
    return wait


# --- SMTP ---------------------------------------------------------------------------------


def test_a_quoted_reply_saying_approve_resumes_the_run_with_approve(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    question = question_for(catcher, JANE)

    smtp_send(endpoint, reply(question, "approve - the estimate looks right"))

    assert run.result() == "Approve"
    (wait,) = run.waits()
    assert (wait.responder, wait.channel) == (JANE, "email")


def test_an_invalid_reply_leaves_the_run_waiting_and_its_sender_learns_why(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, authorized_training)
    question = question_for(catcher, JANE)

    smtp_send(endpoint, reply(question, "Decision: Approve\nCode: 1203456"))

    explanation = question_for(catcher, JANE, count=2)
    assert explanation["Subject"] == f"Re: {question['Subject']}"
    assert "Code: Seven digits, no zeroes." in body_text(explanation)
    assert run.run.state is RunState.WAITING
    assert open_wait(run).name == "authorize"

    # Jane answers the explanation itself: it stays in the question's thread.
    assert str(explanation["In-Reply-To"]) in str(explanation["References"])
    smtp_send(endpoint, reply(explanation, "decision: approve\ncode: 1234567"))
    assert run.result() == "Approve 1234567"


def test_a_reply_from_someone_the_question_did_not_go_to_is_refused(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    question = question_for(catcher, JANE)

    smtp_send(endpoint, reply(question, "Approve", sender=MALLORY))

    refusal = question_for(catcher, MALLORY)
    assert "was not sent to mallory@example.net" in body_text(refusal)
    assert open_wait(run).status is WaitStatus.OPEN
    assert run.run.state is RunState.WAITING


def test_the_same_reply_delivered_twice_is_one_answer(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    raw = wire(reply(question_for(catcher, JANE), "Disapprove"))

    smtp_send(endpoint, raw)
    smtp_send(endpoint, raw)

    assert run.result() == "Disapprove"
    assert [w.status for w in run.waits()] == [WaitStatus.ANSWERED]
    # Explanations are mailed before the endpoint answers: none was.
    assert len(catcher.to(JANE)) == 1


def test_a_reply_after_an_answer_elsewhere_changes_nothing_and_says_who_answered(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    question = question_for(catcher, JANE)
    harness.answer(run.id, "Disapprove", responder="ann@example.com")

    smtp_send(endpoint, reply(question, "Approve"))

    assert run.result() == "Disapprove"
    told = body_text(question_for(catcher, JANE, count=2))
    assert "already answered by ann@example.com" in told


def test_a_reply_to_a_mail_a_flow_sent_is_a_message_to_its_run_once(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, still_interested, JANE)
    raw = wire(reply(question_for(catcher, JANE), "Yes, still interested!"))

    smtp_send(endpoint, raw)
    smtp_send(endpoint, raw)

    messages = harness.store.messages_of_run(run.id)
    received = [(m.sender, serialization.loads(m.data)) for m in messages]
    assert received == [(JANE, "Yes, still interested!")]


def test_a_reply_with_a_nul_character_is_refused_and_its_sender_learns_why(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, still_interested, JANE)
    question = question_for(catcher, JANE)

    smtp_send(endpoint, reply(question, "Yes\x00, still interested!"))

    explanation = question_for(catcher, JANE, count=2)
    assert "NUL character" in body_text(explanation)
    assert harness.store.messages_of_run(run.id) == []
    assert run.run.state is RunState.WAITING


def test_an_automatic_reply_is_never_answered(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    question = question_for(catcher, JANE)
    out_of_office = reply(question, "I am away until Monday.", Auto_Submitted="auto-replied")

    smtp_send(endpoint, out_of_office)  # not an answer: refused, but nobody is told

    assert len(catcher.to(JANE)) == 1  # explanations are mailed before the endpoint answers
    assert run.run.state is RunState.WAITING


def test_a_forged_reply_address_is_refused_before_the_mail_is_sent(
    harness: TestHarness, catcher: MailCatcher, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    run = waiting(harness, budget_approval)
    question = question_for(catcher, JANE)
    forged = str(question["Reply-To"]).replace("+w", "+r", 1)

    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        client.ehlo()
        client.mail(JANE)
        code, text = client.rcpt(forged)

    assert code == 550
    assert b"not valid" in text
    assert run.run.state is RunState.WAITING


def test_a_mail_that_answers_nothing_is_refused(
    harness: TestHarness, endpoint: smtp_endpoint.SmtpEndpoint
) -> None:
    message = EmailMessage()
    message["From"] = JANE
    message["To"] = "tarry@example.com"
    message["Subject"] = "Hello"
    message.set_content("Is anyone there?")

    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp_send(endpoint, message)

    assert refused.value.smtp_code == 550


def test_a_failing_delivery_is_retried_later_and_the_endpoint_stays_up(
    harness: TestHarness,
    catcher: MailCatcher,
    endpoint: smtp_endpoint.SmtpEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = waiting(harness, budget_approval)
    message = reply(question_for(catcher, JANE), "Approve")

    def broken(raw: bytes, hst: Any, **kwargs: Any) -> delivery.Delivery:
        raise RuntimeError("the database is on fire")

    with monkeypatch.context() as patch:
        patch.setattr(inbound, "deliver", broken)
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            smtp_send(endpoint, message)
    smtp_send(endpoint, message)  # the sending server's retry

    assert deferred.value.smtp_code == 451
    assert run.result() == "Approve"


def test_the_endpoint_reports_a_port_it_cannot_listen_on(harness: TestHarness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            smtp_endpoint.start_smtp_endpoint(harness.host, "127.0.0.1", port)


# --- IMAP, with a private Dovecot -------------------------------------------------------------


@dataclass(frozen=True)
class Mailbox:
    """A running Dovecot with one user and its INBOX."""

    port: int
    user: str = "replies"
    password: str = "s3cret"

    def settings(self) -> dict[str, Any]:
        """`Settings` overrides that poll this mailbox every 50 ms."""
        return {
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_security": "none",
            "imap_username": self.user,
            "imap_password": self.password,
            "imap_folder": "INBOX",
            "imap_poll_seconds": 0.05,
        }

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, message: EmailMessage) -> None:
        """Put a mail into the INBOX, as the mail server receiving it would."""
        client = self.connect()
        try:
            client.append("INBOX", None, None, wire(message))
        finally:
            client.logout()

    def unseen(self) -> int:
        client = self.connect()
        try:
            client.select("INBOX")
            return len(client.uid("SEARCH", "UNSEEN")[1][0].split())
        finally:
            client.logout()


def _dovecot_config(folder: Path, port: int, password_file: Path) -> str:
    # Dovecot refuses to run its login process or mail access as root, so as root
    # those run as the package's `dovenull` and as `nobody`; otherwise all as us.
    # The anvil listener is off: it delays each failed login more than the last,
    # and a test logs in with a wrong password on purpose.
    me = pwd.getpwuid(os.getuid()).pw_name
    my_group = grp.getgrgid(os.getgid()).gr_name
    login_user, mail_user = ("dovenull", "nobody") if os.getuid() == 0 else (me, me)
    mail_group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    return f"""
        base_dir = {folder}/run
        state_dir = {folder}/state
        log_path = {folder}/dovecot.log
        protocols = imap
        listen = 127.0.0.1
        ssl = no
        disable_plaintext_auth = no
        auth_mechanisms = plain
        auth_failure_delay = 0
        first_valid_uid = 0
        first_valid_gid = 0
        default_internal_user = {me}
        default_internal_group = {my_group}
        default_login_user = {login_user}
        mail_location = maildir:{folder}/mail
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN username_format=%u {password_file}
        }}
        userdb {{
          driver = static
          args = uid={mail_user} gid={mail_group}
        }}
        service anvil {{
          unix_listener anvil-auth-penalty {{
            mode = 0
          }}
        }}
        service imap-login {{
          inet_listener imap {{
            address = 127.0.0.1
            port = {port}
          }}
          inet_listener imaps {{
            port = 0
          }}
        }}
    """


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Mailbox]:
    """A private Dovecot IMAP server on a loopback port, its mail in a temporary folder.

    The folder is outside pytest's private temporary folder: Dovecot's login and
    mail processes run as other users, who must reach its sockets and maildir.
    """
    binary = shutil.which("dovecot", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))
    if binary is None:
        raise RuntimeError("dovecot is not installed; run scripts/test-deps")
    with tempfile.TemporaryDirectory(prefix="tarry-dovecot-") as name:
        folder = Path(name)
        folder.chmod(0o755)
        mailbox = Mailbox(free_port())
        (folder / "mail").mkdir()
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(folder / "mail", nobody.pw_uid, nobody.pw_gid)
        password_file = folder / "passwd"
        password_file.write_text(f"{mailbox.user}:{{PLAIN}}{mailbox.password}\n")
        config = folder / "dovecot.conf"
        config.write_text(textwrap.dedent(_dovecot_config(folder, mailbox.port, password_file)))
        server = subprocess.Popen([binary, "-F", "-c", str(config)])
        try:
            _until_accepting(mailbox, server, folder / "dovecot.log")
            yield mailbox
        finally:
            server.terminate()
            server.wait(10)


def _until_accepting(mailbox: Mailbox, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            mailbox.connect().logout()
            return
        except (OSError, imaplib.IMAP4.error):
            log_text = log.read_text() if log.exists() else ""
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not start:\n{log_text}") from None
            time.sleep(0.02)


@pytest.fixture
def imap_harness(catcher: MailCatcher, dovecot: Mailbox) -> Iterator[TestHarness]:
    settings = {**catcher.settings(), **dovecot.settings(), "resident_seconds": 3600}
    with tarry_test_harness(**settings) as h:
        yield h
        for run in h.store.list_runs(records.RunFilter(limit=100)):
            if not run.state.is_final:
                service.cancel_run(run.id, by="test teardown", hst=h.host)


@pytest.fixture
def poller(imap_harness: TestHarness) -> Iterator[imap_poller.ImapPoller]:
    polling = imap_poller.ImapPoller(imap_harness.host)
    polling.start()
    try:
        yield polling
    finally:
        polling.stop()


def test_a_reply_in_the_imap_mailbox_resumes_the_run_and_is_marked_seen(
    imap_harness: TestHarness,
    catcher: MailCatcher,
    dovecot: Mailbox,
    poller: imap_poller.ImapPoller,
) -> None:
    run = waiting(imap_harness, authorized_training)
    question = question_for(catcher, JANE)

    dovecot.deliver(reply(question, "Decision: Disapprove\nCode: 7654321\n\nThanks,\nJane"))

    assert run.result() == "Disapprove 7654321"
    assert _until(lambda: dovecot.unseen() == 0)


def test_imap_mail_that_answers_nothing_is_marked_seen_and_left_alone(
    imap_harness: TestHarness, dovecot: Mailbox, poller: imap_poller.ImapPoller
) -> None:
    message = EmailMessage()
    message["From"] = JANE
    message["To"] = "replies@example.com"
    message["Subject"] = "Lunch?"
    message.set_content("Are we still on for lunch?")

    dovecot.deliver(message)

    assert _until(lambda: dovecot.unseen() == 0)


def test_the_poller_survives_a_mailbox_it_cannot_log_in_to(
    imap_harness: TestHarness, dovecot: Mailbox
) -> None:
    settings = imap_harness.host.settings
    wrong = type(settings)(**{**vars(settings), "imap_password": "wrong"})
    polling = imap_poller.ImapPoller(imap_harness.host, wrong)
    with pytest.raises(imaplib.IMAP4.error):
        polling.poll_once()
    polling.start()
    time.sleep(0.2)
    assert polling.running  # it logged the failure and waits to try again
    polling.stop()
    assert not polling.running


def _until(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
