"""`tarry automation ...`, run as a user would, each in its own process, on the SQLite file
that code in this process uses."""

from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tarry import automation_service
from tarry.storage.events import EventFilter
from tarry.testing import TestHarness
from tests.conftest import ROOT, run_tarry, subprocess_env
from tests.e2e.test_concurrency_limit_cli import _in_terminal
from tests.e2e.test_work_pool_cli import _row

EXAMPLES = ROOT / "examples/automations"


def _ok(home: Path, *args: str) -> str:
    done = run_tarry(home, *args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip()


def _json(home: Path, *args: str) -> Any:
    return json.loads(_ok(home, *args, "--json"))


def _from_stdin(home: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tarry", "automation", "create", "-f", "-"],
        input=text,
        env=subprocess_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_from_json_and_yaml_list_inspect_enable_and_delete(harness: TestHarness) -> None:
    home = harness.host.settings.home
    made = _ok(home, "automation", "create", "-f", str(EXAMPLES / "daily-exports.json"))
    assert made.startswith("created automation daily-exports-done (")
    assert made.endswith("): compound: all of 2 within 1h")
    yaml_made = _ok(home, "automation", "create", "-f", str(EXAMPLES / "approval-reminder.yaml"))
    assert "event (proactive): fewer than 1 x tarry.input.answered within 4h" in yaml_made

    table = _ok(home, "automation", "ls")
    row = _row(table, "daily-exports-done")
    assert row[1:4] == ["compound: all of 2 within 1h", "yes", "never"]
    listed = _json(home, "automation", "ls")
    assert [a["name"] for a in listed] == ["approval-reminder", "daily-exports-done"]

    shown = _ok(home, "automation", "inspect", "daily-exports-done")
    assert "tarry.block.remote-file-system.write_path.called" in shown
    assert '"type": "send-notification"' in shown
    as_json = _json(home, "automation", "inspect", listed[1]["id"])
    assert as_json["trigger"]["require"] == "all"

    assert _ok(home, "automation", "disable", "daily-exports-done") == (
        "disabled automation daily-exports-done"
    )
    assert automation_service.get_automation("daily-exports-done").record.enabled is False
    assert _row(_ok(home, "automation", "ls"), "daily-exports-done")[2] == "no"
    _ok(home, "automation", "enable", "daily-exports-done")
    assert _ok(home, "automation", "firings", "daily-exports-done") == "no firings yet"
    assert _ok(home, "automation", "delete", "approval-reminder") == (
        "deleted automation approval-reminder"
    )
    assert [a.name for a in automation_service.list_automations()] == ["daily-exports-done"]
    seen = harness.host.store.list_events(EventFilter(names=("tarry.automation.*",)))
    assert [e.event for e in reversed(seen)] == [
        "tarry.automation.created",
        "tarry.automation.created",
        "tarry.automation.disabled",
        "tarry.automation.enabled",
        "tarry.automation.deleted",
    ]


def test_stdin_takes_a_list_and_a_bad_one_makes_none(harness: TestHarness) -> None:
    home = harness.host.settings.home
    good = json.loads((EXAMPLES / "daily-exports.json").read_text())
    bad = {**good, "name": "bad", "actions": [{"type": "launch-rocket"}]}
    refused = _from_stdin(home, json.dumps([good, bad]))
    assert refused.returncode != 0
    assert "launch-rocket" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert automation_service.list_automations() == []
    done = _from_stdin(home, json.dumps({"automations": [good, {**good, "name": "two"}]}))
    assert done.returncode == 0, done.stderr
    assert [a.name for a in automation_service.list_automations()] == ["daily-exports-done", "two"]


def test_every_wrong_argument_exits_non_zero_with_one_line(
    harness: TestHarness, tmp_path: Path
) -> None:
    home = harness.host.settings.home
    seed = json.loads((EXAMPLES / "daily-exports.json").read_text())
    automation_service.create_automation(seed)
    files = {
        "within.json": {**seed, "name": "w", "trigger": {"type": "event", "within": -1}},
        "threshold.json": {**seed, "name": "t", "trigger": {"type": "event", "threshold": 0}},
        "block.json": {
            **seed,
            "name": "b",
            "actions": [{"type": "send-notification", "block_document_id": "x", "body": "b"}],
        },
    }
    for name, document in files.items():
        (tmp_path / name).write_text(json.dumps(document))
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    cases = {
        ("create", "-f", str(EXAMPLES / "daily-exports.json")): "an automation named",
        ("create", "-f", str(tmp_path / "within.json")): "`within` must be 0 seconds or more",
        ("create", "-f", str(tmp_path / "threshold.json")): "`threshold` must be 1 or more",
        ("create", "-f", str(tmp_path / "block.json")): "blocks",
        ("create", "-f", str(tmp_path / "broken.yaml")): "neither JSON nor YAML",
        ("create", "-f", str(tmp_path / "missing.json")): "cannot read",
        ("inspect", "ghost"): "no automation has the id or name 'ghost'",
        ("enable", "ghost"): "no automation has the id or name 'ghost'",
        ("disable", "ghost"): "no automation has the id or name 'ghost'",
        ("delete", "ghost", "--yes"): "no automation has the id or name 'ghost'",
        ("firings", "ghost"): "no automation has the id or name 'ghost'",
        ("create",): "Missing option '--from-file'",
    }
    with cf.ThreadPoolExecutor(4) as threads:
        done = dict(
            zip(cases, threads.map(lambda a: run_tarry(home, "automation", *a), cases), strict=True)
        )
    for args, message in cases.items():
        result = done[args]
        assert result.returncode != 0, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert [a.name for a in automation_service.list_automations()] == ["daily-exports-done"]


def test_delete_in_a_terminal_asks_first(harness: TestHarness) -> None:
    home = harness.host.settings.home
    seed = json.loads((EXAMPLES / "daily-exports.json").read_text())
    automation_service.create_automation(seed)
    said = _in_terminal(home, ["automation", "delete", "daily-exports-done"], "n\n")
    assert said.endswith("nothing deleted")
    assert len(automation_service.list_automations()) == 1
    said = _in_terminal(home, ["automation", "delete", "daily-exports-done"], "y\n")
    assert "Delete the automation daily-exports-done?" in said
    assert said.endswith("deleted automation daily-exports-done")
    assert automation_service.list_automations() == []
