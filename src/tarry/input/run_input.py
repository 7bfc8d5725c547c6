"""Prefect's `prefect.input.run_input` path: `from tarry.input.run_input import receive_input`.

The names are those of `tarry.input`, where they are documented.
"""

from __future__ import annotations

from tarry.input import RunInput, RunInputMetadata, asend_input, receive_input, send_input
from tarry.messaging import Receiver as GetInputHandler

__all__ = [
    "GetInputHandler",
    "RunInput",
    "RunInputMetadata",
    "asend_input",
    "receive_input",
    "send_input",
]
