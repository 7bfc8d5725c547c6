"""A fleet of `tarry server` and `tarry worker` processes on one PostgreSQL schema, for tests.

Each process writes its output to a file (a pipe nobody reads would fill and block it) and dies
with the test process (`setpriv --pdeathsig`, where available). When the fleet closes, each is
stopped with Ctrl-C, and killed if it lingers; a block that ends without error then fails if a
process printed a traceback or had to be killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import ROOT, subprocess_env
from tests.net import free_port

__all__ = ["Fleet", "Process", "elsewhere", "fleet", "until"]

_STOP_SECONDS = 10.0


def until(condition: Callable[[], object], what: str, timeout: float) -> None:
    """Wait for `condition()` to be true, failing with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.02)


def _dies_with_us() -> list[str]:
    # The child gets SIGKILL when the thread that started it ends: no process outlives a test
    # run that is itself killed.
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def elsewhere(hostname: str) -> list[str] | None:
    """A command prefix that runs a process under another host name, or `None` where none can.

    A UTS namespace of its own (as root, or in a user namespace where those are allowed) with
    `hostname` set: lease owners name it, so the other processes see a process on another host
    and cannot check its pid, as in a fleet of machines.
    """
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("hostname") is None:
        return None
    rename = ["sh", "-c", 'hostname "$0" && exec "$@"', hostname]
    for isolate in ([unshare, "--uts"], [unshare, "--user", "--map-root-user", "--uts"]):
        probe = subprocess.run([*isolate, *rename, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [*isolate, "--", *rename]
    return None


@dataclasses.dataclass
class Process:
    """One tarry process of the fleet."""

    name: str
    """`server-a`, `worker-1`, ..."""
    popen: subprocess.Popen[bytes]
    """The process."""
    output: Path
    """Its stdout and stderr."""
    sink: IO[bytes]
    """The open output file."""
    command: list[str] = dataclasses.field(default_factory=list)
    """What follows `python` on its command line (`-m tarry worker ...`, a script and its
    arguments): `Fleet.restart` starts it again."""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    """Its settings beyond the fleet's."""
    prefix: list[str] = dataclasses.field(default_factory=list)
    """What runs before `python` (another host name: see `elsewhere`)."""
    api: str | None = None
    """A server's API base URL."""
    killed: bool = False
    """The test killed it on purpose."""
    lingered: bool = False
    """It did not stop within 10 s of Ctrl-C, and was killed."""

    @property
    def pid(self) -> int:
        """Its process id (lease owners name it)."""
        return self.popen.pid

    def text(self) -> str:
        """What it printed so far."""
        return self.output.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL it on purpose, and reap it."""
        self.killed = True
        self.popen.kill()
        self.popen.wait(_STOP_SECONDS)
        self.sink.close()


def _hear_ctrl_c() -> None:
    """Let the fleet's processes hear Ctrl-C even when this one was started in the background.

    A shell starts a background job (`cmd &`) with SIGINT ignored, children inherit an
    ignored signal, and Python then never installs its Ctrl-C handler: a `tarry worker` so
    started ignores the fleet's Ctrl-C (as `nohup` means). A handled signal is reset to the
    default at `exec`, so handling it here gives every child the default back.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Fleet:
    """Processes on one database, started from this (the test's main) thread.

    Args:
        folder: Where their home folder and output files go.
        database_url: The PostgreSQL schema (or SQLite file) they share.
        env: Settings every process gets (`TARRY_*` variables).
    """

    def __init__(self, folder: Path, database_url: str, env: dict[str, str]) -> None:
        self.folder = folder
        self.database_url = database_url
        self.env = {"TARRY_DATABASE_URL": database_url, **env}
        self.home = folder / "home"
        self.home.mkdir(exist_ok=True)
        self.processes: list[Process] = []
        _hear_ctrl_c()

    def _start(
        self, name: str, args: list[str], env: dict[str, str], prefix: Sequence[str] = ()
    ) -> Process:
        return self._spawn(name, ["-m", "tarry", *args], env, prefix)

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str], prefix: Sequence[str] = ()
    ) -> Process:
        started = sum(p.name == name for p in self.processes)
        output = self.folder / (f"{name}.log" if not started else f"{name}.{started}.log")
        sink = output.open("wb")
        popen = subprocess.Popen(
            [*_dies_with_us(), *prefix, sys.executable, *command],
            env=subprocess_env(self.home, **{**self.env, **env}),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        process = Process(name, popen, output, sink, command, env, list(prefix))
        self.processes.append(process)
        return process

    def script(self, name: str, path: str, *args: str, **env: str) -> Process:
        """Start `python path args` (a launcher: a script that calls flows itself)."""
        return self._spawn(name, [path, *args], env)

    def restart(self, process: Process) -> Process:
        """Start `process`'s command again (a server on its port); returns without waiting."""
        again = self._spawn(process.name, process.command, process.env, process.prefix)
        again.api = process.api
        return again

    def server(self, name: str, *deploy: str, **env: str) -> Process:
        """Start `tarry server` on a free port, deploying `deploy` (it is up when this returns)."""
        process = self.start_server(name, *deploy, **env)
        self._until_up(process)
        return process

    def start_server(self, name: str, *deploy: str, **env: str) -> Process:
        """Start `tarry server` on a free port, deploying `deploy`; returns without waiting."""
        port = free_port()
        args = ["server", "--port", str(port)]
        for entrypoint in deploy:
            args += ["--deploy", entrypoint]
        process = self._start(name, args, env)
        process.api = f"http://127.0.0.1:{port}/api"
        return process

    def worker(self, name: str, *args: str, prefix: Sequence[str] = (), **env: str) -> Process:
        """Start `tarry worker` with `args` (such as `--max-runs 16`), after `prefix` if any."""
        return self._start(name, ["worker", *args], env, prefix)

    def _until_up(self, process: Process) -> None:
        def up() -> bool:
            assert process.popen.poll() is None, f"{process.name} exited:\n{process.text()}"
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{process.api}/health", timeout=1).is_success
            return False

        until(up, f"{process.name} to serve", timeout=30)

    def stop(self) -> None:
        """Ask every process to stop (Ctrl-C), then kill the ones that linger."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGINT)
        deadline = time.monotonic() + _STOP_SECONDS
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.0, deadline - time.monotonic()))
            if process.popen.poll() is None:
                process.lingered = True
                # With PYTHONFAULTHANDLER set, SIGABRT writes where every thread is to its
                # output first: what it was doing instead of stopping.
                process.popen.send_signal(signal.SIGABRT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.popen.wait(2)
                process.popen.kill()
                process.popen.wait(_STOP_SECONDS)
            process.sink.close()

    def outputs(self) -> str:
        """The end of every process's output."""
        return "\n".join(
            f"--- {p.name} (pid {p.pid}) ---\n{p.text()[-3000:]}" for p in self.processes
        )

    def assert_stopped_cleanly(self) -> None:
        """Fail if a process (but one the test killed) printed a traceback or ignored Ctrl-C."""
        for process in self.processes:
            if not process.killed:
                assert "Traceback" not in process.text(), f"{process.name}:\n{process.text()}"
                assert not process.lingered, f"{process.name} ignored Ctrl-C:\n{process.text()}"

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """Print the processes' outputs (pytest shows them) if the block fails."""
        try:
            yield
        except BaseException:
            print(self.outputs())
            raise


@contextlib.contextmanager
def fleet(folder: Path, database_url: str, **env: str) -> Iterator[Fleet]:
    """A `Fleet` whose processes are all gone when the block ends."""
    processes = Fleet(folder, database_url, env)
    try:
        yield processes
    finally:
        processes.stop()
    processes.assert_stopped_cleanly()
