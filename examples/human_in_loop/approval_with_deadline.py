"""Seed 001, human in the loop: waiting with a deadline, asking again, then giving up.

The flow asks the team lead and waits a few hours. If nobody answers in time it asks again,
one level up (department head, then director). After the last unanswered ask it gives up with
a result that says who was asked and for how long. The deadline is a durable timer: the run
holds no thread while it waits, and the timeout fires even if the process restarted.

Run it, then answer in the UI (http://127.0.0.1:4300) or from another terminal in the same
folder. HOURS is how long each ask stays open (default 4; 0.005 makes it 18 seconds, to watch
the asks escalate and the flow give up within a minute):

    python examples/human_in_loop/approval_with_deadline.py [HOURS]
    tarry inputs ls
    tarry resume RUN_ID --set approved=true --set approver=Ada
"""

from __future__ import annotations

import sys

from pydantic import Field

from tarry import flow, get_run_logger, pause_flow_run, runtime, task
from tarry.input import RunInput

ESCALATION = ("team lead", "department head", "director")


class AccessApproval(RunInput):
    approved: bool = Field(description="Approve to grant the access, Reject to refuse it.")
    approver: str = Field(min_length=2, max_length=80, description="Kept with the decision.")
    comments: str = Field("", max_length=500, description="Why, in a sentence (optional).")


@task
def announce(request: str) -> None:
    print(
        f"{request}: answer in the UI (http://127.0.0.1:4300) or with "
        f"`tarry resume {runtime.flow_run.id} --set approved=true --set approver=YOUR_NAME`"
    )


@task
def escalate(request: str, unanswered: str, next_up: str, hours: float) -> str:
    note = f"the {unanswered} did not answer within {hours:g} h; asking the {next_up}"
    get_run_logger().warning("%s: %s", request, note)
    return note


@task
def grant(request: str, answer: AccessApproval) -> str:
    return f"{request}: granted by {answer.approver}"


@task
def refuse(request: str, answer: AccessApproval) -> str:
    return f"{request}: refused by {answer.approver} ({answer.comments or 'no reason'})"


def _ask(request: str, level: int, hours: float) -> AccessApproval | None:
    who = ESCALATION[level]
    ask = AccessApproval.with_initial_data(
        description=f"## Access request\n\n{request}\n\nAsked of the **{who}** "
        f"(ask {level + 1} of {len(ESCALATION)}); open for {hours:g} h."
    )
    answer: AccessApproval | None = pause_flow_run(
        ask, timeout=hours * 3600, key=f"ask-{level + 1}", on_timeout=None
    )
    return answer


@flow(log_prints=True)
def approval_with_deadline(
    request: str = "Read access to the production database for a contractor",
    hours: float = 4,
) -> str:
    announce(request)
    for level, who in enumerate(ESCALATION):
        answer = _ask(request, level, hours)
        if answer is not None:
            return grant(request, answer) if answer.approved else refuse(request, answer)
        if level + 1 < len(ESCALATION):
            escalate(request, who, ESCALATION[level + 1], hours)
    asked = ", ".join(ESCALATION)
    return f"{request}: gave up after {len(ESCALATION)} unanswered asks ({asked}; {hours:g} h each)"


if __name__ == "__main__":
    print(approval_with_deadline(hours=float(sys.argv[1]) if len(sys.argv) > 1 else 4))
