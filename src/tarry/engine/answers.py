"""Answering waits: validate, close first-wins, wake the waiter. Also timeouts.

Every way of answering (Python, API, UI, CLI, links, email) ends in `submit_input`:
the answer is validated against the wait's input model *before* it is accepted; an
invalid answer raises `InputInvalid` with field errors and the run keeps waiting.
Closing is one store transaction that only succeeds while the wait is open, so the
first valid answer wins and every later one gets `AlreadyAnswered`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Collection
from typing import Any

from tarry import boundary, errors, host, serialization
from tarry.engine import input_spec
from tarry.states import RunState, StepStatus, WaitKind, WaitStatus
from tarry.storage import port, records, rules

__all__ = [
    "Submitted",
    "consume_early",
    "fire_timeout",
    "give_back",
    "journal_entry",
    "notify",
    "resume_as",
    "submit_input",
    "tell_blocked_senders",
    "unanswerable",
    "wait_spec",
]


@dataclasses.dataclass(frozen=True)
class Submitted:
    """What happened to an answer."""

    wait: records.WaitRecord | None
    """The wait it answered, or `None` when it was kept for a wait not reached yet."""
    early_input_id: int | None = None
    """The id of the kept answer, when it was kept."""


def journal_entry(
    wait: records.WaitRecord, value: Any, at: float, *, given: bool = False
) -> records.StepRecord:
    """The journal entry a wait's outcome becomes: which alternative won, and its value.

    Args:
        wait: The winning wait (alternative).
        value: The accepted answer (JSON data), or `None` for a timer.
        at: When it was closed.
        given: The value is the flow's declared timeout value, returned as it is.
    """
    result = {"alt": wait.alt, "value": value, "given": given}
    return rules.wait_entry(wait, serialization.dumps(result), at)


def _failed_entry(wait: records.WaitRecord, exc: Exception, at: float) -> records.StepRecord:
    entry = journal_entry(wait, None, at)
    error = serialization.dumps(serialization.error_to_json(exc))
    return dataclasses.replace(entry, status=StepStatus.FAILED, result=None, error=error)


def wait_spec(hst: host.Host, wait: records.WaitRecord) -> input_spec.InputSpec | None:
    """The input spec of a wait: the live one if it was opened here, else rebuilt."""
    live = hst.hub.spec(wait.id)
    if live is not None:
        return live  # type: ignore[no-any-return]
    if wait.spec is None:
        return None
    # The model's file is imported with a time limit: a file that runs its flow at
    # import would hold the answer (and the server) for ever; the stored schema is used then.
    timeout = hst.settings.import_timeout_seconds
    return input_spec.InputSpec.from_json(json.loads(wait.spec), import_timeout=timeout)


def _validated(hst: host.Host, wait: records.WaitRecord, data: Any) -> Any:
    spec = wait_spec(hst, wait)
    if spec is None:
        if data not in (None, {}):
            raise errors.InputInvalid(
                [errors.FieldError((), "this wait takes no input; resume it without one")]
            )
        return None
    return input_spec.validate(spec, data)


def _target(
    store: port.Store, run_id: str, key: str | None, wait_id: str | None
) -> records.WaitRecord | None:
    """The wait an answer goes to.

    The open one, else the latest closed one (so a late answer hears "already
    answered"), else `None` (not reached yet).
    """
    if wait_id is not None:
        wait = store.get_wait(wait_id)
        if wait is None or wait.run_id != run_id:
            raise errors.NotWaiting(run_id, f"has no wait {wait_id}")
        return wait
    waits = [
        w for w in store.waits_of_run(run_id) if w.kind is WaitKind.INPUT and key in (None, w.name)
    ]
    still_open = [w for w in waits if w.status is WaitStatus.OPEN]
    if len(still_open) > 1 and key is None:
        names = ", ".join(sorted({w.name for w in still_open}))
        raise errors.NotWaiting(run_id, f"waits for several inputs ({names}); name one with key=")
    if still_open:
        return still_open[0]
    return waits[-1] if waits else None


def submit_input(
    run_id: str,
    data: Any = None,
    *,
    key: str | None = None,
    wait_id: str | None = None,
    responder: str | None = None,
    channel: str = "python",
    prompt: str | None = None,
    hst: host.Host | None = None,
) -> Submitted:
    """Answer a run's wait.

    Args:
        run_id: The run.
        data: The answer: a dict of fields, a bare value for a plain-type input, or
            `None` to accept the form's initial data.
        key: The name of the wait (needed when the run waits for several, and to
            answer a named wait the run has not reached yet).
        wait_id: The exact wait (as shown by the API and UI), instead of `key`.
        responder: Who answers (stored with the answer).
        channel: How the answer came (python, api, ui, cli, link, email, ...).
        prompt: The prompt the responder saw (default: the wait's description).
        hst: The host; this process's by default.

    Returns:
        The wait answered, or, for a named wait not reached yet, the kept answer.

    Raises:
        errors.InputInvalid: The answer does not fit the input model; nothing changed.
        errors.AlreadyAnswered: Another answer won first.
        errors.NotWaiting: The run has no open wait for this answer and cannot get one.
        errors.RunNotFound: No run has this id.
    """
    hst = hst or host.get_host()
    wait = _target(hst.store, run_id, key, wait_id)
    who = _Who(responder, channel, prompt)
    if wait is None:
        run = hst.store.get_run(run_id)
        if run is None:
            raise errors.RunNotFound(run_id)
        return _keep_early(hst, run, key, data, who)
    if wait.status is not WaitStatus.OPEN:
        raise _closed(hst, wait)
    value = _validated(hst, wait, data)
    # Again after validation: a model coerces the text "NaN" or "1e999" into a float
    # that JSON cannot hold, which would be stored as null.
    boundary.check(hst.settings, "the answer", value)
    return Submitted(_close(hst, wait, value, who))


def _closed(hst: host.Host, wait: records.WaitRecord) -> errors.TarryError:
    # A wait closed with its run (cancelled) says so, not "another wait won".
    if wait.status is WaitStatus.CANCELLED:
        run = hst.store.get_run(wait.run_id)
        if run is not None and run.state is RunState.CANCELLED:
            return errors.RunEnded(run.id, run.state.value, "answered")
    return _already(wait)


@dataclasses.dataclass(frozen=True)
class _Who:
    responder: str | None
    channel: str
    prompt: str | None = None


def _keep_early(
    hst: host.Host, run: records.RunRecord, key: str | None, data: Any, who: _Who
) -> Submitted:
    if key is None or run.state.is_final:
        raise errors.NotWaiting.not_paused(run.id, run.state.value)
    early = records.EarlyInput(
        run_id=run.id,
        name=key,
        data=serialization.dumps(data),
        sent_at=hst.clock.now(),
        responder=who.responder,
        channel=who.channel,
    )
    early_id = hst.store.add_early_input(early)
    _hand_to_opened(hst, run.id, key)
    return Submitted(None, early_id)


def _hand_to_opened(hst: host.Host, run_id: str, name: str) -> None:
    """Give kept answers to the wait `name` if the run opened it meanwhile.

    The run looks for kept answers just after opening a wait. An answer that
    looked for the wait just before it opened, and was stored just after the
    run looked, would otherwise be kept for ever. Each side stores, then looks,
    so whichever looks last finds the other; if both hand it over, the first
    close wins and the other is a no-op.
    """
    wait = _target(hst.store, run_id, name, None)
    if wait is not None and wait.status is WaitStatus.OPEN:
        consume_early(hst, wait)


def _close(
    hst: host.Host,
    wait: records.WaitRecord,
    value: Any,
    who: _Who,
    early_input_id: int | None = None,
) -> records.WaitRecord:
    at = hst.clock.now()
    spec = wait_spec(hst, wait)
    prompt = who.prompt if who.prompt is not None else (spec.description if spec else None)
    close = records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.ANSWERED,
        at=at,
        step=journal_entry(wait, value, at),
        answer=serialization.dumps(value),
        responder=who.responder,
        channel=who.channel,
        prompt=prompt,
        early_input_id=early_input_id,
        reason=f"{wait.name!r} answered" + (f" by {who.responder}" if who.responder else ""),
        resume_as=resume_as(hst, wait.run_id, at),
    )
    return _apply(hst, close).wait


def resume_as(hst: host.Host, run_id: str, at: float) -> records.StateChange | None:
    """How a close made here resumes `run_id` if it is suspended (see `WaitClose.resume_as`).

    When a caller here awaits the run, it resumes leased to this process, so the
    caller continues without a claim of its own.
    """
    if hst.hub.awaited_root(run_id) is None:
        return None
    return records.StateChange(
        RunState.RUNNING,
        at=at,
        reason="resumed by the process that awaits it",
        lease_owner=hst.owner,
        lease_expires_at=hst.lease_until(),
    )


def _apply(hst: host.Host, close: records.WaitClose) -> records.WaitClosed:
    closed = hst.store.close_wait(close)
    if closed is None:
        raise errors.NotWaiting(close.step.run_id, f"has no wait {close.wait_id}")
    if not closed.won:
        raise _closed(hst, closed.wait)  # a cancel that came first says the run ended
    notify(hst, closed, close.step)
    return closed


def _already(wait: records.WaitRecord) -> errors.AlreadyAnswered:
    return errors.AlreadyAnswered(wait.id, wait.responder, wait.closed_at, wait.status.value)


def notify(hst: host.Host, closed: records.WaitClosed, step: records.StepRecord) -> None:
    """Wake who waits here for a wait that was just closed (and the run it resumed)."""
    hst.hub.note_closed_here(closed.wait.id, closed.wait.closed_at or hst.clock.now())
    hst.hub.closed(closed.wait.id, step)
    hst.hub.forget_specs([closed.wait.id])
    if closed.ready_run_id is not None:
        hst.hub.run_ready(closed.ready_run_id)
    if closed.resumed_run is not None and not hst.hub.hand_over(closed.resumed_run):
        give_back(hst, closed.resumed_run)


def give_back(hst: host.Host, run: records.RunRecord) -> None:
    """Make a run claimed for a caller that no longer waits Pending, for anyone to claim."""
    change = records.StateChange(
        RunState.PENDING,
        at=hst.clock.now(),
        reason="its caller stopped waiting",
        lease_owner=None,
        lease_expires_at=None,
        require_owner=hst.owner,
    )
    if hst.store.transition(run.id, (RunState.RUNNING,), change) is not None:
        hst.hub.run_ready(run.id)


def consume_early(hst: host.Host, wait: records.WaitRecord) -> bool:
    """Answer a just-opened wait with an answer kept for it, if a valid one was sent.

    Invalid kept answers are rejected with their field errors.
    """
    for early in hst.store.pending_early_inputs(wait.run_id, wait.name):
        try:
            value = _validated(hst, wait, serialization.loads(early.data))
        except errors.InputInvalid as exc:
            hst.store.reject_early_input(early.id or 0, str(exc))
            _log_refused(hst, wait, early, exc)
            continue
        try:
            _close(hst, wait, value, _Who(early.responder, early.channel or "early"), early.id)
        except errors.AlreadyAnswered:
            return True
        return True
    return False


def _log_refused(
    hst: host.Host, wait: records.WaitRecord, early: records.EarlyInput, exc: errors.InputInvalid
) -> None:
    # Its sender heard "kept for later" long ago: the run's log is where the refusal
    # shows (UI, API, CLI), so nobody waits for an answer that was dropped.
    who = early.responder or early.channel or "someone"
    line = f"an answer sent early by {who} for {wait.name!r} was refused: {exc}"
    record = records.LogRecord(wait.run_id, hst.clock.now(), logging.WARNING, line, logger="tarry")
    hst.store.add_logs([record])


def fire_timeout(hst: host.Host, wait: records.WaitRecord) -> bool:
    """Apply a due wait's timeout outcome, unless it was answered first.

    Returns:
        Whether this call closed the wait.
    """
    at = hst.clock.now()
    try:
        step = _timeout_entry(hst, wait, at)
    except errors.InputInvalid as exc:
        step = _failed_entry(wait, exc, at)
    close = records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.TIMED_OUT,
        at=at,
        step=step,
        responder=None,
        channel="timer",
        reason=f"{wait.name!r} reached its deadline",
        resume_as=resume_as(hst, wait.run_id, at),
    )
    closed = hst.store.close_wait(close)
    if closed is None or not closed.won:
        return False
    notify(hst, closed, step)
    return True


def _timeout_entry(hst: host.Host, wait: records.WaitRecord, at: float) -> records.StepRecord:
    outcome = json.loads(wait.on_timeout)
    kind = outcome.get("kind", "fail")
    if wait.kind is WaitKind.TIMER or kind == "fire":
        return journal_entry(wait, None, at)
    if kind == "default":
        return journal_entry(wait, _validated(hst, wait, None), at)
    if kind == "value":
        return journal_entry(wait, outcome.get("value"), at, given=True)
    seconds = (wait.deadline or at) - wait.created_at
    return _failed_entry(wait, errors.WaitTimeout(wait.run_id, _described(wait), seconds), at)


def _described(wait: records.WaitRecord) -> str:
    return "the pause" if wait.name == "pause" else f"input {wait.name!r}"


def unanswerable(
    message: records.MessageRecord, ended: RunState, replied_to: Collection[str | None]
) -> bool:
    """Whether `message`, sent to a run that ended in state `ended`, waits for a reply in vain.

    A reply expects no reply, and a message that was answered has its reply. Of the
    others, a message the ended run never took can no longer be answered, and
    neither can one it held when it failed, crashed or was cancelled. A message it
    took and then completed without answering was one-way (a "bye", the seeds'
    `__EXIT__`): its sender is not waiting on that run, so its receives go on.
    """
    if message.reply_to is not None or message.key in replied_to:
        return False
    return message.status == "pending" or ended is not RunState.COMPLETED


def tell_blocked_senders(hst: host.Host, ended: records.RunRecord) -> int:
    """Fail the receives of runs that still wait for a reply from a run that ended.

    A run that sent `ended` a message it can no longer answer (`unanswerable`), and
    now waits for a message, gets `errors.RunFailed` from that receive instead of
    waiting for ever.

    Returns:
        How many receives were failed.
    """
    answered = {m.reply_to for m in hst.store.messages_of_run(ended.id, sent=True)}
    blocked = {
        m.sender_run_id
        for m in hst.store.messages_of_run(ended.id)
        if m.sender_run_id and unanswerable(m, ended.state, answered)
    }
    reason = f"it ended ({ended.state.value}) without answering"
    told = 0
    for sender_id in sorted(blocked):
        for wait in hst.store.waits_of_run(sender_id):
            if wait.kind is WaitKind.MESSAGE and wait.status is WaitStatus.OPEN:
                told += _fail_wait(hst, wait, errors.RunFailed(ended.id, ended.state.value, reason))
    return told


def fail_if_asked_the_ended(hst: host.Host, wait: records.WaitRecord) -> bool:
    """Fail a receive that waits for a reply from a run that already ended.

    The other half of `tell_blocked_senders`: a run that sent a message the other
    run can no longer answer (`unanswerable`) and opens its receive only after
    that run ended (or sent it to a run that had ended already) is told at once too.

    Returns:
        Whether the receive was failed.
    """
    store = hst.store
    sent = [m for m in store.messages_of_run(wait.run_id, sent=True) if m.reply_to is None]
    ended = {i: s for i, s in store.run_states([m.run_id for m in sent]).items() if s.is_final}
    if not ended:
        return False
    answered = {m.reply_to for m in store.messages_of_run(wait.run_id) if m.reply_to}
    for message in sorted(sent, key=lambda m: m.run_id):
        state = ended.get(message.run_id)
        if state is not None and unanswerable(message, state, answered):
            reason = f"it ended ({state.value}) without answering"
            return _fail_wait(hst, wait, errors.RunFailed(message.run_id, state.value, reason))
    return False


def _fail_wait(hst: host.Host, wait: records.WaitRecord, exc: Exception) -> bool:
    at = hst.clock.now()
    close = records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.ANSWERED,
        at=at,
        step=_failed_entry(wait, exc, at),
        channel="peer-ended",
        reason=str(exc),
        resume_as=resume_as(hst, wait.run_id, at),
    )
    closed = hst.store.close_wait(close)
    if closed is None or not closed.won:
        return False
    notify(hst, closed, close.step)
    return True
