"""A flow called here, outside any run: start its run and block until it ends.

While the run is suspended, the caller holds none of the flow's stack: it waits
for the run to become ready again (an answer, a timer, the watcher) and claims it,
or for another process to end it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any

from tarry import errors, host, hub, loader
from tarry.engine import admission, answers, children, context, offloading, runs, steps, watcher
from tarry.states import RunState
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.engine import spec

__all__ = ["call_flow", "call_flow_async"]

# A caller waiting for its suspended run is woken by the hub, or by the watcher's
# sweep when another process finished the run: it sleeps until then. A timeout here
# would wake 100,000 suspended callers for nothing, a store read each.
_NO_TIMEOUT = None


def call_flow(flow: spec.FlowSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a sync flow: a new top-level run here, or a child run inside a flow.

    Raises:
        errors.FlowLoadError: The call is made by a file imported only to look a class
            up (see `loader.importing_on_the_side`).
    """
    _refuse_on_the_side(flow)
    parameters = flow.bind(args, kwargs)
    parent = context.current_run()
    if parent is not None:
        return children.call_child(parent, flow, parameters)
    hst = host.get_host()
    run = runs.new_run(flow, parameters, hst.owner, hst.lease_until())
    # Lazy: the run's first step or its end makes the row durable; until then
    # nothing outside this process depends on it.
    hst.store.insert_run(run, reason="started by a flow call", durable=False)
    return _drive(hst, flow, run, parameters)


async def call_flow_async(
    flow: spec.FlowSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Async version of `call_flow`, driving the run too.

    A top-level call first takes a place at its loop's gate (`engine/admission`),
    so a burst of calls does not build every run at once. While the run is
    suspended, this one frame holds only its id, the flow and the host: the run's
    record, parameters and journal are read again when it resumes.
    """
    _refuse_on_the_side(flow)
    parameters = flow.bind(args, kwargs)
    del args, kwargs
    parent = context.current_run()
    if parent is not None:
        return await children.call_child_async(parent, flow, parameters)
    hst = host.get_host()
    with await admission.enter():
        run = runs.new_run(flow, parameters, hst.owner, hst.lease_until())
        await offloading.write(hst.store.insert_run, run, "started by a flow call", durable=False)
        ended, run_id, chain = await _one_pass(hst, flow, run, parameters, None)
    del run, parameters
    while chain is not None:
        ready = await _await_ready_async(hst, run_id, chain)
        if isinstance(ready, _Ended):
            return ready.outcome()
        ended, run_id, chain = await _one_pass(hst, flow, ready[0], None, ready[1])
    return ended


def _refuse_on_the_side(flow: spec.FlowSpec[Any, Any]) -> None:
    # A server importing a user's file to check an answer must not start the flow the
    # file calls at module level: the run would be someone's, started by nobody.
    if loader.importing_on_the_side():
        raise errors.FlowLoadError(
            f"{flow.entrypoint} calls flow {flow.name!r} when imported; put that call under "
            '`if __name__ == "__main__":`'
        )


def _drive(
    hst: host.Host,
    flow: spec.FlowSpec[Any, Any],
    run: records.RunRecord,
    parameters: dict[str, Any] | None,
) -> Any:
    # The caller of a flow blocks until its run ends, as in Prefect. While the run
    # is suspended this thread holds none of the flow's stack, only this loop.
    while True:
        try:
            return runs.execute_run(hst, flow, run, parameters)
        except errors.RunSuspended as suspended:
            # Leave the except block before waiting: the exception's traceback
            # holds every frame of the flow, which a suspended run must not keep.
            chain = suspended.chain
        except errors.RunAborted:
            ended = _ended(hst, run.id)
            if ended is None:
                raise
            return ended.outcome()
        ready = _await_ready(hst, run.id, chain)
        if not isinstance(ready, records.RunRecord):
            return ready.outcome()
        run, parameters = ready, None


async def _one_pass(
    hst: host.Host,
    flow: spec.FlowSpec[Any, Any],
    run: records.RunRecord,
    parameters: dict[str, Any] | None,
    journal_steps: list[records.StepRecord] | None,
) -> tuple[Any, str, tuple[str, ...] | None]:
    """Execute the run until it ends or suspends: `(outcome, run id, chain if suspended)`."""
    try:
        value = await runs.execute_run_async(
            hst, flow, run, parameters, journal_steps=journal_steps
        )
    except errors.RunSuspended as suspended:
        return None, run.id, suspended.chain  # see _drive: the traceback must not outlive this
    except errors.RunAborted:
        ended = _ended(hst, run.id)
        if ended is None:
            raise
        return ended.outcome(), run.id, None
    return value, run.id, None


def _ended(hst: host.Host, run_id: str) -> _Ended | None:
    """The run, if it ended while taken away from this caller (cancelled, say)."""
    if hst.hub.closed_reason is not None:
        return None  # the process is shutting down; its store may be closed already
    current = hst.store.get_run(run_id)
    return _Ended(current) if current is not None and current.state.is_final else None


@dataclasses.dataclass(frozen=True)
class _Ended:
    """A run that another process finished while this caller waited for it."""

    run: records.RunRecord

    def outcome(self) -> Any:
        return runs.run_outcome(self.run)


def _ready_or_ended(
    hst: host.Host, run_id: str, *, claim: bool = True
) -> records.RunRecord | _Ended | None:
    """Claim the run if it became Pending; `_Ended` if it is final; else `None`.

    With `claim=False`, a Pending run is returned as it is, unclaimed.
    """
    # Its state alone first: a caller looks once after each suspension, and a run
    # still Waiting (nearly always) needs no more.
    state = hst.store.run_states([run_id]).get(run_id)
    if state is not None and not state.is_final and state is not RunState.PENDING:
        return None
    current = hst.store.get_run(run_id)
    if current is None:
        raise errors.RunNotFound(run_id)
    if current.state.is_final:
        return _Ended(current)
    if current.state is not RunState.PENDING:
        return None
    if not claim:
        return current
    return hst.store.transition(run_id, (RunState.PENDING,), _claim_change(hst))


def _claim_change(hst: host.Host) -> records.StateChange:
    return records.StateChange(
        RunState.RUNNING,
        at=time.time(),
        reason="resumed by the process that started it",
        lease_owner=hst.owner,
        lease_expires_at=hst.lease_until(),
    )


def _claim_with_journal(
    hst: host.Host, run_id: str
) -> tuple[records.RunRecord, list[records.StepRecord]] | _Ended | None:
    # One trip to a store thread: claim the run and read its journal.
    claimed = hst.store.transition(run_id, (RunState.PENDING,), _claim_change(hst))
    if claimed is not None:
        return claimed, hst.store.get_steps(run_id)
    # Not Pending any more: ended (another process ran it), or someone else holds it.
    found = _ready_or_ended(hst, run_id, claim=False)
    return found if isinstance(found, _Ended) else None


def _await_ready(hst: host.Host, run_id: str, chain: tuple[str, ...]) -> records.RunRecord | _Ended:
    signal = hst.hub.watch_run(run_id, chain)
    watcher.ensure_watcher(hst)
    try:
        while True:
            _check_open(hst, run_id)
            found = hst.hub.take_handed(run_id) or _ready_or_ended(hst, run_id)
            if found is not None:
                return found
            # Woken by the hub: an answer here, a timer, the watcher relaying an
            # answer given elsewhere, or its sweep seeing the run ended elsewhere.
            signal.wait(_NO_TIMEOUT)
            signal.clear()
    finally:
        _stop_watching(hst, run_id, signal)


async def _await_ready_async(
    hst: host.Host, run_id: str, chain: tuple[str, ...]
) -> tuple[records.RunRecord, list[records.StepRecord]] | _Ended:
    """Async version of `_await_ready`; also returns the claimed run's journal."""
    signal = hst.hub.watch_run(run_id, chain, asyncio.get_running_loop())
    watcher.ensure_watcher(hst)
    try:
        while True:
            _check_open(hst, run_id)
            handed = hst.hub.take_handed(run_id)
            if handed is not None:
                return handed, await _journal(hst, run_id)
            # A quick read, done on the loop; only a claim is a write worth offloading.
            peek = _ready_or_ended(hst, run_id, claim=False)
            if isinstance(peek, _Ended):
                return peek
            if peek is not None:
                claimed = await steps.offload(_claim_with_journal, hst, run_id)
                if claimed is not None:
                    return claimed
            # A bare future, not `wait_async`: one coroutine frame less per suspended run.
            pending = signal.pending()
            if pending is not None:
                await pending
            signal.clear()
    finally:
        _stop_watching(hst, run_id, signal)


async def _journal(hst: host.Host, run_id: str) -> list[records.StepRecord]:
    if offloading.reads_in_place(hst.store):
        return hst.store.get_steps(run_id)  # a quick read of a local file: on the loop
    return await steps.offload(hst.store.get_steps, run_id)


def _check_open(hst: host.Host, run_id: str) -> None:
    """A caller stops waiting for its run when this process shuts down.

    Raises:
        errors.RunAborted: The host closed.
    """
    if hst.hub.closed_reason is not None:
        raise errors.RunAborted(run_id, hst.hub.closed_reason)


def _stop_watching(hst: host.Host, run_id: str, signal: hub.Signal) -> None:
    # A run handed over just as its caller gave up waiting goes back to Pending.
    untaken = hst.hub.unwatch_run(run_id, signal)
    if untaken is not None:
        answers.give_back(hst, untaken)
