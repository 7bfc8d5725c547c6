"""Questions announced by mail, shared by the link and reply tests."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tarry import flow, pause_flow_run
from tarry.input import RunInput

APPROVER = "jane@example.com"
"""Whom the questions are mailed to."""


@flow
def budget_approval() -> str:
    """One choice: its links answer after a confirm."""
    decision: str = pause_flow_run(
        Literal["Approve", "Disapprove"], timeout=600, key="budget", notify=APPROVER
    )
    return decision


class Authorization(RunInput):
    decision: Literal["Approve", "Disapprove"]
    code: str = Field(pattern=r"^[1-9]{7}$", description="Seven digits, no zeroes.")


@flow
def authorized_training() -> str:
    """A choice plus a code: its links open the form."""
    answer = pause_flow_run(Authorization, timeout=600, key="authorize", notify=APPROVER)
    return f"{answer.decision} {answer.code}"
