"""The pure core of the clients' concurrency limit methods: the calls they send.

As in `tarry.client_calls`, no I/O here: each `*_call` function builds the `Call`
that `tarry.client_limits` sends from `Client` and from `AsyncClient`, and a 404
names the limit the call is about. A tag's limit is the limit named `tag:TAG`.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from tarry import _lazy
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import schemas
else:
    # The API models cost about 10 ms to import: the client pays on first use.
    schemas = _lazy.Lazy("tarry.web.schemas")

__all__ = [
    "TAG_PREFIX",
    "create_limit_call",
    "delete_limit_call",
    "limit_call",
    "limits_call",
    "reset_limit_call",
    "tag_limit_name",
    "update_limit_call",
]

TAG_PREFIX = "tag:"
"""A tag's limit is named `tag:TAG` (as `tarry.concurrency.TAG_PREFIX`)."""

_PATH = "concurrency-limits"


def tag_limit_name(tag: str) -> str:
    """The name of the limit of task runs tagged `tag`."""
    return f"{TAG_PREFIX}{tag}"


def _path(name: str, rest: str = "") -> str:
    return f"{_PATH}/{urllib.parse.quote(name, safe='')}{rest}"


def _limit(body: Any) -> schemas.ConcurrencyLimitOut:
    return schemas.ConcurrencyLimitOut.model_validate(body)


def _limits(body: Any) -> list[schemas.ConcurrencyLimitOut]:
    return [schemas.ConcurrencyLimitOut.model_validate(item) for item in body]


def _tag_limits(body: Any) -> list[schemas.ConcurrencyLimitOut]:
    return [limit for limit in _limits(body) if limit.tag is not None]


def _nothing(_body: Any) -> None:
    return None


def limits_call(*, tags: bool = False) -> Call[list[schemas.ConcurrencyLimitOut]]:
    """The call of `Client.read_global_concurrency_limits` (`tags`: `read_concurrency_limits`)."""
    return Call("GET", _PATH, _tag_limits if tags else _limits)


def limit_call(name: str) -> Call[schemas.ConcurrencyLimitOut]:
    """The call of `Client.read_global_concurrency_limit_by_name` (and `..._by_tag`)."""
    return Call("GET", _path(name), _limit, subject="concurrency_limit", subject_id=name)


def create_limit_call(
    name: str, limit: int, slot_decay_per_second: float, active: bool
) -> Call[schemas.ConcurrencyLimitOut]:
    """The call of `Client.create_global_concurrency_limit` (and `create_concurrency_limit`)."""
    body = {
        "name": name,
        "limit": limit,
        "slot_decay_per_second": slot_decay_per_second,
        "active": active,
    }
    return Call("POST", _PATH, _limit, body=body, subject="concurrency_limit", subject_id=name)


def update_limit_call(
    name: str, *, limit: int | None, slot_decay_per_second: float | None, active: bool | None
) -> Call[schemas.ConcurrencyLimitOut]:
    """The call of `Client.update_global_concurrency_limit`: what is `None` stays."""
    given = {"limit": limit, "slot_decay_per_second": slot_decay_per_second, "active": active}
    body = {field: value for field, value in given.items() if value is not None}
    path = _path(name)
    return Call("PATCH", path, _limit, body=body, subject="concurrency_limit", subject_id=name)


def reset_limit_call(name: str) -> Call[schemas.ConcurrencyLimitOut]:
    """The call of `Client.reset_concurrency_limit_by_tag` (and `reset_global_...`)."""
    path = _path(name, "/reset")
    return Call("POST", path, _limit, subject="concurrency_limit", subject_id=name)


def delete_limit_call(name: str) -> Call[None]:
    """The call of `Client.delete_global_concurrency_limit_by_name` (and `..._by_tag`)."""
    path = _path(name)
    return Call("DELETE", path, _nothing, subject="concurrency_limit", subject_id=name)
