"""The pytest plugin installed with tarry: the `tarry_harness` fixture.

Each test that asks for `tarry_harness` gets a `tarry.testing.TestHarness` over a
fresh temporary store; the `tarry_harness` marker passes its options::

    @pytest.mark.tarry_harness(fake_clock=True, worker=True)
    def test_reminder_after_a_day(tarry_harness):
        handle = tarry_harness.start(remind, "ann")
        tarry_harness.advance(86_400)
        handle.assert_state(RunState.COMPLETED)

pytest loads it through the `pytest11` entry point, so nothing needs registering.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tarry import testing

__all__ = ["pytest_configure", "tarry_harness"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `tarry_harness` marker (pytest refuses unknown markers when strict)."""
    config.addinivalue_line(
        "markers",
        "tarry_harness(fake_clock=False, worker=False, scheduler=False, **settings): "
        "options of the tarry_harness fixture",
    )


@pytest.fixture
def tarry_harness(request: pytest.FixtureRequest) -> Iterator[testing.TestHarness]:
    """A `TestHarness` over a fresh temporary store, for one test."""
    # Imported here: every pytest session of a project with tarry installed loads
    # this plugin, and only tests that ask for the fixture should pay for tarry.
    from tarry import testing  # noqa: PLC0415

    marker = request.node.get_closest_marker("tarry_harness")
    options = dict(marker.kwargs) if marker is not None else {}
    with testing.tarry_test_harness(**options) as harness:
        yield harness
