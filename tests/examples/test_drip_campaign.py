"""The email drip campaign (seeds/000 part 2, challenges 3-5): who gets how many emails."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tarry import loader, worker
from tarry.replies import smtp_endpoint
from tarry.states import RunState
from tarry.storage import RunFilter
from tarry.testing import TestHarness, tarry_test_harness
from tests.conftest import ROOT, subprocess_env
from tests.smtp_capture import MailCatcher

EXAMPLES = ROOT / "examples" / "drip_campaign"
WINDOW = 120.0


def _example(name: str) -> ModuleType:
    """The example's module, loaded by file path as a worker loads its flows."""
    return sys.modules[loader.load_object(f"{EXAMPLES / name}:__name__")]


@pytest.fixture
def clocked() -> Iterator[TestHarness]:
    """A harness whose clock moves only when the test moves it."""
    with tarry_test_harness(fake_clock=True) as harness:
        yield harness


# -- challenge 3: mocked mail ---------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[ModuleType]:
    """Challenge 3, with an empty mock mail server."""
    module = _example("challenge_3_mock.py")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "MAIL", module.MockMail())
        yield module


def test_mock_mail_a_reply_within_the_window_spares_the_second_email(
    clocked: TestHarness, mock: ModuleType
) -> None:
    people = ["ann@example.com", "bob@example.com", "cy@example.com"]
    runs = {to: clocked.start(mock.drip_campaign, to, WINDOW) for to in people}
    for run in runs.values():
        run.wait_for(RunState.WAITING)
    first = {e.to: e for e in (mock.MAIL.delivered.get(timeout=10) for _ in people)}

    clocked.advance(WINDOW - 1)
    assert mock.recipient(first["ann@example.com"], "Yes please!") is True
    assert mock.recipient(first["bob@example.com"], None) is False
    clocked.advance(2)  # the window is over: Bob's second email goes out
    assert runs["bob@example.com"].result() == 2
    assert mock.recipient(first["cy@example.com"], "Sorry, I was away") is True

    assert {to: run.result() for to, run in runs.items()} == {
        "ann@example.com": 1,
        "bob@example.com": 2,
        "cy@example.com": 2,  # replied too late
    }
    assert Counter(e.to for e in mock.MAIL.sent) == {
        "ann@example.com": 1,
        "bob@example.com": 2,
        "cy@example.com": 2,
    }


def test_mock_mail_demo_script_prints_who_got_how_many(tarry_home: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "challenge_3_mock.py"), "0.5"],
        env=subprocess_env(tarry_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ann@example.com got 1 email(s)",
        "bob@example.com got 2 email(s)",
    ]


# -- challenge 4: real mail -----------------------------------------------------------------


@contextlib.contextmanager
def mail_harness(catcher: MailCatcher, **settings: Any) -> Iterator[tuple[TestHarness, str]]:
    """A fake-clock harness mailing through `catcher`, and its inbound endpoint's `host:port`."""
    with tarry_test_harness(fake_clock=True, **catcher.settings(), **settings) as harness:
        endpoint = smtp_endpoint.start_smtp_endpoint(harness.host, "127.0.0.1", 0)
        try:
            yield harness, f"{endpoint.host}:{endpoint.port}"
        finally:
            endpoint.stop()


def _first_mail(catcher: MailCatcher, to: str) -> EmailMessage:
    deadline = time.monotonic() + 10
    while not catcher.to(to):
        assert time.monotonic() < deadline, f"no mail for {to}"
        time.sleep(0.01)
    return catcher.to(to)[0]


def test_real_mail_a_reply_by_mail_within_the_window_spares_the_second_email(
    catcher: MailCatcher,
) -> None:
    real = _example("challenge_4_email.py")
    people = ["ann@example.com", "bob@example.com"]
    with mail_harness(catcher) as (harness, inbound):
        runs = {to: harness.start(real.drip_campaign, to, WINDOW) for to in people}
        for run in runs.values():
            run.wait_for(RunState.WAITING)
        welcome = _first_mail(catcher, "ann@example.com")

        harness.advance(WINDOW - 1)
        real.recipient(str(welcome["Reply-To"]), "ann@example.com", "Yes please!", inbound)
        harness.advance(2)

        assert {to: run.result() for to, run in runs.items()} == {
            "ann@example.com": 1,
            "bob@example.com": 2,
        }
        [reply] = harness.store.messages_of_run(runs["ann@example.com"].id)
        assert (json.loads(reply.data), reply.sender) == ("Yes please!", "ann@example.com")
    # Closing the harness sent what was still queued: these are all the mails.
    assert Counter(str(m["To"]) for m in catcher.messages) == {
        "ann@example.com": 1,
        "bob@example.com": 2,
    }


# -- challenge 5: many recipients -----------------------------------------------------------


@contextlib.contextmanager
def working(harness: TestHarness) -> Iterator[None]:
    """A worker executing the harness's Pending runs in the background."""
    runner = worker.Worker(harness.host)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        yield
    finally:
        runner.stop()
        thread.join()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def _drip_runs(harness: TestHarness, *states: RunState) -> int:
    where = RunFilter(states=states, flow_name="drip-campaign", limit=10_000)
    return len(harness.store.list_runs(where))


def test_many_recipients_each_get_one_email_if_they_replied_else_two(
    catcher: MailCatcher,
) -> None:
    many, real = _example("challenge_5_many.py"), _example("challenge_4_email.py")
    people = [f"person{i}@example.com" for i in range(200)]
    repliers = set(people[::3])
    # Drip runs leave memory as soon as they wait, as the example's main() sets up.
    with mail_harness(catcher, resident_seconds=0) as (harness, inbound), working(harness):
        many.drip_campaign.deploy()
        run_ids = harness.start(many.drip_to_all, people, WINDOW).result()
        assert len(set(run_ids)) == len(people)
        _until(lambda: _drip_runs(harness, RunState.WAITING) == len(people), "all wait")
        catcher.wait_for(len(people))

        welcomes = {str(m["To"]): str(m["Reply-To"]) for m in catcher.messages}
        for person in sorted(repliers):
            real.recipient(welcomes[person], person, "Count me in", inbound)
        harness.advance(WINDOW + 1)
        _until(lambda: _drip_runs(harness, RunState.COMPLETED) == len(people), "all end")
        catcher.wait_for(2 * len(people) - len(repliers))

    got = Counter(str(m["To"]) for m in catcher.messages)
    assert got == {p: 1 if p in repliers else 2 for p in people}
    sent = [(str(m["To"]), str(m["Subject"])) for m in catcher.messages]
    assert len(set(sent)) == len(sent), "a mail went out twice"
