"""Lease owner names: which process a lease names, and whether it still runs on this host."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tarry import config, host


def _mine() -> str:
    return host.Host(config.Settings(database_url="memory://")).owner


def test_this_process_is_alive_under_each_of_its_names() -> None:
    # After a lost liveness lock a process leases runs as `host:pid:start~2`, `~3`, ...
    owner = _mine()

    assert owner.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert host.owner_is_alive(owner)
    assert host.owner_is_alive(f"{owner}~2")


def test_a_process_that_ended_is_not_alive_under_any_of_its_names() -> None:
    ended = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tarry import config, host; print(host.Host(config.Settings(database_url='memory://')).owner)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert not host.owner_is_alive(ended)
    assert not host.owner_is_alive(f"{ended}~3")


def test_a_process_of_another_host_is_taken_for_alive() -> None:
    # Only the lease (or, on PostgreSQL, its liveness lock) can tell.
    assert host.owner_is_alive("some-other-host:1:1")
    assert host.owner_is_alive("some-other-host:1:1~2")
