"""Contract: `Store.transition`, the one way a run changes state."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import FINAL_STATES, TRANSITIONS, RunState
from tarry.storage import StateChange, TransitionRecord
from tests.contract.support import ME as OWNER
from tests.contract.support import OTHER, T0, new_id, run_record

if TYPE_CHECKING:
    from tarry.storage import RunRecord, Store


def running_run(store: Store, owner: str = OWNER) -> RunRecord:
    run = run_record(
        state=RunState.RUNNING, lease_owner=owner, lease_expires_at=T0 + 30, started_at=T0
    )
    store.insert_run(run)
    return run


def test_applies_when_the_run_is_in_an_expected_state(store: Store) -> None:
    run = run_record()
    store.insert_run(run)

    updated = store.transition(
        run.id,
        {RunState.PENDING, RunState.SCHEDULED},
        StateChange(
            RunState.RUNNING,
            at=T0 + 1,
            reason="claimed",
            lease_owner=OWNER,
            lease_expires_at=T0 + 31,
        ),
    )

    assert updated is not None
    assert updated.state is RunState.RUNNING
    assert updated.state_reason == "claimed"
    assert (updated.lease_owner, updated.lease_expires_at) == (OWNER, T0 + 31)
    assert store.get_run(run.id) == updated


def test_returns_none_and_writes_nothing_when_the_state_is_not_expected(store: Store) -> None:
    run = run_record()
    store.insert_run(run)

    outcome = store.transition(
        run.id, {RunState.RUNNING, RunState.WAITING}, StateChange(RunState.CANCELLED, at=T0 + 1)
    )

    assert outcome is None
    assert store.get_run(run.id) == run
    assert len(store.get_transitions(run.id)) == 1


def test_returns_none_for_a_missing_run(store: Store) -> None:
    missing = new_id()

    outcome = store.transition(missing, {RunState.PENDING}, StateChange(RunState.CANCELLED, at=T0))

    assert outcome is None
    assert store.get_run(missing) is None
    assert store.get_transitions(missing) == []


def test_require_owner_refuses_when_another_process_holds_the_lease(store: Store) -> None:
    run = running_run(store, owner=OTHER)

    outcome = store.transition(
        run.id,
        {RunState.RUNNING},
        StateChange(RunState.COMPLETED, at=T0 + 1, result="1", require_owner=OWNER),
    )

    assert outcome is None
    assert store.get_run(run.id) == run
    assert len(store.get_transitions(run.id)) == 1


def test_require_owner_refuses_when_nobody_holds_the_lease(store: Store) -> None:
    run = run_record()
    store.insert_run(run)

    outcome = store.transition(
        run.id, {RunState.PENDING}, StateChange(RunState.CANCELLED, at=T0, require_owner=OWNER)
    )

    assert outcome is None
    assert store.get_run(run.id) == run


def test_require_owner_applies_for_the_lease_holder(store: Store) -> None:
    run = running_run(store)

    updated = store.transition(
        run.id,
        {RunState.RUNNING},
        StateChange(RunState.COMPLETED, at=T0 + 1, result="42", require_owner=OWNER),
    )

    assert updated is not None
    assert (updated.state, updated.result) == (RunState.COMPLETED, "42")


@pytest.mark.parametrize("final", sorted(FINAL_STATES, key=str))
def test_final_state_sets_ended_at_and_releases_the_lease(store: Store, final: RunState) -> None:
    run = running_run(store)

    updated = store.transition(run.id, {RunState.RUNNING}, StateChange(final, at=T0 + 9))

    assert updated is not None
    assert updated.ended_at == T0 + 9
    assert (updated.lease_owner, updated.lease_expires_at) == (None, None)
    assert store.get_run(run.id) == updated
    assert store.lease_owners() == []


def test_non_final_state_leaves_ended_at_unset(store: Store) -> None:
    run = running_run(store)

    updated = store.transition(
        run.id, {RunState.RUNNING}, StateChange(RunState.WAITING, at=T0 + 2, reason="input")
    )

    assert updated is not None
    assert updated.ended_at is None
    assert updated.lease_owner == OWNER


def test_started_at_is_set_on_first_running_only(store: Store) -> None:
    run = run_record()
    store.insert_run(run)
    steps = [
        (RunState.PENDING, RunState.SCHEDULED, T0 + 1),
        (RunState.SCHEDULED, RunState.RUNNING, T0 + 2),
        (RunState.RUNNING, RunState.WAITING, T0 + 3),
        (RunState.WAITING, RunState.RUNNING, T0 + 4),
        (RunState.RUNNING, RunState.RUNNING, T0 + 5),
    ]
    started: list[float | None] = []
    for from_state, to_state, at in steps:
        updated = store.transition(run.id, {from_state}, StateChange(to_state, at=at))
        assert updated is not None
        started.append(updated.started_at)

    assert started == [None, T0 + 2, T0 + 2, T0 + 2, T0 + 2]
    stored = store.get_run(run.id)
    assert stored is not None
    assert stored.started_at == T0 + 2


def test_unset_fields_are_kept_and_none_clears_them(store: Store) -> None:
    run = running_run(store)
    failed_once = store.transition(
        run.id,
        {RunState.RUNNING},
        StateChange(RunState.PENDING, at=T0 + 1, error='{"m":"boom"}', attempt=2),
    )
    assert failed_once is not None
    assert (failed_once.error, failed_once.attempt) == ('{"m":"boom"}', 2)
    assert failed_once.lease_owner == OWNER  # not mentioned, so kept

    retried = store.transition(
        run.id,
        {RunState.PENDING},
        StateChange(RunState.RUNNING, at=T0 + 2, error=None, lease_owner=OTHER),
    )

    assert retried is not None
    assert retried.error is None
    assert retried.attempt == 2
    assert retried.lease_owner == OTHER
    assert retried.lease_expires_at == T0 + 30
    assert store.get_run(run.id) == retried


def test_lease_can_be_released_without_leaving_running(store: Store) -> None:
    run = running_run(store)

    updated = store.transition(
        run.id,
        {RunState.RUNNING},
        StateChange(RunState.RUNNING, at=T0 + 1, lease_owner=None, lease_expires_at=None),
    )

    assert updated is not None
    assert (updated.lease_owner, updated.lease_expires_at) == (None, None)
    assert store.lease_owners() == []


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        (RunState.COMPLETED, RunState.RUNNING),
        (RunState.CANCELLED, RunState.PENDING),
        (RunState.COMPLETED, RunState.PENDING),
        (RunState.PENDING, RunState.COMPLETED),
        (RunState.SCHEDULED, RunState.WAITING),
    ],
    ids=str,
)
def test_forbidden_transition_raises_and_writes_nothing(
    store: Store, from_state: RunState, to_state: RunState
) -> None:
    run = run_record(state=from_state)
    store.insert_run(run)

    with pytest.raises(errors.InvalidTransition):
        store.transition(run.id, {from_state}, StateChange(to_state, at=T0 + 1))

    assert store.get_run(run.id) == run
    assert len(store.get_transitions(run.id)) == 1


@pytest.mark.parametrize("ended", [RunState.FAILED, RunState.CRASHED], ids=str)
def test_a_retried_run_has_not_ended_and_starts_its_next_attempt(
    store: Store, ended: RunState
) -> None:
    run = running_run(store)
    store.transition(run.id, {RunState.RUNNING}, StateChange(ended, at=T0 + 1, error='"boom"'))
    retry = StateChange(RunState.PENDING, at=T0 + 2, reason="retried", error=None, attempt=2)

    retried = store.transition(run.id, {ended}, retry)

    assert retried == store.get_run(run.id)
    assert retried is not None
    assert (retried.state, retried.attempt, retried.error) == (RunState.PENDING, 2, None)
    assert (retried.ended_at, retried.lease_owner, retried.started_at) == (None, None, T0)
    assert store.get_transitions(run.id)[-1] == TransitionRecord(
        run.id, ended, RunState.PENDING, T0 + 2, "retried"
    )


def test_every_pair_of_states_follows_the_transitions_table(store: Store) -> None:
    applied: set[tuple[RunState, RunState]] = set()
    for from_state, to_state in itertools.product(RunState, RunState):
        run = run_record(state=from_state)
        store.insert_run(run)
        try:
            store.transition(run.id, {from_state}, StateChange(to_state, at=T0 + 1))
        except errors.InvalidTransition:
            continue
        stored = store.get_run(run.id)
        assert stored is not None
        assert stored.state is to_state
        applied.add((from_state, to_state))

    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert applied == allowed


def test_transitions_are_recorded_in_order_with_reasons(store: Store) -> None:
    run = run_record()
    store.insert_run(run, reason="created")
    path = [
        (RunState.PENDING, RunState.RUNNING, "claimed by a worker"),
        (RunState.RUNNING, RunState.WAITING, "waiting for approval"),
        (RunState.WAITING, RunState.RUNNING, "approval received"),
        (RunState.RUNNING, RunState.COMPLETED, ""),
    ]
    for at, (from_state, to_state, reason) in enumerate(path, start=1):
        store.transition(run.id, {from_state}, StateChange(to_state, at=T0 + at, reason=reason))
    store.insert_run(run_record(), reason="unrelated run")

    assert store.get_transitions(run.id) == [
        TransitionRecord(run.id, None, RunState.PENDING, T0, "created"),
        *(
            TransitionRecord(run.id, from_state, to_state, T0 + at, reason)
            for at, (from_state, to_state, reason) in enumerate(path, start=1)
        ),
    ]
    stored = store.get_run(run.id)
    assert stored is not None
    assert stored.state_reason == ""
