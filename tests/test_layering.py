"""Dependencies point down: the engine core never imports an interface layer."""

from __future__ import annotations

import ast
from pathlib import Path

import tarry

PACKAGE = Path(tarry.__file__).parent
CORE = {
    "engine/caller",
    "engine/children",
    "engine/context",
    "engine/journal",
    "engine/mailbox",
    "engine/run_logs",
    "engine/runs",
    "engine/spec",
    "engine/steps",
    "errors",
    "futures",
    "messaging",
    "recorded",
    "serialization",
    "states",
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


def test_import_tarry_leaves_the_http_and_web_stacks_unloaded() -> None:
    # Every CLI call and worker start pays for what `import tarry` loads: httpx (with
    # the rich it pulls in) and the web server are loaded by the code that uses them.
    import subprocess
    import sys

    code = "import sys, tarry; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("httpx", "fastapi", "uvicorn", "starlette", "rich", "typer"):
        assert f"'{heavy}'" not in loaded, heavy
