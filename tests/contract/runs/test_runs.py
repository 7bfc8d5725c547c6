"""Contract: storing and reading runs, and what a closed store does."""

from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import RunState
from tarry.storage import RunFilter, StateChange, TransitionRecord
from tests.contract.support import (
    NOW,
    T0,
    leased_run,
    log_record,
    new_id,
    resident_wait,
    run_record,
    step_record,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tarry.storage import Store
    from tests.contract.support import Adapter


def test_get_run_of_unknown_id_is_none(store: Store) -> None:
    assert store.get_run("no-such-run") is None


def test_unknown_run_has_no_transitions_steps_or_logs(store: Store) -> None:
    assert store.get_transitions("no-such-run") == []
    assert store.get_steps("no-such-run") == []
    assert store.get_logs("no-such-run") == []


def test_inserted_run_reads_back_field_for_field(store: Store) -> None:
    parent = run_record()
    child = dataclasses.replace(
        run_record(
            state=RunState.RUNNING,
            parent_id=parent.id,
            lease_owner="host:1:1",
            lease_expires_at=T0 + 30,
            started_at=T0,
        ),
        state_reason="started by a flow call",
        attempt=2,
        tags=("nightly", "billing"),
    )

    assert store.insert_run(parent) is True
    assert store.insert_run(child) is True

    assert store.get_run(parent.id) == parent
    assert store.get_run(child.id) == child


def test_inserted_finished_run_keeps_result_error_and_end_time(store: Store) -> None:
    run = dataclasses.replace(
        run_record(state=RunState.FAILED, started_at=T0),
        result="null",
        error='{"type":"ValueError","message":"bad input"}',
        ended_at=T0 + 5,
    )

    assert store.insert_run(run) is True

    assert store.get_run(run.id) == run


def test_insert_run_records_the_creation_transition(store: Store) -> None:
    run = run_record(created_at=T0 + 3)

    store.insert_run(run, reason="started from the CLI")

    assert store.get_transitions(run.id) == [
        TransitionRecord(run.id, None, RunState.PENDING, T0 + 3, "started from the CLI")
    ]


def test_insert_run_with_existing_id_returns_false_and_changes_nothing(store: Store) -> None:
    first = run_record()
    store.insert_run(first, reason="first")
    impostor = dataclasses.replace(
        first, flow_name="other", state=RunState.RUNNING, parameters='{"y":2}'
    )

    assert store.insert_run(impostor, reason="second") is False

    assert store.get_run(first.id) == first
    assert [t.reason for t in store.get_transitions(first.id)] == ["first"]
    assert store.list_runs(RunFilter()) == [first]


def test_migrate_again_keeps_the_data(store: Store) -> None:
    run = run_record()
    store.insert_run(run)

    store.migrate()

    assert store.get_run(run.id) == run


CLOSED_STORE_CALLS: dict[str, Callable[[Store, str], object]] = {
    "insert_run": lambda s, run_id: s.insert_run(run_record()),
    "get_run": lambda s, run_id: s.get_run(run_id),
    "transition": lambda s, run_id: s.transition(
        run_id, {RunState.PENDING}, StateChange(RunState.CANCELLED, at=T0)
    ),
    "claim_runs": lambda s, run_id: s.claim_runs("me", T0 + 30, T0, (), limit=10),
    "lease_owners": lambda s, run_id: s.lease_owners(),
    "renew_leases": lambda s, run_id: s.renew_leases("me", T0 + 30),
    "put_step": lambda s, run_id: s.put_step(step_record(run_id, "1")),
    "get_steps": lambda s, run_id: s.get_steps(run_id),
    "get_logs": lambda s, run_id: s.get_logs(run_id),
    "get_transitions": lambda s, run_id: s.get_transitions(run_id),
    "list_runs": lambda s, run_id: s.list_runs(RunFilter()),
}


@pytest.mark.parametrize("method", list(CLOSED_STORE_CALLS))
def test_closed_store_refuses_calls(store: Store, method: str) -> None:
    run = run_record()
    store.insert_run(run)
    store.add_logs([log_record(run.id, "before close")])
    store.close()

    with pytest.raises(errors.StoreError):
        CLOSED_STORE_CALLS[method](store, run.id)


def test_close_twice_is_harmless(store: Store) -> None:
    store.close()
    store.close()

    with pytest.raises(errors.StoreError):
        store.get_run("any")


def test_data_survives_close_and_reopen(durable_adapter: Adapter, tmp_path: Path) -> None:
    first = durable_adapter.open(tmp_path)
    run = run_record()
    first.insert_run(run, reason="created")
    first.put_step(step_record(run.id, "1"))
    first.close()

    second = durable_adapter.open(tmp_path)
    try:
        assert second.get_run(run.id) == run
        assert second.get_steps(run.id) == [step_record(run.id, "1")]
        assert [t.reason for t in second.get_transitions(run.id)] == ["created"]
    finally:
        second.close()


def test_run_ids_starting_with_a_prefix(store: Store) -> None:
    for run_id in ("abc1", "abc2", "abd9", "zzz"):
        store.insert_run(dataclasses.replace(run_record(), id=run_id))

    assert store.run_ids_starting_with("abc") == ["abc1", "abc2"]
    assert store.run_ids_starting_with("abc", limit=1) == ["abc1"]
    assert store.run_ids_starting_with("abd") == ["abd9"]
    assert store.run_ids_starting_with("ab", limit=5) == ["abc1", "abc2", "abd9"]
    assert store.run_ids_starting_with("q") == []


# -- run_states --------------------------------------------------------------------------


def test_run_states_maps_each_existing_run_to_its_state(store: Store) -> None:
    pending = run_record()
    store.insert_run(pending)
    running = leased_run(store)
    waiting = leased_run(store)
    resident_wait(store, waiting, created_at=NOW)

    states = store.run_states([pending.id, "no-such-run", running.id, waiting.id])

    assert states == {
        pending.id: RunState.PENDING,
        running.id: RunState.RUNNING,
        waiting.id: RunState.WAITING,
    }
    assert store.run_states([]) == {}


def test_run_states_answers_for_more_runs_than_one_query_takes(store: Store) -> None:
    cycle = itertools.cycle([RunState.PENDING, RunState.WAITING, RunState.COMPLETED])
    expected = {new_id(): state for state in itertools.islice(cycle, 1201)}
    for run_id, state in expected.items():
        store.insert_run(run_record(run_id, state=state), durable=False)
    asked = [*expected, *(f"missing-{i}" for i in range(300))]

    assert store.run_states(asked) == expected
