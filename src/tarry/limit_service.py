"""Global concurrency limits and task tag limits for the interfaces: the REST API, the CLI, the UI.

Like `tarry.pool_service`, each function takes names and plain values, checks what
came from outside before any store sees it, and leaves the decisions to
`tarry.concurrency`. What it returns is a `LimitStatus`: the limit, its slots in
use now, and who holds them, which is what a person asks about next.

A tag limit is the global limit named `tag:TAG` (`concurrency.TAG_PREFIX`): the
`*_tag_limit` functions take the tag and name the limit for it.

Checked here, on top of what `tarry.concurrency` checks: a name with a NUL
character names nothing, so looking it up is "not found" (PostgreSQL refuses a NUL
even in a lookup).
"""

from __future__ import annotations

import dataclasses
import time

from tarry import boundary, concurrency, errors, host

__all__ = [
    "LimitStatus",
    "create_limit",
    "create_tag_limit",
    "delete_limit",
    "delete_tag_limit",
    "get_limit",
    "get_tag_limit",
    "list_limits",
    "list_tag_limits",
    "reset_limit",
    "reset_tag_limit",
    "tag_limit_name",
    "tag_of",
    "update_limit",
]


@dataclasses.dataclass(frozen=True)
class LimitStatus:
    """A limit as read now: its settings, its slots in use, and their holders."""

    limit: concurrency.ConcurrencyLimit
    """The limit."""
    active_slots: int
    """Slots in use when read: held ones and rate-limit slots not yet decayed."""
    holders: tuple[concurrency.SlotHolder, ...]
    """Who holds slots, oldest first (rate-limit slots have no holder)."""

    @property
    def tag(self) -> str | None:
        """The task tag it limits, or `None` for a limit that is not a tag's."""
        return tag_of(self.limit.name)


def tag_of(name: str) -> str | None:
    """The tag a limit's name is for (`tag:db` is for `db`), or `None`.

    Args:
        name: The limit's name.
    """
    return name.removeprefix(concurrency.TAG_PREFIX) if _is_tag(name) else None


def tag_limit_name(tag: str) -> str:
    """The name of the limit of task runs tagged `tag`: `tag:TAG`.

    Args:
        tag: The task tag.
    """
    return f"{concurrency.TAG_PREFIX}{tag}"


def _is_tag(name: str) -> bool:
    return name.startswith(concurrency.TAG_PREFIX)


def _host(hst: host.Host | None) -> host.Host:
    return hst or host.get_host()


def _known(name: str) -> str:
    if not boundary.may_exist(name):
        raise errors.ConcurrencyLimitNotFound(name)
    return name


def _status(limit: concurrency.ConcurrencyLimit, hst: host.Host) -> LimitStatus:
    now = time.time()
    holders = hst.store.concurrency_holders(limit.name, now)
    return LimitStatus(limit, limit.active_slots(now), tuple(holders))


# -- global limits --------------------------------------------------------------------------


def list_limits(*, hst: host.Host | None = None) -> list[LimitStatus]:
    """Every limit by name, tag limits (`tag:...`) among them, with its slots and holders."""
    hst = _host(hst)
    return [_status(limit, hst) for limit in concurrency.list_limits(hst=hst)]


def get_limit(name: str, *, hst: host.Host | None = None) -> LimitStatus:
    """One limit with its slots in use and their holders.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    hst = _host(hst)
    return _status(concurrency.get_limit(_known(name), hst=hst), hst)


def create_limit(
    name: str,
    limit: int,
    *,
    slot_decay_per_second: float = 0.0,
    active: bool = True,
    hst: host.Host | None = None,
) -> LimitStatus:
    """Make a global concurrency limit (see `concurrency.create_limit`).

    Raises:
        errors.ConcurrencyLimitRefused: A bad name or value, or the name is taken;
            nothing is made.
    """
    hst = _host(hst)
    made = concurrency.create_limit(
        name, limit, slot_decay_per_second=slot_decay_per_second, active=active, hst=hst
    )
    return _status(made, hst)


def update_limit(
    name: str,
    *,
    limit: int | None = None,
    slot_decay_per_second: float | None = None,
    active: bool | None = None,
    hst: host.Host | None = None,
) -> LimitStatus:
    """Change a limit: what is not given (`None`) stays; slots held stay held.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
        errors.ConcurrencyLimitRefused: A bad value; nothing is changed.
    """
    hst = _host(hst)
    changed = concurrency.update_limit(
        _known(name),
        limit=limit,
        slot_decay_per_second=slot_decay_per_second,
        active=active,
        hst=hst,
    )
    return _status(changed, hst)


def reset_limit(name: str, *, hst: host.Host | None = None) -> LimitStatus:
    """Free every slot of the limit now; holders still running go on, uncounted.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    hst = _host(hst)
    return _status(concurrency.reset_limit(_known(name), hst=hst), hst)


def delete_limit(name: str, *, hst: host.Host | None = None) -> None:
    """Delete a limit and its holders' slots.

    Raises:
        errors.ConcurrencyLimitNotFound: No limit has this name.
    """
    concurrency.delete_limit(_known(name), hst=_host(hst))


# -- tag limits -----------------------------------------------------------------------------


def list_tag_limits(*, hst: host.Host | None = None) -> list[LimitStatus]:
    """The limits of task tags, by tag."""
    return [status for status in list_limits(hst=hst) if status.tag is not None]


def get_tag_limit(tag: str, *, hst: host.Host | None = None) -> LimitStatus:
    """The limit of task runs tagged `tag`, with its slots and holders.

    Raises:
        errors.ConcurrencyLimitNotFound: The tag has no limit.
    """
    return get_limit(tag_limit_name(tag), hst=hst)


def create_tag_limit(tag: str, limit: int, *, hst: host.Host | None = None) -> LimitStatus:
    """Limit how many task runs tagged `tag` run at once.

    Raises:
        errors.ConcurrencyLimitRefused: A bad tag or value, or the tag has a limit.
    """
    hst = _host(hst)
    return _status(concurrency.create_tag_limit(tag, limit, hst=hst), hst)


def reset_tag_limit(tag: str, *, hst: host.Host | None = None) -> LimitStatus:
    """Free every slot of the tag's limit now.

    Raises:
        errors.ConcurrencyLimitNotFound: The tag has no limit.
    """
    return reset_limit(tag_limit_name(tag), hst=hst)


def delete_tag_limit(tag: str, *, hst: host.Host | None = None) -> None:
    """Delete the tag's limit: its tasks no longer wait for a slot.

    Raises:
        errors.ConcurrencyLimitNotFound: The tag has no limit.
    """
    delete_limit(tag_limit_name(tag), hst=hst)
