"""Finance challenge 1: pause for a typed "Approve" before an expensive training run.

Training runs that cost over $1k wait for finance. The approver types a string;
anything but "Approve" stops the run. Start it with
`tarry run examples/finance/challenge_1.py:train_model`, answer it in the web UI's
inbox or with `tarry resume RUN --input '"Approve"'`.
"""

from __future__ import annotations

from tarry import flow, get_run_logger, pause_flow_run, task

LIMIT_USD = 1000


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
        answer = pause_flow_run(wait_for_input=str, timeout=3600)
        if answer != "Approve":
            get_run_logger().info("finance said %r: not training", answer)
            return "not approved"
    return train()


if __name__ == "__main__":
    print(train_model())
