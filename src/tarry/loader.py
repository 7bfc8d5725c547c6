"""References to importable objects (`module:attr` or `path/file.py:attr`) and back.

Runs record their flow's entrypoint, and stored values their class, as such a
reference so another process can load them. Objects defined in a script run as
`__main__` are referenced by the script's file path.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import importlib.util
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from tarry import errors

__all__ = [
    "add_working_folder",
    "importing_on_the_side",
    "is_file_module",
    "load_object",
    "object_ref",
]

logger = logging.getLogger("tarry.loader")

_PATH_MODULE_PREFIX = "tarry_script_"
_lock = threading.Lock()
_paths_by_module: dict[str, str] = {}
# Files being imported, by module name. Only this dict is locked, never a file's import:
# a file that runs for ever at import must not hold up the import of any other.
_importing: dict[str, cf.Future[Any]] = {}
# Imports that outlasted a caller's time limit: later callers with a limit fail at once.
_overdue: set[str] = set()
# The thread running each import (by module name).
_importer: dict[str, int] = {}
# Set in the threads of imports made with a time limit (see `importing_on_the_side`).
_side_import = threading.local()


def is_file_module(name: str) -> bool:
    """Whether `name` is a module imported here from a file path (`path/file.py:attr`).

    Other processes cannot import it by that name: code of it sent to them (a
    cluster's workers) must travel by value.
    """
    return name.startswith(_PATH_MODULE_PREFIX)


def importing_on_the_side() -> bool:
    """Whether this thread imports a file only to look a class up (with a time limit).

    Code a file runs at import then runs in a process that did not ask for it (a
    server checking an answer): a flow called there must not start a run.
    """
    return bool(getattr(_side_import, "active", False))


def object_ref(obj: Any) -> str:
    """The reference that `load_object` turns back into `obj` (a class or function)."""
    module = obj.__module__
    qualname = obj.__qualname__
    if module == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file:
            return f"{Path(main_file).resolve()}:{qualname}"
    return f"{_paths_by_module.get(module, module)}:{qualname}"


def load_object(
    ref: str, *, timeout: float | None = None, limit_name: str = "TARRY_IMPORT_TIMEOUT_SECONDS"
) -> Any:
    """Import the object a reference names.

    Args:
        ref: `module:name` or `path/to/file.py:name`.
        timeout: The most seconds a file's import may take (in a thread of its own);
            `None`: no limit, imported in this thread. For processes that import
            users' files on the way, such as a server checking an answer or a worker
            loading a run's flow: a file that runs a flow at import (no
            `if __name__ == "__main__":`) or otherwise blocks there may never return.
        limit_name: The setting `timeout` comes from, named when it is exceeded.

    Raises:
        errors.FlowLoadError: The module or file cannot be imported, lacks the
            attribute, or was not imported within `timeout`.
    """
    location, sep, qualname = ref.rpartition(":")
    if not sep or not location or not qualname:
        raise errors.FlowLoadError(f"{ref!r} is not `module:name` or `path/to/file.py:name`")
    if "<locals>" in qualname:
        raise errors.FlowLoadError(
            f"{ref!r} is defined inside a function; define flows at module level "
            "so other processes can load them"
        )
    module = _import_location(location, _Limit(timeout, limit_name))
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise errors.FlowLoadError(f"{location} has no attribute {qualname!r}") from None
    return obj


@dataclasses.dataclass(frozen=True)
class _Limit:
    """How long an import may take (`None`: no limit), and the setting that says so."""

    seconds: float | None
    setting: str

    def overdue(self, path: Path | str) -> str:
        """The error of an import of `path` that outlasted this limit."""
        return (
            f"importing {path} did not finish within {self.seconds:g} s ({self.setting}): "
            "does it call a flow or wait for something at module level? Put that under "
            '`if __name__ == "__main__":`'
        )


def _import_location(location: str, limit: _Limit) -> Any:
    try:
        if location.endswith(".py"):
            return _import_path(Path(location).resolve(), limit)
        if limit.seconds is None or location in sys.modules:
            return importlib.import_module(location)
        return _import_module_within(location, limit)
    except errors.FlowLoadError:
        raise
    except Exception as exc:
        # Finders cache folder listings: a module that appears later must be seen then.
        importlib.invalidate_caches()
        raise errors.FlowLoadError(f"cannot import {location}: {exc!r}") from exc


def _import_module_within(location: str, limit: _Limit) -> Any:
    # Python's import lock makes a second importer of the module wait for the first.
    pending: cf.Future[Any] = cf.Future()

    def run() -> None:
        _side_import.active = True
        try:
            pending.set_result(importlib.import_module(location))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, signals included
            pending.set_exception(exc)

    threading.Thread(target=run, name=f"tarry-import-{location}", daemon=True).start()
    try:
        return pending.result(limit.seconds)
    except TimeoutError:
        if pending.done():
            raise
        message = limit.overdue(location)
        logger.warning("%s", message)
        raise errors.FlowLoadError(message) from None


def _import_path(path: Path, limit: _Limit) -> Any:
    name = _PATH_MODULE_PREFIX + hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    with _lock:
        pending = _importing.get(name)
        mine = _importer.get(name) == threading.get_ident()
        if name in sys.modules and (pending is None or mine):
            # Imported, or being imported by this very thread: as Python's own import
            # does, a module that looks itself up while it runs gets its module so far.
            return sys.modules[name]
        if pending is not None and limit.seconds is not None and name in _overdue:
            raise errors.FlowLoadError(limit.overdue(path))
        inline = pending is None and limit.seconds is None
        if pending is None:
            pending = _start_import(name, path, in_thread=not inline)
    if inline:
        _exec_module(name, path, pending)
    return _outcome(name, path, pending, limit)


def _outcome(name: str, path: Path, pending: cf.Future[Any], limit: _Limit) -> Any:
    try:
        return pending.result(limit.seconds)
    except TimeoutError:
        if pending.done():
            raise  # the file's own TimeoutError
        with _lock:
            _overdue.add(name)
        message = limit.overdue(path)
        logger.warning("%s", message)
        raise errors.FlowLoadError(message) from None


def _start_import(name: str, path: Path, *, in_thread: bool) -> cf.Future[Any]:
    """Register the import of `path` (under `_lock`); run it in a thread when `in_thread`."""
    if not path.is_file():
        raise errors.FlowLoadError(f"no file {path}")
    pending: cf.Future[Any] = cf.Future()
    pending.set_running_or_notify_cancel()
    _importing[name] = pending
    _paths_by_module[name] = str(path)
    # The script's own folder goes on the path, as `python script.py` would do.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    if in_thread:
        # A daemon thread: an import that never ends does not keep the process alive.
        threading.Thread(
            target=_exec_on_the_side,
            args=(name, path, pending),
            name=f"tarry-import-{path.name}",
            daemon=True,
        ).start()
    return pending


def _exec_on_the_side(name: str, path: Path, pending: cf.Future[Any]) -> None:
    _side_import.active = True
    _exec_module(name, path, pending)
    if (failed := pending.exception()) is not None:
        # Its callers fall back quietly (to a stored schema): say here what went wrong.
        logger.warning("importing %s failed: %s", path, failed)


def _exec_module(name: str, path: Path, pending: cf.Future[Any]) -> None:
    """Import `path` as module `name` and settle `pending` with the module or the error."""
    with _lock:
        _importer[name] = threading.get_ident()
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise errors.FlowLoadError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - handed to every caller, signals included
        sys.modules.pop(name, None)
        _settle(name, pending, exc)
        return
    _settle(name, pending, module)


def _settle(name: str, pending: cf.Future[Any], outcome: Any) -> None:
    with _lock:
        # A failed import is forgotten: the next load tries the file again.
        _importing.pop(name, None)
        _importer.pop(name, None)
        _overdue.discard(name)
    if isinstance(outcome, BaseException):
        pending.set_exception(outcome)
    else:
        pending.set_result(outcome)


def add_working_folder() -> None:
    """Make modules in the working folder importable, as `python -m` does.

    For entrypoints a person types (`tarry run flows.py:etl`, `tarry server --deploy`).
    """
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)
