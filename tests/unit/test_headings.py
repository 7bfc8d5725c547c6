"""What a question is called where people see it: never its journal label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tarry import approve, flow, pause_flow_run, wait_any
from tarry.forms import headings
from tarry.forms.fields import form_fields
from tarry.input import RunInput, input_spec
from tarry.states import RunState
from tarry.testing import RunHandle, TestHarness, tarry_test_harness
from tarry.waits import Input, Timer


def _heading(spec: dict[str, Any] | None, name: str = "pause", label: str = "pause") -> str:
    return headings.heading(spec, name=name, label=label, flow_name="train-model")


def test_a_title_wins_over_everything() -> None:
    spec = {"title": " Training budget ", "description": "## Something else"}
    assert _heading(spec, "approval", "any:approval|deadline") == "Training budget"
    assert headings.prose(spec) == "## Something else"  # a title leaves the description whole


def test_a_leading_markdown_heading_heads_the_form_and_is_not_repeated() -> None:
    spec = {"description": "## Training **budget**\n\nThis run costs **$1,500**."}
    assert _heading(spec, "approval", "approval") == "Training budget"
    assert headings.prose(spec) == "This run costs **$1,500**."


def test_a_one_line_description_is_the_heading() -> None:
    spec = {"description": "What is your *name*?"}
    assert _heading(spec) == "What is your name?"
    assert headings.prose(spec) is None


def test_a_long_description_stays_below_a_heading_made_from_the_name() -> None:
    long = "Approved. Enter the **authorization code** to start training. " * 3
    spec = {"description": long}
    assert _heading(spec, "authorization", "authorization") == "Authorization"
    assert headings.prose(spec) == long
    two_lines = {"description": "First line.\nSecond line."}
    assert _heading(two_lines, "training_budget", "training_budget") == "Training budget"


def test_internal_labels_are_never_headings() -> None:
    assert _heading(None, "pause", "pause") == "train-model is waiting for you"
    assert _heading(None, "suspend", "suspend") == "train-model is waiting for you"
    assert _heading(None, "approval", "any:approval|deadline") == "Approval"
    assert _heading(None, "publish", "approve:publish") == "Approve: publish"
    assert _heading(None, "shirt-size", "input:shirt-size") == "Shirt size"


def test_a_plain_input_is_labelled_your_answer_and_a_model_field_keeps_its_title() -> None:
    (plain,) = form_fields(input_spec(str).to_json())
    assert plain.label == "Your answer"

    class Name(RunInput):
        value: str

    (field,) = form_fields(input_spec(Name).to_json())
    assert field.label == "Value"  # a model's own field named `value` is left alone


@flow
def asks_plainly() -> str:
    answer: str = pause_flow_run(str)
    return answer


@flow
def asks_with_titles() -> list[Any]:
    name = pause_flow_run(str, key="name", title="Who are you?")
    spec, value = wait_any(Input("approval", bool, title="Ship it?"), Timer(3600, "deadline"))
    shipped = approve("shipped", "release", title="Release v2")
    return [name, value, shipped, spec.name]


@flow
def titles_a_bare_pause() -> None:
    pause_flow_run(title="Go ahead?")


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(resident_seconds=3600) as found:
        yield found


def _open_spec(harness: TestHarness, run: RunHandle, name: str) -> dict[str, Any]:
    def found() -> list[Any]:
        return [w for w in run.waits() if w.name == name and w.status.value == "open"]

    harness.wait_until(found)
    (wait,) = found()
    assert wait.spec is not None
    spec: dict[str, Any] = json.loads(wait.spec)
    return spec


def test_titles_are_stored_with_the_input_spec(harness: TestHarness) -> None:
    run = harness.start(asks_with_titles)
    assert _open_spec(harness, run, "name")["title"] == "Who are you?"
    harness.answer(run.id, "Ann", key="name")
    assert _open_spec(harness, run, "approval")["title"] == "Ship it?"
    harness.answer(run.id, True, key="approval")
    spec = _open_spec(harness, run, "release")
    assert spec["title"] == "Release v2"
    assert set(spec["schema"]["properties"]) == {"value", "comment"}
    harness.answer(run.id, {"value": True, "comment": "looks good"}, key="release")
    assert run.result() == ["Ann", True, "shipped", "approval"]


def test_a_wait_without_a_title_is_stored_as_before(harness: TestHarness) -> None:
    run = harness.start(asks_plainly)
    assert "title" not in _open_spec(harness, run, "pause")
    harness.answer(run.id, "Approve")
    assert run.result() == "Approve"


def test_a_title_on_a_wait_without_input_is_refused(harness: TestHarness) -> None:
    run = harness.start(titles_a_bare_pause)
    run.wait_for(RunState.FAILED)
    assert "title= heads the form of a wait that asks for input" in str(run.run.error)
