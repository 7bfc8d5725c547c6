"""The automation kill suite (issue 19): SIGKILL the evaluating process during a stream of events.

One store (a SQLite file or a PostgreSQL schema) with two deployments of `tick` in the work
pool `unserved`, which no worker serves: the runs that automations start stay Pending, so
each is one row to count and costs nothing to execute (what is checked is that the action
happened once, not what the run does). Two automations, made with `tarry.triggers.parse`
and the automation store:

* `every-tick`: each `tarry.test.tick` runs `tick/ticks` with `{"tick": n}` from the event;
* `five-ticks`: every 5th tick of one ticker (`for_each` its resource id, `threshold` 5)
  runs `tick/fives` with that tick's `n`: firings that depend on trigger state (the
  counts) stored across kills. Its `within` is 0 (no window end, no timer): what fires
  then depends on the events alone, not on when a timer was served, so a replay of the
  stored events decides the same firings whatever the kills did to the batches. (With a
  60 s window, a window's end judged before or after a backlog's later events opens the
  next window at another place: both are Prefect's rules, but which one happens depends
  on the batches the kills make, and a replay cannot know them.)

A feeder process (`tests/e2e/flows/tick_feeder.py`) emits ticks n = 1, 2, ... at its own
pace. The evaluating process, `tarry worker` (its evaluator and action runner; two workers
on PostgreSQL, and the one holding the timer duty is killed, so the duty moves), is SIGKILLed
at a uniformly random moment 0.05-1.5 s after it is up and started again at once. After the
last kill the feeder stops, one worker drains, and `check` compares: each tick fired
`every-tick` once and has exactly one `ticks` run; `five-ticks`' firings are exactly what
`tarry.triggers.evaluate.Evaluator` decides from the stored events, each with one `fives`
run; every action is done.

`benchmarks/automation_kills.py` runs it with 200 kills; `tests/e2e/test_automation_kills.py`
with 20 per store.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tarry import config, deployments, flow, host
from tarry.storage import RunFilter
from tarry.storage import automations as records
from tarry.storage.events import EventFilter
from tarry.triggers import evaluate, parse
from tests.e2e.fleet_processes import Fleet, Process, until
from tests.e2e.kill_harness import _BYTECODE, SETTINGS

__all__ = ["Outcome", "automation_kills"]

FEEDER = "tests/e2e/flows/tick_feeder.py"
POOL = "unserved"
TICK = "tarry.test.tick"
EVERY = "every-tick"
FIVES = "five-ticks"
KILL_AFTER = (0.05, 1.5)
"""A worker is killed this many seconds (uniform) after it is up."""
DRAIN_SECONDS = 180.0


@flow(name="tick")
def tick(tick: int) -> int:
    """The deployed flow (its runs stay Pending: no worker serves their pool)."""
    return tick


@dataclasses.dataclass
class Outcome:
    """What a suite found."""

    store: str
    seed: int
    kills: int
    ticks: int
    firings: dict[str, int]
    failures: list[str]
    seconds: float
    holder_kills: int = 0
    """Kills of the worker holding the timer duty, seen in `pg_locks` (PostgreSQL)."""

    def line(self) -> dict[str, Any]:
        """The JSON line of a benchmark."""
        return {
            "bench": "automation_kills",
            "store": self.store,
            "seed": self.seed,
            "kills": self.kills,
            "ticks": self.ticks,
            "firings": self.firings,
            "duty_holder_kills": self.holder_kills,
            "failures": len(self.failures),
            "first_failures": self.failures[:10],
            "seconds": round(self.seconds, 1),
        }


def _record(name: str, trigger: dict[str, Any], action: dict[str, Any]) -> records.AutomationRecord:
    spec = parse.parse_automation({"name": name, "trigger": trigger, "actions": [action]})
    now = time.time()
    return records.AutomationRecord(
        id=str(uuid.uuid4()),
        name=spec.name,
        description="",
        enabled=True,
        trigger=spec.trigger.model_dump_json(),
        actions=json.dumps([a.model_dump(mode="json") for a in spec.actions]),
        actions_on_trigger="[]",
        actions_on_resolve="[]",
        created_at=now,
        updated_at=now,
    )


def _set_up(hst: host.Host) -> dict[str, str]:
    """Deploy `tick` twice and make the two automations; their ids by name."""
    for name in ("ticks", "fives"):
        deployments.deploy(tick, name, work_pool_name=POOL, hst=hst)
    made = [
        _record(
            EVERY,
            {"type": "event", "expect": [TICK]},
            {
                "type": "run-deployment",
                "deployment": "tick/ticks",
                "parameters": {"tick": "{{ event.payload.n }}"},
            },
        ),
        _record(
            FIVES,
            {
                "type": "event",
                "expect": [TICK],
                "for_each": ["tarry.resource.id"],
                "threshold": 5,
                "within": 0,
            },
            {
                "type": "run-deployment",
                "deployment": "tick/fives",
                "parameters": {"tick": "{{ event.payload.n }}"},
            },
        ),
    ]
    for record in made:
        assert hst.store.put_automation(record, create=True)
    return {r.name: r.id for r in made}


# -- the kills ------------------------------------------------------------------------------


class _Workers:
    """The `tarry worker` processes, and which of them to kill."""

    def __init__(self, fleet: Fleet, count: int, postgres: bool) -> None:
        self.fleet = fleet
        self.postgres = postgres
        self.members = [fleet.worker(f"worker-{i}", "--max-runs", "1") for i in range(count)]
        self.holder_kills = 0
        """Kills of the worker seen holding the timer duty (PostgreSQL)."""

    @staticmethod
    def up(process: Process) -> bool:
        """Whether it printed its banner (its evaluator and runner start next)."""
        return "tarry worker" in process.text()

    def victim(self, db_url: str, rng: random.Random) -> int:
        """The index of the worker to kill: the duty holder where known."""
        if self.postgres:
            holder = _duty_holder(db_url, [p.pid for p in self.members])
            if holder is not None:
                self.holder_kills += 1
                return holder
        return rng.randrange(len(self.members))

    def kill_and_restart(self, index: int) -> None:
        """SIGKILL one and start its command again at once."""
        process = self.members[index]
        process.kill()
        self.members[index] = self.fleet.restart(process)


def _duty_holder(db_url: str, pids: list[int]) -> int | None:
    """Which of `pids` holds the timer duty lock of the schema, by its socket's port."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
            " AND l.objid::int = hashtext(current_schema())",
            (0x7A78,),
        ).fetchone()
    if row is None or row[0] is None:
        return None
    for index, pid in enumerate(pids):
        if row[0] in _local_ports(pid):
            return index
    return None


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of a process's sockets (from /proc)."""
    inodes: set[str] = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = str(fd.readlink()) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _kill_loop(workers: _Workers, kills: int, rng: random.Random, db_url: str) -> int:
    """`kills` kills of the evaluating worker; how many were made."""
    made = 0
    while made < kills:
        until(lambda: all(map(workers.up, workers.members)), "the workers to start", 60)
        time.sleep(rng.uniform(*KILL_AFTER))
        workers.kill_and_restart(workers.victim(db_url, rng))
        made += 1
    return made


# -- the checks -----------------------------------------------------------------------------


def _all_events(hst: host.Host) -> list[Any]:
    found: list[Any] = []
    while batch := hst.store.events_after(found[-1].seq if found else 0, 5000):
        found += batch
    return found


def _firings(hst: host.Host, automation_id: str) -> list[tuple[Any, list[Any]]]:
    return hst.store.firings_of(automation_id, limit=1_000_000)


def _run_ticks(hst: host.Host, deployment: str) -> list[int]:
    runs = hst.store.list_runs(RunFilter(flow_name="tick", limit=1_000_000))
    return [json.loads(r.parameters)["tick"] for r in runs if r.deployment == deployment]


def _replay(hst: host.Host, ids: dict[str, str], stored: list[Any]) -> dict[str, list[Any]]:
    """The firings a pure evaluation of the stored events decides, by automation name."""
    triggers = {}
    for automation_id in ids.values():
        record = hst.store.get_automation(automation_id)
        assert record is not None
        triggers[automation_id] = parse.parse_trigger(json.loads(record.trigger))
    evaluator = evaluate.Evaluator(triggers)
    decided = evaluator.feed_many(stored).firings
    by_id = {v: k for k, v in ids.items()}
    found: dict[str, list[Any]] = {name: [] for name in ids}
    for firing in decided:
        found[by_id[firing.automation_id]].append(firing)
    return found


def _differences(label: str, got: list[Any], want: list[Any]) -> list[str]:
    extra = collections.Counter(got) - collections.Counter(want)
    missing = collections.Counter(want) - collections.Counter(got)
    found = []
    if extra:
        found.append(f"{label}: {sum(extra.values())} too many, first {sorted(extra)[:5]}")
    if missing:
        found.append(f"{label}: {sum(missing.values())} missing, first {sorted(missing)[:5]}")
    return found


def _tick_of(payload: str | dict[str, Any]) -> int:
    found = json.loads(payload) if isinstance(payload, str) else payload
    return int(found["n"])


def _drained(hst: host.Host) -> bool:
    """Whether the evaluator passed the last tick and no action waits (cheap reads only)."""
    [last] = hst.store.list_events(EventFilter(names=(TICK,), limit=1))
    if hst.store.evaluator_state().cursor < last.seq:
        return False
    return not hst.store.due_actions(time.time() + 3600, 1)


def _until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    # Once a second: the worker draining has the CPU, not these reads.
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(1.0)


def check(hst: host.Host, ids: dict[str, str]) -> tuple[int, dict[str, int], list[str]]:
    """Ticks, firings by automation, and what is wrong."""
    stored = _all_events(hst)
    ticks = [json.loads(e.payload)["n"] for e in stored if e.event == TICK]
    failures = _differences("ticks stored", ticks, list(range(1, len(ticks) + 1)))
    every = _firings(hst, ids[EVERY])
    fired_ticks = [_tick_of(json.loads(f.triggering_event)["payload"]) for f, _ in every]
    failures += _differences(f"{EVERY} firings by tick", fired_ticks, ticks)
    failures += _differences("ticks runs by tick", _run_ticks(hst, "tick/ticks"), ticks)
    replayed = _replay(hst, ids, stored)
    failures += _differences(
        f"{EVERY} firing ids vs replay", [f.id for f, _ in every], [f.id for f in replayed[EVERY]]
    )
    fives = _firings(hst, ids[FIVES])
    failures += _differences(
        f"{FIVES} firing ids vs replay", [f.id for f, _ in fives], [f.id for f in replayed[FIVES]]
    )
    want_fives = [json.loads(f.event.payload)["n"] for f in replayed[FIVES] if f.event]
    failures += _differences("fives runs by tick", _run_ticks(hst, "tick/fives"), want_fives)
    for name, automation_id in ids.items():
        for firing, actions in _firings(hst, automation_id):
            failures += [
                f"{name} firing {firing.id} action {a.index} is {a.status.value}: {a.detail}"
                for a in actions
                if a.status is not records.ActionStatus.DONE
            ]
            if len(actions) != 1:
                failures.append(f"{name} firing {firing.id} has {len(actions)} actions")
    return len(ticks), {EVERY: len(every), FIVES: len(fives)}, failures


# -- the whole suite ------------------------------------------------------------------------


def _open(url: str, folder: Path) -> host.Host:
    settings = config.Settings.from_env(home=folder / "suite-home", database_url=url)
    return host.Host(settings)


def automation_kills(
    kind: str,
    folder: Path,
    kills: int,
    seed: int,
    postgres_url: str | None = None,
    rate: float = 40,
) -> Outcome:
    """Run the suite on a fresh store of `kind` (`sqlite`, or `postgres` on `postgres_url`).

    Args:
        kind: `sqlite` or `postgres`.
        folder: An empty folder for the store (SQLite) and the processes' outputs.
        kills: How many SIGKILLs of the evaluating worker.
        seed: Seeds the moments of the kills.
        postgres_url: A fresh schema, for `postgres`.
        rate: Ticks per second the feeder emits.
    """
    began = time.monotonic()
    rng = random.Random(seed)
    url = f"sqlite:///{folder / 'tarry.db'}" if kind == "sqlite" else str(postgres_url)
    hst = _open(url, folder)
    fleet = Fleet(folder, url, {**SETTINGS, **_BYTECODE})
    failures: list[str] = []
    workers: _Workers | None = None
    ticks, made = 0, 0
    firings: dict[str, int] = {}
    try:
        ids = _set_up(hst)
        stop = folder / "stop-feeding"
        workers = _Workers(fleet, 2 if kind == "postgres" else 1, kind == "postgres")
        # The evaluator's first round ever starts at the newest event: the first tick is
        # fed once a worker has committed that round, however slow it is to start.
        until(lambda: hst.store.evaluator_state().commits > 0, "a first evaluation", timeout=60)
        feeder = fleet.script("feeder", FEEDER, str(rate), str(stop))
        made = _kill_loop(workers, kills, rng, url)
        stop.touch()
        until(lambda: "fed " in feeder.text(), "the feeder to stop", timeout=30)
        fed = int(feeder.text().rsplit("fed ", 1)[1].split()[0])
        for extra in workers.members[1:]:
            extra.popen.send_signal(2)  # one worker drains (Ctrl-C lets the others go)
        try:
            _until(lambda: _drained(hst), "one worker to drain", DRAIN_SECONDS)
        except AssertionError as exc:
            failures.append(str(exc))
        ticks, firings, found = check(hst, ids)
        failures += found
        if ticks != fed:
            failures.append(f"the feeder fed {fed} ticks, the store holds {ticks}")
    finally:
        fleet.stop()
        hst.close()
    failures += [
        f"{p.name} (pid {p.pid}) printed a traceback: {p.text()[-1500:]}"
        for p in fleet.processes
        if not p.killed and "Traceback" in p.text()
    ]
    seconds = time.monotonic() - began
    held = workers.holder_kills if workers is not None else 0
    return Outcome(kind, seed, made, ticks, firings, failures, seconds, held)
