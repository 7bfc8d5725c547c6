"""Control signals: they unwind a flow's stack and are never caught by user code."""

from __future__ import annotations

__all__ = [
    "ControlSignal",
    "RunAborted",
    "RunSuspended",
    "TimeoutInterrupt",
]


# Control signals derive from BaseException: a user's `except Exception:` around a
# step must not stop tarry from unwinding the flow's stack.
class ControlSignal(BaseException):
    """Internal signal that unwinds a flow's stack; never catch it."""


class RunAborted(ControlSignal):
    """This run was taken away from the thread executing it (timeout or cancellation)."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"run {run_id} aborted: {reason}")
        self.run_id = run_id
        self.reason = reason


class RunSuspended(ControlSignal):
    """The run leaves memory until its wait ends: its stack unwinds, and replay resumes it."""

    def __init__(self, run_id: str, reason: str, chain: tuple[str, ...] = ()) -> None:
        super().__init__(f"run {run_id} suspended: {reason}")
        self.run_id = run_id
        self.reason = reason
        self.chain = chain or (run_id,)


class TimeoutInterrupt(ControlSignal):
    """The call ran past its `timeout_seconds` and was interrupted where it was.

    Raised in the thread running a sync task's or flow's body, through its `finally`
    blocks and past any `except Exception:`; the code that set the deadline replaces
    it with the `TaskTimeout` or `FlowTimeout` that callers see and the journal keeps.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("interrupted: the call ran past its timeout",)))
