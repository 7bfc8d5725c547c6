"""Inferred targets: the thing an event is about, or the related one in the right role."""

from __future__ import annotations

from tarry.triggers import targets
from tests.unit.triggers.harness import event


def test_the_resource_itself_comes_first_then_related_ones_in_their_roles() -> None:
    run_event = event(
        "tarry.flow-run.Failed",
        1.0,
        {"tarry.resource.id": "tarry.flow-run.r1"},
        [
            {"tarry.resource.id": "tarry.flow-run.p0", "tarry.resource.role": "parent"},
            {
                "tarry.resource.id": "tarry.deployment.etl/nightly",
                "tarry.resource.role": "deployment",
            },
            {"tarry.resource.id": "tarry.work-pool.gpu", "tarry.resource.role": "work-pool"},
            {"tarry.resource.id": "tarry.work-queue.gpu/fast", "tarry.resource.role": "work-queue"},
        ],
    )
    assert targets.run_of(run_event) == "r1"
    assert targets.deployment_of(run_event) == "etl/nightly"
    assert targets.work_pool_of(run_event) == "gpu"
    assert targets.work_queue_of(run_event) == "gpu/fast"
    assert targets.automation_of(run_event) is None


def test_a_child_runs_parent_is_not_the_run_it_is_about() -> None:
    answered = event(
        "tarry.message.sent",
        1.0,
        {"tarry.resource.id": "tarry.message.r2/k"},
        [
            {"tarry.resource.id": "tarry.flow-run.r9", "tarry.resource.role": "sender"},
            {"tarry.resource.id": "tarry.flow-run.r2", "tarry.resource.role": "receiver"},
        ],
    )
    assert targets.run_of(answered) == "r2"
    assert targets.run_of(None) is None
