"""Fixtures of the example tests; every test here carries the `example` marker.

`pytest -m example` (or `pytest tests/examples`) runs every example under `examples/`
end to end.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import browser, page

__all__ = ["browser", "page"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this folder as example tests."""
    for item in items:
        if item.path.parent.name == "examples" and item.path.parent.parent.name == "tests":
            item.add_marker(pytest.mark.example)
