"""Seed 003, Testing: the harness as a `with` block inside the test.

`prefect.testing.utilities.prefect_test_harness` becomes `tarry.testing.tarry_test_harness`.
Run with `pytest examples/course_106/test_harness_block.py`.
"""

from tarry import flow
from tarry.testing import tarry_test_harness

@flow
def my_favorite_flow():
    return 42

def test_my_favorite_flow():
    """basic test running the flow against a temporary testing database"""
    with tarry_test_harness():
        assert my_favorite_flow() == 42
