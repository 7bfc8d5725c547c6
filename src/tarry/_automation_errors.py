"""Automation errors that `errors.py` has no room for; they join its tree under `TarryError`.

`errors.py` is at its size cap, so this private module holds them; each leaf is
reachable as `tarry._automation_errors.X` and documented like the others.
"""

from __future__ import annotations

from tarry import errors

__all__ = ["AutomationNameTaken"]


class AutomationNameTaken(errors.TarryError, ValueError):
    """Another automation has this name: automation names are unique."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"an automation named {name!r} exists; choose another name or update that one"
        )
        self.name = name
