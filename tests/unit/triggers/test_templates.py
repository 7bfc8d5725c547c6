"""Action templates: what they can read, values kept whole, and errors as reasons."""

from __future__ import annotations

from typing import Any

import pytest

from tarry.triggers import templates
from tests.unit.triggers.harness import event, flow


def _answered() -> dict[str, Any]:
    seen = event(
        "tarry.input.answered",
        1_700_000_000.0,
        {"tarry.resource.id": "tarry.input.w1", "tarry.resource.name": "approve-invoice"},
        [
            {"tarry.resource.id": "tarry.flow-run.r42", "tarry.resource.role": "flow-run"},
            flow("invoices"),
        ],
        payload={"answer": {"approved": True, "note": "ok"}, "by": "ada"},
    )
    runs = {"r42": {"id": "r42", "name": "brave-otter", "parameters": {"amount": 12}}}
    looked_up: list[str] = []

    def lookup(run_id: str) -> dict[str, Any] | None:
        looked_up.append(run_id)
        return runs.get(run_id)

    values = templates.context(
        seen, {"id": "a1", "name": "continue"}, {"id": "f1", "kind": "triggered"}, lookup
    )
    return {"values": values, "looked_up": looked_up}


def test_a_whole_expression_keeps_its_type_and_text_is_rendered() -> None:
    values = _answered()["values"]
    rendered = templates.render(
        {
            "answer": "{{ event.payload.answer }}",
            "who": "{{ event.payload.by }} answered {{ event.resource.name }}",
            "flow": "{{ flow.name }}",
            "run": "{{ flow_run.name }}",
            "amount": "{{ flow_run.parameters.amount * 2 }}",
            "id": "{{ event.resource['prefect.resource.id'] }}",
            "role": "{{ event.resource_in_role['flow-run'].id }}",
            "kept": {"__prefect_kind": "json", "value": "{{ not rendered }}"},
            "text": {"__prefect_kind": "jinja", "template": "{{ 1 + 1 }}"},
            "plain": ["no template", 3],
        },
        values,
    )
    assert rendered == {
        "answer": {"approved": True, "note": "ok"},
        "who": "ada answered approve-invoice",
        "flow": "invoices",
        "run": "brave-otter",
        "amount": 24,
        "id": "tarry.input.w1",
        "role": "tarry.flow-run.r42",
        "kept": "{{ not rendered }}",
        "text": "2",
        "plain": ["no template", 3],
    }


def test_the_run_is_looked_up_only_when_a_template_reads_it() -> None:
    found = _answered()
    templates.render("{{ event.event }} at {{ event.occurred.year }}", found["values"])
    assert found["looked_up"] == []
    templates.render("{{ flow_run.id }}", found["values"])
    assert found["looked_up"] == ["r42"]


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ nothing.here }}", "'nothing' is undefined"),
        ("Hello {{ event.payload.missing.deeper }}", "has no attribute 'missing'"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% for %}", "template '{% for %}'"),
        ("{{ event.__class__.__mro__ }}", "unsafe|undefined"),
        ("{{ automation.update({'name': 'x'}) }}", "unsafe|not safely callable"),
    ],
)
def test_a_template_that_cannot_render_is_a_value_error(template: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        templates.render({"field": template}, _answered()["values"])


def test_check_refuses_bad_syntax_when_the_automation_is_made() -> None:
    templates.check("{{ event.id }}")
    with pytest.raises(ValueError, match="line 1"):
        templates.check("{{ event.id ")


def test_without_an_event_the_templates_see_the_automation_and_firing() -> None:
    values = templates.context(
        None, {"name": "watch"}, {"kind": "resolved", "metric": {"value": 0.8}}
    )
    text = templates.render_text(
        "{{ automation.name }} {{ firing.kind }} {{ firing.metric.value }}", values
    )
    assert text == "watch resolved 0.8"
    assert values["flow_run"] is None
