"""Prefect 3's `RunInput` verbs: `.metadata`, `.respond`, `send_to`, their async twins, `anext`.

As in Prefect's `prefect.input.run_input`: a received `RunInput` carries `metadata`
(`key`, `sender`, `receiver`) and answers its sender with `respond(run_input,
sender=, key_prefix=)` (`arespond` in async code); `send_to(flow_run_id, sender=,
key_prefix=)` and `asend_to` send one; `asend_input` is the async `send_input`; a
receiver is its own iterator (`next(receiver)`, `await anext(receiver)`,
`await receiver.anext()`), and `RunInput.receive(poll_interval=)` is accepted.
"""

from __future__ import annotations

import asyncio

import pytest

import tarry
from tarry import flow, runtime
from tarry.input import RunInput, RunInputMetadata, asend_input, receive_input, send_input
from tarry.messaging import Message
from tarry.states import RunState
from tarry.testing import TestHarness


class Question(RunInput):
    text: str


class Answer(RunInput):
    text: str


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@flow
def answers_one() -> list[str | None]:
    for question in Question.receive(timeout=None, poll_interval=0.1):
        metadata = question.metadata
        assert isinstance(metadata, RunInputMetadata)
        assert metadata.receiver == runtime.flow_run.id
        question.respond(Answer(text=question.text.upper()), sender="answerer")
        return [metadata.key, metadata.sender, metadata.sender_run_id]
    return []


@flow
def asks(answerer_id: str) -> list[str | None]:
    key = Question(text="why?").send_to(answerer_id, sender="asker")
    for answer in Answer.receive(timeout=None):
        assert answer.metadata is not None
        return [key, answer.text, answer.metadata.sender, answer.metadata.reply_to]
    return []


def test_a_received_run_input_knows_its_sender_and_answers_it(harness: TestHarness) -> None:
    answering = harness.start(answers_one)
    answering.wait_for(RunState.WAITING)

    asking = harness.start(asks, answering.id)

    key, text, answered_by, reply_to = asking.result()
    assert (text, answered_by, reply_to) == ("WHY?", "answerer", key)
    assert answering.result() == [key, "asker", asking.id]


@flow
def answers_under_a_prefix() -> None:
    for question in receive_input(Question, timeout=None):
        question.respond(Answer(text="prefixed"), key_prefix="verdict")
        question.respond(Answer(text="plain"))
        return


@flow
def asks_and_takes_one_prefixed(answerer_id: str) -> list[str]:
    Question(text="?").send_to(answerer_id)
    for answer in Answer.receive(timeout=None, key_prefix="verdict"):
        first = answer.text
        break
    plain = next(Answer.receive(timeout=None))
    return [first, plain.text]


def test_respond_with_a_key_prefix_reaches_only_that_prefix(harness: TestHarness) -> None:
    answering = harness.start(answers_under_a_prefix)
    answering.wait_for(RunState.WAITING)

    asking = harness.start(asks_and_takes_one_prefixed, answering.id)

    assert asking.result() == ["prefixed", "plain"]
    answering.result()


@flow
def sends_under_a_prefix(receiver_id: str) -> None:
    Question(text="routed").send_to(receiver_id, None, "desk-2")
    send_input("plain words", receiver_id, key_prefix="desk-2")
    send_input("in Prefect's order", receiver_id, None, "desk-2")  # a prefix, not a key


@flow
def reads_one_desk() -> list[str]:
    receiver = receive_input(None, timeout=None, key_prefix="desk-2", with_metadata=True)
    first: Message[dict[str, str]] = next(receiver)
    second: Message[str] = next(receiver)
    third: Message[str] = next(receiver)
    return [first.value["text"], second.value, third.value, first.key.split("-")[0]]


def test_send_to_and_send_input_take_a_key_prefix_as_their_third_and_fourth_argument(
    harness: TestHarness,
) -> None:
    reading = harness.start(reads_one_desk)
    reading.wait_for(RunState.WAITING)

    harness.start(sends_under_a_prefix, reading.id).result()

    assert reading.result() == ["routed", "plain words", "in Prefect's order", "desk"]


@flow
async def async_answerer() -> int:
    answered = 0
    async for question in Question.receive(timeout=None):
        if question.text == "bye":
            break
        await question.arespond(Answer(text=f"re: {question.text}"))
        answered += 1
    return answered


@flow
async def async_asker(answerer_id: str) -> list[str]:
    answers = Answer.receive(timeout=None)
    await Question(text="one").asend_to(answerer_id)
    first = await anext(answers)
    await asend_input(Question(text="two"), answerer_id)
    second = await answers.anext()
    await Question(text="bye").asend_to(answerer_id)
    return [first.text, second.text]


def test_async_twins_send_respond_and_receive_as_in_prefect(harness: TestHarness) -> None:
    answering = harness.start(async_answerer)
    answering.wait_for(RunState.WAITING)

    asking = harness.start(async_asker, answering.id)

    assert asking.result() == ["re: one", "re: two"]
    assert answering.result() == 2


@flow
def greets_through_a_message() -> str:
    for message in receive_input(str, timeout=None, with_metadata=True):
        message.respond(f"hello {message.value}", sender="greeter")
        return str(message.metadata.key)
    return ""


@flow
async def awaits_the_greeting(greeter_id: str) -> list[str | None]:
    key = await tarry.asend_input("ann", greeter_id)
    receiver = receive_input(str, timeout=None, with_metadata=True)
    reply = await receiver.anext()
    return [reply.value, reply.metadata.sender, reply.metadata.reply_to == key]


def test_messages_with_metadata_respond_and_say_who_answered(harness: TestHarness) -> None:
    greeting = harness.start(greets_through_a_message)
    greeting.wait_for(RunState.WAITING)

    asking = harness.start(awaits_the_greeting, greeting.id)

    assert asking.result() == ["hello ann", "greeter", True]
    assert greeting.result() == harness.store.messages_of_run(greeting.id)[0].key


def test_asend_input_sends_from_async_code_outside_flows(harness: TestHarness) -> None:
    reading = harness.start(reads_one_desk)
    reading.wait_for(RunState.WAITING)

    async def main() -> None:
        await asend_input(
            {"text": "from a script"}, reading.id, key_prefix="desk-2", hst=harness.host
        )
        await asend_input("second", reading.id, key_prefix="desk-2", hst=harness.host)
        await asend_input("third", reading.id, None, "desk-2", hst=harness.host)

    asyncio.run(main())

    assert reading.result() == ["from a script", "second", "third", "desk"]


@flow
async def iterates_without_await() -> str:
    try:
        for _ in receive_input(str, timeout=None):
            return "received"
    except TypeError as exc:
        return str(exc)
    return ""


def test_a_sync_for_in_an_async_flow_says_to_use_async_for(harness: TestHarness) -> None:
    run = harness.start(iterates_without_await)

    assert run.result() == "in an async def flow, receive with `async for` (or await .next())"
