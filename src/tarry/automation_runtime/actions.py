"""The action runner: runs each due action of the firings, and settles it.

Each pending action row is run where the evaluator runs (`store.serves_timers()`),
with its idempotency identity (see `automation_runtime.job`), and settled `done`
with what it did, `failed` with why, or, after an error a retry may mend (the store
or a mail server was down), pending again with a growing delay until it has been
tried `MAX_ATTEMPTS` times. A crash between acting and settling leaves the action
pending: run again, its identity makes its effect happen once.
"""

from __future__ import annotations

import logging
import threading

import pydantic

from tarry import clock as clock_module
from tarry import daemon, errors, host
from tarry.automation_runtime import effects, job
from tarry.storage import automations as records
from tarry.triggers import actions

__all__ = ["BATCH", "MAX_ATTEMPTS", "ActionRunner", "retry_delay"]

_log = logging.getLogger("tarry.automations")

BATCH = 50
"""The most actions one round runs."""
MAX_ATTEMPTS = 6
"""An action failing for a reason a retry may mend is tried this many times in all."""
_IDLE_SECONDS = 0.5
_RETRY_SECONDS = 1.0
_ACTION: pydantic.TypeAdapter[actions.ActionTypes] = pydantic.TypeAdapter(actions.ActionTypes)

#: Reasons no retry can mend: the action fails at once, saying why.
_FINAL = (
    ValueError,
    errors.NotFound,
    errors.ParameterError,
    errors.FlowLoadError,
    errors.InvalidTransition,
    errors.InputError,
    errors.RunEnded,
    errors.NotSupported,
    errors.SerializationError,
)


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of an action tried `attempts` times: 2, 4, 8, ... 300."""
    return float(min(300, 2 ** (attempts + 1)))


class ActionRunner(daemon.Daemon):
    """Runs the due actions of one host's store.

    Args:
        hst: The host.
    """

    def __init__(self, hst: host.Host) -> None:
        super().__init__("tarry-automation-actions")
        self.host = hst
        self._lock = threading.Lock()
        hst.on_close(self.stop)
        if isinstance(hst.clock, clock_module.FakeClock):
            hst.clock.on_advance(self.kick)

    def _step(self) -> float:
        try:
            if not self.host.store.serves_timers():
                return _RETRY_SECONDS
            return 0.0 if self.run_due() == BATCH else _IDLE_SECONDS
        except Exception:  # noqa: BLE001 - a failing store must not end the runner
            _log.exception("the tarry automation action runner's round failed; trying again")
            return _RETRY_SECONDS

    def run_due(self) -> int:
        """Run the actions due now, on the calling thread.

        Returns:
            How many were run.
        """
        with self._lock:
            if self.stopping:
                return 0
            due = self.host.store.due_actions(self.host.clock.now(), BATCH)
            for firing, row in due:
                self._act(firing, row)
            return len(due)

    def _act(self, firing: records.FiringRecord, row: records.ActionRecord) -> None:
        try:
            action = _ACTION.validate_json(row.action)
            detail = effects.perform(job.make_job(self.host, firing, row, action))
        except _FINAL as error:
            self._settle(firing, row, records.ActionStatus.FAILED, _reason(error))
        except Exception as error:  # noqa: BLE001 - any other error may pass: try again
            self._retry(firing, row, _reason(error))
        else:
            self._settle(firing, row, records.ActionStatus.DONE, detail)

    def _retry(self, firing: records.FiringRecord, row: records.ActionRecord, reason: str) -> None:
        if row.attempts + 1 >= MAX_ATTEMPTS:
            self._settle(firing, row, records.ActionStatus.FAILED, f"{reason} (gave up)")
            return
        retry_at = self.host.clock.now() + retry_delay(row.attempts)
        self._settle(firing, row, records.ActionStatus.PENDING, reason, retry_at=retry_at)

    def _settle(
        self,
        firing: records.FiringRecord,
        row: records.ActionRecord,
        status: records.ActionStatus,
        detail: str,
        *,
        retry_at: float | None = None,
    ) -> None:
        if status is not records.ActionStatus.DONE:
            _log.warning("automation action %s/%d: %s", firing.id, row.index, detail)
        now = self.host.clock.now()
        self.host.store.settle_action(
            firing.id, row.index, status, detail, at=now, retry_at=retry_at
        )


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return (
        text
        if isinstance(error, errors.TarryError | ValueError)
        else f"{type(error).__name__}: {text}"
    )
