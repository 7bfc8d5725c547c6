"""Automations as stored: their records, the evaluator's durable state, firings and actions.

Storage knows no trigger semantics and no pydantic: a trigger, an action, a
trigger state and a firing's context are JSON text that the trigger code
(`tarry.triggers`) writes and reads. What storage guarantees is the shape of the
writes:

* an automation's name is unique;
* one `EvaluationCommit` (the states, timers and firings an evaluation of some
  events produced, and the event cursor moved past them) is written in one
  transaction, and only while the stored cursor is still the one the evaluation
  started from, so two evaluators never both write the same events' effects;
* each firing's actions are rows that stay `pending` until the action runner
  settles them, so a crash between firing and acting leaves them due.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from enum import StrEnum

__all__ = [
    "FIRING_KINDS",
    "ActionRecord",
    "ActionStatus",
    "AutomationRecord",
    "AutomationTimer",
    "EvaluationCommit",
    "EvaluatorState",
    "FiringRecord",
    "StateKey",
    "TriggerStateRecord",
    "check_settlement",
]

FIRING_KINDS = ("triggered", "resolved")
"""The `kind` of a firing: its trigger fired, or (a metric or proactive trigger) resolved."""

StateKey = tuple[str, str]
"""`(automation_id, key)`: names one trigger state or one timer."""


class ActionStatus(StrEnum):
    """Where one action of a firing is."""

    #: Not done yet: due at its `due_at` (first try, or a retry after a failure).
    PENDING = "pending"
    #: Done; its effect happened.
    DONE = "done"
    #: Given up; `detail` says why.
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationRecord:
    """An automation as stored: a trigger and the actions it takes."""

    id: str
    """Its id (a uuid's text)."""
    name: str
    """Unique among automations, so reading one by name is never ambiguous."""
    description: str
    """What it is for, as its author wrote it."""
    enabled: bool
    """A disabled automation is kept but not evaluated."""
    trigger: str
    """The trigger, JSON text."""
    actions: str
    """The actions taken when the trigger fires, a JSON list."""
    actions_on_trigger: str
    """More actions taken when it fires, a JSON list (Prefect's field of that name)."""
    actions_on_resolve: str
    """Actions taken when it resolves, a JSON list."""
    created_at: float
    """When it was created; an update keeps it."""
    updated_at: float
    """When it last changed (an update, enabling or disabling)."""


@dataclasses.dataclass(frozen=True, slots=True)
class TriggerStateRecord:
    """One piece of an automation's durable evaluation state (opaque to storage)."""

    automation_id: str
    """The automation it belongs to."""
    key: str
    """Which part of the trigger and which `for_each` bucket (the trigger code's naming)."""
    state: str
    """The state, JSON text (counts in a window, compound or sequence progress, ...)."""
    updated_at: float
    """When it was last written."""


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationTimer:
    """A deadline the evaluator must look at even if no event comes (proactive, metric)."""

    automation_id: str
    """The automation it belongs to."""
    key: str
    """Which part of the trigger and bucket it serves; one timer per key."""
    due_at: float
    """When it is due."""


@dataclasses.dataclass(frozen=True, slots=True)
class FiringRecord:
    """One time an automation fired (or resolved): the reason its actions run."""

    id: str
    """Its id; the actions' idempotency identities derive from it. Stored once: a
    commit that names a stored firing again leaves it (and its actions) as it is."""
    automation_id: str
    """The automation that fired; kept when the automation is deleted (history)."""
    fired_at: float
    """When it fired."""
    kind: str
    """`"triggered"` or `"resolved"` (see `FIRING_KINDS`)."""
    key: str
    """The trigger state key (bucket) that fired."""
    triggering_event: str
    """The event that made it fire, JSON text, or `""` (a timer or metric fired it)."""
    context: str
    """What the actions may use in templates, JSON text."""

    def __post_init__(self) -> None:
        if self.kind not in FIRING_KINDS:
            raise ValueError(f"firing kind must be one of {FIRING_KINDS}, not {self.kind!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action of a firing, and how its execution went."""

    firing_id: str
    """The firing it belongs to."""
    index: int
    """Its place among the firing's actions, from 0; with `firing_id`, its identity."""
    action: str
    """The action, JSON text."""
    status: ActionStatus = ActionStatus.PENDING
    """Pending until done or given up."""
    attempts: int = 0
    """How many times it was settled (each execution counts, whatever its outcome)."""
    detail: str = ""
    """What the last attempt said: an error, or what was done."""
    due_at: float = 0.0
    """When it is due (first try or retry); `0.0` is at once."""
    settled_at: float | None = None
    """When it became done or failed; `None` while pending."""


@dataclasses.dataclass(frozen=True, slots=True)
class EvaluatorState:
    """Everything the evaluator keeps durably, as `AutomationStore.evaluator_state` reads it."""

    cursor: int
    """The `seq` of the last event evaluated (0: none yet)."""
    states: list[TriggerStateRecord]
    """Every trigger state, by automation and key."""
    timers: list[AutomationTimer]
    """Every timer, earliest first."""
    commits: int = 0
    """How many evaluations were committed: pass it as `EvaluationCommit.commits_before`."""


@dataclasses.dataclass(frozen=True, slots=True)
class EvaluationCommit:
    """What one evaluation step writes, all or nothing (`AutomationStore.commit_evaluation`)."""

    cursor_before: int
    """The cursor the evaluation started from; the write happens only if it is still stored."""
    cursor_after: int
    """The `seq` of the last event this evaluation covered (may equal `cursor_before`)."""
    put_states: Sequence[TriggerStateRecord] = ()
    """States to store, each replacing the one of its `(automation_id, key)`."""
    delete_states: Sequence[StateKey] = ()
    """States to delete, by `(automation_id, key)`."""
    put_timers: Sequence[AutomationTimer] = ()
    """Timers to store, each replacing the one of its `(automation_id, key)`."""
    delete_timers: Sequence[StateKey] = ()
    """Timers to delete, by `(automation_id, key)`."""
    firings: Sequence[tuple[FiringRecord, Sequence[ActionRecord]]] = ()
    """New firings, each with its actions (pending)."""
    at: float = 0.0
    """When the evaluation was committed (stored with the cursor)."""
    commits_before: int | None = None
    """With it, the write also happens only if `EvaluatorState.commits` is still this.

    The cursor alone does not tell two evaluations of no new event apart (a timer
    fired: `cursor_after == cursor_before`); the count of commits does, since every
    commit adds one.
    """


def check_settlement(status: ActionStatus, retry_at: float | None) -> None:
    """Refuse a settlement that says nothing coherent (see `AutomationStore.settle_action`).

    Raises:
        ValueError: `PENDING` without `retry_at`, or `retry_at` with another status.
    """
    if (status == ActionStatus.PENDING) != (retry_at is not None):
        raise ValueError("an action goes back to pending with a retry_at, and only then")
