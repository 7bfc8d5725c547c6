"""Automations at work: the evaluator that decides and the runner that acts.

`ensure_automations(hst)` starts both for a host (the server and workers call it,
with the watcher and the scheduler). They work where `store.serves_timers()` is
true, so on PostgreSQL one process evaluates and acts; see `automation_runtime.evaluator`
and `automation_runtime.actions`. The models and the pure evaluation are
`tarry.triggers`.
"""

from __future__ import annotations

from tarry import host
from tarry.automation_runtime.actions import ActionRunner
from tarry.automation_runtime.evaluator import AutomationEvaluator

__all__ = ["ActionRunner", "AutomationEvaluator", "automations_changed", "ensure_automations"]


def ensure_automations(hst: host.Host) -> tuple[AutomationEvaluator, ActionRunner]:
    """The host's evaluator and action runner, started on first use."""
    evaluator = hst.service(AutomationEvaluator)
    runner = hst.service(ActionRunner)
    evaluator.on_commit = lambda _firings: runner.kick()
    evaluator.start()
    runner.start()
    return evaluator, runner


def automations_changed(hst: host.Host) -> None:
    """Tell the host's evaluator, if it runs, that an automation was made, changed or removed."""
    found = hst.services.get(AutomationEvaluator.__name__)
    if isinstance(found, AutomationEvaluator):
        found.reload()
