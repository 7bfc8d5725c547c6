"""Finance challenge 4: Approve/Disapprove, then a 7-digit authorization code with no zeroes.

The code's rule lives in the input model, so the web form checks it in the
browser (HTML `pattern`) before anything is sent, and the server checks it
again for answers that come by API, CLI or email. Start it with
`tarry run examples/finance/challenge_4.py:train_model`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tarry import flow, get_run_logger, pause_flow_run, task
from tarry.input import RunInput

LIMIT_USD = 1000


class Approval(RunInput):
    decision: Literal["Approve", "Disapprove"] = Field(
        description="Finance's decision on this training run."
    )


class AuthorizationCode(RunInput):
    code: str = Field(
        pattern=r"^[1-9]{7}$",
        min_length=7,
        max_length=7,
        description="Seven digits, 1 to 9: no zeroes (they look too much like the letter O).",
    )


@task
def estimate_cost() -> int:
    return 1500


@task
def train(code: str) -> str:
    return f"model trained (authorization {code})"


@flow
def train_model() -> str:
    cost = estimate_cost()
    if cost <= LIMIT_USD:
        return train("not needed")
    ask = Approval.with_initial_data(
        description=f"## Training budget\n\nThis run is estimated at **${cost:,}**."
    )
    answer = pause_flow_run(wait_for_input=ask, timeout=3600, key="approval")
    if answer.decision != "Approve":
        get_run_logger().info("finance disapproved: not training")
        return "not approved"
    auth = pause_flow_run(
        wait_for_input=AuthorizationCode.with_initial_data(
            description="Approved. Enter the **authorization code** to start training."
        ),
        timeout=3600,
        key="authorization",
    )
    return train(auth.code)


if __name__ == "__main__":
    print(train_model())
