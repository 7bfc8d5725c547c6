"""A module imported on first use, for imports that `import tarry` should not pay for.

`httpx = _lazy.Lazy("httpx")` stands where `import httpx` would, outside
`TYPE_CHECKING` (the type checker sees the real import): the module is imported
when an attribute of it is first read.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Lazy"]


class Lazy:
    """A stand-in for the module `name`, imported when an attribute is first read.

    Args:
        name: The module's dotted name, as `importlib.import_module` takes it.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)
