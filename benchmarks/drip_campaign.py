"""Drip campaign (tarry): N recipients, real mail out, real reply mails in, one process.

Usage: python drip_campaign.py [N=10000]

Runs `examples/drip_campaign/challenge_5_many.py` as its `main()` does: the parent
flow `drip_to_all` starts one `drip_campaign` run per recipient with
`run_deployment(timeout=0)`; a `Worker` (8 runs at once) in this process executes
them; each run mails its recipient, waits for a reply out of memory
(`resident_seconds=0`) for `DRIP_WINDOW_S` seconds (30), and mails again if none
came. tarry's inbound SMTP endpoint runs in this process too.

The recipients live in a subprocess (`drip_campaign.py world ...`): a real SMTP
server (aiosmtpd) that tarry's dispatcher mails through, and that answers the
welcome mail of every `DRIP_REPLY_EVERY`-th person (3) at once with a real reply
mail, sent with smtplib (4 connections) to the inbound endpoint. It counts every
mail it receives, per recipient and per subject, and reports them when told to stop.

Reported: `start_s` (the parent's call: all N runs started), `total_s` (call →
every drip run ended), `all_welcomed_s` (call → the last welcome mail arrived),
mails sent and received, `per_recipient_correct` (every replier got exactly one
mail, everyone else exactly two), `duplicates` (mails a recipient got twice),
the runs' results, and RSS and threads of this process: sampled every 0.2 s
(`rss_mib_max`, `threads_max`) and `ru_maxrss` (`rss_mib_peak`).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import queue
import resource
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import tarry_env
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from common import emit, free_port, process_stats, summary

from tarry import host, loader, worker
from tarry.replies import smtp_endpoint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "drip_campaign"
WINDOW_S = float(os.environ.get("DRIP_WINDOW_S") or 120)
REPLY_EVERY = int(os.environ.get("DRIP_REPLY_EVERY") or 3)
REPLIERS = 4
WELCOME = "Welcome aboard!"
"""The subject of the first mail (`examples/drip_campaign/challenge_4_email.py`)."""


def person(i: int) -> str:
    return f"person{i}@example.com"


def replies(address: str) -> bool:
    """Whether this person answers the welcome mail."""
    return int(address.removeprefix("person").split("@")[0]) % REPLY_EVERY == 0


# -- the recipients' side (a subprocess) -----------------------------------------------------


class World:
    """The recipients' mail server: counts mail, answers the welcome of every few people."""

    def __init__(self, inbound_port: int) -> None:
        self.inbound_port = inbound_port
        self.received: Counter[tuple[str, str]] = Counter()
        self.last_welcome_at = 0.0
        self.to_answer: queue.Queue[EmailMessage | None] = queue.Queue()
        self.replies_sent = 0
        self.reply_errors: list[str] = []
        self._lock = threading.Lock()
        self._headers = email.parser.BytesHeaderParser(policy=email.policy.default)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = self._headers.parsebytes(envelope.original_content or b"")
        to, subject = str(mail["To"]), str(mail["Subject"])
        with self._lock:
            self.received[(to, subject)] += 1
        if subject == WELCOME:
            self.last_welcome_at = time.time()
            if replies(to):
                self.to_answer.put(self._reply(to, str(mail["Reply-To"]), str(mail["Message-ID"])))
        return "250 OK"

    def _reply(self, sender: str, reply_to: str, message_id: str) -> EmailMessage:
        reply = EmailMessage()
        reply["From"] = sender
        reply["To"] = reply_to
        reply["Subject"] = f"Re: {WELCOME}"
        reply["In-Reply-To"] = message_id
        reply.set_content("Count me in!\n")
        return reply

    def answer(self) -> None:
        """Send queued replies over one SMTP connection until told to stop (`None`)."""
        with smtplib.SMTP("127.0.0.1", self.inbound_port, timeout=60) as smtp:
            while (reply := self.to_answer.get()) is not None:
                try:
                    smtp.send_message(reply)
                    with self._lock:
                        self.replies_sent += 1
                except smtplib.SMTPException as exc:
                    self.reply_errors.append(repr(exc)[:200])

    def report(self) -> dict[str, Any]:
        per_person = Counter(to for to, _ in self.received.elements())
        return {
            "mails": sum(self.received.values()),
            "per_subject": dict(Counter(s for _, s in self.received.elements())),
            "per_person": dict(per_person),
            "duplicates": sum(c - 1 for c in self.received.values() if c > 1),
            "last_welcome_at": self.last_welcome_at,
            "replies_sent": self.replies_sent,
            "reply_errors": self.reply_errors[:3],
        }


def world_main(smtp_port: int, inbound_port: int) -> None:
    """Serve the recipients until stdin closes, then print what they received (JSON)."""
    world = World(inbound_port)
    controller = Controller(world, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    answering = [threading.Thread(target=world.answer) for _ in range(REPLIERS)]
    for thread in answering:
        thread.start()
    print("ready", flush=True)
    sys.stdin.read()
    for _ in answering:
        world.to_answer.put(None)
    for thread in answering:
        thread.join()
    controller.stop()
    print(json.dumps(world.report()), flush=True)


# -- tarry's side (this process) -------------------------------------------------------------


def example(name: str) -> ModuleType:
    return sys.modules[loader.load_object(f"{EXAMPLES / name}:__name__")]


class Peaks:
    """RSS and thread count of this process, sampled every 0.2 s in a thread."""

    def __init__(self) -> None:
        self.rss_mib = 0.0
        self.threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-sampler")

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            stats = process_stats()
            self.rss_mib = max(self.rss_mib, stats["rss_mib"])
            self.threads = max(self.threads, int(stats["threads"]))
            if self._stop.wait(0.2):
                return


class Database:
    """Reads the benchmark's SQLite file through a read-only connection of its own."""

    def __init__(self, hst: host.Host) -> None:
        path = hst.settings.home / "tarry.db"
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def drip_runs(self) -> dict[str, int]:
        """`state/result` → how many drip runs."""
        rows = self._conn.execute(
            "SELECT state, result, count(*) FROM runs WHERE flow_name = 'drip-campaign' "
            "GROUP BY state, result"
        ).fetchall()
        return {f"{state}/{result}": count for state, result, count in rows}

    def unsent_mails(self) -> int:
        return int(
            self._conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
        )

    def send_delays(self) -> list[float]:
        """Seconds from queueing each mail (its run goes on at once) to the server taking it."""
        rows = self._conn.execute(
            "SELECT sent_at - created_at FROM outbox WHERE sent_at IS NOT NULL"
        )
        return [float(delay) for (delay,) in rows]

    def close(self) -> None:
        self._conn.close()


def until_all_done(db: Database, n: int) -> None:
    """Return once every drip run completed and the outbox has sent everything."""
    deadline = time.monotonic() + 3600
    while True:
        runs = db.drip_runs()
        if sum(c for k, c in runs.items() if k.startswith("Completed/")) == n:
            if db.unsent_mails() == 0:
                return
        elif any(k.split("/")[0] in ("Failed", "Crashed", "Cancelled") for k in runs):
            raise RuntimeError(f"a drip run did not complete: {runs}")
        if time.monotonic() > deadline:
            raise TimeoutError("the drip campaign did not end within an hour")
        time.sleep(0.2)


def run(n: int) -> dict[str, Any]:
    smtp_port = free_port()
    hst = tarry_env.open_host(
        "tarry-drip-",
        resident_seconds=0,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        mail_from="news@example.com",
    )
    many = example("challenge_5_many.py")
    endpoint = smtp_endpoint.start_smtp_endpoint(hst, "127.0.0.1", 0)
    world = subprocess.Popen(
        [sys.executable, __file__, "world", str(smtp_port), str(endpoint.port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert world.stdout is not None
    assert world.stdout.readline().strip() == "ready"
    many.drip_campaign.deploy()
    runner = worker.Worker(hst)
    executing = threading.Thread(target=runner.run, name="drip-worker")
    base = process_stats()
    db = Database(hst)
    with Peaks() as peaks:
        executing.start()
        t0_wall, t0 = time.time(), time.perf_counter()
        run_ids = many.drip_to_all([person(i) for i in range(n)], WINDOW_S)
        t_started = time.perf_counter() - t0
        until_all_done(db, n)
        t_done = time.perf_counter() - t0
        runs, delays = db.drip_runs(), db.send_delays()
        db.close()
        runner.stop()
        executing.join()
        endpoint.stop()
        tarry_env.close_host(hst)
    received, _ = world.communicate("", timeout=120)
    mail = json.loads(received.strip().splitlines()[-1])
    per_person: dict[str, int] = mail.pop("per_person")
    expected = {person(i): 1 if replies(person(i)) else 2 for i in range(n)}
    return {
        "window_s": WINDOW_S,
        "reply_every": REPLY_EVERY,
        "runs_started": len(set(run_ids)),
        "start_s": round(t_started, 2),
        "all_welcomed_s": round(mail.pop("last_welcome_at") - t0_wall, 2),
        "total_s": round(t_done, 2),
        "runs": runs,
        "send_delay_s": summary(delays, ndigits=2),
        "emails_sent": mail["mails"],
        "emails_expected": sum(expected.values()),
        "per_recipient_correct": per_person == expected,
        "wrong_recipients": sum(per_person.get(p) != c for p, c in expected.items()),
        **mail,
        "rss_mib_before": base["rss_mib"],
        "rss_mib_max": peaks.rss_mib,
        "rss_mib_peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads_max": peaks.threads,
    }


def main() -> None:
    if sys.argv[1:2] == ["world"]:
        world_main(int(sys.argv[2]), int(sys.argv[3]))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    found = run(n)
    emit({**tarry_env.versions(), "workload": "drip-campaign", "n": n, **found})


if __name__ == "__main__":
    main()
