"""Contract: claiming runs that need a process, and the leases that hold them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tarry.states import RunState
from tarry.storage import RunFilter, StateChange
from tests.contract.support import LEASE, ME, NOW, OTHER, T0, run_record

if TYPE_CHECKING:
    from tarry.storage import RunRecord, Store


def running(store: Store, owner: str, expires: float, parent_id: str | None = None) -> RunRecord:
    run = run_record(
        state=RunState.RUNNING,
        lease_owner=owner,
        lease_expires_at=expires,
        started_at=T0,
        parent_id=parent_id,
    )
    store.insert_run(run)
    return run


def pending(store: Store, created_at: float = T0, parent_id: str | None = None) -> RunRecord:
    run = run_record(created_at=created_at, parent_id=parent_id)
    store.insert_run(run)
    return run


def test_claims_a_pending_top_level_run(store: Store) -> None:
    run = pending(store)

    claimed = store.claim_runs(ME, LEASE, NOW, (), limit=10)

    assert [c.id for c in claimed] == [run.id]
    (mine,) = claimed
    assert mine.state is RunState.RUNNING
    assert (mine.lease_owner, mine.lease_expires_at) == (ME, LEASE)
    assert mine.started_at == NOW
    assert store.get_run(run.id) == mine
    last = store.get_transitions(run.id)[-1]
    assert (last.from_state, last.to_state, last.at) == (RunState.PENDING, RunState.RUNNING, NOW)
    assert last.reason


def test_claims_a_running_run_whose_lease_expired(store: Store) -> None:
    run = running(store, OTHER, expires=NOW - 1)

    claimed = store.claim_runs(ME, LEASE, NOW, (), limit=10)

    assert [c.id for c in claimed] == [run.id]
    stored = store.get_run(run.id)
    assert stored is not None
    assert (stored.state, stored.lease_owner, stored.lease_expires_at) == (
        RunState.RUNNING,
        ME,
        LEASE,
    )
    assert stored.started_at == T0
    last = store.get_transitions(run.id)[-1]
    assert (last.from_state, last.to_state, last.at) == (RunState.RUNNING, RunState.RUNNING, NOW)
    assert last.reason


def test_claims_a_running_run_whose_owner_is_dead(store: Store) -> None:
    run = running(store, OTHER, expires=NOW + 60)

    claimed = store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10)

    assert [c.id for c in claimed] == [run.id]
    assert [c.lease_owner for c in claimed] == [ME]


def test_a_pending_run_that_started_before_keeps_its_start_when_claimed(store: Store) -> None:
    # Workers read a claimed run's journal only when `started_at` is not the claim's time.
    again = run_record(started_at=T0 + 1)
    store.insert_run(again)
    first = pending(store, created_at=T0 + 2)

    claimed = store.claim_runs(ME, LEASE, NOW, (), limit=10)

    assert [(c.id, c.started_at) for c in claimed] == [(again.id, T0 + 1), (first.id, NOW)]


def test_a_run_both_expired_and_of_a_dead_owner_is_claimed_once(store: Store) -> None:
    both = running(store, OTHER, expires=NOW - 1)
    ready = pending(store, created_at=T0 + 1)

    claimed = store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10)

    assert sorted(c.id for c in claimed) == sorted([both.id, ready.id])
    # Its insert, then one claim.
    assert [t.from_state for t in store.get_transitions(both.id)] == [None, RunState.RUNNING]


def test_without_recovery_only_pending_runs_are_claimed(store: Store) -> None:
    ready = pending(store)
    expired = running(store, OTHER, expires=NOW - 1)
    orphaned = running(store, "host-c:1:1", expires=NOW + 60)

    claimed = store.claim_runs(ME, LEASE, NOW, ["host-c:1:1"], limit=10, recover=False)

    assert [c.id for c in claimed] == [ready.id]
    assert claimed[0].started_at == NOW
    assert store.get_run(expired.id) == expired
    assert store.get_run(orphaned.id) == orphaned


def test_never_claims_a_live_lease(store: Store) -> None:
    live = running(store, OTHER, expires=NOW + 60)
    expiring_now = running(store, OTHER, expires=NOW)

    claimed = store.claim_runs(ME, LEASE, NOW, ["host-c:1:1"], limit=10)

    assert claimed == []
    assert store.get_run(live.id) == live
    assert store.get_run(expiring_now.id) == expiring_now


def test_never_claims_child_runs(store: Store) -> None:
    parent = running(store, OTHER, expires=NOW + 60)
    children = [
        pending(store, parent_id=parent.id),
        running(store, OTHER, expires=NOW - 1, parent_id=parent.id),
        running(store, "dead:1:1", expires=NOW + 60, parent_id=parent.id),
    ]

    claimed = store.claim_runs(ME, LEASE, NOW, ["dead:1:1"], limit=10)

    assert claimed == []
    for child in children:
        assert store.get_run(child.id) == child


@pytest.mark.parametrize(
    "state",
    [
        RunState.SCHEDULED,
        RunState.COMPLETED,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.CRASHED,
    ],
    ids=str,
)
def test_never_claims_runs_in_other_states(store: Store, state: RunState) -> None:
    run = run_record(state=state, lease_owner=OTHER, lease_expires_at=NOW - 1)
    store.insert_run(run)

    assert store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10) == []
    assert store.get_run(run.id) == run


def test_claims_a_resident_waiting_run_whose_process_died(store: Store) -> None:
    run = run_record(state=RunState.WAITING, lease_owner=OTHER, lease_expires_at=LEASE)
    store.insert_run(run)

    [claimed] = store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10)

    assert (claimed.id, claimed.state, claimed.lease_owner) == (run.id, RunState.RUNNING, ME)


def test_never_claims_a_suspended_waiting_run(store: Store) -> None:
    run = run_record(state=RunState.WAITING, lease_owner=None, lease_expires_at=None)
    store.insert_run(run)

    assert store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10) == []
    assert store.get_run(run.id) == run


def test_respects_the_limit_and_later_claims_take_the_rest(store: Store) -> None:
    runs = {pending(store, created_at=T0 + i).id for i in range(5)}

    first = store.claim_runs(ME, LEASE, NOW, (), limit=2)
    second = store.claim_runs(OTHER, LEASE, NOW, (), limit=10)
    third = store.claim_runs(ME, LEASE, NOW, (), limit=10)

    assert len(first) == 2
    assert len(second) == 3
    assert third == []
    assert {r.id for r in first} | {r.id for r in second} == runs
    still_pending = store.list_runs(RunFilter(states={RunState.PENDING}))
    assert still_pending == []


def test_a_claimed_run_is_claimed_again_only_once_its_lease_expires(store: Store) -> None:
    run = pending(store)
    store.claim_runs(ME, LEASE, NOW, (), limit=10)

    assert store.claim_runs(OTHER, LEASE + 60, NOW + 1, (), limit=10) == []
    taken_over = store.claim_runs(OTHER, LEASE + 60, LEASE + 1, (), limit=10)

    assert [(r.id, r.lease_owner) for r in taken_over] == [(run.id, OTHER)]
    assert [t.to_state for t in store.get_transitions(run.id)] == [
        RunState.PENDING,
        RunState.RUNNING,
        RunState.RUNNING,
    ]


def test_renew_leases_extends_the_owners_running_and_resident_waiting_runs(store: Store) -> None:
    mine = [running(store, ME, expires=NOW + 5) for _ in range(2)]
    theirs = running(store, OTHER, expires=NOW + 5)
    waiting = running(store, ME, expires=NOW + 5)
    store.transition(waiting.id, {RunState.RUNNING}, StateChange(RunState.WAITING, at=NOW))
    done = running(store, ME, expires=NOW + 5)
    store.transition(done.id, {RunState.RUNNING}, StateChange(RunState.FAILED, at=NOW))

    renewed = store.renew_leases(ME, NOW + 90)

    assert renewed == 3
    for run in [*mine, waiting]:
        stored = store.get_run(run.id)
        assert stored is not None
        assert stored.lease_expires_at == NOW + 90
    assert store.get_run(theirs.id) == theirs


def test_renew_leases_of_an_owner_without_runs_changes_nothing(store: Store) -> None:
    theirs = running(store, OTHER, expires=NOW + 5)

    assert store.renew_leases(ME, NOW + 90) == 0
    assert store.get_run(theirs.id) == theirs


def test_lease_owners_lists_each_holder_of_a_running_or_waiting_run_once(store: Store) -> None:
    running(store, ME, expires=NOW)
    running(store, ME, expires=NOW)
    running(store, OTHER, expires=NOW)
    waiting = running(store, "host-c:3:1", expires=NOW)
    store.transition(waiting.id, {RunState.RUNNING}, StateChange(RunState.WAITING, at=NOW))
    done = running(store, "host-d:4:1", expires=NOW)
    store.transition(done.id, {RunState.RUNNING}, StateChange(RunState.COMPLETED, at=NOW))
    pending(store)

    assert sorted(store.lease_owners()) == sorted([ME, OTHER, "host-c:3:1"])


def test_lease_owners_of_an_empty_store_is_empty(store: Store) -> None:
    assert store.lease_owners() == []


def test_never_claims_excluded_runs(store: Store) -> None:
    skipped = pending(store, created_at=T0)
    expired = running(store, OTHER, expires=NOW - 1)
    wanted = pending(store, created_at=T0 + 1)

    claimed = store.claim_runs(ME, LEASE, NOW, (), limit=10, exclude=[skipped.id, expired.id])

    assert [c.id for c in claimed] == [wanted.id]
    assert store.get_run(skipped.id) == skipped
    assert store.get_run(expired.id) == expired
