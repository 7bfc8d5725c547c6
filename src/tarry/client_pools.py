"""The work pool and queue methods of `Client` and `AsyncClient` (Prefect's names).

Two mixins, one per client, that send the calls of `tarry.client_pool_calls`
through the client's own `_send`: what each method sends is decided once.
Results are `schemas.WorkPoolOut` (a pool with its queues and their counts) and
`schemas.WorkQueueOut`. Errors: `errors.WorkPoolNotFound` and
`errors.WorkQueueNotFound` for what does not exist; `errors.WorkPoolRefused` for
a pool or queue that exists already, the default one's deletion, and a value
out of bounds (a negative limit, a priority under 1, a name the server refuses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from tarry import client_pool_calls as pool_calls
from tarry.client_calls import Call
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.web import schemas

__all__ = ["AsyncWorkPoolMethods", "WorkPoolMethods"]

T = TypeVar("T")

_DEFAULT = "default"

Limit = int | records.Unset | None


class WorkPoolMethods:
    """The work pool and queue methods of `Client`."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    def create_work_pool(
        self,
        name: str,
        *,
        description: str = "",
        concurrency_limit: int | None = None,
        paused: bool = False,
    ) -> schemas.WorkPoolOut:
        """Make a work pool, with its `default` queue.

        Args:
            name: 1 to 100 letters, digits, `-`, `_` or `.`.
            description: What it is for.
            concurrency_limit: The most runs of all its queues that hold a slot at
                once; `None`: no limit.
            paused: Make it paused: its workers start none of its runs until resumed.

        Raises:
            errors.WorkPoolRefused: A pool has this name already, or a value is refused.
        """
        call = pool_calls.create_work_pool_call(name, description, concurrency_limit, paused)
        return self._send(call)

    def read_work_pools(self) -> list[schemas.WorkPoolOut]:
        """Every work pool by name, with its queues and their counts."""
        return self._send(pool_calls.work_pools_call())

    def read_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """One work pool, with its queues and their counts.

        Raises:
            errors.WorkPoolNotFound: No pool has this name.
        """
        return self._send(pool_calls.work_pool_call(name))

    def update_work_pool(
        self,
        name: str,
        *,
        description: str | None = None,
        concurrency_limit: Limit = records.UNSET,
        paused: bool | None = None,
    ) -> schemas.WorkPoolOut:
        """Change a work pool: what is not given stays; `concurrency_limit=None` removes it.

        Raises:
            errors.WorkPoolNotFound: No pool has this name.
            errors.WorkPoolRefused: A value is refused.
        """
        body = pool_calls.changes(
            description=description, concurrency_limit=concurrency_limit, paused=paused
        )
        return self._send(pool_calls.update_work_pool_call(name, body))

    def pause_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """Pause a pool: its workers start none of its Pending runs; runs in progress go on.

        Raises:
            errors.WorkPoolNotFound: No pool has this name.
        """
        return self.update_work_pool(name, paused=True)

    def resume_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """Resume a paused pool.

        Raises:
            errors.WorkPoolNotFound: No pool has this name.
        """
        return self.update_work_pool(name, paused=False)

    def delete_work_pool(self, name: str) -> None:
        """Delete a pool and its queues; its runs stay, for a pool of that name to run them.

        Raises:
            errors.WorkPoolNotFound: No pool has this name.
            errors.WorkPoolRefused: It is the default pool.
        """
        self._send(pool_calls.delete_work_pool_call(name))

    def create_work_queue(
        self,
        name: str,
        *,
        work_pool_name: str = _DEFAULT,
        priority: int | None = None,
        concurrency_limit: int | None = None,
        description: str = "",
        paused: bool = False,
    ) -> schemas.WorkQueueOut:
        """Make a queue in a work pool.

        Args:
            name: 1 to 100 letters, digits, `-`, `_` or `.`, new in the pool.
            work_pool_name: The pool.
            priority: Lower runs first (at least 1); when omitted, one after the
                pool's other queues.
            concurrency_limit: The most of its runs that hold a slot at once.
            description: What it is for.
            paused: Make it paused: its Pending runs wait until it is resumed.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkPoolRefused: The pool has a queue of this name, or a value is refused.
        """
        call = pool_calls.create_work_queue_call(
            name,
            work_pool_name,
            priority=priority,
            concurrency_limit=concurrency_limit,
            description=description,
            paused=paused,
        )
        return self._send(call)

    def read_work_queues(self, work_pool_name: str | None = None) -> list[schemas.WorkQueueOut]:
        """The queues of a pool (of every pool when `None`), by pool, priority and name.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
        """
        return self._send(pool_calls.work_queues_call(work_pool_name))

    def read_work_queue(self, name: str, work_pool_name: str = _DEFAULT) -> schemas.WorkQueueOut:
        """One queue of a pool, with its counts.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkQueueNotFound: The pool has no queue of this name.
        """
        return self._send(pool_calls.work_queue_call(name, work_pool_name))

    def update_work_queue(
        self,
        name: str,
        *,
        work_pool_name: str = _DEFAULT,
        priority: int | None = None,
        concurrency_limit: Limit = records.UNSET,
        paused: bool | None = None,
        description: str | None = None,
    ) -> schemas.WorkQueueOut:
        """Change a queue: what is not given stays; `concurrency_limit=None` removes it.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkQueueNotFound: The pool has no queue of this name.
            errors.WorkPoolRefused: A value is refused.
        """
        body = pool_calls.changes(
            priority=priority,
            concurrency_limit=concurrency_limit,
            paused=paused,
            description=description,
        )
        return self._send(pool_calls.update_work_queue_call(name, work_pool_name, body))

    def pause_work_queue(self, name: str, work_pool_name: str = _DEFAULT) -> schemas.WorkQueueOut:
        """Pause a queue: its Pending runs wait until it is resumed.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkQueueNotFound: The pool has no queue of this name.
        """
        return self.update_work_queue(name, work_pool_name=work_pool_name, paused=True)

    def resume_work_queue(self, name: str, work_pool_name: str = _DEFAULT) -> schemas.WorkQueueOut:
        """Resume a paused queue.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkQueueNotFound: The pool has no queue of this name.
        """
        return self.update_work_queue(name, work_pool_name=work_pool_name, paused=False)

    def delete_work_queue(self, name: str, work_pool_name: str = _DEFAULT) -> None:
        """Delete a queue; its Pending runs stay, for a queue of that name to run them.

        Raises:
            errors.WorkPoolNotFound: The pool does not exist.
            errors.WorkQueueNotFound: The pool has no queue of this name.
            errors.WorkPoolRefused: It is the pool's default queue.
        """
        self._send(pool_calls.delete_work_queue_call(name, work_pool_name))


class AsyncWorkPoolMethods:
    """Async version of `WorkPoolMethods`: the work pool and queue methods of `AsyncClient`."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    async def create_work_pool(
        self,
        name: str,
        *,
        description: str = "",
        concurrency_limit: int | None = None,
        paused: bool = False,
    ) -> schemas.WorkPoolOut:
        """Async version of `Client.create_work_pool`."""
        call = pool_calls.create_work_pool_call(name, description, concurrency_limit, paused)
        return await self._send(call)

    async def read_work_pools(self) -> list[schemas.WorkPoolOut]:
        """Async version of `Client.read_work_pools`."""
        return await self._send(pool_calls.work_pools_call())

    async def read_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """Async version of `Client.read_work_pool`."""
        return await self._send(pool_calls.work_pool_call(name))

    async def update_work_pool(
        self,
        name: str,
        *,
        description: str | None = None,
        concurrency_limit: Limit = records.UNSET,
        paused: bool | None = None,
    ) -> schemas.WorkPoolOut:
        """Async version of `Client.update_work_pool`."""
        body = pool_calls.changes(
            description=description, concurrency_limit=concurrency_limit, paused=paused
        )
        return await self._send(pool_calls.update_work_pool_call(name, body))

    async def pause_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """Async version of `Client.pause_work_pool`."""
        return await self.update_work_pool(name, paused=True)

    async def resume_work_pool(self, name: str) -> schemas.WorkPoolOut:
        """Async version of `Client.resume_work_pool`."""
        return await self.update_work_pool(name, paused=False)

    async def delete_work_pool(self, name: str) -> None:
        """Async version of `Client.delete_work_pool`."""
        await self._send(pool_calls.delete_work_pool_call(name))

    async def create_work_queue(
        self,
        name: str,
        *,
        work_pool_name: str = _DEFAULT,
        priority: int | None = None,
        concurrency_limit: int | None = None,
        description: str = "",
        paused: bool = False,
    ) -> schemas.WorkQueueOut:
        """Async version of `Client.create_work_queue`."""
        call = pool_calls.create_work_queue_call(
            name,
            work_pool_name,
            priority=priority,
            concurrency_limit=concurrency_limit,
            description=description,
            paused=paused,
        )
        return await self._send(call)

    async def read_work_queues(
        self, work_pool_name: str | None = None
    ) -> list[schemas.WorkQueueOut]:
        """Async version of `Client.read_work_queues`."""
        return await self._send(pool_calls.work_queues_call(work_pool_name))

    async def read_work_queue(
        self, name: str, work_pool_name: str = _DEFAULT
    ) -> schemas.WorkQueueOut:
        """Async version of `Client.read_work_queue`."""
        return await self._send(pool_calls.work_queue_call(name, work_pool_name))

    async def update_work_queue(
        self,
        name: str,
        *,
        work_pool_name: str = _DEFAULT,
        priority: int | None = None,
        concurrency_limit: Limit = records.UNSET,
        paused: bool | None = None,
        description: str | None = None,
    ) -> schemas.WorkQueueOut:
        """Async version of `Client.update_work_queue`."""
        body = pool_calls.changes(
            priority=priority,
            concurrency_limit=concurrency_limit,
            paused=paused,
            description=description,
        )
        return await self._send(pool_calls.update_work_queue_call(name, work_pool_name, body))

    async def pause_work_queue(
        self, name: str, work_pool_name: str = _DEFAULT
    ) -> schemas.WorkQueueOut:
        """Async version of `Client.pause_work_queue`."""
        return await self.update_work_queue(name, work_pool_name=work_pool_name, paused=True)

    async def resume_work_queue(
        self, name: str, work_pool_name: str = _DEFAULT
    ) -> schemas.WorkQueueOut:
        """Async version of `Client.resume_work_queue`."""
        return await self.update_work_queue(name, work_pool_name=work_pool_name, paused=False)

    async def delete_work_queue(self, name: str, work_pool_name: str = _DEFAULT) -> None:
        """Async version of `Client.delete_work_queue`."""
        await self._send(pool_calls.delete_work_queue_call(name, work_pool_name))
