"""Email drip campaign, challenge 4: real mail out, real replies in (seeds/000 part 2).

The campaign of challenge 3 with real mail. `tarry.notify.email.send` queues each
email in the store's outbox (a replayed run does not send it again) and this
process sends it through `TARRY_SMTP_HOST`. The first email's Reply-To address
carries a signed token naming the run, so a reply mail, received by `tarry
server`'s SMTP endpoint (`TARRY_INBOUND_SMTP_PORT`) or read from a mailbox over
IMAP (`TARRY_IMAP_*`), comes back to the run as a message: its text without the
quoted email, and who sent it.

`recipient` plays a person answering from their mail program: it sends a real
reply mail to the first email's Reply-To address.

    python examples/drip_campaign/challenge_4_email.py ADDRESS [WINDOW_SECONDS=120]
    python examples/drip_campaign/challenge_4_email.py reply REPLY_TO FROM TEXT [HOST:PORT]

See README.md next to this file for a mail server to try it with.
"""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage

from tarry import flow, receive_input, task
from tarry.notify import email as mail

WELCOME = "Welcome aboard!"
ASK = "Reply to this email and tell us what you need."


@flow(log_prints=True)
def drip_campaign(to: str, window_seconds: float = 120) -> int:
    """Email `to`, and email again unless they reply within `window_seconds`.

    Returns:
        How many emails `to` got.
    """
    mail.send(to, WELCOME, ASK)
    for reply in receive_input(str, timeout=window_seconds, with_metadata=True):
        print(f"{reply.sender} replied {reply.value!r}: no second email")
        return 1
    # The campaign ends here: replies to this one go to TARRY_MAIL_FROM's mailbox.
    mail.send(to, "Did you see our welcome?", "We would love to hear from you.", replies=False)
    return 2


@task
def send_reply(reply_to: str, sender: str, text: str, smtp_server: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_to
    message["Subject"] = f"Re: {WELCOME}"
    # As mail programs do: the new text above the quoted email.
    message.set_content(f"{text}\n\nOn Mon, 1 Jun 2026 at 09:00, you wrote:\n> {ASK}\n")
    server, _, port = smtp_server.rpartition(":")
    with smtplib.SMTP(server, int(port)) as smtp:
        smtp.send_message(message)


@flow(log_prints=True)
def recipient(reply_to: str, sender: str, text: str, smtp_server: str = "127.0.0.1:8026") -> None:
    """A person replying `text` from `sender` to the first email (sent to `reply_to`).

    `smtp_server` (`host:port`) is where their mail goes: tarry's inbound SMTP
    endpoint (127.0.0.1:8026 in README.md).
    """
    send_reply(reply_to, sender, text, smtp_server)
    print(f"{sender} replied by mail")


if __name__ == "__main__":
    if sys.argv[1:2] == ["reply"] and len(sys.argv) in (5, 6):
        recipient(*sys.argv[2:])
    elif len(sys.argv) in (2, 3):
        window = float(sys.argv[2]) if len(sys.argv) == 3 else 120
        print(f"{sys.argv[1]} got {drip_campaign(sys.argv[1], window)} email(s)")
    else:
        raise SystemExit(__doc__)
