"""The concurrency limit methods of `Client` and `AsyncClient` (Prefect's names).

Two mixins, one per client, that send the calls of `tarry.client_limit_calls`
through the client's own `_send`: what each method sends is decided once.
Results are `schemas.ConcurrencyLimitOut`: a limit, its slots in use and who holds
them. A task tag's limit is the global limit named `tag:TAG`; the `*_by_tag`
methods take the tag. Errors: `errors.ConcurrencyLimitNotFound` for a limit that
does not exist; `errors.ConcurrencyLimitRefused` for a name that is taken and a
value the server refuses (a negative limit, a name with `/`, `.` or `..`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from tarry import client_limit_calls as limit_calls
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import schemas

__all__ = ["AsyncConcurrencyLimitMethods", "ConcurrencyLimitMethods"]

T = TypeVar("T")

_tag = limit_calls.tag_limit_name


class ConcurrencyLimitMethods:
    """The concurrency limit methods of `Client`."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    def create_global_concurrency_limit(
        self, name: str, limit: int, *, slot_decay_per_second: float = 0.0, active: bool = True
    ) -> schemas.ConcurrencyLimitOut:
        """Make a global concurrency limit (`tarry gcl create`).

        Args:
            name: How code names it: `concurrency(name)`.
            limit: The most slots in use at once.
            slot_decay_per_second: How fast slots taken by `rate_limit` free themselves.
            active: An inactive limit is not enforced.

        Raises:
            errors.ConcurrencyLimitRefused: The name is taken, or a value is refused.
        """
        call = limit_calls.create_limit_call(name, limit, slot_decay_per_second, active)
        return self._send(call)

    def read_global_concurrency_limit_by_name(self, name: str) -> schemas.ConcurrencyLimitOut:
        """One limit with its slots in use and their holders.

        Raises:
            errors.ConcurrencyLimitNotFound: No limit has this name.
        """
        return self._send(limit_calls.limit_call(name))

    def read_global_concurrency_limits(self) -> list[schemas.ConcurrencyLimitOut]:
        """Every limit by name, tag limits (`tag:TAG`) among them."""
        return self._send(limit_calls.limits_call())

    def update_global_concurrency_limit(
        self,
        name: str,
        *,
        limit: int | None = None,
        slot_decay_per_second: float | None = None,
        active: bool | None = None,
    ) -> schemas.ConcurrencyLimitOut:
        """Change a limit: what is not given stays; slots held stay held.

        Raises:
            errors.ConcurrencyLimitNotFound: No limit has this name.
            errors.ConcurrencyLimitRefused: A value is refused.
        """
        call = limit_calls.update_limit_call(
            name, limit=limit, slot_decay_per_second=slot_decay_per_second, active=active
        )
        return self._send(call)

    def reset_global_concurrency_limit_by_name(self, name: str) -> schemas.ConcurrencyLimitOut:
        """Free every slot of a limit now; holders still running go on, uncounted.

        Raises:
            errors.ConcurrencyLimitNotFound: No limit has this name.
        """
        return self._send(limit_calls.reset_limit_call(name))

    def delete_global_concurrency_limit_by_name(self, name: str) -> None:
        """Delete a limit and its holders' slots.

        Raises:
            errors.ConcurrencyLimitNotFound: No limit has this name.
        """
        self._send(limit_calls.delete_limit_call(name))

    def create_concurrency_limit(
        self, tag: str, concurrency_limit: int
    ) -> schemas.ConcurrencyLimitOut:
        """Limit how many task runs tagged `tag` run at once (the limit `tag:TAG`).

        Raises:
            errors.ConcurrencyLimitRefused: The tag has a limit, or a value is refused.
        """
        return self._send(limit_calls.create_limit_call(_tag(tag), concurrency_limit, 0.0, True))

    def read_concurrency_limit_by_tag(self, tag: str) -> schemas.ConcurrencyLimitOut:
        """The limit of a tag, with the task runs that hold its slots.

        Raises:
            errors.ConcurrencyLimitNotFound: The tag has no limit.
        """
        return self._send(limit_calls.limit_call(_tag(tag)))

    def read_concurrency_limits(self) -> list[schemas.ConcurrencyLimitOut]:
        """The limits of task tags, by tag."""
        return self._send(limit_calls.limits_call(tags=True))

    def reset_concurrency_limit_by_tag(self, tag: str) -> schemas.ConcurrencyLimitOut:
        """Free every slot of a tag's limit now.

        Raises:
            errors.ConcurrencyLimitNotFound: The tag has no limit.
        """
        return self._send(limit_calls.reset_limit_call(_tag(tag)))

    def delete_concurrency_limit_by_tag(self, tag: str) -> None:
        """Delete a tag's limit: its task runs no longer wait for a slot.

        Raises:
            errors.ConcurrencyLimitNotFound: The tag has no limit.
        """
        self._send(limit_calls.delete_limit_call(_tag(tag)))


class AsyncConcurrencyLimitMethods:
    """Async version of `ConcurrencyLimitMethods`: the limit methods of `AsyncClient`."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    async def create_global_concurrency_limit(
        self, name: str, limit: int, *, slot_decay_per_second: float = 0.0, active: bool = True
    ) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.create_global_concurrency_limit`."""
        call = limit_calls.create_limit_call(name, limit, slot_decay_per_second, active)
        return await self._send(call)

    async def read_global_concurrency_limit_by_name(self, name: str) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.read_global_concurrency_limit_by_name`."""
        return await self._send(limit_calls.limit_call(name))

    async def read_global_concurrency_limits(self) -> list[schemas.ConcurrencyLimitOut]:
        """Async version of `Client.read_global_concurrency_limits`."""
        return await self._send(limit_calls.limits_call())

    async def update_global_concurrency_limit(
        self,
        name: str,
        *,
        limit: int | None = None,
        slot_decay_per_second: float | None = None,
        active: bool | None = None,
    ) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.update_global_concurrency_limit`."""
        call = limit_calls.update_limit_call(
            name, limit=limit, slot_decay_per_second=slot_decay_per_second, active=active
        )
        return await self._send(call)

    async def reset_global_concurrency_limit_by_name(
        self, name: str
    ) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.reset_global_concurrency_limit_by_name`."""
        return await self._send(limit_calls.reset_limit_call(name))

    async def delete_global_concurrency_limit_by_name(self, name: str) -> None:
        """Async version of `Client.delete_global_concurrency_limit_by_name`."""
        await self._send(limit_calls.delete_limit_call(name))

    async def create_concurrency_limit(
        self, tag: str, concurrency_limit: int
    ) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.create_concurrency_limit`."""
        call = limit_calls.create_limit_call(_tag(tag), concurrency_limit, 0.0, True)
        return await self._send(call)

    async def read_concurrency_limit_by_tag(self, tag: str) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.read_concurrency_limit_by_tag`."""
        return await self._send(limit_calls.limit_call(_tag(tag)))

    async def read_concurrency_limits(self) -> list[schemas.ConcurrencyLimitOut]:
        """Async version of `Client.read_concurrency_limits`."""
        return await self._send(limit_calls.limits_call(tags=True))

    async def reset_concurrency_limit_by_tag(self, tag: str) -> schemas.ConcurrencyLimitOut:
        """Async version of `Client.reset_concurrency_limit_by_tag`."""
        return await self._send(limit_calls.reset_limit_call(_tag(tag)))

    async def delete_concurrency_limit_by_tag(self, tag: str) -> None:
        """Async version of `Client.delete_concurrency_limit_by_tag`."""
        await self._send(limit_calls.delete_limit_call(_tag(tag)))
