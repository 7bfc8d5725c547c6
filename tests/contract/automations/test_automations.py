"""Contract: automations are stored by id with unique names, enabled and disabled, deleted."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.storage import automations
from tests.contract.automations.support import at_once, automation, evaluation, firing
from tests.contract.support import T0

if TYPE_CHECKING:
    from tarry.storage.port_automations import AutomationStore


def test_an_automation_is_created_once_and_read_by_id_or_name(store: AutomationStore) -> None:
    made = automation("a1", "late-approvals", description="nudges", enabled=False)
    assert store.put_automation(made, create=True)
    assert not store.put_automation(dataclasses.replace(made, description="again"), create=True)

    assert store.get_automation("a1") == made
    assert store.get_automation("late-approvals") == made
    assert store.get_automation("nope") is None


def test_an_update_replaces_the_fields_but_keeps_created_at(store: AutomationStore) -> None:
    store.put_automation(automation("a1", "first"), create=True)
    changed = dataclasses.replace(
        automation("a1", "renamed", trigger='{"type": "event", "expect": ["x"]}'),
        actions='[{"type": "do-nothing"}]',
        created_at=T0 + 99,
        updated_at=T0 + 5,
    )
    assert store.put_automation(changed, create=False)
    assert not store.put_automation(automation("missing", "other"), create=False)

    found = store.get_automation("a1")
    assert found == dataclasses.replace(changed, created_at=T0)
    assert store.get_automation("first") is None
    assert store.get_automation("missing") is None


def test_automations_are_listed_by_name(store: AutomationStore) -> None:
    for automation_id, name in [("1", "zeta"), ("2", "alpha"), ("3", "mid")]:
        store.put_automation(automation(automation_id, name), create=True)
    assert [a.name for a in store.list_automations()] == ["alpha", "mid", "zeta"]


def test_a_second_automation_of_the_same_name_is_refused(store: AutomationStore) -> None:
    store.put_automation(automation("a1", "nightly"), create=True)
    store.put_automation(automation("a2", "weekly"), create=True)

    with pytest.raises(errors.AutomationNameTaken, match="'nightly'") as taken:
        store.put_automation(automation("a3", "nightly"), create=True)
    assert taken.value.name == "nightly"
    with pytest.raises(errors.AutomationNameTaken):
        store.put_automation(automation("a2", "nightly"), create=False)

    assert store.get_automation("a3") is None
    assert [(a.id, a.name) for a in store.list_automations()] == [
        ("a1", "nightly"),
        ("a2", "weekly"),
    ]


def test_a_missing_or_existing_id_says_false_before_the_name_is_checked(
    store: AutomationStore,
) -> None:
    store.put_automation(automation("a1", "nightly"), create=True)
    store.put_automation(automation("a2", "weekly"), create=True)

    assert not store.put_automation(automation("a2", "nightly"), create=True)
    assert not store.put_automation(automation("a3", "nightly"), create=False)
    assert [a.id for a in store.list_automations()] == ["a1", "a2"]


def test_an_automation_is_disabled_and_enabled_again(store: AutomationStore) -> None:
    store.put_automation(automation("a1", "one"), create=True)

    assert store.set_automation_enabled("a1", False, T0 + 10)
    off = store.get_automation("a1")
    assert off is not None
    assert (off.enabled, off.updated_at, off.created_at) == (False, T0 + 10, T0)
    assert store.set_automation_enabled("a1", True, T0 + 20)
    on = store.get_automation("a1")
    assert on is not None
    assert (on.enabled, on.updated_at) == (True, T0 + 20)
    assert not store.set_automation_enabled("missing", True, T0)


def test_deleting_takes_states_and_timers_and_keeps_firings(store: AutomationStore) -> None:
    store.put_automation(automation("a1", "gone"), create=True)
    store.put_automation(automation("a2", "kept"), create=True)
    fired = firing("f1", "a1")
    commit = evaluation(
        0,
        3,
        put_states=[
            automations.TriggerStateRecord("a1", "root", '{"n": 1}', T0),
            automations.TriggerStateRecord("a2", "root", '{"n": 2}', T0),
        ],
        put_timers=[
            automations.AutomationTimer("a1", "root", T0 + 60),
            automations.AutomationTimer("a2", "root", T0 + 90),
        ],
        firings=[(fired, [automations.ActionRecord("f1", 0, '{"type": "do-nothing"}')])],
    )
    assert store.commit_evaluation(commit)

    assert store.delete_automation("a1")
    assert not store.delete_automation("a1")

    assert store.get_automation("a1") is None
    state = store.evaluator_state()
    assert [(s.automation_id, s.key) for s in state.states] == [("a2", "root")]
    assert [(t.automation_id, t.key) for t in state.timers] == [("a2", "root")]
    assert state.cursor == 3
    assert [f for f, _ in store.firings_of("a1")] == [fired]


def test_racing_creations_of_one_name_store_one(store: AutomationStore) -> None:
    creations = [
        functools.partial(store.put_automation, automation(f"a{n}", "contested"), create=True)
        for n in range(6)
    ]
    outcomes = at_once(*creations)

    assert outcomes.count(True) == 1
    taken = [o for o in outcomes if isinstance(o, errors.AutomationNameTaken)]
    assert len(taken) == 5
    assert [a.name for a in store.list_automations()] == ["contested"]
