"""The storage port's old home: its names, re-exported from `records`, `rules` and `port`.

Kept so that `base.RunRecord`, `base.Store`, `base.change_allowed` and the rest
work until every user imports the new modules.
"""

from __future__ import annotations

from tarry.storage.port import Store
from tarry.storage.records import (
    UNSET,
    DeploymentRecord,
    EarlyInput,
    LogRecord,
    MessageRecord,
    MessageSent,
    RunFilter,
    RunRecord,
    RunsCancelled,
    StateChange,
    StepRecord,
    TransitionRecord,
    Unset,
    WaitClose,
    WaitClosed,
    WaitRecord,
)
from tarry.storage.rules import (
    apply_change,
    cancel_change,
    change_allowed,
    closed_by,
    resumed_change,
    run_to_wake,
    step_order,
    suspend_change,
    wait_closed,
    wait_entry,
    woken_root_change,
)

__all__ = [
    "UNSET",
    "DeploymentRecord",
    "EarlyInput",
    "LogRecord",
    "MessageRecord",
    "MessageSent",
    "RunFilter",
    "RunRecord",
    "RunsCancelled",
    "StateChange",
    "StepRecord",
    "Store",
    "TransitionRecord",
    "Unset",
    "WaitClose",
    "WaitClosed",
    "WaitRecord",
    "apply_change",
    "cancel_change",
    "change_allowed",
    "closed_by",
    "resumed_change",
    "run_to_wake",
    "step_order",
    "suspend_change",
    "wait_closed",
    "wait_entry",
    "woken_root_change",
]
