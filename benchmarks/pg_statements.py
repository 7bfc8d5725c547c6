"""Statements and commits per trivial run on PostgreSQL, counted on the client.

Usage: python pg_statements.py [N=1000]

A fresh schema (as in the other `pg_*` benchmarks), a deployment of `pg_flows:trivial`,
and two phases in this one process: creating N runs through `tarry.deployments.start`
(what `POST /api/runs` does), then executing them with an in-process `Worker` in burst
mode (what `tarry worker` runs). Every statement psycopg sends is counted by its named
query (`sql/postgres/queries.sql`; others by their first line); the background threads
(watcher, log writer, heartbeat) count too, for the time a phase takes. A statement
sent outside `BEGIN` ... `COMMIT` is a transaction of its own.

Fields, per phase (`create`, `execute`), all per run:
* `statements`: statements sent (`BEGIN` and `COMMIT` included);
* `commits`: transactions (explicit `COMMIT`s plus statements sent on their own; reads
  commit too, but without a disk flush);
* `cpu_ms`: CPU time of this whole process (all threads);
* `by_query`: statements per run of each query.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pg_flows
import psycopg
import tarry_env
from common import emit

from tarry import deployments, worker
from tarry.storage import postgres_ops

_names = {text.strip(): name for name, text in postgres_ops.QUERIES.items()}


class Counter:
    """Counts what every psycopg cursor of this process sends, while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.by_query: collections.Counter[str] = collections.Counter()
        self.alone = 0
        self._lock = threading.Lock()
        self._open: set[int] = set()  # connections between BEGIN and COMMIT

    def seen(self, conn: object, query: object) -> None:
        text = str(query).strip()
        name = _names.get(text, text.split("\n")[0][:60])
        with self._lock:
            self.by_query[name] += 1
            key = id(conn)
            if name == "BEGIN":
                self._open.add(key)
            elif name in ("COMMIT", "ROLLBACK"):
                self._open.discard(key)
            elif key not in self._open:
                self.alone += 1

    def install(self) -> None:
        real_execute = psycopg.Cursor.execute
        real_many = psycopg.Cursor.executemany
        counter = self

        def execute(cur: psycopg.Cursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
            if counter.on:
                counter.seen(cur.connection, query)
            return real_execute(cur, query, *args, **kw)

        def executemany(cur: psycopg.Cursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
            if counter.on:
                counter.seen(cur.connection, query)
            return real_many(cur, query, *args, **kw)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign,assignment]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign,assignment]


def phase(counter: Counter, n: int, body: Callable[[], object]) -> dict[str, Any]:
    """Run `body` with the counter on; its figures per run."""
    counter.by_query.clear()
    counter.alone = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    counter.on = True
    body()
    counter.on = False
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    total = sum(counter.by_query.values())
    commits = counter.by_query["COMMIT"] + counter.alone
    return {
        "statements": round(total / n, 2),
        "commits": round(commits / n, 2),
        "cpu_ms": round(cpu / n * 1e3, 3),
        "wall_s": round(wall, 3),
        "by_query": {k: round(v / n, 3) for k, v in counter.by_query.most_common()},
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    counter = Counter()
    counter.install()
    hst = tarry_env.open_host("tarry-pgstmt-")
    try:
        name = deployments.deploy(pg_flows.trivial, "pg", hst=hst).name
        for i in range(20):  # warm-up: imports, connections, prepared statements
            deployments.start(name, {"i": i}, hst=hst)
        worker.Worker(hst).run(burst=True)
        created = phase(
            counter, n, lambda: [deployments.start(name, {"i": i}, hst=hst) for i in range(n)]
        )
        executed = phase(counter, n, lambda: worker.Worker(hst).run(burst=True))
        settings = hst.settings
    finally:
        tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "W2-statements",
            "workflows": n,
            "create": created,
            "execute": executed,
        }
    )


if __name__ == "__main__":
    main()
