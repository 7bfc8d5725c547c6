"""Contract: messages sent to runs, delivered at most once to a matching receive."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from tarry.states import RunState, StepKind, StepStatus, WaitStatus
from tarry.storage import MessageRecord, rules
from tests.contract.support import NOW, leased_run, receive, stored_run, waiting_change

if TYPE_CHECKING:
    from tarry.storage import RunRecord, Store


def message(run: RunRecord, key: str, data: object = "hi", **fields: object) -> MessageRecord:
    values: dict[str, object] = {"sent_at": NOW, **fields}
    return MessageRecord(run_id=run.id, key=key, data=json.dumps(data), **values)  # type: ignore[arg-type]


def received_value(store: Store, run: RunRecord, key: str) -> dict[str, object]:
    [step] = [s for s in store.get_steps(run.id) if s.key == key]
    assert (step.kind, step.status) == (StepKind.WAIT, StepStatus.COMPLETED)
    value: dict[str, object] = json.loads(step.result or "null")["value"]
    return value


def test_a_message_sent_before_the_receive_is_delivered_when_it_opens(store: Store) -> None:
    run = leased_run(store)
    sent = store.send_message(message(run, "m1", {"name": "Ann"}, sender="ada"))
    assert (sent.created, sent.closed, sent.message.status) == (True, None, "pending")

    [wait] = store.open_waits([receive(run)], waiting_change(label="message"))

    assert wait.status is WaitStatus.ANSWERED
    assert received_value(store, run, "1")["data"] == {"name": "Ann"}
    assert received_value(store, run, "1")["sender"] == "ada"
    assert stored_run(store, run.id).state is RunState.RUNNING  # it never had to wait
    [delivered] = store.messages_of_run(run.id)
    assert (delivered.status, delivered.received_step_key) == ("received", "1")


def test_a_message_sent_to_a_waiting_receive_closes_it_and_resumes_the_run(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([receive(run)], waiting_change(label="message"))
    assert stored_run(store, run.id).state is RunState.WAITING

    sent = store.send_message(message(run, "m1", 42, sender_run_id="the-sender"))

    assert sent.closed is not None
    assert sent.closed.won
    assert (sent.message.status, sent.message.received_step_key) == ("received", "1")
    assert sent.step == next(s for s in store.get_steps(run.id) if s.key == "1")
    assert received_value(store, run, "1")["data"] == 42
    assert received_value(store, run, "1")["sender_run_id"] == "the-sender"
    assert stored_run(store, run.id).state is RunState.RUNNING


def test_a_suspended_receiver_is_made_pending_by_a_message(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([receive(run)], waiting_change(label="message", release=True))

    sent = store.send_message(message(run, "m1"))

    assert sent.closed is not None
    assert sent.closed.ready_run_id == run.id
    assert stored_run(store, run.id).state is RunState.PENDING


def test_each_message_is_received_once_in_the_order_sent(store: Store) -> None:
    run = leased_run(store)
    for n in range(3):
        store.send_message(message(run, f"m{n}", n))

    keys = []
    for step in ("1", "2", "3", "4"):
        [wait] = store.open_waits([receive(run, step)], waiting_change(label="message"))
        if wait.status is WaitStatus.ANSWERED:
            keys.append(received_value(store, run, step)["key"])

    assert keys == ["m0", "m1", "m2"]
    assert stored_run(store, run.id).state is RunState.WAITING  # the fourth receive waits


def test_sending_a_key_again_changes_nothing(store: Store) -> None:
    run = leased_run(store)
    first = store.send_message(message(run, "greeting", "hello"))

    again = store.send_message(message(run, "greeting", "something else"))

    assert (again.created, again.message) == (False, first.message)
    assert [m.data for m in store.messages_of_run(run.id)] == ['"hello"']


def test_a_message_is_found_by_its_key(store: Store) -> None:
    run, other = leased_run(store), leased_run(store)
    sent = store.send_message(message(run, "greeting", "hello")).message
    store.send_message(message(other, "greeting", "not this one"))

    assert store.message_with_key(run.id, "greeting") == sent
    assert store.message_with_key(run.id, "farewell") is None
    assert store.message_with_key("no-such-run", "greeting") is None


def test_filters_choose_which_messages_a_receive_takes(store: Store) -> None:
    run = leased_run(store)
    store.send_message(message(run, "chat-1", "skip me"))
    store.send_message(message(run, "other-1", "not mine"))
    store.send_message(message(run, "chat-2", "take me"))

    [wait] = store.open_waits(
        [receive(run, prefix="chat-", exclude={"chat-1"})], waiting_change(label="message")
    )

    assert wait.status is WaitStatus.ANSWERED
    assert received_value(store, run, "1")["key"] == "chat-2"
    pending = [m.key for m in store.messages_of_run(run.id) if m.status == "pending"]
    assert pending == ["chat-1", "other-1"]


def test_a_message_for_another_prefix_leaves_the_receive_waiting(store: Store) -> None:
    run = leased_run(store)
    store.open_waits([receive(run, prefix="chat-")], waiting_change(label="message"))

    sent = store.send_message(message(run, "other-1"))

    assert sent.closed is None
    assert stored_run(store, run.id).state is RunState.WAITING


def test_messages_sent_by_a_run_are_its_outbox(store: Store) -> None:
    sender, receiver = leased_run(store), leased_run(store)
    store.send_message(message(receiver, "q1", "ping", sender_run_id=sender.id))
    store.send_message(message(sender, "a1", "pong", sender_run_id=receiver.id, reply_to="q1"))

    [out] = store.messages_of_run(sender.id, sent=True)
    [inbound] = store.messages_of_run(sender.id)

    assert (out.run_id, out.key) == (receiver.id, "q1")
    assert (inbound.key, inbound.reply_to) == ("a1", "q1")


def test_a_receive_of_a_topic_leaves_the_others_and_takes_those_without_one(store: Store) -> None:
    run = leased_run(store)
    store.send_message(message(run, "m1", "for another", topic="strautomaticruninput-auto"))
    store.send_message(message(run, "m2", 3, topic="intautomaticruninput-auto"))
    store.send_message(message(run, "m3", 4))
    typed = dataclasses.replace(
        receive(run), spec=rules.message_filter(None, (), {"intautomaticruninput-auto"})
    )
    store.open_waits([typed], waiting_change(label="message"))
    again = dataclasses.replace(receive(run, "2"), spec=typed.spec)
    store.open_waits([again], waiting_change(label="message"))

    assert received_value(store, run, "1")["data"] == 3
    assert received_value(store, run, "2")["data"] == 4
    by_key = {m.key: m for m in store.messages_of_run(run.id)}
    assert by_key["m1"].status == "pending"
    assert by_key["m1"].topic == "strautomaticruninput-auto"
    assert by_key["m3"].topic is None


def test_a_reading_receive_gets_a_message_and_leaves_it_pending(store: Store) -> None:
    run = leased_run(store)
    store.send_message(message(run, "m1", "early"))
    reading = rules.message_filter(None, (), None, keep=True)
    store.open_waits([dataclasses.replace(receive(run), spec=reading)], waiting_change(label="m"))
    later = rules.message_filter(None, {"m1"}, None, keep=True)
    store.open_waits(
        [dataclasses.replace(receive(run, "2"), spec=later)], waiting_change(label="m")
    )

    sent = store.send_message(message(run, "m2", "late"))

    assert received_value(store, run, "1")["key"] == "m1"
    assert sent.closed is not None
    assert received_value(store, run, "2")["key"] == "m2"
    assert [(m.key, m.status) for m in store.messages_of_run(run.id)] == [
        ("m1", "pending"),
        ("m2", "pending"),
    ]
    store.open_waits([receive(run, "3")], waiting_change(label="message"))
    assert received_value(store, run, "3")["key"] == "m1"
    assert store.messages_of_run(run.id)[0].status == "received"
