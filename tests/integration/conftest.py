"""Fixtures of the integration tests: the HITL and messaging tests run on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarry.testing import TestHarness, tarry_test_harness
from tests.conftest import empty_postgres_schema, postgres_session_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """`""` (the harness's own SQLite file) or this session's emptied PostgreSQL schema."""
    if request.param == "sqlite":
        return ""
    empty_postgres_schema()
    return postgres_session_url()


@pytest.fixture(params=["resident", "suspending"])
def parked_or_replayed(request: pytest.FixtureRequest, database_url: str) -> Iterator[TestHarness]:
    """A harness whose waiting runs stay in memory, or leave it at every wait (and are
    replayed each time), on each store: for tests of waits and messages."""
    resident_seconds = 7200 if request.param == "resident" else 0
    with tarry_test_harness(
        fake_clock=True, resident_seconds=resident_seconds, database_url=database_url
    ) as h:
        yield h
