"""Variables: set, read, refuse to overwrite by accident, any JSON value."""

from __future__ import annotations

import pytest

from tarry import errors
from tarry.testing import TestHarness
from tarry.variables import Variable


def test_variables_hold_json_values(harness: TestHarness) -> None:
    assert Variable.get("limits", default={"usd": 1000}) == {"usd": 1000}

    Variable.set("limits", {"usd": 1500, "teams": ["ml", "data"]})

    assert Variable.get("limits") == {"usd": 1500, "teams": ["ml", "data"]}
    with pytest.raises(errors.TarryError, match="overwrite=True"):
        Variable.set("limits", {"usd": 1})
    Variable.set("limits", {"usd": 1}, overwrite=True)
    assert Variable.get("limits") == {"usd": 1}


def test_variable_names_are_checked(harness: TestHarness) -> None:
    with pytest.raises(errors.TarryError, match="lowercase"):
        Variable.set("Not A Name", 1)
