"""References to importable objects (`module:attr` or `path/file.py:attr`) and back.

Runs record their flow's entrypoint, and stored values their class, as such a
reference so another process can load them. Objects defined in a script run as
`__main__` are referenced by the script's file path.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any

from tarry import errors

__all__ = ["add_working_folder", "load_object", "object_ref"]

_PATH_MODULE_PREFIX = "tarry_script_"
_lock = threading.Lock()
_paths_by_module: dict[str, str] = {}


def object_ref(obj: Any) -> str:
    """The reference that `load_object` turns back into `obj` (a class or function)."""
    module = obj.__module__
    qualname = obj.__qualname__
    if module == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file:
            return f"{Path(main_file).resolve()}:{qualname}"
    return f"{_paths_by_module.get(module, module)}:{qualname}"


def load_object(ref: str) -> Any:
    """Import the object a reference names.

    Raises:
        errors.FlowLoadError: The module or file cannot be imported or lacks the attribute.
    """
    location, sep, qualname = ref.rpartition(":")
    if not sep or not location or not qualname:
        raise errors.FlowLoadError(f"{ref!r} is not `module:name` or `path/to/file.py:name`")
    if "<locals>" in qualname:
        raise errors.FlowLoadError(
            f"{ref!r} is defined inside a function; define flows at module level "
            "so other processes can load them"
        )
    module = _import_location(location)
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise errors.FlowLoadError(f"{location} has no attribute {qualname!r}") from None
    return obj


def _import_location(location: str) -> Any:
    try:
        if location.endswith(".py"):
            return _import_path(Path(location).resolve())
        return importlib.import_module(location)
    except errors.FlowLoadError:
        raise
    except Exception as exc:
        # Finders cache folder listings: a module that appears later must be seen then.
        importlib.invalidate_caches()
        raise errors.FlowLoadError(f"cannot import {location}: {exc!r}") from exc


def _import_path(path: Path) -> Any:
    name = _PATH_MODULE_PREFIX + hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    with _lock:
        if name in sys.modules:
            return sys.modules[name]
        if not path.is_file():
            raise errors.FlowLoadError(f"no file {path}")
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise errors.FlowLoadError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        _paths_by_module[name] = str(path)
        # The script's own folder goes on the path, as `python script.py` would do.
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module


def add_working_folder() -> None:
    """Make modules in the working folder importable, as `python -m` does.

    For entrypoints a person types (`tarry run flows.py:etl`, `tarry server --deploy`).
    """
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)
