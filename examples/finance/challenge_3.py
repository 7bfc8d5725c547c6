"""Finance challenge 3: the approver picks "Approve" or "Disapprove" from a list.

Start it with `tarry run examples/finance/challenge_3.py:train_model`.
"""

from __future__ import annotations

from typing import Literal

from tarry import flow, get_run_logger, pause_flow_run, task
from tarry.input import RunInput

LIMIT_USD = 1000


class Approval(RunInput):
    decision: Literal["Approve", "Disapprove"]


@task
def estimate_cost() -> int:
    return 1500


@task
def train() -> str:
    return "model trained"


@flow
def train_model() -> str:
    cost = estimate_cost()
    if cost > LIMIT_USD:
        ask = Approval.with_initial_data(
            description=f"Training will cost **${cost:,}**.", decision="Approve"
        )
        answer = pause_flow_run(wait_for_input=ask, timeout=3600)
        if answer.decision != "Approve":
            get_run_logger().info("finance disapproved: not training")
            return "not approved"
    return train()


if __name__ == "__main__":
    print(train_model())
