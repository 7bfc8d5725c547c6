"""Contract: the journal of steps a run records."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tarry.states import RunState, StepStatus
from tarry.storage import rules
from tests.contract.support import T0, run_record, step_record

if TYPE_CHECKING:
    from tarry.storage import Store

_keys = st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)


def insert_run(store: Store) -> str:
    run = run_record()
    store.insert_run(run)
    return run.id


def test_put_step_then_get_steps_returns_it(store: Store) -> None:
    run_id = insert_run(store)
    step = step_record(run_id, "1", result='{"total":3}')

    store.put_step(step)

    assert store.get_steps(run_id) == [step]
    assert store.get_step(run_id, "1") == step
    assert store.get_step(run_id, "2") is None


def test_put_step_with_the_same_key_replaces_the_entry(store: Store) -> None:
    run_id = insert_run(store)
    store.put_step(step_record(run_id, "1", status=StepStatus.FAILED, result=None, error='"x"'))
    retried = step_record(run_id, "1", result='"ok"')

    store.put_step(retried)

    assert store.get_steps(run_id) == [retried]


def test_steps_belong_to_their_run(store: Store) -> None:
    first, second = insert_run(store), insert_run(store)
    store.put_step(step_record(first, "1", name="a"))
    store.put_step(step_record(second, "1", name="b"))
    store.put_step(step_record(second, "2", name="c"))

    assert [s.name for s in store.get_steps(first)] == ["a"]
    assert [s.name for s in store.get_steps(second)] == ["b", "c"]


def test_get_steps_orders_keys_numerically(store: Store) -> None:
    run_id = insert_run(store)
    for key in ["10", "3.1", "2", "4", "3", "1", "3.10", "3.2", "9"]:
        store.put_step(step_record(run_id, key))

    keys = [s.key for s in store.get_steps(run_id)]

    assert keys == ["1", "2", "3", "3.1", "3.2", "3.10", "4", "9", "10"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.sets(_keys, min_size=1, max_size=12), seed=st.integers())
def test_get_steps_order_matches_step_order_whatever_the_insert_order(
    store: Store, keys: set[str], seed: int
) -> None:
    run_id = insert_run(store)
    shuffled = sorted(keys)
    random.Random(seed).shuffle(shuffled)
    for key in shuffled:
        store.put_step(step_record(run_id, key))

    got = [s.key for s in store.get_steps(run_id)]

    assert got == sorted(keys, key=rules.step_order)


@given(parts=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=4))
def test_step_order_reads_every_part_as_a_number(parts: list[int]) -> None:
    key = ".".join(str(p) for p in parts)

    assert rules.step_order(key) == tuple(parts)


@given(key=_keys, nested=st.integers(min_value=0, max_value=120))
def test_step_order_puts_a_nested_call_after_its_step_and_before_the_next(
    key: str, nested: int
) -> None:
    *outer, last = key.split(".")
    next_key = ".".join([*outer, str(int(last) + 1)])

    assert rules.step_order(key) < rules.step_order(f"{key}.{nested}") < rules.step_order(next_key)


def test_a_step_is_recorded_only_while_its_process_holds_the_lease(store: Store) -> None:
    run = run_record(state=RunState.RUNNING, lease_owner="me", lease_expires_at=T0 + 30)
    store.insert_run(run)

    assert store.put_step(step_record(run.id, "1", result='"mine"'), owner="me")
    # Another process took the run over: this one may no longer write its journal.
    assert not store.put_step(step_record(run.id, "1", result='"stale"'), owner="someone-else")

    [kept] = store.get_steps(run.id)
    assert kept.result == '"mine"'
