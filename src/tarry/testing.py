"""Testing support: run flows against a temporary store.

`tarry_test_harness()` (also `test_harness`) is a context manager: inside it
every flow call uses a fresh SQLite file in a temporary folder, which is removed
afterwards. Use it in a test or as a pytest fixture::

    @pytest.fixture(autouse=True)
    def tarry_store():
        with tarry_test_harness() as harness:
            yield harness
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tarry import config, host

__all__ = ["TestHarness", "tarry_test_harness", "test_harness"]


class TestHarness:
    """What `tarry_test_harness` yields: the temporary host and its store."""

    __test__ = False

    def __init__(self, hst: host.Host) -> None:
        self.host = hst
        self.store = hst.store


@contextmanager
def tarry_test_harness() -> Iterator[TestHarness]:
    """Run flows against a temporary SQLite store for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="tarry-test-") as folder:
        settings = config.Settings(home=Path(folder), sqlite_synchronous="NORMAL")
        hst = host.Host(settings)
        previous = host.set_host(hst)
        try:
            yield TestHarness(hst)
        finally:
            host.set_host(previous)
            hst.close()


test_harness = tarry_test_harness
test_harness.__test__ = False  # type: ignore[attr-defined]
