"""An answer kept for a wait just as the run opens that wait is not lost.

The run looks for kept answers right after it opens a wait; an answer looks for
the open wait before it is kept. When the answer looked just before the wait
opened and was stored just after the run looked, neither saw the other, and
the answer waited for ever (a request approved through the API timed out).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tarry
from tarry import flow
from tarry.engine import answers
from tarry.states import RunState, WaitStatus
from tarry.storage import port
from tarry.testing import TestHarness, tarry_test_harness


@flow
def asks_for_pages() -> int:
    pages: int = tarry.wait_for_input("pages", int, timeout=60)
    return pages


@pytest.fixture(params=[7200, 0], ids=["resident", "suspending"])
def harness(request: pytest.FixtureRequest, database_url: str) -> Iterator[TestHarness]:
    """A harness whose waits stay in memory, or leave it at once."""
    settings = {"resident_seconds": request.param, "database_url": database_url}
    with tarry_test_harness(fake_clock=True, **settings) as h:
        yield h


def test_an_answer_that_missed_the_opening_wait_is_handed_to_it(
    harness: TestHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = harness.start(asks_for_pages)
    run.wait_for(RunState.WAITING)  # the run has looked for kept answers: none yet
    looked_too_early: list[Any] = []

    def before_the_wait_opened(store: port.Store, *args: Any) -> None:
        looked_too_early.append(args)
        monkeypatch.undo()  # only the first look is stale

    monkeypatch.setattr(answers, "_target", before_the_wait_opened)
    harness.answer(run.id, 12, key="pages")

    assert looked_too_early
    assert run.result(timeout=10) == 12
    assert [w.status for w in run.waits()] == [WaitStatus.ANSWERED]
