"""Automations through the real store: events fire them, their actions run once each."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tarry import deployments, flow, pause_flow_run
from tarry.automation_runtime import ActionRunner, AutomationEvaluator, effects, job, loading
from tarry.input import RunInput
from tarry.states import RunState
from tarry.storage import RunFilter
from tarry.storage import automations as records
from tarry.storage.events import EventRecord
from tarry.testing import TestHarness, tarry_test_harness
from tarry.triggers import parse
from tests.smtp_capture import MailCatcher, body_text
from tests.unit.test_trigger_models import SEED_COMPOUND

WRITE = "prefect.block.remote-file-system.write_path.called"


@flow
def shout(text: str) -> str:
    return text.upper()


@flow(name="train-model")
def train_model(fail: bool) -> str:
    if fail:
        raise RuntimeError("the loss went up")
    return "trained"


class Decision(RunInput):
    note: str


@flow
def invoice(amount: int) -> str:
    answer = pause_flow_run(Decision, timeout=86_400, key="approve")
    return f"{amount}: {answer.note}"


@pytest.fixture
def harness(database_url: str) -> Iterator[TestHarness]:
    """A harness on each store, with the `shout` flow deployed."""
    with tarry_test_harness(fake_clock=True, resident_seconds=0, database_url=database_url) as h:
        deployments.deploy(shout, hst=h.host)
        yield h


def _automation(harness: TestHarness, name: str, trigger: object, actions: list[object]) -> str:
    spec = parse.parse_automation({"name": name, "trigger": trigger, "actions": actions})
    now = harness.clock.now()
    record = loading.to_record(
        spec, automation_id=str(uuid.uuid4()), created_at=now, updated_at=now
    )
    assert harness.store.put_automation(record, create=True)
    # The first round ever starts at the newest event: what came before is history.
    AutomationEvaluator(harness.host).evaluate_once()
    return record.id


def _export(harness: TestHarness, flow_name: str) -> None:
    related = {
        "tarry.resource.id": f"tarry.flow.{flow_name}",
        "tarry.resource.name": flow_name,
        "tarry.resource.role": "flow",
    }
    event = EventRecord(
        id=str(uuid.uuid4()),
        occurred=harness.clock.now(),
        event="tarry.block.remote-file-system.write_path.called",
        resource={"tarry.resource.id": f"tarry.file.{uuid.uuid4()}"},
        related=(related,),
    )
    assert harness.store.add_events([event]) == 1


def _shout_runs(harness: TestHarness) -> list[str]:
    return [r.id for r in harness.store.list_runs(RunFilter(flow_name="shout", limit=100))]


def test_the_seed_compound_fires_once_and_its_deployment_runs_once(harness: TestHarness) -> None:
    automation_id = _automation(
        harness,
        "exports-done",
        json.loads(SEED_COMPOUND),
        [
            {
                "type": "run-deployment",
                "deployment": "shout/shout",
                "parameters": {"text": "{{ automation.name }}"},
            }
        ],
    )
    evaluator, runner = AutomationEvaluator(harness.host), ActionRunner(harness.host)
    _export(harness, "daily-revenue-export")
    evaluator.evaluate_once()
    assert harness.store.firings_of(automation_id) == []
    harness.advance(1800)
    _export(harness, "daily-customer-export")
    evaluator.evaluate_once()
    [(firing, [action])] = harness.store.firings_of(automation_id)
    assert firing.kind == "triggered"
    assert action.status is records.ActionStatus.PENDING

    assert runner.run_due() == 1
    [run_id] = _shout_runs(harness)
    run = harness.store.get_run(run_id)
    assert run is not None
    assert run.state is RunState.PENDING
    assert json.loads(run.parameters) == {"text": "exports-done"}
    [(_, [settled])] = harness.store.firings_of(automation_id)
    assert settled.status is records.ActionStatus.DONE
    assert run_id in settled.detail
    assert runner.run_due() == 0
    # The firing was announced as an event of the automation, before the run it started.
    names = [e.event for e in harness.store.events_after(0, 100)]
    assert names[-2:] == ["tarry.automation.triggered", "tarry.flow-run.Pending"]


def test_one_export_alone_or_another_flows_fires_nothing(harness: TestHarness) -> None:
    automation_id = _automation(
        harness, "exports-done", json.loads(SEED_COMPOUND), [{"type": "do-nothing"}]
    )
    evaluator = AutomationEvaluator(harness.host)
    _export(harness, "daily-revenue-export")
    _export(harness, "daily-revenue-export")
    _export(harness, "someone-else")
    evaluator.evaluate_once()
    harness.advance(3601)
    _export(harness, "daily-customer-export")
    evaluator.evaluate_once()
    assert harness.store.firings_of(automation_id) == []


def test_a_crash_between_acting_and_settling_runs_the_action_again_with_no_second_run(
    harness: TestHarness,
) -> None:
    automation_id = _automation(
        harness,
        "exports-done",
        json.loads(SEED_COMPOUND),
        [{"type": "run-deployment", "deployment": "shout/shout", "parameters": {"text": "once"}}],
    )
    AutomationEvaluator(harness.host).evaluate_once()
    _export(harness, "daily-revenue-export")
    _export(harness, "daily-customer-export")
    AutomationEvaluator(harness.host).evaluate_once()
    [(firing, [row])] = harness.store.firings_of(automation_id)
    action = parse.parse_actions([json.loads(row.action)])[0]
    # The process acted, then died before settling: the row is still pending.
    effects.perform(job.make_job(harness.host, firing, row, action))
    assert len(_shout_runs(harness)) == 1
    assert harness.store.due_actions(harness.clock.now(), 10)

    assert ActionRunner(harness.host).run_due() == 1
    assert len(_shout_runs(harness)) == 1
    [(_, [settled])] = harness.store.firings_of(automation_id)
    assert settled.status is records.ActionStatus.DONE


def test_two_evaluators_never_both_commit_the_same_events(harness: TestHarness) -> None:
    automation_id = _automation(
        harness, "exports-done", json.loads(SEED_COMPOUND), [{"type": "do-nothing"}]
    )
    first, second = AutomationEvaluator(harness.host), AutomationEvaluator(harness.host)
    first.evaluate_once()
    second.evaluate_once()
    _export(harness, "daily-revenue-export")
    _export(harness, "daily-customer-export")
    first.evaluate_once()
    second.evaluate_once()  # its cursor is behind: refused, it reads the state again
    second.evaluate_once()
    assert len(harness.store.firings_of(automation_id)) == 1


def test_continue_on_approval_starts_a_deployment_with_the_answer(harness: TestHarness) -> None:
    _automation(
        harness,
        "continue",
        {
            "expect": ["prefect.input.answered"],
            "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": "invoice"},
        },
        [
            {
                "type": "run-deployment",
                "deployment": "shout/shout",
                "parameters": {"text": "{{ event.payload.answer.note }} by {{ event.payload.by }}"},
            }
        ],
    )
    evaluator, runner = AutomationEvaluator(harness.host), ActionRunner(harness.host)
    waiting = harness.start(invoice, 120)
    waiting.wait_for(RunState.WAITING)
    harness.answer(waiting.id, {"note": "approved"}, responder="ada")
    # PostgreSQL shows an event once every transaction before it ended (the run's
    # replay may still be writing): evaluate until it is seen.
    harness.wait_until(lambda: evaluator.evaluate_once() or harness.store.due_actions(2e9, 1))
    assert runner.run_due() == 1
    [run_id] = _shout_runs(harness)
    harness.start_worker()
    assert harness.wait_for_state(run_id, RunState.COMPLETED).result == json.dumps(
        "APPROVED BY ADA"
    )


def test_a_metric_breach_runs_a_deployment_with_the_flows_name_once(harness: TestHarness) -> None:
    automation_id = _automation(
        harness,
        "training-health",
        {
            "type": "metric",
            "metric": {
                "name": "successes",
                "threshold": 0.7,
                "operator": "<",
                "range": 600,
                "firing_for": 60,
            },
            "match_related": {
                "prefect.resource.role": "flow",
                "prefect.resource.name": ["train-model", "validation-flow"],
            },
        },
        [
            {
                "type": "run-deployment",
                "deployment": "shout/shout",
                "parameters": {"text": "{{ flow.name }}"},
            }
        ],
    )
    evaluator, runner = AutomationEvaluator(harness.host), ActionRunner(harness.host)
    for fail in [True, False, True, True, False, True, False, True, False, True]:
        handle = harness.start(train_model, fail)
        handle.wait_for(RunState.FAILED if fail else RunState.COMPLETED)
    for _ in range(5):
        evaluator.evaluate_once()
        runner.run_due()
        harness.advance(60)
    [(firing, [action])] = harness.store.firings_of(automation_id)
    assert json.loads(firing.context)["metric"]["value"] == pytest.approx(0.4)
    assert action.status is records.ActionStatus.DONE
    [run_id] = _shout_runs(harness)
    run = harness.store.get_run(run_id)
    assert run is not None
    assert json.loads(run.parameters) == {"text": "train-model"}


@pytest.fixture
def mailing(catcher: MailCatcher) -> Iterator[TestHarness]:
    settings = {**catcher.settings(), "resident_seconds": 0}
    with tarry_test_harness(fake_clock=True, **settings) as h:
        yield h


def _reminder(harness: TestHarness) -> None:
    _automation(
        harness,
        "remind",
        {
            "posture": "Proactive",
            "after": ["prefect.input.requested"],
            "expect": ["prefect.input.answered"],
            "for_each": ["prefect.resource.id"],
            "within": 4 * 3600,
        },
        [
            {
                "type": "send-notification",
                "to": ["boss@example.com"],
                "subject": "Still waiting: {{ event.resource.name }}",
                "body": "Run {{ flow_run.name }} waits for {{ event.payload.name }}.",
            }
        ],
    )


def test_a_wait_left_unanswered_for_four_hours_sends_one_reminder(
    mailing: TestHarness, catcher: MailCatcher
) -> None:
    _reminder(mailing)
    evaluator, runner = AutomationEvaluator(mailing.host), ActionRunner(mailing.host)
    waiting = mailing.start(invoice, 120)
    waiting.wait_for(RunState.WAITING)
    evaluator.evaluate_once()
    mailing.advance(4 * 3600 - 1)
    evaluator.evaluate_once()
    assert runner.run_due() == 0
    mailing.advance(1)
    evaluator.evaluate_once()
    assert runner.run_due() == 1
    [mail] = catcher.wait_for(1)
    assert str(mail["Subject"]) == "Still waiting: approve"
    assert f"Run {waiting.run.name} waits for approve." in body_text(mail)
    mailing.advance(8 * 3600)
    evaluator.evaluate_once()
    runner.run_due()
    assert len(catcher.messages) == 1


def test_a_wait_answered_in_time_sends_no_reminder(
    mailing: TestHarness, catcher: MailCatcher
) -> None:
    _reminder(mailing)
    evaluator, runner = AutomationEvaluator(mailing.host), ActionRunner(mailing.host)
    waiting = mailing.start(invoice, 120)
    waiting.wait_for(RunState.WAITING)
    evaluator.evaluate_once()
    mailing.advance(3600)
    mailing.answer(waiting.id, {"note": "fine"})
    mailing.advance(5 * 3600)
    evaluator.evaluate_once()
    assert runner.run_due() == 0
    assert catcher.messages == []


def test_the_daemons_a_worker_starts_act_on_an_event_at_once() -> None:
    with tarry_test_harness(resident_seconds=60, worker_poll_seconds=0.02) as served:
        deployments.deploy(shout, hst=served.host)
        _automation(
            served,
            "exports-done",
            json.loads(SEED_COMPOUND),
            [{"type": "run-deployment", "deployment": "shout/shout", "parameters": {"text": "go"}}],
        )
        served.start_worker()
        _export(served, "daily-revenue-export")
        _export(served, "daily-customer-export")
        served.wait_until(lambda: len(_shout_runs(served)) == 1)
        [run_id] = _shout_runs(served)
        assert served.wait_for_state(run_id, RunState.COMPLETED).result == json.dumps("GO")


def test_a_stored_automation_reads_back_as_it_was_written() -> None:
    spec = parse.parse_automation(
        {
            "name": "exports-done",
            "description": "both exports",
            "trigger": json.loads(SEED_COMPOUND),
            "actions": [{"type": "do-nothing"}],
            "actions_on_resolve": [
                {"type": "send-notification", "to": "a@example.com", "body": "ok"}
            ],
        }
    )
    record = loading.to_record(spec, automation_id="a1", created_at=1.0, updated_at=2.0)
    assert json.loads(record.trigger)["triggers"][0]["expect"] == [
        "tarry.block.remote-file-system.write_path.called"
    ]
    assert loading.spec_of(record) == spec


def test_the_first_round_ever_starts_after_the_stores_history(harness: TestHarness) -> None:
    _export(harness, "daily-revenue-export")
    _export(harness, "daily-customer-export")
    automation_id = _automation(
        harness, "late", json.loads(SEED_COMPOUND), [{"type": "do-nothing"}]
    )
    AutomationEvaluator(harness.host).evaluate_once()
    assert harness.store.firings_of(automation_id) == []
    _export(harness, "daily-revenue-export")
    _export(harness, "daily-customer-export")
    AutomationEvaluator(harness.host).evaluate_once()
    assert len(harness.store.firings_of(automation_id)) == 1
