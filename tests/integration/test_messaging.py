"""Runs that talk, in one process against a real SQLite file: exactly once, in order."""

from __future__ import annotations

import asyncio
import time

import pytest

from tarry import flow, service
from tarry.errors import RunFailed
from tarry.messaging import Message, receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness

EXIT = "__EXIT__"


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@flow
def greeter() -> int:
    greeted = 0
    for message in receive_input(str, timeout=3600, with_metadata=True):
        if message.value == EXIT:
            break
        if message.sender_run_id is not None:  # a person or a script cannot be answered
            message.respond(f"Hello, {message.value}!")
        greeted += 1
    return greeted


@flow
def sender(greeter_id: str, names: list[str]) -> list[str]:
    replies = []
    for name in names:
        send_input(name, greeter_id)
        for reply in receive_input(str, timeout=3600):
            replies.append(reply)
            break
    send_input(EXIT, greeter_id)
    return replies


def test_five_names_get_five_greetings_in_order_exactly_once(harness: TestHarness) -> None:
    names = ["Ann", "Bob", "Cid", "Dee", "Eve"]
    greeting = harness.start(greeter)
    greeting.wait_for(RunState.WAITING)

    talking = harness.start(sender, greeting.id, names)

    assert talking.result() == [f"Hello, {name}!" for name in names]
    assert greeting.result() == 5
    received = harness.store.messages_of_run(greeting.id)
    assert [m.data for m in received] == [f'"{n}"' for n in [*names, EXIT]]
    assert all(m.status == "received" for m in received)
    replies = harness.store.messages_of_run(talking.id)
    assert [m.reply_to for m in replies] == [m.key for m in received[:5]]


def test_messages_sent_before_the_receiver_asks_wait_for_it(harness: TestHarness) -> None:
    greeting = harness.start(greeter)
    greeting.wait_for(RunState.WAITING)
    for name in ("Ann", "Bob"):
        send_input(name, greeting.id, sender="test", hst=harness.host)
    send_input(EXIT, greeting.id, hst=harness.host)

    assert greeting.result() == 2


@flow
def collector(expected: int) -> list[tuple[str, str | None, str]]:
    got = []
    for message in receive_input(int, timeout=3600, with_metadata=True, key_prefix="n-"):
        assert isinstance(message, Message)
        got.append((message.key, message.sender, str(message.value)))
        if len(got) == expected:
            break
    return got


def test_keys_filter_and_deduplicate(harness: TestHarness) -> None:
    run = harness.start(collector, 2)
    run.wait_for(RunState.WAITING)
    send_input(1, run.id, sender="ada", key="n-1", hst=harness.host)
    send_input(99, run.id, sender="ada", key="n-1", hst=harness.host)  # same key: ignored
    send_input(5, run.id, sender="bob", key="other", hst=harness.host)  # another prefix
    send_input(2, run.id, sender="bob", key="n-2", hst=harness.host)

    assert run.result() == [("n-1", "ada", "1"), ("n-2", "bob", "2")]
    pending = [m.key for m in harness.store.messages_of_run(run.id) if m.status == "pending"]
    assert pending == ["other"]


@flow
async def async_echo() -> list[str]:
    heard = []
    async for text in receive_input(str, timeout=3600):
        if text == EXIT:
            break
        heard.append(text.upper())
    return heard


def test_async_flows_receive_with_async_for(harness: TestHarness) -> None:
    run = harness.start(async_echo)
    run.wait_for(RunState.WAITING)
    for text in ("a", "b", EXIT):
        asyncio.run(asyncio.to_thread(send_input, text, run.id, hst=harness.host))

    assert run.result() == ["A", "B"]


@flow
def one_then_timeout() -> list[str]:
    return list(receive_input(str, timeout=60))


def test_the_iteration_ends_at_the_timeout(harness: TestHarness) -> None:
    run = harness.start(one_then_timeout)
    run.wait_for(RunState.WAITING)
    send_input("only", run.id, hst=harness.host)
    for _ in range(2000):  # until it waits for the next message
        if len(harness.store.waits_of_run(run.id)) == 2:
            break
        time.sleep(0.002)
    harness.advance(61)

    assert run.result() == ["only"]


@flow
async def prefect_style_greeter() -> None:
    async for name_input in receive_input(str, with_metadata=True, timeout=None):
        if name_input.value == EXIT:
            break
        await name_input.respond(f"Hello, {name_input.value}!")


@flow
async def prefect_style_sender(greeter_id: str, names: list[str]) -> list[str]:
    receiver = receive_input(str, timeout=None, poll_interval=0.1)
    greetings = []
    for name in names:
        await send_input(name, flow_run_id=greeter_id)
        greetings.append(await receiver.next())
    await send_input(EXIT, flow_run_id=greeter_id)
    return greetings


def test_async_flows_await_sends_replies_and_next_as_in_prefect(harness: TestHarness) -> None:
    greeting = harness.start(prefect_style_greeter)
    greeting.wait_for(RunState.WAITING)

    talking = harness.start(prefect_style_sender, greeting.id, ["Ann", "Bob", "Cid"])

    assert talking.result() == ["Hello, Ann!", "Hello, Bob!", "Hello, Cid!"]
    assert greeting.result() is None


@flow
def three_answers() -> None:
    for question in receive_input(str, timeout=3600, with_metadata=True):
        for n in (1, 2, 3):
            question.respond(f"{question.value} #{n}")
        break


@flow
def asker(answerer_id: str) -> list[tuple[str, str | None]]:
    question_key = send_input("why?", answerer_id)
    replies = []
    for reply in receive_input(str, timeout=3600, with_metadata=True):
        replies.append((reply.value, reply.reply_to))
        if len(replies) == 3:
            break
    assert all(to == question_key for _, to in replies)
    return replies


def test_three_replies_to_one_question_all_arrive_correlated(harness: TestHarness) -> None:
    answering = harness.start(three_answers)
    answering.wait_for(RunState.WAITING)

    asking = harness.start(asker, answering.id)

    replies = asking.result()
    assert [text for text, _ in replies] == ["why? #1", "why? #2", "why? #3"]
    [question] = harness.store.messages_of_run(answering.id)
    assert {to for _, to in replies} == {question.key}
    answering.result()


@flow
def breaks_on_a_question() -> None:
    for question in receive_input(str, timeout=3600):
        raise RuntimeError(f"cannot answer {question!r}")


@flow
def waits_for_an_answer(answerer_id: str) -> str:
    send_input("why?", answerer_id)
    try:
        for reply in receive_input(str, timeout=None):
            return str(reply)
    except RunFailed as exc:
        return f"told: {exc.reason}"
    return "no reply"


def test_a_sender_waiting_for_a_receiver_that_failed_is_told(harness: TestHarness) -> None:
    answering = harness.start(breaks_on_a_question)
    answering.wait_for(RunState.WAITING)

    asking = harness.start(waits_for_an_answer, answering.id)

    assert asking.result() == "told: it ended (Failed) without answering"
    with pytest.raises(RuntimeError, match="cannot answer"):
        answering.result()


def test_a_sender_waiting_for_a_cancelled_receiver_is_told(harness: TestHarness) -> None:
    silent = harness.start(collector, 5)
    silent.wait_for(RunState.WAITING)
    asking = harness.start(waits_for_an_answer, silent.id)
    asking.wait_for(RunState.WAITING)
    deadline = time.monotonic() + 10
    while not harness.store.messages_of_run(silent.id):
        assert time.monotonic() < deadline
        time.sleep(0.005)

    service.cancel_run(silent.id, hst=harness.host)

    assert asking.result() == "told: it ended (Cancelled) without answering"


@flow
def finishes_at_once() -> str:
    return "done"


def test_a_question_to_a_run_that_has_already_ended_is_answered_by_a_failure(
    harness: TestHarness,
) -> None:
    ended = harness.start(finishes_at_once)
    assert ended.result() == "done"

    asking = harness.start(waits_for_an_answer, ended.id)

    assert asking.result() == "told: it ended (Completed) without answering"
