"""`tarry deployment schedule pause|resume`, run as a user would, in its own process."""

from __future__ import annotations

from tarry import deployments, service
from tarry.engine import spec
from tarry.schedules import Cron
from tarry.testing import TestHarness
from tests.conftest import run_tarry
from tests.e2e.test_client import ECHO


def test_pause_and_resume_a_schedule_from_the_command_line(harness: TestHarness) -> None:
    home = harness.host.settings.home
    flow = spec.load_flow(ECHO)
    deployments.deploy(flow, "nightly", schedules=[Cron("0 2 * * *")], hst=harness.host)

    paused = run_tarry(home, "deployment", "schedule", "pause", "echo/nightly", "schedule-1")
    assert (paused.returncode, paused.stdout.strip()) == (0, "paused echo/nightly schedule-1")
    assert not service.list_schedules("echo/nightly", hst=harness.host)[0].active

    resumed = run_tarry(home, "deployment", "schedule", "resume", "echo/nightly")
    assert (resumed.returncode, resumed.stdout.strip()) == (0, "resumed echo/nightly schedule-1")
    assert service.list_schedules("echo/nightly", hst=harness.host)[0].active


def test_a_wrong_deployment_or_schedule_exits_non_zero_with_one_line(harness: TestHarness) -> None:
    home = harness.host.settings.home
    flow = spec.load_flow(ECHO)
    deployments.deploy(flow, "nightly", schedules=[Cron("0 2 * * *")], hst=harness.host)
    deployments.deploy(flow, "manual", hst=harness.host)
    cases = {
        ("pause", "nope/nope"): "no deployment named 'nope/nope'",
        ("pause", "echo/nightly", "weekly"): "has no schedule 'weekly' (it has: schedule-1)",
        ("resume", "echo/manual"): "deployment 'echo/manual' has no schedules",
    }
    for args, message in cases.items():
        done = run_tarry(home, "deployment", "schedule", *args)
        assert done.returncode == 1, args
        assert message in " ".join(done.stderr.split()), (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
