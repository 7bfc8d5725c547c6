"""Seed 003, Human-in-the-loop: custom validation. The seed's code with `prefect` replaced by `tarry`.

tarry validates an answer with the model (including this v1-style validator) before it
accepts it: a small green shirt is refused at submit with the validator's message, and the
run keeps waiting. The seed's `except pydantic.ValidationError` loop stays as it was.
"""

from typing import Literal
import pydantic
from tarry import flow, pause_flow_run
from tarry.input import RunInput

class ShirtOrder(RunInput):
    size: Literal["small", "medium", "large", "xlarge"]
    color: Literal["red", "green", "black"]

    @pydantic.validator("color")
    def validate_age(cls, value, values, **kwargs):
        if value == "green" and values["size"] == "small":
            raise ValueError("Green is only in-stock for medium, large, and XL sizes.")

        return value

@flow(log_prints=True)
def get_shirt_order():
    shirt_order = None

    while shirt_order is None:
        try:
            shirt_order = pause_flow_run(wait_for_input=ShirtOrder)
            print(f"Shirt order: {shirt_order}")
        except pydantic.ValidationError:
            print("Invalid shirt order. Please try again.")

if __name__ == "__main__":
    get_shirt_order()
