"""Automations through the one door (`automation_service`) and in Python (`Automation`).

On a real SQLite store (and PostgreSQL for the door's round trip): what is stored,
what is refused with which field, and the events each change announces.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import automation_service, errors
from tarry.automations import Automation, CompoundTrigger, DoNothing, EventTrigger, RunDeployment
from tarry.storage import automations
from tarry.storage.events import EventFilter
from tarry.testing import TestHarness, tarry_test_harness

SEED = json.loads(
    (Path(__file__).parents[2] / "examples/automations/daily-exports.json").read_text()
)


@pytest.fixture
def harness(database_url: str) -> Iterator[TestHarness]:
    with tarry_test_harness(database_url=database_url) as made:
        yield made


def _events(harness: TestHarness) -> list[str]:
    found = harness.host.store.list_events(EventFilter(names=("tarry.automation.*",)))
    return [e.event for e in reversed(found)]


def test_the_seed_document_is_stored_with_tarry_names_and_read_back(
    harness: TestHarness,
) -> None:
    made = automation_service.create_automation(SEED, hst=harness.host)
    trigger = json.loads(made.record.trigger)
    assert trigger["type"] == "compound"
    assert trigger["within"] == 3600.0
    related = trigger["triggers"][0]["match_related"]
    assert related == {
        "tarry.resource.name": "daily-customer-export",
        "tarry.resource.role": "flow",
    }
    assert trigger["triggers"][0]["expect"] == ["tarry.block.remote-file-system.write_path.called"]
    by_name = automation_service.get_automation(SEED["name"], hst=harness.host)
    assert by_name.id == made.id
    assert by_name.summary == "compound: all of 2 within 1h"
    assert _events(harness) == ["tarry.automation.created"]


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"actions": [{"type": "launch-rocket"}]}, ("actions", 0), "launch-rocket"),
        ({"trigger": {"type": "event", "within": -1}}, ("trigger", "event", "within"), "0 seconds"),
        ({"trigger": {"type": "event", "threshold": 0}}, ("trigger", "event", "threshold"), "1 or"),
        (
            {"actions": [{"type": "send-notification", "block_document_id": "x", "body": "b"}]},
            ("actions", 0, "send-notification"),
            "blocks",
        ),
    ],
)
def test_a_bad_document_names_its_field_and_stores_nothing(
    harness: TestHarness, change: dict[str, object], loc: tuple[object, ...], words: str
) -> None:
    with pytest.raises(errors.AutomationInvalid) as caught:
        automation_service.create_automation({**SEED, **change}, hst=harness.host)
    fields = caught.value.field_errors
    assert any(f.loc[: len(loc)] == loc and words in f.message for f in fields), fields
    assert harness.host.store.list_automations() == []
    assert _events(harness) == []


def test_unreadable_text_is_invalid_in_one_line(harness: TestHarness) -> None:
    with pytest.raises(errors.AutomationInvalid, match="neither JSON nor YAML"):
        automation_service.create_automation("{: nope", hst=harness.host)


def test_names_are_unique_and_a_missing_one_is_not_found(harness: TestHarness) -> None:
    automation_service.create_automation(SEED, hst=harness.host)
    with pytest.raises(errors.AutomationNameTaken):
        automation_service.create_automation(SEED, hst=harness.host)
    with pytest.raises(errors.AutomationNotFound, match="nobody"):
        automation_service.get_automation("nobody", hst=harness.host)
    with pytest.raises(errors.AutomationNotFound):
        automation_service.delete_automation("no\x00body", hst=harness.host)


def test_update_enable_disable_delete_announce_each_change(harness: TestHarness) -> None:
    made = automation_service.create_automation(SEED, hst=harness.host)
    renamed = {**SEED, "name": "exports-done", "enabled": False}
    changed = automation_service.update_automation(made.id, renamed, hst=harness.host)
    assert (changed.id, changed.name, changed.record.enabled) == (made.id, "exports-done", False)
    assert changed.record.created_at == made.record.created_at
    automation_service.set_enabled("exports-done", False, hst=harness.host)  # no change
    automation_service.set_enabled("exports-done", True, hst=harness.host)
    automation_service.delete_automation(made.id, hst=harness.host)
    assert harness.host.store.list_automations() == []
    assert _events(harness) == [
        "tarry.automation.created",
        "tarry.automation.updated",
        "tarry.automation.disabled",
        "tarry.automation.enabled",
        "tarry.automation.deleted",
    ]
    event = harness.host.store.list_events(EventFilter(names=("tarry.automation.deleted",)))[0]
    assert event.resource["tarry.resource.id"] == f"tarry.automation.{made.id}"
    assert event.resource["tarry.resource.name"] == "exports-done"


def test_firings_are_read_with_their_actions_newest_first(harness: TestHarness) -> None:
    made = automation_service.create_automation(SEED, hst=harness.host)
    store = harness.host.store
    for n in (1, 2):
        firing = automations.FiringRecord(
            f"f{n}", made.id, 100.0 * n, "triggered", "", '{"event":"x"}', "{}"
        )
        action = automations.ActionRecord(f"f{n}", 0, '{"type":"do-nothing"}')
        state = store.evaluator_state()
        commit = automations.EvaluationCommit(
            state.cursor, state.cursor, firings=[(firing, [action])], commits_before=state.commits
        )
        assert store.commit_evaluation(commit)
    store.settle_action("f2", 0, automations.ActionStatus.DONE, "nothing to do", at=201.0)
    found = automation_service.firings_of(SEED["name"], hst=harness.host)
    assert [f.record.id for f in found] == ["f2", "f1"]
    assert found[0].actions[0].status == automations.ActionStatus.DONE
    assert found[0].triggering_event == {"event": "x"}
    assert automation_service.get_automation(made.id, hst=harness.host).last_fired == 200.0
    automation_service.delete_automation(made.id, hst=harness.host)
    assert len(automation_service.firings_of(made.id, hst=harness.host)) == 2  # history stays


def test_summaries_say_each_trigger_in_words() -> None:
    summary = automation_service.trigger_summary
    assert summary(EventTrigger(expect={"tarry.flow-run.Failed"})) == "event: tarry.flow-run.Failed"
    proactive = EventTrigger(
        after={"tarry.input.requested"},
        expect={"tarry.input.answered"},
        posture="Proactive",
        within=datetime.timedelta(hours=4),
        for_each={"tarry.resource.id"},
    )
    assert summary(proactive) == (
        "event (proactive): fewer than 1 x tarry.input.answered within 4h "
        "after tarry.input.requested for each tarry.resource.id"
    )
    compound = CompoundTrigger(
        require=1, triggers=[EventTrigger(), EventTrigger()], within=datetime.timedelta(seconds=90)
    )
    assert summary(compound) == "compound: 1 of 2 within 1m30s"
    metric = automation_service.validate(
        {
            "name": "m",
            "trigger": {
                "posture": "Metric",
                "metric": {"name": "successes", "threshold": 0.7, "operator": "<", "range": 600,
                           "firing_for": 60},
            },
            "actions": [{"type": "do-nothing"}],
        }
    )  # fmt: skip
    assert summary(metric.trigger) == "metric: successes < 70% over 10m for 1m"


# -- Automation, Prefect's Python face ---------------------------------------------------------


def _automation() -> Automation:
    return Automation(
        name="rerun",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"}, threshold=2, within=datetime.timedelta(minutes=10)
        ),
        actions=[RunDeployment(deployment="etl/nightly", parameters={"why": "{{ event.event }}"})],
    )


def test_an_automation_is_created_read_listed_updated_and_deleted(harness: TestHarness) -> None:
    made = _automation().create(hst=harness.host)
    assert made.id is not None
    read = Automation.read(name="rerun", hst=harness.host)
    assert read == made
    assert read.trigger.expect == {"tarry.flow-run.Failed"}  # type: ignore[union-attr]
    assert Automation.read(id=made.id, hst=harness.host).name == "rerun"
    read.description = "rerun the nightly after two failures"
    read.actions = [DoNothing()]
    read.update(hst=harness.host)
    assert Automation.read(id=made.id, hst=harness.host).actions == [DoNothing()]
    assert read.disable(hst=harness.host)
    assert Automation.list(hst=harness.host)[0].enabled is False
    assert read.enable(hst=harness.host)
    assert read.delete(hst=harness.host)
    assert not read.delete(hst=harness.host)
    assert Automation.list(hst=harness.host) == []
    with pytest.raises(ValueError, match="no automation"):
        Automation.read(name="rerun", hst=harness.host)


def test_read_needs_one_of_id_and_name(harness: TestHarness) -> None:
    with pytest.raises(ValueError, match="one of"):
        Automation.read(hst=harness.host)


def test_the_async_twins_share_the_core(harness: TestHarness) -> None:
    async def main() -> list[str]:
        made = await _automation().acreate(hst=harness.host)
        assert await made.adisable(hst=harness.host)
        read = await Automation.aread(id=made.id, hst=harness.host)
        names = [a.name for a in await Automation.alist(hst=harness.host)]
        assert await read.adelete(hst=harness.host)
        return [*names, str(read.enabled)]

    assert asyncio.run(main()) == ["rerun", "False"]
