"""Decisions look like decisions: which yes/no a wait's form shows as two buttons (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import Field

from tarry import errors
from tarry.engine import input_spec as engine_input_spec
from tarry.forms import decisions
from tarry.forms.fields import FormField, answer_from_form, form_fields
from tarry.input import RunInput, input_spec, validate

PAUSE = decisions.Asked("pause", "pause")


class Decision(RunInput):
    approved: bool = Field(description="Approve or reject the publish.")
    approver: str = Field(min_length=2, description="Kept with the decision.")
    comments: str = Field("", max_length=500)


class Order(RunInput):
    gift: bool = False
    express: bool = False


def _by_name(spec: dict[str, Any], asked: decisions.Asked | None = PAUSE) -> dict[str, FormField]:
    return {f.name: f for f in form_fields(spec, asked=asked)}


def test_approve_is_two_buttons_and_a_comment() -> None:
    spec = engine_input_spec.approval_spec().to_json()
    fields = _by_name(spec, decisions.Asked("publish", "approve:publish"))
    assert fields["value"].widget == "decision"
    assert fields["value"].options == (("true", "Approve"), ("false", "Reject"))
    assert fields["comment"].widget == "textarea"
    assert decisions.comment_field(spec) == "comment"


def test_reject_reads_back_as_false_and_no_button_is_no_answer() -> None:
    spec = engine_input_spec.approval_spec().to_json()
    asked = decisions.Asked("publish", "approve:publish")
    assert answer_from_form(spec, {"value": ["false"]}, asked=asked) == {"value": False}
    assert answer_from_form(spec, {"value": ["true"]}, asked=asked) == {"value": True}
    # A checkbox left out is False; a decision left out is missing (validation says so).
    assert answer_from_form(spec, {}, asked=asked) == {}
    assert answer_from_form(spec, {}) == {"value": False}


def test_a_model_with_an_approved_bool_is_an_approval_with_one_name_field() -> None:
    fields = _by_name(input_spec(Decision).to_json())
    assert fields["approved"].widget == "decision"
    assert [label for _, label in fields["approved"].options] == ["Approve", "Reject"]
    assert fields["approver"].label == "Your name"
    assert fields["approver"].names_responder
    assert decisions.responder_field(input_spec(Decision).to_json()) == "approver"
    assert decisions.comment_field(input_spec(Decision).to_json()) == "comments"


def test_a_plain_bool_is_yes_or_no_unless_its_wait_is_named_an_approval() -> None:
    spec = input_spec(bool).to_json()
    assert _by_name(spec)["value"].options == (("true", "Yes"), ("false", "No"))
    approval = _by_name(spec, decisions.Asked("approval", "any:approval|deadline"))
    assert approval["value"].options == (("true", "Approve"), ("false", "Reject"))


def test_other_bools_and_other_forms_keep_their_checkboxes() -> None:
    assert {f.widget for f in _by_name(input_spec(Order).to_json()).values()} == {"checkbox"}
    # A flow's parameters (no wait asks them) never get decision buttons.
    assert _by_name(input_spec(Decision).to_json(), None)["approved"].widget == "checkbox"
    assert _by_name(input_spec(Decision).to_json(), None)["approver"].label == "Approver"


def test_a_field_can_be_marked_as_the_responders_name() -> None:
    class Handover(RunInput):
        signed: str = Field(json_schema_extra={decisions.RESPONDER_MARK: True})
        responder: str = Field(description="Who acts next")

    spec = input_spec(Handover).to_json()
    assert decisions.responder_field(spec) == "signed"
    assert _by_name(spec)["signed"].label == "Your name"
    assert _by_name(spec)["responder"].label == "Responder"  # a field, not the answerer


class Code(RunInput):
    code: str = Field(
        pattern=r"^[1-9]{7}$",
        description="The code from the finance sheet.",
        json_schema_extra={"error_message": "Seven digits, 1 to 9: no zeroes."},
    )
    ref: str = Field("", pattern=r"^[A-Z]{3}$", description="Three capital letters.")


def test_a_pattern_mismatch_says_the_fields_message_never_the_regex() -> None:
    spec = input_spec(Code)
    with pytest.raises(errors.InputInvalid) as refused:
        validate(spec, {"code": "1230567", "ref": "ab"})
    messages = {e.loc: e.message for e in refused.value.field_errors}
    assert messages == {
        ("code",): "Seven digits, 1 to 9: no zeroes.",  # error_message wins
        ("ref",): "Three capital letters.",  # else the description
    }
    fields = _by_name(spec.to_json())
    assert fields["code"].attrs["data-error-message"] == "Seven digits, 1 to 9: no zeroes."
    assert fields["ref"].attrs["data-error-message"] == "Three capital letters."
    # Checked by the stored schema alone (the model cannot be imported), the same message.
    by_schema = dataclasses.replace(spec, model=None)
    with pytest.raises(errors.InputInvalid) as again:
        validate(by_schema, {"code": "1230567"})
    assert [e.message for e in again.value.field_errors] == ["Seven digits, 1 to 9: no zeroes."]
