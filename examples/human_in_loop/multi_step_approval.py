"""Seed 001, human in the loop: multi-step approval. The manager, then finance, must approve.

Each gate is its own question in the inbox with its own typed form: the decision, who
decides and their comments (required when rejecting). A rejection at any gate stops the
change there; later gates are never asked. Every decision is kept with the run.

Run it, then answer each gate in the UI (http://127.0.0.1:4300) or from another terminal in
the same folder:

    python examples/human_in_loop/multi_step_approval.py
    tarry resume RUN_ID --key manager --set decision=approve --set approver=Ada
    tarry resume RUN_ID --key finance --set decision=approve --set approver=Bob
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from tarry import flow, get_run_logger, pause_flow_run, runtime, task
from tarry.input import RunInput

GATES = {"manager": "Manager review", "finance": "Finance review"}


class GateApproval(RunInput):
    decision: Literal["approve", "reject"] = Field(description="Your decision for this gate.")
    approver: str = Field(min_length=2, max_length=80, description="Kept with the decision.")
    comments: str = Field(
        "",
        max_length=500,
        validate_default=True,
        description="Conditions or remarks; required when you reject.",
    )

    @field_validator("comments")
    @classmethod
    def reason_when_rejecting(cls, comments: str, info: ValidationInfo) -> str:
        if info.data.get("decision") == "reject" and not comments.strip():
            raise ValueError("say why you reject")
        return comments


@task
def draft_change(title: str, budget: int) -> str:
    print(
        "Waiting for the manager, then finance: answer in the UI (http://127.0.0.1:4300) or with "
        f"`tarry resume {runtime.flow_run.id} --key manager --set decision=approve "
        "--set approver=YOUR_NAME` (then --key finance)"
    )
    return f"**{title}**, budget **${budget:,}**"


@task
def record_decision(gate: str, answer: GateApproval) -> str:
    line = f"{GATES[gate]}: {answer.decision} by {answer.approver}"
    get_run_logger().info("%s%s", line, f" ({answer.comments})" if answer.comments else "")
    return line


@task
def carry_out(title: str, decisions: list[str]) -> str:
    return f"{title}: approved ({'; '.join(decisions)})"


def _ask(gate: str, change: str, decisions: list[str]) -> GateApproval:
    so_far = "".join(f"\n* {line}" for line in decisions) or "\n* (first gate)"
    ask = GateApproval.with_initial_data(
        description=f"## {GATES[gate]}\n\n{change}\n\nDecisions so far:{so_far}"
    )
    answer: GateApproval = pause_flow_run(ask, timeout=7 * 24 * 3600, key=gate)
    return answer


@flow(log_prints=True)
def multi_step_approval(title: str = "Move billing to a new provider", budget: int = 48_000) -> str:
    change = draft_change(title, budget)
    decisions: list[str] = []
    for gate, label in GATES.items():
        answer = _ask(gate, change, decisions)
        decisions.append(record_decision(gate, answer))
        if answer.decision == "reject":
            return f"{title}: rejected at {label.lower()} by {answer.approver}: {answer.comments}"
    return carry_out(title, decisions)


if __name__ == "__main__":
    print(multi_step_approval())
