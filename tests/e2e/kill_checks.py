"""The kill suite's checks (issue 25): what the store and the executions file must hold.

`tests/e2e/kill_harness.py` runs the suite; `tests/e2e/test_fleet.py` checks its own fleet's
runs of `errand` with the same `check_run`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg

from tarry.storage import open_store
from tests.e2e.flows import fleet as flows

__all__ = ["Audit", "Db", "Execution", "check_run", "executions", "journal_audit"]

STEPS = ("prepare", "approved", "heard", "done")
FINAL = "('Completed', 'Failed', 'Cancelled', 'Crashed')"
"""The final states, as SQL."""


class Db:
    """Reads of the fleet's store, with `%s` placeholders on either store.

    One thread at a time uses it (the connection may move from one to another).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:")
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is None:
            if self.sqlite:
                path = self.url.removeprefix("sqlite:///")
                self._conn = sqlite3.connect(
                    path, timeout=30, isolation_level=None, check_same_thread=False
                )
            else:
                self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        if self.sqlite:
            sql = sql.replace("%s", "?")
        return list(self._connect().execute(sql, params).fetchall())

    def script(self, statements: list[str]) -> None:
        """Run statements that return nothing."""
        for statement in statements:
            self._connect().execute(statement)

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def journal_audit(db: Db) -> None:
    """Migrate the store, then record every write of a journal entry in `journal_writes`.

    A trigger on tarry's `steps` table (the store is the test's own): the journal upserts its
    entries, so its final state alone would hide a finished step that ran and was stored again.
    """
    open_store(db.url).close()
    if db.sqlite:
        now = "(julianday('now') - 2440587.5) * 86400.0"
        values = f"(NEW.run_id, NEW.key, NEW.name, NEW.kind, NEW.status, NEW.result, {now})"
        db.script(
            [
                "CREATE TABLE journal_writes (run_id TEXT, key TEXT, name TEXT, kind TEXT,"
                " status TEXT, result TEXT, at REAL)",
                *(
                    f"CREATE TRIGGER journal_audit_{event} AFTER {event} ON steps"
                    f" BEGIN INSERT INTO journal_writes VALUES {values}; END"
                    for event in ("INSERT", "UPDATE")
                ),
            ]
        )
        return
    db.script(
        [
            "CREATE TABLE journal_writes (run_id TEXT, key TEXT, name TEXT, kind TEXT,"
            " status TEXT, result TEXT, at DOUBLE PRECISION)",
            "CREATE FUNCTION note_journal_write() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN INSERT INTO journal_writes VALUES (NEW.run_id, NEW.key, NEW.name, NEW.kind,"
            " NEW.status, NEW.result, extract(epoch FROM clock_timestamp())); RETURN NEW; END $$",
            "CREATE TRIGGER journal_audit AFTER INSERT OR UPDATE ON steps"
            " FOR EACH ROW EXECUTE FUNCTION note_journal_write()",
        ]
    )


@dataclasses.dataclass(frozen=True)
class Execution:
    """One execution of a step, as the executions file tells it."""

    id: str
    pid: int
    started_at: float
    finished_at: float | None


def executions(log: Path) -> dict[tuple[str, str], list[Execution]]:
    """Executions by (run id, step name), in the order they started.

    A line cut short by a kill in the middle of its `write` cannot happen (one `write` of a
    short line to a file opened with O_APPEND), so every line parses.
    """
    starts: dict[str, tuple[str, str, int, float]] = {}
    finishes: dict[str, float] = {}
    for line in log.read_text().splitlines():
        what, run_id, step, execution, pid, at = line.split()
        if what == "start":
            starts[execution] = (run_id, step, int(pid), float(at))
        else:
            finishes[execution] = float(at)
    found: dict[tuple[str, str], list[Execution]] = collections.defaultdict(list)
    for execution, (run_id, step, pid_, started_at) in sorted(
        starts.items(), key=lambda item: item[1][3]
    ):
        found[run_id, step].append(Execution(execution, pid_, started_at, finishes.get(execution)))
    return found


@dataclasses.dataclass
class Audit:
    """What the store and the executions file hold at the end, by run."""

    runs: dict[str, dict[str, Any]]
    """id -> state, state_reason, result (decoded), parameters (decoded), created/ended at."""
    writes: dict[str, list[tuple[str, str, str, Any, float]]]
    """Journal writes by run: (key, name, kind, result decoded, at)."""
    waits: dict[tuple[str, str], list[tuple[str, Any]]]
    """(run, wait name) -> [(status, answer decoded)]."""
    fired: collections.Counter[tuple[str, str]]
    """(run, wait name) -> how many times its deadline moved the run on."""
    messages: dict[str, list[str]]
    """Run -> the statuses of its messages."""
    executions: dict[tuple[str, str], list[Execution]]
    taken_over: int
    """Transitions that took a run over from a process that stopped."""

    def __post_init__(self) -> None:
        self.hellos: dict[str, list[str]] = collections.defaultdict(list)
        """Run -> the labels of the runs that say hello to it."""
        for run in self.runs.values():
            if run["parameters"].get("peer"):
                self.hellos[run["parameters"]["peer"]].append(run["parameters"]["label"])

    @classmethod
    def read(cls, db: Db, log: Path) -> Audit:
        """Read it all."""
        return cls(
            runs={
                str(i): {
                    "state": str(state),
                    "reason": str(reason),
                    "result": _decoded(result),
                    "parameters": json.loads(str(parameters)),
                    "created_at": float(created_at),
                    "ended_at": float(ended_at or time.time()),
                }
                for i, state, reason, result, parameters, created_at, ended_at in db.rows(
                    "SELECT id, state, state_reason, result, parameters, created_at, ended_at"
                    " FROM runs WHERE flow_name = 'errand'"
                )
            },
            writes=_grouped(
                db.rows("SELECT run_id, key, name, kind, result, at FROM journal_writes"),
                lambda row: (row[1], row[2], row[3], _decoded(row[4]), float(row[5])),
            ),
            waits=_grouped(
                db.rows("SELECT run_id, name, status, answer FROM waits"),
                lambda row: (str(row[2]), _decoded(row[3])),
                key=lambda row: (str(row[0]), str(row[1])),
            ),
            fired=collections.Counter(
                (str(run_id), str(reason).split("'")[1])
                for run_id, reason in db.rows(
                    "SELECT run_id, reason FROM run_transitions WHERE reason LIKE %s",
                    "%reached its deadline",
                )
            ),
            messages=_grouped(
                db.rows("SELECT run_id, status FROM messages"), lambda row: str(row[1])
            ),
            executions=executions(log) if log.exists() else {},
            taken_over=db.rows(
                "SELECT count(*) FROM run_transitions WHERE reason LIKE %s", "recovered from%"
            )[0][0],
        )


def _decoded(text: object) -> Any:
    return None if text is None else json.loads(str(text))


def _grouped(rows: list[tuple[Any, ...]], value: Any, key: Any = None) -> Any:
    found: dict[Any, list[Any]] = collections.defaultdict(list)
    for row in rows:
        found[key(row) if key else str(row[0])].append(value(row))
    return found


def check_run(audit: Audit, run_id: str, killed: set[int]) -> list[str]:
    """What went wrong with one run (nothing: an empty list).

    Args:
        audit: The store and the executions file at the end.
        run_id: The run.
        killed: The pids of the processes killed on purpose.
    """
    run = audit.runs[run_id]
    if run["state"] != "Completed":
        ended = run["state"] in FINAL
        return [f"ended {run['state']}: {run['reason']}" if ended else f"stuck {run['state']}"]
    return [
        *_check_result(audit, run_id),
        *_check_steps(audit, run_id, killed),
        *_check_waits(audit, run_id),
    ]


def expected_result(audit: Audit, run_id: str) -> dict[str, Any]:
    """What `errand` must return (but for the executions of its steps)."""
    label = audit.runs[run_id]["parameters"]["label"]
    hellos = [f"hello from {peer}" for peer in audit.hellos.get(run_id, [])]
    return {
        "label": label,
        "answer": f"yes to {label}",
        "messages": sorted([f"api to {label}", *hellos]),
        "timer": flows.NOBODY_ANSWERED,
    }


def _check_result(audit: Audit, run_id: str) -> list[str]:
    expected, result = expected_result(audit, run_id), audit.runs[run_id]["result"]
    got = {k: result.get(k) for k in expected}
    return [] if got == expected else [f"returned {got}, not {expected}"]


def _check_steps(audit: Audit, run_id: str, killed: set[int]) -> list[str]:
    """Each step journaled once, with the result of one execution, none started after it.

    Every other execution of the step must be one a kill interrupted: it ran in a killed
    process, and its result never reached the journal.
    """
    writes = [w for w in audit.writes[run_id] if w[1] == "work"]
    keys = [key for key, *_ in writes]
    if len(keys) != len(set(keys)) or len(keys) != len(STEPS):
        return [f"journal writes of its steps: {keys}"]
    stored_at = {result: at for _, _, _, result, at in writes}
    kept: dict[str, str] = audit.runs[run_id]["result"]["executions"]
    if set(stored_at) != set(kept.values()):
        return [f"kept {kept}, journal {writes}"]
    failures = []
    for step, kept_id in kept.items():
        runs = audit.executions.get((run_id, step), [])
        winners = [e for e in runs if e.id == kept_id]
        if len(winners) != 1 or winners[0].finished_at is None:
            failures.append(f"{step}: the journaled execution {kept_id} is not in the file")
            continue
        for other in runs:
            if other.started_at >= stored_at[kept_id]:
                failures.append(f"{step} ran again after it was journaled: {runs}")
            elif other is not winners[0] and other.pid not in killed:
                failures.append(f"{step} ran twice, not interrupted by a kill: {runs}")
    return failures


def _check_waits(audit: Audit, run_id: str) -> list[str]:
    """Each answer, message and timer was taken once: one journal write per wait."""
    expected = expected_result(audit, run_id)
    journal = collections.Counter(name for _, name, _, _, _ in audit.writes[run_id])
    fired = {k: audit.fired[run_id, k] for k in ("never", "sleep")}
    found: dict[str, object] = {
        "approval": audit.waits[run_id, "approval"],
        "never": audit.waits[run_id, "never"],
        "sleep": audit.waits[run_id, "sleep"],
        "journal": {k: journal[k] for k in ("approval", "input:never", "sleep", "message")},
        "fired": fired,
        "messages": audit.messages[run_id],
    }
    naps = 1 if audit.runs[run_id]["parameters"].get("nap") else 0
    want = {
        "approval": [("answered", {"value": expected["answer"]})],
        "never": [("timed_out", None)],
        "sleep": [("timed_out", None)] * naps,
        "journal": {
            "approval": 1,
            "input:never": 1,
            "sleep": naps,
            "message": len(expected["messages"]),
        },
        "fired": fired if max(fired.values()) <= 1 else {},
        "messages": ["received"] * len(expected["messages"]),
    }
    return [f"{k}: {found[k]}, not {want[k]}" for k in found if found[k] != want[k]]
