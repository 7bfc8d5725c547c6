"""Contract: global concurrency limits, their leased and decaying slots."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.states import RunState
from tarry.storage import limits, records
from tests.contract.support import T0, new_id, run_record

if TYPE_CHECKING:
    from tarry.storage import Store


def limit(name: str = "db", size: int = 3, **fields: object) -> limits.ConcurrencyLimitRecord:
    return limits.ConcurrencyLimitRecord(name, size, T0, T0, **fields)  # type: ignore[arg-type]


def take(
    holder: str,
    *names: str,
    slots: int = 1,
    now: float = T0,
    owner: str = "host:1:1",
    lease: float = 30.0,
    **fields: object,
) -> limits.SlotTake:
    return limits.SlotTake(
        names or ("db",),
        slots,
        holder,
        owner,
        now,
        now + lease,
        **fields,  # type: ignore[arg-type]
    )


def held(store: Store, name: str = "db", now: float = T0) -> int:
    found = store.get_concurrency_limit(name, now)
    assert found is not None
    return found.held_slots


def test_a_limit_is_created_once_and_reads_back(store: Store) -> None:
    assert store.create_concurrency_limit(limit(slot_decay_per_second=0.5, active=False))
    assert not store.create_concurrency_limit(limit(size=9))
    found = store.get_concurrency_limit("db", T0)
    assert found is not None
    assert (found.limit, found.active, found.slot_decay_per_second, found.held_slots) == (
        3,
        False,
        0.5,
        0,
    )
    assert store.get_concurrency_limit("nope", T0) is None


def test_limits_are_listed_by_name_and_updated_in_place(store: Store) -> None:
    store.create_concurrency_limit(limit("zeta"))
    store.create_concurrency_limit(limit("alpha"))
    assert store.update_concurrency_limit(limit("alpha", 7, active=False))
    assert not store.update_concurrency_limit(limit("missing"))
    listed = store.list_concurrency_limits(T0)
    assert [(lim.name, lim.limit, lim.active) for lim in listed] == [
        ("alpha", 7, False),
        ("zeta", 3, True),
    ]


def test_slots_are_granted_up_to_the_limit_then_refused(store: Store) -> None:
    store.create_concurrency_limit(limit(size=3))
    assert store.take_concurrency_slots(take("a", slots=2)).granted
    refused = store.take_concurrency_slots(take("b", slots=2, owner="host:2:2"))
    assert not refused.granted
    assert refused.full == ("db",)
    assert refused.owners == ("host:1:1",)
    assert refused.retry_after is None
    assert store.take_concurrency_slots(take("c", slots=1)).granted
    assert held(store) == 3
    found = store.get_concurrency_limit("db", T0)
    assert found is not None
    assert found.denied_slots == 2


def test_a_take_over_several_limits_is_all_or_nothing(store: Store) -> None:
    store.create_concurrency_limit(limit("db", 1))
    store.create_concurrency_limit(limit("api", 5))
    assert store.take_concurrency_slots(take("a", "db")).granted
    assert not store.take_concurrency_slots(take("b", "db", "api")).granted
    assert held(store, "api") == 0


def test_released_slots_are_free_again(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a"))
    assert store.release_concurrency_slots("a") == 1
    assert store.release_concurrency_slots("a") == 0
    assert store.take_concurrency_slots(take("b")).granted


def test_a_lapsed_lease_holds_nothing_and_renewal_keeps_it(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a", lease=10))
    assert store.renew_concurrency_slots("host:1:1", T0 + 20) == 1
    assert not store.take_concurrency_slots(take("b", now=T0 + 15)).granted
    assert store.take_concurrency_slots(take("b", now=T0 + 21)).granted
    assert [h.holder for h in store.concurrency_holders("db", T0 + 21)] == ["b"]


def test_the_slots_of_a_gone_owner_are_freed(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a", owner="host:9:9"))
    assert store.free_concurrency_slots_of(["host:9:9"]) == 1
    assert store.free_concurrency_slots_of([]) == 0
    assert store.take_concurrency_slots(take("b")).granted


def test_taking_again_as_the_same_holder_adopts_its_slots(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a", owner="host:1:1", lease=5))
    again = store.take_concurrency_slots(take("a", owner="host:2:2", now=T0 + 1, lease=60))
    assert again.granted
    [holder] = store.concurrency_holders("db", T0 + 30)
    assert (holder.owner, holder.expires_at) == ("host:2:2", T0 + 61)


def test_parked_slots_stay_with_their_run_until_it_ends(store: Store) -> None:
    run = run_record(state=RunState.WAITING)
    store.insert_run(run)
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("r/1", run_id=run.id, lease=5))
    assert store.park_concurrency_slots("r/1") == 1
    assert not store.take_concurrency_slots(take("b", now=T0 + 1_000)).granted
    ended = records.StateChange(RunState.CANCELLED, at=T0 + 1_001)
    store.transition(run.id, (RunState.WAITING,), ended)
    assert store.take_concurrency_slots(take("b", now=T0 + 1_002)).granted


def test_a_holder_without_a_run_cannot_park(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("plain"))
    assert store.park_concurrency_slots("plain") == 0


def test_missing_limits_are_skipped_or_refused_when_strict(store: Store) -> None:
    grant = store.take_concurrency_slots(take("a", "ghost"))
    assert (grant.granted, grant.missing) == (True, ("ghost",))
    with pytest.raises(errors.ConcurrencyLimitNotFound, match="ghost"):
        store.take_concurrency_slots(take("b", "ghost", strict=True))


def test_an_inactive_limit_does_not_hold_anyone_back(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1, active=False))
    assert store.take_concurrency_slots(take("a")).granted
    assert store.take_concurrency_slots(take("b")).granted
    assert held(store) == 0


def test_more_slots_than_the_limit_has_are_refused_and_nothing_is_taken(store: Store) -> None:
    store.create_concurrency_limit(limit("db", 2))
    store.create_concurrency_limit(limit("api", 5))
    with pytest.raises(errors.ConcurrencySlotAcquisitionError, match="limit is 2"):
        store.take_concurrency_slots(take("a", "api", "db", slots=3))
    assert held(store, "api") == 0


def test_rate_limit_slots_decay(store: Store) -> None:
    store.create_concurrency_limit(limit("api", 2, slot_decay_per_second=4.0))
    rate = limits.SlotMode.RATE_LIMIT
    assert store.take_concurrency_slots(take("", "api", mode=rate)).granted
    assert store.take_concurrency_slots(take("", "api", mode=rate)).granted
    refused = store.take_concurrency_slots(take("", "api", now=T0 + 0.1, mode=rate))
    assert not refused.granted
    assert refused.retry_after == pytest.approx(0.15)
    assert store.take_concurrency_slots(take("", "api", now=T0 + 0.25, mode=rate)).granted
    found = store.get_concurrency_limit("api", T0 + 0.25)
    assert found is not None
    assert found.active_slots(T0 + 0.25) == 2
    assert store.concurrency_holders("api", T0) == []


def test_rate_limit_needs_a_decay(store: Store) -> None:
    store.create_concurrency_limit(limit("api", 2))
    with pytest.raises(errors.ConcurrencySlotAcquisitionError, match="slot decay"):
        store.take_concurrency_slots(take("", "api", mode=limits.SlotMode.RATE_LIMIT))


def test_deleting_a_limit_drops_its_holders(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a"))
    assert store.delete_concurrency_limit("db")
    assert not store.delete_concurrency_limit("db")
    store.create_concurrency_limit(limit(size=1))
    assert store.take_concurrency_slots(take("b")).granted


def test_changing_a_limit_keeps_who_holds_it(store: Store) -> None:
    store.create_concurrency_limit(limit(size=1))
    store.take_concurrency_slots(take("a"))
    store.update_concurrency_limit(dataclasses.replace(limit(size=2), updated_at=T0 + 5))
    found = store.get_concurrency_limit("db", T0)
    assert found is not None
    assert (found.limit, found.held_slots, found.updated_at, found.created_at) == (2, 1, T0 + 5, T0)
    assert store.take_concurrency_slots(take(new_id())).granted


def test_a_reset_frees_held_and_decaying_slots(store: Store) -> None:
    store.create_concurrency_limit(limit("db", 1, slot_decay_per_second=0.001))
    store.take_concurrency_slots(take("", mode=limits.SlotMode.RATE_LIMIT))
    assert store.reset_concurrency_limit("db")
    store.take_concurrency_slots(take("a"))
    assert store.reset_concurrency_limit("db")
    assert not store.reset_concurrency_limit("ghost")
    assert held(store) == 0
    assert store.take_concurrency_slots(take("b")).granted
