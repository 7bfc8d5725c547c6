"""The kill suite (issue 25): SIGKILL tarry's processes at random moments, restart them, check.

One fleet on one store (a SQLite file or a PostgreSQL schema): `tarry server` (the API and an
embedded worker), `tarry worker` processes and two launchers (scripts that call `errand`
themselves in a few threads, as people's scripts call flows). Runs of
`tests/e2e/flows/fleet.py:errand` are always in flight: steps whose executions are appended to
a file outside the journal, a message and an answer given through the API from this process,
a hello sent from one run to another, a durable `sleep` and a wait that times out.

A **trial** is one SIGKILL of one process of the fleet (a launcher, a worker or the server,
chosen at random among those that may be killed), at a random moment, followed at once by a
restart of the same command (a new launcher starts new runs; the killed one's runs are taken
over). Between two trials the fleet works on; no trial waits for the runs to end. Once every
trial is done the launchers are told to stop, the runs are answered to their end, and the
checks (`tests/e2e/kill_checks.py`) look at every run. `benchmarks/README.md` says it all in
detail.

`benchmarks/kill_suite.py` runs it with 1000 trials and prints one JSON line;
`tests/e2e/test_kill_suite.py` runs 50 trials per store in CI.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tarry import config, errors, host, service
from tarry.engine import mailbox
from tests.conftest import ROOT
from tests.e2e.fleet_processes import Fleet, Process
from tests.e2e.kill_checks import FINAL, Audit, Db, check_run, journal_audit

__all__ = ["Outcome", "Suite", "kill_suite"]

FLOWS = "tests/e2e/flows/fleet.py"
SETTINGS = {
    # A dead process of this host loses its runs at once, whatever the lease: a long lease
    # only keeps a process that the busy machine starves for a while from losing its runs.
    "TARRY_LEASE_SECONDS": "6",
    "TARRY_WORKER_POLL_SECONDS": "0.1",
    "TARRY_RESIDENT_SECONDS": "1",
    "TARRY_LOGGING_LEVEL": "WARNING",
    "PYTHONFAULTHANDLER": "1",
}
GRACE = {"server": 1.0, "worker": 0.5, "launcher": 0.5}
"""Once up, a process may be killed from a random moment within this many seconds: a kill
that comes later finds it working all the same."""
LAUNCHERS = 2
WEIGHTS = {"launcher": 2, "worker": 2, "server": 1}
"""How often each kind of process is chosen, of those that may be killed: a server costs
four times a worker's CPU to start again."""
EARLY = 0.1
"""The share of processes that may be killed while they start (before they are up)."""
_BYTECODE = {
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "tarry-pycache"),
}
"""Restarted processes read compiled modules from a cache, as after `pip install`, instead of
compiling tarry, pydantic and FastAPI from source each time (where the environment says not
to write `.pyc` files): a restart then costs a third of the CPU."""
DRAIN_SECONDS = 300.0
STALL_SECONDS = 180.0
"""How long the trials may wait for a process that may be killed (one that is up)."""
"""How long the runs may take to end once the trials are done."""


@dataclasses.dataclass
class Kill:
    """One trial: whom it killed, when."""

    trial: int
    target: str
    """`launcher`, `worker` or `server`."""
    process: Process
    at: float


@dataclasses.dataclass
class Member:
    """A process of the fleet, and from when the trials may kill it."""

    process: Process
    kind: str
    """`launcher`, `worker` or `server`."""
    delay: float
    """How long after it is up (after its start if `early`) it may be killed."""
    early: bool
    started_at: float = dataclasses.field(default_factory=time.monotonic)
    up_at: float | None = None

    def killable(self, http: httpx.Client, now: float) -> bool:
        """Whether it may be killed now."""
        if self.early:
            return now >= self.started_at + self.delay
        return self.is_up(http) and now >= (self.up_at or now) + self.delay

    def is_up(self, http: httpx.Client) -> bool:
        """Whether it is up (it serves, printed its banner, or started its threads)."""
        if self.up_at is None and self._up(http):
            self.up_at = time.monotonic()
        return self.up_at is not None

    def _up(self, http: httpx.Client) -> bool:
        text = self.process.text()
        if self.kind != "server":
            return ("tarry worker" if self.kind == "worker" else "launching") in text
        if "tarry server on" not in text:
            return False
        with contextlib.suppress(httpx.HTTPError):
            return http.get(f"{self.process.api}/health", timeout=0.5).is_success
        return False


@dataclasses.dataclass
class Outcome:
    """What a kill suite found."""

    store: str
    seed: int
    trials: int
    runs: int
    kills: dict[str, int]
    failures: list[str]
    seconds: float
    refusals: dict[str, int]
    """HTTP errors the API answered (not counting connections a kill cut), by status."""
    taken_over: int
    """Runs taken over from a killed process (a run may count more than once)."""
    interrupted: int
    """Step executions a kill interrupted (and that ran again)."""

    def line(self) -> dict[str, Any]:
        """The benchmark's JSON line."""
        return {
            "bench": "kill_suite",
            "store": self.store,
            "seed": self.seed,
            "trials": self.trials,
            "failures": len(self.failures),
            "failed": self.failures[:10],
            "runs": self.runs,
            "kills": self.kills,
            "taken_over": self.taken_over,
            "steps_interrupted": self.interrupted,
            "http_errors": self.refusals,
            "seconds": round(self.seconds, 1),
        }


class Suite:
    """The fleet, its runs in flight, and the trials.

    Args:
        fleet: Where the processes start.
        db: The store's reads.
        folder: Where the executions file goes.
        seed: Seeds the choice of the moments and targets of the kills.
        mean_gap: The mean time between two kills, seconds.
        workers: How many `tarry worker` processes.
        pairs: Pairs of API-started runs kept in flight.
        threads: The launcher's threads (each with one run in flight).
    """

    def __init__(
        self,
        fleet: Fleet,
        db: Db,
        folder: Path,
        seed: int,
        mean_gap: float,
        workers: int,
        pairs: int = 6,
        threads: int = 3,
    ) -> None:
        self.fleet, self.db, self.seed, self.mean_gap = fleet, db, seed, mean_gap
        self.rng = random.Random(seed)
        self.log = folder / "executions.txt"
        self.pairs, self.threads = pairs, threads
        self.rng_answers = random.Random(seed)
        self.here = host.Host(config.Settings(database_url=db.url, home=folder / "here"))
        """This process's own host: the other way to answer (see `_answer`)."""
        self.http = httpx.Client(timeout=10)
        """The responder's (see `run`)."""
        self.health = httpx.Client(timeout=0.5)
        """The trials' (they check that a server is up)."""
        self.live: dict[str, Member] = {}
        self.kills: list[Kill] = []
        self.api_runs: dict[str, str] = {}
        """Runs started through the API: label -> id."""
        self.in_flight: list[str] = []
        self.answered: set[str] = set()
        self.refusals: collections.Counter[str] = collections.Counter()
        self.launchers = 0
        self.workers = workers
        self.failures: list[str] = []
        """Processes that exited while no trial killed them."""

    # -- processes ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server, the workers and the launcher."""
        self._started("server", self.fleet.start_server("server", f"{FLOWS}:errand"))
        for i in range(1, self.workers + 1):
            self._started(f"worker-{i}", self.fleet.worker(f"worker-{i}", "--max-runs", "16"))
        for i in range(1, LAUNCHERS + 1):
            self._started(f"launcher-{i}", self._launcher(f"launcher-{i}"))

    def _launcher(self, name: str) -> Process:
        self.launchers += 1
        prefix = f"L{self.launchers}"
        args = (str(self.log), prefix, str(self.threads), "0.1", "0.2")
        return self.fleet.script(name, str(ROOT / FLOWS), "launch", *args)

    def _started(self, name: str, process: Process) -> None:
        kind = name.split("-", maxsplit=1)[0]
        early = self.rng.random() < EARLY
        delay = self.rng.uniform(0, 1.0 if early else GRACE[kind])
        self.live[name] = Member(process, kind, delay, early)

    def _watch(self) -> None:
        """Note a process that exited by itself, and start it again."""
        for name, member in list(self.live.items()):
            code = member.process.popen.poll()
            if code is not None:
                tail = member.process.text()[-2000:]
                self.failures.append(
                    f"{name} (pid {member.process.pid}) exited with {code}: {tail}"
                )
                member.process.killed = True  # its traceback is in this failure already
                self._restart(name)

    def _kill_one(self) -> bool:
        """Kill one process that may be killed now, and restart it; False if none may."""
        now = time.monotonic()
        killable = [n for n, m in sorted(self.live.items()) if m.killable(self.health, now)]
        if not killable:
            return False
        kinds = sorted({self.live[n].kind for n in killable})
        kind = self.rng.choices(kinds, [WEIGHTS[k] for k in kinds])[0]
        name = self.rng.choice([n for n in killable if self.live[n].kind == kind])
        victim = self.live[name].process
        victim.kill()
        self.kills.append(Kill(len(self.kills) + 1, kind, victim, time.time()))
        with (self.log.parent / "kills.txt").open("a") as kills:
            kills.write(f"{len(self.kills)} {name} {victim.pid} {time.time():.6f}\n")
        self._restart(name)
        return True

    def _restart(self, name: str) -> None:
        """Start what `name` ran again: a launcher's arguments name new runs."""
        member = self.live[name]
        if member.kind == "launcher":
            self._started(name, self._launcher(name))
        else:
            self._started(name, self.fleet.restart(member.process))

    @property
    def api(self) -> str:
        """The server's API."""
        return str(self.live["server"].process.api)

    # -- runs -----------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response | None:
        """POST to the server; None when the server is down or a kill cut the request."""
        try:
            response = self.http.post(f"{self.api}{path}", json=body)
        except httpx.TransportError:
            return None
        if response.status_code >= 400 and response.status_code != 409:
            self.refusals[str(response.status_code)] += 1
        return response

    def _start_run(self, label: str, **parameters: object) -> str | None:
        """Start a run through the API, once: a request a kill cut may have started it."""
        found = self._run_of(label)
        if found is not None:
            return found
        body = {"log": str(self.log), "label": label, "seconds": 0.1, "nap": 0.2, **parameters}
        response = self._post("/runs", {"deployment": "errand/fleet", "parameters": body})
        if response is None or not response.is_success:
            return None
        return str(response.json()["id"])

    def _run_of(self, label: str) -> str | None:
        rows = self.db.rows("SELECT id FROM runs WHERE parameters LIKE %s", f'%"{label}"%')
        return str(rows[0][0]) if rows else None

    def _top_up(self) -> None:
        """Start pairs of runs (the second says hello to the first) up to `pairs` in flight."""
        if self.in_flight:
            marks = ", ".join(["%s"] * len(self.in_flight))
            ended = self.db.rows(
                f"SELECT id FROM runs WHERE state IN {FINAL} AND id IN ({marks})", *self.in_flight
            )
            self.in_flight = [i for i in self.in_flight if (i,) not in ended]
        while len(self.in_flight) < 2 * self.pairs:
            number = len(self.api_runs) // 2
            first, second = f"A{number}a", f"A{number}b"
            if first not in self.api_runs:
                run_id = self._start_run(first, expect_peer=True)
                if run_id is None:
                    return
                self.api_runs[first] = run_id
                self.in_flight.append(run_id)
            run_id = self._start_run(second, peer=self.api_runs[first])
            if run_id is None:
                return
            self.api_runs[second] = run_id
            self.in_flight.append(run_id)

    def _complete_the_last_pair(self) -> None:
        """Start the second run of a pair whose first started just before the trials ended.

        The first run waits for its peer's hello: left alone, it would wait for it in vain.
        """
        if len(self.api_runs) % 2 == 0:
            return
        number = len(self.api_runs) // 2
        first, second = f"A{number}a", f"A{number}b"
        run_id = self._start_run(second, peer=self.api_runs[first])
        if run_id is not None:
            self.api_runs[second] = run_id
            self.in_flight.append(run_id)

    def _answer(self) -> None:
        """Send a message to each run that asks for approval, then answer it.

        Through the API, or, when the server is down (and one time in three anyway), from
        this process with `send_input` and `resume_flow_run`'s `submit_input` on a host of
        its own. The message goes first: a kill may cut the answer's response after it was
        accepted, and then the approval is no longer open. Both are sent again until both
        were taken, and neither is taken twice (a message's key, an answer's wait).
        """
        rows = self.db.rows(
            "SELECT waits.run_id, runs.parameters FROM waits JOIN runs ON runs.id = waits.run_id"
            " WHERE waits.status = 'open' AND waits.name = 'approval'"
        )
        for run_id, parameters in rows:
            if run_id in self.answered:
                continue
            label = json.loads(parameters)["label"]
            said = None if self.rng_answers.random() < 1 / 3 else self._answer_by_api(run_id, label)
            if said is None:
                said = self._answer_here(run_id, label)
            with (self.log.parent / "answers.txt").open("a") as answers:
                answers.write(f"{run_id} {said} {time.time():.6f}\n")
            if said.split()[-1] in ("accepted", "kept", "already_answered"):
                self.answered.add(run_id)

    def _answer_by_api(self, run_id: str, label: str) -> str | None:
        """What the API said to the answer (None: the server did not answer)."""
        message = {"value": f"api to {label}", "key": f"api-{label}", "sender": "kill-suite"}
        sent = self._post(f"/runs/{run_id}/messages", message)
        if sent is None or not sent.is_success:
            return None
        body = {"input": f"yes to {label}", "key": "approval", "responder": "kill-suite"}
        answered = self._post(f"/runs/{run_id}/resume", body)
        if answered is None:
            return None
        reply = answered.json()
        return "api " + ("accepted" if reply.get("accepted") else str(reply.get("code", "kept")))

    def _answer_here(self, run_id: str, label: str) -> str:
        """The same message and answer, from this process (the API's words for the outcome)."""
        hst = self.here
        try:
            mailbox.send_input(f"api to {label}", run_id, "kill-suite", key=f"api-{label}", hst=hst)
            submitted = service.submit_input(
                run_id, f"yes to {label}", key="approval", responder="kill-suite", hst=hst
            )
        except errors.AlreadyAnswered:
            return "here already_answered"
        except (errors.TarryError, sqlite3.Error, psycopg.Error) as error:
            return f"here {type(error).__name__}"
        return "here " + ("accepted" if submitted.wait is not None else "kept")

    # -- the trials -----------------------------------------------------------------------

    def run(self, trials: int) -> None:
        """Run `trials` trials, then every run to its end.

        The trials are this (the main) thread's, which starts every process; a thread of its
        own starts runs and answers them, so a slow answer never delays a kill.
        """
        done = threading.Event()
        errors: list[BaseException] = []
        responder = threading.Thread(target=self._respond, args=(done, errors), daemon=True)
        responder.start()
        try:
            self._trials(trials)
            Path(f"{self.log}.stop").touch()
            reads = Db(self.db.url)
            try:
                deadline = time.monotonic() + DRAIN_SECONDS
                while time.monotonic() < deadline and not errors and not self._all_ended(reads):
                    time.sleep(0.05)
            finally:
                reads.close()
        finally:
            done.set()
            responder.join()
        if errors:
            raise errors[0]

    def _trials(self, trials: int) -> None:
        next_kill = time.monotonic() + self.rng.uniform(0, 2 * self.mean_gap)
        last_kill = time.monotonic()
        while len(self.kills) < trials:
            self._watch()
            if time.monotonic() >= next_kill and self._kill_one():
                last_kill = time.monotonic()
                next_kill = last_kill + self.rng.uniform(0, 2 * self.mean_gap)
            if time.monotonic() > last_kill + STALL_SECONDS:
                tails = [f"--- {n}\n{m.process.text()[-2000:]}" for n, m in self.live.items()]
                raise AssertionError(
                    f"no process came up for {STALL_SECONDS:g} s:\n" + "\n".join(tails)
                )
            time.sleep(0.01)

    def _respond(self, done: threading.Event, errors: list[BaseException]) -> None:
        """Start runs and answer them until `done` (while there are trials, start runs)."""
        stopping = Path(f"{self.log}.stop")
        try:
            while not done.is_set():
                if not stopping.exists():
                    self._top_up()
                else:
                    self._complete_the_last_pair()
                self._answer()
                time.sleep(0.02)
        except BaseException as error:
            errors.append(error)

    def _all_ended(self, reads: Db) -> bool:
        unfinished = reads.rows(f"SELECT count(*) FROM runs WHERE state NOT IN {FINAL}")
        launchers = [m.process for m in self.live.values() if m.kind == "launcher"]
        # The Ctrl-C at the end must not land in a start (a KeyboardInterrupt in an import).
        up = all(m.is_up(self.health) for m in self.live.values() if m.kind != "launcher")
        ended = unfinished[0][0] == 0 and all(p.popen.poll() is not None for p in launchers)
        return ended and up


# -- the checks and the whole suite ---------------------------------------------------------


def check(suite: Suite, audit: Audit) -> list[str]:
    """Every failure of every run, each naming the trials that happened while it ran."""
    killed = {kill.process.pid for kill in suite.kills}
    failures = []
    for run_id in sorted(audit.runs, key=lambda i: audit.runs[i]["created_at"]):
        found = check_run(audit, run_id, killed)
        if found:
            run = audit.runs[run_id]
            trials = [k.trial for k in suite.kills if run["created_at"] <= k.at <= run["ended_at"]]
            label = run["parameters"]["label"]
            failures.append(f"{label} ({run_id}), trials {trials}: {'; '.join(found)}")
    missing = set(suite.api_runs.values()) - set(audit.runs)
    failures += [f"run {i} started through the API is gone" for i in sorted(missing)]
    return failures


# -- the whole suite ------------------------------------------------------------------------


@contextlib.contextmanager
def _store(kind: str, folder: Path, postgres_url: str | None) -> Iterator[Db]:
    url = f"sqlite:///{folder / 'tarry.db'}" if kind == "sqlite" else str(postgres_url)
    db = Db(url)
    try:
        journal_audit(db)
        yield db
    finally:
        db.close()


def kill_suite(
    kind: str,
    folder: Path,
    trials: int,
    seed: int,
    postgres_url: str | None = None,
    mean_gap: float = 0.5,
) -> Outcome:
    """Run `trials` trials on a fresh store of `kind` (`sqlite`, or `postgres` on the
    schema `postgres_url`); what they found.

    Args:
        kind: `sqlite` or `postgres`.
        folder: An empty folder for the store (SQLite), the outputs and the executions file.
        trials: How many kills.
        seed: Seeds the moments and the targets of the kills.
        postgres_url: A fresh schema, for `postgres`.
        mean_gap: The mean time between two kills, seconds.
    """
    began = time.monotonic()
    workers = 2 if kind == "sqlite" else 3
    with _store(kind, folder, postgres_url) as db:
        processes = Fleet(folder, db.url, {**SETTINGS, **_BYTECODE})
        suite = Suite(processes, db, folder, seed, mean_gap, workers)
        try:
            suite.start()
            suite.run(trials)
        finally:
            processes.stop()
            suite.http.close()
            suite.health.close()
            suite.here.close()
        audit = Audit.read(db, suite.log)
        failures = suite.failures + check(suite, audit) + _unclean(processes)
    kills = collections.Counter(k.target for k in suite.kills)
    return Outcome(
        store=kind,
        seed=seed,
        trials=len(suite.kills),
        runs=len(audit.runs),
        taken_over=audit.taken_over,
        interrupted=sum(len(e) - 1 for e in audit.executions.values()),
        kills=dict(sorted(kills.items())),
        failures=failures,
        seconds=time.monotonic() - began,
        refusals=dict(suite.refusals),
    )


def _unclean(processes: Fleet) -> list[str]:
    """The processes no trial killed that printed a traceback or ignored Ctrl-C."""
    return [
        f"{p.name} (pid {p.pid}) {'ignored Ctrl-C' if p.lingered else 'printed a traceback'}:"
        f" {p.text()[-2000:]}"
        for p in processes.processes
        if not p.killed and (p.lingered or "Traceback" in p.text())
    ]
