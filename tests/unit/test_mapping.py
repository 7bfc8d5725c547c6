"""`Task.map` maps every iterable argument, as Prefect does, and refuses what it cannot map."""

from __future__ import annotations

import pytest

from tarry import errors, flow, task, unmapped
from tarry.states import RunState
from tarry.storage import records
from tarry.testing import TestHarness


@task
def combine(x: int, y: int = 0, label: str = "") -> str:
    return f"{label}{x + y}"


def test_keyword_iterables_are_mapped_beside_positional_ones(harness: TestHarness) -> None:
    @flow
    def mapped() -> list[str]:
        return [f.result() for f in combine.map([1, 2], y=[10, 20], label="n=")]

    # The string is one value for every call, not an iterable of characters.
    assert mapped() == ["n=11", "n=22"]


def test_unmapped_passes_an_iterable_whole_to_every_call(harness: TestHarness) -> None:
    @task
    def count(x: int, items: list[int]) -> int:
        return x + len(items)

    @flow
    def mapped() -> list[int]:
        return [f.result() for f in count.map(range(3), unmapped([7, 8, 9, 10]))]

    assert mapped() == [4, 5, 6]


def test_a_future_is_resolved_before_it_is_mapped_over(harness: TestHarness) -> None:
    @task
    def numbers() -> list[int]:
        return [3, 4]

    @flow
    def mapped() -> list[str]:
        return [f.result() for f in combine.map(numbers.submit(), y=unmapped(1))]

    assert mapped() == ["4", "5"]


def test_iterables_of_different_lengths_are_refused_before_any_call(harness: TestHarness) -> None:
    @flow
    def mapped() -> None:
        combine.map([1, 2, 3], y=[1, 2])

    with pytest.raises(errors.MappingLengthMismatch, match=r"argument 1.: 3, 'y': 2"):
        mapped()
    (run,) = harness.host.store.list_runs(records.RunFilter())
    assert run.state == RunState.FAILED
    assert harness.host.store.get_steps(run.id) == []


def test_a_map_with_nothing_to_map_over_says_so(harness: TestHarness) -> None:
    @flow
    def mapped() -> None:
        combine.map(1, y=unmapped([5]))

    with pytest.raises(errors.MappingMissingIterable, match="at least one iterable"):
        mapped()
