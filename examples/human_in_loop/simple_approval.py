"""Seed 001, human in the loop: simple approval. Request, wait for a person, then act.

The flow describes what it is about to do, waits for a decision (a typed form: Approve or
Reject buttons, your name, why), then publishes the data or cancels. While it waits it costs
nothing.

Run it, then answer in the UI (`tarry server`, http://127.0.0.1:4300, the Inbox) or from
another terminal in the same folder:

    python examples/human_in_loop/simple_approval.py
    tarry inputs ls
    tarry resume RUN_ID --set approved=true --set approver=Ada
"""

from __future__ import annotations

from pydantic import Field

from tarry import flow, pause_flow_run, runtime, task
from tarry.input import RunInput


class Decision(RunInput):
    approved: bool = Field(description="Approve to publish, Reject to cancel.")
    approver: str = Field(min_length=2, max_length=80, description="Kept with the decision.")
    comments: str = Field("", max_length=500, description="Why, in a sentence (optional).")


@task
def request_approval(dataset: str, rows: int) -> str:
    print(
        "Waiting for approval: answer in the UI (http://127.0.0.1:4300) or with "
        f"`tarry resume {runtime.flow_run.id} --set approved=true --set approver=YOUR_NAME`"
    )
    return (
        f"## Publish `{dataset}`\n\n"
        f"**{rows:,} rows** will replace the production table `{dataset}`. Approve?"
    )


@task
def process_data(dataset: str, rows: int, approver: str) -> str:
    return f"published {rows:,} rows of {dataset} (approved by {approver})"


@task
def cancel_operation(dataset: str, approver: str, comments: str) -> str:
    return f"cancelled publishing {dataset}: rejected by {approver} ({comments or 'no reason'})"


@flow(log_prints=True)
def simple_approval(dataset: str = "customers", rows: int = 12_500) -> str:
    details = request_approval(dataset, rows)
    decision = pause_flow_run(
        Decision.with_initial_data(description=details), timeout=24 * 3600, key="approval"
    )
    if decision.approved:
        return process_data(dataset, rows, decision.approver)
    return cancel_operation(dataset, decision.approver, decision.comments)


if __name__ == "__main__":
    print(simple_approval())
