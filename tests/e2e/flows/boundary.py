"""A flow of the input boundary tests: it takes any parameters and waits for a loose note.

Its input accepts any text, any number and any JSON, so what the boundary refuses
would otherwise be accepted.
"""

from __future__ import annotations

from typing import Any

from tarry import flow, pause_flow_run
from tarry.input import RunInput


class Note(RunInput):
    text: str = ""
    score: float = 0.0
    extra: Any = None


@flow
def take_note(label: Any = None) -> str:
    note: Note = pause_flow_run(Note, timeout=3600, key="note")
    return note.text
