"""`tarry global-concurrency-limit` (`tarry gcl`) and `tarry concurrency-limit`, run as a user
would, each in its own process, against the SQLite file that code in this process uses."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from tarry import concurrency
from tarry.concurrency.sync import concurrency as limited
from tarry.testing import TestHarness
from tests.conftest import ROOT, run_tarry, subprocess_env
from tests.e2e.test_work_pool_cli import _row


def _ok(home: Path, *args: str) -> str:
    done = run_tarry(home, *args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip()


def _json(home: Path, *args: str) -> Any:
    return json.loads(_ok(home, *args, "--json"))


def test_make_list_inspect_change_reset_and_delete_global_limits(harness: TestHarness) -> None:
    home = harness.host.settings.home
    made = _ok(home, "gcl", "create", "db", "--limit", "5", "--slot-decay-per-second", "0.5")
    assert made == (
        "created global concurrency limit db (limit 5, 0 active slots, "
        "slot decay per second 0.5, active)"
    )
    off = _ok(home, "global-concurrency-limit", "create", "api", "--limit", "2", "--disable")
    assert off.endswith("slot decay per second 0, inactive)")
    assert concurrency.get_limit("db").limit == 5

    # Code in this process holds 2 slots of db: every command sees them and who holds them.
    with limited("db", occupy=2, timeout_seconds=5):
        table = _ok(home, "gcl", "ls")
        assert _row(table, "db") == ["db", "5", "2", "0.5", "yes"]
        assert _row(table, "api") == ["api", "2", "0", "0", "no"]
        shown = _ok(home, "gcl", "inspect", "db")
        assert shown.splitlines()[0] == (
            "global concurrency limit db: limit 5, 2 active slots, slot decay per second 0.5, "
            "active, 0 slots denied"
        )
        [held] = _json(home, "gcl", "inspect", "db")["holders"]
        assert (held["slots"], held["run_id"]) == (2, None)
        assert held["expires_at"] is not None
        assert held["holder"] in shown
        reset = _ok(home, "gcl", "reset", "db")
        assert reset == "reset global concurrency limit db: 0 active slots"
        assert concurrency.limit_holders("db") == []

    changed = _ok(home, "gcl", "update", "db", "--limit", "7", "--disable")
    assert changed == (
        "updated global concurrency limit db (limit 7, 0 active slots, "
        "slot decay per second 0.5, inactive)"
    )
    assert _ok(home, "gcl", "enable", "db") == "enabled global concurrency limit db"
    assert concurrency.get_limit("db").active
    assert _ok(home, "gcl", "disable", "db") == "disabled global concurrency limit db"
    assert not concurrency.get_limit("db").active
    decay = _ok(home, "gcl", "update", "db", "--slot-decay-per-second", "2", "--enable")
    assert "slot decay per second 2, active" in decay
    assert [limit["name"] for limit in _json(home, "gcl", "ls")] == ["api", "db"]

    # Without a terminal (a script) delete does not ask; `--yes` never asks.
    assert _ok(home, "gcl", "delete", "db") == "deleted global concurrency limit db"
    assert _ok(home, "gcl", "delete", "api", "--yes") == "deleted global concurrency limit api"
    assert concurrency.list_limits() == []


def test_tag_limits_are_made_shown_reset_and_deleted_by_tag(harness: TestHarness) -> None:
    home = harness.host.settings.home
    made = _ok(home, "concurrency-limit", "create", "small-db", "3")
    assert made == "created concurrency limit of tag small-db: 3 task runs at once"
    concurrency.create_limit("plain", 1)
    assert concurrency.get_limit("tag:small-db").limit == 3

    with limited("tag:small-db", timeout_seconds=5):
        table = _ok(home, "concurrency-limit", "ls")
        assert _row(table, "small-db") == ["small-db", "3", "1", "yes"]
        assert "plain" not in table
        shown = _ok(home, "concurrency-limit", "inspect", "small-db")
        assert shown.splitlines()[0] == (
            "concurrency limit of tag small-db: limit 3, 1 active slot, active"
        )
        [listed] = _json(home, "concurrency-limit", "ls")
        assert (listed["name"], listed["tag"], listed["active_slots"]) == (
            "tag:small-db",
            "small-db",
            1,
        )
        reset = _ok(home, "concurrency-limit", "reset", "small-db")
        assert reset == "reset concurrency limit of tag small-db: 0 active slots"

    # A tag limit is a global limit named tag:TAG, so `gcl` lists it too.
    assert _row(_ok(home, "gcl", "ls"), "tag:small-db")[:2] == ["tag:small-db", "3"]
    deleted = _ok(home, "concurrency-limit", "delete", "small-db")
    assert deleted == "deleted concurrency limit of tag small-db"
    assert [limit.name for limit in concurrency.list_limits()] == ["plain"]
    # Names are shown as they are, never read as rich markup.
    concurrency.create_limit("[bold]odd", 1)
    assert _row(_ok(home, "gcl", "ls"), "[bold]odd")[:2] == ["[bold]odd", "1"]


def test_every_wrong_argument_exits_non_zero_with_one_line(harness: TestHarness) -> None:
    home = harness.host.settings.home
    concurrency.create_limit("db", 2, slot_decay_per_second=1.0)
    concurrency.create_tag_limit("io", 1)
    cases = {
        ("gcl", "create", "db", "--limit", "4"): "a concurrency limit named 'db' exists",
        ("gcl", "create", "x", "--limit", "-1"): "from 0 to 2147483647, not -1",
        ("gcl", "create", "x", "--limit", "3000000000"): "from 0 to 2147483647",
        ("gcl", "create", "x", "--limit", "1", "--slot-decay-per-second", "-1"): "0 or more",
        ("gcl", "create", "a/b", "--limit", "1"): "cannot hold '/'",
        ("gcl", "create", ".", "--limit", "1"): "a limit cannot be named '.'",
        ("gcl", "create", "..", "--limit", "1"): "a limit cannot be named '..'",
        ("gcl", "create", "", "--limit", "1"): "a limit's name must be 1-200 characters",
        ("gcl", "create", "tag:", "--limit", "1"): "a limit's name must be 1-200 characters",
        ("gcl", "inspect", "ghost"): "no concurrency limit named 'ghost'",
        ("gcl", "inspect", "ghost", "--json"): "no concurrency limit named 'ghost'",
        ("gcl", "update", "db"): "nothing to change",
        ("gcl", "update", "ghost", "--limit", "1"): "no concurrency limit named 'ghost'",
        ("gcl", "update", "db", "--limit", "-3"): "not -3",
        ("gcl", "update", "db", "--slot-decay-per-second", "nan"): "0 or more, not nan",
        ("gcl", "enable", "ghost"): "no concurrency limit named 'ghost'",
        ("gcl", "disable", "ghost"): "no concurrency limit named 'ghost'",
        ("gcl", "reset", "ghost"): "no concurrency limit named 'ghost'",
        ("gcl", "delete", "ghost", "--yes"): "no concurrency limit named 'ghost'",
        ("concurrency-limit", "create", "io", "2"): "a concurrency limit named 'tag:io' exists",
        ("concurrency-limit", "create", "x", "-1"): "not -1",
        ("concurrency-limit", "create", "..", "1"): "a limit cannot be named '..'",
        ("concurrency-limit", "create", "a/b", "1"): "cannot hold '/'",
        ("concurrency-limit", "inspect", "ghost"): "no concurrency limit for tag 'ghost'",
        ("concurrency-limit", "reset", "ghost"): "no concurrency limit for tag 'ghost'",
        ("concurrency-limit", "delete", "ghost"): "no concurrency limit for tag 'ghost'",
        ("gcl", "create", "x"): "Missing option '--limit'",
        ("gcl", "create", "x", "--limit", "many"): "Invalid value for '--limit'",
        ("concurrency-limit", "create", "x", "many"): "Invalid value for 'concurrency_limit'",
    }
    # Refusals change nothing, so they run side by side: each is a process of its own.
    with cf.ThreadPoolExecutor(4) as threads:
        done = dict(zip(cases, threads.map(lambda a: run_tarry(home, *a), cases), strict=True))
    for args, message in cases.items():
        result = done[args]
        assert result.returncode != 0, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    # Nothing was made or changed by them.
    assert [(lim.name, lim.limit) for lim in concurrency.list_limits()] == [
        ("db", 2),
        ("tag:io", 1),
    ]
    assert concurrency.get_limit("db").slot_decay_per_second == 1.0


def test_delete_in_a_terminal_asks_first(harness: TestHarness) -> None:
    home = harness.host.settings.home
    concurrency.create_limit("db", 2)
    assert _in_terminal(home, ["gcl", "delete", "db"], "n\n").endswith("nothing deleted")
    assert concurrency.get_limit("db").limit == 2
    said = _in_terminal(home, ["gcl", "delete", "db"], "y\n")
    assert "Delete the global concurrency limit db?" in said
    assert said.endswith("deleted global concurrency limit db")
    assert concurrency.list_limits() == []


def _in_terminal(home: Path, args: list[str], typed: str) -> str:
    """What `tarry ARGS` shows when run in a terminal where the user types `typed`."""
    main, child = pty.openpty()
    env = subprocess_env(home, NO_COLOR="1", COLUMNS="200")
    command = [sys.executable, "-m", "tarry", *args]
    with subprocess.Popen(
        command, stdin=child, stdout=child, stderr=child, env=env, cwd=ROOT
    ) as proc:
        os.close(child)
        os.write(main, typed.encode())
        seen = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closes when the command ends
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=60)
    os.close(main)
    return seen.decode().replace("\r", "").strip()
