"""tarry's servers (and example apps) started as users start them: processes of their own."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import ROOT, subprocess_env
from tests.net import free_port

__all__ = ["SLOW", "served_process", "tarry_server"]

SLOW = 30.0
"""Seconds to allow for a process to come up or stop: two cores run several test sessions."""


@contextlib.contextmanager
def served_process(command: list[str], env: dict[str, str], ready: str) -> Iterator[None]:
    """Run `command` (from the repository) until the block ends; `ready` answers once it is up.

    It is stopped as Ctrl-C stops it, and must exit cleanly, without a traceback.
    """
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _until_up(ready, proc)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=SLOW)
    assert proc.returncode in (0, 130), (proc.returncode, stderr)  # 130: stopped by Ctrl-C
    assert "Traceback" not in stderr, stderr


def _until_up(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SLOW
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the process behind {url} exited: {proc.communicate()[1]}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url).is_success:
                return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@contextlib.contextmanager
def tarry_server(
    home: Path, *options: str, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`tarry server OPTIONS` on a loopback port; yields its API URL.

    Args:
        home: Its TARRY_HOME.
        *options: Options of `tarry server`, e.g. `--deploy file.py:flow`.
        port: The port; a free one when omitted.
        env: More environment variables (TARRY_* settings).
    """
    port = port or free_port()
    command = [sys.executable, "-m", "tarry", "server", "--port", str(port), *options]
    api = f"http://127.0.0.1:{port}/api"
    with served_process(command, subprocess_env(home, **(env or {})), f"{api}/health"):
        yield api
