"""Until the SQL stores have automations, this suite runs on the memory store alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarry.storage import memory


@pytest.fixture
def store() -> Iterator[memory.MemoryStore]:
    """A fresh memory store, closed after the test."""
    opened = memory.MemoryStore()
    yield opened
    opened.close()
