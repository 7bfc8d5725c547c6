"""Values stored by earlier versions name classes by their old `module:qualname`.

`serialization` stores dataclasses and pydantic models by their class's module. When
a class moves into `tarry.engine`, the public module it came from keeps it importable,
so a document stored before the move decodes to the same class, and the class keeps
the public `__module__`, so what is stored after the move is written as before.
"""

from __future__ import annotations

import json

import pytest

from tarry import input as input_module
from tarry import loader, messaging, serialization, waits

# Written out as an earlier version stored them: each names the class by its old path.
STORED_INPUT = (
    '{"__tarry__":"dataclass","type":"tarry.waits:Input","fields":{"name":"approve",'
    '"expected_type":null,"timeout":60,"on_timeout":"fail","notify":null}}'
)
STORED_TIMER = (
    '{"__tarry__":"dataclass","type":"tarry.waits:Timer",'
    '"fields":{"duration":5.0,"name":"deadline"}}'
)
STORED_MESSAGE = (
    '{"__tarry__":"dataclass","type":"tarry.messaging:Message","fields":{"value":"hi",'
    '"key":"k-1","sent_at":1700000000.5,"sender":"ops","sender_run_id":"run-1",'
    '"reply_to":null}}'
)
STORED_INPUT_SPEC = (
    '{"__tarry__":"dataclass","type":"tarry.input:InputSpec","fields":{"schema":{"type":'
    '"object"},"description":null,"initial":{},"unwrap":false,"model_ref":null,'
    '"model":null,"value_type_ref":null}}'
)
STORED_RUN_INPUT = '{"__tarry__":"model","type":"tarry.input:RunInput","data":{}}'


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (STORED_INPUT, waits.Input("approve", None, 60, "fail", None)),
        (STORED_TIMER, waits.Timer(5.0, "deadline")),
        (
            STORED_MESSAGE,
            messaging.Message("hi", "k-1", 1700000000.5, "ops", "run-1", None),
        ),
        (
            STORED_INPUT_SPEC,
            input_module.InputSpec({"type": "object"}, None, {}, False, None),
        ),
        (STORED_RUN_INPUT, input_module.RunInput()),
    ],
)
def test_a_value_stored_under_an_old_path_decodes_to_the_same_class(
    stored: str, expected: object
) -> None:
    value = serialization.loads(stored)
    assert type(value) is type(expected)
    assert value == expected


@pytest.mark.parametrize(
    "value",
    [
        waits.Input("approve", None, 60, "fail", None),
        waits.Timer(5.0, "deadline"),
        messaging.Message("hi", "k-1", 1700000000.5, "ops", "run-1", None),
        input_module.InputSpec({"type": "object"}, None, {}, False, None),
    ],
)
def test_a_value_stored_now_names_the_public_path_as_before(value: object) -> None:
    stored = serialization.dumps(value)
    public = {"Input": "tarry.waits", "Timer": "tarry.waits", "Message": "tarry.messaging"}
    assert (
        json.loads(stored)["type"]
        == f"{public.get(type(value).__name__, 'tarry.input')}:{type(value).__name__}"
    )
    back = serialization.loads(stored)
    assert type(back) is type(value)
    assert back == value


def test_the_old_and_the_new_paths_name_the_same_classes() -> None:
    for old, new in [
        ("tarry.waits:Input", "tarry.engine.waiting:Input"),
        ("tarry.waits:Timer", "tarry.engine.waiting:Timer"),
        ("tarry.waits:WaitSpec", "tarry.engine.waiting:WaitSpec"),
        ("tarry.messaging:Message", "tarry.engine.mailbox:Message"),
        ("tarry.input:InputSpec", "tarry.engine.input_spec:InputSpec"),
    ]:
        assert loader.load_object(old) is loader.load_object(new)


def test_a_stored_wait_any_outcome_decodes_with_its_spec() -> None:
    # What a flow returning `wait_any(...)`'s pair stored: the winning spec and its value.
    stored = json.dumps({"__tarry__": "tuple", "items": [json.loads(STORED_TIMER), None]})
    spec, value = serialization.loads(stored)
    assert isinstance(spec, waits.Timer)
    assert (spec, value) == (waits.Timer(5.0, "deadline"), None)


def test_a_stored_message_keeps_its_verbs() -> None:
    message = serialization.loads(STORED_MESSAGE)
    assert isinstance(message, messaging.Message)
    assert message.metadata == messaging.RunInputMetadata(
        "k-1", "ops", sender_run_id="run-1", sent_at=1700000000.5
    )
