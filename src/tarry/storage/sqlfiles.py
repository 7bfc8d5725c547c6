"""Loading named queries and numbered migrations from the package's `.sql` files."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources

from tarry import errors

__all__ = ["Migration", "load_migrations", "load_queries"]

_NAME_LINE = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_MIGRATION_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


def load_queries(dialect: str) -> dict[str, str]:
    """Named queries of a dialect: each `-- name: x` line starts query `x`.

    Every `.sql` file of the dialect's folder is read (`queries.sql`, and one per
    theme such as `schedules.sql`), in name order.

    Args:
        dialect: Folder under `storage/sql/`, e.g. `"sqlite"`.

    Returns:
        Query text by name.
    """
    folder = resources.files("tarry.storage").joinpath(f"sql/{dialect}")
    files = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
    text = "\n".join(entry.read_text() for entry in files)
    parts = _NAME_LINE.split(text)[1:]
    names = parts[::2]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        # One file's query would silently replace another's of the same name.
        raise errors.StoreError(f"{dialect} queries named twice: {', '.join(twice)}")
    return {name: body.strip().rstrip(";") for name, body in zip(names, parts[1::2], strict=True)}


@dataclasses.dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    """Its number, from the file name `NNNN_name.sql`."""
    name: str
    """The rest of the file name."""
    sql: str
    """The statements."""


def load_migrations(dialect: str) -> list[Migration]:
    """A dialect's migrations in version order.

    Raises:
        ValueError: Two files share a number or the numbers have a gap.
    """
    folder = resources.files("tarry.storage").joinpath(f"migrations/{dialect}")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise ValueError(f"{dialect} migrations must be numbered 0001, 0002, ... without gaps")
    return found
