"""Seed 003, Testing: a flow run against a temporary SQLite store.

`prefect.testing.utilities.prefect_test_harness` becomes `tarry.testing.tarry_test_harness`.
Run with `pytest examples/course_106/test_harness.py`.
"""

from tarry import flow
import pytest
from tarry.testing import tarry_test_harness


@flow
def my_favorite_flow():
    return 42


@pytest.fixture(autouse=True, scope="session")
def tarry_test_fixture():
    with tarry_test_harness():
        yield


def test_my_favorite_flow():
    """basic test running the flow against a temporary testing database"""
    assert my_favorite_flow() == 42
