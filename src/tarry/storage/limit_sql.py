"""Concurrency limits on both SQL stores: rows, the reads they share, and a take.

`SqliteStore` and `PostgresStore` inherit `LimitReads`; a take runs `take_slots`
inside its own transaction through the dialect's named queries
(`sql/<dialect>/limits.sql`), which have the same names and columns in both. On
PostgreSQL, `limits_named` locks the limits' rows, so one take at a time counts a
limit's slots; SQLite's single writer gives the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from tarry.storage import limits

__all__ = [
    "Array",
    "Execute",
    "LimitReads",
    "LimitWrites",
    "held_by_limit",
    "holder_from_row",
    "holder_of",
    "limit_from_row",
    "limit_params",
    "take_slots",
]

T = TypeVar("T")

Execute = Callable[[str, dict[str, Any]], Sequence[Any]]
"""Runs a named query with parameters; returns rows that read by column name."""
Array = Callable[[list[str]], Any]
"""How the dialect sends a list of strings (SQLite: JSON text; PostgreSQL: an array)."""


def limit_params(limit: limits.ConcurrencyLimitRecord) -> dict[str, Any]:
    """Query parameters of a limit's settings."""
    return {
        "name": limit.name,
        "limit": limit.limit,
        "active": limit.active,
        "slot_decay_per_second": limit.slot_decay_per_second,
        "created_at": limit.created_at,
        "updated_at": limit.updated_at,
    }


def limit_from_row(row: Any) -> limits.ConcurrencyLimitRecord:
    """The limit a `concurrency_limits` row holds (with `held_slots` when the query counts)."""
    return limits.ConcurrencyLimitRecord(
        name=row["name"],
        limit=row["slot_limit"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        active=bool(row["active"]),
        slot_decay_per_second=row["slot_decay_per_second"],
        decaying_slots=row["decaying_slots"],
        decayed_at=row["decayed_at"],
        denied_slots=row["denied_slots"],
        held_slots=int(row["held_slots"]),
    )


def holder_from_row(row: Any) -> limits.SlotHolder:
    """The holder a `concurrency_slots` row holds."""
    return limits.SlotHolder(**{f.name: row[f.name] for f in dataclasses.fields(limits.SlotHolder)})


def take_slots(execute: Execute, take: limits.SlotTake, array: Array) -> limits.SlotGrant:
    """Grant `take` or refuse it, inside the caller's transaction (see `Store`)."""
    names = array(sorted(set(take.names)))
    stored = {row["name"]: limit_from_row(row) for row in execute("limits_named", {"names": names})}
    rows = [holder_from_row(r) for r in execute("live_slots", {"names": names, "now": take.now})]
    decision = limits.decide(take, stored, held_by_limit(rows, take.holder))
    _write(execute, take, decision, array)
    return decision.grant


def held_by_limit(rows: Iterable[limits.SlotHolder], holder: str) -> dict[str, limits.HeldSlots]:
    """Per limit, the live slots of `rows` held by others, and whether `holder` holds some."""
    held: dict[str, limits.HeldSlots] = {}
    for row in rows:
        seen = held.get(row.limit_name, limits.HeldSlots())
        if row.holder == holder:
            held[row.limit_name] = dataclasses.replace(seen, mine=True)
            continue
        owners = seen.owners if row.owner in seen.owners else (*seen.owners, row.owner)
        total = seen.total + row.slots
        held[row.limit_name] = dataclasses.replace(seen, total=total, owners=owners)
    return held


def _write(
    execute: Execute, take: limits.SlotTake, decision: limits.Decision, array: Array
) -> None:
    for name in decision.insert:
        execute("insert_limit_slot", dataclasses.asdict(holder_of(take, name)))
    if decision.adopt:
        lease = {"owner": take.owner, "expires_at": take.expires_at}
        execute(
            "adopt_slots", {**lease, "holder": take.holder, "names": array(list(decision.adopt))}
        )
    for name, slots in decision.decay.items():
        decay = {"name": name, "decaying_slots": slots, "decayed_at": take.now}
        execute("set_decaying_slots", decay)
    if decision.denied:
        names = array(list(decision.denied))
        execute("add_denied_slots", {"names": names, "slots": take.slots})
        execute("delete_dead_slots", {"names": names, "now": take.now})


def holder_of(take: limits.SlotTake, name: str) -> limits.SlotHolder:
    """The row `take` adds to limit `name`."""
    return limits.SlotHolder(
        limit_name=name,
        holder=take.holder,
        slots=take.slots,
        owner=take.owner,
        acquired_at=take.now,
        expires_at=take.expires_at,
        run_id=take.run_id,
    )


class LimitReads:
    """The `LimitStore` reads of both SQL stores."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def get_concurrency_limit(self, name: str, now: float) -> limits.ConcurrencyLimitRecord | None:
        """See `Store.get_concurrency_limit`."""
        rows = self._read("list_concurrency_limits", {"name": name, "now": now})
        return limit_from_row(rows[0]) if rows else None

    def list_concurrency_limits(self, now: float) -> list[limits.ConcurrencyLimitRecord]:
        """See `Store.list_concurrency_limits`."""
        rows = self._read("list_concurrency_limits", {"name": None, "now": now})
        return [limit_from_row(row) for row in rows]

    def concurrency_holders(self, name: str, now: float) -> list[limits.SlotHolder]:
        """See `Store.concurrency_holders`."""
        rows = self._read("live_slots", {"names": self._array([name]), "now": now})
        return [holder_from_row(row) for row in rows]

    def _array(self, names: list[str]) -> Any:
        raise NotImplementedError


class LimitWrites(LimitReads):
    """The `LimitStore` writes of both SQL stores, each one transaction of the dialect."""

    def _limit_write(self, op: Callable[[Execute], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def create_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """See `Store.create_concurrency_limit`."""
        return self._changed("insert_concurrency_limit", limit_params(limit))

    def update_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """See `Store.update_concurrency_limit`."""
        return self._changed("update_concurrency_limit", limit_params(limit))

    def delete_concurrency_limit(self, name: str) -> bool:
        """See `Store.delete_concurrency_limit`."""

        def op(execute: Execute) -> bool:
            execute("delete_limit_slots", {"name": name})
            return bool(execute("delete_concurrency_limit", {"name": name}))

        return self._limit_write(op)

    def reset_concurrency_limit(self, name: str) -> bool:
        """See `Store.reset_concurrency_limit`."""

        def op(execute: Execute) -> bool:
            execute("delete_limit_slots", {"name": name})
            return bool(execute("reset_concurrency_limit", {"name": name}))

        return self._limit_write(op)

    def take_concurrency_slots(self, take: limits.SlotTake) -> limits.SlotGrant:
        """See `Store.take_concurrency_slots`."""
        return self._limit_write(lambda execute: take_slots(execute, take, self._array))

    def release_concurrency_slots(self, holder: str) -> int:
        """See `Store.release_concurrency_slots`."""
        # Not waiting for the disk: a release lost with a database crash only leaves the
        # slots to lapse with their lease (or free when their owner is seen gone).
        return self._count("release_holder_slots", {"holder": holder}, durable=False)

    def park_concurrency_slots(self, holder: str) -> int:
        """See `Store.park_concurrency_slots`."""
        return self._count("park_holder_slots", {"holder": holder})

    def renew_concurrency_slots(self, owner: str, expires_at: float) -> int:
        """See `Store.renew_concurrency_slots`."""
        params = {"owner": owner, "expires_at": expires_at}
        return self._count("renew_owner_slots", params, durable=False)

    def free_concurrency_slots_of(self, owners: Sequence[str]) -> int:
        """See `Store.free_concurrency_slots_of`."""
        if not owners:
            return 0
        return self._count("free_owner_slots", {"owners": self._array(list(owners))})

    def _changed(self, query: str, params: dict[str, Any]) -> bool:
        return self._count(query, params) > 0

    def _count(self, query: str, params: dict[str, Any], *, durable: bool = True) -> int:
        return self._limit_write(lambda execute: len(execute(query, params)), durable=durable)
