"""Replay decisions: pure code, no I/O, shared by the sync and async drivers.

A run's journal maps step keys to what each step recorded. When the flow calls
a step, `Journal.decide` answers "already recorded?" and checks that the code
still makes the same call at that position; a different call means the code no
longer matches the run, and replaying on would give a wrong result.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from tarry import errors
from tarry.states import StepKind, StepStatus
from tarry.storage import records, rules

__all__ = ["Journal", "retry_delay"]


class Journal:
    """The recorded steps of one run, and what replay does with them.

    Args:
        run_id: The run.
        attempt: The flow attempt being executed.
        steps: The steps recorded so far.
    """

    def __init__(self, run_id: str, attempt: int, steps: Iterable[records.StepRecord] = ()) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self._steps = {step.key: step for step in steps}
        self._visited: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._steps)

    def has_receives(self) -> bool:
        """Whether the run received messages (so other runs may wait for its replies)."""
        with self._lock:
            return any(
                s.kind is StepKind.WAIT and s.name == "message" for s in self._steps.values()
            )

    def start_attempt(self, attempt: int) -> None:
        """Begin flow attempt `attempt`: steps that failed before will run again."""
        with self._lock:
            self.attempt = attempt
            self._visited.clear()

    def decide(self, key: str, name: str, kind: StepKind, digest: str) -> records.StepRecord | None:
        """The recorded outcome to replay for this call, or `None` to execute it.

        Args:
            key: The call's journal key.
            name: The task or flow name called.
            kind: What kind of step it is.
            digest: Digest of its inputs.

        Raises:
            errors.NondeterminismError: The journal holds a different call at `key`.
        """
        with self._lock:
            self._visited.add(key)
            step = self._steps.get(key)
        if step is None:
            return None
        if step.name != name or step.kind is not kind:
            raise errors.NondeterminismError(
                self.run_id,
                key,
                f"the journal recorded {step.kind.value} {step.name!r} here, "
                f"but the code now calls {kind.value} {name!r}",
            )
        if step.inputs_digest != digest:
            raise errors.NondeterminismError(
                self.run_id, key, f"{kind.value} {name!r} is now called with other arguments"
            )
        if step.status is StepStatus.FAILED and step.flow_attempt < self.attempt:
            return None
        return step

    def earlier(self, kind: StepKind, name: str, key: str) -> records.StepRecord | None:
        """The first completed step of `kind` named `name` reached before `key`, if any.

        Only steps this execution reached count (recorded now, or replayed), so
        the answer is the same on every replay.
        """
        with self._lock:
            found = [
                step
                for step in self._steps.values()
                if step.kind is kind
                and step.name == name
                and step.status is StepStatus.COMPLETED
                and step.key in self._visited
                and rules.step_order(step.key) < rules.step_order(key)
            ]
        return min(found, key=lambda s: rules.step_order(s.key)) if found else None

    def record(self, step: records.StepRecord) -> None:
        """Remember a step just stored."""
        with self._lock:
            self._steps[step.key] = step

    def check_complete(self) -> None:
        """Raise if this attempt skipped top-level steps it recorded earlier.

        Raises:
            errors.NondeterminismError: A recorded step was not reached on replay.
        """
        with self._lock:
            missed = [
                step
                for key, step in self._steps.items()
                if "." not in key and key not in self._visited and step.flow_attempt == self.attempt
            ]
        if missed:
            first = min(missed, key=lambda s: rules.step_order(s.key))
            raise errors.NondeterminismError(
                self.run_id,
                first.key,
                f"the journal recorded {first.kind.value} {first.name!r} here, "
                "but the code finished without calling it",
            )


def retry_delay(retries: int, delays: float | list[float], attempt: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or `None` when retries are used up.

    Args:
        retries: How many retries the policy allows.
        delays: One delay for every retry, or one per retry (the last repeats).
        attempt: The attempt that just failed, from 1.
    """
    if attempt > retries:
        return None
    if isinstance(delays, list):
        return float(delays[min(attempt, len(delays)) - 1]) if delays else 0.0
    return float(delays)
