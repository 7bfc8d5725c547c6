"""The flow of W3 over HTTP: pause for an approval, return when it resumed (wall clock)."""

from __future__ import annotations

import time

import tarry
from tarry.input import RunInput


class Approval(RunInput):
    approved: bool


@tarry.flow
def approval_timed() -> float:
    tarry.pause_flow_run(wait_for_input=Approval, timeout=3600)
    return time.time()
