"""Dependencies point down: the engine core never imports an interface layer."""

from __future__ import annotations

import ast
from pathlib import Path

import tarry

PACKAGE = Path(tarry.__file__).parent
CORE = {
    "context",
    "definitions",
    "engine",
    "errors",
    "futures",
    "journal",
    "messaging",
    "recorded",
    "run_logs",
    "serialization",
    "states",
    "steps",
    "task_runners",
}
INTERFACES = ("tarry.service", "tarry.web", "tarry.cli", "tarry.client", "tarry.worker")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_core_modules_exist() -> None:
    missing = {name for name in CORE if not (PACKAGE / f"{name}.py").exists()}
    assert not missing


def test_engine_core_never_imports_an_interface() -> None:
    upward = [
        f"{name}.py imports {imported}"
        for name in sorted(CORE)
        for imported in _imports(PACKAGE / f"{name}.py")
        if imported.startswith(INTERFACES)
    ]
    assert upward == []


def test_only_config_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "config.py"
        and ("os.environ" in path.read_text() or "getenv" in path.read_text())
    ]
    assert readers == []
