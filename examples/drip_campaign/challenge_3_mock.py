"""Email drip campaign, challenge 3: two flows that interact, mail mocked (seeds/000 part 2).

`drip_campaign` sends one person a first email, then waits `window_seconds` (two
minutes, standing for two days) for a reply. Whoever replies in time gets no
second email; whoever does not, gets one.

`recipient` is the second flow: a person reading an email, who replies to it, or
not. Mail is mocked: `MAIL.send` prints the email and keeps it in `MAIL.sent`.
Its reply address is the run that sent it, so a reply is a message to that run
(`send_input`), which `receive_input` gets exactly once, even if the campaign
left memory while it waited.

    python examples/drip_campaign/challenge_3_mock.py [WINDOW_SECONDS=120]

Ann replies to her first email, Bob does not: Ann gets one email, Bob two.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import queue
import sys

from tarry import flow, receive_input, runtime, send_input, task


@dataclasses.dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    reply_to: str
    """The run that sent it: a reply is a message to that run."""


class MockMail:
    """Pretend mail: each email is printed, kept in `sent` and put in `delivered`."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.delivered: queue.Queue[Email] = queue.Queue()

    def send(self, email: Email) -> None:
        print(f"  mail to {email.to}: {email.subject!r}")
        self.sent.append(email)
        self.delivered.put(email)


MAIL = MockMail()


@task
def send_email(to: str, subject: str, text: str) -> None:
    # A task: a campaign resumed by replay does not send it again.
    MAIL.send(Email(to, subject, text, reply_to=str(runtime.flow_run.id)))


@flow(log_prints=True)
def drip_campaign(to: str, window_seconds: float = 120) -> int:
    """Email `to`, and email again unless they reply within `window_seconds`.

    Returns:
        How many emails `to` got.
    """
    send_email(to, "Welcome aboard!", "Reply to this email and tell us what you need.")
    for reply in receive_input(str, timeout=window_seconds, with_metadata=True):
        print(f"{reply.sender} replied {reply.value!r}: no second email")
        return 1
    send_email(to, "Did you see our welcome?", "We would still love to hear from you.")
    return 2


@flow(log_prints=True)
def recipient(email: Email, reply: str | None) -> bool:
    """A person reading `email`, who answers `reply` (or, with `None`, never answers).

    Returns:
        Whether they replied.
    """
    if reply is None:
        print(f"{email.to} leaves {email.subject!r} unanswered")
        return False
    send_input(reply, flow_run_id=email.reply_to, sender=email.to)
    return True


PEOPLE = {"ann@example.com": "Yes please, tell me more!", "bob@example.com": None}


def main(window_seconds: float) -> None:
    with cf.ThreadPoolExecutor() as pool:
        campaigns = {to: pool.submit(drip_campaign, to, window_seconds) for to in PEOPLE}
        for _ in PEOPLE:  # each person reads their first email
            email = MAIL.delivered.get(timeout=60)
            recipient(email, PEOPLE[email.to])
        for to, campaign in campaigns.items():
            print(f"{to} got {campaign.result()} email(s)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 120)
