"""A flow's parameters given as text or JSON are checked against its annotations, all of them."""

from __future__ import annotations

from typing import Annotated

import pydantic
import pytest

from tarry import errors, flow


def _even(n: int) -> int:
    if n % 2:
        raise ValueError("must be even")
    return n


@flow
def sized(
    rows: Annotated[int, pydantic.Field(gt=0)],
    pairs: Annotated[int, pydantic.AfterValidator(_even)] = 2,
    label: str = "x",
) -> int:
    return rows * pairs


def test_annotated_constraints_and_validators_are_applied() -> None:
    assert sized.validate_parameters({"rows": "3", "pairs": 4}) == {"rows": 3, "pairs": 4}

    with pytest.raises(errors.ParameterError) as refused:
        sized.validate_parameters({"rows": 0, "pairs": 3})

    assert [(e.loc, e.type) for e in refused.value.field_errors] == [
        (("rows",), "greater_than"),
        (("pairs",), "value_error"),
    ]
    assert "parameter 'rows' = 0 is invalid" in str(refused.value)


def test_missing_and_unknown_parameters_are_each_named() -> None:
    with pytest.raises(errors.ParameterError) as refused:
        sized.validate_parameters({"label": "y", "colour": "red"})

    assert [(e.loc, e.message) for e in refused.value.field_errors] == [
        (("colour",), "not a parameter of this flow"),
        (("rows",), "Field required"),
    ]
