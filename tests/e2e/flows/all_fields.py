"""A flow whose one question uses every kind of form field (for the browser tests)."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import Field

from tarry import flow, pause_flow_run
from tarry.input import RunInput


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 3


class Everything(RunInput):
    size: Size = Field(description="Which size to order.")
    priority: Priority
    colour: Literal["red", "green", "blue"]
    gift: bool = Field(False, description="Wrap it as a gift.")
    quantity: int = Field(ge=1, le=10, description="How many, 1 to 10.")
    weight_kg: float = Field(gt=0, le=50.5)
    nickname: str = Field(min_length=2, max_length=12, pattern=r"^[a-z]+$")
    note: str | None = None


@flow
def order_everything() -> dict[str, object]:
    ask = Everything.with_initial_data(
        description="## Order\n\nPick **everything** <script>alert('x')</script>.",
        quantity=2,
        colour="green",
    )
    got = pause_flow_run(wait_for_input=ask, timeout=3600)
    dumped: dict[str, object] = got.model_dump(mode="json")
    return dumped
