"""Seed 001, human in the loop: conditional approval. Only large payments wait for a person.

A payment up to the threshold is approved automatically and paid at once; above it, the flow
waits for finance's decision (approve or not, who, why) and pays only when approved.

Run it (the default amount is above the threshold), then answer in the UI
(http://127.0.0.1:4300) or from another terminal in the same folder:

    python examples/human_in_loop/conditional_approval.py [AMOUNT]
    tarry inputs ls
    tarry resume RUN_ID --set approved=true --set approver=Ada
"""

from __future__ import annotations

import sys

from pydantic import Field

from tarry import flow, get_run_logger, pause_flow_run, runtime, task
from tarry.input import RunInput

THRESHOLD_USD = 10_000


class PaymentDecision(RunInput):
    approved: bool = Field(description="Approve or reject the payment.")
    approver: str = Field(min_length=2, max_length=80, description="Kept with the decision.")
    comments: str = Field("", max_length=500, description="Why, in a sentence (optional).")


@task
def prepare_payment(payee: str, amount: float) -> str:
    return f"${amount:,.2f} to {payee}"


@task
def request_approval(payment: str) -> str:
    print(
        f"{payment} is over ${THRESHOLD_USD:,}: answer in the UI (http://127.0.0.1:4300) or with "
        f"`tarry resume {runtime.flow_run.id} --set approved=true --set approver=YOUR_NAME`"
    )
    return f"## Payment over ${THRESHOLD_USD:,}\n\nPay **{payment}**?"


@task
def pay(payment: str, approved_by: str) -> str:
    return f"paid {payment} (approved by {approved_by})"


@task
def hold(payment: str, approver: str, comments: str) -> str:
    return f"not paid: {payment} rejected by {approver} ({comments or 'no reason'})"


@flow(log_prints=True)
def conditional_approval(amount: float = 25_000, payee: str = "Acme Supplies") -> str:
    payment = prepare_payment(payee, amount)
    if amount <= THRESHOLD_USD:
        get_run_logger().info("%s is within $%s: approved automatically", payment, THRESHOLD_USD)
        return pay(payment, "auto-approval")
    ask = PaymentDecision.with_initial_data(description=request_approval(payment))
    decision = pause_flow_run(ask, timeout=3 * 24 * 3600, key="payment")
    if decision.approved:
        return pay(payment, decision.approver)
    return hold(payment, decision.approver, decision.comments)


if __name__ == "__main__":
    print(conditional_approval(float(sys.argv[1]) if len(sys.argv) > 1 else 25_000))
