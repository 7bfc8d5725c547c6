"""Start `tarry server` in a subprocess on a free loopback port (for the server benchmarks)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def tarry_server(home: str, *deploy: str) -> Iterator[str]:
    """`tarry server` with TARRY_HOME=home deploying `deploy`; yields the base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARRY_")}
    env.update(TARRY_HOME=home, TARRY_LOGGING_LEVEL="WARNING")
    args = [sys.executable, "-m", "tarry", "server", "--port", str(port)]
    for entrypoint in deploy:
        args += ["--deploy", entrypoint]
    proc = subprocess.Popen(args, env=env, cwd=HERE, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tarry server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/api/health", timeout=1).is_success:
                return
        time.sleep(0.05)
    raise TimeoutError("tarry server did not answer within 60 s")
