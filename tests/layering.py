"""The import graph of a package, read from its source, and the two rules it must keep.

Every import counts: at module level, deferred into a function, or under
`if TYPE_CHECKING:` (an annotation is a dependency too). `tests/test_layering.py` holds
the layer table and applies the rules to `tarry`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Import", "cycles", "imports_of", "layer_of", "module_names", "upward_imports"]

Graph = Mapping[str, set[str]]


@dataclass(frozen=True)
class Import:
    """One import of a package module by another."""

    importer: str
    imported: str
    line: int
    deferred: bool
    """Inside a function body, so it runs when the function is called."""


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under `root`, by dotted name (a package by its `__init__`)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> Iterator[Import]:
    """The imports of package modules that the module `name` (at `path`) makes."""
    is_package = path.name == "__init__.py"
    for node, deferred in _import_nodes(ast.parse(path.read_text())):
        for target in _targets(node, name, is_package, modules):
            if target != name:
                yield Import(name, target, node.lineno, deferred)


def _import_nodes(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    def visit(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, deferred
            inside = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from visit(child, inside)

    return visit(tree, False)


def _targets(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool, modules: Mapping[str, Path]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [_owner(alias.name, modules) for alias in node.names if _owner(alias.name, modules)]
    base = _absolute(node, name, is_package)
    targets = []
    for alias in node.names:
        # `from tarry import storage` imports the module; `from tarry import flow` a name.
        owner = _owner(f"{base}.{alias.name}", modules) or _owner(base, modules)
        if owner:
            targets.append(owner)
    return targets


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _owner(dotted: str, modules: Mapping[str, Path]) -> str:
    """The package module that `dotted` (a module, or a name in one) belongs to, or ''."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return ""


def layer_of(module: str, layers: Mapping[str, int]) -> int | None:
    """The layer of `module`, or of its longest prefix in the table; None if none matches.

    The top package's own name matches only itself, so that a module missing from the
    table is found missing rather than taken for part of the package's face.
    """
    parts = module.split(".")
    found = layers.get(module)
    while found is None and len(parts) > 2:
        parts.pop()
        found = layers.get(".".join(parts))
    return found


def upward_imports(edges: list[Import], layers: Mapping[str, int]) -> list[str]:
    """Each import of a module from a higher layer, as `importer (Ln) -> imported (Lm)`."""
    found = []
    for edge in edges:
        low, high = layer_of(edge.importer, layers), layer_of(edge.imported, layers)
        if low is not None and high is not None and high > low:
            found.append(f"{edge.importer} (L{low}) -> {edge.imported} (L{high}), line {edge.line}")
    return found


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)
