"""The `store` fixture: every contract test runs once per storage adapter.

To cover another adapter, add one entry to `ADAPTERS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tarry.storage import open_store
from tests.conftest import empty_postgres_schema, postgres_session_url
from tests.contract.support import Adapter

if TYPE_CHECKING:
    from pathlib import Path

    from tarry.storage import Store


def _open_memory(folder: Path) -> Store:
    return open_store("memory://")


def _open_sqlite(folder: Path) -> Store:
    return open_store(f"sqlite:///{folder}/t.db")


def _open_postgres(folder: Path) -> Store:
    # One migrated schema per test session, emptied before each test (`reset`).
    return open_store(postgres_session_url())


ADAPTERS: dict[str, Adapter] = {
    "memory": Adapter(open=_open_memory, durable=False),
    "sqlite": Adapter(open=_open_sqlite, durable=True),
    "postgres": Adapter(open=_open_postgres, durable=True, reset=empty_postgres_schema),
}


@pytest.fixture(params=list(ADAPTERS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store of each adapter, closed after the test."""
    name: str = request.param
    ADAPTERS[name].reset()
    opened = ADAPTERS[name].open(tmp_path)
    yield opened
    opened.close()


@pytest.fixture(params=[name for name, adapter in ADAPTERS.items() if adapter.durable])
def durable_adapter(request: pytest.FixtureRequest) -> Adapter:
    """Each adapter whose data survives closing and reopening the store."""
    name: str = request.param
    ADAPTERS[name].reset()
    return ADAPTERS[name]
