"""Dependencies point down: every module has a layer, imports none above it, and no
modules import each other in a circle (`docs/architecture.md` draws the layers)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import tarry
from tests import layering

PACKAGE = Path(tarry.__file__).parent

#: The layer of each module, by name or by the package that holds it. A module may
#: import modules of its own layer or below, never above; see docs/architecture.md.
LAYERS = {
    # L0 base: pure building blocks, no tarry imports above them.
    "tarry._lazy": 0,
    "tarry._version": 0,
    "tarry.boundary": 0,
    "tarry.cache_policies": 0,
    "tarry.clock": 0,
    "tarry.config": 0,
    "tarry.daemon": 0,
    "tarry.errors": 0,
    "tarry.mapping": 0,
    "tarry.forms": 0,
    "tarry.futures": 0,
    "tarry.interrupts": 0,
    "tarry.loader": 0,
    "tarry.names": 0,
    "tarry.safe_markdown": 0,
    "tarry.schedules": 0,
    "tarry.serialization": 0,
    "tarry.states": 0,
    "tarry.task_runners": 0,
    "tarry.triggers": 0,
    # L1 storage: where runs live.
    "tarry.storage": 1,
    # L2 process: one process's host, its wake-ups, and what it sends out.
    "tarry.host": 2,
    "tarry.hub": 2,
    "tarry.outbound": 2,
    # L3 engine: durable execution.
    "tarry.engine": 3,
    # L4 verbs and doors: what flows call, and the one door for interfaces.
    "tarry.automation_runtime": 4,
    "tarry.automation_service": 4,
    "tarry.automations": 4,
    "tarry.concurrency": 4,
    "tarry.deployments": 4,
    "tarry.event_service": 4,
    "tarry.events": 4,
    "tarry.limit_service": 4,
    "tarry.webhook_service": 4,
    "tarry.work_pools": 4,
    "tarry.messaging": 4,
    "tarry.notify": 4,
    "tarry.pool_service": 4,
    "tarry.recorded": 4,
    "tarry.runtime": 4,
    "tarry.scheduler": 4,
    "tarry.service": 4,
    "tarry.variables": 4,
    "tarry.waits": 4,
    "tarry.worker": 4,
    # L5 surfaces: HTTP, mail replies, the client.
    "tarry.client": 5,
    "tarry.client_automation_calls": 5,
    "tarry.client_automations": 5,
    "tarry.client_calls": 5,
    "tarry.client_areas": 5,
    "tarry.client_event_calls": 5,
    "tarry.client_events": 5,
    "tarry.client_limit_calls": 5,
    "tarry.client_limits": 5,
    "tarry.client_pool_calls": 5,
    "tarry.client_pools": 5,
    "tarry.client_webhook_calls": 5,
    "tarry.client_webhooks": 5,
    "tarry.replies": 5,
    "tarry.web": 5,
    # L6 front: the public face and the programs.
    "tarry": 6,
    "tarry.__main__": 6,
    "tarry.cli": 6,
    "tarry.definitions": 6,
    "tarry.input": 6,
    "tarry.pytest_plugin": 6,
    "tarry.server": 6,
    "tarry.testing": 6,
}

MODULES = layering.module_names(PACKAGE, "tarry")
EDGES = [
    edge for name, path in MODULES.items() for edge in layering.imports_of(name, path, MODULES)
]


def _graph(edges: list[layering.Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.importer].add(edge.imported)
    return graph


def test_every_module_has_a_layer() -> None:
    missing = [name for name in MODULES if layering.layer_of(name, LAYERS) is None]
    assert not missing, "modules with no layer in LAYERS:\n" + "\n".join(missing)


def test_every_layer_names_a_module() -> None:
    stale = [prefix for prefix in LAYERS if not any(_within(name, prefix) for name in MODULES)]
    assert not stale, "layers that name no module:\n" + "\n".join(stale)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(f"{prefix}.")


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = layering.upward_imports(EDGES, LAYERS)
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle() -> None:
    circles = [" <-> ".join(circle) for circle in layering.cycles(_graph(EDGES))]
    assert not circles, "modules that import each other:\n" + "\n".join(circles)


def test_a_deferred_import_says_why_it_is_deferred() -> None:
    # Deferred imports are kept for import cost only (a cycle would show above). The
    # reason follows the noqa code and a dash, or stands in a comment right above.
    unexplained = [
        f"{edge.importer}:{edge.line}"
        for edge in EDGES
        if edge.deferred and not _explained(MODULES[edge.importer], edge.line)
    ]
    assert not unexplained, "deferred imports without a reason:\n" + "\n".join(unexplained)


def _explained(path: Path, line: int) -> bool:
    lines = path.read_text().splitlines()
    return "# noqa: PLC0415 - " in lines[line - 1] or lines[line - 2].strip().startswith("#")


def test_the_rules_find_a_circle_and_an_upward_import() -> None:
    layers = {"pkg.low": 0, "pkg.high": 1, "pkg.mid": 1}
    edges = [
        layering.Import("pkg.low", "pkg.high", 3, deferred=True),
        layering.Import("pkg.high", "pkg.mid", 4, deferred=False),
        layering.Import("pkg.mid", "pkg.high", 5, deferred=False),
        layering.Import("pkg.high", "pkg.low", 6, deferred=False),
    ]
    assert layering.upward_imports(edges, layers) == ["pkg.low (L0) -> pkg.high (L1), line 3"]
    assert layering.cycles(_graph(edges)) == [["pkg.high", "pkg.low", "pkg.mid"]]
    assert layering.layer_of("pkg.unknown", layers) is None


def test_imports_are_read_wherever_they_stand(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("from . import leaf\n")
    (root / "sub" / "leaf.py").write_text("")
    (root / "top.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.sub import leaf\n"
        "def later() -> None:\n    import pkg.sub\n"
        "from pkg import names_only\n"
    )
    modules = layering.module_names(root, "pkg")
    found = {
        (edge.importer, edge.imported, edge.deferred)
        for name, path in modules.items()
        for edge in layering.imports_of(name, path, modules)
    }
    assert found == {
        ("pkg.sub", "pkg.sub.leaf", False),
        ("pkg.top", "pkg.sub.leaf", False),
        ("pkg.top", "pkg.sub", True),
        ("pkg.top", "pkg", False),
    }


ARCHITECTURE = PACKAGE.parent.parent / "docs" / "architecture.md"


def test_the_architecture_docs_give_each_module_its_layer_and_a_line() -> None:
    # docs/architecture.md's table is this LAYERS table, and its module list names every module.
    text = ARCHITECTURE.read_text()
    table = {
        _documented_module(name): int(row[3])
        for row in text.splitlines()
        if row.startswith("| L") and row[3].isdigit()
        for name in row.rsplit("|", 2)[1].split("`")[1::2]
    }
    assert table == LAYERS
    section = text.split("## The modules", 1)[1].split("\n## ", 1)[0]
    listed = {part for path in section.split("`")[1::2] for part in re.split(r"[/.]", path)}
    unlisted = [name for name in MODULES if name.rsplit(".", 1)[-1] not in listed | {"tarry"}]
    assert not unlisted, "modules docs/architecture.md does not list:\n" + "\n".join(unlisted)


def _documented_module(name: str) -> str:
    return "tarry" if name == "__init__" else "tarry." + name.removesuffix("/")


def test_no_module_is_over_600_lines() -> None:
    # A module that outgrows this becomes a package of modules with one concept each.
    long = [f"{name}: {n}" for name, path in MODULES.items() if (n := _lines(path)) > 600]
    assert not long, "modules over 600 lines:\n" + "\n".join(long)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


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
    code = "import sys, tarry; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("httpx", "fastapi", "uvicorn", "starlette", "rich", "typer"):
        assert f"'{heavy}'" not in loaded, heavy
