"""Contract: waits a run stores, answers that close them, and the runs they wake."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import RunState, WaitKind, WaitStatus
from tarry.storage import StateChange, records
from tests.contract.support import (
    LEASE,
    ME,
    NOW,
    OTHER,
    T0,
    closed,
    early_input,
    leased_run,
    resident_wait,
    stored_run,
    stored_wait,
    timeout_close,
    wait_close,
    wait_record,
    waiting_change,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tarry.storage import RunRecord, Store, WaitRecord


# -- open_waits --------------------------------------------------------------------------


def test_open_waits_stores_the_alternatives_and_makes_the_run_waiting(store: Store) -> None:
    run = leased_run(store)
    label = "any:approval|timer"
    approval = wait_record(run.id, "2", label=label, created_at=NOW)
    timer = wait_record(
        run.id,
        "2",
        alt=1,
        kind=WaitKind.TIMER,
        name="timer",
        label=label,
        created_at=NOW,
        deadline=NOW + 60,
    )

    stored = store.open_waits([approval, timer], waiting_change(label=label))

    assert stored == [approval, timer]
    assert store.get_wait(approval.id) == approval
    assert store.get_wait(timer.id) == timer
    now = stored_run(store, run.id)
    assert (now.state, now.lease_owner, now.lease_expires_at) == (RunState.WAITING, ME, LEASE)
    last = store.get_transitions(run.id)[-1]
    assert (last.from_state, last.to_state, last.at, last.reason) == (
        RunState.RUNNING,
        RunState.WAITING,
        NOW,
        f"waiting for {label}",
    )


def test_open_waits_that_release_the_lease_suspend_the_run_at_once(store: Store) -> None:
    run = leased_run(store)

    store.open_waits([wait_record(run.id, created_at=NOW)], waiting_change(release=True))

    now = stored_run(store, run.id)
    assert (now.state, now.lease_owner, now.lease_expires_at) == (RunState.WAITING, None, None)


def test_open_waits_on_replay_keeps_the_waits_already_stored(store: Store) -> None:
    run = leased_run(store)
    first = resident_wait(store, run, created_at=NOW)
    store.claim_runs(OTHER, LEASE + 60, NOW + 10, [ME], limit=10)
    replayed = dataclasses.replace(first, created_at=NOW + 20, deadline=NOW + 80)

    stored = store.open_waits([replayed], waiting_change(at=NOW + 20, owner=OTHER))

    assert stored == [first]
    assert store.waits_of_run(run.id) == [first]
    now = stored_run(store, run.id)
    assert (now.state, now.lease_owner) == (RunState.WAITING, OTHER)


def test_open_waits_leaves_the_run_running_when_its_wait_was_closed(store: Store) -> None:
    run = leased_run(store)
    approval = wait_record(run.id, created_at=NOW)
    timer = wait_record(run.id, alt=1, kind=WaitKind.TIMER, name="timer", created_at=NOW)
    store.open_waits([approval, timer], waiting_change())
    store.claim_runs(OTHER, LEASE + 60, NOW + 10, [ME], limit=10)
    answer = wait_close(approval, at=NOW + 15)
    store.close_wait(answer)
    before = stored_run(store, run.id)
    transitions = store.get_transitions(run.id)

    stored = store.open_waits([approval, timer], waiting_change(at=NOW + 20, owner=OTHER))

    assert [(w.id, w.status) for w in stored] == [
        (approval.id, WaitStatus.ANSWERED),
        (timer.id, WaitStatus.CANCELLED),
    ]
    assert stored_run(store, run.id) == before
    assert before.state is RunState.RUNNING
    assert store.get_transitions(run.id) == transitions


def test_open_waits_returns_only_the_waits_of_this_flow_attempt(store: Store) -> None:
    run = leased_run(store)
    first_try = resident_wait(store, run, "2", created_at=NOW)
    store.close_wait(timeout_close(first_try, at=NOW + 5))
    store.transition(run.id, {RunState.RUNNING}, StateChange(RunState.RUNNING, NOW + 6, attempt=2))
    second_try = wait_record(run.id, "2", attempt=2, created_at=NOW + 7)

    stored = store.open_waits([second_try], waiting_change(at=NOW + 7))

    assert stored == [second_try]
    assert stored_run(store, run.id).state is RunState.WAITING


def _lost_lease(store: Store) -> RunRecord:
    return leased_run(store, owner=OTHER)


def _cancelled(store: Store) -> RunRecord:
    run = leased_run(store)
    stopped = store.transition(run.id, {RunState.RUNNING}, StateChange(RunState.CANCELLED, NOW))
    assert stopped is not None
    return stopped


@pytest.mark.parametrize("make_run", [_lost_lease, _cancelled], ids=["lost-lease", "cancelled"])
def test_open_waits_changes_no_run_that_is_not_running_under_that_owner(
    store: Store, make_run: Callable[[Store], RunRecord]
) -> None:
    run = make_run(store)
    wait = wait_record(run.id, created_at=NOW + 1)

    stored = store.open_waits([wait], waiting_change(at=NOW + 1))

    assert stored == [wait]
    assert stored_run(store, run.id) == run


# -- close_wait --------------------------------------------------------------------------


def test_the_first_close_wins_and_records_the_answer(store: Store) -> None:
    wait = resident_wait(store, leased_run(store), created_at=NOW)
    close = wait_close(wait, at=NOW + 5, answer=True, responder="ada")

    outcome = store.close_wait(close)

    answered = dataclasses.replace(
        wait,
        status=WaitStatus.ANSWERED,
        answer="true",
        closed_at=NOW + 5,
        responder="ada",
        channel="api",
        prompt="Ship it?",
    )
    assert outcome == records.WaitClosed(won=True, wait=answered, ready_run_id=None)
    assert store.get_wait(wait.id) == answered


def test_the_close_writes_the_journal_entry_at_the_waits_key(store: Store) -> None:
    run = leased_run(store)
    wait = resident_wait(store, run, "3", created_at=NOW)
    close = wait_close(wait, at=NOW + 5)

    store.close_wait(close)

    assert store.get_steps(run.id) == [close.step]


def test_a_second_close_loses_and_sees_the_first_answer(store: Store) -> None:
    run = leased_run(store)
    wait = resident_wait(store, run, created_at=NOW)
    first = closed(store, wait_close(wait, at=NOW + 5, answer=True, responder="ada"))
    transitions = store.get_transitions(run.id)
    late = wait_close(wait, at=NOW + 6, answer=False, responder="bob")

    outcome = store.close_wait(late)

    assert outcome == records.WaitClosed(won=False, wait=first.wait)
    assert stored_wait(store, wait.id).responder == "ada"
    assert [s.result for s in store.get_steps(run.id)] == ['{"alt":0,"value":true,"given":false}']
    assert store.get_transitions(run.id) == transitions


def test_a_timeout_after_the_answer_loses(store: Store) -> None:
    wait = resident_wait(store, leased_run(store), created_at=NOW, deadline=NOW + 60)
    store.close_wait(wait_close(wait, at=NOW + 59))

    outcome = closed(store, timeout_close(wait, at=NOW + 60))

    assert (outcome.won, outcome.wait.status) == (False, WaitStatus.ANSWERED)


def test_close_of_an_unknown_wait_is_none_and_writes_nothing(store: Store) -> None:
    run = leased_run(store)
    never_stored = wait_record(run.id, created_at=NOW)

    assert store.close_wait(wait_close(never_stored, at=NOW + 5)) is None

    assert store.get_steps(run.id) == []
    assert stored_run(store, run.id) == run


def test_the_close_cancels_the_other_alternatives_for_good(store: Store) -> None:
    run = leased_run(store)
    label = "any:approval|veto|timer"
    approval = wait_record(run.id, label=label, created_at=NOW)
    veto = wait_record(run.id, alt=1, name="veto", label=label, created_at=NOW)
    timer = wait_record(
        run.id,
        alt=2,
        kind=WaitKind.TIMER,
        name="timer",
        label=label,
        created_at=NOW,
        deadline=NOW + 60,
    )
    store.open_waits([approval, veto, timer], waiting_change(label=label))

    store.close_wait(wait_close(veto, at=NOW + 5))
    fired = closed(store, timeout_close(timer, at=NOW + 60))

    for other in (approval, timer):
        cancelled = stored_wait(store, other.id)
        assert (cancelled.status, cancelled.closed_at) == (WaitStatus.CANCELLED, NOW + 5)
        assert cancelled.answer is None
    assert (fired.won, fired.wait.status) == (False, WaitStatus.CANCELLED)
    assert [s.result for s in store.get_steps(run.id)] == ['{"alt":1,"value":true,"given":false}']


def test_the_close_leaves_other_runs_waiting_at_the_same_key_open(store: Store) -> None:
    mine = resident_wait(store, leased_run(store), created_at=NOW)
    theirs = resident_wait(store, leased_run(store), created_at=NOW)

    store.close_wait(wait_close(mine, at=NOW + 5))

    assert store.get_wait(theirs.id) == theirs


def test_the_close_consumes_the_early_input_it_answers_with(store: Store) -> None:
    run = leased_run(store)
    ada = store.add_early_input(early_input(run.id, sent_at=T0 + 1, responder="ada"))
    bob = store.add_early_input(early_input(run.id, sent_at=T0 + 2, responder="bob"))
    wait = resident_wait(store, run, created_at=NOW)

    store.close_wait(wait_close(wait, at=NOW + 1, responder="ada", early_input_id=ada))

    assert [e.id for e in store.pending_early_inputs(run.id, "approval")] == [bob]


def test_the_close_puts_a_resident_run_back_to_running(store: Store) -> None:
    run = leased_run(store)
    wait = resident_wait(store, run, created_at=NOW)
    close = wait_close(wait, at=NOW + 5)

    outcome = closed(store, close)

    assert outcome.ready_run_id is None
    now = stored_run(store, run.id)
    assert (now.state, now.lease_owner, now.lease_expires_at) == (RunState.RUNNING, ME, LEASE)
    last = store.get_transitions(run.id)[-1]
    assert (last.from_state, last.to_state, last.at, last.reason) == (
        RunState.WAITING,
        RunState.RUNNING,
        NOW + 5,
        close.reason,
    )


def test_the_close_makes_a_suspended_run_pending(store: Store) -> None:
    run = leased_run(store)
    wait = wait_record(run.id, created_at=NOW)
    store.open_waits([wait], waiting_change(release=True))

    outcome = closed(store, wait_close(wait, at=NOW + 5))

    assert outcome.ready_run_id == run.id
    now = stored_run(store, run.id)
    assert (now.state, now.lease_owner) == (RunState.PENDING, None)


def test_the_close_of_a_suspended_childs_wait_makes_its_top_level_run_pending(
    store: Store,
) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)
    wait = resident_wait(store, child, created_at=NOW)
    store.suspend_runs([child.id, parent.id], [wait.id], owner=ME, at=NOW + 1, reason="idle")
    close = wait_close(wait, at=NOW + 5)

    outcome = closed(store, close)

    assert outcome.ready_run_id == parent.id
    root = stored_run(store, parent.id)
    assert (root.state, root.lease_owner, root.state_reason) == (
        RunState.PENDING,
        None,
        close.reason,
    )
    still = stored_run(store, child.id)
    assert (still.state, still.lease_owner) == (RunState.WAITING, None)


def test_the_close_hands_a_suspended_run_to_the_process_that_awaits_it(store: Store) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)
    wait = resident_wait(store, child, created_at=NOW)
    store.suspend_runs([child.id, parent.id], [wait.id], owner=ME, at=NOW + 1, reason="idle")
    claim = StateChange(
        RunState.RUNNING, at=NOW + 5, reason="resumed here", lease_owner=ME, lease_expires_at=LEASE
    )
    close = dataclasses.replace(wait_close(wait, at=NOW + 5), resume_as=claim)

    outcome = closed(store, close)

    root = stored_run(store, parent.id)
    assert (outcome.ready_run_id, outcome.resumed_run) == (None, root)
    assert (root.state, root.lease_owner, root.lease_expires_at) == (RunState.RUNNING, ME, LEASE)
    assert [t.to_state for t in store.get_transitions(parent.id)][-2:] == [
        RunState.WAITING,
        RunState.RUNNING,
    ]


def test_the_close_leaves_a_run_that_runs_again_as_it_is(store: Store) -> None:
    run = leased_run(store)
    wait = resident_wait(store, run, created_at=NOW)
    [recovered] = store.claim_runs(OTHER, LEASE + 60, NOW + 10, [ME], limit=10)

    outcome = closed(store, wait_close(wait, at=NOW + 15))

    assert (outcome.won, outcome.ready_run_id) == (True, None)
    assert stored_run(store, run.id) == recovered


# -- suspend_runs ------------------------------------------------------------------------


def test_suspend_runs_releases_the_waiting_run_and_its_ancestors(store: Store) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)
    wait = resident_wait(store, child, created_at=NOW)

    suspended = store.suspend_runs(
        [child.id, parent.id], [wait.id], owner=ME, at=NOW + 30, reason="idle for 30 s"
    )

    assert suspended is True
    for run in (child, parent):
        now = stored_run(store, run.id)
        assert (now.state, now.lease_owner, now.lease_expires_at) == (RunState.WAITING, None, None)
        last = store.get_transitions(run.id)[-1]
        assert (last.to_state, last.at, last.reason) == (
            RunState.WAITING,
            NOW + 30,
            "idle for 30 s",
        )


def test_suspend_runs_leaves_a_run_leased_to_another_process_alone(store: Store) -> None:
    run = leased_run(store)
    wait = resident_wait(store, run, created_at=NOW)
    store.claim_runs(OTHER, LEASE + 60, NOW + 10, [ME], limit=10)
    store.open_waits([wait], waiting_change(at=NOW + 11, owner=OTHER))
    theirs = stored_run(store, run.id)

    store.suspend_runs([run.id], [wait.id], owner=ME, at=NOW + 30, reason="idle")

    assert stored_run(store, run.id) == theirs


def test_suspend_runs_changes_nothing_once_a_wait_closed(store: Store) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)
    wait = resident_wait(store, child, created_at=NOW)
    store.close_wait(wait_close(wait, at=NOW + 5))
    before = {run_id: stored_run(store, run_id) for run_id in (parent.id, child.id)}
    transitions = {run_id: store.get_transitions(run_id) for run_id in before}

    suspended = store.suspend_runs(
        [child.id, parent.id], [wait.id], owner=ME, at=NOW + 30, reason="idle"
    )

    assert suspended is False
    for run_id, run in before.items():
        assert stored_run(store, run_id) == run
        assert run.lease_owner == ME
        assert store.get_transitions(run_id) == transitions[run_id]


# -- reading waits -----------------------------------------------------------------------


def test_get_wait_of_unknown_id_is_none(store: Store) -> None:
    assert store.get_wait("no-such-wait") is None


def test_waits_of_run_lists_every_wait_of_the_run_oldest_first(store: Store) -> None:
    run = leased_run(store)
    first = resident_wait(store, run, "1", created_at=NOW)
    store.close_wait(wait_close(first, at=NOW + 5))
    label = "any:approval|timer"
    approval = wait_record(run.id, "3", label=label, created_at=NOW + 10)
    timer = wait_record(
        run.id, "3", alt=1, kind=WaitKind.TIMER, name="timer", label=label, created_at=NOW + 10
    )
    store.open_waits([approval, timer], waiting_change(at=NOW + 10, label=label))
    resident_wait(store, leased_run(store), "2", created_at=NOW + 1)

    assert store.waits_of_run(run.id) == [stored_wait(store, first.id), approval, timer]
    assert store.waits_of_run("no-such-run") == []


def test_waits_opened_at_the_same_moment_are_listed_in_journal_order(store: Store) -> None:
    run = leased_run(store)
    ninth = resident_wait(store, run, "9", created_at=NOW)
    store.close_wait(wait_close(ninth, at=NOW))
    tenth = wait_record(run.id, "10", created_at=NOW)
    store.open_waits([tenth], waiting_change(at=NOW))

    assert [w.step_key for w in store.waits_of_run(run.id)] == ["9", "10"]


def test_open_inputs_lists_open_input_waits_oldest_first(store: Store) -> None:
    later = resident_wait(store, leased_run(store), created_at=NOW + 2)
    any_run = leased_run(store)
    earlier = wait_record(any_run.id, created_at=NOW + 1)
    timer = wait_record(any_run.id, alt=1, kind=WaitKind.TIMER, name="timer", created_at=NOW + 1)
    store.open_waits([earlier, timer], waiting_change(at=NOW + 1))
    answered_run = leased_run(store)
    answered = resident_wait(store, answered_run, created_at=NOW)
    store.close_wait(wait_close(answered, at=NOW + 3))

    assert store.open_inputs() == [earlier, later]
    assert store.open_inputs(run_id=later.run_id) == [later]
    assert store.open_inputs(run_id=answered_run.id) == []


def test_open_inputs_pages_with_limit_and_offset(store: Store) -> None:
    waits = [resident_wait(store, leased_run(store), created_at=NOW + i) for i in range(5)]

    assert store.open_inputs(limit=2) == waits[:2]
    assert store.open_inputs(limit=2, offset=2) == waits[2:4]
    assert store.open_inputs(limit=2, offset=4) == waits[4:]


def test_due_waits_lists_open_waits_past_their_deadline_earliest_first(store: Store) -> None:
    on_time = resident_wait(store, leased_run(store), created_at=T0, deadline=NOW)
    overdue = resident_wait(store, leased_run(store), created_at=T0, deadline=NOW - 5)
    resident_wait(store, leased_run(store), created_at=T0, deadline=NOW + 1)
    resident_wait(store, leased_run(store), created_at=T0)
    answered = resident_wait(store, leased_run(store), created_at=T0, deadline=NOW - 10)
    store.close_wait(wait_close(answered, at=NOW - 20))

    assert store.due_waits(NOW, limit=10) == [overdue, on_time]
    assert store.due_waits(NOW, limit=1) == [overdue]
    assert store.due_waits(NOW - 6, limit=10) == []


def test_closed_waits_since_lists_waits_closed_at_or_after_a_time(store: Store) -> None:
    early = resident_wait(store, leased_run(store), created_at=NOW)
    store.close_wait(wait_close(early, at=NOW + 1))
    run = leased_run(store)
    approval = wait_record(run.id, created_at=NOW)
    timer = wait_record(run.id, alt=1, kind=WaitKind.TIMER, name="timer", created_at=NOW)
    store.open_waits([approval, timer], waiting_change())
    store.close_wait(wait_close(approval, at=NOW + 3))
    resident_wait(store, leased_run(store), created_at=NOW)

    since_3 = [(approval.id, run.id, NOW + 3), (timer.id, run.id, NOW + 3)]
    assert sorted(store.closed_waits_since(NOW + 3)) == sorted(since_3)
    assert store.closed_waits_since(NOW)[0] == (early.id, early.run_id, NOW + 1)
    assert len(store.closed_waits_since(NOW)) == 3
    assert store.closed_waits_since(NOW + 4) == []


# -- a closed store ----------------------------------------------------------------------

CLOSED_STORE_CALLS: dict[str, Callable[[Store, WaitRecord], object]] = {
    "open_waits": lambda s, w: s.open_waits([w], waiting_change()),
    "close_wait": lambda s, w: s.close_wait(wait_close(w, at=NOW + 5)),
    "suspend_runs": lambda s, w: s.suspend_runs(
        [w.run_id], [w.id], owner=ME, at=NOW, reason="idle"
    ),
    "get_wait": lambda s, w: s.get_wait(w.id),
    "waits_of_run": lambda s, w: s.waits_of_run(w.run_id),
    "open_inputs": lambda s, w: s.open_inputs(),
    "due_waits": lambda s, w: s.due_waits(NOW, limit=10),
    "closed_waits_since": lambda s, w: s.closed_waits_since(T0),
    "add_early_input": lambda s, w: s.add_early_input(early_input(w.run_id)),
    "pending_early_inputs": lambda s, w: s.pending_early_inputs(w.run_id, w.name),
    "reject_early_input": lambda s, w: s.reject_early_input(1, "too late"),
    "run_states": lambda s, w: s.run_states([w.run_id]),
}


@pytest.mark.parametrize("method", list(CLOSED_STORE_CALLS))
def test_closed_store_refuses_wait_calls(
    store: Store, method: str, request: pytest.FixtureRequest
) -> None:
    run = leased_run(store)
    store.add_early_input(early_input(run.id))
    wait = resident_wait(store, run, created_at=NOW)
    store.close()
    with pytest.raises(errors.StoreError):
        CLOSED_STORE_CALLS[method](store, wait)


# -- cancel_run --------------------------------------------------------------------------


def test_cancel_ends_the_run_its_children_and_their_waits(store: Store) -> None:
    parent = leased_run(store)
    child = leased_run(store, parent_id=parent.id)
    grandchild = leased_run(store, parent_id=child.id)
    wait = resident_wait(store, grandchild, created_at=NOW)

    outcome = store.cancel_run(parent.id, NOW + 5, "cancelled by ada")

    assert outcome is not None
    assert sorted(r.id for r in outcome.runs) == sorted([parent.id, child.id, grandchild.id])
    assert outcome.wait_ids == [wait.id]
    for run_id in (parent.id, child.id, grandchild.id):
        now = stored_run(store, run_id)
        assert (now.state, now.lease_owner, now.ended_at) == (RunState.CANCELLED, None, NOW + 5)
        assert now.state_reason == "cancelled by ada"
    closed_wait = store.get_wait(wait.id)
    assert closed_wait is not None
    assert (closed_wait.status, closed_wait.closed_at) == (WaitStatus.CANCELLED, NOW + 5)
    assert store.open_inputs() == []


def test_cancel_leaves_finished_runs_alone(store: Store) -> None:
    parent = leased_run(store)
    done = leased_run(store, parent_id=parent.id)
    finished = StateChange(RunState.COMPLETED, at=NOW, reason="done", result="1")
    store.transition(done.id, (RunState.RUNNING,), finished)

    outcome = store.cancel_run(parent.id, NOW + 5, "stop")

    assert outcome is not None
    assert [r.id for r in outcome.runs] == [parent.id]
    assert stored_run(store, done.id).state is RunState.COMPLETED
    again = store.cancel_run(parent.id, NOW + 6, "stop again")
    assert again == records.RunsCancelled([], [])


def test_cancel_of_an_unknown_run_is_none(store: Store) -> None:
    assert store.cancel_run("no-such-run", NOW, "stop") is None
