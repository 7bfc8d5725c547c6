"""`tarry.events.emit_event` and the events tarry emits of runs and service changes."""

from __future__ import annotations

import datetime
import json

import pydantic
import pytest

from tarry import errors, flow, task, work_pools
from tarry.events import Event, RelatedResource, emit_event
from tarry.storage import events as stored
from tarry.testing import TestHarness


def names_of(harness: TestHarness, prefix: str) -> list[str]:
    found = harness.host.store.list_events(stored.EventFilter(names=(prefix + "*",)))
    return [e.event for e in reversed(found)]


def test_an_emitted_event_is_stored_and_returned(harness: TestHarness) -> None:
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    emitted = emit_event(
        "shop.order.placed",
        {"tarry.resource.id": "shop.order.42", "tarry.resource.name": "Order 42"},
        occurred=at,
        related=[{"tarry.resource.id": "shop.customer.7", "tarry.resource.role": "customer"}],
        payload={"total": 3},
    )

    assert isinstance(emitted, Event)
    [found] = harness.host.store.list_events(stored.EventFilter(names=("shop.*",)))
    assert found.id == str(emitted.id)
    assert found.occurred == at.timestamp()
    assert found.resource["tarry.resource.name"] == "Order 42"
    assert json.loads(found.payload) == {"total": 3}
    assert emitted.related[0].role == "customer"


def test_prefect_names_are_taken_as_tarrys(harness: TestHarness) -> None:
    emitted = emit_event(
        "prefect.custom.done",
        {"prefect.resource.id": "prefect.custom.1", "prefect.resource.name": "one"},
        related=[RelatedResource({"prefect.resource.id": "x.1", "prefect.resource.role": "r"})],
    )

    assert emitted is not None
    assert emitted.event == "tarry.custom.done"
    assert emitted.resource.id == "tarry.custom.1"
    assert emitted.resource.name == "one"
    assert emitted.related[0].role == "r"


def test_a_resource_without_an_id_is_refused_with_a_clear_error(harness: TestHarness) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"tarry\.resource\.id"):
        emit_event("shop.order.placed", {"tarry.resource.name": "no id"})
    with pytest.raises(pydantic.ValidationError, match=r"tarry\.resource\.role"):
        emit_event("a.b", {"tarry.resource.id": "a.1"}, related=[{"tarry.resource.id": "b.1"}])

    assert names_of(harness, "") == []


def test_a_payload_tarry_cannot_store_is_refused(harness: TestHarness) -> None:
    with pytest.raises(errors.ValueRefused):
        emit_event("a.b", {"tarry.resource.id": "a.1"}, payload={"bad": float("nan")})


def test_the_same_id_twice_is_stored_once(harness: TestHarness) -> None:
    first = emit_event("a.b", {"tarry.resource.id": "a.1"})
    assert first is not None
    emit_event("a.b", {"tarry.resource.id": "a.1"}, id=first.id)

    assert names_of(harness, "a.") == ["a.b"]


@task
def step() -> int:
    return 1


@flow
def ordering() -> str:
    step()
    emitted = emit_event("shop.order.placed", {"tarry.resource.id": "shop.order.9"})
    assert emitted is not None
    return str(emitted.id)


def test_inside_a_run_the_event_relates_to_the_run_and_its_flow(harness: TestHarness) -> None:
    handle = harness.start(ordering)
    event_id = handle.result()

    [found] = harness.host.store.list_events(stored.EventFilter(names=("shop.*",)))
    assert found.id == event_id
    assert [r["tarry.resource.role"] for r in found.related] == ["flow-run", "flow"]
    assert found.related[0]["tarry.resource.id"] == f"tarry.flow-run.{handle.run.id}"
    assert found.related[1]["tarry.resource.id"] == "tarry.flow.ordering"


def test_a_runs_states_are_events(harness: TestHarness) -> None:
    handle = harness.start(ordering)
    handle.result()

    where = stored.EventFilter(resource_id=f"tarry.flow-run.{handle.run.id}")
    found = [e.event for e in reversed(harness.host.store.list_events(where))]
    assert found[-1] == "tarry.flow-run.Completed"
    assert "tarry.flow-run.Running" in found


def test_work_pool_changes_are_events(harness: TestHarness) -> None:
    hst = harness.host
    work_pools.create_work_pool("gpu", hst=hst)
    work_pools.update_work_pool("gpu", paused=True, hst=hst)
    work_pools.update_work_pool("gpu", paused=False, hst=hst)
    work_pools.create_work_queue("fast", "gpu", hst=hst)
    work_pools.update_work_queue("fast", "gpu", paused=True, hst=hst)
    work_pools.delete_work_pool("gpu", hst=hst)

    assert names_of(harness, "tarry.work-") == [
        "tarry.work-pool.created",
        "tarry.work-pool.paused",
        "tarry.work-pool.resumed",
        "tarry.work-queue.created",
        "tarry.work-queue.paused",
        "tarry.work-pool.deleted",
    ]


@flow
def nightly() -> str:
    return "done"


def test_deployments_and_their_schedules_announce_changes(harness: TestHarness) -> None:
    from tarry import service

    name = nightly.deploy("each-minute", cron="* * * * *").name
    nightly.deploy("each-minute", cron="*/5 * * * *")
    service.set_schedule_active(name, None, False, hst=harness.host)
    service.set_schedule_active(name, None, True, hst=harness.host)

    assert names_of(harness, "tarry.deployment.") == [
        "tarry.deployment.created",
        "tarry.deployment.updated",
    ]
    assert names_of(harness, "tarry.schedule.") == [
        "tarry.schedule.paused",
        "tarry.schedule.resumed",
    ]
    where = stored.EventFilter(resource_id=f"tarry.deployment.{name}")
    assert len(harness.host.store.list_events(where)) == 4


def test_the_sweep_deletes_events_past_their_retention(harness: TestHarness) -> None:
    from tarry import event_service

    now = harness.host.clock.now()
    old = datetime.datetime.fromtimestamp(now - 8 * 86400, datetime.UTC)
    emit_event("a.old", {"tarry.resource.id": "a.1"}, occurred=old)
    emit_event("a.new", {"tarry.resource.id": "a.1"})

    assert event_service.sweep(harness.host, now) == 1
    assert names_of(harness, "a.") == ["a.new"]
