"""Contract: events stored once each, read by filter and in order, swept; the built-in ones."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import TYPE_CHECKING

from tarry.states import RunState
from tarry.storage import events, records
from tests.contract.support import (
    ME,
    NOW,
    T0,
    leased_run,
    new_id,
    run_record,
    timeout_close,
    wait_close,
    wait_record,
    waiting_change,
)

if TYPE_CHECKING:
    from tarry.storage import Store


def event(name: str = "shop.order.placed", resource: str = "shop.order.1", **fields: object):  # type: ignore[no-untyped-def]
    base = events.EventRecord(
        id=new_id(),
        occurred=T0,
        event=name,
        resource={events.RESOURCE_ID: resource},
        payload='{"total":3}',
        received=T0,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def mine(store: Store, prefix: str = "shop.") -> list[events.EventRecord]:
    """The events this test added (not the built-in ones), oldest first."""
    found = store.list_events(events.EventFilter(names=(prefix + "*",), limit=1000))
    return list(reversed(found))


def test_an_added_event_is_read_back_with_its_fields_and_a_seq(store: Store) -> None:
    related = ({events.RESOURCE_ID: "shop.customer.7", events.RESOURCE_ROLE: "customer"},)
    added = event(related=related, follows=new_id())

    assert store.add_events([added]) == 1

    [found] = mine(store)
    assert found.seq > 0
    assert dataclasses.replace(found, seq=0) == added


def test_adding_an_id_again_stores_nothing(store: Store) -> None:
    first = event()
    store.add_events([first])

    assert store.add_events([first, dataclasses.replace(first, event="shop.other")]) == 0
    assert [e.event for e in mine(store)] == ["shop.order.placed"]


def test_seqs_increase_in_the_order_events_were_added(store: Store) -> None:
    store.add_events([event(payload=json.dumps({"n": n})) for n in range(5)])

    found = mine(store)
    assert [json.loads(e.payload)["n"] for e in found] == [0, 1, 2, 3, 4]
    assert [e.seq for e in found] == sorted(e.seq for e in found)
    assert store.last_event_seq() == found[-1].seq


def test_list_is_newest_first_and_pages_by_seq(store: Store) -> None:
    store.add_events([event(payload=json.dumps({"n": n})) for n in range(5)])
    where = events.EventFilter(names=("shop.*",), limit=2)

    first = store.list_events(where)
    second = store.list_events(dataclasses.replace(where, before_seq=first[-1].seq))

    assert [json.loads(e.payload)["n"] for e in first + second] == [4, 3, 2, 1]


def test_names_match_exactly_or_by_prefix(store: Store) -> None:
    store.add_events([event("shop.order.placed"), event("shop.order.paid"), event("shop.ship")])

    def names(*wanted: str) -> list[str]:
        found = store.list_events(events.EventFilter(names=wanted))
        return sorted(e.event for e in found)

    assert names("shop.order.paid") == ["shop.order.paid"]
    assert names("shop.order.*") == ["shop.order.paid", "shop.order.placed"]
    assert names("shop.ship", "shop.order.paid") == ["shop.order.paid", "shop.ship"]
    assert names("shop.order") == []


def test_resource_filter_is_exact_or_a_prefix(store: Store) -> None:
    store.add_events([event(resource="shop.order.1"), event(resource="shop.order.12")])
    store.add_events([event(resource="shop.cart.1")])

    def resources(wanted: str) -> list[str]:
        found = store.list_events(events.EventFilter(resource_id=wanted))
        return sorted(e.resource_id for e in found)

    assert resources("shop.order.1") == ["shop.order.1"]
    assert resources("shop.order.*") == ["shop.order.1", "shop.order.12"]
    assert resources("shop.*") == ["shop.cart.1", "shop.order.1", "shop.order.12"]


def test_related_filter_finds_events_relating_to_a_resource(store: Store) -> None:
    customer = {events.RESOURCE_ID: "shop.customer.7", events.RESOURCE_ROLE: "customer"}
    store.add_events([event(related=(customer,)), event(resource="shop.order.2")])

    found = store.list_events(events.EventFilter(related_id="shop.customer.7"))

    assert [e.resource_id for e in found] == ["shop.order.1"]


def test_since_and_until_bound_when_the_events_occurred(store: Store) -> None:
    store.add_events([event(occurred=T0 + n, payload=json.dumps({"n": n})) for n in range(5)])

    found = store.list_events(events.EventFilter(names=("shop.*",), since=T0 + 1, until=T0 + 3))

    assert [json.loads(e.payload)["n"] for e in found] == [3, 2, 1]


def test_events_after_reads_oldest_first_from_a_cursor(store: Store) -> None:
    start = store.last_event_seq()
    store.add_events([event(payload=json.dumps({"n": n})) for n in range(5)])

    first = store.events_after(start, 3)
    rest = store.events_after(first[-1].seq, 10)

    assert [json.loads(e.payload)["n"] for e in first + rest] == [0, 1, 2, 3, 4]
    assert store.events_after(rest[-1].seq, 10) == []


def test_list_with_after_seq_is_oldest_first(store: Store) -> None:
    store.add_events([event(payload=json.dumps({"n": n})) for n in range(3)])
    start = mine(store)[0].seq

    found = store.list_events(events.EventFilter(after_seq=start, names=("shop.*",)))

    assert [json.loads(e.payload)["n"] for e in found] == [1, 2]


def test_retention_deletes_the_oldest_in_batches_and_keeps_the_seq_going(store: Store) -> None:
    store.add_events([event(occurred=T0 + n) for n in range(5)])
    last = store.last_event_seq()

    assert store.delete_events_before(T0 + 3, limit=2) == 2
    assert store.delete_events_before(T0 + 3, limit=2) == 1
    assert store.delete_events_before(T0 + 3, limit=2) == 0

    assert [e.occurred for e in mine(store)] == [T0 + 3, T0 + 4]
    store.add_events([event()])
    assert store.last_event_seq() > last


def test_a_subscriber_is_rung_after_events_are_stored(store: Store) -> None:
    rung = threading.Event()
    stop = store.subscribe_events(rung.set)
    try:
        store.add_events([event()])
        assert rung.wait(5.0)
    finally:
        stop()


# -- the built-in events ---------------------------------------------------------------


def run_events(store: Store, run_id: str) -> list[events.EventRecord]:
    found = store.list_events(events.EventFilter(resource_id=f"tarry.flow-run.{run_id}"))
    return list(reversed(found))


def test_a_run_has_an_event_per_transition_with_its_labels(store: Store) -> None:
    run = dataclasses.replace(run_record(), tags=("etl", "nightly"), deployment="daily")
    store.insert_run(run, "made by hand")
    change = records.StateChange(
        RunState.RUNNING, at=T0 + 1, reason="claimed", lease_owner=ME, lease_expires_at=T0 + 30
    )
    store.transition(run.id, (RunState.PENDING,), change)

    created, running = run_events(store, run.id)

    assert (created.event, running.event) == ("tarry.flow-run.Pending", "tarry.flow-run.Running")
    assert running.occurred == T0 + 1
    assert running.resource == {
        "tarry.resource.id": f"tarry.flow-run.{run.id}",
        "tarry.resource.name": "brave-otter",
        "tarry.state-name": "Running",
        "tarry.state-type": "RUNNING",
    }
    assert [dict(r) for r in running.related] == [
        {"tarry.resource.id": "tarry.flow.demo", "tarry.resource.role": "flow",
         "tarry.resource.name": "demo"},
        {"tarry.resource.id": "tarry.deployment.daily", "tarry.resource.role": "deployment",
         "tarry.resource.name": "daily"},
        {"tarry.resource.id": "tarry.tag.etl", "tarry.resource.role": "tag"},
        {"tarry.resource.id": "tarry.tag.nightly", "tarry.resource.role": "tag"},
        {"tarry.resource.id": "tarry.work-pool.default", "tarry.resource.role": "work-pool",
         "tarry.resource.name": "default"},
        {"tarry.resource.id": "tarry.work-queue.default/default",
         "tarry.resource.role": "work-queue", "tarry.resource.name": "default"},
    ]  # fmt: skip
    assert json.loads(running.payload) == {
        "intended": {"from": "Pending", "to": "Running"},
        "initial_state": {"type": "PENDING", "name": "Pending"},
        "validated_state": {"type": "RUNNING", "name": "Running", "message": "claimed"},
    }
    assert json.loads(created.payload)["initial_state"] is None


def test_a_child_runs_events_relate_to_its_parent(store: Store) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)

    [event_of_child] = run_events(store, child.id)

    assert {events.RESOURCE_ID: f"tarry.flow-run.{parent.id}", "tarry.resource.role": "parent"} in [
        dict(r) for r in event_of_child.related
    ]
    assert store.list_events(events.EventFilter(related_id=f"tarry.flow-run.{parent.id}"))


def test_a_waiting_run_is_paused_while_leased_and_suspended_once_released(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([wait_record(run.id)], waiting_change())
    store.suspend_runs([run.id], [wait_record(run.id).id], owner=ME, at=NOW + 1, reason="away")

    names = [e.event for e in run_events(store, run.id)]

    assert names == ["tarry.flow-run.Running", "tarry.flow-run.Paused", "tarry.flow-run.Suspended"]
    last = run_events(store, run.id)[-1]
    assert last.resource["tarry.state-type"] == "PAUSED"


def test_a_refused_transition_writes_no_event(store: Store) -> None:
    run = leased_run(store)
    before = store.last_event_seq()

    change = records.StateChange(RunState.RUNNING, at=NOW, reason="again")
    assert store.transition(run.id, (RunState.PENDING,), change) is None

    assert store.events_after(before, 10) == []


def input_events(store: Store) -> list[events.EventRecord]:
    return list(reversed(store.list_events(events.EventFilter(names=("tarry.input.*",)))))


def test_an_input_wait_is_requested_then_answered_with_its_answer(store: Store) -> None:
    run = leased_run(store)
    wait = wait_record(run.id, deadline=NOW + 60)
    store.open_waits([wait], waiting_change())
    store.close_wait(wait_close(wait, at=NOW + 5, answer={"ok": True}))

    requested, answered = input_events(store)

    assert requested.event == "tarry.input.requested"
    assert requested.resource == {
        "tarry.resource.id": f"tarry.input.{wait.id}",
        "tarry.resource.name": "approval",
    }
    assert [r["tarry.resource.role"] for r in requested.related] == ["flow-run", "flow"]
    assert json.loads(requested.payload) == {
        "wait_id": wait.id,
        "run_id": run.id,
        "name": "approval",
        "kind": "input",
        "description": "Ship it?",
        "timeout_at": NOW + 60,
    }
    assert answered.event == "tarry.input.answered"
    assert answered.occurred == NOW + 5
    payload = json.loads(answered.payload)
    assert (payload["answer"], payload["channel"], payload["by"]) == ({"ok": True}, "api", "ada")


def test_an_input_wait_that_times_out_expires(store: Store) -> None:
    run = leased_run(store)
    wait = wait_record(run.id, deadline=NOW + 60)
    store.open_waits([wait], waiting_change())
    store.close_wait(timeout_close(wait, at=NOW + 60))

    assert [e.event for e in input_events(store)] == [
        "tarry.input.requested",
        "tarry.input.expired",
    ]


def test_cancelling_a_run_cancels_its_open_input(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([wait_record(run.id)], waiting_change())
    store.cancel_run(run.id, NOW + 1, "stop")

    assert [e.event for e in input_events(store)][-1] == "tarry.input.cancelled"
    assert run_events(store, run.id)[-1].event == "tarry.flow-run.Cancelled"


def test_a_replayed_open_requests_no_input_again(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([wait_record(run.id)], waiting_change())
    store.open_waits([wait_record(run.id)], waiting_change())

    assert [e.event for e in input_events(store)] == ["tarry.input.requested"]


def test_a_timer_wait_writes_no_input_event(store: Store) -> None:
    from tarry.states import WaitKind

    run = leased_run(store)
    store.open_waits([wait_record(run.id, kind=WaitKind.TIMER)], waiting_change())

    assert input_events(store) == []


def test_a_message_sent_has_its_event_once(store: Store) -> None:
    run = leased_run(store)
    sender = leased_run(store)
    message = records.MessageRecord(
        run.id, "greeting-1", '"hi"', NOW, sender_run_id=sender.id, topic="greeting"
    )
    store.send_message(message)
    store.send_message(message)

    [sent] = store.list_events(events.EventFilter(names=("tarry.message.sent",)))

    assert sent.resource_id == f"tarry.message.{run.id}/greeting-1"
    assert [dict(r) for r in sent.related] == [
        {"tarry.resource.id": f"tarry.flow-run.{run.id}", "tarry.resource.role": "receiver"},
        {"tarry.resource.id": f"tarry.flow-run.{sender.id}", "tarry.resource.role": "sender"},
    ]
    assert json.loads(sent.payload) == {
        "run_id": run.id,
        "key": "greeting-1",
        "topic": "greeting",
        "sender": None,
    }
