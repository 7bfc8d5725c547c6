"""Contract: variables are set once unless overwritten, and read back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.contract.support import T0

if TYPE_CHECKING:
    from tarry.storage import Store


def test_a_variable_reads_back_and_is_not_overwritten_by_accident(store: Store) -> None:
    assert store.get_variable("greeting") is None
    assert store.set_variable("greeting", '"Hello"', T0, overwrite=False)

    assert not store.set_variable("greeting", '"Hi"', T0 + 1, overwrite=False)
    assert store.get_variable("greeting") == '"Hello"'
    assert store.set_variable("greeting", '"Hi"', T0 + 2, overwrite=True)
    assert store.get_variable("greeting") == '"Hi"'
