"""Global concurrency limits and rate limits, shared by every process on the store.

    from tarry.concurrency import create_limit
    from tarry.concurrency.sync import concurrency, rate_limit

    create_limit("db", 5)
    with concurrency("db", occupy=2, timeout_seconds=30):
        ...

A limit has `limit` slots. `concurrency()` blocks hold theirs until they end;
`rate_limit()` calls take slots that free themselves at the limit's
`slot_decay_per_second`. Task tags are limits too: a task tagged `db` holds a slot
of the limit `tag:db`, if it exists, while it runs (`create_tag_limit`).

Slots are leases of this process, renewed while held: a holder that dies frees
them when its lease lapses, or at once when a waiter sees that its process ended
(on this host, or on PostgreSQL on any host). A `concurrency()` block around a wait
that suspends the run keeps its slots with the run until the run resumes and
leaves the block, or ends. See docs/concurrency.md.
"""

from __future__ import annotations

import dataclasses
import math
import time

from tarry import errors, host
from tarry.engine.limits import TAG_PREFIX
from tarry.storage import limits

__all__ = [
    "MAX_LIMIT",
    "TAG_PREFIX",
    "ConcurrencyLimit",
    "SlotHolder",
    "create_limit",
    "create_tag_limit",
    "delete_limit",
    "get_limit",
    "limit_holders",
    "list_limits",
    "reset_limit",
    "update_limit",
]

ConcurrencyLimit = limits.ConcurrencyLimitRecord
SlotHolder = limits.SlotHolder
# Stored as 32-bit integers (PostgreSQL INTEGER): anything larger is refused, not a 500.
MAX_LIMIT = 2**31 - 1
_MAX_NAME = 200
_REFUSED_CHARS = frozenset("/%&<>\\")
_PATH_NAMES = frozenset({".", ".."})


def create_limit(
    name: str,
    limit: int,
    *,
    slot_decay_per_second: float = 0.0,
    active: bool = True,
    hst: host.Host | None = None,
) -> ConcurrencyLimit:
    """Make a global concurrency limit (`tarry gcl create NAME --limit N`).

    Args:
        name: How code names it: `concurrency("name")`.
        limit: The most slots in use at once (0 holds everyone back).
        slot_decay_per_second: How fast slots taken by `rate_limit` free themselves;
            a rate limit needs more than 0.
        active: An inactive limit is not enforced.
        hst: The host (the process's own when omitted).

    Raises:
        errors.ConcurrencyLimitRefused: A bad name or value, or the name is taken.
    """
    hst = hst or host.get_host()
    now = time.time()
    made = limits.ConcurrencyLimitRecord(
        _checked_name(name),
        _checked_limit(limit),
        now,
        now,
        bool(active),
        _checked_decay(slot_decay_per_second),
    )
    if not hst.store.create_concurrency_limit(made):
        raise errors.ConcurrencyLimitRefused(
            f"a concurrency limit named {name!r} exists; change it with `tarry gcl update {name}`"
        )
    return made


def create_tag_limit(tag: str, limit: int, *, hst: host.Host | None = None) -> ConcurrencyLimit:
    """Limit how many task runs tagged `tag` run at once (`tarry concurrency-limit create`).

    Raises:
        errors.ConcurrencyLimitRefused: A bad tag or value, or the tag has a limit.
    """
    return create_limit(f"{TAG_PREFIX}{_checked_name(tag)}", limit, hst=hst)


def update_limit(
    name: str,
    *,
    limit: int | None = None,
    slot_decay_per_second: float | None = None,
    active: bool | None = None,
    hst: host.Host | None = None,
) -> ConcurrencyLimit:
    """Change a limit's settings; slots held stay held.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
        errors.ConcurrencyLimitRefused: A bad value.
    """
    hst = hst or host.get_host()
    known = get_limit(name, hst=hst)
    changes: dict[str, object] = {"updated_at": time.time()}
    if limit is not None:
        changes["limit"] = _checked_limit(limit)
    if slot_decay_per_second is not None:
        changes["slot_decay_per_second"] = _checked_decay(slot_decay_per_second)
    if active is not None:
        changes["active"] = bool(active)
    changed = dataclasses.replace(known, **changes)  # type: ignore[arg-type]
    if not hst.store.update_concurrency_limit(changed):
        raise errors.ConcurrencyLimitNotFound(name)
    return get_limit(name, hst=hst)


def delete_limit(name: str, *, hst: host.Host | None = None) -> None:
    """Delete a limit; its holders' slots go with it.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    if not (hst or host.get_host()).store.delete_concurrency_limit(name):
        raise errors.ConcurrencyLimitNotFound(name)


def reset_limit(name: str, *, hst: host.Host | None = None) -> ConcurrencyLimit:
    """Free every slot of the limit now: its holders' and those still decaying.

    A holder still running goes on; it only no longer counts.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    hst = hst or host.get_host()
    if not hst.store.reset_concurrency_limit(name):
        raise errors.ConcurrencyLimitNotFound(name)
    return get_limit(name, hst=hst)


def get_limit(name: str, *, hst: host.Host | None = None) -> ConcurrencyLimit:
    """The limit with this name, its slots in use counted now.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    found = (hst or host.get_host()).store.get_concurrency_limit(name, time.time())
    if found is None:
        raise errors.ConcurrencyLimitNotFound(name)
    return found


def list_limits(*, hst: host.Host | None = None) -> list[ConcurrencyLimit]:
    """Every limit, by name, its slots in use counted now."""
    return (hst or host.get_host()).store.list_concurrency_limits(time.time())


def limit_holders(name: str, *, hst: host.Host | None = None) -> list[SlotHolder]:
    """Who holds slots of the limit now, oldest first.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    hst = hst or host.get_host()
    get_limit(name, hst=hst)
    return hst.store.concurrency_holders(name, time.time())


def _checked_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
        raise errors.ConcurrencyLimitRefused(
            f"a limit's name must be 1-{_MAX_NAME} characters, not {name!r}"
        )
    bad = sorted(c for c in set(name) if c in _REFUSED_CHARS or not c.isprintable())
    if bad:
        raise errors.ConcurrencyLimitRefused(
            f"a limit's name cannot hold {' '.join(repr(c) for c in bad)}: {name!r}"
        )
    if name in _PATH_NAMES:
        # A URL path cannot name it: `/api/concurrency-limits/..` is the list's parent.
        raise errors.ConcurrencyLimitRefused(f"a limit cannot be named {name!r}")
    if name.startswith(TAG_PREFIX):
        _checked_name(name.removeprefix(TAG_PREFIX))
    return name


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise errors.ConcurrencyLimitRefused(
            f"limit must be a whole number from 0 to {MAX_LIMIT}, not {limit!r}"
        )
    return limit


def _checked_decay(decay: float) -> float:
    if isinstance(decay, bool) or not isinstance(decay, int | float):
        raise errors.ConcurrencyLimitRefused(
            f"slot_decay_per_second must be a number, not {decay!r}"
        )
    if not math.isfinite(decay) or decay < 0:
        raise errors.ConcurrencyLimitRefused(
            f"slot_decay_per_second must be 0 or more, not {decay!r}"
        )
    return float(decay)
