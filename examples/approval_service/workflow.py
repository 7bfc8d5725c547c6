"""The approval service's workflow (the Durable Task "human interaction" sample, on tarry).

`approval_workflow` records a request, then waits for whichever comes first: an
approver's answer, or the end of `timeout_hours`. The loser is cancelled for
good: a timer that lost never fires, and an answer that comes after the
deadline is refused ("already answered"). Waiting costs nothing: after a few
seconds the run leaves memory and is resumed by the answer or the deadline.

Run it as the worker (it deploys itself as `approval-workflow/workflow` and
executes its runs; `tarry server` on the same `TARRY_HOME` serves the API):

    python examples/approval_service/workflow.py

or let the server execute it: `tarry server --deploy
examples/approval_service/workflow.py:approval_workflow`. Start requests with
`app.py` next to this file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from tarry import flow, get_run_logger, task
from tarry.input import RunInput
from tarry.runtime import flow_run
from tarry.waits import Input, Timer, wait_any

APPROVAL = "approval"
"""The name of the input the approver answers (`resume_flow_run(..., key=APPROVAL)`)."""

DEPLOYMENT = "workflow"
"""The deployment's own name, as `tarry server --deploy .../workflow.py:...` names it."""


class ApprovalResponse(RunInput):
    """An approver's decision."""

    is_approved: bool = Field(description="Approve or reject the request.")
    approver: str = Field(min_length=1, max_length=100, description="Who decides.")
    comments: str = Field("", max_length=1000, description="Why, for the requester.")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@task
def submit_approval_request(request_id: str, requester: str, item: str) -> dict[str, Any]:
    """Record the request (a step: a replayed run does not record it twice)."""
    get_run_logger().info("approval request %s: %s asks for %r", request_id, requester, item)
    return {"request_id": request_id, "requester": requester, "item": item, "submitted_at": _now()}


@task
def process_approval(request: dict[str, Any], response: ApprovalResponse) -> dict[str, Any]:
    """Act on the approver's decision."""
    status = "approved" if response.is_approved else "rejected"
    get_run_logger().info("request %s %s by %s", request["request_id"], status, response.approver)
    return {
        **request,
        "status": status,
        "approver": response.approver,
        "comments": response.comments,
        "processed_at": _now(),
    }


@task
def process_timeout(request: dict[str, Any], timeout_hours: float) -> dict[str, Any]:
    """Nobody answered in time: close the request as timed out."""
    get_run_logger().info("request %s timed out after %g h", request["request_id"], timeout_hours)
    return {
        **request,
        "status": "timeout",
        "approver": None,
        "comments": f"no response within {timeout_hours:g} hour(s)",
        "processed_at": _now(),
    }


@flow
def approval_workflow(
    requester: str = "Alice", item: str = "Vacation Request", timeout_hours: float = 24.0
) -> dict[str, Any]:
    """Ask for an approval of `item` for `requester`; give up after `timeout_hours`.

    The defaults are for a run started without parameters (`tarry server --demo`).
    """
    request = submit_approval_request(str(flow_run.id), requester, item)
    ask = ApprovalResponse.with_initial_data(
        description=f"**{requester}** asks for **{item}**. Approve or reject it."
    )
    deadline = Timer(dt.timedelta(hours=timeout_hours), name="deadline")
    winner, response = wait_any(Input(APPROVAL, ask), deadline)
    if winner is deadline:
        return process_timeout(request, timeout_hours)
    return process_approval(request, response)


if __name__ == "__main__":
    approval_workflow.serve(DEPLOYMENT)
