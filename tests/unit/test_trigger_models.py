"""Trigger and action models: Prefect's documents read as they are, bad ones refused clearly."""

from __future__ import annotations

import datetime
import json

import pydantic
import pytest

from tarry.triggers import actions, labels, models, parse

#: Seed 003's "Composite triggers - example JSON", verbatim.
SEED_COMPOUND = """
{
  "type": "compound",
  "require": "all",
  "within": 3600,
  "triggers": [
    {
      "type": "event",
      "posture": "Reactive",
      "expect": ["prefect.block.remote-file-system.write_path.called"],
      "match_related": {
        "prefect.resource.name": "daily-customer-export",
        "prefect.resource.role": "flow"
      }
    },
    {
      "type": "event",
      "posture": "Reactive",
      "expect": ["prefect.block.remote-file-system.write_path.called"],
      "match_related": {
        "prefect.resource.name": "daily-revenue-export",
        "prefect.resource.role": "flow"
      }
    }
  ]
}
"""


def test_the_seed_compound_json_is_read_with_tarry_names() -> None:
    trigger = parse.parse_trigger(SEED_COMPOUND)
    assert isinstance(trigger, models.CompoundTrigger)
    assert trigger.required == 2
    assert trigger.within == datetime.timedelta(hours=1)
    first = trigger.triggers[0]
    assert isinstance(first, models.EventTrigger)
    assert first.expect == {"tarry.block.remote-file-system.write_path.called"}
    assert first.match_related == models.ResourceSpecification(
        {"tarry.resource.name": "daily-customer-export", "tarry.resource.role": "flow"}
    )


def test_a_trigger_round_trips_through_its_json_with_seconds() -> None:
    trigger = parse.parse_trigger(SEED_COMPOUND)
    dumped = json.loads(pydantic.TypeAdapter(models.TriggerTypes).dump_json(trigger))
    assert dumped["within"] == 3600.0
    assert dumped["triggers"][1]["within"] == 0.0
    assert parse.parse_trigger(dumped) == trigger


def test_a_yaml_automation_is_read_with_tarry_names() -> None:
    spec = parse.parse_automation(
        "name: w\ntrigger:\n  type: compound\n  require: any\n  triggers:\n"
        "    - expect: ['prefect.flow-run.Running']\n"
        "      for_each: ['related:flow:prefect.resource.name']\n"
        "actions:\n  - type: do-nothing\n"
    )
    child = spec.trigger.triggers[0]  # type: ignore[union-attr]
    assert isinstance(child, models.EventTrigger)
    assert child.for_each == {"related:flow:tarry.resource.name"}
    assert child.expect == {"tarry.flow-run.Running"}


def test_a_metric_trigger_is_inferred_from_its_posture() -> None:
    trigger = parse.parse_trigger(
        {
            "posture": "Metric",
            "metric": {"name": "successes", "threshold": 0.7, "operator": "<", "range": 600},
            "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": ["a"]},
        }
    )
    assert isinstance(trigger, models.MetricTrigger)
    assert trigger.metric.range == datetime.timedelta(minutes=10)
    assert trigger.metric.firing_for == datetime.timedelta(minutes=5)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "event", "within": -1}, "`within` must be 0 seconds or more"),
        ({"type": "event", "threshold": 0}, "`threshold` must be 1 or more"),
        ({"type": "bogus"}, "'event', 'metric', 'compound', 'sequence'"),
        ({"type": "event", "whithin": 5}, "Extra inputs are not permitted"),
        ({"posture": "Proactive", "within": 5}, "10 seconds or more"),
        (
            {"type": "compound", "require": 3, "triggers": [{}, {}]},
            "`require` is 3 but there are only 2 triggers",
        ),
        ({"type": "compound", "require": 0, "triggers": [{}]}, "`require` must be 1 or more"),
        ({"type": "sequence", "triggers": []}, "at least one trigger"),
        ({"type": "sequence", "within": -5, "triggers": [{}]}, "`within` must be 0 seconds"),
        (
            {
                "posture": "Metric",
                "metric": {"name": "duration", "threshold": 1, "operator": "<", "range": 60},
            },
            "300 seconds",
        ),
        (
            {
                "posture": "Metric",
                "metric": {"name": "successes", "threshold": 70, "operator": "<"},
            },
            "0.7 for 70 %",
        ),
        (
            {
                "type": "sequence",
                "triggers": [
                    {
                        "posture": "Metric",
                        "metric": {"name": "duration", "threshold": 1, "operator": ">"},
                    }
                ],
            },
            "cannot be part of a compound or sequence",
        ),
    ],
)
def test_a_bad_trigger_is_refused_with_its_reason(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        parse.parse_trigger(document)


def test_a_proactive_trigger_without_a_window_gets_ten_seconds() -> None:
    trigger = models.EventTrigger(posture="Proactive", expect={"a"})
    assert trigger.within == datetime.timedelta(seconds=10)


def test_actions_read_prefect_and_tarry_fields() -> None:
    read = parse.parse_actions(
        [
            {
                "type": "run-deployment",
                "source": "selected",
                "deployment_id": "etl/nightly",
                "parameters": {"flow": "{{ flow.name }}"},
                "job_variables": {},
            },
            {"type": "cancel-flow-run"},
            {"type": "change-flow-run-state", "state": "failed", "message": "stuck"},
            {"type": "send-notification", "to": "ops@example.com", "body": "hi"},
            {"type": "pause-work-queue", "work_queue": "default/urgent"},
            {"type": "resume-automation", "source": "inferred"},
        ]
    )
    run, cancel, change, notify, queue, automation = read
    assert isinstance(run, actions.RunDeployment)
    assert run.deployment_name == "etl/nightly"
    assert isinstance(cancel, actions.CancelFlowRun)
    assert cancel.source == "inferred"
    assert isinstance(change, actions.ChangeFlowRunState)
    assert change.state == "Failed"
    assert isinstance(notify, actions.SendNotification)
    assert notify.to == ["ops@example.com"]
    assert isinstance(queue, actions.PauseWorkQueue)
    assert queue.queue_name == "default/urgent"
    assert isinstance(automation, actions.ResumeAutomation)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"type": "launch-rocket"},
            "'run-deployment'.*'do-nothing'|'do-nothing'.*'run-deployment'",
        ),
        ({"type": "send-notification", "block_document_id": "3f2a", "body": "x"}, "give `to`"),
        ({"type": "call-webhook", "block_document_id": "3f2a"}, "give `url` instead"),
        ({"type": "send-notification", "body": "x"}, "needs `to`"),
        ({"type": "send-notification", "to": ["ops"], "body": "x"}, "neither a mail address"),
        ({"type": "run-deployment"}, "needs `deployment` or `deployment_id`"),
        ({"type": "run-deployment", "source": "inferred", "deployment": "a"}, "leave out"),
        ({"type": "pause-work-queue", "work_queue": "urgent"}, "`<pool>/<queue>`"),
        ({"type": "change-flow-run-state", "state": "Dancing"}, "`state` must be one of"),
    ],
)
def test_a_bad_action_is_refused_with_its_reason(action: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        parse.parse_actions([action])


def test_an_automation_document_drops_export_fields_and_needs_an_action() -> None:
    spec = parse.parse_automation(
        {
            "id": "x",
            "tags": [],
            "name": "a",
            "trigger": {"expect": ["x"]},
            "actions": [{"type": "do-nothing"}],
        }
    )
    assert spec.enabled
    assert spec.trigger.type == "event"
    with pytest.raises(pydantic.ValidationError, match="at least one action"):
        parse.parse_automation({"name": "a", "trigger": {}, "actions": []})
    many = parse.parse_automations(
        {
            "automations": [
                spec.model_dump(mode="json"),
                {**spec.model_dump(mode="json"), "name": "b"},
            ]
        }
    )
    assert [each.name for each in many] == ["a", "b"]


def test_unreadable_text_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="neither JSON nor YAML"):
        parse.load_document("{unclosed: [")


@pytest.mark.parametrize(
    ("expected", "value", "fits"),
    [
        ("a", "a", True),
        ("a", "b", False),
        ("tarry.flow-run.*", "tarry.flow-run.123", True),
        ("tarry.flow-run.*", "tarry.flow.x", False),
        ("!a", "b", True),
        ("!a", "a", False),
        ("!tarry.flow.*", "tarry.flow.x", False),
        ("!a", None, False),
    ],
)
def test_values_match_as_prefect_matches_them(expected: str, value: str | None, fits: bool) -> None:
    assert labels.matches(expected, value) is fits


def test_a_resource_specification_needs_every_label_and_any_listed_value() -> None:
    spec = models.ResourceSpecification(
        {"prefect.resource.id": ["prefect.flow-run.*"], "tarry.resource.name": ["a", "b"]}
    )
    assert spec.root["tarry.resource.id"] == ["tarry.flow-run.*"]
    assert spec.matches({"tarry.resource.id": "tarry.flow-run.1", "tarry.resource.name": "b"})
    assert not spec.matches({"tarry.resource.id": "tarry.flow-run.1", "tarry.resource.name": "c"})
    assert not spec.matches({"tarry.resource.name": "a"})
    assert models.ResourceSpecification({}).matches({})


def test_for_each_labels_read_the_resource_or_a_related_one() -> None:
    resource = {"tarry.resource.id": "tarry.flow-run.1"}
    related = [{"tarry.resource.role": "flow", "tarry.resource.name": "etl"}]
    assert labels.resource_label("tarry.resource.id", resource, related) == "tarry.flow-run.1"
    assert labels.resource_label("related:flow:tarry.resource.name", resource, related) == "etl"
    assert labels.resource_label("related:tag:tarry.resource.name", resource, related) is None


def test_an_action_template_that_cannot_compile_is_refused_when_made() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"actions\[1\] \(send-notification\)"):
        parse.parse_automation(
            {
                "name": "a",
                "trigger": {"expect": ["x"]},
                "actions": [
                    {"type": "do-nothing"},
                    {"type": "send-notification", "to": "a@example.com", "body": "{{ event.id "},
                ],
            }
        )
