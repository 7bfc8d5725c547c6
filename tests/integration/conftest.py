"""Fixtures of the integration tests: the HITL and messaging tests run on both stores."""

from __future__ import annotations

import pytest

from tests.conftest import empty_postgres_schema, postgres_session_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """`""` (the harness's own SQLite file) or this session's emptied PostgreSQL schema."""
    if request.param == "sqlite":
        return ""
    empty_postgres_schema()
    return postgres_session_url()
