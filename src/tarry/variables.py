"""Variables: named values that flows and people share, stored with the runs.

    Variable.set("greeting", "Hello", overwrite=True)
    Variable.get("greeting", default="Hi")

Values are anything tarry stores as JSON. Reading a variable inside a flow is a
read like any other: when a run must see the same value on replay, read it in a
task.
"""

from __future__ import annotations

import re
from typing import Any

from tarry import errors, host, serialization

__all__ = ["Variable"]

_NAME = re.compile(r"^[a-z0-9_-]{1,255}$")


class Variable:
    """Named values stored in the database (like Prefect's `Variable`)."""

    @staticmethod
    def get(name: str, default: Any = None, *, hst: host.Host | None = None) -> Any:
        """The value of variable `name`, or `default` when it is not set."""
        stored = (hst or host.get_host()).store.get_variable(_checked(name))
        return default if stored is None else serialization.loads(stored)

    @staticmethod
    def set(name: str, value: Any, overwrite: bool = False, *, hst: host.Host | None = None) -> Any:
        """Set variable `name` to `value`.

        Returns:
            The value.

        Raises:
            errors.TarryError: It is set already and `overwrite` is false.
            errors.SerializationError: The value cannot be stored as JSON.
        """
        hst = hst or host.get_host()
        written = hst.store.set_variable(
            _checked(name), serialization.dumps(value), hst.clock.now(), overwrite=overwrite
        )
        if not written:
            raise errors.TarryError(f"variable {name!r} is set already; pass overwrite=True")
        return value


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise errors.TarryError(
            f"variable name {name!r} must be 1-255 lowercase letters, digits, - or _"
        )
    return name
