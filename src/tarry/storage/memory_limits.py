"""`LimitStore` in memory: a mixin of `MemoryStore`, deciding as the SQL stores do."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from tarry import interrupts
from tarry.storage import limit_sql, limits, records

__all__ = ["MemoryLimits"]


class MemoryLimits:
    """The `LimitStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock
    _runs: dict[str, records.RunRecord]

    def _check_open(self) -> None:
        raise NotImplementedError

    def _limit_tables(
        self,
    ) -> tuple[dict[str, limits.ConcurrencyLimitRecord], dict[tuple[str, str], limits.SlotHolder]]:
        if not hasattr(self, "_limits"):
            self._limits: dict[str, limits.ConcurrencyLimitRecord] = {}
            self._limit_slots: dict[tuple[str, str], limits.SlotHolder] = {}
        return self._limits, self._limit_slots

    def create_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """See `Store.create_concurrency_limit`."""
        with self._lock:
            self._check_open()
            stored, _ = self._limit_tables()
            if limit.name in stored:
                return False
            stored[limit.name] = dataclasses.replace(limit, held_slots=0)
            return True

    def update_concurrency_limit(self, limit: limits.ConcurrencyLimitRecord) -> bool:
        """See `Store.update_concurrency_limit`."""
        with self._lock:
            self._check_open()
            stored, _ = self._limit_tables()
            known = stored.get(limit.name)
            if known is None:
                return False
            stored[limit.name] = dataclasses.replace(
                known,
                limit=limit.limit,
                active=limit.active,
                slot_decay_per_second=limit.slot_decay_per_second,
                updated_at=limit.updated_at,
            )
            return True

    def get_concurrency_limit(self, name: str, now: float) -> limits.ConcurrencyLimitRecord | None:
        """See `Store.get_concurrency_limit`."""
        return next((lim for lim in self.list_concurrency_limits(now) if lim.name == name), None)

    def list_concurrency_limits(self, now: float) -> list[limits.ConcurrencyLimitRecord]:
        """See `Store.list_concurrency_limits`."""
        with self._lock:
            self._check_open()
            stored, _ = self._limit_tables()
            return [
                dataclasses.replace(lim, held_slots=sum(h.slots for h in self._live(name, now)))
                for name, lim in sorted(stored.items())
            ]

    def delete_concurrency_limit(self, name: str) -> bool:
        """See `Store.delete_concurrency_limit`."""
        with self._lock:
            self._check_open()
            stored, slots = self._limit_tables()
            for key in [k for k in slots if k[0] == name]:
                del slots[key]
            return stored.pop(name, None) is not None

    def reset_concurrency_limit(self, name: str) -> bool:
        """See `Store.reset_concurrency_limit`."""
        with self._lock:
            self._check_open()
            stored, slots = self._limit_tables()
            for key in [k for k in slots if k[0] == name]:
                del slots[key]
            if name not in stored:
                return False
            stored[name] = dataclasses.replace(stored[name], decaying_slots=0.0, decayed_at=0.0)
            return True

    def concurrency_holders(self, name: str, now: float) -> list[limits.SlotHolder]:
        """See `Store.concurrency_holders`."""
        with self._lock:
            self._check_open()
            self._limit_tables()
            return self._live(name, now)

    def take_concurrency_slots(self, take: limits.SlotTake) -> limits.SlotGrant:
        """See `Store.take_concurrency_slots`."""
        with self._lock:
            self._check_open()
            stored, _ = self._limit_tables()
            found = {n: stored[n] for n in take.names if n in stored}
            rows = [h for n in sorted(set(take.names)) for h in self._live(n, take.now)]
            decision = limits.decide(take, found, limit_sql.held_by_limit(rows, take.holder))
            self._apply_take(take, decision)
            return decision.grant

    def release_concurrency_slots(self, holder: str) -> int:
        """See `Store.release_concurrency_slots`."""
        return self._drop(lambda h: h.holder == holder)

    def park_concurrency_slots(self, holder: str) -> int:
        """See `Store.park_concurrency_slots`."""
        return self._reset(lambda h: h.holder == holder and h.run_id is not None, None)

    def renew_concurrency_slots(self, owner: str, expires_at: float) -> int:
        """See `Store.renew_concurrency_slots`."""
        return self._reset(lambda h: h.owner == owner and h.expires_at is not None, expires_at)

    def free_concurrency_slots_of(self, owners: Sequence[str]) -> int:
        """See `Store.free_concurrency_slots_of`."""
        gone = set(owners)
        return self._drop(lambda h: h.owner in gone and h.expires_at is not None)

    def _apply_take(self, take: limits.SlotTake, decision: limits.Decision) -> None:
        stored, slots = self._limit_tables()
        for name in decision.insert:
            slots[(name, take.holder)] = limit_sql.holder_of(take, name)
        for name in decision.adopt:
            held = slots[(name, take.holder)]
            slots[(name, take.holder)] = dataclasses.replace(
                held, owner=take.owner, expires_at=take.expires_at
            )
        for name, decaying in decision.decay.items():
            stored[name] = dataclasses.replace(
                stored[name], decaying_slots=decaying, decayed_at=take.now
            )
        for name in decision.denied:
            denied = stored[name].denied_slots + take.slots
            stored[name] = dataclasses.replace(stored[name], denied_slots=denied)

    def _live(self, name: str, now: float) -> list[limits.SlotHolder]:
        _, slots = self._limit_tables()
        held = [h for (limit, _), h in slots.items() if limit == name and self._is_live(h, now)]
        return sorted(held, key=lambda h: h.acquired_at)

    def _is_live(self, holder: limits.SlotHolder, now: float) -> bool:
        if holder.expires_at is not None:
            return holder.expires_at > now
        run = self._runs.get(holder.run_id or "")
        return run is not None and not run.state.is_final

    def _drop(self, gone: Callable[[limits.SlotHolder], bool]) -> int:
        with self._lock:
            self._check_open()
            _, slots = self._limit_tables()
            keys = [key for key, holder in slots.items() if gone(holder)]
            for key in keys:
                del slots[key]
            return len(keys)

    def _reset(self, which: Callable[[limits.SlotHolder], bool], expires_at: float | None) -> int:
        with self._lock:
            self._check_open()
            _, slots = self._limit_tables()
            keys = [key for key, holder in slots.items() if which(holder)]
            for key in keys:
                slots[key] = dataclasses.replace(slots[key], expires_at=expires_at)
            return len(keys)
