"""Shared set-up of the cross-process PostgreSQL benchmarks (`pg_w*.py`).

A fresh schema `bench_<hex>` of the PostgreSQL database (`TARRY_DATABASE_URL` if it is a
`postgresql://` URL, else `BENCH_POSTGRES_URL`, else
`postgresql://postgres@127.0.0.1:5432/tarry_test`), a `Host` of this process on it (used to
create runs and answer waits through `tarry.deployments` / `tarry.service`, it executes
nothing), and `tarry worker` / `tarry server` processes started as
`sys.executable -m tarry worker|server` with the environment tests/conftest.py's
`subprocess_env` gives: this environment without its `TARRY_*` variables, plus
`TARRY_HOME`, `TARRY_DATABASE_URL` (the schema), `PYTHONPATH` (the repository's `src/`, or
the `PYTHONPATH` already set, e.g. by `BENCH_SNAPSHOT=1`), `TARRY_LOGGING_LEVEL=WARNING`, the
benchmark's own settings and then every other `TARRY_*` variable this process was given
(so `TARRY_RESIDENT_SECONDS=... python pg_w5_two_workers.py` reaches the workers).

The processes run in `benchmarks/` (so they import `pg_flows`), write their output to
`<workdir>/<name>.log`, get SIGKILL if this process dies (`setpriv --pdeathsig`) and are
stopped (SIGINT, then SIGKILL after 15 s) when the fleet closes; then the schema and the work
folder are removed (`BENCH_KEEP=1` keeps both).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import tarry_env
from common import free_port, process_stats

from tarry import deployments, host

# The fleet of the tests runs processes under other host names the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.fleet_processes import elsewhere

__all__ = [
    "Fleet",
    "Proc",
    "elsewhere",
    "fleet",
    "host_cpu",
    "postgres_cpu",
    "postgres_cpu_used",
    "until",
]

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tarry_test"
STOP_SECONDS = 15.0
T = TypeVar("T")


def until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    what: str,
    timeout: float,
    interval: float = 0.002,
) -> T:
    """Poll `read()` every `interval` s until `done(value)`; the value.

    Raises:
        TimeoutError: Not done within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what} (last: {value!r})")
        time.sleep(interval)


def _cpu_of(pid: int | str) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[str, float]:
    """CPU seconds used so far by each process named `postgres` on this machine, by pid.

    `postgres_cpu_used(before)` turns two readings into the seconds used in between.
    """
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/comm", encoding="ascii") as comm:
                if comm.read().strip() != "postgres":
                    continue
            found[pid] = _cpu_of(pid)
    return found


def postgres_cpu_used(before: dict[str, float], now: dict[str, float] | None = None) -> float:
    """CPU seconds the `postgres` processes used since `before` (backends that ended are lost).

    `now` is a later reading of the same kind (`postgres_cpu()` when omitted).
    """
    now = postgres_cpu() if now is None else now
    return round(sum(v - before.get(pid, 0.0) for pid, v in now.items()), 2)


def host_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def _base_url() -> str:
    url = os.environ.get("TARRY_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        return url
    return os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_URL


class Proc:
    """One `tarry worker` or `tarry server` process of the fleet."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log
        self.api: str | None = None

    @property
    def pid(self) -> int:
        """The tarry process's pid (`setpriv` execs it, so the pid is the same)."""
        return self.popen.pid

    def stats(self) -> dict[str, float]:
        """VmRSS (MiB) and Threads from /proc."""
        return process_stats(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (/proc/<pid>/stat)."""
        return _cpu_of(self.pid)

    def tail(self, chars: int = 3000) -> str:
        """The end of its output."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen.poll() is None


class Fleet:
    """A schema, this process's host on it, and the processes started on it."""

    def __init__(self, prefix: str) -> None:
        os.environ["TARRY_DATABASE_URL"] = _base_url()
        self.host: host.Host = tarry_env.open_host(prefix)
        self.url = self.host.settings.database_url
        self.workdir = Path(self.host.settings.home)
        self.procs: list[Proc] = []
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    # -- processes ------------------------------------------------------------------------

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARRY_")}
        env["PYTHONPATH"] = os.environ.get("PYTHONPATH") or str(SRC)
        env.update(TARRY_LOGGING_LEVEL="WARNING")
        env.update(extra)
        passed = {
            k: v
            for k, v in os.environ.items()
            if k.startswith("TARRY_") and k not in ("TARRY_DATABASE_URL", "TARRY_HOME")
        }
        env.update(passed)
        env.update(TARRY_HOME=str(self.workdir / "home"), TARRY_DATABASE_URL=self.url)
        return env

    def _start(
        self, name: str, args: list[str], env: dict[str, str], prefix: Sequence[str] = ()
    ) -> Proc:
        log = self.workdir / f"{name}.log"
        setpriv = shutil.which("setpriv")
        guard = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                [*guard, *prefix, sys.executable, "-m", "tarry", *args],
                env=self._env(env),
                cwd=HERE,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, max_runs: int = 8, prefix: Sequence[str] = (), **env: str) -> Proc:
        """Start `tarry worker --max-runs N` (after `prefix`); returns once it opened its store."""
        proc = self._start(name, ["worker", "--max-runs", str(max_runs)], env, prefix)
        until(lambda: self._check(proc) and "tarry worker" in proc.tail(), bool, f"{name}", 60)
        return proc

    def server(self, name: str, *deploy: str, **env: str) -> Proc:
        """Start `tarry server` on a free port; returns once `/api/health` answers."""
        port = free_port()
        args = ["server", "--port", str(port)]
        for entrypoint in deploy:
            args += ["--deploy", entrypoint]
        proc = self._start(name, args, env)
        proc.api = f"http://127.0.0.1:{port}/api"

        def up() -> bool:
            self._check(proc)
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{proc.api}/health", timeout=1).is_success
            return False

        until(up, bool, f"{name} to serve", 60)
        return proc

    def _check(self, proc: Proc) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        return True

    def check_alive(self) -> None:
        """Raise if a process of the fleet has exited."""
        for proc in self.procs:
            self._check(proc)

    def stop(self) -> None:
        """SIGINT every process, then SIGKILL those still there after `STOP_SECONDS`."""
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(max(0.0, deadline - time.monotonic()))
            if proc.alive():
                print(
                    f"{proc.name} did not stop within {STOP_SECONDS:g} s: killed", file=sys.stderr
                )
                proc.popen.kill()
                proc.popen.wait(10)

    # -- the database ---------------------------------------------------------------------

    @property
    def conn(self) -> psycopg.Connection[tuple[Any, ...]]:
        """One autocommit connection to the schema, for the benchmark's own reads.

        Its `application_name` ends in `-reads`, so `backends_cpu` leaves its cost out.
        """
        if self._conn is None:
            name = psycopg.conninfo.conninfo_to_dict(self.url).get("application_name")
            self._conn = psycopg.connect(
                self.url, autocommit=True, application_name=f"{name}-reads"
            )
        return self._conn

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of a query on the schema."""
        return self.conn.execute(sql, params).fetchall()

    def value(self, sql: str, *params: object) -> Any:
        """The first column of the first row of a query."""
        return self.rows(sql, *params)[0][0]

    def backends_cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each PostgreSQL backend serving this fleet, by pid.

        Its processes and this one's host connect with the schema's name as
        `application_name`, so other users of the server (other databases, other
        benchmarks) and the benchmark's own reads (`conn`) are left out;
        `postgres_cpu_used(before, now)` turns two readings into the seconds in between.
        """
        name = psycopg.conninfo.conninfo_to_dict(self.url).get("application_name")
        pids = self.rows("SELECT pid FROM pg_stat_activity WHERE application_name = %s", name)
        found = {}
        for (pid,) in pids:
            with contextlib.suppress(OSError):
                found[str(pid)] = _cpu_of(pid)
        return found

    def deploy(self, flow: Any, name: str = "pg") -> str:
        """Register `flow` (from `pg_flows`); its deployment's name."""
        return deployments.deploy(flow, name, hst=self.host).name

    def close(self) -> None:
        """Stop the processes, close the host, drop the schema and the work folder."""
        self.stop()
        if self._conn is not None:
            self._conn.close()
        keep = os.environ.get("BENCH_KEEP") == "1"
        if keep:
            print(f"kept {self.workdir} and {self.url}", file=sys.stderr)
        elif any(p.popen.returncode not in (0, -signal.SIGINT, 130) for p in self.procs):
            for proc in self.procs:
                print(f"--- {proc.name} (rc {proc.popen.returncode}) ---", file=sys.stderr)
                print(proc.tail(), file=sys.stderr)
        tarry_env.close_host(self.host)


@contextlib.contextmanager
def fleet(prefix: str) -> Iterator[Fleet]:
    """A `Fleet` whose processes, schema and folder are gone when the block ends."""
    found = Fleet(prefix)
    try:
        yield found
    except BaseException:
        for proc in found.procs:
            print(f"--- {proc.name} (pid {proc.pid}) ---\n{proc.tail()}", file=sys.stderr)
        raise
    finally:
        found.close()
