"""The flows whose runs `make_store.py` stored with an earlier tarry, for
`test_stored_by_main.py` to read, answer and finish with today's code.

Their names, parameters and entrypoints are part of the stored data: do not rename them.
"""

from __future__ import annotations

from tarry import flow, get_run_logger, pause_flow_run, receive_input, task
from tarry.input import RunInput
from tarry.notify import Email


class Approval(RunInput):
    """What the reviewer of a stored expense answers."""

    approved: bool
    note: str = ""


@task
def double(x: int) -> int:
    """A step of the finished run."""
    return x * 2


@flow
def finished(x: int) -> int:
    """A run that had ended when the store was made."""
    return double(x) + 1


@task
def fetch_amount(amount: int) -> int:
    """A step that finished before the run started waiting; it must not run again."""
    get_run_logger().info("fetched %d", amount)
    return amount


@flow(notify=[Email(("ann@example.com",))])
def waiting(amount: int) -> str:
    """A run that was waiting for an answer (and had a notice queued) when the store was made."""
    fetched = fetch_amount(amount)
    answer = pause_flow_run(wait_for_input=Approval, timeout=30 * 24 * 3600)
    notes = list(receive_input(str, timeout=0))
    return f"{fetched}:{answer.approved}:{answer.note}:{'|'.join(notes)}"
