"""Flyte's "Waiting for external inputs" (seeds/002) on tarry: `sleep`, `wait_for_input`, `approve`.

The seed's workflows with `@workflow` written `@flow` and `typing.List[float]`
written `list[float]`. Each wait returns its value, so Flyte's promises are plain
values here: a title is passed to a task, a review's bool is tested with `if`.
Where Flyte's graph DSL has no meaning in plain Python, a comment says what
stands for it.

Run one, then answer it from another terminal in the same folder::

    python examples/flyte/waiting_for_external_inputs.py conditional_wf
    tarry inputs ls                                    # the run and what it waits for
    tarry resume RUN --key title-input --input '"my report"' --ahead
    tarry resume RUN --key review-passes --input true --ahead

(RUN: the start of the run id `tarry inputs ls` shows.) Answers may come in any
order: with `--ahead`, one sent for a wait the run has not reached yet is kept for
it (without it, a `--key` the run does not wait on now is refused, so a typo is
never kept). With
`tarry server --deploy examples/flyte/waiting_for_external_inputs.py:conditional_wf`
running, answer in the web UI's inbox instead, or from code: see `remote.py`.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from tarry import Flow, approve, flow, sleep, task, wait_for_input
from tarry.errors import ApprovalRejected, WaitTimeout

DATA = [1.0, 2.0, 3.0, 4.0, 5.0]
"""The data the seed's `FlyteRemote` example starts `conditional_wf` with."""


@task
def long_running_computation(num: int) -> int:
    """A mock task pretending to be a long-running computation."""
    return num


@flow
def sleep_wf(num: int) -> int:
    """Simulate a "long-running" computation with sleep."""
    # increase the sleep duration to actually make it long-running
    sleep(timedelta(seconds=10))
    # Flyte's `sleeping >> result` orders graph nodes; plain Python runs in program order.
    result = long_running_computation(num=num)
    return result


@task
def create_report(data: list[float]) -> dict[str, Any]:
    """A toy report task."""
    return {
        "mean": sum(data) / len(data),
        "length": len(data),
        "max": max(data),
        "min": min(data),
    }


@task
def finalize_report(report: dict[str, Any], title: str) -> dict[str, Any]:
    return {"title": title, **report}


@flow
def reporting_wf(data: list[float]) -> dict[str, Any]:
    report = create_report(data=data)
    title_input = wait_for_input("title", timeout=timedelta(hours=1), expected_type=str)
    return finalize_report(report=report, title=title_input)


@flow
def reporting_with_approval_wf(data: list[float]) -> dict[str, Any]:
    report = create_report(data=data)
    title_input = wait_for_input("title", timeout=timedelta(hours=1), expected_type=str)
    final_report = finalize_report(report=report, title=title_input)

    # approve the final report, where the output of approve is the final_report
    # dictionary.
    return approve(final_report, "approve-final-report", timeout=timedelta(hours=2))


@flow
def approval_as_promise_wf(data: list[float]) -> dict[str, Any]:
    report = create_report(data=data)
    # wait for report to run so that the user can view it before adding a custom
    # title to the report (Flyte's `report >> title_input`; here, program order)
    title_input = wait_for_input("title", timeout=timedelta(hours=1), expected_type=str)

    final_report = finalize_report(
        report=approve(report, "raw-report-approval", timeout=timedelta(hours=2)),
        title=title_input,
    )
    return final_report


@task
def invalid_report() -> dict[str, Any]:
    return {"invalid_report": True}


@flow
def conditional_wf(data: list[float]) -> dict[str, Any]:
    report = create_report(data=data)
    title_input = wait_for_input("title-input", timeout=timedelta(hours=1), expected_type=str)

    # Define a "review-passes" wait_for_input node so that a human can review
    # the report before finalizing it.
    # (Flyte's `report >> review_passed`; here, program order)
    review_passed = wait_for_input("review-passes", timeout=timedelta(hours=2), expected_type=bool)

    # This conditional returns the finalized report if the review passes,
    # otherwise it returns an invalid report output.
    # (Flyte's `conditional(...).if_().then().else_()` builds nodes; a bool is tested by `if`)
    if review_passed:
        return finalize_report(report=report, title=title_input)
    return invalid_report()


# -- running one from the command line ------------------------------------------------------

WORKFLOWS: dict[str, Flow[..., dict[str, Any]] | Flow[..., int]] = {
    "sleep_wf": sleep_wf,
    "reporting_wf": reporting_wf,
    "reporting_with_approval_wf": reporting_with_approval_wf,
    "approval_as_promise_wf": approval_as_promise_wf,
    "conditional_wf": conditional_wf,
}

SIGNALS: dict[str, list[tuple[str, str]]] = {
    "sleep_wf": [],
    "reporting_wf": [("title", '"my report"')],
    "reporting_with_approval_wf": [("title", '"my report"'), ("approve-final-report", "true")],
    "approval_as_promise_wf": [("title", '"my report"'), ("raw-report-approval", "true")],
    "conditional_wf": [("title-input", '"my report"'), ("review-passes", "true")],
}
"""What each workflow waits for, in order, with an answer to give on the command line."""


def how_to_answer(name: str) -> str:
    """The commands that answer the waits of workflow `name`, for the user to type."""
    signals = SIGNALS[name]
    if not signals:
        return f"{name} sleeps 10 seconds, then returns its input."
    lines = [f"{name} waits for {', '.join(n for n, _ in signals)}. Answer in another terminal:"]
    lines.append("  tarry inputs ls    # RUN: the start of the run id shown there")
    lines += [f"  tarry resume RUN --key {n} --input '{answer}' --ahead" for n, answer in signals]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the workflow named in `argv` (default `conditional_wf`) and print its result."""
    name = argv[0] if argv else "conditional_wf"
    if name not in WORKFLOWS:
        print(f"usage: waiting_for_external_inputs.py [{' | '.join(WORKFLOWS)}]", file=sys.stderr)
        return 2
    print(how_to_answer(name), flush=True)
    parameters: dict[str, Any] = {"num": 42} if name == "sleep_wf" else {"data": DATA}
    try:
        print(WORKFLOWS[name](**parameters))
    except (ApprovalRejected, WaitTimeout) as stopped:
        print(f"{name} did not finish: {stopped}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
