"""Contract: an evaluation commits all or nothing behind the cursor; actions are due and settled."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.storage import automations
from tests.contract.automations.support import (
    actions_of,
    at_once,
    automation,
    evaluation,
    firing,
)
from tests.contract.support import T0

if TYPE_CHECKING:
    from tarry.storage.port_automations import AutomationStore

PENDING, DONE, FAILED = (
    automations.ActionStatus.PENDING,
    automations.ActionStatus.DONE,
    automations.ActionStatus.FAILED,
)


@pytest.fixture
def two(store: AutomationStore) -> AutomationStore:
    """The store with automations `a1` and `a2`."""
    store.put_automation(automation("a1", "one"), create=True)
    store.put_automation(automation("a2", "two"), create=True)
    return store


def state(automation_id: str, key: str, value: int) -> automations.TriggerStateRecord:
    return automations.TriggerStateRecord(automation_id, key, f'{{"count": {value}}}', T0 + value)


def test_a_new_store_has_cursor_zero_and_no_state(store: AutomationStore) -> None:
    assert store.evaluator_state() == automations.EvaluatorState(0, [], [], commits=0)


def test_a_commit_writes_states_timers_firings_and_moves_the_cursor(two: AutomationStore) -> None:
    fired = firing("f1", "a1")
    assert two.commit_evaluation(
        evaluation(
            0,
            7,
            put_states=[state("a2", "b", 1), state("a1", "root", 2), state("a1", "a", 3)],
            put_timers=[
                automations.AutomationTimer("a1", "root", T0 + 90),
                automations.AutomationTimer("a2", "b", T0 + 30),
            ],
            firings=[(fired, actions_of("f1", 2))],
        )
    )

    found = two.evaluator_state()
    assert found.cursor == 7
    assert found.states == [state("a1", "a", 3), state("a1", "root", 2), state("a2", "b", 1)]
    assert [(t.automation_id, t.due_at) for t in found.timers] == [("a2", T0 + 30), ("a1", T0 + 90)]
    assert two.firings_of("a1") == [(fired, actions_of("f1", 2))]


def test_later_commits_replace_and_delete_states_and_timers(two: AutomationStore) -> None:
    two.commit_evaluation(
        evaluation(
            0,
            2,
            put_states=[state("a1", "x", 1), state("a1", "y", 1)],
            put_timers=[
                automations.AutomationTimer("a1", "x", T0 + 10),
                automations.AutomationTimer("a1", "y", T0 + 20),
            ],
        )
    )
    assert two.commit_evaluation(
        evaluation(
            2,
            5,
            put_states=[state("a1", "x", 4)],
            delete_states=[("a1", "y"), ("a2", "never-stored")],
            put_timers=[automations.AutomationTimer("a1", "x", T0 + 50)],
            delete_timers=[("a1", "y")],
        )
    )

    found = two.evaluator_state()
    assert (found.cursor, found.states) == (5, [state("a1", "x", 4)])
    assert found.timers == [automations.AutomationTimer("a1", "x", T0 + 50)]


def test_a_stale_cursor_writes_nothing(two: AutomationStore) -> None:
    assert two.commit_evaluation(evaluation(0, 4, put_states=[state("a1", "root", 1)]))

    stale = evaluation(
        0,
        9,
        put_states=[state("a1", "root", 9)],
        delete_timers=[("a1", "root")],
        firings=[(firing("f9", "a1"), actions_of("f9", 1))],
    )
    assert not two.commit_evaluation(stale)

    found = two.evaluator_state()
    assert (found.cursor, found.commits, found.states) == (4, 1, [state("a1", "root", 1)])
    assert two.firings_of("a1") == []
    assert two.due_actions(T0 + 1_000, 10) == []


def test_the_count_of_commits_tells_apart_commits_of_no_new_event(two: AutomationStore) -> None:
    two.commit_evaluation(evaluation(0, 3))
    seen = two.evaluator_state()
    assert (seen.cursor, seen.commits) == (3, 1)
    # A timer fired: the cursor stays; an evaluator that saw the same count commits once.
    timer_fired = dataclasses.replace(
        evaluation(3, 3, firings=[(firing("t1", "a1"), actions_of("t1", 1))]),
        commits_before=seen.commits,
    )
    assert two.commit_evaluation(timer_fired)
    again = dataclasses.replace(timer_fired, firings=[(firing("t2", "a1"), [])])
    assert not two.commit_evaluation(again)

    found = two.evaluator_state()
    assert (found.cursor, found.commits) == (3, 2)
    assert [f.id for f, _ in two.firings_of("a1")] == ["t1"]


def test_a_commit_the_database_refuses_writes_nothing(two: AutomationStore) -> None:
    two.commit_evaluation(evaluation(0, 1, firings=[(firing("f1", "a1"), actions_of("f1", 1))]))
    # A kind the record's own check would refuse reaches the store: its check refuses it,
    # after the cursor moved and the state was put, which are undone with it.
    odd = firing("f3", "a1")
    object.__setattr__(odd, "kind", "exploded")
    refused = evaluation(
        1,
        2,
        put_states=[state("a2", "root", 5)],
        firings=[(firing("f2", "a2"), actions_of("f2", 1)), (odd, [])],
    )
    with pytest.raises(errors.StoreError):
        two.commit_evaluation(refused)

    found = two.evaluator_state()
    assert (found.cursor, found.commits, found.states) == (1, 1, [])
    assert two.firings_of("a2") == []
    assert [f.id for f, _ in two.due_actions(T0, 10)] == ["f1"]


def test_an_action_of_no_known_status_is_refused_and_nothing_written(
    two: AutomationStore,
) -> None:
    bad = automations.ActionRecord("f1", 0, "{}", status="half-done")  # type: ignore[arg-type]
    fired = [(firing("f1", "a1"), [bad])]
    commit = evaluation(0, 1, put_states=[state("a1", "root", 1)], firings=fired)
    with pytest.raises(ValueError, match="half-done"):
        two.commit_evaluation(commit)

    assert two.evaluator_state() == automations.EvaluatorState(0, [], [], 0)
    assert two.firings_of("a1") == []


def test_a_firing_stored_before_stays_as_it_is(two: AutomationStore) -> None:
    first = firing("f1", "a1")
    two.commit_evaluation(evaluation(0, 1, firings=[(first, actions_of("f1", 1))]))
    two.settle_action("f1", 0, DONE, "ran", at=T0 + 1)

    # The same firing decided again (its id is deterministic) with a newer one.
    again = dataclasses.replace(first, context='{"second": true}')
    assert two.commit_evaluation(
        evaluation(1, 2, firings=[(again, actions_of("f1", 1)), (firing("f2", "a1"), [])])
    )

    stored = two.firings_of("a1")
    assert [f.id for f, _ in stored] == ["f2", "f1"]
    kept, (action,) = stored[1]
    assert (kept, action.status, action.detail) == (first, DONE, "ran")
    assert two.due_actions(T0 + 100, 10) == []


def test_what_a_commit_says_of_a_deleted_automation_is_left_out(two: AutomationStore) -> None:
    two.delete_automation("a2")
    assert two.commit_evaluation(
        evaluation(
            0,
            3,
            put_states=[state("a1", "root", 1), state("a2", "root", 1)],
            put_timers=[automations.AutomationTimer("a2", "root", T0)],
            firings=[(firing("f2", "a2"), actions_of("f2", 1))],
        )
    )

    found = two.evaluator_state()
    assert (found.cursor, found.states, found.timers) == (3, [state("a1", "root", 1)], [])
    assert two.firings_of("a2") == []
    assert two.due_actions(T0, 10) == []


def test_a_delete_racing_a_commit_leaves_no_state_of_the_deleted(store: AutomationStore) -> None:
    for n in range(15):
        store.put_automation(automation(f"a{n}", f"doomed-{n}"), create=True)
        step = evaluation(
            n,
            n + 1,
            put_states=[state(f"a{n}", "root", 1)],
            put_timers=[automations.AutomationTimer(f"a{n}", "root", T0)],
        )
        deleted, committed = at_once(
            functools.partial(store.delete_automation, f"a{n}"),
            functools.partial(store.commit_evaluation, step),
        )
        assert deleted is True
        assert committed is True
    found = store.evaluator_state()
    assert (found.cursor, found.states, found.timers) == (15, [], [])


def race(stores: list[AutomationStore], before: int) -> int:
    """How many of `stores` (one thread each) won a commit from cursor `before`."""
    steps = [
        evaluation(before, before + 1, firings=[(firing(f"f{before}-{n}", "a1"), [])])
        for n in range(len(stores))
    ]
    outcomes = at_once(
        *(
            functools.partial(s.commit_evaluation, step)
            for s, step in zip(stores, steps, strict=True)
        )
    )
    assert all(isinstance(won, bool) for won in outcomes)
    return outcomes.count(True)


def test_threads_racing_from_one_cursor_commit_once(two: AutomationStore) -> None:
    assert [race([two] * 4, before) for before in range(10)] == [1] * 10
    assert two.evaluator_state().cursor == 10
    assert len(two.firings_of("a1", limit=100)) == 10


def test_due_actions_come_in_due_firing_and_index_order(two: AutomationStore) -> None:
    two.commit_evaluation(
        evaluation(
            0,
            1,
            firings=[
                (firing("fb", "a1"), actions_of("fb", 2, due_at=T0 + 5)),
                (firing("fa", "a2"), actions_of("fa", 2, due_at=T0 + 5)),
                (firing("fc", "a1"), actions_of("fc", 1, due_at=T0 + 1)),
                (firing("fd", "a1"), actions_of("fd", 1, due_at=T0 + 50)),
            ],
        )
    )

    due = two.due_actions(T0 + 5, 10)
    assert [(a.firing_id, a.index) for _, a in due] == [
        ("fc", 0),
        ("fa", 0),
        ("fa", 1),
        ("fb", 0),
        ("fb", 1),
    ]
    assert all(f.id == a.firing_id for f, a in due)
    assert due[0][0] == firing("fc", "a1")
    assert [(a.firing_id, a.index) for _, a in two.due_actions(T0 + 5, 2)] == [("fc", 0), ("fa", 0)]
    assert two.due_actions(T0, 10) == []


def test_a_failed_attempt_is_retried_then_settled_once(two: AutomationStore) -> None:
    two.commit_evaluation(evaluation(0, 1, firings=[(firing("f1", "a1"), actions_of("f1", 1))]))

    assert two.settle_action("f1", 0, PENDING, "smtp down", at=T0 + 1, retry_at=T0 + 30)
    assert two.due_actions(T0 + 29, 10) == []
    ((_, retried),) = two.due_actions(T0 + 30, 10)
    assert (retried.status, retried.attempts, retried.detail, retried.due_at) == (
        PENDING,
        1,
        "smtp down",
        T0 + 30,
    )

    assert two.settle_action("f1", 0, DONE, "sent", at=T0 + 31)
    assert not two.settle_action("f1", 0, FAILED, "late runner", at=T0 + 32)
    assert not two.settle_action("f1", 9, DONE, "no such action", at=T0 + 32)
    assert two.due_actions(T0 + 1_000, 10) == []
    ((_, (done,)),) = two.firings_of("a1")
    assert (done.status, done.attempts, done.detail, done.settled_at) == (DONE, 2, "sent", T0 + 31)


def test_a_failed_action_stays_failed(two: AutomationStore) -> None:
    two.commit_evaluation(evaluation(0, 1, firings=[(firing("f1", "a1"), actions_of("f1", 2))]))

    assert two.settle_action("f1", 1, FAILED, "no such deployment", at=T0 + 2)

    ((_, actions),) = two.firings_of("a1")
    assert [(a.status, a.settled_at) for a in actions] == [(PENDING, None), (FAILED, T0 + 2)]
    assert [a.index for _, a in two.due_actions(T0 + 100, 10)] == [0]


def test_a_settlement_that_says_nothing_coherent_is_refused(two: AutomationStore) -> None:
    two.commit_evaluation(evaluation(0, 1, firings=[(firing("f1", "a1"), actions_of("f1", 1))]))
    with pytest.raises(ValueError, match="retry_at"):
        two.settle_action("f1", 0, PENDING, "", at=T0)
    with pytest.raises(ValueError, match="retry_at"):
        two.settle_action("f1", 0, DONE, "", at=T0, retry_at=T0 + 1)
    assert len(two.due_actions(T0, 10)) == 1


def test_firings_of_are_newest_first_and_limited(two: AutomationStore) -> None:
    two.commit_evaluation(
        evaluation(
            0,
            1,
            firings=[
                (firing("old", "a1", fired_at=T0), []),
                (firing("other", "a2", fired_at=T0 + 5), []),
                (firing("new", "a1", fired_at=T0 + 9, kind="resolved"), actions_of("new", 3)),
            ],
        )
    )
    two.commit_evaluation(
        evaluation(1, 2, firings=[(firing("mid", "a1", fired_at=T0 + 4), actions_of("mid", 1))])
    )

    assert [f.id for f, _ in two.firings_of("a1")] == ["new", "mid", "old"]
    ((newest, actions),) = two.firings_of("a1", limit=1)
    assert (newest.kind, [a.index for a in actions]) == ("resolved", [0, 1, 2])
    assert two.firings_of("nobody") == []


def test_a_firing_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        firing("f1", "a1", kind="fired")
